/* OffsetCommit: the member and generation are checked once (ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS... for every partition, nothing committed), then the
 * offsets of the request are written as one batch to the group's `__consumer_offsets` partition.
 * A generation of -1 without a member id commits for a group that only stores offsets. */
#include "broker/api.h"
#include "broker/group_coordinator.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "proto/offset_commit.h"

/* Kafka's offset.metadata.max.bytes default. */
#define ML_OFFSET_METADATA_MAX 4096

int ml_handle_offset_commit(ml_request *req) {
    ml_offset_commit_request in;
    if (ml_offset_commit_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_group_coordinator *gc = req->server->groups;
    int16_t group_err = ml_group_validate_commit(gc, in.group_id, in.generation_id, in.member_id, in.group_instance_id);
    int32_t nt = in.n_topics > 0 ? in.n_topics : 0, total = 0;
    for (int32_t i = 0; i < nt; i++) total += in.topics[i].n_partitions > 0 ? in.topics[i].n_partitions : 0;
    ml_offset_commit_in *offs = ml_req_array(req, total, sizeof *offs);
    ml_offset_commit_response out;
    ml_offset_commit_response_init(&out);
    out.topics = ml_req_array(req, nt, sizeof *out.topics);
    if (!offs || !out.topics) return ML_ENOMEM;
    out.n_topics = nt;
    int32_t k = 0;
    for (int32_t i = 0; i < nt; i++) {
        const ml_offset_commit_request_topic *t = &in.topics[i];
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const ml_offset_commit_request_partition *p = &t->partitions[j];
            ml_offset_commit_in *o = &offs[k++];
            o->topic = t->name;
            o->partition = p->partition_index;
            o->offset = p->committed_offset;
            o->leader_epoch = p->committed_leader_epoch;
            o->metadata = p->committed_metadata;
            o->error_code = group_err;
            if (!o->error_code && (t->name.len <= 0 || p->partition_index < 0))
                o->error_code = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            if (!o->error_code && p->committed_metadata.len > ML_OFFSET_METADATA_MAX)
                o->error_code = ML_KERR_OFFSET_METADATA_TOO_LARGE;
        }
    }
    if (!group_err) ml_group_commit_offsets(gc, in.group_id, offs, total);
    k = 0;
    for (int32_t i = 0; i < nt; i++) {
        const ml_offset_commit_request_topic *t = &in.topics[i];
        ml_offset_commit_response_topic *r = &out.topics[i];
        ml_offset_commit_response_topic_init(r);
        r->name = t->name;
        int32_t np = t->n_partitions > 0 ? t->n_partitions : 0;
        r->partitions = ml_req_array(req, np, sizeof *r->partitions);
        if (!r->partitions) return ML_ENOMEM;
        r->n_partitions = np;
        for (int32_t j = 0; j < np; j++) {
            ml_offset_commit_response_partition_init(&r->partitions[j]);
            r->partitions[j].partition_index = t->partitions[j].partition_index;
            r->partitions[j].error_code = offs[k++].error_code;
        }
    }
    ml_writer w;
    ml_writer_init(&w, 128);
    ml_offset_commit_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
