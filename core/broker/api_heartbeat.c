/* Heartbeat: keeps a member's session alive and tells it when a rebalance started. */
#include "broker/api.h"
#include "broker/group_coordinator.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "proto/heartbeat.h"

int ml_handle_heartbeat(ml_request *req) {
    ml_heartbeat_request in;
    if (ml_heartbeat_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_heartbeat_response out;
    ml_heartbeat_response_init(&out);
    out.error_code = ml_group_heartbeat(req->server->groups, in.group_id, in.generation_id, in.member_id,
                                        in.group_instance_id);
    ml_writer w;
    ml_writer_init(&w, 16);
    ml_heartbeat_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
