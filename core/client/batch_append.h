/* Appending one record to its partition's open batch (RecordBatch v2 record format, deltas
 * against the batch's first record), inline: it runs once per record, on the built-in path inside
 * ml_acc_append and in a staged list's drain loop (ml_acc_append_tail), where a call per record
 * and its frame cost about a tenth of the append. The rare parts (opening a batch, growing a
 * buffer) are calls. Callers hold p->mu. */
#ifndef MOONLOG_CLIENT_BATCH_APPEND_H
#define MOONLOG_CLIENT_BATCH_APPEND_H

#include "client/client_error.h"
#include "client/producer_int.h"
#include "client/record_tail.h"
#include "common/buf.h"
#include "proto/record_batch.h"

/* accumulator.c: what ml_acc_batch_for does when the open batch cannot take the record as it is */
ml_batch *ml_acc_batch_slow(moonlog_producer *p, ml_tp *tp, const ml_prec *prec, size_t mem, int *new_batch,
                            int *closed);

/* The partition's open batch with room for one more record of mem bytes (opened if need be), or
 * NULL when out of memory; *closed when the open one had no room left (it is full now). */
static inline ml_batch *ml_acc_batch_for(moonlog_producer *p, ml_tp *tp, const ml_prec *prec, size_t mem,
                                         int *new_batch, int *closed) {
    ml_batch *b = tp->tail;
    if (b && !b->full && !b->wire && b->count < b->cap &&
        (b->count == 0 || b->recs.len - ML_RB_HEADER_SIZE + mem <= (size_t)p->conf.batch_size)) {
        *new_batch = 0;
        *closed = 0;
        return b;
    }
    return ml_acc_batch_slow(p, tp, prec, mem, new_batch, closed);
}

/* Reserves room in b for a record whose tail is tail_len bytes and writes what depends on the
 * batch (length, attributes, timestamp and offset deltas); where the tail goes, or NULL when out
 * of memory. One reservation per record: the writer's per-field checks cost more than the bytes. */
static inline uint8_t *ml_acc_put_head(ml_batch *b, const ml_prec *prec, size_t tail_len) {
    int64_t ts_delta = prec->timestamp - b->base_ts;
    size_t body = 1 + (size_t)ml_varlong_size(ts_delta) + (size_t)ml_varlong_size(b->count) + tail_len;
    ml_writer *w = &b->recs;
    /* the call only to grow */
    if ((w->err || w->len + 5 + body > w->cap) && !ml_writer_reserve(w, 5 + body)) return NULL;
    uint8_t *d = ml_put_varint(w->data + w->len, (int32_t)body);
    *d++ = 0; /* attributes */
    uint64_t u = ((uint64_t)ts_delta << 1) ^ (uint64_t)(ts_delta >> 63);
    while (u >= 0x80) {
        *d++ = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    *d++ = (uint8_t)u;
    d = ml_put_varint(d, b->count);
    w->len = (size_t)(d + tail_len - w->data);
    return d;
}

/* After the record's bytes went into b. */
static inline int ml_acc_appended(moonlog_producer *p, ml_tp *tp, ml_batch *b, const ml_prec *prec, size_t mem,
                                  int closed, int *now_full) {
    if (b->recs.err) return MOONLOG_ERR_BUFFER_EXHAUSTED;
    b->precs[b->count++] = *prec;
    if (prec->timestamp > b->max_ts) b->max_ts = prec->timestamp;
    b->mem += mem;
    tp->queued_bytes += (int64_t)mem;
    if (b->recs.len >= (size_t)p->conf.batch_size) b->full = 1;
    *now_full = b->full || closed;
    return 0;
}

/* ml_acc_append for a record encoded by ml_acc_encode_tail: an error (< 0), or the flags
 * ML_ACC_NEW_BATCH and ML_ACC_FULL (a drain of 64 records keeps them in registers). */
static inline int ml_acc_append_tail(moonlog_producer *p, ml_tp *tp, const uint8_t *tail, size_t tail_len,
                                     const ml_prec *prec, size_t mem) {
    int closed, new_batch, full;
    ml_batch *b = ml_acc_batch_for(p, tp, prec, mem, &new_batch, &closed);
    if (!b) return MOONLOG_ERR_BUFFER_EXHAUSTED;
    uint8_t *d = ml_acc_put_head(b, prec, tail_len);
    if (d) memcpy(d, tail, tail_len);
    int rc = ml_acc_appended(p, tp, b, prec, mem, closed, &full);
    return rc != 0 ? rc : (new_batch ? ML_ACC_NEW_BATCH : 0) | (full ? ML_ACC_FULL : 0);
}

#endif
