/* Staging: with a partitioner plugin, send() does not call the plugin for each record. It encodes
 * the serialized record into the calling thread's staging list (counted in buffer.memory and
 * pending at once) in its batch form from the key on (ml_acc_encode_tail), writes its view, and
 * the list is partitioned with ONE call into the plugin host, a Lua trampoline looping over FFI
 * views of the records (core/lua/plugin.c; a view's key points into the encoded bytes), then
 * appended to the accumulator under one hold of p->mu: each record's batch takes the encoded
 * bytes behind its few batch-relative fields (ml_acc_append_tail), so a staged record is encoded
 * once and copied once more, where the built-in path encodes it once into its batch. A C->Lua
 * crossing with the record filled in costs ~120-150 ns here, about a third of a whole send: once
 * per list it is a few ns per record.
 *
 * A list is partitioned when it holds ML_STAGE_MAX records; on a synchronous send; before a
 * record with an explicit partition from the same thread (its order behind the staged ones);
 * on flush and close; and by the I/O thread, in its own LuaJIT state, when the oldest record
 * waited ML_STAGE_AGE_MS (0 with linger.ms=0), so an idle application never strands records.
 * A record the partitioner fails is completed by the I/O thread with the error (callback,
 * queued report or send_sync's result), as the Java producer delivers a partitioner exception.
 *
 * Locking: a list's staged records (live) are live_mu's, a spin lock: the owner thread pushes,
 * and another thread takes it only to swap the list out. The I/O thread looks at a list (its
 * count, its age, whether it watches it) through atomics, without live_mu: it looks on every pass
 * of its loop, and a holder of a spin lock taken off its core (2 cores here, shared with the
 * broker) made the owner spin and yield thousands of times a second.
 * A send() to the topic its thread staged to last takes no lock another sender waits for
 * (ml_stage_try: buffer.memory and pending are atomics); the first record of a topic, a full
 * buffer or a closing producer take the path under p->mu. A drain holds the stage's drain_mu
 * from taking the records out (a buffer swap under p->mu and live_mu) until they are appended,
 * so a list is drained by one thread at a time, in order. Lock order: drain_mu, p->mu, live_mu;
 * the plugin runs under neither p->mu nor any lock another sender waits for (only the drain_mu
 * of the list being drained). */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "client/batch_append.h"
#include "client/client_error.h"
#include "client/producer_int.h"
#include "client/record_tail.h"
#include "common/clock.h"
#include "common/log.h"
#include "lua/plugin.h"

#define ML_STAGE_MAX 64
#define ML_STAGE_AGE_MS 1

typedef struct ml_staged {
    ml_prec prec;
    ml_topic *topic;
    size_t mem;
    size_t off;      /* the record encoded from its key on (ml_acc_encode_tail), then with headers
                      * their plain form for the views: per header int32 value length, key + NUL, value */
    size_t tail_len;
} ml_staged;

/* A list: the records' own fields, and their views for the trampoline written as they are staged
 * (only the pointers into bytes, which may move while the list grows, wait for the drain). */
typedef struct ml_stage_buf {
    ml_staged *recs;
    ml_plugin_view *views;
    int n, cap, cap_views;
    int32_t n_headers; /* of all the records */
    uint8_t *bytes;
    size_t len, cap_bytes;
    int *runs; /* where a run of one topic starts: its views get the partition count at the drain */
    int n_runs, cap_runs;
    const ml_topic *last; /* the last record's topic (NULL when empty) */
} ml_stage_buf;

struct ml_stage {
    ml_stage *next;
    pthread_t owner;
    ml_topic *topic; /* the owner's: the topic it staged to last (ml_stage_try) */
    pthread_mutex_t drain_mu;
    atomic_int live_mu; /* a spin lock (live_lock) */
    ml_stage_buf live; /* live_mu */
    /* for the I/O thread's look at the list without live_mu (ml_stage_run): */
    _Atomic int64_t first_ms; /* when the oldest live record was staged (monotonic) */
    atomic_int watched;       /* the I/O thread's timer watches this list (no wake needed) */
    atomic_int n_live;        /* live.n */
    atomic_int draining; /* a drain holds records taken out of live and not appended yet */
    /* drain_mu */
    ml_stage_buf work;
    moonlog_error *errs;
    int cap_errs;
    moonlog_header *hdrs;
    int cap_hdrs;
};

/* live_mu is held for a few dozen instructions: by the owner on each send, by another thread
 * only to swap the list out or look at it. Inline, it costs a few instructions a record where a
 * call to pthread_spin_lock and unlock costs about as much as what they protect. */
static inline void live_lock(ml_stage *s) {
    for (int spins = 0; atomic_exchange_explicit(&s->live_mu, 1, memory_order_acquire); spins++)
        if (spins >= 64) sched_yield(); /* the holder may be off its core (2 cores here) */
}

static inline void live_unlock(ml_stage *s) { atomic_store_explicit(&s->live_mu, 0, memory_order_release); }

/* The stage this thread used last, and whose it is (producer ids are never reused). */
static _Thread_local struct {
    uint64_t producer;
    ml_stage *stage;
} cached;

static ml_stage *find_stage(moonlog_producer *p, int create) {
    if (cached.producer == p->id && cached.stage) return cached.stage;
    pthread_t self = pthread_self();
    ml_stage *s;
    for (s = p->stages; s; s = s->next)
        if (pthread_equal(s->owner, self)) break;
    if (!s && create) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        s->owner = self;
        pthread_mutex_init(&s->drain_mu, NULL);
        s->next = p->stages;
        p->stages = s;
    }
    if (s) {
        cached.producer = p->id;
        cached.stage = s;
    }
    return s;
}

ml_stage *ml_stage_get(moonlog_producer *p) {
    /* the look at the cache first, without find_stage's frame: this runs for every record */
    if (cached.producer == p->id && cached.stage) return cached.stage;
    return find_stage(p, 1);
}

static int grow(void **ptr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *n = realloc(*ptr, (size_t)c * elem);
    if (!n) return -1;
    *ptr = n;
    *cap = c;
    return 0;
}

/* Where a key of key_len bytes starts in an encoded tail: after its length (a varint). */
static inline size_t key_at(int32_t key_len) {
    uint32_t u = ((uint32_t)key_len << 1) ^ (uint32_t)(key_len >> 31);
    size_t n = 1;
    for (; u >= 0x80; u >>= 7) n++;
    return n;
}

/* The bytes may move: the views' keys, which point into them, move with them. */
static int grow_bytes(ml_stage_buf *b, size_t more) {
    size_t c = b->cap_bytes ? b->cap_bytes : 8192;
    while (c < b->len + more) c *= 2;
    uint8_t *n = realloc(b->bytes, c);
    if (!n) return -1;
    b->bytes = n;
    b->cap_bytes = c;
    for (int i = 0; i < b->n; i++)
        if (b->views[i].key_len >= 0) b->views[i].key = n + b->recs[i].off + key_at(b->views[i].key_len);
    return 0;
}

static inline int reserve_bytes(ml_stage_buf *b, size_t more) {
    return b->len + more <= b->cap_bytes ? 0 : grow_bytes(b, more);
}

/* A record of topic t after the last one: a new run when the topic changes. */
static inline int note_run(ml_stage_buf *b, const ml_topic *t) {
    if (b->last == t) return 0;
    if (grow((void **)&b->runs, &b->cap_runs, b->n_runs + 1, sizeof *b->runs) != 0) return -1;
    b->runs[b->n_runs++] = b->n;
    b->last = t;
    return 0;
}

/* live_mu held: the record into the live list; 1 when the list is full, 0, or an error. */
static inline __attribute__((always_inline)) int push_live(ml_stage *s, ml_topic *t, const ml_prec *prec,
                                                           size_t mem, const void *key, int32_t key_len,
                                                           const void *value, int32_t value_len,
                                                           const moonlog_header *h, int32_t n_headers, int *first) {
    ml_stage_buf *b = &s->live;
    /* room for the encoded record: mem (ml_acc_record_size) bounds it, and the headers' plain form */
    size_t need = mem;
    for (int32_t i = 0; i < n_headers; i++)
        need += sizeof(int32_t) + strlen(h[i].key) + 1 + (size_t)(h[i].value && h[i].value_len > 0 ? h[i].value_len : 0);
    if (b->n == b->cap && (grow((void **)&b->recs, &b->cap, b->n + 1, sizeof *b->recs) != 0 ||
                           grow((void **)&b->views, &b->cap_views, b->cap, sizeof *b->views) != 0))
        return MOONLOG_ERR_BUFFER_EXHAUSTED;
    if (reserve_bytes(b, need) != 0 || note_run(b, t) != 0) return MOONLOG_ERR_BUFFER_EXHAUSTED;
    ml_staged *r = &b->recs[b->n];
    r->prec = *prec;
    r->topic = t;
    r->mem = mem;
    r->off = b->len;
    ml_plugin_view *v = &b->views[b->n];
    uint8_t *d = b->bytes + b->len;
    v->topic = t->name;
    v->headers = NULL; /* build_views points them into the bytes */
    v->timestamp = prec->timestamp;
    v->key_len = key_len;
    v->value_len = value_len;
    v->n_headers = n_headers;
    v->status = -1; /* not partitioned yet (ml_plugin_partition_many) */
    size_t tail = ml_acc_encode_tail_at(d, key, key_len, value, value_len, h, n_headers, (const uint8_t **)&v->key);
    r->tail_len = tail;
    b->len += tail;
    if (n_headers > 0) {
        b->n_headers += n_headers;
        d += tail;
        for (int32_t i = 0; i < n_headers; i++) {
            int32_t hl = h[i].value ? (h[i].value_len > 0 ? h[i].value_len : 0) : -1;
            size_t kn = strlen(h[i].key) + 1;
            memcpy(d, &hl, sizeof hl);
            memcpy(d + sizeof hl, h[i].key, kn);
            d += sizeof hl + kn;
            if (hl > 0) memcpy(d, h[i].value, (size_t)hl);
            d += hl > 0 ? hl : 0;
        }
        b->len = (size_t)(d - b->bytes);
    }
    *first = b->n == 0;
    if (*first) atomic_store_explicit(&s->first_ms, ml_mono_ms(), memory_order_relaxed);
    b->n++;
    /* a list's first record seq_cst: see push */
    atomic_store_explicit(&s->n_live, b->n, *first ? memory_order_seq_cst : memory_order_release);
    return b->n >= ML_STAGE_MAX;
}

/* Counted in pending by the caller: stages the record, waking the I/O thread for a new list it
 * does not watch yet (its timer drains lists that waited). */
static inline __attribute__((always_inline)) int push(moonlog_producer *p, ml_stage *s, ml_topic *t,
                                                      const ml_prec *prec, size_t mem, const void *key,
                                                      int32_t key_len, const void *value, int32_t value_len,
                                                      const moonlog_header *h, int32_t n_headers) {
    int first = 0;
    live_lock(s);
    int rc = push_live(s, t, prec, mem, key, key_len, value, value_len, h, n_headers, &first);
    live_unlock(s);
    int wake = 0;
    /* n_live's store then watched's load, and ml_stage_run's store of watched then load of
     * n_live, all seq_cst: either it sees this list and watches it, or this sees watched 0 and
     * wakes it */
    if (rc >= 0 && first) wake = !atomic_load_explicit(&s->watched, memory_order_seq_cst);
    if (rc < 0) return rc;
    s->topic = t;
    if (wake) ml_sender_wake(p);
    return rc;
}

int ml_stage_push(moonlog_producer *p, ml_stage *s, ml_topic *t, const ml_prec *prec, size_t mem, const void *key,
                  int32_t key_len, const void *value, int32_t value_len, const moonlog_header *h, int32_t n_headers) {
    p->pending++; /* p->mu held: no waiter sees it before the record is staged */
    int rc = push(p, s, t, prec, mem, key, key_len, value, value_len, h, n_headers);
    if (rc < 0) p->pending--;
    return rc;
}

/* Gives back what a record counted without p->mu that was not staged after all: a close or flush
 * may have seen it pending and wait for it to go. */
static void uncount(moonlog_producer *p, size_t mem) {
    pthread_mutex_lock(&p->mu);
    p->pending--;
    p->buffer_used -= (int64_t)mem;
    pthread_cond_broadcast(&p->done_cv);
    pthread_cond_broadcast(&p->mem_cv);
    pthread_mutex_unlock(&p->mu);
}

int ml_stage_try(moonlog_producer *p, const char *topic, const ml_prec *prec, size_t mem, const void *key,
                 int32_t key_len, const void *value, int32_t value_len, const moonlog_header *h, int32_t n_headers,
                 ml_stage **out) {
    ml_stage *s = cached.producer == p->id ? cached.stage : NULL;
    *out = s;
    if (!s || !s->topic || strcmp(s->topic->name, topic) != 0 || !ml_buffer_take(p, (int64_t)mem))
        return ML_STAGE_LOCKED;
    /* pending before closing is read (both seq_cst): either close() sees this record pending and
     * waits for it to be delivered, or this send sees closing and the locked path refuses it. A
     * record in a list is always pending, so a flush that finds it waits for it. */
    p->pending++;
    if (atomic_load(&p->closing)) {
        uncount(p, mem);
        return ML_STAGE_LOCKED;
    }
    int rc = push(p, s, s->topic, prec, mem, key, key_len, value, value_len, h, n_headers);
    if (rc < 0) uncount(p, mem);
    return rc;
}

/* Points the views' keys (and the headers array) into the work buffer; -1 when out of memory. */
static int build_views(ml_stage *s) {
    ml_stage_buf *w = &s->work;
    if (grow((void **)&s->errs, &s->cap_errs, w->n, sizeof *s->errs) != 0) return -1;
    if (w->n_headers == 0) return 0;
    if (grow((void **)&s->hdrs, &s->cap_hdrs, w->n_headers, sizeof *s->hdrs) != 0) return -1;
    int hi = 0;
    for (int i = 0; i < w->n; i++) {
        ml_plugin_view *v = &w->views[i];
        if (v->n_headers <= 0) continue;
        const uint8_t *b = w->bytes + w->recs[i].off + w->recs[i].tail_len;
        v->headers = &s->hdrs[hi];
        for (int32_t k = 0; k < v->n_headers; k++, hi++) {
            int32_t vl;
            memcpy(&vl, b, sizeof vl);
            b += sizeof vl;
            s->hdrs[hi].key = (const char *)b;
            b += strlen((const char *)b) + 1;
            s->hdrs[hi].value = vl >= 0 ? b : NULL;
            s->hdrs[hi].value_len = vl;
            b += vl > 0 ? vl : 0;
        }
    }
    return 0;
}

/* Under p->mu: hands a record that will not be appended to the I/O thread, with its error. */
static void fail_locked(moonlog_producer *p, const ml_staged *r, const moonlog_error *err) {
    if (grow((void **)&p->failed, &p->cap_failed, p->n_failed + 1, sizeof *p->failed) != 0) {
        /* cannot even queue the report: release the record so that flush and close finish */
        ml_error("producer: out of memory reporting a failed record of %s: %s", r->topic->name, err->message);
        p->buffer_used -= (int64_t)r->mem;
        p->pending--;
        atomic_fetch_add_explicit(&p->n.failed, 1, memory_order_relaxed);
        pthread_cond_broadcast(&p->done_cv);
        return;
    }
    ml_failed *f = &p->failed[p->n_failed++];
    f->prec = r->prec;
    f->topic = r->topic->name;
    f->mem = r->mem;
    f->err = *err;
}

/* drain_mu held, p->mu not: partitions the work list and appends it. */
static void drain_work(moonlog_producer *p, ml_stage *s) {
    ml_stage_buf *w = &s->work;
    ml_plugin_view *views = w->views;
    int64_t gen = 0;
    int ok = build_views(s) == 0, n_bad = 0;
    if (ok) {
        ml_cluster_ops ops;
        ml_producer_cluster_ops(p, &ops);
        n_bad = ml_plugin_partition_many(p->partitioner, views, w->n, &ops, &gen, s->errs);
    }
    int flags = 0, failed = 0, n_full = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < w->n; i++) {
        ml_staged *r = &w->recs[i];
        ml_plugin_view *v = &views[i];
        r->prec.generation = gen;
        moonlog_error e;
        if (!ok || (n_bad > 0 && v->status != 0)) {
            if (!ok)
                ml_error_set(&e, MOONLOG_ERR_PARTITIONER, "out of memory partitioning a record of %s", v->topic);
            fail_locked(p, r, ok ? &s->errs[i] : &e);
            failed = 1;
            continue;
        }
        int rc = ml_acc_append_tail(p, r->topic->parts[v->partition], w->bytes + r->off, r->tail_len, &r->prec, r->mem);
        if (rc < 0) {
            ml_error_set(&e, rc, "out of memory appending to %s-%d", v->topic, v->partition);
            fail_locked(p, r, &e);
            failed = 1;
            continue;
        }
        flags |= rc;
        if (rc & ML_ACC_FULL) {
            v->status = -2; /* tell on_batch_full below */
            n_full++;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (flags || failed) ml_sender_wake(p);
    for (int i = 0; ok && n_full > 0 && i < w->n; i++)
        if (views[i].status == -2) moonlog_plugin_batch_full(p->partitioner, views[i].topic, views[i].partition);
}

/* drain_mu held: takes the live records out (under p->mu) and drains them. */
static void drain_held(moonlog_producer *p, ml_stage *s) {
    atomic_store(&s->draining, 1); /* before the records leave live: see ml_stage_drain_own */
    pthread_mutex_lock(&p->mu);
    live_lock(s);
    ml_stage_buf t = s->live;
    s->live = s->work; /* empty: reuses its memory */
    s->work = t;
    atomic_store(&s->n_live, 0);
    live_unlock(s);
    ml_stage_buf *w = &s->work;
    /* the partition count under p->mu, on the first view of each topic's run: the only views
     * whose count the trampoline reads */
    for (int i = 0; i < w->n_runs; i++) w->views[w->runs[i]].partitions = w->recs[w->runs[i]].topic->n_partitions;
    pthread_mutex_unlock(&p->mu);
    if (s->work.n > 0) drain_work(p, s);
    s->work.n = 0;
    s->work.len = 0;
    s->work.n_headers = 0;
    s->work.n_runs = 0;
    s->work.last = NULL;
    atomic_store(&s->draining, 0);
}

void ml_stage_drain(moonlog_producer *p, ml_stage *s) {
    if (!s) return;
    pthread_mutex_lock(&s->drain_mu);
    drain_held(p, s);
    pthread_mutex_unlock(&s->drain_mu);
}

void ml_stage_drain_own(moonlog_producer *p) {
    if (!p->partitioner) return;
    ml_stage *s = NULL;
    if (cached.producer == p->id) {
        s = cached.stage;
    } else {
        pthread_mutex_lock(&p->mu);
        s = find_stage(p, 0);
        pthread_mutex_unlock(&p->mu);
    }
    /* Records may be staged, or out of the list in another thread's drain (the I/O thread's, for
     * a list that waited): either way wait for them to be appended, so that what follows keeps
     * its place behind them. draining is set before the records leave the list, so a list seen
     * empty is either really empty or seen draining. */
    if (s && (atomic_load(&s->n_live) > 0 || atomic_load(&s->draining))) ml_stage_drain(p, s);
}

static int64_t min_due(int64_t a, int64_t b) { return a < 0 || b < a ? b : a; }

void ml_stage_run(moonlog_producer *p, int64_t now, int64_t *next) {
    if (!p->partitioner) return;
    int64_t age = p->conf.linger_ms > 0 ? ML_STAGE_AGE_MS : 0;
    ml_stage **due = NULL;
    int n_due = 0, cap_due = 0;
    pthread_mutex_lock(&p->mu);
    int all = p->flushing || p->closing;
    for (ml_stage *s = p->stages; s; s = s->next) {
        /* no live_mu: a look at a list that changes meanwhile only drains it early or late by
         * one pass, and the owner does not wait on the I/O thread for each record */
        if (atomic_load_explicit(&s->n_live, memory_order_acquire) == 0 ||
            (!all && now - atomic_load_explicit(&s->first_ms, memory_order_relaxed) < age))
            continue;
        if (grow((void **)&due, &cap_due, n_due + 1, sizeof *due) != 0) break;
        due[n_due++] = s;
    }
    pthread_mutex_unlock(&p->mu);
    int busy = 0;
    for (int i = 0; i < n_due; i++) {
        if (pthread_mutex_trylock(&due[i]->drain_mu) != 0) { /* its thread is draining it right now */
            busy = 1;
            continue;
        }
        drain_held(p, due[i]);
        pthread_mutex_unlock(&due[i]->drain_mu);
    }
    free(due);
    /* what is staged now is watched by the timer; a list that starts later wakes us (send) */
    pthread_mutex_lock(&p->mu);
    for (ml_stage *s = p->stages; s; s = s->next) {
        int n = atomic_load_explicit(&s->n_live, memory_order_acquire);
        if (n == 0 && atomic_load_explicit(&s->watched, memory_order_relaxed)) {
            /* against push's store of n_live then load of watched: either this sees a list
             * started meanwhile, or its first push sees watched 0 and wakes us */
            atomic_store_explicit(&s->watched, 0, memory_order_seq_cst);
            n = atomic_load_explicit(&s->n_live, memory_order_seq_cst);
        }
        if (n == 0) continue;
        if (!atomic_load_explicit(&s->watched, memory_order_relaxed))
            atomic_store_explicit(&s->watched, 1, memory_order_relaxed);
        *next = min_due(*next, atomic_load_explicit(&s->first_ms, memory_order_relaxed) + age);
    }
    if (busy) *next = min_due(*next, now + 1);
    pthread_mutex_unlock(&p->mu);
}

static void buf_free(ml_stage_buf *b) {
    free(b->recs);
    free(b->views);
    free(b->bytes);
    free(b->runs);
}

void ml_stage_free_all(moonlog_producer *p) {
    ml_stage *s = p->stages;
    while (s) {
        ml_stage *n = s->next;
        buf_free(&s->live);
        buf_free(&s->work);
        free(s->errs);
        free(s->hdrs);
        pthread_mutex_destroy(&s->drain_mu);
        free(s);
        s = n;
    }
    p->stages = NULL;
    if (cached.producer == p->id) cached.stage = NULL;
}
