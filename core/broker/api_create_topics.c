/* CreateTopics: validates every topic (name, partition count, replication factor against the one
 * broker, replica assignments, configs) before creating it; validate_only stops there. */
#include <stdio.h>
#include <string.h>

#include "broker/api.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "broker/topic_configs.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/create_topics.h"
#include "storage/log_manager.h"

typedef struct topic_plan {
    char name[ML_TOPIC_NAME_MAX + 1];
    int32_t partitions;
    int16_t replication;
    const char **names;
    const char **values;
    int n_configs;
    ml_log_config config;
} topic_plan;

static int16_t fail(ml_request *req, ml_creatable_topic_result *r, int16_t code, const char *fmt, const char *a,
                    long b, long c) {
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a, b, c);
    r->error_message = ml_req_string(req, msg);
    r->error_code = code;
    return code;
}

static int check_assignments(ml_request *req, const ml_creatable_topic *t, ml_creatable_topic_result *r,
                             topic_plan *p) {
    int32_t self = req->server->config->broker_id;
    if (t->num_partitions != -1 || t->replication_factor != -1)
        return fail(req, r, ML_KERR_INVALID_REQUEST,
                    "Topic %s: both numPartitions (%ld) or replicationFactor (%ld) and manual assignment were given",
                    p->name, t->num_partitions, t->replication_factor);
    for (int32_t i = 0; i < t->n_assignments; i++) {
        const ml_creatable_replica_assignment *a = &t->assignments[i];
        if (a->partition_index != i || a->n_broker_ids != 1 || a->broker_ids[0] != self)
            return fail(req, r, ML_KERR_INVALID_REPLICA_ASSIGNMENT,
                        "Topic %s: partition %ld must be assigned to broker %ld alone", p->name, (long)i, (long)self);
    }
    p->partitions = t->n_assignments;
    p->replication = 1;
    return 0;
}

/* Copies a wire string into the arena as a C string; NULL when out of memory. */
static char *arena_cstr(ml_request *req, ml_slice s) {
    char *p = ml_req_array(req, s.len > 0 ? s.len + 1 : 1, 1);
    if (p && s.len > 0) memcpy(p, s.ptr, (size_t)s.len);
    return p;
}

static int check_configs(ml_request *req, const ml_creatable_topic *t, ml_creatable_topic_result *r, topic_plan *p) {
    p->config = req->server->config->log_defaults;
    int32_t n = t->n_configs > 0 ? t->n_configs : 0;
    p->names = ml_req_array(req, n, sizeof *p->names);
    p->values = ml_req_array(req, n, sizeof *p->values);
    if (!p->names || !p->values) return ML_KERR_UNKNOWN_SERVER_ERROR;
    for (int32_t i = 0; i < n; i++) {
        const ml_createable_topic_config *c = &t->configs[i];
        char *name = arena_cstr(req, c->name), *value = arena_cstr(req, c->value);
        if (!name || !value) return ML_KERR_UNKNOWN_SERVER_ERROR;
        if (c->value.len < 0)
            return fail(req, r, ML_KERR_INVALID_CONFIG, "Topic %s: a null value is not supported for a topic config",
                        p->name, 0, 0);
        ml_err err = {0};
        if (ml_log_config_set(&p->config, name, value, &err) != 0) {
            r->error_message = ml_req_string(req, err.msg);
            r->error_code = ML_KERR_INVALID_CONFIG;
            return ML_KERR_INVALID_CONFIG;
        }
        p->names[i] = name;
        p->values[i] = value;
    }
    p->n_configs = n;
    return 0;
}

/* Fills `p` or sets the result's error. Returns the error code. */
static int plan_topic(ml_request *req, const ml_creatable_topic *t, ml_creatable_topic_result *r, topic_plan *p) {
    const ml_broker_config *cfg = req->server->config;
    if (ml_topic_from_slice(t->name, p->name) != 0 || !ml_topic_name_valid(p->name))
        return fail(req, r, ML_KERR_INVALID_TOPIC_EXCEPTION,
                    "Topic name '%s' is illegal: it must be 1-249 characters of [a-zA-Z0-9._-]", p->name, 0, 0);
    if (ml_log_manager_partition_count(req->server->logs, p->name) >= 0)
        return fail(req, r, ML_KERR_TOPIC_ALREADY_EXISTS, "Topic '%s' already exists.", p->name, 0, 0);
    if (t->n_assignments > 0) {
        int rc = check_assignments(req, t, r, p);
        if (rc) return rc;
    } else {
        p->partitions = t->num_partitions == -1 ? cfg->num_partitions : t->num_partitions;
        p->replication = t->replication_factor == -1 ? (int16_t)cfg->default_replication_factor : t->replication_factor;
        if (p->partitions <= 0)
            return fail(req, r, ML_KERR_INVALID_PARTITIONS, "Topic %s: number of partitions must be larger than 0 (got %ld)",
                        p->name, p->partitions, 0);
        if (p->partitions > ML_TOPIC_MAX_PARTITIONS)
            return fail(req, r, ML_KERR_INVALID_PARTITIONS, "Topic %s: at most %ld partitions (got %ld)", p->name,
                        ML_TOPIC_MAX_PARTITIONS, p->partitions);
        if (p->replication <= 0)
            return fail(req, r, ML_KERR_INVALID_REPLICATION_FACTOR,
                        "Topic %s: replication factor must be larger than 0 (got %ld)", p->name, p->replication, 0);
        if (p->replication > 1)
            return fail(req, r, ML_KERR_INVALID_REPLICATION_FACTOR,
                        "Topic %s: replication factor %ld is larger than the number of available brokers (%ld)",
                        p->name, p->replication, 1);
    }
    return check_configs(req, t, r, p);
}

static int fill_v5(ml_request *req, ml_creatable_topic_result *r, const topic_plan *p) {
    r->num_partitions = p->partitions;
    r->replication_factor = p->replication;
    ml_topic_config_entry *e;
    int n = ml_topic_configs_list(req, &p->config, p->names, p->n_configs, &e);
    if (n < 0) return ML_ENOMEM;
    r->configs = ml_req_array(req, n, sizeof *r->configs);
    if (!r->configs) return ML_ENOMEM;
    r->n_configs = n;
    for (int i = 0; i < n; i++) {
        ml_creatable_topic_configs_init(&r->configs[i]);
        r->configs[i].name = e[i].name;
        r->configs[i].value = e[i].value;
        r->configs[i].config_source = e[i].source;
    }
    return 0;
}

static int create_one(ml_request *req, const ml_creatable_topic *t, int validate_only, ml_creatable_topic_result *r) {
    topic_plan p;
    memset(&p, 0, sizeof p);
    ml_creatable_topic_result_init(r);
    r->name = t->name;
    if (plan_topic(req, t, r, &p) != 0) return 0;
    if (!validate_only) {
        ml_err err = {0};
        int rc = ml_log_manager_create_topic(req->server->logs, p.name, p.partitions, p.names, p.values, p.n_configs,
                                             ml_wall_ms(), &err);
        if (rc == ML_EINVAL || rc == ML_EEXIST) {
            r->error_code = rc == ML_EEXIST ? ML_KERR_TOPIC_ALREADY_EXISTS : ML_KERR_INVALID_CONFIG;
            r->error_message = ml_req_string(req, err.msg);
            return 0;
        }
        if (rc != 0) {
            ml_error("creating topic %s: %s", p.name, err.msg);
            r->error_code = ML_KERR_KAFKA_STORAGE_ERROR;
            r->error_message = ml_req_string(req, err.msg);
            return 0;
        }
        ml_info("created topic %s with %d partitions", p.name, p.partitions);
    }
    r->error_code = ML_KERR_NONE;
    return req->api_version >= 5 ? fill_v5(req, r, &p) : 0;
}

static int duplicated(const ml_create_topics_request *in, int32_t i) {
    for (int32_t j = 0; j < in->n_topics; j++) {
        ml_slice a = in->topics[i].name, b = in->topics[j].name;
        if (j != i && a.len == b.len && a.len > 0 && memcmp(a.ptr, b.ptr, (size_t)a.len) == 0) return 1;
    }
    return 0;
}

int ml_handle_create_topics(ml_request *req) {
    ml_create_topics_request in;
    if (ml_create_topics_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_create_topics_response out;
    ml_create_topics_response_init(&out);
    int32_t n = in.n_topics > 0 ? in.n_topics : 0;
    out.topics = ml_req_array(req, n, sizeof *out.topics);
    if (!out.topics) return ML_ENOMEM;
    out.n_topics = n;
    for (int32_t i = 0; i < n; i++) {
        ml_creatable_topic_result *r = &out.topics[i];
        if (duplicated(&in, i)) {
            ml_creatable_topic_result_init(r);
            r->name = in.topics[i].name;
            r->error_code = ML_KERR_INVALID_REQUEST;
            r->error_message = ml_req_string(req, "Create topics request from client contains a duplicate topic");
            continue;
        }
        int rc = create_one(req, &in.topics[i], in.validate_only, r);
        if (rc != 0) return rc;
    }
    ml_writer w;
    ml_writer_init(&w, 256);
    ml_create_topics_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
