/* The plugin host's internal interface: what the producer calls on its hot path.
 * The public side (open, close, reload, counters) is core/include/moonlog/plugin.h. */
#ifndef ML_LUA_PLUGIN_H
#define ML_LUA_PLUGIN_H

#include <stdint.h>

#include "moonlog/plugin.h"

enum ml_plugin_kind { ML_PLUGIN_PARTITIONER, ML_PLUGIN_SERIALIZER, ML_PLUGIN_RETRY_POLICY };

/* What a partitioner may ask about the cluster; `ctx` is the producer. */
typedef struct ml_cluster_ops {
    int32_t (*partition_count)(void *ctx, const char *topic); /* -1 when unknown */
    int (*available)(void *ctx, const char *topic, int32_t partition);
    /* bytes waiting to be sent, and the moving average of Produce round trips (-1: none yet) */
    int64_t (*queued_bytes)(void *ctx, const char *topic, int32_t partition);
    double (*latency_ms)(void *ctx, const char *topic, int32_t partition);
    void *ctx;
} ml_cluster_ops;

/* The record as a partitioner sees it. */
typedef struct ml_plugin_record {
    const char *topic;
    const void *key; /* NULL = null key */
    int32_t key_len;
    int32_t value_len;
    int64_t timestamp;
    const moonlog_header *headers;
    int32_t n_headers;
} ml_plugin_record;

/* One record as the partition trampoline reads it through FFI (the layout is declared again in
 * the trampoline's ffi.cdef in plugin.c: keep both in step). `partition` and `status` are its
 * answers: status 0 placed, else the record failed (see ml_plugin_partition_many). */
typedef struct ml_plugin_view {
    const char *topic;
    const void *key; /* NULL = null key */
    const moonlog_header *headers;
    int64_t timestamp;
    int32_t key_len, value_len, n_headers;
    int32_t partitions;
    int32_t partition;
    int32_t status;
} ml_plugin_view;

int ml_plugin_kind(const moonlog_plugin *pl);
const char *ml_plugin_name(const moonlog_plugin *pl);

/* Partitions n records with ONE call into Lua (the per-record crossing is what a plugin cost):
 * every view gets status 0 and its partition, or a non-zero status and errs[i] set
 * (MOONLOG_ERR_PARTITIONER / MOONLOG_ERR_PLUGIN_TIMEOUT naming the plugin and line); a record's
 * failure never affects the others. *generation is the plugin load that ran. Returns how many
 * records failed. plugin.timeout.ms applies to each record. */
int ml_plugin_partition_many(moonlog_plugin *pl, ml_plugin_view *v, int n, const ml_cluster_ops *ops,
                             int64_t *generation, moonlog_error *errs);

/* One record (the same path, n = 1): 0 with *partition in [0, n) and *generation the plugin load that chose it, or an error
 * (MOONLOG_ERR_PARTITIONER / MOONLOG_ERR_PLUGIN_TIMEOUT) naming the plugin and line. */
int ml_plugin_partition(moonlog_plugin *pl, const ml_plugin_record *r, int32_t n_partitions,
                        const ml_cluster_ops *ops, int32_t *partition, int64_t *generation, moonlog_error *err);

/* 0 with *out pointing at the serialized bytes (*out_len -1 = null), valid until the next plugin
 * call on this thread; MOONLOG_ERR_SERIALIZATION / MOONLOG_ERR_PLUGIN_TIMEOUT otherwise. */
int ml_plugin_serialize(moonlog_plugin *pl, const char *topic, const void *value, int32_t value_len,
                        const moonlog_header *headers, int32_t n_headers, const uint8_t **out, int32_t *out_len,
                        moonlog_error *err);

#endif
