/* FindCoordinator: this broker coordinates every group (it is the whole cluster). The first
 * request creates `__consumer_offsets`, as Kafka does. Transactions are not coordinated yet. */
#include "broker/api.h"
#include "broker/group_coordinator.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "common/log.h"
#include "proto/find_coordinator.h"

#define ML_COORDINATOR_KEY_GROUP 0

int ml_handle_find_coordinator(ml_request *req) {
    ml_find_coordinator_request in;
    if (ml_find_coordinator_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_server *s = req->server;
    ml_find_coordinator_response out;
    ml_find_coordinator_response_init(&out);
    out.node_id = -1;
    out.host = ml_req_string(req, "");
    out.port = -1;
    ml_err err = {0};
    if (in.key_type != ML_COORDINATOR_KEY_GROUP) {
        out.error_code = ML_KERR_COORDINATOR_NOT_AVAILABLE;
        out.error_message = ml_req_string(req, "moonlogd coordinates consumer groups only (no transactions yet)");
    } else if (ml_group_coordinator_ensure_topic(s->groups, &err) < 0) {
        ml_error("creating the offsets topic: %s", err.msg);
        out.error_code = ML_KERR_COORDINATOR_NOT_AVAILABLE;
        out.error_message = ml_req_string(req, err.msg);
    } else {
        out.error_code = ML_KERR_NONE;
        out.error_message = (ml_slice){NULL, -1}; /* null when there is no error, as Kafka */
        out.node_id = s->config->broker_id;
        out.host = ml_req_string(req, s->advertised_host);
        out.port = s->advertised_port;
    }
    ml_writer w;
    ml_writer_init(&w, 128);
    ml_find_coordinator_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
