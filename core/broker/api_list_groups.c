/* ListGroups: every group this coordinator knows, with its state from v4 (filtered by state,
 * case-insensitively, when the request names some). */
#include <strings.h>

#include "broker/api.h"
#include "broker/group_coordinator.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "proto/list_groups.h"

static int state_wanted(const ml_list_groups_request *in, const char *state) {
    if (in->n_states_filter <= 0) return 1;
    for (int32_t i = 0; i < in->n_states_filter; i++) {
        ml_slice f = in->states_filter[i];
        if (f.len == (int32_t)strlen(state) && strncasecmp((const char *)f.ptr, state, (size_t)f.len) == 0) return 1;
    }
    return 0;
}

int ml_handle_list_groups(ml_request *req) {
    ml_list_groups_request in;
    if (ml_list_groups_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_group_coordinator *gc = req->server->groups;
    ml_list_groups_response out;
    ml_list_groups_response_init(&out);
    int n = ml_group_count(gc);
    out.groups = ml_req_array(req, n, sizeof *out.groups);
    if (!out.groups) return ML_ENOMEM;
    for (int i = 0; i < n; i++) {
        const ml_group *g = ml_group_at(gc, i);
        const char *state = ml_group_state_name(g->state);
        if (g->state == ML_GROUP_DEAD || !state_wanted(&in, state)) continue;
        ml_listed_group *o = &out.groups[out.n_groups++];
        ml_listed_group_init(o);
        o->group_id = ml_group_str(g->id);
        o->protocol_type = ml_group_str(g->protocol_type ? g->protocol_type : "");
        o->group_state = ml_group_str(state);
    }
    out.error_code = ML_KERR_NONE;
    ml_writer w;
    ml_writer_init(&w, 256);
    ml_list_groups_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
