/* DescribeGroups: state, protocol and members of each group; member metadata and assignments
 * only while the group is Stable (as Kafka). An unknown group is described as Dead. */
#include "broker/api.h"
#include "broker/group_coordinator.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "proto/describe_groups.h"

static int describe(ml_request *req, ml_described_group *d, ml_slice id) {
    ml_described_group_init(d);
    d->group_id = id;
    d->protocol_type = ml_group_str("");
    d->protocol_data = ml_group_str("");
    const ml_group *g = id.len > 0 ? ml_group_find(req->server->groups, (const char *)id.ptr, id.len) : NULL;
    if (id.len <= 0) d->error_code = ML_KERR_INVALID_GROUP_ID;
    d->group_state = ml_group_str(ml_group_state_name(g ? g->state : ML_GROUP_DEAD));
    if (!g) return 0;
    int stable = g->state == ML_GROUP_STABLE;
    d->protocol_type = ml_group_str(g->protocol_type ? g->protocol_type : "");
    d->protocol_data = ml_group_str(stable && g->protocol_name ? g->protocol_name : "");
    d->members = ml_req_array(req, g->n_members, sizeof *d->members);
    if (!d->members) return ML_ENOMEM;
    const ml_group_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        ml_described_group_member *o = &d->members[d->n_members++];
        ml_described_group_member_init(o);
        o->member_id = ml_group_str(m->member_id);
        o->group_instance_id = ml_group_str(m->instance_id);
        o->client_id = ml_group_str(m->client_id ? m->client_id : "");
        o->client_host = ml_group_str(m->client_host ? m->client_host : "");
        o->member_metadata = ml_group_str("");
        o->member_assignment = ml_group_str("");
        if (!stable) continue;
        for (int j = 0; j < m->n_protocols; j++)
            if (g->protocol_name && strcmp(m->protocols[j].name, g->protocol_name) == 0)
                o->member_metadata = (ml_slice){m->protocols[j].metadata, m->protocols[j].metadata_len};
        if (m->assignment) o->member_assignment = (ml_slice){m->assignment, m->assignment_len};
    }
    return 0;
}

int ml_handle_describe_groups(ml_request *req) {
    ml_describe_groups_request in;
    if (ml_describe_groups_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_describe_groups_response out;
    ml_describe_groups_response_init(&out);
    int32_t n = in.n_groups > 0 ? in.n_groups : 0;
    out.groups = ml_req_array(req, n, sizeof *out.groups);
    if (!out.groups) return ML_ENOMEM;
    out.n_groups = n;
    for (int32_t i = 0; i < n; i++)
        if (describe(req, &out.groups[i], in.groups[i]) != 0) return ML_ENOMEM;
    ml_writer w;
    ml_writer_init(&w, 512);
    ml_describe_groups_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
