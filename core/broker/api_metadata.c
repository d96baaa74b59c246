/* Metadata: this broker as the whole cluster, leader of every partition; unknown topics are
 * created on request when auto.create.topics.enable allows it. */
#include <string.h>

#include "broker/api.h"
#include "broker/handler.h"
#include "broker/offsets_topic.h"
#include "broker/server.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/metadata.h"
#include "storage/log_manager.h"

static int fill_partitions(ml_request *req, ml_metadata_response_topic *t, const char *name) {
    ml_server *s = req->server;
    /* Clients leave internal topics out of regex subscriptions and listings. */
    t->is_internal = strcmp(name, ML_OFFSETS_TOPIC) == 0;
    int32_t n = ml_log_manager_partition_count(s->logs, name);
    int32_t self = s->config->broker_id;
    t->partitions = ml_req_array(req, n, sizeof *t->partitions);
    int32_t *node = ml_req_array(req, 1, sizeof *node);
    if (!t->partitions || !node) return ML_ENOMEM;
    *node = self;
    t->n_partitions = n;
    for (int32_t i = 0; i < n; i++) {
        ml_metadata_response_partition *p = &t->partitions[i];
        ml_metadata_response_partition_init(p);
        p->error_code = ML_KERR_NONE;
        p->partition_index = i;
        p->leader_id = self;
        p->leader_epoch = 0;
        p->replica_nodes = node;
        p->n_replica_nodes = 1;
        p->isr_nodes = node;
        p->n_isr_nodes = 1;
        p->n_offline_replicas = 0;
    }
    return 0;
}

/* Answers for one named topic, creating it when allowed. */
static int describe_topic(ml_request *req, ml_metadata_response_topic *t, ml_slice wire_name, int allow_create) {
    ml_server *s = req->server;
    char name[ML_TOPIC_NAME_MAX + 1];
    ml_metadata_response_topic_init(t);
    t->name = wire_name;
    if (ml_topic_from_slice(wire_name, name) != 0 || !ml_topic_name_valid(name)) {
        t->error_code = ML_KERR_INVALID_TOPIC_EXCEPTION;
        return 0;
    }
    if (ml_log_manager_partition_count(s->logs, name) < 0) {
        if (!allow_create || !s->config->auto_create_topics_enable) {
            t->error_code = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            return 0;
        }
        ml_err err = {0};
        if (ml_log_manager_create_topic(s->logs, name, s->config->num_partitions, NULL, NULL, 0, ml_wall_ms(),
                                        &err) != 0) {
            ml_error("auto-creating topic %s: %s", name, err.msg);
            t->error_code = ML_KERR_KAFKA_STORAGE_ERROR;
            return 0;
        }
        ml_info("auto-created topic %s with %d partitions", name, s->config->num_partitions);
    }
    t->error_code = ML_KERR_NONE;
    return fill_partitions(req, t, name);
}

static int describe_all(ml_request *req, ml_metadata_response *out) {
    ml_log_manager *lm = req->server->logs;
    int n = ml_log_manager_topic_count(lm);
    out->topics = ml_req_array(req, n, sizeof *out->topics);
    if (!out->topics) return ML_ENOMEM;
    out->n_topics = n;
    for (int i = 0; i < n; i++) {
        const char *name = ml_log_manager_topic_name(lm, i);
        ml_metadata_response_topic *t = &out->topics[i];
        ml_metadata_response_topic_init(t);
        t->name = ml_req_string(req, name);
        int rc = fill_partitions(req, t, name);
        if (rc != 0) return rc;
    }
    return 0;
}

int ml_handle_metadata(ml_request *req) {
    ml_metadata_request in;
    if (ml_metadata_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_server *s = req->server;
    ml_metadata_response out;
    ml_metadata_response_init(&out);
    ml_metadata_response_broker *b = ml_req_array(req, 1, sizeof *b);
    if (!b) return ML_ENOMEM;
    ml_metadata_response_broker_init(b);
    b->node_id = s->config->broker_id;
    b->host = ml_req_string(req, s->advertised_host);
    b->port = s->advertised_port;
    out.brokers = b;
    out.n_brokers = 1;
    out.cluster_id = ml_req_string(req, s->cluster_id);
    out.controller_id = s->config->broker_id;
    /* v0 asks for every topic with an empty list; v1+ with a null one. */
    int all = in.n_topics < 0 || (req->api_version == 0 && in.n_topics == 0);
    int rc = 0;
    if (all) {
        rc = describe_all(req, &out);
    } else {
        out.topics = ml_req_array(req, in.n_topics, sizeof *out.topics);
        if (!out.topics) return ML_ENOMEM;
        out.n_topics = in.n_topics;
        int allow = req->api_version < 4 || in.allow_auto_topic_creation;
        for (int32_t i = 0; i < in.n_topics && rc == 0; i++)
            rc = describe_topic(req, &out.topics[i], in.topics[i].name, allow);
    }
    if (rc != 0) return rc;
    ml_writer w;
    ml_writer_init(&w, 1024);
    ml_metadata_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
