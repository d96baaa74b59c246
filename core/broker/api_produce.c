/* Produce: appends each partition's record batches as sent (the broker assigns offsets and,
 * under LogAppendTime, timestamps), then answers per partition, or not at all for acks=0. */
#include <string.h>

#include "broker/api.h"
#include "broker/handler.h"
#include "broker/offsets_topic.h"
#include "broker/server.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/produce.h"
#include "storage/log_manager.h"

static int16_t append_error(int rc, const ml_err *err, const char *topic, int32_t partition,
                            ml_slice *message, ml_request *req) {
    switch (rc) {
    case ML_ECORRUPT:
        ml_debug("produce to %s-%d rejected: %s", topic, partition, err->msg);
        *message = ml_req_string(req, err->msg);
        return ML_KERR_CORRUPT_MESSAGE;
    case ML_ETOOBIG:
        *message = ml_req_string(req, err->msg);
        return ML_KERR_MESSAGE_TOO_LARGE;
    case ML_EINVAL:
        *message = ml_req_string(req, err->msg);
        return ML_KERR_INVALID_RECORD;
    default:
        ml_error("append to %s-%d failed: %s", topic, partition, err->msg);
        return ML_KERR_KAFKA_STORAGE_ERROR;
    }
}

static void produce_partition(ml_request *req, const char *topic, int16_t acks, const ml_partition_produce_data *in,
                              ml_partition_produce_response *out, int64_t now) {
    ml_server *s = req->server;
    ml_partition_produce_response_init(out);
    out->index = in->index;
    out->base_offset = -1;
    ml_partition_log *pl = topic ? ml_log_manager_get(s->logs, topic, in->index) : NULL;
    if (!pl) {
        out->error_code = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    /* Only the group coordinator writes __consumer_offsets (as Kafka: no client appends there). */
    if (strcmp(topic, ML_OFFSETS_TOPIC) == 0) {
        out->error_code = ML_KERR_INVALID_TOPIC_EXCEPTION;
        out->error_message = ml_req_string(req, "Cannot append to internal topic " ML_OFFSETS_TOPIC);
        return;
    }
    if (acks != 0 && acks != 1 && acks != -1) {
        out->error_code = ML_KERR_INVALID_REQUIRED_ACKS;
        return;
    }
    /* One broker is the whole ISR: acks=all cannot meet a min.insync.replicas above 1. */
    if (acks == -1 && pl->config.min_insync_replicas > 1) {
        out->error_code = ML_KERR_NOT_ENOUGH_REPLICAS;
        return;
    }
    if (in->records.len <= 0) {
        out->error_code = ML_KERR_INVALID_RECORD;
        out->error_message = ml_req_string(req, "no record batches");
        return;
    }
    ml_log_append_info info;
    ml_err err = {0};
    /* The frame belongs to this request: batches are rewritten in place (offsets) and stored. */
    int rc = ml_partition_log_append(pl, (uint8_t *)in->records.ptr, (size_t)in->records.len, now, &info, &err);
    if (rc != 0) {
        out->error_code = append_error(rc, &err, topic, in->index, &out->error_message, req);
        return;
    }
    out->error_code = ML_KERR_NONE;
    out->base_offset = info.base_offset;
    out->log_append_time_ms = info.log_append_time;
    out->log_start_offset = ml_partition_log_start_offset(pl);
    ml_server_on_append(s, topic, in->index);
}

int ml_handle_produce(ml_request *req) {
    ml_produce_request in;
    if (ml_produce_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_produce_response out;
    ml_produce_response_init(&out);
    out.responses = ml_req_array(req, in.n_topic_data, sizeof *out.responses);
    if (!out.responses) return ML_ENOMEM;
    out.n_responses = in.n_topic_data > 0 ? in.n_topic_data : 0;
    int64_t now = ml_wall_ms();
    for (int32_t i = 0; i < out.n_responses; i++) {
        const ml_topic_produce_data *td = &in.topic_data[i];
        ml_topic_produce_response *tr = &out.responses[i];
        ml_topic_produce_response_init(tr);
        tr->name = td->name;
        char topic[ML_TOPIC_NAME_MAX + 1];
        int known = ml_topic_from_slice(td->name, topic) == 0;
        int32_t n = td->n_partition_data > 0 ? td->n_partition_data : 0;
        tr->partition_responses = ml_req_array(req, n, sizeof *tr->partition_responses);
        if (!tr->partition_responses) return ML_ENOMEM;
        tr->n_partition_responses = n;
        for (int32_t j = 0; j < n; j++)
            produce_partition(req, known ? topic : NULL, in.acks, &td->partition_data[j], &tr->partition_responses[j],
                              now);
    }
    if (in.acks == 0) {
        ml_request_respond_silent(req);
        return 0;
    }
    ml_writer w;
    ml_writer_init(&w, 256);
    ml_produce_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
