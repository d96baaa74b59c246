/* The admin client's DescribeConfigs of a topic (asked of any broker, as Kafka's AdminClient does
 * for topic resources). */
#include <stdlib.h>
#include <string.h>

#include "client/admin_int.h"
#include "client/client_error.h"
#include "common/error.h"
#include "proto/describe_configs.h"

#define ML_RESOURCE_TOPIC 2

static int cmp_entry(const void *x, const void *y) {
    return strcmp(((const moonlog_config_entry *)x)->name, ((const moonlog_config_entry *)y)->name);
}

static int copy_entries(moonlog_config_list *l, const ml_describe_configs_result *r) {
    l->entries = calloc((size_t)(r->n_configs > 0 ? r->n_configs : 1), sizeof *l->entries);
    if (!l->entries) return -1;
    for (int32_t i = 0; i < r->n_configs; i++) {
        const ml_describe_configs_resource_result *c = &r->configs[i];
        moonlog_config_entry *e = &l->entries[l->n++];
        e->name = ml_admin_strdup(c->name);
        e->value = c->value.ptr && c->value.len >= 0 ? ml_admin_strdup(c->value) : NULL;
        e->source = c->config_source;
        e->read_only = c->read_only;
        e->sensitive = c->is_sensitive;
        if (!e->name || (c->value.ptr && c->value.len >= 0 && !e->value)) return -1;
    }
    if (l->n) qsort(l->entries, (size_t)l->n, sizeof *l->entries, cmp_entry);
    return 0;
}

int moonlog_admin_describe_topic_configs(moonlog_admin *a, const char *topic, moonlog_config_list **out,
                                         moonlog_error *err) {
    ml_cnode *nd = ml_admin_node(a, -1, err);
    if (!nd) return err ? err->code : MOONLOG_ERR_NETWORK;
    int16_t v = nd->v_describe_configs;
    if (v < 0) return ml_error_set(err, ML_KERR_UNSUPPORTED_VERSION, "broker %d has no DescribeConfigs v1+", nd->id);
    ml_describe_configs_resource res = {ML_RESOURCE_TOPIC, ml_cslice(topic), NULL, -1};
    ml_describe_configs_request req;
    ml_describe_configs_request_init(&req);
    req.resources = &res;
    req.n_resources = 1;
    ml_writer body;
    ml_writer_init(&body, 64);
    ml_describe_configs_request_encode(&body, v, &req);
    ml_cresp resp;
    int rc = ml_admin_call(a, nd, ML_API_DESCRIBE_CONFIGS_KEY, v, ML_API_DESCRIBE_CONFIGS_FLEX, &body, &resp, err);
    ml_writer_free(&body);
    if (rc != 0) return rc;
    ml_describe_configs_response m;
    moonlog_config_list *l = NULL;
    if (ml_describe_configs_response_decode(&resp.r, v, &resp.arena, &m) != 0 || m.n_results != 1) {
        rc = ml_admin_corrupt(err, "DescribeConfigs", v, &resp.r);
    } else if (m.results[0].error_code != 0) {
        int16_t code = m.results[0].error_code;
        rc = ml_error_set(err, code, "topic '%s': DescribeConfigs: %s", topic, ml_kafka_error_name(code));
    } else if (!(l = calloc(1, sizeof *l)) || copy_entries(l, &m.results[0]) != 0) {
        moonlog_admin_config_list_free(l);
        l = NULL;
        rc = ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    }
    ml_cresp_free(&resp);
    if (rc == 0) *out = l;
    return rc;
}

void moonlog_admin_config_list_free(moonlog_config_list *l) {
    if (!l) return;
    for (int i = 0; i < l->n; i++) {
        free(l->entries[i].name);
        free(l->entries[i].value);
    }
    free(l->entries);
    free(l);
}
