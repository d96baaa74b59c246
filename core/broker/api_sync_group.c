/* SyncGroup: the leader brings the assignment, every member takes its part (group_coordinator.c
 * parks followers until the leader's request arrives). */
#include "broker/api.h"
#include "broker/group_coordinator.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "common/log.h"
#include "proto/sync_group.h"

int ml_handle_sync_group(ml_request *req) {
    ml_sync_group_request in;
    if (ml_sync_group_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_group_sync(req->server->groups, req, &in);
    return 0;
}

void ml_sync_group_respond(ml_request *req, const ml_sync_result *res) {
    ml_sync_group_response out;
    ml_sync_group_response_init(&out);
    out.error_code = res->error_code;
    out.protocol_type = ml_group_str(res->protocol_type);
    out.protocol_name = ml_group_str(res->protocol_name);
    out.assignment = (ml_slice){res->assignment ? res->assignment : (const uint8_t *)"", res->assignment_len};
    ml_writer w;
    ml_writer_init(&w, 128);
    ml_sync_group_response_encode(&w, req->api_version, &out);
    if (ml_req_finish(req, &w) != 0) ml_error("SyncGroup response: out of memory");
}
