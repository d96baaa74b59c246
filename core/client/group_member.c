/* The consumer as a member of a group, on the I/O thread: finds the group's coordinator
 * (FindCoordinator) and talks to it on a connection of its own: committed offsets (OffsetFetch)
 * for partitions that start from them, and commits (OffsetCommit) queued by commit_sync,
 * commit_async and auto commit, one at a time and in the order they were made. This increment
 * commits as a "simple" group member (generation -1, no member id), as Kafka allows for groups
 * whose members assign partitions themselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_error.h"
#include "client/consumer_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "proto/find_coordinator.h"
#include "proto/offset_commit.h"
#include "proto/offset_fetch.h"

static int slice_eq(ml_slice s, const char *str) {
    return s.len >= 0 && (size_t)s.len == strlen(str) && memcmp(s.ptr, str, (size_t)s.len) == 0;
}

static ml_slice str_slice(const char *s) { return (ml_slice){(const uint8_t *)s, (int32_t)strlen(s)}; }

void ml_gop_free(ml_gop *g) {
    if (!g) return;
    for (int i = 0; i < g->n; i++) free((char *)g->tpo[i].topic);
    free(g->tpo);
    free(g);
}

void ml_group_close(moonlog_consumer *c) {
    if (c->coord) {
        ml_cnode_close(c->coord);
        free(c->coord);
        c->coord = NULL;
    }
    while (c->gops) {
        ml_gop *g = c->gops;
        c->gops = g->next;
        ml_gop_free(g);
    }
    while (c->completed) {
        ml_gop *g = c->completed;
        c->completed = g->next;
        ml_gop_free(g);
    }
}

int ml_group_has_work(moonlog_consumer *c) {
    if (!c->conf.group_id || ml_mono_ms() < c->group_next_ms) return 0;
    if (c->gops) return 1;
    for (ml_ctp *tp = c->tps; tp; tp = tp->next)
        if (tp->reset == ML_RESET_COMMITTED) return 1;
    return 0;
}

/* A retriable failure: forget the coordinator, try again after retry.backoff.ms. */
static void coordinator_lost(moonlog_consumer *c) {
    if (c->coord) {
        ml_cnode_close(c->coord);
        free(c->coord);
        c->coord = NULL;
    }
    c->group_next_ms = ml_mono_ms() + c->conf.retry_backoff_ms;
}

/* The connected coordinator, or NULL (*code says why: a Kafka code or MOONLOG_ERR_NETWORK). */
static ml_cnode *coordinator(moonlog_consumer *c, int *code) {
    *code = MOONLOG_ERR_NETWORK;
    if (c->coord && ml_cnode_connect(c, c->coord) == 0) return c->coord;
    coordinator_lost(c);
    ml_cnode *n = NULL;
    for (int i = 0; i < c->n_nodes && !n; i++)
        if (ml_cnode_connect(c, &c->nodes[i]) == 0) n = &c->nodes[i];
    if (!n) return NULL;
    if (n->v_find_coordinator < 0 || n->v_offset_commit < 0 || n->v_offset_fetch < 0) {
        *code = ML_KERR_UNSUPPORTED_VERSION;
        return NULL;
    }
    ml_find_coordinator_request req;
    ml_find_coordinator_request_init(&req);
    req.key = str_slice(c->conf.group_id);
    req.key_type = 0;
    ml_writer body;
    ml_writer_init(&body, 64);
    int16_t v = n->v_find_coordinator;
    ml_find_coordinator_request_encode(&body, v, &req);
    uint8_t *frame;
    const uint8_t *resp;
    size_t len;
    int rc = ml_cnode_request(c, n, ML_API_FIND_COORDINATOR_KEY, v, v >= ML_API_FIND_COORDINATOR_FLEX, &body, &frame,
                              &resp, &len);
    ml_writer_free(&body);
    if (rc != 0) return NULL;
    ml_arena a;
    ml_arena_init(&a, 1024);
    ml_reader r;
    ml_reader_init(&r, resp, len);
    ml_find_coordinator_response m;
    if (ml_find_coordinator_response_decode(&r, v, &a, &m) != 0) {
        ml_warn("consumer: FindCoordinator v%d response does not decode", v);
    } else if (m.error_code != 0) {
        *code = m.error_code;
    } else if ((c->coord = calloc(1, sizeof *c->coord))) {
        c->coord->id = m.node_id;
        c->coord->fd = -1;
        c->coord->failed_ms = -1;
        size_t hl = m.host.len > 0 ? (size_t)m.host.len : 0;
        if (hl >= sizeof c->coord->host) hl = sizeof c->coord->host - 1;
        memcpy(c->coord->host, m.host.ptr, hl);
        c->coord->port = m.port;
    }
    ml_arena_free(&a);
    free(frame);
    if (c->coord && ml_cnode_connect(c, c->coord) == 0) return c->coord;
    return NULL;
}

/* Groups the entries by topic (a run of partitions per topic, in `order`); returns the count. */
static int topics_of(const moonlog_topic_partition_offset *e, int n, int *order) {
    char *used = calloc((size_t)(n ? n : 1), 1);
    int nt = 0, k = 0;
    for (int i = 0; used && i < n; i++) {
        if (used[i]) continue;
        nt++;
        for (int j = i; j < n; j++)
            if (!used[j] && strcmp(e[j].topic, e[i].topic) == 0) {
                used[j] = 1;
                order[k++] = j;
            }
    }
    free(used);
    return used ? nt : -1;
}

/* OffsetFetch of the entries: fills their offsets (-1 = none). 0 or an error code. */
static int offset_fetch(moonlog_consumer *c, moonlog_topic_partition_offset *e, int n) {
    int code;
    ml_cnode *co = coordinator(c, &code);
    if (!co) return code;
    int *order = malloc((size_t)(n ? n : 1) * sizeof *order);
    int32_t *parts = malloc((size_t)(n ? n : 1) * sizeof *parts);
    ml_offset_fetch_request_topic *topics = calloc((size_t)(n ? n : 1), sizeof *topics);
    int nt = order ? topics_of(e, n, order) : -1;
    if (nt < 0 || !parts || !topics) {
        free(order);
        free(parts);
        free(topics);
        return MOONLOG_ERR_NETWORK;
    }
    int t = -1;
    for (int k = 0; k < n; k++) {
        moonlog_topic_partition_offset *x = &e[order[k]];
        if (t < 0 || !slice_eq(topics[t].name, x->topic)) {
            t++;
            topics[t].name = str_slice(x->topic);
            topics[t].partition_indexes = &parts[k];
        }
        parts[k] = x->partition;
        topics[t].n_partition_indexes++;
        x->offset = -1;
    }
    ml_offset_fetch_request req;
    ml_offset_fetch_request_init(&req);
    req.group_id = str_slice(c->conf.group_id);
    req.topics = topics;
    req.n_topics = nt;
    ml_writer body;
    ml_writer_init(&body, 256);
    int16_t v = co->v_offset_fetch;
    ml_offset_fetch_request_encode(&body, v, &req);
    free(order);
    free(parts);
    free(topics);
    uint8_t *frame;
    const uint8_t *resp;
    size_t len;
    int rc = ml_cnode_request(c, co, ML_API_OFFSET_FETCH_KEY, v, v >= ML_API_OFFSET_FETCH_FLEX, &body, &frame, &resp,
                              &len);
    ml_writer_free(&body);
    if (rc != 0) return MOONLOG_ERR_NETWORK;
    ml_arena a;
    ml_arena_init(&a, 4096);
    ml_reader r;
    ml_reader_init(&r, resp, len);
    ml_offset_fetch_response m;
    code = 0;
    if (ml_offset_fetch_response_decode(&r, v, &a, &m) != 0) {
        code = ML_KERR_CORRUPT_MESSAGE;
    } else if (m.error_code != 0) {
        code = m.error_code;
    } else {
        for (int32_t i = 0; i < m.n_topics; i++)
            for (int32_t j = 0; j < m.topics[i].n_partitions; j++) {
                ml_offset_fetch_response_partition *p = &m.topics[i].partitions[j];
                for (int k = 0; k < n; k++) {
                    if (e[k].partition != p->partition_index || !slice_eq(m.topics[i].name, e[k].topic)) continue;
                    if (p->error_code != 0 && !code) code = p->error_code;
                    e[k].offset = p->error_code == 0 ? p->committed_offset : -1;
                }
            }
    }
    ml_arena_free(&a);
    free(frame);
    return code;
}

/* OffsetCommit of the entries. 0 or the first error code. */
static int offset_commit(moonlog_consumer *c, const moonlog_topic_partition_offset *e, int n) {
    int code;
    ml_cnode *co = coordinator(c, &code);
    if (!co) return code;
    int *order = malloc((size_t)(n ? n : 1) * sizeof *order);
    ml_offset_commit_request_partition *parts = calloc((size_t)(n ? n : 1), sizeof *parts);
    ml_offset_commit_request_topic *topics = calloc((size_t)(n ? n : 1), sizeof *topics);
    int nt = order ? topics_of(e, n, order) : -1;
    if (nt < 0 || !parts || !topics) {
        free(order);
        free(parts);
        free(topics);
        return MOONLOG_ERR_NETWORK;
    }
    int t = -1;
    for (int k = 0; k < n; k++) {
        const moonlog_topic_partition_offset *x = &e[order[k]];
        if (t < 0 || !slice_eq(topics[t].name, x->topic)) {
            t++;
            topics[t].name = str_slice(x->topic);
            topics[t].partitions = &parts[k];
        }
        ml_offset_commit_request_partition_init(&parts[k]);
        parts[k].partition_index = x->partition;
        parts[k].committed_offset = x->offset;
        parts[k].committed_metadata = (ml_slice){(const uint8_t *)"", 0};
        topics[t].n_partitions++;
    }
    ml_offset_commit_request req;
    ml_offset_commit_request_init(&req);
    req.group_id = str_slice(c->conf.group_id);
    req.generation_id = -1;
    req.member_id = (ml_slice){(const uint8_t *)"", 0};
    req.topics = topics;
    req.n_topics = nt;
    ml_writer body;
    ml_writer_init(&body, 256);
    int16_t v = co->v_offset_commit;
    ml_offset_commit_request_encode(&body, v, &req);
    free(order);
    free(parts);
    free(topics);
    uint8_t *frame;
    const uint8_t *resp;
    size_t len;
    int rc = ml_cnode_request(c, co, ML_API_OFFSET_COMMIT_KEY, v, v >= ML_API_OFFSET_COMMIT_FLEX, &body, &frame, &resp,
                              &len);
    ml_writer_free(&body);
    if (rc != 0) return MOONLOG_ERR_NETWORK;
    ml_arena a;
    ml_arena_init(&a, 4096);
    ml_reader r;
    ml_reader_init(&r, resp, len);
    ml_offset_commit_response m;
    code = 0;
    if (ml_offset_commit_response_decode(&r, v, &a, &m) != 0) code = ML_KERR_CORRUPT_MESSAGE;
    for (int32_t i = 0; code == 0 && i < m.n_topics; i++)
        for (int32_t j = 0; j < m.topics[i].n_partitions; j++)
            if (m.topics[i].partitions[j].error_code != 0 && !code) code = m.topics[i].partitions[j].error_code;
    ml_arena_free(&a);
    free(frame);
    return code;
}

static int is_coordinator_error(int code) {
    return code == MOONLOG_ERR_NETWORK || code == ML_KERR_NOT_COORDINATOR ||
           code == ML_KERR_COORDINATOR_NOT_AVAILABLE || code == ML_KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

/* Partitions waiting for their committed offset: one OffsetFetch, then positions or resets. */
static void resolve_committed(moonlog_consumer *c) {
    pthread_mutex_lock(&c->mu);
    int n = 0;
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) n += tp->reset == ML_RESET_COMMITTED;
    moonlog_topic_partition_offset *e = calloc((size_t)(n ? n : 1), sizeof *e);
    uint64_t *epochs = calloc((size_t)(n ? n : 1), sizeof *epochs);
    int k = 0;
    for (ml_ctp *tp = c->tps; e && epochs && tp; tp = tp->next)
        if (tp->reset == ML_RESET_COMMITTED) {
            e[k].topic = strdup(tp->topic);
            e[k].partition = tp->partition;
            epochs[k++] = tp->epoch;
        }
    pthread_mutex_unlock(&c->mu);
    int code = k ? offset_fetch(c, e, k) : 0;
    if (is_coordinator_error(code)) coordinator_lost(c);
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < k && !is_coordinator_error(code); i++) {
        ml_ctp *tp = c->tps;
        while (tp && !(tp->partition == e[i].partition && strcmp(tp->topic, e[i].topic) == 0)) tp = tp->next;
        if (!tp || tp->epoch != epochs[i] || tp->reset != ML_RESET_COMMITTED) continue;
        if (code != 0 && !ml_error_retriable(code)) {
            tp->error = (int16_t)code;
        } else if (code == 0 && e[i].offset >= 0) {
            tp->position = tp->fetch_offset = e[i].offset;
            tp->reset = ML_NO_RESET;
        } else if (code == 0) {
            tp->reset = c->conf.auto_offset_reset;
        }
    }
    pthread_cond_broadcast(&c->data_cv);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < k; i++) free((char *)e[i].topic);
    free(e);
    free(epochs);
}

/* The queued commits and lookups, in order; stops at one waiting for a retry. */
static void run_gops(moonlog_consumer *c) {
    for (;;) {
        pthread_mutex_lock(&c->mu);
        ml_gop *g = c->gops;
        int stop = c->stopping;
        pthread_mutex_unlock(&c->mu);
        if (!g || stop) return;
        int code = g->kind == ML_GOP_COMMIT ? offset_commit(c, g->tpo, g->n) : offset_fetch(c, g->tpo, g->n);
        if (is_coordinator_error(code)) coordinator_lost(c);
        pthread_mutex_lock(&c->mu);
        if (code != 0 && g->retry && !g->abandoned && ml_error_retriable(code)) {
            pthread_mutex_unlock(&c->mu);
            c->group_next_ms = ml_mono_ms() + c->conf.retry_backoff_ms;
            return;
        }
        c->gops = g->next;
        if (!c->gops) c->gops_tail = NULL;
        g->next = NULL;
        g->done = 1;
        if (code != 0)
            ml_error_set(&g->error, code, "%s of group %s: %s", g->kind == ML_GOP_COMMIT ? "commit" : "committed",
                         c->conf.group_id, moonlog_err_name(code));
        if (g->abandoned) {
            ml_gop_free(g);
        } else if (g->cb) {
            if (c->completed_tail) c->completed_tail->next = g;
            else c->completed = g;
            c->completed_tail = g;
        }
        pthread_cond_broadcast(&c->data_cv);
        pthread_mutex_unlock(&c->mu);
    }
}

void ml_group_run(moonlog_consumer *c) {
    if (!c->conf.group_id || ml_mono_ms() < c->group_next_ms) return;
    resolve_committed(c);
    if (ml_mono_ms() >= c->group_next_ms) run_gops(c);
}
