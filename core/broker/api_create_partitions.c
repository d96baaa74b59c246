/* CreatePartitions: grows a topic; the count only goes up, and every new partition lives on
 * this broker. */
#include <stdio.h>

#include "broker/api.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/create_partitions.h"
#include "storage/log_manager.h"

static void grow_one(ml_request *req, const ml_create_partitions_topic *t, int validate_only,
                     ml_create_partitions_topic_result *r) {
    ml_server *s = req->server;
    ml_create_partitions_topic_result_init(r);
    r->name = t->name;
    char name[ML_TOPIC_NAME_MAX + 1], msg[300];
    int32_t now = -1;
    if (ml_topic_from_slice(t->name, name) == 0) now = ml_log_manager_partition_count(s->logs, name);
    if (now < 0) {
        r->error_code = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    if (t->count <= now) {
        snprintf(msg, sizeof msg, "Topic currently has %d partitions, which is higher than the requested %d.", now,
                 t->count);
        r->error_code = ML_KERR_INVALID_PARTITIONS;
        r->error_message = ml_req_string(req, msg);
        return;
    }
    if (t->count > ML_TOPIC_MAX_PARTITIONS) {
        snprintf(msg, sizeof msg, "A topic has at most %d partitions (requested %d).", ML_TOPIC_MAX_PARTITIONS,
                 t->count);
        r->error_code = ML_KERR_INVALID_PARTITIONS;
        r->error_message = ml_req_string(req, msg);
        return;
    }
    for (int32_t i = 0; i < t->n_assignments; i++) {
        const ml_create_partitions_assignment *a = &t->assignments[i];
        if (a->n_broker_ids != 1 || a->broker_ids[0] != s->config->broker_id) {
            snprintf(msg, sizeof msg, "New partitions can only be assigned to broker %d", s->config->broker_id);
            r->error_code = ML_KERR_INVALID_REPLICA_ASSIGNMENT;
            r->error_message = ml_req_string(req, msg);
            return;
        }
    }
    if (t->n_assignments > 0 && t->n_assignments != t->count - now) {
        snprintf(msg, sizeof msg, "Increasing the number of partitions by %d but %d assignments provided.",
                 t->count - now, t->n_assignments);
        r->error_code = ML_KERR_INVALID_REPLICA_ASSIGNMENT;
        r->error_message = ml_req_string(req, msg);
        return;
    }
    if (validate_only) return;
    ml_err err = {0};
    if (ml_log_manager_add_partitions(s->logs, name, t->count, ml_wall_ms(), &err) != 0) {
        ml_error("adding partitions to %s: %s", name, err.msg);
        r->error_code = ML_KERR_KAFKA_STORAGE_ERROR;
        r->error_message = ml_req_string(req, err.msg);
        return;
    }
    ml_info("topic %s now has %d partitions", name, t->count);
}

int ml_handle_create_partitions(ml_request *req) {
    ml_create_partitions_request in;
    if (ml_create_partitions_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_create_partitions_response out;
    ml_create_partitions_response_init(&out);
    int32_t n = in.n_topics > 0 ? in.n_topics : 0;
    out.results = ml_req_array(req, n, sizeof *out.results);
    if (!out.results) return ML_ENOMEM;
    out.n_results = n;
    for (int32_t i = 0; i < n; i++) grow_one(req, &in.topics[i], in.validate_only, &out.results[i]);
    ml_writer w;
    ml_writer_init(&w, 256);
    ml_create_partitions_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
