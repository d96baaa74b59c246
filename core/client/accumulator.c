/* The record accumulator: one queue of batches per partition. send() encodes each record
 * straight into its partition's open batch (RecordBatch v2 record format, deltas against the
 * batch's first record); the I/O thread takes whole batches, adds the header and compresses. */
#include <stdlib.h>
#include <string.h>

#include "client/client_error.h"
#include "client/batch_append.h"
#include "client/record_tail.h"
#include "client/producer_int.h"
#include "common/clock.h"
#include "common/codec.h"
#include "proto/record_batch.h"

ml_topic *ml_acc_topic(moonlog_producer *p, const char *name, int create) {
    for (ml_topic *t = p->topics; t; t = t->next)
        if (strcmp(t->name, name) == 0) return t;
    if (!create) return NULL;
    ml_topic *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name))) {
        free(t);
        return NULL;
    }
    t->sticky = -1;
    t->next = p->topics;
    p->topics = t;
    return t;
}

int ml_acc_set_partitions(ml_topic *t, int32_t n) {
    if (n <= t->n_partitions) return 0; /* partitions are never removed in Kafka */
    ml_tp **parts = realloc(t->parts, (size_t)n * sizeof *parts);
    if (!parts) return -1;
    t->parts = parts;
    for (int32_t i = t->n_partitions; i < n; i++) {
        ml_tp *tp = calloc(1, sizeof *tp);
        if (!tp) return -1;
        tp->topic = t;
        tp->partition = i;
        tp->leader = -1;
        tp->latency_ms = -1;
        parts[i] = tp;
        t->n_partitions = i + 1;
    }
    return 0;
}

static size_t bytes_size(int32_t len) { return (size_t)ml_varlong_size(len < 0 ? -1 : len) + (len > 0 ? (size_t)len : 0); }

size_t ml_acc_record_size(const void *key, int32_t key_len, const void *value, int32_t value_len,
                          const moonlog_header *h, int32_t n_headers) {
    size_t n = 5 + 1 + 10 + 5 + bytes_size(key ? key_len : -1) + bytes_size(value ? value_len : -1) + 5;
    for (int32_t i = 0; i < n_headers; i++)
        n += bytes_size((int32_t)strlen(h[i].key)) + bytes_size(h[i].value ? h[i].value_len : -1);
    return n + sizeof(ml_prec);
}

static ml_batch *batch_new(moonlog_producer *p, ml_tp *tp, int64_t now_ms, int64_t ts) {
    ml_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->tp = tp;
    b->created_ms = now_ms;
    b->base_ts = b->max_ts = ts;
    /* the header's room first: uncompressed, the records are sent from this very buffer */
    if (p->n_pool > 0) {
        b->recs = p->pool[--p->n_pool];
        b->recs.len = 0;
    } else {
        ml_writer_init(&b->recs, 256);
    }
    uint8_t hdr[ML_RB_HEADER_SIZE] = {0};
    ml_write_raw(&b->recs, hdr, sizeof hdr);
    if (b->recs.err) {
        ml_writer_free(&b->recs);
        free(b);
        return NULL;
    }
    return b;
}

/* The slow part of ml_acc_batch_for: the open batch is missing, full, sent, has no room for mem
 * bytes or no slot for one more record. */
ml_batch *ml_acc_batch_slow(moonlog_producer *p, ml_tp *tp, const ml_prec *prec, size_t mem, int *new_batch,
                            int *closed) {
    ml_batch *b = tp->tail;
    size_t limit = (size_t)p->conf.batch_size;
    *new_batch = 0;
    *closed = 0;
    if (!b || b->full || b->wire || (b->count > 0 && b->recs.len - ML_RB_HEADER_SIZE + mem > limit)) {
        *closed = b && !b->full && !b->wire;
        if (b) b->full = 1;
        b = batch_new(p, tp, ml_mono_ms(), prec->timestamp); /* the clock only when a batch opens */
        if (!b) return NULL;
        if (tp->tail) tp->tail->next = b;
        else tp->head = b;
        tp->tail = b;
        *new_batch = 1;
    }
    if (b->count == b->cap) {
        int32_t cap = b->cap ? b->cap * 2 : 16;
        ml_prec *n = realloc(b->precs, (size_t)cap * sizeof *n);
        if (!n) return NULL;
        b->precs = n;
        b->cap = cap;
    }
    return b;
}

/* Exactly what ml_acc_encode_tail writes. */
static size_t tail_size(const void *key, int32_t key_len, const void *value, int32_t value_len, const moonlog_header *h,
                        int32_t n_headers) {
    size_t n = bytes_size(key ? key_len : -1) + bytes_size(value ? value_len : -1) + (size_t)ml_varlong_size(n_headers);
    for (int32_t i = 0; i < n_headers; i++)
        n += bytes_size((int32_t)strlen(h[i].key)) + bytes_size(h[i].value ? h[i].value_len : -1);
    return n;
}

int ml_acc_append(moonlog_producer *p, ml_tp *tp, const void *key, int32_t key_len, const void *value,
                  int32_t value_len, const moonlog_header *h, int32_t n_headers, const ml_prec *prec, size_t mem,
                  int *new_batch, int *now_full) {
    int closed;
    ml_batch *b = ml_acc_batch_for(p, tp, prec, mem, new_batch, &closed);
    if (!b) return MOONLOG_ERR_BUFFER_EXHAUSTED;
    uint8_t *d = ml_acc_put_head(b, prec, tail_size(key, key_len, value, value_len, h, n_headers));
    if (d) ml_acc_encode_tail(d, key, key_len, value, value_len, h, n_headers);
    return ml_acc_appended(p, tp, b, prec, mem, closed, now_full);
}

static void fill_header(const ml_batch *b, uint8_t *d, size_t len, int codec) {
    ml_store_u64(d + ML_RB_OFF_BASE_OFFSET, 0);
    ml_store_u32(d + ML_RB_OFF_LENGTH, (uint32_t)(len - ML_RB_LOG_OVERHEAD));
    ml_store_u32(d + ML_RB_OFF_LEADER_EPOCH, (uint32_t)-1);
    d[ML_RB_OFF_MAGIC] = ML_RB_MAGIC;
    ml_store_u16(d + ML_RB_OFF_ATTRIBUTES, (uint16_t)codec);
    ml_store_u32(d + ML_RB_OFF_LAST_OFFSET_DELTA, (uint32_t)(b->count - 1));
    ml_store_u64(d + ML_RB_OFF_BASE_TIMESTAMP, (uint64_t)b->base_ts);
    ml_store_u64(d + ML_RB_OFF_MAX_TIMESTAMP, (uint64_t)b->max_ts);
    ml_store_u64(d + ML_RB_OFF_PRODUCER_ID, (uint64_t)-1);
    ml_store_u16(d + ML_RB_OFF_PRODUCER_EPOCH, (uint16_t)-1);
    ml_store_u32(d + ML_RB_OFF_BASE_SEQUENCE, (uint32_t)-1);
    ml_store_u32(d + ML_RB_OFF_RECORD_COUNT, (uint32_t)b->count);
    ml_record_batch_update_crc(d, len);
}

int ml_acc_build(moonlog_producer *p, ml_batch *b, moonlog_error *err) {
    if (b->wire) return 0;
    int codec = p->conf.compression;
    if (codec == ML_CODEC_NONE) { /* no copy: the header goes in the room left for it */
        fill_header(b, b->recs.data, b->recs.len, codec);
        b->wire_cap = b->recs.cap;
        b->wire = ml_writer_steal(&b->recs, &b->wire_len);
        return 0;
    }
    ml_writer w;
    ml_writer_init(&w, b->recs.len);
    uint8_t hdr[ML_RB_HEADER_SIZE] = {0};
    ml_write_raw(&w, hdr, sizeof hdr);
    ml_err e;
    if (ml_codec_compress(codec, -1, b->recs.data + ML_RB_HEADER_SIZE, b->recs.len - ML_RB_HEADER_SIZE, &w, &e) != 0) {
        ml_writer_free(&w);
        return ml_error_set(err, MOONLOG_ERR_SERIALIZATION, "compression (%s) failed: %s", ml_codec_name(codec),
                            e.msg);
    }
    if (w.err) {
        ml_writer_free(&w);
        return ml_error_set(err, MOONLOG_ERR_BUFFER_EXHAUSTED, "out of memory building a batch");
    }
    fill_header(b, w.data, w.len, codec);
    b->wire = ml_writer_steal(&w, &b->wire_len);
    return 0; /* b->recs stays until the batch is completed: its buffer is recycled then */
}

void ml_acc_batch_recycle(moonlog_producer *p, ml_batch *b) {
    size_t most = 2 * (size_t)p->conf.batch_size + 4096; /* not a record's outsized one */
    int from_wire = !b->recs.data && b->wire && b->wire_cap; /* uncompressed: sent from its buffer */
    ml_writer w = from_wire ? (ml_writer){b->wire, 0, b->wire_cap, 0} : b->recs;
    if (w.data && !w.err && w.cap <= most && p->n_pool < (int)(sizeof p->pool / sizeof p->pool[0])) {
        p->pool[p->n_pool++] = w;
        if (from_wire) b->wire = NULL;
        else b->recs = (ml_writer){NULL, 0, 0, 0};
    }
    ml_acc_batch_free(b);
}

void ml_acc_batch_free(ml_batch *b) {
    if (!b) return;
    ml_writer_free(&b->recs);
    free(b->precs);
    free(b->wire);
    free(b);
}

void ml_acc_free_all(moonlog_producer *p) {
    ml_topic *t = p->topics;
    while (t) {
        ml_topic *next = t->next;
        for (int32_t i = 0; i < t->n_partitions; i++) {
            ml_batch *b = t->parts[i]->head;
            while (b) {
                ml_batch *bn = b->next;
                ml_acc_batch_free(b);
                b = bn;
            }
            free(t->parts[i]);
        }
        free(t->parts);
        free(t->name);
        free(t);
        t = next;
    }
    p->topics = NULL;
    while (p->n_pool > 0) ml_writer_free(&p->pool[--p->n_pool]);
}
