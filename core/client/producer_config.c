#include "client/producer_config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client_config.h"
#include "client/client_error.h"
#include "common/codec.h"
#include "common/properties.h"

enum { T_STR, T_I32, T_I64, T_BOOL, T_ACKS, T_CODEC, T_SERVERS };

typedef struct ml_pkey {
    const char *key;
    int type;
    int64_t min, max;
    size_t off;
    const char *def;
} ml_pkey;

#define F(field) offsetof(ml_pconf, field)
static const ml_pkey keys[] = {
    {"bootstrap.servers", T_SERVERS, 0, 0, F(bootstrap_servers), NULL},
    {"client.id", T_STR, 0, 0, F(client_id), "moonlog-producer"},
    {"acks", T_ACKS, 0, 0, F(acks), "all"},
    {"retries", T_I32, 0, INT32_MAX, F(retries), "2147483647"},
    {"retry.backoff.ms", T_I64, 0, INT64_MAX / 4, F(retry_backoff_ms), "100"},
    {"retry.backoff.max.ms", T_I64, 0, INT64_MAX / 4, F(retry_backoff_max_ms), "1000"},
    {"delivery.timeout.ms", T_I64, 0, INT32_MAX, F(delivery_timeout_ms), "120000"},
    {"request.timeout.ms", T_I64, 1, INT32_MAX, F(request_timeout_ms), "30000"},
    {"batch.size", T_I32, 0, INT32_MAX, F(batch_size), "16384"},
    {"linger.ms", T_I64, 0, INT32_MAX, F(linger_ms), "5"},
    {"buffer.memory", T_I64, 1024, INT64_MAX / 4, F(buffer_memory), "33554432"},
    {"max.block.ms", T_I64, 0, INT32_MAX, F(max_block_ms), "60000"},
    {"max.request.size", T_I32, 1, INT32_MAX, F(max_request_size), "1048576"},
    {"max.in.flight.requests.per.connection", T_I32, 1, INT32_MAX, F(max_in_flight), "5"},
    {"compression.type", T_CODEC, 0, 0, F(compression), "none"},
    {"key.serializer", T_STR, 0, 0, F(key_serializer), "bytes"},
    {"value.serializer", T_STR, 0, 0, F(value_serializer), "bytes"},
    {"partitioner", T_STR, 0, 0, F(partitioner), "default"},
    {"retry.policy", T_STR, 0, 0, F(retry_policy), "default"},
    {"send.buffer.bytes", T_I32, -1, INT32_MAX, F(send_buffer_bytes), "131072"},
    {"receive.buffer.bytes", T_I32, -1, INT32_MAX, F(receive_buffer_bytes), "32768"},
    {"metadata.max.age.ms", T_I64, 0, INT32_MAX, F(metadata_max_age_ms), "300000"},
    {"reconnect.backoff.ms", T_I64, 0, INT32_MAX, F(reconnect_backoff_ms), "50"},
    {"plugin.path", T_STR, 0, 0, F(plugin_path), ""},
    {"plugin.unsafe", T_BOOL, 0, 0, F(plugin_unsafe), "false"},
    {"plugin.timeout.ms", T_I64, 0, INT32_MAX, F(plugin_timeout_ms), "0"},
    {"plugin.reload.interval.ms", T_I64, 0, INT32_MAX, F(plugin_reload_interval_ms), "1000"},
};
#undef F
#define N_KEYS (sizeof keys / sizeof keys[0])


static int set_one(ml_pconf *c, const ml_pkey *k, const char *value, moonlog_error *err) {
    char *base = (char *)c + k->off;
    int rc;
    switch (k->type) {
    case T_SERVERS:
        if ((rc = ml_client_check_servers(value, err)) != 0) return rc;
        /* fall through */
    case T_STR:
        return ml_client_config_str(err, value, (char **)base);
    case T_I32:
    case T_I64:
        return ml_client_config_int(err, k->key, value, k->min, k->max, k->type == T_I32, base);
    case T_BOOL:
        return ml_client_config_bool(err, k->key, value, (int *)base);
    case T_ACKS:
        if (strcmp(value, "all") == 0 || strcmp(value, "-1") == 0) *(int16_t *)base = -1;
        else if (strcmp(value, "0") == 0) *(int16_t *)base = 0;
        else if (strcmp(value, "1") == 0) *(int16_t *)base = 1;
        else return ml_client_config_bad(err, k->key, value, "is not one of 0, 1, all, -1");
        return 0;
    case T_CODEC:
        rc = ml_codec_parse(value);
        if (rc < 0) return ml_client_config_bad(err, k->key, value, "is not one of none, gzip, snappy, lz4, zstd");
        *(int *)base = rc;
        return 0;
    }
    return 0;
}

moonlog_config *moonlog_config_new(void) {
    moonlog_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].def && set_one(&cfg->c, &keys[i], keys[i].def, NULL) != 0) {
            moonlog_config_free(cfg);
            return NULL;
        }
    }
    return cfg;
}

int moonlog_config_set(moonlog_config *cfg, const char *key, const char *value, moonlog_error *err) {
    if (!key || !value) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "NULL key or value");
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].key, key) != 0) continue;
        int rc = set_one(&cfg->c, &keys[i], value, err);
        if (rc != 0) return rc;
        return ml_client_config_remember(&cfg->given, &cfg->n_given, key, value, err);
    }
    /* Keys that Kafka producers know but this one does not implement get a precise message. */
    static const char *const later[] = {"enable.idempotence", "transactional.id", "security.protocol",
                                        "sasl.mechanism", "ssl.truststore.location", "partitioner.class",
                                        "key.serializer.class", NULL};
    for (int i = 0; later[i]; i++)
        if (strcmp(later[i], key) == 0)
            return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG,
                                "%s: a Kafka producer property that moonlog does not support (yet)", key);
    return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "%s: unknown producer property", key);
}

void ml_pconf_free(ml_pconf *c) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].type == T_STR || keys[i].type == T_SERVERS) {
            char **s = (char **)((char *)c + keys[i].off);
            free(*s);
            *s = NULL;
        }
}

int ml_pconf_copy(ml_pconf *dst, const ml_pconf *src) {
    *dst = *src;
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].type == T_STR || keys[i].type == T_SERVERS) {
            char **s = (char **)((char *)dst + keys[i].off);
            if (*s && !(*s = strdup(*s))) return MOONLOG_ERR_INVALID_CONFIG;
        }
    return 0;
}

void moonlog_config_free(moonlog_config *cfg) {
    if (!cfg) return;
    ml_pconf_free(&cfg->c);
    for (int i = 0; i < 2 * cfg->n_given; i++) free(cfg->given[i]);
    free(cfg->given);
    free(cfg);
}

int ml_pconf_check(const ml_pconf *c, moonlog_error *err) {
    if (!c->bootstrap_servers)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "bootstrap.servers: required (host:port[,...])");
    if (c->delivery_timeout_ms < c->linger_ms + c->request_timeout_ms)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG,
                            "delivery.timeout.ms: %lld must be >= linger.ms + request.timeout.ms (%lld)",
                            (long long)c->delivery_timeout_ms, (long long)(c->linger_ms + c->request_timeout_ms));
    if (c->retry_backoff_max_ms < c->retry_backoff_ms)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG,
                            "retry.backoff.max.ms: %lld must be >= retry.backoff.ms (%lld)",
                            (long long)c->retry_backoff_max_ms, (long long)c->retry_backoff_ms);
    return 0;
}
