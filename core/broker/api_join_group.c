/* JoinGroup: decoded here, decided by the group coordinator (group_coordinator.c), which answers
 * at once or parks the request until the rebalance completes. */
#include "broker/api.h"
#include "broker/group_coordinator.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "common/log.h"
#include "proto/join_group.h"

int ml_handle_join_group(ml_request *req) {
    ml_join_group_request in;
    if (ml_join_group_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    if (req->api_version == 0) in.rebalance_timeout_ms = in.session_timeout_ms;
    ml_group_join(req->server->groups, req, &in);
    return 0;
}

void ml_join_group_respond(ml_request *req, const ml_join_result *res) {
    ml_join_group_response out;
    ml_join_group_response_init(&out);
    out.error_code = res->error_code;
    out.generation_id = res->generation_id;
    out.protocol_type = ml_group_str(res->protocol_type);
    /* Before v7 the protocol name is not nullable: an error answer carries "". */
    out.protocol_name = ml_group_str(res->protocol_name ? res->protocol_name : (req->api_version >= 7 ? NULL : ""));
    out.leader = ml_group_str(res->leader_id ? res->leader_id : "");
    out.member_id = ml_group_str(res->member_id ? res->member_id : "");
    const ml_group *g = res->members_of;
    if (g) {
        out.members = ml_req_array(req, g->n_members, sizeof *out.members);
        if (out.members) {
            const ml_group_member *m;
            int32_t i = 0;
            TAILQ_FOREACH(m, &g->members, link) {
                ml_join_group_response_member *o = &out.members[i++];
                ml_join_group_response_member_init(o);
                o->member_id = ml_group_str(m->member_id);
                o->group_instance_id = ml_group_str(m->instance_id);
                o->metadata = (ml_slice){(const uint8_t *)"", 0};
                for (int j = 0; j < m->n_protocols; j++)
                    if (g->protocol_name && strcmp(m->protocols[j].name, g->protocol_name) == 0)
                        o->metadata = (ml_slice){m->protocols[j].metadata, m->protocols[j].metadata_len};
            }
            out.n_members = i;
        }
    }
    ml_writer w;
    ml_writer_init(&w, 256);
    ml_join_group_response_encode(&w, req->api_version, &out);
    if (ml_req_finish(req, &w) != 0) ml_error("JoinGroup response: out of memory");
}
