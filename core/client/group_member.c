/* The consumer as a member of a group, on the I/O thread: finds the group's coordinator
 * (FindCoordinator) and talks to it on a connection of its own: committed offsets (OffsetFetch)
 * for partitions that start from them, and commits (OffsetCommit) queued by commit_sync,
 * commit_async and auto commit, one at a time and in the order they were made. After
 * subscribe() it is a member of the group (JoinGroup advertising its assignor plugins, SyncGroup
 * with the assignment of the one the coordinator chose when it leads (group_assignors.c), Heartbeat every heartbeat.interval.ms, LeaveGroup at close) with eager
 * rebalancing: before rejoining it commits (auto commit) and gives up every partition. After
 * assign() it commits as a "simple" member (generation -1, no member id). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_error.h"
#include "client/consumer_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "client/consumer_assignor.h"
#include "proto/find_coordinator.h"
#include "proto/heartbeat.h"
#include "proto/join_group.h"
#include "proto/leave_group.h"
#include "proto/sync_group.h"
#include "proto/offset_commit.h"
#include "proto/offset_fetch.h"

/* group.instance.id in the requests that carry it (JoinGroup v5+, SyncGroup and Heartbeat v3+,
 * OffsetCommit v7+): null for a dynamic member. */
static ml_slice instance_slice(moonlog_consumer *c) {
    return c->conf.group_instance_id ? ml_cslice(c->conf.group_instance_id) : (ml_slice){NULL, -1};
}

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

static int need_join(moonlog_consumer *c) { /* under c->mu; not while poll is to run revoked */
    return (c->sub_topics && !c->poll_expired && c->reb_revoke != ML_REB_WANTED &&
            (c->joined_sub_epoch != c->sub_epoch || c->rejoin)) ||
           (!c->sub_topics && c->generation >= 0);
}

/* Under c->mu: a member whose application did not poll for max.poll.interval.ms leaves. */
static int poll_timed_out(moonlog_consumer *c) {
    return c->sub_topics && c->generation >= 0 && !c->poll_expired &&
           ml_mono_ms() - c->last_poll_ms > c->conf.max_poll_interval_ms;
}

int ml_group_has_work(moonlog_consumer *c) {
    if (!c->conf.group_id || ml_mono_ms() < c->group_next_ms) return 0;
    if (c->gops || need_join(c) || poll_timed_out(c) || ml_pattern_due(c)) return 1;
    if (c->generation >= 0 && ml_mono_ms() >= c->next_heartbeat_ms) return 1;
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
    ml_cnode *n = ml_cnode_first(c);
    if (!n) return NULL;
    if (n->v_find_coordinator < 0 || n->v_offset_commit < 0 || n->v_offset_fetch < 0) {
        *code = ML_KERR_UNSUPPORTED_VERSION;
        return NULL;
    }
    ml_find_coordinator_request req;
    ml_find_coordinator_request_init(&req);
    req.key = ml_cslice(c->conf.group_id);
    req.key_type = 0;
    ml_writer body;
    ml_writer_init(&body, 64);
    int16_t v = n->v_find_coordinator;
    ml_find_coordinator_request_encode(&body, v, &req);
    ml_cresp resp;
    int rc = ml_cnode_call(c, n, ML_API_FIND_COORDINATOR_KEY, v, ML_API_FIND_COORDINATOR_FLEX, &body, &resp);
    ml_writer_free(&body);
    if (rc != 0) return NULL;
    ml_find_coordinator_response m;
    if (ml_find_coordinator_response_decode(&resp.r, v, &resp.arena, &m) != 0) {
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
    ml_cresp_free(&resp);
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
        if (t < 0 || !ml_cslice_eq(topics[t].name, x->topic)) {
            t++;
            topics[t].name = ml_cslice(x->topic);
            topics[t].partition_indexes = &parts[k];
        }
        parts[k] = x->partition;
        topics[t].n_partition_indexes++;
        x->offset = -1;
    }
    ml_offset_fetch_request req;
    ml_offset_fetch_request_init(&req);
    req.group_id = ml_cslice(c->conf.group_id);
    req.topics = topics;
    req.n_topics = nt;
    ml_writer body;
    ml_writer_init(&body, 256);
    int16_t v = co->v_offset_fetch;
    ml_offset_fetch_request_encode(&body, v, &req);
    free(order);
    free(parts);
    free(topics);
    ml_cresp resp;
    int rc = ml_cnode_call(c, co, ML_API_OFFSET_FETCH_KEY, v, ML_API_OFFSET_FETCH_FLEX, &body, &resp);
    ml_writer_free(&body);
    if (rc != 0) return MOONLOG_ERR_NETWORK;
    ml_offset_fetch_response m;
    code = 0;
    if (ml_offset_fetch_response_decode(&resp.r, v, &resp.arena, &m) != 0) {
        code = ML_KERR_CORRUPT_MESSAGE;
    } else if (m.error_code != 0) {
        code = m.error_code;
    } else {
        for (int32_t i = 0; i < m.n_topics; i++)
            for (int32_t j = 0; j < m.topics[i].n_partitions; j++) {
                ml_offset_fetch_response_partition *p = &m.topics[i].partitions[j];
                for (int k = 0; k < n; k++) {
                    if (e[k].partition != p->partition_index || !ml_cslice_eq(m.topics[i].name, e[k].topic)) continue;
                    if (p->error_code != 0 && !code) code = p->error_code;
                    e[k].offset = p->error_code == 0 ? p->committed_offset : -1;
                }
            }
    }
    ml_cresp_free(&resp);
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
        if (t < 0 || !ml_cslice_eq(topics[t].name, x->topic)) {
            t++;
            topics[t].name = ml_cslice(x->topic);
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
    req.group_id = ml_cslice(c->conf.group_id);
    req.generation_id = c->generation;
    req.member_id = ml_cslice(c->member_id);
    req.group_instance_id = instance_slice(c);
    req.topics = topics;
    req.n_topics = nt;
    ml_writer body;
    ml_writer_init(&body, 256);
    int16_t v = co->v_offset_commit;
    ml_offset_commit_request_encode(&body, v, &req);
    free(order);
    free(parts);
    free(topics);
    ml_cresp resp;
    int rc = ml_cnode_call(c, co, ML_API_OFFSET_COMMIT_KEY, v, ML_API_OFFSET_COMMIT_FLEX, &body, &resp);
    ml_writer_free(&body);
    if (rc != 0) return MOONLOG_ERR_NETWORK;
    ml_offset_commit_response m;
    code = 0;
    if (ml_offset_commit_response_decode(&resp.r, v, &resp.arena, &m) != 0) code = ML_KERR_CORRUPT_MESSAGE;
    for (int32_t i = 0; code == 0 && i < m.n_topics; i++)
        for (int32_t j = 0; j < m.topics[i].n_partitions; j++)
            if (m.topics[i].partitions[j].error_code != 0 && !code) code = m.topics[i].partitions[j].error_code;
    ml_cresp_free(&resp);
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

/* ---- Membership -------------------------------------------------------------------------- */

static void set_member_id(moonlog_consumer *c, ml_slice id) {
    char *s = malloc((size_t)(id.len > 0 ? id.len : 0) + 1);
    if (!s) return;
    if (id.len > 0) memcpy(s, id.ptr, (size_t)id.len);
    s[id.len > 0 ? id.len : 0] = 0;
    free(c->member_id);
    c->member_id = s;
}

/* A failed membership step: what the error means for the member. */
static void membership_error(moonlog_consumer *c, int code, const char *step) {
    ml_debug("consumer: %s for group %s failed: %s", step, c->conf.group_id, moonlog_err_name(code));
    if (code == ML_KERR_UNKNOWN_MEMBER_ID) set_member_id(c, (ml_slice){NULL, 0});
    if (code == ML_KERR_UNKNOWN_MEMBER_ID || code == ML_KERR_ILLEGAL_GENERATION || code == ML_KERR_FENCED_INSTANCE_ID) {
        if (code == ML_KERR_FENCED_INSTANCE_ID) {
            /* another consumer runs with this group.instance.id: it has the membership now */
            ml_warn("consumer: group %s: group.instance.id %s is used by another member (FENCED_INSTANCE_ID)",
                    c->conf.group_id, c->conf.group_instance_id);
            set_member_id(c, (ml_slice){NULL, 0});
        }
        c->generation = -1;
        ml_rebalance_lost(c); /* no longer this member's: no commit possible */
    }
    if (is_coordinator_error(code)) coordinator_lost(c);
    /* a rebalance to join is no failure: no backoff, which would also hold back the commits an
     * on_partitions_revoked makes meanwhile (heartbeats answer it until the member rejoins) */
    else if (code != ML_KERR_REBALANCE_IN_PROGRESS) c->group_next_ms = ml_mono_ms() + c->conf.retry_backoff_ms;
    pthread_mutex_lock(&c->mu);
    c->rejoin = 1;
    pthread_mutex_unlock(&c->mu);
}

/* One request to the coordinator: 0 with its response in *resp, or a code; free *resp either way. */
static int coord_call(moonlog_consumer *c, int16_t key, int16_t v, int16_t flex, ml_writer *body, ml_cresp *resp) {
    memset(resp, 0, sizeof *resp);
    int code;
    ml_cnode *co = coordinator(c, &code);
    if (!co) return code;
    return ml_cnode_call(c, co, key, v, flex, body, resp) == 0 ? 0 : MOONLOG_ERR_NETWORK;
}

/* Eager rebalance: commit (auto commit) and give up every partition before rejoining. */
static void revoke_all(moonlog_consumer *c) {
    pthread_mutex_lock(&c->mu);
    int n = 0;
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) n += tp->reset == ML_NO_RESET && tp->position >= 0;
    moonlog_topic_partition_offset *e = calloc((size_t)(n ? n : 1), sizeof *e);
    int k = 0;
    for (ml_ctp *tp = c->tps; e && tp; tp = tp->next)
        if (tp->reset == ML_NO_RESET && tp->position >= 0)
            e[k++] = (moonlog_topic_partition_offset){strdup(tp->topic), tp->partition, tp->position};
    ml_consumer_set_assignment(c, NULL, 0, ML_NO_RESET);
    pthread_mutex_unlock(&c->mu);
    if (k > 0 && c->conf.enable_auto_commit && c->generation >= 0) {
        int code = offset_commit(c, e, k);
        if (code != 0) ml_debug("consumer: commit before the rebalance failed: %s", moonlog_err_name(code));
    }
    for (int i = 0; i < k; i++) free((char *)e[i].topic);
    free(e);
}

static int sync_group(moonlog_consumer *c, ml_slice protocol, ml_sync_group_request_assignment *as, int n,
                      moonlog_topic_partition **tps, int *ntps) {
    ml_slice user_data;
    ml_cnode *co = c->coord;
    ml_sync_group_request req;
    ml_sync_group_request_init(&req);
    req.group_id = ml_cslice(c->conf.group_id);
    req.generation_id = c->generation;
    req.member_id = ml_cslice(c->member_id);
    req.group_instance_id = instance_slice(c);
    req.protocol_type = ml_cslice("consumer");
    req.protocol_name = protocol;
    req.assignments = as;
    req.n_assignments = n;
    ml_writer body;
    ml_writer_init(&body, 256);
    int16_t v = co->v_sync_group;
    ml_sync_group_request_encode(&body, v, &req);
    ml_cresp resp;
    ml_sync_group_response m;
    int code = coord_call(c, ML_API_SYNC_GROUP_KEY, v, ML_API_SYNC_GROUP_FLEX, &body, &resp);
    ml_writer_free(&body);
    if (code == 0 && ml_sync_group_response_decode(&resp.r, v, &resp.arena, &m) != 0) code = ML_KERR_CORRUPT_MESSAGE;
    if (code == 0 && m.error_code != 0) code = m.error_code;
    if (code == 0 &&
        ml_assignment_decode(m.assignment.ptr, m.assignment.len > 0 ? (size_t)m.assignment.len : 0, tps, ntps,
                             &user_data) != 0)
        code = ML_KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (code == 0) ml_assignors_received(c, protocol, m.assignment.ptr, m.assignment.len, c->generation);
    ml_cresp_free(&resp);
    return code;
}

/* One JoinGroup at version v: 0 with *m decoded (into *resp), or a code. */
static int join_call(moonlog_consumer *c, int16_t v, ml_join_group_request_protocol *protos, int n_protos,
                     ml_join_group_response *m, ml_cresp *resp) {
    ml_join_group_request req;
    ml_join_group_request_init(&req);
    req.group_id = ml_cslice(c->conf.group_id);
    req.session_timeout_ms = (int32_t)c->conf.session_timeout_ms;
    req.rebalance_timeout_ms = (int32_t)c->conf.max_poll_interval_ms;
    req.member_id = ml_cslice(c->member_id);
    req.group_instance_id = instance_slice(c);
    req.protocol_type = ml_cslice("consumer");
    req.protocols = protos;
    req.n_protocols = n_protos;
    ml_writer body;
    ml_writer_init(&body, 256);
    ml_join_group_request_encode(&body, v, &req);
    int code = coord_call(c, ML_API_JOIN_GROUP_KEY, v, ML_API_JOIN_GROUP_FLEX, &body, resp);
    ml_writer_free(&body);
    if (code == 0 && ml_join_group_response_decode(&resp->r, v, &resp->arena, m) != 0) code = ML_KERR_CORRUPT_MESSAGE;
    return code;
}

static void join_group(moonlog_consumer *c) {
    revoke_all(c);
    int code;
    ml_cnode *co = coordinator(c, &code);
    if (!co) return membership_error(c, code, "FindCoordinator");
    if (co->v_join_group < 0 || co->v_sync_group < 0 || co->v_heartbeat < 0 || co->v_leave_group < 0)
        return membership_error(c, ML_KERR_UNSUPPORTED_VERSION, "group APIs");
    if (c->conf.group_instance_id && co->v_join_group < 5)
        return membership_error(c, ML_KERR_UNSUPPORTED_VERSION, "JoinGroup v5+ (group.instance.id)");
    ml_assignors_reload(c, 1); /* a new version of an assignor is used from this rebalance on */
    pthread_mutex_lock(&c->mu);
    int epoch = c->sub_epoch, n_topics = c->n_sub;
    char **topics = calloc((size_t)n_topics + 1, sizeof *topics);
    for (int i = 0; topics && i < n_topics; i++) topics[i] = strdup(c->sub_topics[i]);
    c->rejoin = 0;
    pthread_mutex_unlock(&c->mu);
    /* the assignors' user_data runs without the lock: poll() is not held up by a plugin */
    ml_join_group_request_protocol *protos = NULL;
    int n_protos = 0;
    int prc = -1;
    if (topics) {
        int ok = 1;
        for (int i = 0; i < n_topics; i++) ok &= topics[i] != NULL;
        if (ok) prc = ml_assignors_protocols(c, topics, n_topics, &protos, &n_protos);
    }
    ml_strings_free(topics, n_topics);
    if (prc != 0) {
        ml_assignors_protocols_free(protos, n_protos);
        return membership_error(c, MOONLOG_ERR_ASSIGNOR, "JoinGroup (no assignor's subscription)");
    }
    ml_cresp resp = {0};
    ml_join_group_response m;
    for (int attempt = 0; attempt < 2; attempt++) { /* v4+: the first answer may be MEMBER_ID_REQUIRED */
        ml_cresp_free(&resp);
        code = join_call(c, co->v_join_group, protos, n_protos, &m, &resp);
        if (code == 0 && m.error_code == ML_KERR_MEMBER_ID_REQUIRED) {
            set_member_id(c, m.member_id);
            continue;
        }
        break;
    }
    if (code == 0) code = m.error_code;
    if (code != 0) {
        ml_assignors_protocols_free(protos, n_protos);
        ml_cresp_free(&resp);
        return membership_error(c, code, "JoinGroup");
    }
    set_member_id(c, m.member_id);
    c->generation = m.generation_id;
    ml_sync_group_request_assignment *as = NULL;
    int leader = m.leader.len == m.member_id.len && m.leader.len >= 0 &&
                 memcmp(m.leader.ptr, m.member_id.ptr, (size_t)m.leader.len) == 0;
    int nas = 0;
    if (leader) {
        code = ml_assignors_assign(c, &m, &as);
        nas = m.n_members;
    }
    moonlog_topic_partition *tps = NULL;
    int ntps = 0;
    if (code == 0) code = sync_group(c, m.protocol_name, as, nas, &tps, &ntps);
    ml_assignors_assignments_free(as, as ? nas : 0);
    ml_assignors_protocols_free(protos, n_protos);
    ml_cresp_free(&resp);
    if (code != 0) return membership_error(c, code, leader && !as ? "the assignment" : "SyncGroup");
    pthread_mutex_lock(&c->mu);
    ml_consumer_set_assignment(c, tps, ntps, ML_RESET_COMMITTED);
    ml_rebalance_assigned(c);
    c->joined_sub_epoch = epoch;
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < ntps; i++) free((char *)tps[i].topic);
    free(tps);
    c->next_heartbeat_ms = ml_mono_ms() + c->conf.heartbeat_interval_ms;
    ml_debug("consumer: joined group %s, generation %d, %d partitions%s", c->conf.group_id, c->generation, ntps,
             leader ? " (leader)" : "");
}

static void heartbeat(moonlog_consumer *c) {
    ml_cnode *co = c->coord;
    if (!co) return membership_error(c, MOONLOG_ERR_NETWORK, "Heartbeat");
    ml_heartbeat_request req;
    ml_heartbeat_request_init(&req);
    req.group_id = ml_cslice(c->conf.group_id);
    req.generation_id = c->generation;
    req.member_id = ml_cslice(c->member_id);
    req.group_instance_id = instance_slice(c);
    ml_writer body;
    ml_writer_init(&body, 128);
    int16_t v = co->v_heartbeat;
    ml_heartbeat_request_encode(&body, v, &req);
    ml_cresp resp;
    ml_heartbeat_response m;
    int code = coord_call(c, ML_API_HEARTBEAT_KEY, v, ML_API_HEARTBEAT_FLEX, &body, &resp);
    ml_writer_free(&body);
    if (code == 0 && ml_heartbeat_response_decode(&resp.r, v, &resp.arena, &m) != 0) code = ML_KERR_CORRUPT_MESSAGE;
    if (code == 0) code = m.error_code;
    ml_cresp_free(&resp);
    c->next_heartbeat_ms = ml_mono_ms() + c->conf.heartbeat_interval_ms;
    if (code != 0) membership_error(c, code, "Heartbeat");
}

void ml_group_leave(moonlog_consumer *c) {
    /* As Java's consumer since KIP-345: a static member never sends LeaveGroup; its membership
     * ends when session.timeout.ms passes without it, and a restart with the same
     * group.instance.id before then takes its partitions back without a rebalance. */
    if (c->conf.group_instance_id) {
        c->generation = -1;
        return;
    }
    if (!c->conf.group_id || c->generation < 0 || !c->coord || ml_cnode_connect(c, c->coord) != 0) return;
    ml_cnode *co = c->coord;
    ml_member_identity me = {ml_cslice(c->member_id), {NULL, -1}};
    ml_leave_group_request req;
    ml_leave_group_request_init(&req);
    req.group_id = ml_cslice(c->conf.group_id);
    req.member_id = ml_cslice(c->member_id);
    req.members = &me;
    req.n_members = 1;
    ml_writer body;
    ml_writer_init(&body, 128);
    int16_t v = co->v_leave_group;
    ml_leave_group_request_encode(&body, v, &req);
    ml_cresp resp;
    ml_leave_group_response m;
    int code = coord_call(c, ML_API_LEAVE_GROUP_KEY, v, ML_API_LEAVE_GROUP_FLEX, &body, &resp);
    ml_writer_free(&body);
    if (code == 0 && ml_leave_group_response_decode(&resp.r, v, &resp.arena, &m) != 0) code = ML_KERR_CORRUPT_MESSAGE;
    if (code == 0 && m.error_code != 0) code = m.error_code;
    if (code != 0) ml_debug("consumer: LeaveGroup %s: %s", c->conf.group_id, moonlog_err_name(code));
    ml_cresp_free(&resp);
    c->generation = -1;
}

void ml_group_run(moonlog_consumer *c) {
    if (!c->conf.group_id || ml_mono_ms() < c->group_next_ms) return;
    ml_assignors_reload(c, 0);
    pthread_mutex_lock(&c->mu);
    int look = ml_pattern_due(c);
    pthread_mutex_unlock(&c->mu);
    if (look) ml_pattern_refresh(c); /* before joining: the join is for the topics found */
    pthread_mutex_lock(&c->mu);
    int join = need_join(c), leave = !c->sub_topics && c->generation >= 0, expired = poll_timed_out(c);
    if (expired) {
        c->poll_expired = 1;
        c->rejoin = 1;
    }
    pthread_mutex_unlock(&c->mu);
    if (expired) {
        /* as Kafka's consumer: the application is presumed stuck; its partitions go to the others
         * without a commit (the records it was given may not be processed) */
        ml_warn("consumer: no poll for max.poll.interval.ms (%lld ms): leaving group %s",
                (long long)c->conf.max_poll_interval_ms, c->conf.group_id);
        ml_rebalance_lost(c);
        ml_group_leave(c);
        c->generation = -1;
        set_member_id(c, (ml_slice){NULL, 0});
    } else if (leave) {
        revoke_all(c);
        ml_group_leave(c);
    } else if (join) {
        if (ml_rebalance_ready(c)) join_group(c);
    } else if (c->generation >= 0 && ml_mono_ms() >= c->next_heartbeat_ms) {
        heartbeat(c);
    }
    if (ml_mono_ms() < c->group_next_ms) return;
    resolve_committed(c);
    if (ml_mono_ms() >= c->group_next_ms) run_gops(c);
}
