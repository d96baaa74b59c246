/* The plugin host's internal interface: what the producer calls on its hot path.
 * The public side (open, close, reload, counters) is core/include/moonlog/plugin.h. */
#ifndef ML_LUA_PLUGIN_H
#define ML_LUA_PLUGIN_H

#include <stdint.h>

#include "moonlog/consumer.h"
#include "moonlog/plugin.h"

enum ml_plugin_kind {
    ML_PLUGIN_PARTITIONER,
    ML_PLUGIN_SERIALIZER,
    ML_PLUGIN_RETRY_POLICY,
    ML_PLUGIN_ASSIGNOR,
    ML_PLUGIN_REBALANCE_LISTENER,
};

#define ML_PLUGIN_NAME_MAX 250 /* an assignor's declared name, with its NUL */

struct lua_State;

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

/* Partitions n records with ONE call into Lua (the per-record crossing is what a plugin cost).
 * The views come with status -1 and key_len -1 for a null key; the partition count is read only
 * from the first view of each run of one topic (where `topic` changes), the others' may be unset.
 * Every view gets status 0 and its partition, or a non-zero status and errs[i] set
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

/* deserialize (the consumer, on the application's thread): 0 with *out pointing at the result
 * as bytes (*out_len -1 = nil), valid until the next plugin call on this thread, and *type the
 * MOONLOG_VALUE_* it had in Lua (a number or boolean comes as its text); *out is `bytes`
 * itself when the plugin returned the bytes it was given unchanged; otherwise
 * MOONLOG_ERR_DESERIALIZATION / MOONLOG_ERR_PLUGIN_TIMEOUT naming the plugin and line. */
int ml_plugin_deserialize(moonlog_plugin *pl, const char *topic, const void *bytes, int32_t len,
                          const moonlog_header *headers, int32_t n_headers, const uint8_t **out, int32_t *out_len,
                          int *type, moonlog_error *err);

/* 1 when the plugin's last valid load defined the function `fn` of its kind. */
int ml_plugin_defines(moonlog_plugin *pl, const char *fn);

/* Hook calls made by other files of the host (core/lua/assignor.c), on the calling thread's
 * state: begin pushes function `fn` (its index among the kind's functions) of the plugin's
 * current generation and returns 0, 1 when the plugin does not define it (nothing pushed), or
 * `fail_code` when the plugin cannot be loaded. call runs it with the plugin's time limit and
 * counters (0 with `nres` results on the stack; else the error names plugin, function and line,
 * and the stack is reset); `ops` answers cluster.partition_count during the call. call_bad
 * reports (and counts) a bad result; call_end resets the stack after the results were read. */
int ml_plugin_call_begin(moonlog_plugin *pl, int fn, int fail_code, struct lua_State **L, moonlog_error *err);
int ml_plugin_call(moonlog_plugin *pl, int nargs, int nres, const char *fn, int fail_code, const ml_cluster_ops *ops,
                   moonlog_error *err);
int ml_plugin_call_bad(moonlog_plugin *pl, int code, moonlog_error *err, const char *what);
void ml_plugin_call_end(void);
/* Pushes the thread's `cluster` table (its functions ask the `ops` given to ml_plugin_call). */
int ml_plugin_cluster_push(struct lua_State *L);
/* An assignor's `name` in its current generation (ML_PLUGIN_NAME_MAX bytes). */
void ml_plugin_declared_name(moonlog_plugin *pl, char *out);

/* rebalance_listener: calls on_partitions_revoked (fn 0), on_partitions_assigned (1) or
 * on_partitions_lost (2), when the plugin defines it, with the table `push_consumer` pushes and
 * the partitions as { {topic =, partition =}, ... }, in the calling thread's state. 0, or
 * MOONLOG_ERR_LISTENER / MOONLOG_ERR_PLUGIN_TIMEOUT naming the plugin and line (counted in errors). */
/* Pushes { {topic =, partition =}, ... } of `n` partitions: what listeners are given. */
void ml_lua_push_tps(struct lua_State *L, const moonlog_topic_partition *tps, int n);
int ml_plugin_rebalance(moonlog_plugin *pl, int fn, void (*push_consumer)(struct lua_State *L, void *ctx), void *ctx,
                        const moonlog_topic_partition *tps, int n, moonlog_error *err);

#endif
