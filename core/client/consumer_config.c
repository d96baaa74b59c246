#include "client/consumer_config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_config.h"
#include "client/client_error.h"
#include "common/properties.h"

enum { T_STR, T_I32, T_I64, T_BOOL, T_RESET, T_DESER, T_ISOLATION, T_SERVERS, T_STRATEGY, T_INSTANCE };

typedef struct ml_ckey {
    const char *key;
    int type;
    int64_t min, max;
    size_t off;
    const char *def;
} ml_ckey;

#define F(field) offsetof(ml_cconf, field)
static const ml_ckey keys[] = {
    {"bootstrap.servers", T_SERVERS, 0, 0, F(bootstrap_servers), NULL},
    {"client.id", T_STR, 0, 0, F(client_id), "moonlog-consumer"},
    {"group.id", T_STR, 0, 0, F(group_id), NULL},
    {"group.instance.id", T_INSTANCE, 0, 0, F(group_instance_id), NULL},
    {"enable.auto.commit", T_BOOL, 0, 0, F(enable_auto_commit), "true"},
    {"auto.commit.interval.ms", T_I64, 0, INT32_MAX, F(auto_commit_interval_ms), "5000"},
    {"auto.offset.reset", T_RESET, 0, 0, F(auto_offset_reset), "latest"},
    {"session.timeout.ms", T_I64, 1, INT32_MAX, F(session_timeout_ms), "45000"},
    {"heartbeat.interval.ms", T_I64, 1, INT32_MAX, F(heartbeat_interval_ms), "3000"},
    {"max.poll.interval.ms", T_I64, 1, INT32_MAX, F(max_poll_interval_ms), "300000"},
    {"max.poll.records", T_I32, 1, INT32_MAX, F(max_poll_records), "500"},
    {"fetch.min.bytes", T_I32, 0, INT32_MAX, F(fetch_min_bytes), "1"},
    {"fetch.max.wait.ms", T_I32, 0, INT32_MAX, F(fetch_max_wait_ms), "500"},
    {"fetch.max.bytes", T_I32, 0, INT32_MAX, F(fetch_max_bytes), "52428800"},
    {"max.partition.fetch.bytes", T_I32, 0, INT32_MAX, F(max_partition_fetch_bytes), "1048576"},
    {"key.deserializer", T_DESER, 0, 0, F(key_deserializer), "bytes"},
    {"value.deserializer", T_DESER, 0, 0, F(value_deserializer), "bytes"},
    {"isolation.level", T_ISOLATION, 0, 0, F(isolation_level), "read_uncommitted"},
    {"request.timeout.ms", T_I64, 1, INT32_MAX, F(request_timeout_ms), "30000"},
    {"retry.backoff.ms", T_I64, 0, INT32_MAX, F(retry_backoff_ms), "100"},
    {"reconnect.backoff.ms", T_I64, 0, INT32_MAX, F(reconnect_backoff_ms), "50"},
    {"metadata.max.age.ms", T_I64, 0, INT32_MAX, F(metadata_max_age_ms), "300000"},
    {"partition.assignment.strategy", T_STRATEGY, 0, 0, F(assignment_strategy), "range"},
    {"rebalance.listener", T_STR, 0, 0, F(rebalance_listener), NULL},
    {"plugin.path", T_STR, 0, 0, F(plugin_path), ""},
    {"plugin.unsafe", T_BOOL, 0, 0, F(plugin_unsafe), "false"},
    {"plugin.timeout.ms", T_I64, 0, INT32_MAX, F(plugin_timeout_ms), "0"},
    {"plugin.reload.interval.ms", T_I64, 0, INT32_MAX, F(plugin_reload_interval_ms), "1000"},
};
#undef F
#define N_KEYS (sizeof keys / sizeof keys[0])


/* Java's class names of its assignors, accepted for the plugins of the same protocol name. */
static const char *const java_aliases[][2] = {
    {"org.apache.kafka.clients.consumer.RangeAssignor", "range"},
    {"org.apache.kafka.clients.consumer.RoundRobinAssignor", "roundrobin"},
    {"org.apache.kafka.clients.consumer.StickyAssignor", "sticky"},
};

int ml_strategy_entry(const char *list, int i, char *out, size_t outsz) {
    const char *p = list;
    for (int k = 0;; k++) {
        while (*p == ' ' || *p == '\t') p++;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (k == i) {
            if (n >= outsz) n = outsz - 1;
            memcpy(out, p, n);
            out[n] = 0;
            for (size_t a = 0; a < sizeof java_aliases / sizeof java_aliases[0]; a++)
                if (strcmp(out, java_aliases[a][0]) == 0) snprintf(out, outsz, "%s", java_aliases[a][1]);
            return 1;
        }
        if (!end) return 0;
        p = end + 1;
    }
}

int ml_strategy_check(const char *value, moonlog_error *err) {
    char name[1024], other[1024];
    int i;
    for (i = 0; ml_strategy_entry(value, i, name, sizeof name); i++) {
        if (!name[0]) return ml_client_config_bad(err, "partition.assignment.strategy", value, "has an empty entry");
        if (strcmp(name, "cooperative-sticky") == 0 || strstr(name, "CooperativeStickyAssignor"))
            return ml_client_config_bad(err, "partition.assignment.strategy", value,
                                        "names cooperative-sticky: moonlog rebalances eagerly (use sticky)");
        if (strncmp(name, "org.apache.kafka.", 17) == 0)
            return ml_client_config_bad(err, "partition.assignment.strategy", value,
                                        "names a Java class other than RangeAssignor, RoundRobinAssignor, StickyAssignor");
        for (int j = 0; j < i; j++)
            if (ml_strategy_entry(value, j, other, sizeof other) && strcmp(other, name) == 0)
                return ml_client_config_bad(err, "partition.assignment.strategy", value, "names an assignor twice");
    }
    if (i > ML_MAX_ASSIGNORS)
        return ml_client_config_bad(err, "partition.assignment.strategy", value, "names more than 8 assignors");
    return 0;
}

static int set_one(ml_cconf *c, const ml_ckey *k, const char *value, moonlog_error *err) {
    char *base = (char *)c + k->off;
    int rc;
    switch (k->type) {
    case T_SERVERS:
        if ((rc = ml_client_check_servers(value, err)) != 0) return rc;
        return ml_client_config_str(err, value, (char **)base);
    case T_STR:
        return ml_client_config_str(err, value, (char **)base);
    case T_INSTANCE:
        /* Kafka's rule for group.instance.id (JoinGroupRequest.validateGroupInstanceId) */
        if (!value[0] || strlen(value) > 249 || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789._-") != strlen(value))
            return ml_client_config_bad(err, k->key, value,
                                        "is not 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-'");
        return ml_client_config_str(err, value, (char **)base);
    case T_STRATEGY:
        if ((rc = ml_strategy_check(value, err)) != 0) return rc;
        return ml_client_config_str(err, value, (char **)base);
    case T_DESER: /* the plugin is found and checked by moonlog_consumer_new */
        if (!value[0]) return ml_client_config_bad(err, k->key, value, "is empty (a serializer plugin's name or path)");
        return ml_client_config_str(err, value, (char **)base);
    case T_I32:
    case T_I64:
        return ml_client_config_int(err, k->key, value, k->min, k->max, k->type == T_I32, base);
    case T_BOOL:
        return ml_client_config_bool(err, k->key, value, (int *)base);
    case T_RESET:
        if (strcmp(value, "earliest") == 0) *(int *)base = ML_RESET_EARLIEST;
        else if (strcmp(value, "latest") == 0) *(int *)base = ML_RESET_LATEST;
        else if (strcmp(value, "none") == 0) *(int *)base = ML_RESET_NONE;
        else return ml_client_config_bad(err, k->key, value, "is not one of earliest, latest, none");
        return 0;
    case T_ISOLATION:
        if (strcmp(value, "read_uncommitted") == 0) *(int *)base = 0;
        else if (strcmp(value, "read_committed") == 0)
            return ml_client_config_bad(err, k->key, value, "is not supported yet (only read_uncommitted)");
        else return ml_client_config_bad(err, k->key, value, "is not one of read_uncommitted, read_committed");
        return 0;
    }
    return 0;
}

moonlog_consumer_config *moonlog_consumer_config_new(void) {
    moonlog_consumer_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].def && set_one(&cfg->c, &keys[i], keys[i].def, NULL) != 0) {
            moonlog_consumer_config_free(cfg);
            return NULL;
        }
    }
    return cfg;
}

int moonlog_consumer_config_set(moonlog_consumer_config *cfg, const char *key, const char *value,
                                moonlog_error *err) {
    if (!key || !value) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "NULL key or value");
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].key, key) != 0) continue;
        int rc = set_one(&cfg->c, &keys[i], value, err);
        return rc ? rc : ml_client_config_remember(&cfg->given, &cfg->n_given, key, value, err);
    }
    static const char *const later[] = {"security.protocol", "sasl.mechanism", "check.crcs", "client.rack", NULL};
    for (int i = 0; later[i]; i++)
        if (strcmp(later[i], key) == 0)
            return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG,
                                "%s: a Kafka consumer property that moonlog does not support (yet)", key);
    return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "%s: unknown consumer property", key);
}

static int is_str(int type) {
    return type == T_STR || type == T_SERVERS || type == T_DESER || type == T_STRATEGY || type == T_INSTANCE;
}

void ml_cconf_free(ml_cconf *c) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (is_str(keys[i].type)) {
            char **s = (char **)((char *)c + keys[i].off);
            free(*s);
            *s = NULL;
        }
}

int ml_cconf_copy(ml_cconf *dst, const ml_cconf *src) {
    *dst = *src;
    for (size_t i = 0; i < N_KEYS; i++)
        if (is_str(keys[i].type)) {
            char **s = (char **)((char *)dst + keys[i].off);
            if (*s && !(*s = strdup(*s))) return MOONLOG_ERR_INVALID_CONFIG;
        }
    return 0;
}

void moonlog_consumer_config_free(moonlog_consumer_config *cfg) {
    if (!cfg) return;
    ml_cconf_free(&cfg->c);
    for (int i = 0; i < 2 * cfg->n_given; i++) free(cfg->given[i]);
    free(cfg->given);
    free(cfg);
}

int ml_cconf_check(const ml_cconf *c, moonlog_error *err) {
    if (!c->bootstrap_servers)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "bootstrap.servers: required (host:port[,...])");
    if (c->heartbeat_interval_ms >= c->session_timeout_ms)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG,
                            "heartbeat.interval.ms: %lld must be lower than session.timeout.ms (%lld)",
                            (long long)c->heartbeat_interval_ms, (long long)c->session_timeout_ms);
    if (c->group_instance_id && !c->group_id)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "group.instance.id: '%s' needs group.id",
                            c->group_instance_id);
    if (c->group_id && !c->group_id[0])
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "group.id: '' is empty (leave it unset for no group)");
    return 0;
}
