/* ListOffsets: the log start (-2), the log end (-1, also the last stable offset: no open
 * transactions) or the first offset at or after a timestamp. v0 answers with a list of offsets. */
#include "broker/api.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "common/log.h"
#include "proto/list_offsets.h"
#include "storage/log_manager.h"

#define ML_LATEST_TIMESTAMP (-1)
#define ML_EARLIEST_TIMESTAMP (-2)

static void lookup(ml_partition_log *pl, int64_t ts, ml_list_offsets_partition_response *out) {
    if (ts == ML_LATEST_TIMESTAMP) {
        out->offset = ml_partition_log_end_offset(pl);
        return;
    }
    if (ts == ML_EARLIEST_TIMESTAMP) {
        out->offset = ml_partition_log_start_offset(pl);
        return;
    }
    if (ts < 0) {
        out->error_code = ML_KERR_INVALID_REQUEST;
        return;
    }
    ml_err err = {0};
    int64_t offset, found_ts;
    int rc = ml_partition_log_offset_for_timestamp(pl, ts, &offset, &found_ts, &err);
    if (rc == 0) {
        out->offset = offset;
        out->timestamp = found_ts;
    } else if (rc != ML_ENOENT) {
        ml_error("offset for timestamp in %s-%d: %s", pl->topic, pl->partition, err.msg);
        out->error_code = ML_KERR_KAFKA_STORAGE_ERROR;
    }
}

static int list_partition(ml_request *req, const char *topic, const ml_list_offsets_partition *in,
                          ml_list_offsets_partition_response *out) {
    ml_list_offsets_partition_response_init(out);
    out->partition_index = in->partition_index;
    out->timestamp = -1;
    out->offset = -1;
    ml_partition_log *pl = topic ? ml_log_manager_get(req->server->logs, topic, in->partition_index) : NULL;
    if (!pl) {
        out->error_code = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return 0;
    }
    out->leader_epoch = 0;
    lookup(pl, in->timestamp, out);
    if (req->api_version == 0 && out->error_code == 0 && out->offset >= 0 && in->max_num_offsets > 0) {
        out->old_style_offsets = ml_req_array(req, 1, sizeof *out->old_style_offsets);
        if (!out->old_style_offsets) return ML_ENOMEM;
        out->old_style_offsets[0] = out->offset;
        out->n_old_style_offsets = 1;
    }
    return 0;
}

int ml_handle_list_offsets(ml_request *req) {
    ml_list_offsets_request in;
    if (ml_list_offsets_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_list_offsets_response out;
    ml_list_offsets_response_init(&out);
    int32_t nt = in.n_topics > 0 ? in.n_topics : 0;
    out.topics = ml_req_array(req, nt, sizeof *out.topics);
    if (!out.topics) return ML_ENOMEM;
    out.n_topics = nt;
    for (int32_t i = 0; i < nt; i++) {
        const ml_list_offsets_topic *t = &in.topics[i];
        ml_list_offsets_topic_response *r = &out.topics[i];
        ml_list_offsets_topic_response_init(r);
        r->name = t->name;
        char topic[ML_TOPIC_NAME_MAX + 1];
        int known = ml_topic_from_slice(t->name, topic) == 0;
        int32_t np = t->n_partitions > 0 ? t->n_partitions : 0;
        r->partitions = ml_req_array(req, np, sizeof *r->partitions);
        if (!r->partitions) return ML_ENOMEM;
        r->n_partitions = np;
        for (int32_t j = 0; j < np; j++) {
            int rc = list_partition(req, known ? topic : NULL, &t->partitions[j], &r->partitions[j]);
            if (rc != 0) return rc;
        }
    }
    ml_writer w;
    ml_writer_init(&w, 256);
    ml_list_offsets_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
