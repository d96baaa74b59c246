/* The consumer's configuration: Kafka's property names, checked one by one as they are set. */
#ifndef ML_CLIENT_CONSUMER_CONFIG_H
#define ML_CLIENT_CONSUMER_CONFIG_H

#include <stdint.h>

#include "moonlog/consumer.h"

enum { ML_RESET_EARLIEST, ML_RESET_LATEST, ML_RESET_NONE };

typedef struct ml_cconf {
    char *bootstrap_servers;
    char *client_id;
    char *group_id;
    char *group_instance_id; /* static membership (KIP-345), NULL for a dynamic member */
    int enable_auto_commit;
    int64_t auto_commit_interval_ms;
    int auto_offset_reset;
    int64_t session_timeout_ms;
    int64_t heartbeat_interval_ms;
    int64_t max_poll_interval_ms;
    int32_t max_poll_records;
    int32_t fetch_min_bytes;
    int32_t fetch_max_wait_ms;
    int32_t fetch_max_bytes;
    int32_t max_partition_fetch_bytes;
    char *key_deserializer;
    char *value_deserializer;
    int isolation_level;
    int64_t request_timeout_ms;
    int64_t retry_backoff_ms;
    int64_t reconnect_backoff_ms;
    int64_t metadata_max_age_ms;
    char *assignment_strategy; /* partition.assignment.strategy as given */
    char *rebalance_listener; /* NULL: none */
    char *plugin_path;
    int plugin_unsafe;
    int64_t plugin_timeout_ms;
    int64_t plugin_reload_interval_ms;
} ml_cconf;

#define ML_MAX_ASSIGNORS 8

/* Entry `i` of a partition.assignment.strategy list into `out`, trimmed, a Java class name
 * replaced by its protocol name (RangeAssignor -> range); 0 past the last entry. */
int ml_strategy_entry(const char *list, int i, char *out, size_t outsz);
/* The list's syntax: entries not empty, not cooperative, not repeated, at most ML_MAX_ASSIGNORS. */
int ml_strategy_check(const char *value, moonlog_error *err);

struct moonlog_consumer_config {
    ml_cconf c;
    char **given; /* key, value, ..., NULL as set by the user (what plugins read as moonlog.config) */
    int n_given;
};

/* Checks the settings that depend on each other; fills `err` naming both keys. */
int ml_cconf_check(const ml_cconf *c, moonlog_error *err);
/* A deep copy; 0 or MOONLOG_ERR_INVALID_CONFIG (memory). */
int ml_cconf_copy(ml_cconf *dst, const ml_cconf *src);
void ml_cconf_free(ml_cconf *c);

#endif
