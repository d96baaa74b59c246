#include "storage/log_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum prop_kind { P_I64, P_I32, P_BOOL, P_TS_TYPE, P_CLEANUP, P_COMPRESSION };

typedef struct prop {
    const char *name;
    enum prop_kind kind;
    size_t field;
    int64_t min; /* smallest accepted number (numbers only) */
} prop;

#define F(x) offsetof(ml_log_config, x)
static const prop props[] = {
    {"segment.bytes", P_I64, F(segment_bytes), 14},
    {"segment.ms", P_I64, F(segment_ms), 1},
    {"retention.ms", P_I64, F(retention_ms), -1},
    {"retention.bytes", P_I64, F(retention_bytes), -1},
    {"message.timestamp.type", P_TS_TYPE, F(message_timestamp_type), 0},
    {"cleanup.policy", P_CLEANUP, F(cleanup_policy), 0},
    {"min.insync.replicas", P_I32, F(min_insync_replicas), 1},
    {"compression.type", P_COMPRESSION, F(compression_type), 0},
    {"max.message.bytes", P_I32, F(max_message_bytes), 0},
    {"index.interval.bytes", P_I32, F(index_interval_bytes), 0},
    {"flush.messages", P_I64, F(flush_messages), -1},
    {"flush.ms", P_I64, F(flush_ms), -1},
    {"segment.index.bytes", P_I32, F(segment_index_bytes), 4096},
    {"unclean.leader.election.enable", P_BOOL, F(unclean_leader_election), 0},
    {"delete.retention.ms", P_I64, F(delete_retention_ms), 0},
};
#undef F
#define N_PROPS ((int)(sizeof props / sizeof props[0]))

static const char *codec_names[] = {"uncompressed", "gzip", "snappy", "lz4", "zstd"};

void ml_log_config_defaults(ml_log_config *c) {
    c->segment_bytes = 1073741824;
    c->segment_ms = 604800000;
    c->retention_ms = 604800000;
    c->retention_bytes = -1;
    c->message_timestamp_type = ML_TS_CREATE_TIME;
    c->cleanup_policy = ML_CLEANUP_DELETE;
    c->min_insync_replicas = 1;
    c->compression_type = ML_COMPRESSION_PRODUCER;
    c->max_message_bytes = 1048588;
    c->index_interval_bytes = 4096;
    c->flush_messages = -1;
    c->flush_ms = -1;
    c->segment_index_bytes = 10485760;
    c->unclean_leader_election = 0;
    c->delete_retention_ms = 86400000;
}

const char *ml_log_config_name(int i) { return i >= 0 && i < N_PROPS ? props[i].name : NULL; }

static const prop *find_prop(const char *name) {
    for (int i = 0; i < N_PROPS; i++)
        if (strcmp(props[i].name, name) == 0) return &props[i];
    return NULL;
}

static int parse_number(const prop *p, const char *value, int64_t *out, ml_err *err) {
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end || v < p->min || (p->kind == P_I32 && v > INT32_MAX))
        return ml_err_set(err, ML_EINVAL, "%s: bad value '%s' (at least %lld)", p->name, value, (long long)p->min);
    *out = v;
    return ML_OK;
}

static int parse_cleanup(const char *value, int32_t *out) {
    int32_t bits = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", value);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (strcmp(tok, "delete") == 0) bits |= ML_CLEANUP_DELETE;
        else if (strcmp(tok, "compact") == 0) bits |= ML_CLEANUP_COMPACT;
        else return -1;
    }
    if (!bits) return -1;
    *out = bits;
    return 0;
}

static int parse_enum(const prop *p, const char *value, int32_t *out) {
    switch (p->kind) {
    case P_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
            *out = value[0] == 't';
            return 0;
        }
        return -1;
    case P_TS_TYPE:
        if (strcmp(value, "CreateTime") == 0) *out = ML_TS_CREATE_TIME;
        else if (strcmp(value, "LogAppendTime") == 0) *out = ML_TS_LOG_APPEND_TIME;
        else return -1;
        return 0;
    case P_CLEANUP:
        return parse_cleanup(value, out);
    case P_COMPRESSION:
        if (strcmp(value, "producer") == 0) {
            *out = ML_COMPRESSION_PRODUCER;
            return 0;
        }
        for (int i = 0; i < 5; i++)
            if (strcmp(value, codec_names[i]) == 0) {
                *out = i;
                return 0;
            }
        return -1;
    default:
        return -1;
    }
}

int ml_log_config_set(ml_log_config *c, const char *name, const char *value, ml_err *err) {
    const prop *p = find_prop(name);
    if (!p) return ml_err_set(err, ML_EINVAL, "unknown topic config '%s'", name);
    char *field = (char *)c + p->field;
    if (p->kind == P_I64 || p->kind == P_I32) {
        int64_t v = 0;
        int rc = parse_number(p, value, &v, err);
        if (rc < 0) return rc;
        if (p->kind == P_I64) memcpy(field, &v, sizeof v);
        else {
            int32_t v32 = (int32_t)v;
            memcpy(field, &v32, sizeof v32);
        }
        return ML_OK;
    }
    int32_t v;
    if (parse_enum(p, value, &v) < 0) return ml_err_set(err, ML_EINVAL, "%s: bad value '%s'", name, value);
    memcpy(field, &v, sizeof v);
    return ML_OK;
}

static void format_enum(const prop *p, int32_t v, char *buf, size_t size) {
    switch (p->kind) {
    case P_BOOL:
        snprintf(buf, size, "%s", v ? "true" : "false");
        break;
    case P_TS_TYPE:
        snprintf(buf, size, "%s", v == ML_TS_LOG_APPEND_TIME ? "LogAppendTime" : "CreateTime");
        break;
    case P_CLEANUP:
        snprintf(buf, size, "%s%s%s", (v & ML_CLEANUP_DELETE) ? "delete" : "",
                 (v & ML_CLEANUP_DELETE) && (v & ML_CLEANUP_COMPACT) ? "," : "",
                 (v & ML_CLEANUP_COMPACT) ? "compact" : "");
        break;
    default:
        snprintf(buf, size, "%s", v >= 0 && v < 5 ? codec_names[v] : "producer");
        break;
    }
}

int ml_log_config_get(const ml_log_config *c, const char *name, char *buf, size_t size, ml_err *err) {
    const prop *p = find_prop(name);
    if (!p) return ml_err_set(err, ML_ENOENT, "unknown topic config '%s'", name);
    const char *field = (const char *)c + p->field;
    if (p->kind == P_I64) {
        int64_t v = 0;
        memcpy(&v, field, sizeof v);
        snprintf(buf, size, "%" PRId64, v);
        return ML_OK;
    }
    int32_t v;
    memcpy(&v, field, sizeof v);
    if (p->kind == P_I32) snprintf(buf, size, "%" PRId32, v);
    else format_enum(p, v, buf, size);
    return ML_OK;
}
