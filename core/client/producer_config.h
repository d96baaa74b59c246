/* The producer's configuration: Kafka's property names, checked one by one as they are set. */
#ifndef ML_CLIENT_PRODUCER_CONFIG_H
#define ML_CLIENT_PRODUCER_CONFIG_H

#include <stdint.h>

#include "moonlog/producer.h"

typedef struct ml_pconf {
    char *bootstrap_servers;
    char *client_id;
    int16_t acks;
    int32_t retries;
    int64_t retry_backoff_ms;
    int64_t retry_backoff_max_ms;
    int64_t delivery_timeout_ms;
    int64_t request_timeout_ms;
    int32_t batch_size;
    int64_t linger_ms;
    int64_t buffer_memory;
    int64_t max_block_ms;
    int32_t max_request_size;
    int32_t max_in_flight;
    int compression;
    char *key_serializer;
    char *value_serializer;
    char *partitioner;
    char *retry_policy;
    int32_t send_buffer_bytes;
    int32_t receive_buffer_bytes;
    int64_t metadata_max_age_ms;
    int64_t reconnect_backoff_ms;
    char *plugin_path;
    int plugin_unsafe;
    int64_t plugin_timeout_ms;
    int64_t plugin_reload_interval_ms;
} ml_pconf;

struct moonlog_config {
    ml_pconf c;
    char **given; /* key, value, ... as set by the user (what plugins read as moonlog.config) */
    int n_given;
};

/* Checks the settings that depend on each other; fills `err` naming both keys. */
int ml_pconf_check(const ml_pconf *c, moonlog_error *err);
/* A deep copy (strings duplicated); ml_pconf_free releases it. 0 or MOONLOG_ERR_INVALID_CONFIG (memory). */
int ml_pconf_copy(ml_pconf *dst, const ml_pconf *src);
void ml_pconf_free(ml_pconf *c);

#endif
