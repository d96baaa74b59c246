/* DescribeConfigs: a topic's properties (overrides marked as TOPIC_CONFIG) and the broker's own
 * static configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "broker/topic_configs.h"
#include "proto/describe_configs.h"
#include "storage/log_manager.h"

#define ML_RESOURCE_TOPIC 2
#define ML_RESOURCE_BROKER 4

static int wanted(const ml_describe_configs_resource *res, const char *name) {
    if (res->n_configuration_keys < 0) return 1;
    size_t len = strlen(name);
    for (int32_t i = 0; i < res->n_configuration_keys; i++) {
        ml_slice k = res->configuration_keys[i];
        if (k.len == (int32_t)len && memcmp(k.ptr, name, len) == 0) return 1;
    }
    return 0;
}

static ml_describe_configs_resource_result *add_config(ml_describe_configs_result *r) {
    ml_describe_configs_resource_result *c = &r->configs[r->n_configs++];
    ml_describe_configs_resource_result_init(c);
    return c;
}

static int describe_topic(ml_request *req, const ml_describe_configs_resource *res, ml_describe_configs_result *r) {
    ml_log_manager *lm = req->server->logs;
    char topic[ML_TOPIC_NAME_MAX + 1];
    if (ml_topic_from_slice(res->resource_name, topic) != 0 || ml_log_manager_partition_count(lm, topic) < 0) {
        r->error_code = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        r->error_message = ml_req_string(req, "Topic does not exist");
        return 0;
    }
    int n_over = 0;
    const char *name, *value;
    while (ml_log_manager_topic_override(lm, topic, n_over, &name, &value) == 0) n_over++;
    const char **names = ml_req_array(req, n_over, sizeof *names);
    if (!names) return ML_ENOMEM;
    for (int i = 0; i < n_over; i++) ml_log_manager_topic_override(lm, topic, i, &names[i], &value);
    ml_topic_config_entry *e;
    int n = ml_topic_configs_list(req, ml_log_manager_topic_config(lm, topic), names, n_over, &e);
    if (n < 0) return ML_ENOMEM;
    r->configs = ml_req_array(req, n, sizeof *r->configs);
    if (!r->configs) return ML_ENOMEM;
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)e[i].name.len, (const char *)e[i].name.ptr);
        if (!wanted(res, key)) continue;
        ml_describe_configs_resource_result *c = add_config(r);
        c->name = e[i].name;
        c->value = e[i].value;
        c->config_source = e[i].source;
        c->is_default = e[i].source != ML_CONFIG_SOURCE_TOPIC;
    }
    return 0;
}

static int describe_broker(ml_request *req, const ml_describe_configs_resource *res, ml_describe_configs_result *r) {
    const ml_broker_config *cfg = req->server->config;
    char self[16];
    snprintf(self, sizeof self, "%d", cfg->broker_id);
    ml_slice rn = res->resource_name;
    if (rn.len > 0 && !(rn.len == (int32_t)strlen(self) && memcmp(rn.ptr, self, (size_t)rn.len) == 0)) {
        r->error_code = ML_KERR_INVALID_REQUEST;
        r->error_message = ml_req_string(req, "Unexpected broker id");
        return 0;
    }
    int n = 0;
    char value[512];
    int is_default;
    while (ml_broker_config_describe(cfg, n, value, sizeof value, &is_default)) n++;
    r->configs = ml_req_array(req, n, sizeof *r->configs);
    if (!r->configs) return ML_ENOMEM;
    for (int i = 0; i < n; i++) {
        const char *key = ml_broker_config_describe(cfg, i, value, sizeof value, &is_default);
        if (!wanted(res, key)) continue;
        ml_describe_configs_resource_result *c = add_config(r);
        c->name = ml_req_string(req, key);
        c->value = ml_req_string(req, value);
        c->read_only = 1; /* no dynamic broker configs: they come from server.properties */
        c->is_default = (int8_t)is_default;
        c->config_source = is_default ? ML_CONFIG_SOURCE_DEFAULT : ML_CONFIG_SOURCE_STATIC_BROKER;
    }
    return 0;
}

int ml_handle_describe_configs(ml_request *req) {
    ml_describe_configs_request in;
    if (ml_describe_configs_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_describe_configs_response out;
    ml_describe_configs_response_init(&out);
    int32_t n = in.n_resources > 0 ? in.n_resources : 0;
    out.results = ml_req_array(req, n, sizeof *out.results);
    if (!out.results) return ML_ENOMEM;
    out.n_results = n;
    for (int32_t i = 0; i < n; i++) {
        const ml_describe_configs_resource *res = &in.resources[i];
        ml_describe_configs_result *r = &out.results[i];
        ml_describe_configs_result_init(r);
        r->resource_type = res->resource_type;
        r->resource_name = res->resource_name;
        int rc = 0;
        if (res->resource_type == ML_RESOURCE_TOPIC) {
            rc = describe_topic(req, res, r);
        } else if (res->resource_type == ML_RESOURCE_BROKER) {
            rc = describe_broker(req, res, r);
        } else {
            r->error_code = ML_KERR_INVALID_REQUEST;
            r->error_message = ml_req_string(req, "Unsupported resource type");
        }
        if (rc != 0) return rc;
    }
    ml_writer w;
    ml_writer_init(&w, 1024);
    ml_describe_configs_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
