/* The producer's I/O thread: one libevent loop that drains ready batches to their leaders,
 * keeps metadata fresh, retries what failed with a retriable error, expires what passed
 * delivery.timeout.ms, hot-reloads plugins, and completes every record exactly once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "client/client_error.h"
#include "client/producer_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "lua/hot_reload.h"
#include "lua/plugin.h"

void ml_sender_wake(moonlog_producer *p) {
    if (atomic_exchange(&p->wake_pending, 1)) return;
    uint64_t one = 1;
    ssize_t rc = write(p->wake_fd, &one, sizeof one);
    (void)rc;
}

static void deliver_one(moonlog_producer *p, const ml_prec *pr, const moonlog_record_metadata *md,
                        const moonlog_error *err) {
    switch (pr->mode) {
    case ML_DELIVER_CB:
        pr->cb(md, err, pr->opaque);
        break;
    case ML_DELIVER_QUEUE:
        pthread_mutex_lock(&p->q_mu);
        if (p->q_len == p->q_cap) {
            int cap = p->q_cap ? p->q_cap * 2 : 1024;
            moonlog_delivery *q = realloc(p->q, (size_t)cap * sizeof *q);
            if (!q) {
                pthread_mutex_unlock(&p->q_mu);
                ml_error("producer: out of memory queueing a delivery report (token %llu)",
                         (unsigned long long)pr->token);
                return;
            }
            p->q = q;
            p->q_cap = cap;
        }
        moonlog_delivery *d = &p->q[p->q_len++];
        memset(d, 0, sizeof *d);
        d->token = pr->token;
        d->partition = md->partition;
        d->offset = md->offset;
        d->timestamp = md->timestamp;
        d->partitioner_generation = md->partitioner_generation;
        if (err) d->error = *err;
        pthread_mutex_unlock(&p->q_mu);
        break;
    case ML_DELIVER_SYNC: {
        ml_sync *s = pr->opaque;
        pthread_mutex_lock(&p->mu);
        s->md = *md;
        s->md.topic = NULL;
        if (err) s->err = *err;
        s->done = 1;
        pthread_cond_broadcast(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
        break;
    }
    default:
        break;
    }
}

void ml_sender_complete(moonlog_producer *p, ml_batch *b, int64_t base_offset, int64_t log_append_time,
                        const moonlog_error *err) {
    moonlog_record_metadata md = {b->tp->topic->name, b->tp->partition, -1, -1, 0};
    for (int32_t i = 0; i < b->count; i++) {
        const ml_prec *pr = &b->precs[i];
        md.offset = err || base_offset < 0 ? -1 : base_offset + i;
        md.timestamp = log_append_time >= 0 ? log_append_time : pr->timestamp;
        md.partitioner_generation = pr->generation;
        deliver_one(p, pr, &md, err);
    }
    if (err) {
        atomic_fetch_add_explicit(&p->n.failed, b->count, memory_order_relaxed);
        ml_debug("producer: %d record(s) to %s-%d failed: %s", b->count, b->tp->topic->name, b->tp->partition,
                 err->message);
    } else {
        atomic_fetch_add_explicit(&p->n.sent, b->count, memory_order_relaxed);
    }
    pthread_mutex_lock(&p->mu);
    if (b->in_flight) b->tp->in_flight--;
    p->buffer_used -= (int64_t)b->mem;
    p->pending -= b->count;
    pthread_cond_broadcast(&p->mem_cv);
    pthread_cond_broadcast(&p->done_cv);
    ml_acc_batch_recycle(p, b);
    pthread_mutex_unlock(&p->mu);
}

/* Completes the records the partitioner failed after send() accepted them (staging.c). */
static void deliver_failed(moonlog_producer *p) {
    pthread_mutex_lock(&p->mu);
    ml_failed *f = p->failed;
    int n = p->n_failed;
    p->failed = NULL;
    p->n_failed = p->cap_failed = 0;
    pthread_mutex_unlock(&p->mu);
    if (n == 0) return;
    int64_t mem = 0;
    for (int i = 0; i < n; i++) {
        moonlog_record_metadata md = {f[i].topic, -1, -1, f[i].prec.timestamp, f[i].prec.generation};
        deliver_one(p, &f[i].prec, &md, &f[i].err);
        mem += (int64_t)f[i].mem;
    }
    free(f);
    atomic_fetch_add_explicit(&p->n.failed, n, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    p->buffer_used -= mem;
    p->pending -= n;
    pthread_cond_broadcast(&p->mem_cv);
    pthread_cond_broadcast(&p->done_cv);
    pthread_mutex_unlock(&p->mu);
}

static void fail_batch(moonlog_producer *p, ml_batch *b, int code, const char *fmt, const char *why) {
    moonlog_error e;
    ml_error_set(&e, code, fmt, b->count, b->tp->topic->name, b->tp->partition, why);
    ml_sender_complete(p, b, -1, -1, &e);
}

/* KIP-580: retry.backoff.ms * 2^(attempt-1), at most retry.backoff.max.ms, +-20% jitter. */
static int64_t default_backoff(moonlog_producer *p, int attempt) {
    double d = (double)p->conf.retry_backoff_ms;
    for (int i = 1; i < attempt && d < (double)p->conf.retry_backoff_max_ms; i++) d *= 2;
    if (d > (double)p->conf.retry_backoff_max_ms) d = (double)p->conf.retry_backoff_max_ms;
    double jitter = d * 0.2 * (2.0 * (double)(random() % 10001) / 10000.0 - 1.0);
    return (int64_t)(d + jitter);
}

void ml_sender_retry_or_fail(moonlog_producer *p, ml_batch *b, int code, const char *msg) {
    int64_t now = ml_mono_ms();
    int64_t elapsed = now - b->created_ms;
    static const char fmt[] = "%d record(s) for %s-%d: %s";
    if (!ml_error_retriable(code) || code == MOONLOG_ERR_CLOSED) {
        fail_batch(p, b, code, fmt, msg);
        return;
    }
    pthread_mutex_lock(&p->mu);
    int aborting = p->aborting;
    pthread_mutex_unlock(&p->mu);
    if (aborting) {
        fail_batch(p, b, MOONLOG_ERR_TIMED_OUT, "%d record(s) for %s-%d failed at close(timeout)'s deadline: %s", msg);
        return;
    }
    if (b->attempts > p->conf.retries) {
        char why[300];
        snprintf(why, sizeof why, "%s (retries=%d exhausted)", msg, p->conf.retries);
        fail_batch(p, b, code, fmt, why);
        return;
    }
    if (elapsed >= p->conf.delivery_timeout_ms) {
        fail_batch(p, b, MOONLOG_ERR_TIMED_OUT, "%d record(s) for %s-%d expired after delivery.timeout.ms: %s", msg);
        return;
    }
    int64_t delay;
    if (p->retry) {
        moonlog_error e;
        if (moonlog_plugin_retry(p->retry, b->attempts, code, elapsed, b->tp->topic->name, b->tp->partition, &delay,
                                 &e) != 0) {
            fail_batch(p, b, e.code, fmt, e.message);
            return;
        }
        if (delay < 0) {
            char why[300];
            snprintf(why, sizeof why, "%s (the retry policy gave up)", msg);
            fail_batch(p, b, code, fmt, why);
            return;
        }
    } else {
        delay = default_backoff(p, b->attempts);
    }
    atomic_fetch_add_explicit(&p->n.retried, 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    ml_tp *tp = b->tp;
    tp->in_flight--;
    b->in_flight = 0;
    b->ready_ms = now + delay;
    b->next = tp->head;
    tp->head = b;
    if (!tp->tail) tp->tail = b;
    tp->queued_bytes += (int64_t)b->mem;
    if (code == ML_KERR_NOT_LEADER_OR_FOLLOWER || code == ML_KERR_LEADER_NOT_AVAILABLE ||
        code == ML_KERR_UNKNOWN_TOPIC_OR_PARTITION || code == ML_KERR_NETWORK_EXCEPTION ||
        code == ML_KERR_REQUEST_TIMED_OUT)
        atomic_store(&p->metadata_wanted, 1);
    pthread_mutex_unlock(&p->mu);
}

/* ---- the drain ---------------------------------------------------------------------------- */

typedef struct ml_drain {
    ml_batch **batches;
    int n, cap;
    size_t bytes;
} ml_drain;

static ml_conn *node_conn(moonlog_producer *p, ml_node *n) {
    if (!n->conn) n->conn = ml_conn_new(p, n);
    return n->conn;
}

static int list_push(ml_batch ***list, int *n, int *cap, ml_batch *b) {
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 16;
        ml_batch **l = realloc(*list, (size_t)c * sizeof *l);
        if (!l) return -1;
        *list = l;
        *cap = c;
    }
    (*list)[(*n)++] = b;
    return 0;
}

static int64_t min_deadline(int64_t a, int64_t b) { return a < 0 || (b >= 0 && b < a) ? b : a; }

/* Under p->mu: takes expired batches (to fail) and ready batches (per node) out of the queues.
 * Returns the next time something becomes due (-1: nothing). */
static int64_t drain_locked(moonlog_producer *p, int64_t now, ml_drain *per_node, ml_batch ***expired, int *n_exp,
                            int *cap_exp) {
    int64_t next = -1;
    int all_ready = p->flushing || p->closing;
    for (ml_topic *t = p->topics; t; t = t->next) {
        for (int32_t i = 0; i < t->n_partitions; i++) {
            ml_tp *tp = t->parts[i];
            /* expire from the head: batches are in creation order (a retried one is older) */
            while (tp->head && now - tp->head->created_ms >= p->conf.delivery_timeout_ms) {
                ml_batch *b = tp->head;
                tp->head = b->next;
                if (!tp->head) tp->tail = NULL;
                b->next = NULL;
                tp->queued_bytes -= (int64_t)b->mem;
                list_push(expired, n_exp, cap_exp, b);
            }
            ml_batch *b;
            while ((b = tp->head)) {
                next = min_deadline(next, b->created_ms + p->conf.delivery_timeout_ms);
                int64_t due = b->wire ? b->ready_ms : (b->full || all_ready ? now : b->created_ms + p->conf.linger_ms);
                if (b->next && !b->wire) due = now; /* a later batch exists: this one is complete */
                if (due > now) {
                    next = min_deadline(next, due);
                    break;
                }
                if (tp->leader < 0) break; /* waiting for metadata */
                if (p->conf.max_in_flight == 1 && tp->in_flight > 0) break; /* order across retries */
                ml_node *n = ml_metadata_node(p, tp->leader);
                if (!n) break;
                int ni = (int)(n - p->nodes);
                ml_conn *c = node_conn(p, n);
                if (!c) break;
                if (!ml_conn_ready(c)) {
                    ml_conn_connect(c, n->host, n->port, now);
                    next = min_deadline(next, now + p->conf.reconnect_backoff_ms);
                    break;
                }
                ml_drain *d = &per_node[ni];
                if (d->n == 0 && (ml_conn_in_flight(c) >= p->conf.max_in_flight || !ml_conn_writable(c))) break;
                size_t sz = b->wire ? b->wire_len : b->recs.len;
                if (d->n > 0 && d->bytes + sz > (size_t)p->conf.max_request_size) {
                    next = now;
                    break;
                }
                if (list_push(&d->batches, &d->n, &d->cap, b) != 0) break;
                d->bytes += sz;
                tp->head = b->next;
                if (!tp->head) tp->tail = NULL;
                b->next = NULL;
                b->full = 1;
                b->in_flight = 1;
                tp->in_flight++;
                tp->queued_bytes -= (int64_t)b->mem;
                break; /* one batch per partition per request (the response names partitions, not batches) */
            }
        }
    }
    return next;
}


/* Sends a Metadata request when one is wanted, connecting to some broker first if needed. */
static void metadata_maybe(moonlog_producer *p, int64_t now) {
    if (p->metadata_in_flight) return;
    pthread_mutex_lock(&p->mu);
    int want = (atomic_load(&p->metadata_wanted) && now >= p->metadata_next_ms) ||
               (p->topics && now - p->metadata_last_ms >= p->conf.metadata_max_age_ms);
    ml_conn *ready = NULL;
    if (want) {
        for (int i = 0; i < p->n_nodes && !ready; i++)
            if (p->nodes[i].conn && ml_conn_ready(p->nodes[i].conn)) ready = p->nodes[i].conn;
        if (!ready) {
            /* connect to the next broker in turn: the ones metadata named, else the bootstrap list */
            int known = p->n_nodes - p->n_bootstrap;
            int lo = known > 0 ? p->n_bootstrap : 0, cnt = known > 0 ? known : p->n_bootstrap;
            int connecting = 0;
            for (int i = lo; i < lo + cnt; i++)
                if (p->nodes[i].conn && ml_conn_connecting(p->nodes[i].conn)) connecting = 1;
            if (!connecting && cnt > 0) {
                for (int k = 0; k < cnt; k++) {
                    ml_node *n = &p->nodes[lo + (p->bootstrap_next++ % cnt)];
                    ml_conn *c = node_conn(p, n);
                    if (c && !ml_conn_failed_recently(c, now)) {
                        ml_conn_connect(c, n->host, n->port, now);
                        break;
                    }
                }
            }
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (ready) {
        pthread_mutex_lock(&p->mu);
        p->metadata_next_ms = now + p->conf.retry_backoff_ms;
        pthread_mutex_unlock(&p->mu);
        ml_conn_send_metadata(ready);
    }
}

static void arm_timer(moonlog_producer *p, int64_t next, int64_t now) {
    int64_t ms = next < 0 ? 100 : next - now;
    if (ms < 0) ms = 0;
    if (ms > 100) ms = 100; /* request timeouts, reconnects and metadata are checked at least this often */
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(p->timer_ev, &tv);
}

static void fail_everything_left(moonlog_producer *p) {
    /* close(timeout)'s deadline: fail queued batches; in-flight ones fail with their connections */
    for (int i = 0; i < p->n_nodes; i++)
        if (p->nodes[i].conn) ml_conn_close(p->nodes[i].conn, MOONLOG_ERR_TIMED_OUT, "close(timeout) deadline");
    ml_batch **list = NULL;
    int n = 0, cap = 0;
    pthread_mutex_lock(&p->mu);
    for (ml_topic *t = p->topics; t; t = t->next)
        for (int32_t i = 0; i < t->n_partitions; i++) {
            ml_tp *tp = t->parts[i];
            while (tp->head) {
                ml_batch *b = tp->head;
                tp->head = b->next;
                b->next = NULL;
                tp->queued_bytes -= (int64_t)b->mem;
                if (list_push(&list, &n, &cap, b) != 0) break;
            }
            if (!tp->head) tp->tail = NULL;
        }
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n; i++)
        fail_batch(p, list[i], MOONLOG_ERR_TIMED_OUT, "%d record(s) for %s-%d: %s",
                   "not delivered by close(timeout)'s deadline");
    free(list);
}

/* One round: fails expired batches, takes at most one ready batch per partition and sends one
 * Produce request per broker. Returns 1 when it sent something, *next the next due time. */
static int drain_round(moonlog_producer *p, int64_t now, int64_t *next) {
    ml_batch **expired = NULL;
    int n_exp = 0, cap_exp = 0;
    pthread_mutex_lock(&p->mu);
    int n_nodes = p->n_nodes;
    ml_drain *per_node = calloc((size_t)(n_nodes ? n_nodes : 1), sizeof *per_node);
    *next = per_node ? drain_locked(p, now, per_node, &expired, &n_exp, &cap_exp) : now + 10;
    pthread_mutex_unlock(&p->mu);

    for (int i = 0; i < n_exp; i++)
        fail_batch(p, expired[i], MOONLOG_ERR_TIMED_OUT, "%d record(s) for %s-%d: %s",
                   "expired: delivery.timeout.ms passed before the broker acknowledged them");
    free(expired);
    int sent = 0;
    for (int i = 0; per_node && i < n_nodes; i++) {
        ml_drain *d = &per_node[i];
        if (d->n == 0) continue;
        int kept = 0;
        for (int k = 0; k < d->n; k++) {
            ml_batch *b = d->batches[k];
            moonlog_error e;
            b->attempts++;
            if (ml_acc_build(p, b, &e) != 0) {
                fail_batch(p, b, e.code, "%d record(s) for %s-%d: %s", e.message);
                continue;
            }
            d->batches[kept++] = b;
        }
        if (kept > 0) {
            ml_conn_send_produce(p->nodes[i].conn, d->batches, kept); /* takes the list */
            sent = 1;
        } else {
            free(d->batches);
        }
    }
    free(per_node);
    return sent;
}

void ml_sender_run(moonlog_producer *p) {
    int64_t now = ml_mono_ms();
    pthread_mutex_lock(&p->mu);
    int aborting = p->aborting, stopping = p->stopping;
    int n_nodes = p->n_nodes;
    pthread_mutex_unlock(&p->mu);
    if (stopping) {
        event_base_loopbreak(p->base);
        return;
    }
    /* staged records first: partitioned, they join the batches drained (or failed) below */
    int64_t next = -1;
    ml_stage_run(p, now, &next);
    deliver_failed(p);
    if (aborting) fail_everything_left(p);
    for (int i = 0; i < n_nodes; i++)
        if (p->nodes[i].conn) ml_conn_check_timeouts(p->nodes[i].conn, now);
    metadata_maybe(p, now);
    /* several requests per broker when max.in.flight allows: each round takes the next batch of
     * every partition (drain_locked stops at a connection's max.in.flight) */
    for (int round = 0; round < p->conf.max_in_flight; round++)
        if (!drain_round(p, now, &next)) break;
    arm_timer(p, next, now);
}

static void on_wake(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    moonlog_producer *p = arg;
    uint64_t v;
    ssize_t rc = read(fd, &v, sizeof v);
    (void)rc;
    atomic_store(&p->wake_pending, 0);
    ml_sender_run(p);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    ml_sender_run(arg);
}

static void *io_thread(void *arg) {
    moonlog_producer *p = arg;
    event_base_dispatch(p->base);
    /* stopping: every record was completed (or failed) before stopping was set */
    for (int i = 0; i < p->n_nodes; i++) {
        ml_conn_free(p->nodes[i].conn);
        p->nodes[i].conn = NULL;
    }
    return NULL;
}

int ml_sender_start(moonlog_producer *p, moonlog_error *err) {
    p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->wake_fd < 0) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "eventfd: %s", strerror(errno));
    p->base = event_base_new();
    if (!p->base) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "cannot create an event base");
    p->wake_ev = event_new(p->base, p->wake_fd, EV_READ | EV_PERSIST, on_wake, p);
    p->timer_ev = evtimer_new(p->base, on_timer, p);
    if (!p->wake_ev || !p->timer_ev) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "cannot create events");
    event_add(p->wake_ev, NULL);
    struct timeval zero = {0, 0};
    evtimer_add(p->timer_ev, &zero);
    moonlog_plugin *pls[] = {p->partitioner, p->key_ser, p->value_ser, p->retry};
    p->reload = ml_hot_reload_start(p->base, pls, 4, p->conf.plugin_reload_interval_ms);
    if (pthread_create(&p->thread, NULL, io_thread, p) != 0)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "cannot start the I/O thread");
    p->thread_started = 1;
    return 0;
}

void ml_sender_join(moonlog_producer *p) {
    if (p->thread_started) {
        pthread_mutex_lock(&p->mu);
        p->stopping = 1;
        pthread_mutex_unlock(&p->mu);
        atomic_store(&p->wake_pending, 0);
        ml_sender_wake(p);
        pthread_join(p->thread, NULL);
        p->thread_started = 0;
    }
    ml_hot_reload_stop(p->reload);
    p->reload = NULL;
    if (p->timer_ev) event_free(p->timer_ev);
    if (p->wake_ev) event_free(p->wake_ev);
    if (p->base) event_base_free(p->base);
    if (p->wake_fd > 0) close(p->wake_fd);
    p->timer_ev = p->wake_ev = NULL;
    p->base = NULL;
    p->wake_fd = -1;
}
