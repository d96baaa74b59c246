/* The producer's public API (core/include/moonlog/producer.h): create, send in its three
 * forms, flush, close. send() runs the serializer and partitioner plugins in the calling thread
 * and appends to the accumulator; everything on the network is the I/O thread's (sender.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client_error.h"
#include "client/producer_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "lua/plugin.h"
#include "proto/record_batch.h"

static int open_plugin(moonlog_producer *p, const char *kind, const char *key, const char *name,
                       const char *builtin, moonlog_plugin **out, moonlog_error *err) {
    *out = NULL;
    if (strcmp(name, builtin) == 0 || strcmp(name, "default") == 0) return 0;
    moonlog_plugin_options o = {p->conf.plugin_path, p->conf.plugin_unsafe, p->conf.plugin_timeout_ms,
                                (const char *const *)p->given};
    moonlog_error e;
    if (moonlog_plugin_open(kind, name, &o, out, &e) != 0)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "%s: %s", key, e.message);
    return 0;
}

static _Atomic uint64_t next_producer_id = 1;

static void producer_free(moonlog_producer *p) {
    ml_sender_join(p);
    ml_stage_free_all(p);
    free(p->failed);
    ml_acc_free_all(p);
    for (int i = 0; i < p->n_nodes; i++) ml_conn_free(p->nodes[i].conn);
    free(p->nodes);
    moonlog_plugin_close(p->partitioner);
    moonlog_plugin_close(p->key_ser);
    moonlog_plugin_close(p->value_ser);
    moonlog_plugin_close(p->retry);
    for (char **g = p->given; g && *g; g++) free(*g);
    free(p->given);
    free(p->q);
    ml_pconf_free(&p->conf);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->q_mu);
    pthread_cond_destroy(&p->meta_cv);
    pthread_cond_destroy(&p->mem_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

int moonlog_producer_new(const moonlog_config *cfg, moonlog_producer **out, moonlog_error *err) {
    if (ml_pconf_check(&cfg->c, err) != 0) return MOONLOG_ERR_INVALID_CONFIG;
    moonlog_producer *p = calloc(1, sizeof *p);
    if (!p) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
    p->wake_fd = -1;
    p->id = atomic_fetch_add(&next_producer_id, 1);
    /* adaptive: p->mu is held briefly but by several threads (senders, the I/O thread, a drain of
     * 64 staged records) on few cores; sleeping in the kernel at each collision and being woken
     * cost a staged sender a third of its records/s here */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&p->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&p->q_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->meta_cv, &ca);
    pthread_cond_init(&p->mem_cv, &ca);
    pthread_cond_init(&p->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = ml_pconf_copy(&p->conf, &cfg->c);
    p->given = calloc((size_t)(2 * cfg->n_given + 1), sizeof *p->given);
    for (int i = 0; p->given && i < 2 * cfg->n_given; i++) p->given[i] = strdup(cfg->given[i]);
    if (rc != 0 || !p->given) {
        producer_free(p);
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
    }
    if ((rc = open_plugin(p, "partitioner", "partitioner", p->conf.partitioner, "default", &p->partitioner, err)) ||
        (rc = open_plugin(p, "serializer", "key.serializer", p->conf.key_serializer, "bytes", &p->key_ser, err)) ||
        (rc = open_plugin(p, "serializer", "value.serializer", p->conf.value_serializer, "bytes", &p->value_ser,
                          err)) ||
        (rc = open_plugin(p, "retry_policy", "retry.policy", p->conf.retry_policy, "default", &p->retry, err)) ||
        (rc = ml_metadata_nodes_init(p, err)) || (rc = ml_sender_start(p, err))) {
        producer_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static struct timespec deadline_ts(int64_t ms_from_now) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms_from_now / 1000;
    ts.tv_nsec += (ms_from_now % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

/* max.block.ms from the start of a send, read from the clock only when the send has to wait:
 * the common send never waits, and a clock read per record is measurable (~25 ns here). */
typedef struct ml_block {
    int64_t ms;
    int set;
    struct timespec ts;
} ml_block;

static const struct timespec *block_deadline(ml_block *b) {
    if (!b->set) {
        b->ts = deadline_ts(b->ms);
        b->set = 1;
    }
    return &b->ts;
}

/* Under p->mu: waits until the topic has partitions, up to the deadline. */
static int wait_metadata(moonlog_producer *p, ml_topic **topic, const char *name, ml_block *dl,
                         moonlog_error *err) {
    ml_topic *t = ml_acc_topic(p, name, 1);
    if (!t) return ml_error_set(err, MOONLOG_ERR_BUFFER_EXHAUSTED, "out of memory");
    while (t->n_partitions == 0) {
        if (p->closing) return ml_error_set(err, MOONLOG_ERR_CLOSED, "the producer is closing");
        if (!atomic_load(&p->metadata_wanted)) {
            atomic_store(&p->metadata_wanted, 1);
            p->metadata_next_ms = 0;
        }
        ml_sender_wake(p);
        if (pthread_cond_timedwait(&p->meta_cv, &p->mu, block_deadline(dl)) == ETIMEDOUT && t->n_partitions == 0)
            return ml_error_set(err, MOONLOG_ERR_UNKNOWN_TOPIC,
                                "topic %s not present in metadata after max.block.ms (%lld ms)%s%s", name,
                                (long long)p->conf.max_block_ms, t->error ? ": " : "",
                                t->error ? ml_kafka_error_name(t->error) : "");
    }
    *topic = t;
    return 0;
}

static int32_t ops_partition_count(void *ctx, const char *topic) {
    moonlog_producer *p = ctx;
    pthread_mutex_lock(&p->mu);
    ml_topic *t = ml_acc_topic(p, topic, 0);
    int32_t n = t && t->n_partitions > 0 ? t->n_partitions : -1;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static int ops_available(void *ctx, const char *topic, int32_t partition) {
    moonlog_producer *p = ctx;
    pthread_mutex_lock(&p->mu);
    ml_topic *t = ml_acc_topic(p, topic, 0);
    int ok = t && partition >= 0 && partition < t->n_partitions && t->parts[partition]->leader >= 0;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

static ml_tp *ops_tp(moonlog_producer *p, const char *topic, int32_t partition) {
    ml_topic *t = ml_acc_topic(p, topic, 0);
    return t && partition >= 0 && partition < t->n_partitions ? t->parts[partition] : NULL;
}

static int64_t ops_queued_bytes(void *ctx, const char *topic, int32_t partition) {
    moonlog_producer *p = ctx;
    pthread_mutex_lock(&p->mu);
    ml_tp *tp = ops_tp(p, topic, partition);
    int64_t v = tp ? tp->queued_bytes : 0;
    pthread_mutex_unlock(&p->mu);
    return v;
}

static double ops_latency_ms(void *ctx, const char *topic, int32_t partition) {
    moonlog_producer *p = ctx;
    pthread_mutex_lock(&p->mu);
    ml_tp *tp = ops_tp(p, topic, partition);
    double v = tp ? tp->latency_ms : -1;
    pthread_mutex_unlock(&p->mu);
    return v;
}

void ml_producer_cluster_ops(moonlog_producer *p, ml_cluster_ops *ops) {
    *ops = (ml_cluster_ops){ops_partition_count, ops_available, ops_queued_bytes, ops_latency_ms, p};
}

/* The built-in partitioner (under p->mu): murmur2 of the key as the Java client; keyless records
 * stick to one partition until its batch is full (switched in send_record). */
static int32_t builtin_partition(ml_topic *t, const void *key, int32_t key_len) {
    if (key) return moonlog_murmur2_partition(key, key_len, t->n_partitions);
    if (t->sticky < 0 || t->sticky >= t->n_partitions) {
        int32_t avail[64], n = 0;
        for (int32_t i = 0; i < t->n_partitions && n < 64; i++)
            if (t->parts[i]->leader >= 0) avail[n++] = i;
        t->sticky = n ? avail[random() % n] : (int32_t)(random() % t->n_partitions);
    }
    return t->sticky;
}

typedef struct ml_bytes {
    const uint8_t *p;
    int32_t len;
    uint8_t *owned;
} ml_bytes;

static int serialize(moonlog_plugin *pl, const char *topic, const void *v, int32_t len, const moonlog_record *rec,
                     int copy, ml_bytes *out, moonlog_error *err) {
    out->owned = NULL;
    if (!pl) {
        out->p = v;
        out->len = v ? len : -1;
        return 0;
    }
    const uint8_t *res;
    int32_t rlen;
    int rc = ml_plugin_serialize(pl, topic, v, v ? len : -1, rec->headers, rec->n_headers, &res, &rlen, err);
    if (rc != 0) return rc;
    out->p = res;
    out->len = rlen;
    if (copy && res) { /* the result lives only until this thread's next plugin call */
        out->owned = malloc((size_t)rlen + 1);
        if (!out->owned) return ml_error_set(err, MOONLOG_ERR_SERIALIZATION, "out of memory");
        memcpy(out->owned, res, (size_t)rlen);
        out->p = out->owned;
    }
    return 0;
}

/* Under p->mu: gives back the memory of a record that was not accepted after all. */
static void release_locked(moonlog_producer *p, size_t mem) {
    p->buffer_used -= (int64_t)mem;
    pthread_cond_broadcast(&p->mem_cv);
}

static int send_record(moonlog_producer *p, const moonlog_record *rec, ml_prec *prec, moonlog_error *err) {
    if (!rec || !rec->topic || !rec->topic[0])
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "a record needs a topic");
    if ((rec->key && rec->key_len < 0) || (rec->value && rec->value_len < 0) || rec->n_headers < 0)
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "negative key, value or header count");
    for (int32_t i = 0; i < rec->n_headers; i++)
        if (!rec->headers[i].key) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "header %d has a NULL key", i);
    /* On the I/O thread (a delivery callback sending) nothing may wait: it is what would wake us. */
    int on_io_thread = p->thread_started && pthread_equal(pthread_self(), p->thread);
    ml_block dl = {on_io_thread ? 0 : p->conf.max_block_ms, 0, {0, 0}};
    ml_bytes key, value;
    int rc = serialize(p->key_ser, rec->topic, rec->key, rec->key_len, rec, 1, &key, err);
    if (rc != 0) return rc;
    rc = serialize(p->value_ser, rec->topic, rec->value, rec->value_len, rec, 0, &value, err);
    if (rc != 0) goto out;
    prec->timestamp = rec->timestamp >= 0 ? rec->timestamp : ml_wall_ms();
    const void *kp = key.len >= 0 ? key.p : NULL;
    size_t mem = ml_acc_record_size(kp, key.len, value.len >= 0 ? value.p : NULL, value.len, rec->headers,
                                    rec->n_headers);
    /* as the Java client: the record in a batch of its own (61-byte header) must fit */
    size_t wire = mem - sizeof(ml_prec) + ML_RB_HEADER_SIZE;
    if (wire > (size_t)p->conf.max_request_size || (int64_t)mem > p->conf.buffer_memory) {
        rc = ml_error_set(err, ML_KERR_MESSAGE_TOO_LARGE,
                          "the record is about %zu bytes in a batch, more than max.request.size (%d) or "
                          "buffer.memory (%lld)",
                          wire, p->conf.max_request_size, (long long)p->conf.buffer_memory);
        goto out;
    }

    int staged = rec->partition == MOONLOG_PARTITION_ANY && p->partitioner;
    const void *vp = value.len >= 0 ? value.p : NULL;
    ml_stage *s = NULL;
    if (staged) {
        int now = ml_stage_try(p, rec->topic, prec, mem, kp, key.len, vp, value.len, rec->headers, rec->n_headers, &s);
        if (now != ML_STAGE_LOCKED) {
            if (now < 0) rc = ml_error_set(err, now, "out of memory staging a record of %s", rec->topic);
            else if (now || prec->mode == ML_DELIVER_SYNC || on_io_thread) ml_stage_drain(p, s);
            goto out;
        }
    }
    /* a record with its own partition goes behind what this thread staged before it */
    if (p->partitioner && !staged) ml_stage_drain_own(p);
    pthread_mutex_lock(&p->mu);
    ml_topic *t = NULL;
    rc = wait_metadata(p, &t, rec->topic, &dl, err);
    int32_t n = rc == 0 ? t->n_partitions : 0;
    int32_t part = rec->partition;
    prec->generation = 0;
    if (rc == 0 && part != MOONLOG_PARTITION_ANY && (part < 0 || part >= n))
        rc = ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "partition %d of %s does not exist (0..%d)", part, rec->topic,
                          n - 1);
    if (rc != 0) {
        pthread_mutex_unlock(&p->mu);
        goto out;
    }
    int taken = 0;
    while (!p->closing && !(taken = ml_buffer_take(p, (int64_t)mem))) {
        ml_sender_wake(p);
        if (pthread_cond_timedwait(&p->mem_cv, &p->mu, block_deadline(&dl)) == ETIMEDOUT && !p->closing &&
            !(taken = ml_buffer_take(p, (int64_t)mem))) {
            pthread_mutex_unlock(&p->mu);
            rc = ml_error_set(err, MOONLOG_ERR_BUFFER_EXHAUSTED,
                              "buffer.memory (%lld bytes) stayed full for max.block.ms (%lld ms)",
                              (long long)p->conf.buffer_memory, (long long)p->conf.max_block_ms);
            goto out;
        }
    }
    if (p->closing) {
        if (taken) release_locked(p, mem);
        pthread_mutex_unlock(&p->mu);
        rc = ml_error_set(err, MOONLOG_ERR_CLOSED, "the producer is closing");
        goto out;
    }
    if (staged) {
        if (!s) s = ml_stage_get(p);
        int now = s ? ml_stage_push(p, s, t, prec, mem, kp, key.len, vp, value.len, rec->headers, rec->n_headers)
                    : MOONLOG_ERR_BUFFER_EXHAUSTED;
        if (now < 0) release_locked(p, mem);
        pthread_mutex_unlock(&p->mu);
        if (now < 0) rc = ml_error_set(err, now, "out of memory staging a record of %s", rec->topic);
        else if (now || prec->mode == ML_DELIVER_SYNC || on_io_thread) ml_stage_drain(p, s);
        goto out;
    }
    if (part == MOONLOG_PARTITION_ANY) part = builtin_partition(t, kp, key.len);
    int new_batch = 0, full = 0;
    rc = ml_acc_append(p, t->parts[part], kp, key.len, vp, value.len, rec->headers, rec->n_headers, prec, mem,
                       &new_batch, &full);
    if (rc == 0) {
        p->pending++;
        if (full && !kp && rec->partition == MOONLOG_PARTITION_ANY && t->sticky == part)
            t->sticky = -1; /* the built-in sticky partitioner moves on */
    } else {
        release_locked(p, mem);
        ml_error_set(err, rc, "out of memory appending to %s-%d", rec->topic, part);
    }
    pthread_mutex_unlock(&p->mu);
    if (rc == 0 && (new_batch || full)) ml_sender_wake(p);
out:
    free(key.owned);
    return rc;
}

int moonlog_producer_send(moonlog_producer *p, const moonlog_record *rec, moonlog_delivery_cb cb, void *opaque,
                          moonlog_error *err) {
    ml_prec prec = {0, 0, cb ? ML_DELIVER_CB : ML_DELIVER_NONE, cb, opaque, 0};
    return send_record(p, rec, &prec, err);
}

int moonlog_producer_send_queued(moonlog_producer *p, const moonlog_record *rec, uint64_t token, moonlog_error *err) {
    ml_prec prec = {0, 0, ML_DELIVER_QUEUE, NULL, NULL, token};
    return send_record(p, rec, &prec, err);
}

int moonlog_producer_send_sync(moonlog_producer *p, const moonlog_record *rec, moonlog_record_metadata *md,
                               moonlog_error *err) {
    ml_sync s;
    memset(&s, 0, sizeof s);
    ml_prec prec = {0, 0, ML_DELIVER_SYNC, NULL, &s, 0};
    int rc = send_record(p, rec, &prec, err);
    if (rc != 0) return rc;
    pthread_mutex_lock(&p->mu);
    p->flushing++; /* no reason to wait for linger.ms */
    pthread_mutex_unlock(&p->mu);
    ml_sender_wake(p);
    pthread_mutex_lock(&p->mu);
    while (!s.done) pthread_cond_wait(&p->done_cv, &p->mu);
    p->flushing--;
    pthread_mutex_unlock(&p->mu);
    if (md) *md = s.md;
    if (s.err.code != 0) {
        if (err) *err = s.err;
        return s.err.code;
    }
    return 0;
}

int moonlog_producer_poll(moonlog_producer *p, moonlog_delivery *out, int max) {
    pthread_mutex_lock(&p->q_mu);
    int n = p->q_len < max ? p->q_len : max;
    if (n > 0) {
        memcpy(out, p->q, (size_t)n * sizeof *out);
        memmove(p->q, p->q + n, (size_t)(p->q_len - n) * sizeof *p->q);
        p->q_len -= n;
    }
    pthread_mutex_unlock(&p->q_mu);
    return n;
}

/* Under p->mu: waits until nothing is pending; 0 or MOONLOG_ERR_TIMED_OUT. */
static int wait_drained(moonlog_producer *p, int64_t timeout_ms) {
    struct timespec dl = deadline_ts(timeout_ms < 0 ? 0 : timeout_ms);
    while (p->pending > 0) {
        if (timeout_ms < 0) pthread_cond_wait(&p->done_cv, &p->mu);
        else if (pthread_cond_timedwait(&p->done_cv, &p->mu, &dl) == ETIMEDOUT && p->pending > 0)
            return MOONLOG_ERR_TIMED_OUT;
    }
    return 0;
}

int moonlog_producer_flush(moonlog_producer *p, int64_t timeout_ms) {
    ml_stage_drain_own(p); /* the rest of the lists: the I/O thread, now that flushing is set */
    pthread_mutex_lock(&p->mu);
    p->flushing++;
    pthread_mutex_unlock(&p->mu);
    ml_sender_wake(p);
    pthread_mutex_lock(&p->mu);
    int rc = wait_drained(p, timeout_ms);
    p->flushing--;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int moonlog_producer_stop(moonlog_producer *p, int64_t timeout_ms) {
    if (p->stopped) return 0;
    ml_stage_drain_own(p);
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_cond_broadcast(&p->meta_cv);
    pthread_cond_broadcast(&p->mem_cv);
    pthread_mutex_unlock(&p->mu);
    ml_sender_wake(p);
    pthread_mutex_lock(&p->mu);
    int rc = wait_drained(p, timeout_ms);
    if (rc != 0) {
        p->aborting = 1;
        pthread_mutex_unlock(&p->mu);
        ml_sender_wake(p);
        pthread_mutex_lock(&p->mu);
        wait_drained(p, -1);
    }
    pthread_mutex_unlock(&p->mu);
    ml_sender_join(p);
    p->stopped = 1;
    return rc;
}

int moonlog_producer_close_timeout(moonlog_producer *p, int64_t timeout_ms) {
    if (!p) return 0;
    int rc = moonlog_producer_stop(p, timeout_ms);
    producer_free(p);
    return rc;
}

void moonlog_producer_close(moonlog_producer *p) { moonlog_producer_close_timeout(p, -1); }

int64_t moonlog_producer_counter(moonlog_producer *p, const char *name) {
    if (strcmp(name, "records.sent") == 0) return atomic_load(&p->n.sent);
    if (strcmp(name, "records.failed") == 0) return atomic_load(&p->n.failed);
    if (strcmp(name, "records.retried") == 0) return atomic_load(&p->n.retried);
    if (strcmp(name, "requests.sent") == 0) return atomic_load(&p->n.requests);
    if (strcmp(name, "buffer.used") == 0) {
        return atomic_load(&p->buffer_used);
    }
    static const char *const pnames[][2] = {{"plugin.errors", "errors"},
                                            {"plugin.timeouts", "timeouts"},
                                            {"plugin.reloads", "reloads"},
                                            {"plugin.reload.failures", "reload.failures"}};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, pnames[i][0]) != 0) continue;
        moonlog_plugin *pls[] = {p->partitioner, p->key_ser, p->value_ser, p->retry};
        int64_t v = 0;
        for (int k = 0; k < 4; k++)
            if (pls[k]) v += moonlog_plugin_counter(pls[k], pnames[i][1]);
        return v;
    }
    return -1;
}
