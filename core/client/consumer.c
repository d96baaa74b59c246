/* The consumer's public API (core/include/moonlog/consumer.h): create, assign, poll, seek,
 * position, close. Everything on the network is the I/O thread's (fetcher.c); poll hands out the
 * records it queued. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client_error.h"
#include "client/consumer_assignor.h"
#include "moonlog/plugin.h"
#include "client/consumer_int.h"
#include "common/clock.h"
#include "common/error.h"

/* Fills `e` for the consumer's own codes (moonlog_err_name does not know them). */
static int cerr(moonlog_error *e, int code, const char *name, const char *msg) {
    ml_error_set(e, code, "%s", msg);
    if (e) snprintf(e->name, sizeof e->name, "%s", name);
    return code;
}

static int check_thread(moonlog_consumer *c, moonlog_error *err) {
    if (!c->owned) {
        c->owner = pthread_self();
        c->owned = 1;
        return 0;
    }
    if (pthread_equal(c->owner, pthread_self())) return 0;
    return cerr(err, MOONLOG_ERR_WRONG_THREAD, "WRONG_THREAD",
                "a consumer is used from one thread: this call came from another one and was refused");
}

/* poll, subscribe, assign and close are refused inside a rebalance listener (as Java's). */
static int check_outside_listener(moonlog_consumer *c, const char *what, moonlog_error *err) {
    int rc = check_thread(c, err);
    if (rc || !c->in_listener) return rc;
    return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "%s cannot be called inside a rebalance listener", what);
}

static void consumer_free(moonlog_consumer *c) {
    ml_fetcher_stop(c);
    ml_deserializers_close(c);
    ml_group_leave(c);
    ml_group_close(c);
    ml_assignors_close(c);
    ml_rebalance_free(c);
    ml_strings_free(c->sub_topics, c->n_sub);
    ml_strings_free(c->out_topics, c->n_out_topics);
    ml_pattern_free(c->sub_regex);
    free(c->sub_pattern);
    free(c->member_id);
    while (c->head) {
        ml_chunk *ch = c->head;
        c->head = ch->next;
        ml_chunk_free(ch);
    }
    while (c->done) {
        ml_chunk *ch = c->done;
        c->done = ch->next;
        ml_chunk_free(ch);
    }
    while (c->tps) {
        ml_ctp *tp = c->tps;
        c->tps = tp->next;
        free(tp->topic);
        free(tp);
    }
    free(c->nodes);
    free(c->out);
    ml_cconf_free(&c->conf);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->io_cv);
    pthread_cond_destroy(&c->data_cv);
    free(c);
}

int moonlog_consumer_new(const moonlog_consumer_config *cfg, moonlog_consumer **out, moonlog_error *err) {
    if (ml_cconf_check(&cfg->c, err) != 0) return MOONLOG_ERR_INVALID_CONFIG;
    moonlog_consumer *c = calloc(1, sizeof *c);
    if (!c) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->io_cv, &ca);
    pthread_cond_init(&c->data_cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = ml_cconf_copy(&c->conf, &cfg->c);
    if (rc == 0) c->out = calloc((size_t)c->conf.max_poll_records, sizeof *c->out);
    c->member_id = strdup("");
    c->generation = -1;
    c->joined_sub_epoch = -1;
    if (rc != 0 || !c->out || !c->member_id) {
        consumer_free(c);
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
    }
    c->out_cap = c->conf.max_poll_records;
    const char *const *given = (const char *const *)cfg->given; /* what the plugins read as moonlog.config */
    if ((rc = ml_deserializers_open(c, given, err)) != 0 ||
        (c->conf.group_id && (rc = ml_assignors_open(c, given, err)) != 0) ||
        (rc = ml_rebalance_open(c, given, err)) != 0 || (rc = ml_cnodes_init(c, err)) != 0 ||
        (rc = ml_fetcher_start(c, err)) != 0) {
        consumer_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Under c->mu: moves the queued chunks of `tp` to the done list (their records may still be in
 * the application's hands until the next poll). */
static void drop_chunks(moonlog_consumer *c, ml_ctp *tp) {
    ml_chunk **pp = &c->head, *prev = NULL;
    while (*pp) {
        ml_chunk *ch = *pp;
        if (ch->tp != tp) {
            prev = ch;
            pp = &ch->next;
            continue;
        }
        *pp = ch->next;
        if (c->tail == ch) c->tail = prev;
        ch->next = c->done;
        c->done = ch;
    }
    tp->n_chunks = 0;
}

static ml_ctp *find_in(ml_ctp *list, const char *topic, int32_t partition) {
    for (ml_ctp *tp = list; tp; tp = tp->next)
        if (tp->partition == partition && strcmp(tp->topic, topic) == 0) return tp;
    return NULL;
}

static ml_ctp *find(moonlog_consumer *c, const char *topic, int32_t partition) {
    for (ml_ctp *tp = c->tps; tp; tp = tp->next)
        if (tp->partition == partition && strcmp(tp->topic, topic) == 0) return tp;
    return NULL;
}

int ml_consumer_set_assignment(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, int reset) {
    ml_ctp *kept = NULL, *tp;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        ml_ctp **pp = &c->tps;
        while (*pp && !((*pp)->partition == tps[i].partition && strcmp((*pp)->topic, tps[i].topic) == 0))
            pp = &(*pp)->next;
        if (*pp) {
            tp = *pp;
            *pp = tp->next;
        } else {
            if (find_in(kept, tps[i].topic, tps[i].partition)) continue; /* listed twice */
            tp = calloc(1, sizeof *tp);
            if (tp && !(tp->topic = strdup(tps[i].topic))) {
                free(tp);
                tp = NULL;
            }
            if (!tp) {
                rc = -1;
                break;
            }
            tp->partition = tps[i].partition;
            tp->position = tp->fetch_offset = -1;
            tp->reset = reset;
            tp->leader = -1;
            c->metadata_wanted = 1;
        }
        tp->next = kept;
        kept = tp;
    }
    while (c->tps) { /* what is left was unassigned */
        tp = c->tps;
        c->tps = tp->next;
        drop_chunks(c, tp);
        free(tp->topic);
        free(tp);
    }
    c->tps = kept;
    pthread_cond_broadcast(&c->io_cv);
    pthread_cond_broadcast(&c->data_cv);
    return rc;
}

int moonlog_consumer_assign(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err) {
    int rc = check_outside_listener(c, "assign", err);
    if (rc) return rc;
    for (int i = 0; i < n; i++)
        if (!tps[i].topic || !tps[i].topic[0] || tps[i].partition < 0)
            return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "assign: entry %d needs a topic and a partition >= 0", i);
    pthread_mutex_lock(&c->mu);
    if (c->sub_topics) {
        pthread_mutex_unlock(&c->mu);
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "assign: the consumer is subscribed (unsubscribe first)");
    }
    rc = ml_consumer_set_assignment(c, tps, n, c->conf.group_id ? ML_RESET_COMMITTED : c->conf.auto_offset_reset);
    pthread_mutex_unlock(&c->mu);
    if (rc != 0) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "assign: out of memory");
    return 0;
}

/* subscribe(n topics) / unsubscribe (n = 0): the I/O thread joins, rejoins or leaves the group. */
static int subscribe(moonlog_consumer *c, const char *const *topics, int n, const moonlog_rebalance_listener *l,
                     moonlog_error *err) {
    int rc = check_outside_listener(c, "subscribe", err);
    if (rc) return rc;
    if (!c->conf.group_id) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "subscribe needs group.id");
    for (int i = 0; i < n; i++)
        if (!topics[i] || !topics[i][0])
            return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "subscribe: topic %d is empty", i);
    char **t = NULL;
    if (n > 0) {
        t = calloc((size_t)n + 1, sizeof *t);
        for (int i = 0; t && i < n; i++)
            if (!(t[i] = strdup(topics[i]))) {
                ml_strings_free(t, i);
                t = NULL;
            }
        if (!t) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "subscribe: out of memory");
    }
    pthread_mutex_lock(&c->mu);
    if (!c->sub_topics && c->tps) {
        pthread_mutex_unlock(&c->mu);
        ml_strings_free(t, n);
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "subscribe: partitions are assigned (assign none first)");
    }
    pthread_mutex_unlock(&c->mu);
    if (n == 0 && c->sub_topics) ml_rebalance_revoke_now(c); /* unsubscribe gives up what is owned */
    pthread_mutex_lock(&c->mu);
    ml_strings_free(c->sub_topics, c->n_sub);
    c->sub_topics = t;
    c->n_sub = n;
    c->sub_epoch++;
    ml_pattern_free(c->sub_regex); /* topics replace a pattern */
    c->sub_regex = NULL;
    free(c->sub_pattern);
    c->sub_pattern = NULL;
    c->last_poll_ms = ml_mono_ms();
    if (n == 0) ml_consumer_set_assignment(c, NULL, 0, ML_NO_RESET);
    c->has_listener = l != NULL;
    if (l) c->listener = *l;
    pthread_cond_broadcast(&c->io_cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int moonlog_consumer_subscribe(moonlog_consumer *c, const char *const *topics, int n, moonlog_error *err) {
    moonlog_rebalance_listener l;
    return subscribe(c, topics, n, ml_rebalance_default(c, &l) ? &l : NULL, err);
}

int moonlog_consumer_subscribe_with_listener(moonlog_consumer *c, const char *const *topics, int n,
                                             const moonlog_rebalance_listener *listener, moonlog_error *err) {
    return subscribe(c, topics, n, listener, err);
}

/* subscribe_pattern: the topics are found by the I/O thread (pattern_subscription.c) before it joins. */
int moonlog_consumer_subscribe_pattern(moonlog_consumer *c, const char *pattern, moonlog_error *err) {
    int rc = check_outside_listener(c, "subscribe", err);
    if (rc) return rc;
    if (!c->conf.group_id) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "subscribe needs group.id");
    if (!pattern || !pattern[0]) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "subscribe: the pattern is empty");
    void *re;
    if ((rc = ml_pattern_compile(pattern, &re, err)) != 0) return rc;
    char **none = calloc(1, sizeof *none); /* subscribed, to no topic until the first look */
    char *copy = strdup(pattern);
    if (!none || !copy) {
        free(none);
        free(copy);
        ml_pattern_free(re);
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "subscribe: out of memory");
    }
    moonlog_rebalance_listener l;
    int has_listener = ml_rebalance_default(c, &l);
    pthread_mutex_lock(&c->mu);
    if (!c->sub_topics && c->tps) {
        pthread_mutex_unlock(&c->mu);
        free(none);
        free(copy);
        ml_pattern_free(re);
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "subscribe: partitions are assigned (assign none first)");
    }
    ml_strings_free(c->sub_topics, c->n_sub);
    c->sub_topics = none;
    c->n_sub = 0;
    ml_pattern_free(c->sub_regex);
    free(c->sub_pattern);
    c->sub_regex = re;
    c->sub_pattern = copy;
    c->pattern_next_ms = 0;
    c->sub_epoch++;
    c->last_poll_ms = ml_mono_ms();
    c->has_listener = has_listener;
    if (has_listener) c->listener = l;
    pthread_cond_broadcast(&c->io_cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int moonlog_consumer_assignment(moonlog_consumer *c, moonlog_topic_partition *out, int max, moonlog_error *err) {
    int rc = check_thread(c, err);
    if (rc) return rc;
    /* The I/O thread frees a partition's topic when a rebalance takes it away: hand out copies,
     * kept until the next call. */
    ml_strings_free(c->out_topics, c->n_out_topics);
    c->out_topics = NULL;
    c->n_out_topics = 0;
    pthread_mutex_lock(&c->mu);
    int n = 0;
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) n++;
    c->out_topics = max > 0 ? calloc((size_t)(n < max ? n : max) + 1, sizeof *c->out_topics) : NULL;
    int k = 0;
    for (ml_ctp *tp = c->tps; c->out_topics && tp && k < max; tp = tp->next, k++) {
        c->out_topics[k] = strdup(tp->topic);
        out[k] = (moonlog_topic_partition){c->out_topics[k], tp->partition};
    }
    c->n_out_topics = k;
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < k; i++)
        if (!c->out_topics[i]) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "assignment: out of memory");
    if (max > 0 && !c->out_topics) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "assignment: out of memory");
    return n;
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

/* Under c->mu: queues a group operation for the I/O thread. */
static void append_gop(moonlog_consumer *c, ml_gop *g) {
    if (c->gops_tail) c->gops_tail->next = g;
    else c->gops = g;
    c->gops_tail = g;
    pthread_cond_broadcast(&c->io_cv);
}

static void enqueue(moonlog_consumer *c, ml_gop *g) {
    pthread_mutex_lock(&c->mu);
    append_gop(c, g);
    pthread_mutex_unlock(&c->mu);
}

/* Under c->mu: waits for `g`; on timeout leaves it to the I/O thread (abandoned) and says so. */
static int wait_gop(moonlog_consumer *c, ml_gop *g, int64_t timeout_ms, moonlog_error *err) {
    struct timespec dl = deadline_ts(timeout_ms < 0 ? 0 : timeout_ms);
    while (!g->done) {
        if (timeout_ms < 0) pthread_cond_wait(&c->data_cv, &c->mu);
        else if (pthread_cond_timedwait(&c->data_cv, &c->mu, &dl) == ETIMEDOUT && !g->done) {
            g->abandoned = 1;
            return ml_error_set(err, MOONLOG_ERR_TIMED_OUT, "%s not completed within %lld ms (last error: %s)",
                                g->kind == ML_GOP_COMMIT ? "commit" : "committed", (long long)timeout_ms,
                                g->error.code ? g->error.message : "none");
        }
    }
    if (g->error.code != 0) {
        if (err) *err = g->error;
        return g->error.code;
    }
    return 0;
}

/* Queues `g` and waits for it; frees it unless abandoned. */
static int enqueue_wait(moonlog_consumer *c, ml_gop *g, int64_t timeout_ms, moonlog_error *err) {
    pthread_mutex_lock(&c->mu);
    append_gop(c, g);
    int rc = wait_gop(c, g, timeout_ms, err);
    if (!g->abandoned) ml_gop_free(g);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* A commit of the given offsets, or (n = 0) of the position of every assigned partition that
 * has one. NULL when out of memory. */
static ml_gop *positions_gop(moonlog_consumer *c, const moonlog_topic_partition_offset *offsets, int n) {
    ml_gop *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->kind = ML_GOP_COMMIT;
    pthread_mutex_lock(&c->mu);
    int cap = n;
    if (n == 0)
        for (ml_ctp *tp = c->tps; tp; tp = tp->next) cap++;
    g->tpo = calloc((size_t)(cap ? cap : 1), sizeof *g->tpo);
    for (int i = 0; g->tpo && i < n; i++) {
        if (!offsets[i].topic || offsets[i].offset < 0) continue;
        g->tpo[g->n] = offsets[i];
        if ((g->tpo[g->n].topic = strdup(offsets[i].topic))) g->n++;
    }
    for (ml_ctp *tp = c->tps; g->tpo && n == 0 && tp; tp = tp->next) {
        if (tp->reset != ML_NO_RESET || tp->position < 0) continue;
        g->tpo[g->n] = (moonlog_topic_partition_offset){strdup(tp->topic), tp->partition, tp->position};
        if (g->tpo[g->n].topic) g->n++;
    }
    pthread_mutex_unlock(&c->mu);
    if (!g->tpo) {
        free(g);
        return NULL;
    }
    return g;
}

/* Calls the callbacks of completed commit_async calls, in order (the consumer's thread). */
static void run_callbacks(moonlog_consumer *c) {
    pthread_mutex_lock(&c->mu);
    ml_gop *list = c->completed;
    c->completed = c->completed_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    while (list) {
        ml_gop *g = list;
        list = g->next;
        g->cb(g->tpo, g->n, g->error.code ? &g->error : NULL, g->opaque);
        ml_gop_free(g);
    }
}

/* Under c->mu: an error waiting on an assigned partition, reported once. */
static int take_error(moonlog_consumer *c, moonlog_error *err) {
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) {
        if (tp->reset == ML_RESET_NONE) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s-%d has no position and auto.offset.reset is none", tp->topic,
                     tp->partition);
            return cerr(err, MOONLOG_ERR_NO_OFFSET, "NO_OFFSET", msg);
        }
        if (tp->error) {
            int code = tp->error;
            tp->error = 0;
            return ml_error_set(err, code, "%s-%d: %s", tp->topic, tp->partition, ml_kafka_error_name((int16_t)code));
        }
    }
    return 0;
}

/* Under c->mu: moves up to out_cap records from the queue to c->out. Chunks of paused
 * partitions stay queued, in their place, for after resume. */
static int32_t take_records(moonlog_consumer *c) {
    int32_t n = 0;
    ml_chunk **pp = &c->head, *prev = NULL;
    while (*pp && n < c->out_cap) {
        ml_chunk *ch = *pp;
        ml_ctp *tp = ch->tp;
        if (tp->paused && ch->epoch == tp->epoch) {
            prev = ch;
            pp = &ch->next;
            continue;
        }
        while (ch->pos < ch->n && n < c->out_cap) {
            moonlog_consumer_record *r = &ch->recs[ch->pos++];
            if (ch->epoch != tp->epoch || r->offset < tp->position) continue;
            c->out[n++] = *r;
            tp->position = r->offset + 1;
        }
        if (ch->pos < ch->n) break;
        *pp = ch->next;
        if (c->tail == ch) c->tail = prev;
        ch->next = c->done;
        c->done = ch;
        tp->n_chunks--;
    }
    return n;
}

int moonlog_consumer_poll(moonlog_consumer *c, int64_t timeout_ms, const moonlog_consumer_record **out,
                          int32_t *count, moonlog_error *err) {
    *out = NULL;
    *count = 0;
    int rc = check_outside_listener(c, "poll", err);
    if (rc) return rc;
    run_callbacks(c);
    ml_deserializers_reload_check(c);
    pthread_mutex_lock(&c->mu);
    c->last_poll_ms = ml_mono_ms();
    if (c->poll_expired) {
        c->poll_expired = 0;
        pthread_cond_broadcast(&c->io_cv);
    }
    pthread_mutex_unlock(&c->mu);
    if (c->conf.group_id && c->conf.enable_auto_commit && ml_mono_ms() >= c->next_auto_commit_ms) {
        c->next_auto_commit_ms = ml_mono_ms() + c->conf.auto_commit_interval_ms;
        ml_gop *g = positions_gop(c, NULL, 0);
        if (g && g->n > 0) enqueue(c, g);
        else ml_gop_free(g);
    }
    ml_rebalance_run(c); /* also checks the listener plugin's file */
    pthread_mutex_lock(&c->mu);
    ml_chunk *done = c->done; /* the previous poll's records are released now */
    c->done = NULL;
    struct timespec dl = deadline_ts(timeout_ms < 0 ? 0 : timeout_ms);
    int32_t n = 0;
    for (;;) {
        if (ml_rebalance_pending(c)) { /* the listener runs here, on this thread, unlocked */
            pthread_mutex_unlock(&c->mu);
            ml_rebalance_run(c);
            pthread_mutex_lock(&c->mu);
            continue;
        }
        if ((rc = take_error(c, err)) != 0) break;
        int had = c->head != NULL;
        n = take_records(c);
        if (had) pthread_cond_broadcast(&c->io_cv);
        if (n > 0 || timeout_ms == 0) break;
        if (timeout_ms < 0) pthread_cond_wait(&c->data_cv, &c->mu);
        else if (pthread_cond_timedwait(&c->data_cv, &c->mu, &dl) == ETIMEDOUT) {
            if ((rc = take_error(c, err)) == 0) n = take_records(c);
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    while (done) {
        ml_chunk *ch = done;
        done = ch->next;
        ml_chunk_free(ch);
    }
    int32_t kept = rc == 0 ? n : 0;
    int drc = ml_deserialize_records(c, &kept, rc == 0 ? err : NULL);
    if (rc != 0) return rc;
    if (drc != 0) return drc;
    n = kept;
    atomic_fetch_add(&c->n_consumed, n);
    *out = c->out;
    *count = n;
    return 0;
}

static int not_assigned(moonlog_error *err, const char *topic, int32_t partition) {
    char msg[300];
    snprintf(msg, sizeof msg, "%s-%d is not assigned to this consumer", topic ? topic : "(null)", partition);
    return cerr(err, MOONLOG_ERR_NOT_ASSIGNED, "NOT_ASSIGNED", msg);
}

/* Under c->mu: 0 when each of the `n` partitions is assigned, else NOT_ASSIGNED naming the first
 * that is not (callers change none of them then). */
static int all_assigned(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err) {
    for (int i = 0; i < n; i++)
        if (!tps[i].topic || !find(c, tps[i].topic, tps[i].partition))
            return not_assigned(err, tps[i].topic, tps[i].partition);
    return 0;
}

/* pause (paused = 1) or resume (0) of `n` partitions, all assigned or none changed. */
static int set_paused(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, int paused, moonlog_error *err) {
    int rc = check_thread(c, err);
    if (rc) return rc;
    pthread_mutex_lock(&c->mu);
    rc = all_assigned(c, tps, n, err);
    for (int i = 0; i < n && rc == 0; i++) find(c, tps[i].topic, tps[i].partition)->paused = paused;
    /* resumed: fetch again, and hand out what was kept */
    pthread_cond_broadcast(&c->io_cv);
    pthread_cond_broadcast(&c->data_cv);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int moonlog_consumer_pause(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err) {
    return set_paused(c, tps, n, 1, err);
}

int moonlog_consumer_resume(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err) {
    return set_paused(c, tps, n, 0, err);
}

int moonlog_consumer_paused(moonlog_consumer *c, moonlog_topic_partition *out, int max, moonlog_error *err) {
    int rc = check_thread(c, err);
    if (rc) return rc;
    pthread_mutex_lock(&c->mu);
    int n = 0;
    for (ml_ctp *tp = c->tps; tp; tp = tp->next)
        if (tp->paused) {
            if (n < max) out[n] = (moonlog_topic_partition){tp->topic, tp->partition};
            n++;
        }
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Under c->mu: forgets what was fetched and gives the partition a new position or reset. */
static void reposition(moonlog_consumer *c, ml_ctp *tp, int64_t offset, int reset) {
    drop_chunks(c, tp);
    tp->epoch++;
    tp->position = tp->fetch_offset = offset;
    tp->reset = reset;
    tp->error = 0;
}

int moonlog_consumer_seek(moonlog_consumer *c, const char *topic, int32_t partition, int64_t offset,
                          moonlog_error *err) {
    int rc = check_thread(c, err);
    if (rc) return rc;
    if (offset < 0) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "seek: offset %lld < 0", (long long)offset);
    pthread_mutex_lock(&c->mu);
    ml_ctp *tp = topic ? find(c, topic, partition) : NULL;
    if (tp) reposition(c, tp, offset, ML_NO_RESET);
    pthread_cond_broadcast(&c->io_cv);
    pthread_mutex_unlock(&c->mu);
    return tp ? 0 : not_assigned(err, topic, partition);
}

static int seek_reset(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, int reset, moonlog_error *err) {
    int rc = check_thread(c, err);
    if (rc) return rc;
    pthread_mutex_lock(&c->mu);
    rc = all_assigned(c, tps, n, err);
    for (int i = 0; i < n && rc == 0; i++) reposition(c, find(c, tps[i].topic, tps[i].partition), -1, reset);
    for (ml_ctp *tp = c->tps; n == 0 && tp; tp = tp->next) reposition(c, tp, -1, reset);
    pthread_cond_broadcast(&c->io_cv);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int moonlog_consumer_seek_to_beginning(moonlog_consumer *c, const moonlog_topic_partition *tps, int n,
                                       moonlog_error *err) {
    return seek_reset(c, tps, n, ML_RESET_EARLIEST, err);
}

int moonlog_consumer_seek_to_end(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err) {
    return seek_reset(c, tps, n, ML_RESET_LATEST, err);
}

int moonlog_consumer_position(moonlog_consumer *c, const char *topic, int32_t partition, int64_t timeout_ms,
                              int64_t *offset, moonlog_error *err) {
    int rc = check_thread(c, err);
    if (rc) return rc;
    struct timespec dl = deadline_ts(timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&c->mu);
    ml_ctp *tp;
    for (;;) {
        tp = topic ? find(c, topic, partition) : NULL;
        if (!tp) {
            rc = not_assigned(err, topic, partition);
            break;
        }
        if (tp->reset == ML_NO_RESET) {
            *offset = tp->position;
            break;
        }
        if (tp->reset == ML_RESET_NONE) {
            rc = take_error(c, err);
            break;
        }
        if (tp->error) {
            rc = take_error(c, err);
            break;
        }
        pthread_cond_broadcast(&c->io_cv);
        if (timeout_ms < 0) pthread_cond_wait(&c->data_cv, &c->mu);
        else if (pthread_cond_timedwait(&c->data_cv, &c->mu, &dl) == ETIMEDOUT) {
            tp = find(c, topic, partition);
            if (tp && tp->reset == ML_NO_RESET) {
                *offset = tp->position;
            } else {
                rc = ml_error_set(err, MOONLOG_ERR_TIMED_OUT, "position of %s-%d not resolved within %lld ms", topic,
                                  partition, (long long)timeout_ms);
            }
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* After the I/O thread stopped (close): each commit_async still unanswered gets its callback,
 * with CLOSED, after the answered ones and in commit order, so that every call is reported once. */
static void fail_unanswered(moonlog_consumer *c) {
    ml_gop *list = c->gops;
    c->gops = c->gops_tail = NULL;
    moonlog_error e;
    ml_error_set(&e, MOONLOG_ERR_CLOSED, "the consumer closed before the coordinator answered this commit");
    while (list) {
        ml_gop *g = list;
        list = g->next;
        if (g->cb && !g->abandoned) g->cb(g->tpo, g->n, &e, g->opaque);
        ml_gop_free(g);
    }
}

int moonlog_consumer_close(moonlog_consumer *c, moonlog_error *err) {
    if (!c) return 0;
    int rc = check_outside_listener(c, "close", err);
    if (rc) return rc;
    if (c->conf.group_id && c->conf.enable_auto_commit) {
        ml_gop *g = positions_gop(c, NULL, 0);
        if (g && g->n > 0) rc = enqueue_wait(c, g, c->conf.request_timeout_ms, err);
        else ml_gop_free(g);
    }
    if (c->sub_topics) ml_rebalance_revoke_now(c); /* as Java: after the auto commit, before leaving */
    /* earlier commit_async calls complete (or fail) before close returns */
    pthread_mutex_lock(&c->mu);
    struct timespec dl = deadline_ts(c->conf.request_timeout_ms);
    while (c->gops && pthread_cond_timedwait(&c->data_cv, &c->mu, &dl) != ETIMEDOUT) {}
    pthread_mutex_unlock(&c->mu);
    ml_fetcher_stop(c); /* nothing is answered any more: what is left can be failed */
    run_callbacks(c);
    fail_unanswered(c);
    consumer_free(c);
    return rc;
}

/* ---- Commits (group.id) ------------------------------------------------------------------- */

static int no_group(moonlog_consumer *c, moonlog_error *err) {
    if (c->conf.group_id) return 0;
    return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "commits need group.id in the configuration");
}

int moonlog_consumer_commit_sync(moonlog_consumer *c, const moonlog_topic_partition_offset *offsets, int n,
                                 int64_t timeout_ms, moonlog_error *err) {
    int rc = check_thread(c, err);
    if (rc || (rc = no_group(c, err))) return rc;
    run_callbacks(c);
    ml_gop *g = positions_gop(c, offsets, n);
    if (!g) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "out of memory");
    if (g->n == 0) {
        ml_gop_free(g);
        return 0;
    }
    g->retry = 1;
    rc = enqueue_wait(c, g, timeout_ms, err);
    run_callbacks(c);
    return rc;
}

int moonlog_consumer_commit_async(moonlog_consumer *c, const moonlog_topic_partition_offset *offsets, int n,
                                  moonlog_commit_cb cb, void *opaque, moonlog_error *err) {
    int rc = check_thread(c, err);
    if (rc || (rc = no_group(c, err))) return rc;
    ml_gop *g = positions_gop(c, offsets, n);
    if (!g) return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "out of memory");
    g->cb = cb;
    g->opaque = opaque;
    if (g->n == 0 && !cb) {
        ml_gop_free(g);
        return 0;
    }
    enqueue(c, g);
    return 0;
}

int moonlog_consumer_committed(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, int64_t *offsets,
                               int64_t timeout_ms, moonlog_error *err) {
    int rc = check_thread(c, err);
    if (rc || (rc = no_group(c, err))) return rc;
    if (n <= 0) return 0;
    ml_gop *g = calloc(1, sizeof *g);
    if (g) g->tpo = calloc((size_t)n, sizeof *g->tpo);
    if (!g || !g->tpo) {
        ml_gop_free(g);
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "out of memory");
    }
    g->kind = ML_GOP_FETCH;
    g->retry = 1;
    for (int i = 0; i < n; i++) {
        if (!tps[i].topic || !(g->tpo[i].topic = strdup(tps[i].topic))) {
            ml_gop_free(g);
            return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "committed: entry %d needs a topic", i);
        }
        g->tpo[i].partition = tps[i].partition;
        g->tpo[i].offset = -1;
        g->n++;
    }
    run_callbacks(c);
    pthread_mutex_lock(&c->mu);
    append_gop(c, g);
    rc = wait_gop(c, g, timeout_ms, err);
    if (rc == 0)
        for (int i = 0; i < n; i++) offsets[i] = g->tpo[i].offset;
    if (!g->abandoned) ml_gop_free(g);
    pthread_mutex_unlock(&c->mu);
    run_callbacks(c);
    return rc;
}

int64_t moonlog_consumer_counter(moonlog_consumer *c, const char *name) {
    if (strcmp(name, "records.consumed") == 0) return atomic_load(&c->n_consumed);
    if (strcmp(name, "fetches.sent") == 0) return atomic_load(&c->n_fetches);
    if (strcmp(name, "bytes.fetched") == 0) return atomic_load(&c->n_bytes);
    if (strcmp(name, "assignments.computed") == 0) return atomic_load(&c->n_assignments);
    if (strcmp(name, "assignor.failures") == 0) return atomic_load(&c->n_assign_failures);
    if (strncmp(name, "plugin.", 7) == 0) { /* summed over the deserializers and the assignors */
        static const char *const known[] = {"errors", "timeouts", "reloads", "reload.failures", NULL};
        for (int i = 0; known[i]; i++) {
            if (strcmp(name + 7, known[i]) != 0) continue;
            int64_t v = (c->key_deser ? moonlog_plugin_counter(c->key_deser, known[i]) : 0) +
                        (c->value_deser ? moonlog_plugin_counter(c->value_deser, known[i]) : 0);
            for (int k = 0; k < c->n_assignors; k++) v += moonlog_plugin_counter(c->assignors[k], known[i]);
            return v;
        }
    }
    return ml_rebalance_counter(c, name);
}
