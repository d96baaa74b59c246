/* OffsetFetch: the committed offsets of a group (-1 and no error where nothing was committed);
 * from v2 a null topic list asks for all of them. */
#include "broker/api.h"
#include "broker/group_coordinator.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "proto/offset_fetch.h"

static void fill_partition(ml_offset_fetch_response_partition *p, const ml_group *g, ml_slice topic, int32_t index) {
    ml_offset_fetch_response_partition_init(p);
    p->partition_index = index;
    p->committed_offset = -1;
    p->metadata = (ml_slice){(const uint8_t *)"", 0};
    p->error_code = ML_KERR_NONE;
    const ml_group_offset *o = g ? ml_group_offset_find(g, topic, index) : NULL;
    if (!o) return;
    p->committed_offset = o->offset;
    p->committed_leader_epoch = o->leader_epoch;
    p->metadata = ml_group_str(o->metadata ? o->metadata : "");
}

/* Every committed offset of the group, grouped by topic. */
static int fill_all(ml_request *req, const ml_group *g, ml_offset_fetch_response *out) {
    int n = g ? g->n_offsets : 0;
    out->topics = ml_req_array(req, n, sizeof *out->topics);
    if (!out->topics) return ML_ENOMEM;
    out->n_topics = 0;
    for (int i = 0; i < n; i++) {
        const ml_group_offset *o = &g->offsets[i];
        ml_offset_fetch_response_topic *t = NULL;
        for (int32_t j = 0; j < out->n_topics && !t; j++)
            if (strcmp((const char *)out->topics[j].name.ptr, o->topic) == 0) t = &out->topics[j];
        if (!t) {
            t = &out->topics[out->n_topics++];
            ml_offset_fetch_response_topic_init(t);
            t->name = ml_req_string(req, o->topic);
            t->partitions = ml_req_array(req, n, sizeof *t->partitions);
            if (!t->name.ptr || !t->partitions) return ML_ENOMEM;
        }
        fill_partition(&t->partitions[t->n_partitions++], g, ml_group_str(o->topic), o->partition);
    }
    return 0;
}

int ml_handle_offset_fetch(ml_request *req) {
    ml_offset_fetch_request in;
    if (ml_offset_fetch_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_offset_fetch_response out;
    ml_offset_fetch_response_init(&out);
    const ml_group *g = NULL;
    if (in.group_id.len > 0) g = ml_group_find(req->server->groups, (const char *)in.group_id.ptr, in.group_id.len);
    if (in.n_topics < 0) {
        if (fill_all(req, g, &out) != 0) return ML_ENOMEM;
    } else {
        out.topics = ml_req_array(req, in.n_topics, sizeof *out.topics);
        if (!out.topics) return ML_ENOMEM;
        out.n_topics = in.n_topics;
        for (int32_t i = 0; i < in.n_topics; i++) {
            const ml_offset_fetch_request_topic *t = &in.topics[i];
            ml_offset_fetch_response_topic *r = &out.topics[i];
            ml_offset_fetch_response_topic_init(r);
            r->name = t->name;
            int32_t np = t->n_partition_indexes > 0 ? t->n_partition_indexes : 0;
            r->partitions = ml_req_array(req, np, sizeof *r->partitions);
            if (!r->partitions) return ML_ENOMEM;
            r->n_partitions = np;
            for (int32_t j = 0; j < np; j++) fill_partition(&r->partitions[j], g, t->name, t->partition_indexes[j]);
        }
    }
    out.error_code = in.group_id.len <= 0 ? ML_KERR_INVALID_GROUP_ID : ML_KERR_NONE;
    ml_writer w;
    ml_writer_init(&w, 256);
    ml_offset_fetch_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
