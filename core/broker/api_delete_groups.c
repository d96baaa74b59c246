/* DeleteGroups: an empty group goes with its offsets (tombstones in `__consumer_offsets`);
 * NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND when unknown. */
#include "broker/api.h"
#include "broker/group_coordinator.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "proto/delete_groups.h"

int ml_handle_delete_groups(ml_request *req) {
    ml_delete_groups_request in;
    if (ml_delete_groups_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_delete_groups_response out;
    ml_delete_groups_response_init(&out);
    int32_t n = in.n_groups_names > 0 ? in.n_groups_names : 0;
    out.results = ml_req_array(req, n, sizeof *out.results);
    if (!out.results) return ML_ENOMEM;
    out.n_results = n;
    for (int32_t i = 0; i < n; i++) {
        ml_deletable_group_result_init(&out.results[i]);
        out.results[i].group_id = in.groups_names[i];
        out.results[i].error_code = ml_group_delete(req->server->groups, in.groups_names[i]);
    }
    ml_writer w;
    ml_writer_init(&w, 64);
    ml_delete_groups_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
