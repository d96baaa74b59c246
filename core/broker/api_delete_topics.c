/* DeleteTopics: removes a topic's partitions and files at once (delete.topic.enable). */
#include "broker/api.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "common/log.h"
#include "proto/delete_topics.h"
#include "storage/log_manager.h"

static void delete_one(ml_request *req, ml_slice wire_name, ml_deletable_topic_result *r) {
    ml_deletable_topic_result_init(r);
    r->name = wire_name;
    char name[ML_TOPIC_NAME_MAX + 1];
    ml_server *s = req->server;
    if (ml_topic_from_slice(wire_name, name) != 0 || ml_log_manager_partition_count(s->logs, name) < 0) {
        r->error_code = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    if (!s->config->delete_topic_enable) {
        r->error_code = ML_KERR_TOPIC_DELETION_DISABLED;
        return;
    }
    ml_err err = {0};
    if (ml_log_manager_delete_topic(s->logs, name, &err) != 0) {
        ml_error("deleting topic %s: %s", name, err.msg);
        r->error_code = ML_KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    ml_info("deleted topic %s", name);
    r->error_code = ML_KERR_NONE;
}

int ml_handle_delete_topics(ml_request *req) {
    ml_delete_topics_request in;
    if (ml_delete_topics_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_delete_topics_response out;
    ml_delete_topics_response_init(&out);
    int32_t n = in.n_topic_names > 0 ? in.n_topic_names : 0;
    out.responses = ml_req_array(req, n, sizeof *out.responses);
    if (!out.responses) return ML_ENOMEM;
    out.n_responses = n;
    for (int32_t i = 0; i < n; i++) delete_one(req, in.topic_names[i], &out.responses[i]);
    ml_writer w;
    ml_writer_init(&w, 256);
    ml_delete_topics_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
