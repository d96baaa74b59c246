/* LeaveGroup: one member (v0-2) or a batch of member identities (v3+) leave; the group
 * rebalances at once. */
#include "broker/api.h"
#include "broker/group_coordinator.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "proto/leave_group.h"

int ml_handle_leave_group(ml_request *req) {
    ml_leave_group_request in;
    if (ml_leave_group_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_group_coordinator *gc = req->server->groups;
    ml_leave_group_response out;
    ml_leave_group_response_init(&out);
    ml_slice no_instance = {NULL, -1};
    if (req->api_version < 3) {
        out.error_code = ml_group_leave(gc, in.group_id, in.member_id, no_instance);
    } else {
        int32_t n = in.n_members > 0 ? in.n_members : 0;
        out.members = ml_req_array(req, n, sizeof *out.members);
        if (!out.members) return ML_ENOMEM;
        out.n_members = n;
        out.error_code = ML_KERR_NONE;
        if (in.group_id.len <= 0) out.error_code = ML_KERR_INVALID_GROUP_ID;
        else if (!ml_group_find(gc, (const char *)in.group_id.ptr, in.group_id.len))
            out.error_code = ML_KERR_UNKNOWN_MEMBER_ID;
        for (int32_t i = 0; i < n; i++) {
            ml_member_response *r = &out.members[i];
            ml_member_response_init(r);
            r->member_id = in.members[i].member_id;
            r->group_instance_id = in.members[i].group_instance_id;
            r->error_code = out.error_code ? out.error_code
                                           : ml_group_leave(gc, in.group_id, in.members[i].member_id,
                                                            in.members[i].group_instance_id);
        }
    }
    ml_writer w;
    ml_writer_init(&w, 64);
    ml_leave_group_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
