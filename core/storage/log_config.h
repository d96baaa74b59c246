/* Per-topic log settings under Kafka's topic property names. The broker fills the defaults from
 * its log.* settings (ml_log_config_defaults gives Kafka's own defaults), then each topic's
 * overrides are applied with ml_log_config_set. -1 disables a limit where Kafka allows it. */
#ifndef ML_STORAGE_LOG_CONFIG_H
#define ML_STORAGE_LOG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum ml_timestamp_type { ML_TS_CREATE_TIME = 0, ML_TS_LOG_APPEND_TIME = 1 };
enum ml_cleanup_policy { ML_CLEANUP_DELETE = 1, ML_CLEANUP_COMPACT = 2 }; /* bits, both may be set */
/* compression.type: the codec numbers of the batch attributes, or "producer" (keep as sent). */
enum ml_compression_type {
    ML_COMPRESSION_PRODUCER = -1,
    ML_COMPRESSION_NONE = 0,
    ML_COMPRESSION_GZIP = 1,
    ML_COMPRESSION_SNAPPY = 2,
    ML_COMPRESSION_LZ4 = 3,
    ML_COMPRESSION_ZSTD = 4,
};

typedef struct ml_log_config {
    int64_t segment_bytes;           /* segment.bytes: roll when a segment would exceed it */
    int64_t segment_ms;              /* segment.ms: roll when the active segment is older */
    int64_t retention_ms;            /* retention.ms, -1 = keep forever */
    int64_t retention_bytes;         /* retention.bytes per partition, -1 = unlimited */
    int32_t message_timestamp_type;  /* message.timestamp.type */
    int32_t cleanup_policy;          /* cleanup.policy */
    int32_t min_insync_replicas;     /* min.insync.replicas */
    int32_t compression_type;        /* compression.type */
    int32_t max_message_bytes;       /* max.message.bytes: largest batch accepted */
    int32_t index_interval_bytes;    /* index.interval.bytes */
    int64_t flush_messages;          /* flush.messages, -1 = leave it to the page cache */
    int64_t flush_ms;                /* flush.ms, -1 = leave it to the page cache */
    int32_t segment_index_bytes;     /* segment.index.bytes: preallocated size of each index */
    int32_t unclean_leader_election; /* unclean.leader.election.enable */
    int64_t delete_retention_ms;     /* delete.retention.ms: how long compaction keeps tombstones */
} ml_log_config;

/* Kafka's defaults (1 GiB segments, 7 days, 4096-byte index interval, 10 MiB indexes, ...). */
void ml_log_config_defaults(ml_log_config *c);
/* Sets one property by its Kafka name; ML_EINVAL for an unknown name or a bad value. */
int ml_log_config_set(ml_log_config *c, const char *name, const char *value, ml_err *err);
/* Writes a property's value as Kafka shows it ("LogAppendTime", "delete,compact"); ML_ENOENT if unknown. */
int ml_log_config_get(const ml_log_config *c, const char *name, char *buf, size_t size, ml_err *err);
/* The i-th property name (0-based), NULL past the last: lets DescribeConfigs list them all. */
const char *ml_log_config_name(int i);

#endif
