/* The broker's configuration under Kafka's key names and with Kafka's defaults (server.properties
 * plus --override key=value). One table of keys (broker_config.c) drives parsing, validation, the
 * `--help-config` Markdown table and DescribeConfigs for the broker resource.
 *
 * Where moonlog differs from Kafka, on purpose:
 *   broker.id                        default 0 (Kafka: -1 = generate one); must be >= 0
 *   listeners                        exactly one PLAINTEXT://host:port (port 0 = pick a free port)
 *   log.flush.scheduler.interval.ms  default 1000 (Kafka: Long.MAX_VALUE, i.e. never checked): how
 *                                    often flush.ms / flush.messages are looked at
 *   offsets.topic.replication.factor default 1 (Kafka: 3): one broker
 *   log.flush.interval.messages/ms   default -1 = leave flushing to the OS (Kafka: Long.MAX_VALUE)
 *   log.index.size.max.bytes         at least 4096 (the storage's smallest index)
 *   log.level                        not a Kafka key (Kafka uses log4j): error|warn|info|debug
 * Every other Kafka broker key (zookeeper.connect, num.network.threads, ...) is accepted with a
 * warning naming it, so an existing server.properties starts as it is. */
#ifndef ML_BROKER_BROKER_CONFIG_H
#define ML_BROKER_BROKER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "storage/log_config.h"

typedef struct ml_broker_config {
    int32_t broker_id;                 /* broker.id, default 0 */
    char listener_host[256];           /* from listeners=PLAINTEXT://host:port ("" = any address) */
    int listener_port;                 /* 0 = pick a free port */
    char advertised_host[256];         /* advertised.listeners; default the listener's, 127.0.0.1 for any */
    int advertised_port;               /* 0 = the port actually bound */
    char **log_dirs;                   /* log.dirs (comma separated) or log.dir; default /tmp/kafka-logs */
    int n_log_dirs;
    int32_t num_partitions;            /* num.partitions, 1 */
    int32_t default_replication_factor;/* default.replication.factor, 1 */
    int auto_create_topics_enable;     /* auto.create.topics.enable, true */
    int delete_topic_enable;           /* delete.topic.enable, true */
    int32_t socket_request_max_bytes;  /* socket.request.max.bytes, 104857600 */
    int32_t message_max_bytes;         /* message.max.bytes, 1048588 (also log_defaults.max_message_bytes) */
    int64_t log_retention_check_interval_ms;         /* 300000 */
    int64_t log_flush_scheduler_interval_ms;         /* 1000 (see above) */
    int64_t log_flush_offset_checkpoint_interval_ms; /* 60000 */
    int64_t group_initial_rebalance_delay_ms;        /* 3000 */
    int32_t group_min_session_timeout_ms;            /* 6000 */
    int32_t group_max_session_timeout_ms;            /* 1800000 */
    int32_t offsets_topic_num_partitions;            /* 50 */
    int32_t offsets_topic_replication_factor;        /* 1 (see above) */
    int64_t offsets_retention_minutes;               /* 10080 */
    int64_t offsets_retention_check_interval_ms;     /* 600000 */
    int64_t connections_max_idle_ms;                 /* 600000 */
    int log_level;                     /* log.level, an enum ml_log_level (common/log.h); default info */
    ml_log_config log_defaults;        /* topic defaults from the broker's log.* keys */
} ml_broker_config;

/* All defaults. Allocates the default log dir: pair it with ml_broker_config_free. */
void ml_broker_config_init(ml_broker_config *c);

/* Applies, on top of what `c` holds (ml_broker_config_init first), the file at `path` (may be
 * NULL), then `overrides` ("key=value", later wins over the file and over earlier overrides).
 * Among keys meaning the same thing the most precise wins, wherever it was given: log.retention.ms
 * over .minutes over .hours, log.roll.ms over log.roll.hours, log.dirs over log.dir.
 * Failures: ML_EIO when the file cannot be read; ML_EINVAL "path:line: key: reason" for a bad
 * value ("--override key: reason" when it came from an override), "--override 'text': ..." for an
 * override without '='. Unknown keys: a warning through ml_warn naming the key and where it is. */
int ml_broker_config_load(ml_broker_config *c, const char *path, int n_overrides, const char *const *overrides,
                          ml_err *err);
void ml_broker_config_free(ml_broker_config *c);

/* Markdown: "| key | default | meaning |" and one row per key, for the README and --help-config. */
void ml_broker_config_print_markdown(FILE *out);

/* For DescribeConfigs: the i-th key (0-based; NULL past the last), its value as Kafka shows it
 * written into value[size], and whether that equals the default. */
const char *ml_broker_config_describe(const ml_broker_config *c, int i, char *value, size_t size, int *is_default);

#endif
