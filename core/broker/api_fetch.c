/* Fetch: each partition's bytes go from the segment file to the socket with sendfile (the
 * response body holds file segments, not copies). A Fetch that finds fewer than min_bytes waits
 * in the purgatory for an append or for max_wait_ms.
 *
 * The response is encoded here rather than by the generated codec, because its records are
 * file ranges, not memory. Layout for versions 4-12 (v12 flexible: compact lengths, tagged
 * sections):
 *   [v1+] throttle_time_ms | [v7+] error_code, session_id | topics[ name | partitions[
 *     partition_index, error_code, high_watermark, last_stable_offset, log_start_offset,
 *     aborted_transactions (empty), [v11+] preferred_read_replica, records ] ] */
#include <errno.h>
#include <event2/buffer.h>
#include <string.h>
#include <unistd.h>

#include "broker/api.h"
#include "broker/fetch_purgatory.h"
#include "broker/handler.h"
#include "broker/server.h"
#include "common/log.h"
#include "proto/fetch.h"
#include "storage/log_manager.h"

typedef struct fetch_part {
    int16_t error_code;
    int64_t high_watermark;
    int64_t log_start_offset;
    ml_log_read_range range; /* range.length 0: no records */
} fetch_part;

typedef struct fetch_state {
    ml_fetch_request in;
    fetch_part **parts; /* [topic][partition], reused by every try */
} fetch_state;

static int part_wanted(const ml_fetch_topic *t, int32_t partition) {
    for (int32_t j = 0; j < t->n_partitions; j++)
        if (t->partitions[j].partition == partition) return 1;
    return 0;
}

static int fetch_wants(ml_request *req, const char *topic, int32_t partition) {
    fetch_state *st = req->state;
    size_t len = strlen(topic);
    for (int32_t i = 0; i < st->in.n_topics; i++) {
        const ml_fetch_topic *t = &st->in.topics[i];
        if (t->topic.len == (int32_t)len && memcmp(t->topic.ptr, topic, len) == 0 && part_wanted(t, partition))
            return 1;
    }
    return 0;
}

/* Looks one partition up; returns the bytes it can send within `budget`. */
static int64_t fetch_one(ml_request *req, const char *topic, const ml_fetch_partition *in, int64_t budget,
                         fetch_part *out) {
    memset(out, 0, sizeof *out);
    out->high_watermark = -1;
    out->log_start_offset = -1;
    ml_partition_log *pl = topic ? ml_log_manager_get(req->server->logs, topic, in->partition) : NULL;
    if (!pl) {
        out->error_code = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return 0;
    }
    out->high_watermark = ml_partition_log_end_offset(pl);
    out->log_start_offset = ml_partition_log_start_offset(pl);
    if (budget <= 0) return 0;
    int64_t max = in->partition_max_bytes < budget ? in->partition_max_bytes : budget;
    if (max <= 0) return 0;
    ml_err err = {0};
    int rc = ml_partition_log_read(pl, in->fetch_offset, max, &out->range, &err);
    if (rc == ML_ERANGE) {
        out->error_code = ML_KERR_OFFSET_OUT_OF_RANGE;
        return 0;
    }
    if (rc != 0) {
        ml_error("fetch from %s-%d at %lld: %s", topic, in->partition, (long long)in->fetch_offset, err.msg);
        out->error_code = ML_KERR_KAFKA_STORAGE_ERROR;
        return 0;
    }
    return out->range.length;
}

/* Reads every partition; returns the total bytes available. */
static int64_t fetch_collect(ml_request *req, fetch_state *st) {
    int64_t budget = st->in.max_bytes > 0 ? st->in.max_bytes : INT32_MAX;
    int64_t total = 0;
    for (int32_t i = 0; i < st->in.n_topics; i++) {
        const ml_fetch_topic *t = &st->in.topics[i];
        char topic[ML_TOPIC_NAME_MAX + 1];
        int known = ml_topic_from_slice(t->topic, topic) == 0;
        for (int32_t j = 0; j < t->n_partitions; j++) {
            int64_t n = fetch_one(req, known ? topic : NULL, &t->partitions[j], budget - total, &st->parts[i][j]);
            total += n;
        }
    }
    return total;
}

static void put_len(ml_writer *w, int flexible, int32_t n) {
    if (flexible)
        ml_write_uvarint(w, (uint32_t)n + 1);
    else
        ml_write_i32(w, n);
}

static void put_string(ml_writer *w, int flexible, ml_slice s) {
    if (flexible) {
        ml_write_uvarint(w, (uint32_t)(s.len < 0 ? 0 : s.len + 1));
    } else {
        ml_write_i16(w, (int16_t)s.len);
    }
    if (s.len > 0) ml_write_raw(w, s.ptr, (size_t)s.len);
}

/* Moves what `w` holds into the response, then the segment bytes as a sendfile-able file segment. */
static int add_records(struct evbuffer *out, ml_writer *w, const ml_log_read_range *r) {
    if (evbuffer_add(out, w->data, w->len) != 0) return ML_ENOMEM;
    ml_writer_reset(w);
    if (r->length <= 0) return 0;
    /* The segment may be deleted (retention) before the bytes are sent: our own fd keeps them. */
    int fd = dup(r->fd);
    if (fd < 0) return ML_EIO;
    struct evbuffer_file_segment *seg = evbuffer_file_segment_new(fd, r->position, r->length, EVBUF_FS_CLOSE_ON_FREE);
    if (!seg) {
        close(fd);
        return ML_ENOMEM;
    }
    int rc = evbuffer_add_file_segment(out, seg, 0, r->length);
    evbuffer_file_segment_free(seg);
    return rc == 0 ? 0 : ML_ENOMEM;
}

static void put_partition_head(ml_writer *w, int16_t v, int32_t index, const fetch_part *p) {
    int flexible = v >= 12;
    ml_write_i32(w, index);
    ml_write_i16(w, p->error_code);
    ml_write_i64(w, p->high_watermark);
    ml_write_i64(w, p->high_watermark); /* last_stable_offset: no open transactions */
    if (v >= 5) ml_write_i64(w, p->log_start_offset);
    put_len(w, flexible, 0);            /* aborted_transactions: none */
    if (v >= 11) ml_write_i32(w, -1);   /* preferred_read_replica: read from the leader */
    put_len(w, flexible, (int32_t)p->range.length);
}

static int fetch_encode(ml_request *req, fetch_state *st) {
    int16_t v = req->api_version;
    int flexible = v >= 12;
    ml_writer w;
    ml_writer_init(&w, 256);
    ml_write_i32(&w, 0); /* throttle_time_ms */
    if (v >= 7) {
        ml_write_i16(&w, ML_KERR_NONE);
        ml_write_i32(&w, 0); /* session_id 0: no fetch session */
    }
    put_len(&w, flexible, st->in.n_topics);
    int rc = 0;
    for (int32_t i = 0; i < st->in.n_topics && rc == 0; i++) {
        const ml_fetch_topic *t = &st->in.topics[i];
        put_string(&w, flexible, t->topic);
        put_len(&w, flexible, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions && rc == 0; j++) {
            put_partition_head(&w, v, t->partitions[j].partition, &st->parts[i][j]);
            rc = add_records(req->response, &w, &st->parts[i][j].range);
            if (flexible) ml_write_uvarint(&w, 0);
        }
        if (flexible) ml_write_uvarint(&w, 0);
    }
    if (flexible) ml_write_uvarint(&w, 0);
    if (rc == 0 && (w.err || evbuffer_add(req->response, w.data, w.len) != 0)) rc = ML_ENOMEM;
    ml_writer_free(&w);
    return rc;
}

static int fetch_try(ml_request *req, int final) {
    fetch_state *st = req->state;
    int64_t total = fetch_collect(req, st);
    if (!final && total < st->in.min_bytes) return 0;
    if (fetch_encode(req, st) != 0) {
        /* Out of memory or descriptors: an empty answer lets the client retry. */
        ml_error("fetch response: out of memory or file descriptors (%s)", strerror(errno));
        evbuffer_drain(req->response, evbuffer_get_length(req->response));
        for (int32_t i = 0; i < st->in.n_topics; i++)
            for (int32_t j = 0; j < st->in.topics[i].n_partitions; j++) st->parts[i][j].range.length = 0;
        fetch_encode(req, st);
    }
    ml_request_respond_buffer(req);
    return 1;
}

int ml_handle_fetch(ml_request *req) {
    fetch_state *st = ml_arena_alloc(&req->arena, sizeof *st);
    if (!st) return ML_ENOMEM;
    if (ml_fetch_request_decode(&req->body, req->api_version, &req->arena, &st->in) != 0) return ML_ECORRUPT;
    if (st->in.n_topics < 0) st->in.n_topics = 0;
    st->parts = ml_req_array(req, st->in.n_topics, sizeof *st->parts);
    if (!st->parts) return ML_ENOMEM;
    for (int32_t i = 0; i < st->in.n_topics; i++) {
        if (st->in.topics[i].n_partitions < 0) st->in.topics[i].n_partitions = 0;
        st->parts[i] = ml_req_array(req, st->in.topics[i].n_partitions, sizeof *st->parts[i]);
        if (!st->parts[i]) return ML_ENOMEM;
    }
    req->state = st;
    int wait = st->in.max_wait_ms > 0 && st->in.min_bytes > 0;
    if (fetch_try(req, !wait)) return 0;
    if (ml_fetch_purgatory_park(req->server->fetches, req, st->in.max_wait_ms, fetch_try, fetch_wants) != 0)
        fetch_try(req, 1);
    return 0;
}
