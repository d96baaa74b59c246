#include "broker/group_coordinator.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "broker/connection.h"
#include "broker/offsets_topic.h"
#include "broker/server.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/join_group.h"
#include "proto/sync_group.h"
#include "storage/log_manager.h"

struct ml_group_coordinator {
    ml_server *server;
    struct event_base *base;
    TAILQ_HEAD(, ml_group) groups;
    int n_groups;
    ml_group **buckets; /* groups by the hash of their id */
    size_t n_buckets;   /* a power of two */
    int32_t n_partitions; /* of __consumer_offsets; 0 until it exists */
    struct event *expire_timer;
};

static void prepare_rebalance(ml_group *g, const char *reason);
static void try_complete_join(ml_group *g);
static void persist_group(ml_group *g);
static void offsets_reindex(ml_group *g);

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                                */

static char *slice_dup(ml_slice s) {
    if (s.len < 0) return NULL;
    char *p = malloc((size_t)s.len + 1);
    if (!p) return NULL;
    memcpy(p, s.ptr, (size_t)s.len);
    p[s.len] = 0;
    return p;
}

static int slice_is(ml_slice s, const char *c) {
    if (!c) return s.len < 0;
    return s.len >= 0 && (size_t)s.len == strlen(c) && memcmp(s.ptr, c, (size_t)s.len) == 0;
}

static int str_eq(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static void set_str(char **dst, const char *src) {
    free(*dst);
    *dst = src ? strdup(src) : NULL;
}

static struct timeval ms_tv(int64_t ms) {
    if (ms < 0) ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

const char *ml_group_state_name(enum ml_group_state st) {
    switch (st) {
    case ML_GROUP_EMPTY: return "Empty";
    case ML_GROUP_PREPARING_REBALANCE: return "PreparingRebalance";
    case ML_GROUP_COMPLETING_REBALANCE: return "CompletingRebalance";
    case ML_GROUP_STABLE: return "Stable";
    case ML_GROUP_DEAD: return "Dead";
    }
    return "Dead";
}

static void set_state(ml_group *g, enum ml_group_state st) {
    if (g->state != st)
        ml_debug("group %s: %s -> %s (generation %d)", g->id, ml_group_state_name(g->state), ml_group_state_name(st),
                 g->generation);
    g->state = st;
    g->state_ts = ml_wall_ms();
}

/* A member id as Kafka makes them: the client id, a dash, a random UUID. */
static char *new_member_id(ml_slice client_id) {
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        for (size_t i = 0; i < sizeof r; i++) r[i] = (uint8_t)rand();
    }
    int32_t n = client_id.len > 0 ? (client_id.len > 200 ? 200 : client_id.len) : 0;
    char *id = malloc((size_t)n + 40);
    if (!id) return NULL;
    if (n) memcpy(id, client_id.ptr, (size_t)n);
    snprintf(id + n, 40, "-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
             r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
    return id;
}

/* "/ip" of the client, as Kafka shows a member's host. */
static char *client_host(ml_request *req) {
    char host[72] = "/";
    if (req->conn) {
        snprintf(host + 1, sizeof host - 1, "%s", req->conn->peer);
        char *colon = strrchr(host, ':');
        if (colon) *colon = 0;
    }
    return strdup(host);
}

/* ------------------------------------------------------------------------------------------ */
/* Groups and members                                                                           */

static uint32_t id_hash(const char *id, int32_t len) {
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i < len; i++) h = (h ^ (uint8_t)id[i]) * 16777619u;
    return h;
}

ml_group *ml_group_find(ml_group_coordinator *gc, const char *id, int32_t len) {
    for (ml_group *g = gc->buckets[id_hash(id, len) & (gc->n_buckets - 1)]; g; g = g->hash_next)
        if ((int32_t)strlen(g->id) == len && memcmp(g->id, id, (size_t)len) == 0) return g;
    return NULL;
}

static void hash_insert(ml_group_coordinator *gc, ml_group *g) {
    ml_group **b = &gc->buckets[id_hash(g->id, (int32_t)strlen(g->id)) & (gc->n_buckets - 1)];
    g->hash_next = *b;
    *b = g;
}

static void hash_remove(ml_group_coordinator *gc, ml_group *g) {
    ml_group **p = &gc->buckets[id_hash(g->id, (int32_t)strlen(g->id)) & (gc->n_buckets - 1)];
    while (*p && *p != g) p = &(*p)->hash_next;
    if (*p) *p = g->hash_next;
}

/* Keeps chains short: twice the buckets when there are more groups than buckets. */
static void hash_maybe_grow(ml_group_coordinator *gc) {
    if ((size_t)gc->n_groups <= gc->n_buckets) return;
    ml_group **nb = calloc(gc->n_buckets * 2, sizeof *nb);
    if (!nb) return; /* longer chains, still correct */
    free(gc->buckets);
    gc->buckets = nb;
    gc->n_buckets *= 2;
    ml_group *g;
    TAILQ_FOREACH(g, &gc->groups, link) hash_insert(gc, g);
}

static ml_group *find_slice(ml_group_coordinator *gc, ml_slice id) {
    return id.len < 0 ? NULL : ml_group_find(gc, (const char *)id.ptr, id.len);
}

int ml_group_count(const ml_group_coordinator *gc) { return gc->n_groups; }

ml_group *ml_group_at(ml_group_coordinator *gc, int i) {
    ml_group *g;
    TAILQ_FOREACH(g, &gc->groups, link) {
        if (i-- == 0) return g;
    }
    return NULL;
}

static void join_timer_cb(evutil_socket_t fd, short what, void *arg);

static ml_group *group_new(ml_group_coordinator *gc, const char *id, int32_t len) {
    ml_group *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->id = slice_dup((ml_slice){(const uint8_t *)id, len});
    g->join_timer = evtimer_new(gc->base, join_timer_cb, g);
    if (!g->id || !g->join_timer) {
        free(g->id);
        if (g->join_timer) event_free(g->join_timer);
        free(g);
        return NULL;
    }
    g->gc = gc;
    g->state = ML_GROUP_EMPTY;
    g->state_ts = ml_wall_ms();
    TAILQ_INIT(&g->members);
    TAILQ_INIT(&g->pending);
    TAILQ_INSERT_TAIL(&gc->groups, g, link);
    gc->n_groups++;
    hash_insert(gc, g);
    hash_maybe_grow(gc);
    return g;
}

static void protocols_free(ml_group_member *m) {
    for (int i = 0; i < m->n_protocols; i++) {
        free(m->protocols[i].name);
        free(m->protocols[i].metadata);
    }
    free(m->protocols);
    m->protocols = NULL;
    m->n_protocols = 0;
}

/* Copies the protocols of a JoinGroup; returns 0 or ML_ENOMEM. */
static int protocols_set(ml_group_member *m, const ml_join_group_request *in) {
    int n = in->n_protocols > 0 ? in->n_protocols : 0;
    ml_group_protocol *p = calloc((size_t)(n ? n : 1), sizeof *p);
    if (!p) return ML_ENOMEM;
    for (int i = 0; i < n; i++) {
        ml_slice md = in->protocols[i].metadata;
        p[i].name = slice_dup(in->protocols[i].name.len >= 0 ? in->protocols[i].name : (ml_slice){(const uint8_t *)"", 0});
        p[i].metadata_len = md.len > 0 ? md.len : 0;
        p[i].metadata = malloc((size_t)p[i].metadata_len + 1);
        if (p[i].metadata && p[i].metadata_len) memcpy(p[i].metadata, md.ptr, (size_t)md.len);
        if (!p[i].name || !p[i].metadata) {
            m->protocols = p;
            m->n_protocols = i + 1;
            protocols_free(m);
            return ML_ENOMEM;
        }
    }
    protocols_free(m);
    m->protocols = p;
    m->n_protocols = n;
    return 0;
}

static int protocols_match(const ml_group_member *m, const ml_join_group_request *in) {
    if (in->n_protocols != m->n_protocols) return 0;
    for (int i = 0; i < m->n_protocols; i++) {
        const ml_join_group_request_protocol *p = &in->protocols[i];
        if (!slice_is(p->name, m->protocols[i].name)) return 0;
        int32_t len = p->metadata.len > 0 ? p->metadata.len : 0;
        if (len != m->protocols[i].metadata_len || (len && memcmp(p->metadata.ptr, m->protocols[i].metadata, (size_t)len)))
            return 0;
    }
    return 1;
}

static int member_supports(const ml_group_member *m, const char *protocol) {
    for (int i = 0; i < m->n_protocols; i++)
        if (strcmp(m->protocols[i].name, protocol) == 0) return 1;
    return 0;
}

static ml_group_member *member_find(ml_group *g, ml_slice id) {
    ml_group_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        if (slice_is(id, m->member_id)) return m;
    }
    return NULL;
}

static ml_group_member *member_by_instance(ml_group *g, ml_slice instance) {
    if (instance.len < 0) return NULL;
    ml_group_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        if (m->instance_id && slice_is(instance, m->instance_id)) return m;
    }
    return NULL;
}

static ml_group_pending *pending_find(ml_group *g, ml_slice id) {
    ml_group_pending *p;
    TAILQ_FOREACH(p, &g->pending, link) {
        if (slice_is(id, p->member_id)) return p;
    }
    return NULL;
}

static void pending_remove(ml_group_pending *p) {
    TAILQ_REMOVE(&p->group->pending, p, link);
    p->group->n_pending--;
    event_free(p->timer);
    free(p->member_id);
    free(p);
}

/* A static member whose instance id now belongs to another member id is fenced. */
static int instance_fenced(ml_group *g, ml_slice member_id, ml_slice instance) {
    ml_group_member *m = member_by_instance(g, instance);
    return m && !slice_is(member_id, m->member_id);
}

/* The parked JoinGroup/SyncGroup of a member whose connection closed. */
static void join_cancel(ml_request *req) {
    ml_group_member *m = req->deferred;
    if (m && m->awaiting_join == req) m->awaiting_join = NULL;
    req->deferred = NULL;
    req->cancel = NULL;
}

static void sync_cancel(ml_request *req) {
    ml_group_member *m = req->deferred;
    if (m && m->awaiting_sync == req) m->awaiting_sync = NULL;
    req->deferred = NULL;
    req->cancel = NULL;
}

static void park_join(ml_group_member *m, ml_request *req) {
    m->awaiting_join = req;
    req->deferred = m;
    req->cancel = join_cancel;
}

static void park_sync(ml_group_member *m, ml_request *req) {
    m->awaiting_sync = req;
    req->deferred = m;
    req->cancel = sync_cancel;
}

static void answer_join(ml_group_member *m, const ml_join_result *res) {
    ml_request *req = m->awaiting_join;
    if (!req) return;
    m->awaiting_join = NULL;
    req->deferred = NULL;
    req->cancel = NULL;
    ml_join_group_respond(req, res);
}

static void answer_join_error(ml_group_member *m, int16_t code) {
    ml_join_result res = {code, -1, NULL, NULL, "", m->member_id, NULL};
    answer_join(m, &res);
}

static void answer_sync(ml_group_member *m, const ml_sync_result *res) {
    ml_request *req = m->awaiting_sync;
    if (!req) return;
    m->awaiting_sync = NULL;
    req->deferred = NULL;
    req->cancel = NULL;
    ml_sync_group_respond(req, res);
}

static void answer_sync_error(ml_group_member *m, int16_t code) {
    ml_sync_result res = {code, NULL, NULL, (const uint8_t *)"", 0};
    answer_sync(m, &res);
}

static void session_expired(evutil_socket_t fd, short what, void *arg);

/* Restarts the member's session timer: called on every sign of life. */
static void heartbeat_seen(ml_group_member *m) {
    struct timeval tv = ms_tv(m->session_timeout_ms);
    evtimer_add(m->session_timer, &tv);
}

static ml_group_member *member_new(ml_group *g, char *member_id) {
    ml_group_member *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->session_timer = evtimer_new(g->gc->base, session_expired, m);
    if (!m->session_timer) {
        free(m);
        return NULL;
    }
    m->group = g;
    m->member_id = member_id;
    TAILQ_INSERT_TAIL(&g->members, m, link);
    g->n_members++;
    if (!g->leader_id) g->leader_id = strdup(member_id);
    return m;
}

static void member_free(ml_group_member *m) {
    event_free(m->session_timer);
    protocols_free(m);
    free(m->member_id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

/* Takes the member out of the group, answering its parked requests with `code`. */
static void member_remove(ml_group_member *m, int16_t code) {
    ml_group *g = m->group;
    answer_join_error(m, code);
    answer_sync_error(m, code);
    TAILQ_REMOVE(&g->members, m, link);
    g->n_members--;
    if (str_eq(g->leader_id, m->member_id)) {
        ml_group_member *first = TAILQ_FIRST(&g->members);
        set_str(&g->leader_id, first ? first->member_id : NULL);
    }
    member_free(m);
}

/* Removes a member and moves the group on: a rebalance, or the end of the current one. */
static void member_remove_and_update(ml_group_member *m, const char *reason) {
    ml_group *g = m->group;
    ml_info("group %s: member %s %s", g->id, m->member_id, reason);
    member_remove(m, ML_KERR_UNKNOWN_MEMBER_ID);
    switch (g->state) {
    case ML_GROUP_STABLE:
    case ML_GROUP_COMPLETING_REBALANCE: prepare_rebalance(g, reason); break;
    case ML_GROUP_PREPARING_REBALANCE: try_complete_join(g); break;
    default: break;
    }
}

static void session_expired(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    ml_group_member *m = arg;
    /* A member waiting in a JoinGroup or SyncGroup is alive: its client is waiting on us. */
    if (m->awaiting_join || m->awaiting_sync) {
        heartbeat_seen(m);
        return;
    }
    member_remove_and_update(m, "left: session timeout expired");
}

static void pending_expired(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    ml_group_pending *p = arg;
    ml_group *g = p->group;
    pending_remove(p);
    if (g->state == ML_GROUP_PREPARING_REBALANCE) try_complete_join(g);
}

/* ------------------------------------------------------------------------------------------ */
/* Rebalance                                                                                    */

static int32_t max_rebalance_timeout(const ml_group *g) {
    int32_t t = 0;
    const ml_group_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        if (m->rebalance_timeout_ms > t) t = m->rebalance_timeout_ms;
    }
    return t;
}

static void prepare_rebalance(ml_group *g, const char *reason) {
    ml_group_member *m;
    if (g->state == ML_GROUP_COMPLETING_REBALANCE) {
        /* The assignment of the generation being completed is void: members must rejoin. */
        TAILQ_FOREACH(m, &g->members, link) {
            free(m->assignment);
            m->assignment = NULL;
            m->assignment_len = 0;
            answer_sync_error(m, ML_KERR_REBALANCE_IN_PROGRESS);
        }
    }
    int64_t delay;
    if (g->state == ML_GROUP_EMPTY) {
        /* group.initial.rebalance.delay.ms: let more members of a starting group join first. */
        int64_t initial = g->gc->server->config->group_initial_rebalance_delay_ms;
        int64_t rebalance = max_rebalance_timeout(g);
        delay = initial < rebalance ? initial : rebalance;
        g->initial_delay = 1;
        g->initial_remaining_ms = rebalance - delay > 0 ? rebalance - delay : 0;
        g->joined_during_delay = 0;
    } else {
        delay = max_rebalance_timeout(g);
        g->initial_delay = 0;
    }
    ml_info("group %s: preparing to rebalance (generation %d): %s", g->id, g->generation, reason);
    set_state(g, ML_GROUP_PREPARING_REBALANCE);
    struct timeval tv = ms_tv(delay);
    evtimer_add(g->join_timer, &tv);
    try_complete_join(g);
}

/* The protocol every member supports that most members prefer. */
static const char *select_protocol(const ml_group *g) {
    const ml_group_member *first = TAILQ_FIRST(&g->members);
    const char *best = NULL;
    int best_votes = -1;
    for (int i = 0; first && i < first->n_protocols; i++) {
        const char *cand = first->protocols[i].name;
        const ml_group_member *m;
        int all = 1;
        TAILQ_FOREACH(m, &g->members, link) {
            if (!member_supports(m, cand)) all = 0;
        }
        if (!all) continue;
        int votes = 0;
        TAILQ_FOREACH(m, &g->members, link) {
            /* Each member votes for its most preferred protocol among the common ones. */
            for (int j = 0; j < m->n_protocols; j++) {
                const char *p = m->protocols[j].name;
                const ml_group_member *o;
                int common = 1;
                TAILQ_FOREACH(o, &g->members, link) {
                    if (!member_supports(o, p)) common = 0;
                }
                if (!common) continue;
                if (strcmp(p, cand) == 0) votes++;
                break;
            }
        }
        if (votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

static int all_joined(const ml_group *g) {
    if (g->n_pending > 0) return 0;
    const ml_group_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        if (!m->awaiting_join) return 0;
    }
    return 1;
}

static void complete_join(ml_group *g) {
    evtimer_del(g->join_timer);
    g->initial_delay = 0;
    /* Dynamic members that did not rejoin in time are gone; static ones keep their place. */
    ml_group_member *m, *next;
    for (m = TAILQ_FIRST(&g->members); m; m = next) {
        next = TAILQ_NEXT(m, link);
        if (!m->awaiting_join && !m->instance_id) {
            ml_info("group %s: member %s did not rejoin in time", g->id, m->member_id);
            member_remove(m, ML_KERR_UNKNOWN_MEMBER_ID);
        }
    }
    g->generation++;
    if (g->n_members == 0) {
        set_str(&g->protocol_name, NULL);
        set_str(&g->leader_id, NULL);
        set_state(g, ML_GROUP_EMPTY);
        ml_info("group %s: generation %d is empty", g->id, g->generation);
        persist_group(g);
        return;
    }
    set_str(&g->protocol_name, select_protocol(g));
    if (!g->protocol_name) {
        /* Cannot happen: joins with no common protocol are refused. Start over with nobody. */
        TAILQ_FOREACH(m, &g->members, link) answer_join_error(m, ML_KERR_INCONSISTENT_GROUP_PROTOCOL);
        return;
    }
    /* The leader must be a member that rejoined: only it gets the member list to assign. */
    ml_group_member *leader = g->leader_id ? member_find(g, ml_group_str(g->leader_id)) : NULL;
    if (!leader || !leader->awaiting_join) {
        TAILQ_FOREACH(m, &g->members, link) {
            if (m->awaiting_join) break;
        }
        set_str(&g->leader_id, (m ? m : TAILQ_FIRST(&g->members))->member_id);
    }
    set_state(g, ML_GROUP_COMPLETING_REBALANCE);
    ml_info("group %s: generation %d with %d members, leader %s, protocol %s", g->id, g->generation, g->n_members,
            g->leader_id, g->protocol_name);
    for (m = TAILQ_FIRST(&g->members); m; m = next) {
        next = TAILQ_NEXT(m, link);
        ml_join_result res = {ML_KERR_NONE, g->generation, g->protocol_type, g->protocol_name, g->leader_id,
                              m->member_id, str_eq(m->member_id, g->leader_id) ? g : NULL};
        answer_join(m, &res);
        heartbeat_seen(m);
    }
}

static void try_complete_join(ml_group *g) {
    if (g->state != ML_GROUP_PREPARING_REBALANCE || g->initial_delay) return;
    if (all_joined(g)) complete_join(g);
}

static void join_timer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    ml_group *g = arg;
    if (g->state != ML_GROUP_PREPARING_REBALANCE) return;
    if (g->initial_delay && g->joined_during_delay && g->initial_remaining_ms > 0) {
        /* Members kept arriving: wait until none came for a whole delay, within the rebalance
         * timeout (members that all join at once are answered one delay after the first). */
        int64_t initial = g->gc->server->config->group_initial_rebalance_delay_ms;
        int64_t quiet = ml_mono_ms() - g->last_join_ms;
        if (quiet < initial) {
            int64_t delay = initial - quiet;
            if (delay > g->initial_remaining_ms) delay = g->initial_remaining_ms;
            g->initial_remaining_ms -= delay;
            g->joined_during_delay = 0;
            struct timeval tv = ms_tv(delay);
            evtimer_add(g->join_timer, &tv);
            return;
        }
    }
    complete_join(g);
}

/* Adds the member's join to the rebalance in progress, or starts one. */
static void join_and_rebalance(ml_group *g, ml_group_member *m, ml_request *req, const char *reason) {
    park_join(m, req);
    if (g->state == ML_GROUP_PREPARING_REBALANCE) {
        if (g->initial_delay) {
            g->joined_during_delay = 1;
            g->last_join_ms = ml_mono_ms();
        }
        try_complete_join(g);
    } else {
        prepare_rebalance(g, reason);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* JoinGroup                                                                                    */

static void join_answer_now(ml_request *req, int16_t code, const char *member_id) {
    ml_join_result res = {code, -1, NULL, NULL, "", member_id ? member_id : "", NULL};
    ml_join_group_respond(req, &res);
}

static void set_protocol_type(ml_group *g, ml_slice type) {
    char *t = slice_dup(type);
    if (!t) return;
    free(g->protocol_type);
    g->protocol_type = t;
}

static int fill_member(ml_group_member *m, ml_request *req, const ml_join_group_request *in) {
    m->session_timeout_ms = in->session_timeout_ms;
    m->rebalance_timeout_ms = in->rebalance_timeout_ms > 0 ? in->rebalance_timeout_ms : in->session_timeout_ms;
    free(m->client_id);
    m->client_id = slice_dup(req->client_id.len >= 0 ? req->client_id : (ml_slice){(const uint8_t *)"", 0});
    if (!m->client_host) m->client_host = client_host(req);
    if (!m->client_id || !m->client_host) return ML_ENOMEM;
    return protocols_set(m, in);
}

/* The protocol type and protocols of a join must fit the group's. */
static int join_consistent(const ml_group *g, const ml_join_group_request *in) {
    if (in->protocol_type.len <= 0 || in->n_protocols <= 0) return 0;
    if (g->n_members == 0) return 1;
    if (!slice_is(in->protocol_type, g->protocol_type)) return 0;
    /* At least one protocol every current member supports. */
    for (int i = 0; i < in->n_protocols; i++) {
        char *name = slice_dup(in->protocols[i].name);
        if (!name) continue;
        int all = 1;
        const ml_group_member *m;
        TAILQ_FOREACH(m, &g->members, link) {
            if (!member_supports(m, name)) all = 0;
        }
        free(name);
        if (all) return 1;
    }
    return 0;
}

static void join_new_member(ml_group *g, ml_request *req, const ml_join_group_request *in) {
    char *id = new_member_id(req->client_id);
    if (!id) {
        join_answer_now(req, ML_KERR_UNKNOWN_SERVER_ERROR, NULL);
        return;
    }
    if (req->api_version >= 4 && in->group_instance_id.len < 0) {
        /* KIP-394: hand out the id first; the member joins for real with it. */
        ml_group_pending *p = calloc(1, sizeof *p);
        if (p) p->timer = evtimer_new(g->gc->base, pending_expired, p);
        if (!p || !p->timer) {
            free(p);
            free(id);
            join_answer_now(req, ML_KERR_UNKNOWN_SERVER_ERROR, NULL);
            return;
        }
        p->group = g;
        p->member_id = id;
        TAILQ_INSERT_TAIL(&g->pending, p, link);
        g->n_pending++;
        struct timeval tv = ms_tv(in->session_timeout_ms);
        evtimer_add(p->timer, &tv);
        join_answer_now(req, ML_KERR_MEMBER_ID_REQUIRED, id);
        return;
    }
    ml_group_member *m = member_new(g, id);
    if (!m) {
        free(id);
        join_answer_now(req, ML_KERR_UNKNOWN_SERVER_ERROR, NULL);
        return;
    }
    m->instance_id = slice_dup(in->group_instance_id);
    if (fill_member(m, req, in) != 0) {
        member_remove(m, ML_KERR_UNKNOWN_SERVER_ERROR);
        join_answer_now(req, ML_KERR_UNKNOWN_SERVER_ERROR, NULL);
        return;
    }
    if (g->n_members == 1) set_protocol_type(g, in->protocol_type); /* the first member sets it */
    join_and_rebalance(g, m, req, "a new member joined");
}

/* A static member restarted: it takes over its old place under a new member id. */
static void join_static_again(ml_group *g, ml_group_member *m, ml_request *req, const ml_join_group_request *in) {
    char *id = new_member_id(req->client_id);
    if (!id) {
        join_answer_now(req, ML_KERR_UNKNOWN_SERVER_ERROR, NULL);
        return;
    }
    answer_join_error(m, ML_KERR_FENCED_INSTANCE_ID);
    answer_sync_error(m, ML_KERR_FENCED_INSTANCE_ID);
    int was_leader = str_eq(g->leader_id, m->member_id);
    int same = protocols_match(m, in);
    free(m->member_id);
    m->member_id = id;
    if (was_leader) set_str(&g->leader_id, id);
    if (fill_member(m, req, in) != 0) {
        join_answer_now(req, ML_KERR_UNKNOWN_SERVER_ERROR, NULL);
        return;
    }
    heartbeat_seen(m);
    if (g->state == ML_GROUP_STABLE && same && !was_leader) {
        /* Nothing changed: no rebalance, the member gets its assignment again from SyncGroup. */
        ml_join_result res = {ML_KERR_NONE, g->generation, g->protocol_type, g->protocol_name, g->leader_id, id,
                              NULL};
        ml_join_group_respond(req, &res);
        return;
    }
    join_and_rebalance(g, m, req, "a static member rejoined");
}

static void join_known_member(ml_group *g, ml_group_member *m, ml_request *req, const ml_join_group_request *in) {
    int same = protocols_match(m, in);
    heartbeat_seen(m);
    switch (g->state) {
    case ML_GROUP_PREPARING_REBALANCE:
        if (fill_member(m, req, in) != 0) break;
        if (m->awaiting_join) answer_join_error(m, ML_KERR_REBALANCE_IN_PROGRESS); /* superseded */
        join_and_rebalance(g, m, req, "a member rejoined");
        return;
    case ML_GROUP_COMPLETING_REBALANCE:
        if (same) {
            /* The member missed the JoinGroup answer: send it again. */
            ml_join_result res = {ML_KERR_NONE, g->generation, g->protocol_type, g->protocol_name, g->leader_id,
                                  m->member_id, str_eq(m->member_id, g->leader_id) ? g : NULL};
            ml_join_group_respond(req, &res);
            return;
        }
        if (fill_member(m, req, in) != 0) break;
        join_and_rebalance(g, m, req, "a member changed its subscription");
        return;
    case ML_GROUP_STABLE:
        if (same && !str_eq(m->member_id, g->leader_id)) {
            ml_join_result res = {ML_KERR_NONE, g->generation, g->protocol_type, g->protocol_name, g->leader_id,
                                  m->member_id, NULL};
            ml_join_group_respond(req, &res);
            return;
        }
        if (fill_member(m, req, in) != 0) break;
        join_and_rebalance(g, m, req, same ? "the leader rejoined" : "a member changed its subscription");
        return;
    default:
        join_answer_now(req, ML_KERR_UNKNOWN_MEMBER_ID, m->member_id);
        return;
    }
    join_answer_now(req, ML_KERR_UNKNOWN_SERVER_ERROR, m->member_id);
}

void ml_group_join(ml_group_coordinator *gc, ml_request *req, const ml_join_group_request *in) {
    const ml_broker_config *cfg = gc->server->config;
    if (in->group_id.len <= 0) {
        join_answer_now(req, ML_KERR_INVALID_GROUP_ID, NULL);
        return;
    }
    if (in->session_timeout_ms < cfg->group_min_session_timeout_ms ||
        in->session_timeout_ms > cfg->group_max_session_timeout_ms) {
        join_answer_now(req, ML_KERR_INVALID_SESSION_TIMEOUT, NULL);
        return;
    }
    int unknown = in->member_id.len <= 0;
    ml_group *g = find_slice(gc, in->group_id);
    if (!g) {
        if (!unknown) {
            join_answer_now(req, ML_KERR_UNKNOWN_MEMBER_ID, NULL);
            return;
        }
        g = group_new(gc, (const char *)in->group_id.ptr, in->group_id.len);
        if (!g) {
            join_answer_now(req, ML_KERR_UNKNOWN_SERVER_ERROR, NULL);
            return;
        }
    }
    if (g->state == ML_GROUP_DEAD) {
        join_answer_now(req, ML_KERR_COORDINATOR_NOT_AVAILABLE, NULL);
        return;
    }
    if (!join_consistent(g, in)) {
        join_answer_now(req, ML_KERR_INCONSISTENT_GROUP_PROTOCOL, NULL);
        return;
    }
    if (unknown) {
        ml_group_member *st = member_by_instance(g, in->group_instance_id);
        if (st)
            join_static_again(g, st, req, in);
        else
            join_new_member(g, req, in);
        return;
    }
    ml_group_pending *p = pending_find(g, in->member_id);
    if (p) {
        char *id = p->member_id;
        p->member_id = NULL;
        pending_remove(p);
        ml_group_member *m = member_new(g, id);
        if (!m) {
            free(id);
            join_answer_now(req, ML_KERR_UNKNOWN_SERVER_ERROR, NULL);
            return;
        }
        if (fill_member(m, req, in) != 0) {
            member_remove(m, ML_KERR_UNKNOWN_SERVER_ERROR);
            join_answer_now(req, ML_KERR_UNKNOWN_SERVER_ERROR, NULL);
            return;
        }
        if (g->n_members == 1) set_protocol_type(g, in->protocol_type);
        join_and_rebalance(g, m, req, "a new member joined");
        return;
    }
    if (instance_fenced(g, in->member_id, in->group_instance_id)) {
        join_answer_now(req, ML_KERR_FENCED_INSTANCE_ID, NULL);
        return;
    }
    ml_group_member *m = member_find(g, in->member_id);
    if (!m) {
        join_answer_now(req, ML_KERR_UNKNOWN_MEMBER_ID, NULL);
        return;
    }
    join_known_member(g, m, req, in);
}

/* ------------------------------------------------------------------------------------------ */
/* SyncGroup                                                                                    */

static void sync_answer_now(ml_request *req, int16_t code) {
    ml_sync_result res = {code, NULL, NULL, (const uint8_t *)"", 0};
    ml_sync_group_respond(req, &res);
}

static void sync_answer_member(ml_group *g, ml_group_member *m) {
    ml_sync_result res = {ML_KERR_NONE, g->protocol_type, g->protocol_name,
                          m->assignment ? m->assignment : (const uint8_t *)"", m->assignment_len};
    answer_sync(m, &res);
}

void ml_group_sync(ml_group_coordinator *gc, ml_request *req, const ml_sync_group_request *in) {
    ml_group *g = find_slice(gc, in->group_id);
    if (in->group_id.len <= 0) {
        sync_answer_now(req, ML_KERR_INVALID_GROUP_ID);
        return;
    }
    if (!g) {
        sync_answer_now(req, ML_KERR_UNKNOWN_MEMBER_ID);
        return;
    }
    if (g->state == ML_GROUP_DEAD) {
        sync_answer_now(req, ML_KERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    if (instance_fenced(g, in->member_id, in->group_instance_id)) {
        sync_answer_now(req, ML_KERR_FENCED_INSTANCE_ID);
        return;
    }
    ml_group_member *m = member_find(g, in->member_id);
    if (!m) {
        sync_answer_now(req, ML_KERR_UNKNOWN_MEMBER_ID);
        return;
    }
    if (in->generation_id != g->generation) {
        sync_answer_now(req, ML_KERR_ILLEGAL_GENERATION);
        return;
    }
    if ((in->protocol_type.len >= 0 && !slice_is(in->protocol_type, g->protocol_type)) ||
        (in->protocol_name.len >= 0 && !slice_is(in->protocol_name, g->protocol_name))) {
        sync_answer_now(req, ML_KERR_INCONSISTENT_GROUP_PROTOCOL);
        return;
    }
    heartbeat_seen(m);
    switch (g->state) {
    case ML_GROUP_PREPARING_REBALANCE: sync_answer_now(req, ML_KERR_REBALANCE_IN_PROGRESS); return;
    case ML_GROUP_STABLE:
        park_sync(m, req);
        sync_answer_member(g, m);
        return;
    case ML_GROUP_COMPLETING_REBALANCE: break;
    default: sync_answer_now(req, ML_KERR_UNKNOWN_MEMBER_ID); return;
    }
    if (m->awaiting_sync) answer_sync_error(m, ML_KERR_REBALANCE_IN_PROGRESS); /* superseded */
    park_sync(m, req);
    if (!str_eq(m->member_id, g->leader_id)) return;
    /* The leader's assignment: every member gets its part (an empty one when left out). */
    ml_group_member *o;
    TAILQ_FOREACH(o, &g->members, link) {
        free(o->assignment);
        o->assignment = NULL;
        o->assignment_len = 0;
    }
    for (int32_t i = 0; i < in->n_assignments; i++) {
        const ml_sync_group_request_assignment *a = &in->assignments[i];
        o = member_find(g, a->member_id);
        if (!o || o->assignment) continue;
        int32_t len = a->assignment.len > 0 ? a->assignment.len : 0;
        o->assignment = malloc((size_t)len + 1);
        if (!o->assignment) continue;
        if (len) memcpy(o->assignment, a->assignment.ptr, (size_t)len);
        o->assignment_len = len;
    }
    set_state(g, ML_GROUP_STABLE);
    persist_group(g);
    ml_group_member *next;
    for (o = TAILQ_FIRST(&g->members); o; o = next) {
        next = TAILQ_NEXT(o, link);
        sync_answer_member(g, o);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Heartbeat, LeaveGroup, DeleteGroups                                                          */

int16_t ml_group_heartbeat(ml_group_coordinator *gc, ml_slice group, int32_t generation, ml_slice member_id,
                           ml_slice instance_id) {
    if (group.len <= 0) return ML_KERR_INVALID_GROUP_ID;
    ml_group *g = find_slice(gc, group);
    if (!g) return ML_KERR_UNKNOWN_MEMBER_ID;
    if (g->state == ML_GROUP_DEAD) return ML_KERR_COORDINATOR_NOT_AVAILABLE;
    if (instance_fenced(g, member_id, instance_id)) return ML_KERR_FENCED_INSTANCE_ID;
    ml_group_member *m = member_find(g, member_id);
    if (!m || g->state == ML_GROUP_EMPTY) return ML_KERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation) return ML_KERR_ILLEGAL_GENERATION;
    heartbeat_seen(m);
    return g->state == ML_GROUP_PREPARING_REBALANCE ? ML_KERR_REBALANCE_IN_PROGRESS : ML_KERR_NONE;
}

int16_t ml_group_leave(ml_group_coordinator *gc, ml_slice group, ml_slice member_id, ml_slice instance_id) {
    if (group.len <= 0) return ML_KERR_INVALID_GROUP_ID;
    ml_group *g = find_slice(gc, group);
    if (!g) return ML_KERR_UNKNOWN_MEMBER_ID;
    if (g->state == ML_GROUP_DEAD) return ML_KERR_COORDINATOR_NOT_AVAILABLE;
    ml_group_member *m;
    if (instance_id.len >= 0) {
        m = member_by_instance(g, instance_id);
        if (!m) return ML_KERR_UNKNOWN_MEMBER_ID;
        if (member_id.len > 0 && !slice_is(member_id, m->member_id)) return ML_KERR_FENCED_INSTANCE_ID;
    } else {
        ml_group_pending *p = pending_find(g, member_id);
        if (p) {
            pending_remove(p);
            if (g->state == ML_GROUP_PREPARING_REBALANCE) try_complete_join(g);
            return ML_KERR_NONE;
        }
        m = member_find(g, member_id);
        if (!m) return ML_KERR_UNKNOWN_MEMBER_ID;
    }
    member_remove_and_update(m, "left the group");
    return ML_KERR_NONE;
}

static void offsets_clear(ml_group *g) {
    for (int i = 0; i < g->n_offsets; i++) {
        free(g->offsets[i].topic);
        free(g->offsets[i].metadata);
    }
    free(g->offsets);
    g->offsets = NULL;
    g->n_offsets = g->cap_offsets = 0;
    offsets_reindex(g);
}

static void group_free(ml_group *g) {
    ml_group_member *m;
    while ((m = TAILQ_FIRST(&g->members))) member_remove(m, ML_KERR_COORDINATOR_NOT_AVAILABLE);
    ml_group_pending *p;
    while ((p = TAILQ_FIRST(&g->pending))) pending_remove(p);
    event_free(g->join_timer);
    offsets_clear(g);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader_id);
    free(g->id);
    free(g);
}

static void group_remove(ml_group *g) {
    hash_remove(g->gc, g);
    TAILQ_REMOVE(&g->gc->groups, g, link);
    g->gc->n_groups--;
    group_free(g);
}

/* Appends records of `g` to its partition of __consumer_offsets and wakes fetches reading it. */
static int group_append(ml_group *g, const ml_offsets_record *recs, int n, int64_t now_ms, ml_err *err) {
    ml_group_coordinator *gc = g->gc;
    int32_t p = ml_offsets_partition_for(g->id, (int32_t)strlen(g->id), gc->n_partitions);
    int rc = ml_offsets_append(gc->server->logs, p, recs, n, now_ms, err);
    if (rc == ML_ENOENT) gc->n_partitions = 0; /* the topic was deleted: created again on next use */
    if (rc == 0) ml_server_on_append(gc->server, ML_OFFSETS_TOPIC, p);
    return rc;
}

/* Tombstones for the group and every offset of it. */
static int write_tombstones(ml_group *g, ml_err *err) {
    ml_group_coordinator *gc = g->gc;
    if (gc->n_partitions <= 0) return 0;
    int n = g->n_offsets + 1;
    ml_writer *keys = calloc((size_t)n, sizeof *keys);
    ml_offsets_record *recs = calloc((size_t)n, sizeof *recs);
    int rc = 0;
    if (!keys || !recs) {
        rc = ml_err_set(err, ML_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        ml_writer_init(&keys[i], 64);
        if (i < g->n_offsets)
            ml_offsets_commit_key(&keys[i], g->id, g->offsets[i].topic, g->offsets[i].partition);
        else
            ml_offsets_group_key(&keys[i], g->id);
        recs[i] = (ml_offsets_record){keys[i].data, (int32_t)keys[i].len, NULL, -1};
    }
    rc = group_append(g, recs, n, ml_wall_ms(), err);
out:
    if (keys)
        for (int i = 0; i < n; i++) ml_writer_free(&keys[i]);
    free(keys);
    free(recs);
    return rc;
}

int16_t ml_group_delete(ml_group_coordinator *gc, ml_slice group) {
    if (group.len <= 0) return ML_KERR_INVALID_GROUP_ID;
    ml_group *g = find_slice(gc, group);
    if (!g || g->state == ML_GROUP_DEAD) return ML_KERR_GROUP_ID_NOT_FOUND;
    if (g->state != ML_GROUP_EMPTY || g->n_members > 0) return ML_KERR_NON_EMPTY_GROUP;
    ml_err err = {0};
    if (write_tombstones(g, &err) != 0) {
        ml_error("deleting group %s: %s", g->id, err.msg);
        return ML_KERR_UNKNOWN_SERVER_ERROR;
    }
    ml_info("group %s deleted", g->id);
    set_state(g, ML_GROUP_DEAD);
    group_remove(g);
    return ML_KERR_NONE;
}

/* ------------------------------------------------------------------------------------------ */
/* Offsets                                                                                      */

/* A group commits for every partition it reads: past a few offsets they are found through an
 * open-addressing index (topic, partition) -> position, rebuilt when it fills or loses one. */
#define ML_OFFSETS_LINEAR 16

static uint32_t offset_hash(const uint8_t *topic, int32_t len, int32_t partition) {
    return id_hash((const char *)topic, len) ^ ((uint32_t)partition * 2654435761u);
}

static void offsets_reindex(ml_group *g) {
    free(g->offset_slots);
    g->offset_slots = NULL;
    g->n_offset_slots = 0;
    if (g->n_offsets < ML_OFFSETS_LINEAR) return;
    int32_t n = 64;
    while (n < g->n_offsets * 2) n *= 2;
    g->offset_slots = calloc((size_t)n, sizeof *g->offset_slots);
    if (!g->offset_slots) return; /* linear search, still correct */
    g->n_offset_slots = n;
    for (int i = 0; i < g->n_offsets; i++) {
        const ml_group_offset *o = &g->offsets[i];
        uint32_t h = offset_hash((const uint8_t *)o->topic, (int32_t)strlen(o->topic), o->partition);
        int32_t j = (int32_t)(h & (uint32_t)(n - 1));
        while (g->offset_slots[j]) j = (j + 1) & (n - 1);
        g->offset_slots[j] = i + 1;
    }
}

const ml_group_offset *ml_group_offset_find(const ml_group *g, ml_slice topic, int32_t partition) {
    if (!g->n_offset_slots) {
        for (int i = 0; i < g->n_offsets; i++)
            if (g->offsets[i].partition == partition && slice_is(topic, g->offsets[i].topic)) return &g->offsets[i];
        return NULL;
    }
    int32_t mask = g->n_offset_slots - 1;
    for (int32_t j = (int32_t)(offset_hash(topic.ptr, topic.len, partition) & (uint32_t)mask); g->offset_slots[j];
         j = (j + 1) & mask) {
        const ml_group_offset *o = &g->offsets[g->offset_slots[j] - 1];
        if (o->partition == partition && slice_is(topic, o->topic)) return o;
    }
    return NULL;
}

static int offset_set(ml_group *g, const char *topic, int32_t partition, int64_t offset, int32_t epoch,
                      const char *metadata, int64_t ts) {
    ml_group_offset *o = (ml_group_offset *)ml_group_offset_find(g, (ml_slice){(const uint8_t *)topic,
                                                                              (int32_t)strlen(topic)}, partition);
    if (!o) {
        if (g->n_offsets == g->cap_offsets) {
            int cap = g->cap_offsets ? g->cap_offsets * 2 : 8;
            ml_group_offset *no = realloc(g->offsets, (size_t)cap * sizeof *no);
            if (!no) return ML_ENOMEM;
            g->offsets = no;
            g->cap_offsets = cap;
        }
        o = &g->offsets[g->n_offsets];
        memset(o, 0, sizeof *o);
        o->topic = strdup(topic);
        if (!o->topic) return ML_ENOMEM;
        o->partition = partition;
        g->n_offsets++;
        if (g->n_offsets >= ML_OFFSETS_LINEAR && g->n_offsets * 2 > g->n_offset_slots) {
            offsets_reindex(g);
        } else if (g->n_offset_slots) {
            int32_t mask = g->n_offset_slots - 1;
            int32_t j = (int32_t)(offset_hash((const uint8_t *)topic, (int32_t)strlen(topic), partition) & (uint32_t)mask);
            while (g->offset_slots[j]) j = (j + 1) & mask;
            g->offset_slots[j] = g->n_offsets;
        }
    }
    o->offset = offset;
    o->leader_epoch = epoch;
    set_str(&o->metadata, metadata ? metadata : "");
    o->commit_ts = ts;
    return 0;
}

static void offset_delete(ml_group *g, ml_slice topic, int32_t partition) {
    ml_group_offset *o = (ml_group_offset *)ml_group_offset_find(g, topic, partition);
    if (!o) return;
    free(o->topic);
    free(o->metadata);
    *o = g->offsets[--g->n_offsets];
    offsets_reindex(g);
}

int16_t ml_group_validate_commit(ml_group_coordinator *gc, ml_slice group, int32_t generation, ml_slice member_id,
                                 ml_slice instance_id) {
    if (group.len <= 0) return ML_KERR_INVALID_GROUP_ID;
    ml_group *g = find_slice(gc, group);
    int simple = generation < 0 && member_id.len <= 0 && instance_id.len < 0;
    if (!g) {
        /* No such group: offsets-only commits create it; a generation cannot be right. */
        if (generation < 0) return member_id.len <= 0 && instance_id.len < 0 ? ML_KERR_NONE : ML_KERR_UNKNOWN_MEMBER_ID;
        return ML_KERR_ILLEGAL_GENERATION;
    }
    if (g->state == ML_GROUP_DEAD) return ML_KERR_COORDINATOR_NOT_AVAILABLE;
    if (simple && g->state == ML_GROUP_EMPTY) return ML_KERR_NONE; /* a group that only stores offsets */
    if (instance_fenced(g, member_id, instance_id)) return ML_KERR_FENCED_INSTANCE_ID;
    ml_group_member *m = member_find(g, member_id);
    if (!m) return ML_KERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation) return ML_KERR_ILLEGAL_GENERATION;
    if (g->state == ML_GROUP_COMPLETING_REBALANCE) return ML_KERR_REBALANCE_IN_PROGRESS;
    heartbeat_seen(m);
    return ML_KERR_NONE;
}

void ml_group_commit_offsets(ml_group_coordinator *gc, ml_slice group, ml_offset_commit_in *offs, int n) {
    ml_err err = {0};
    ml_group *g = find_slice(gc, group);
    if (!g) g = group_new(gc, (const char *)group.ptr, group.len);
    if (!g || ml_group_coordinator_ensure_topic(gc, &err) < 0) {
        if (g) ml_error("committing offsets of %s: %s", g->id, err.msg);
        for (int i = 0; i < n; i++) offs[i].error_code = ML_KERR_COORDINATOR_NOT_AVAILABLE;
        return;
    }
    int64_t now = ml_wall_ms();
    ml_writer *kv = calloc((size_t)(2 * (n ? n : 1)), sizeof *kv);
    ml_offsets_record *recs = calloc((size_t)(n ? n : 1), sizeof *recs);
    int nr = 0;
    if (!kv || !recs) {
        free(kv);
        free(recs);
        for (int i = 0; i < n; i++) offs[i].error_code = ML_KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    for (int i = 0; i < n; i++) {
        ml_offset_commit_in *o = &offs[i];
        if (o->error_code) continue;
        char *topic = slice_dup(o->topic), *md = slice_dup(o->metadata);
        ml_writer *k = &kv[2 * nr], *v = &kv[2 * nr + 1];
        ml_writer_init(k, 64);
        ml_writer_init(v, 64);
        if (topic) {
            ml_offsets_commit_key(k, g->id, topic, o->partition);
            ml_offsets_commit_value(v, o->offset, o->leader_epoch, md, now);
        }
        if (!topic || k->err || v->err) {
            o->error_code = ML_KERR_UNKNOWN_SERVER_ERROR;
            ml_writer_free(k);
            ml_writer_free(v);
        } else {
            recs[nr++] = (ml_offsets_record){k->data, (int32_t)k->len, v->data, (int32_t)v->len};
        }
        free(topic);
        free(md);
    }
    int rc = nr ? group_append(g, recs, nr, now, &err) : 0;
    if (rc != 0) ml_error("committing offsets of %s: %s", g->id, err.msg);
    for (int i = 0; i < n; i++) {
        ml_offset_commit_in *o = &offs[i];
        if (o->error_code) continue;
        if (rc != 0) {
            o->error_code = ML_KERR_COORDINATOR_NOT_AVAILABLE;
            continue;
        }
        char *topic = slice_dup(o->topic), *md = slice_dup(o->metadata);
        if (!topic || offset_set(g, topic, o->partition, o->offset, o->leader_epoch, md, now) != 0)
            o->error_code = ML_KERR_UNKNOWN_SERVER_ERROR;
        free(topic);
        free(md);
    }
    for (int i = 0; i < 2 * nr; i++) ml_writer_free(&kv[i]);
    free(kv);
    free(recs);
}

/* ------------------------------------------------------------------------------------------ */
/* __consumer_offsets                                                                           */

int ml_group_coordinator_ensure_topic(ml_group_coordinator *gc, ml_err *err) {
    if (gc->n_partitions > 0) return gc->n_partitions;
    ml_log_manager *lm = gc->server->logs;
    int32_t n = ml_log_manager_partition_count(lm, ML_OFFSETS_TOPIC);
    if (n <= 0) {
        n = gc->server->config->offsets_topic_num_partitions;
        /* Compacted: the last commit per key is all a restart needs. Segments follow the broker's
         * log.segment.bytes (Kafka has a separate offsets.topic.segment.bytes, 100 MiB). */
        const char *names[] = {"cleanup.policy"};
        const char *values[] = {"compact"};
        int rc = ml_log_manager_create_topic(lm, ML_OFFSETS_TOPIC, n, names, values, 1, ml_wall_ms(), err);
        if (rc != 0 && rc != ML_EEXIST) return rc;
        ml_info("created %s with %d partitions", ML_OFFSETS_TOPIC, n);
    }
    gc->n_partitions = n;
    return n;
}

static void persist_group(ml_group *g) {
    ml_group_coordinator *gc = g->gc;
    ml_err err = {0};
    if (ml_group_coordinator_ensure_topic(gc, &err) < 0) {
        ml_error("storing group %s: %s", g->id, err.msg);
        return;
    }
    ml_writer k, v;
    ml_writer_init(&k, 64);
    ml_writer_init(&v, 256);
    ml_offsets_group_key(&k, g->id);
    ml_offsets_group_value(&v, g);
    ml_offsets_record rec = {k.data, (int32_t)k.len, v.data, (int32_t)v.len};
    int rc = k.err || v.err ? ml_err_set(&err, ML_ENOMEM, "out of memory") : group_append(g, &rec, 1, ml_wall_ms(), &err);
    if (rc != 0) ml_error("storing group %s: %s", g->id, err.msg);
    ml_writer_free(&k);
    ml_writer_free(&v);
}

/* Rebuilds a group's metadata from its stored value: a Stable group gets its members back
 * (their session timers start now), an empty one only its generation. */
static void load_group_value(ml_group *g, ml_slice value) {
    ml_offsets_group v;
    if (ml_offsets_group_decode(value, &v) != 0) {
        ml_warn("%s: undecodable metadata of group %s skipped", ML_OFFSETS_TOPIC, g->id);
        return;
    }
    ml_group_member *m;
    while ((m = TAILQ_FIRST(&g->members))) member_remove(m, ML_KERR_COORDINATOR_NOT_AVAILABLE);
    g->generation = v.generation;
    free(g->protocol_type);
    g->protocol_type = v.protocol_type.len > 0 ? slice_dup(v.protocol_type) : NULL;
    free(g->protocol_name);
    g->protocol_name = slice_dup(v.protocol);
    free(g->leader_id);
    g->leader_id = NULL;
    g->state_ts = v.state_ts > 0 ? v.state_ts : ml_wall_ms();
    for (int32_t i = 0; i < v.n_members; i++) {
        ml_offsets_member om;
        if (ml_offsets_member_next(&v, &om) != 0) break;
        char *id = slice_dup(om.member_id);
        m = id ? member_new(g, id) : NULL;
        if (!m) {
            free(id);
            break;
        }
        m->instance_id = slice_dup(om.instance_id);
        m->client_id = slice_dup(om.client_id.len >= 0 ? om.client_id : (ml_slice){(const uint8_t *)"", 0});
        m->client_host = slice_dup(om.client_host.len >= 0 ? om.client_host : (ml_slice){(const uint8_t *)"", 0});
        m->session_timeout_ms = om.session_timeout_ms;
        m->rebalance_timeout_ms = om.rebalance_timeout_ms;
        m->protocols = calloc(1, sizeof *m->protocols);
        if (m->protocols && g->protocol_name) {
            m->n_protocols = 1;
            m->protocols[0].name = strdup(g->protocol_name);
            int32_t len = om.subscription.len > 0 ? om.subscription.len : 0;
            m->protocols[0].metadata = malloc((size_t)len + 1);
            if (m->protocols[0].metadata && len) memcpy(m->protocols[0].metadata, om.subscription.ptr, (size_t)len);
            m->protocols[0].metadata_len = len;
        }
        int32_t alen = om.assignment.len > 0 ? om.assignment.len : 0;
        m->assignment = malloc((size_t)alen + 1);
        if (m->assignment && alen) memcpy(m->assignment, om.assignment.ptr, (size_t)alen);
        m->assignment_len = alen;
    }
    set_str(&g->leader_id, NULL);
    if (v.leader.len > 0 && member_find(g, v.leader)) g->leader_id = slice_dup(v.leader);
    else if (TAILQ_FIRST(&g->members)) g->leader_id = strdup(TAILQ_FIRST(&g->members)->member_id);
    g->state = g->n_members > 0 ? ML_GROUP_STABLE : ML_GROUP_EMPTY;
}

static void load_record(void *ctx, ml_slice key, ml_slice value) {
    ml_group_coordinator *gc = ctx;
    ml_offsets_key k;
    if (ml_offsets_key_decode(key, &k) != 0) {
        ml_warn("%s: a record with an unknown key skipped", ML_OFFSETS_TOPIC);
        return;
    }
    ml_group *g = find_slice(gc, k.group);
    if (value.len < 0) {
        /* A tombstone: the offset expired or the group was deleted. */
        if (!g) return;
        if (k.kind == 1)
            offset_delete(g, k.topic, k.partition);
        else
            group_remove(g);
        return;
    }
    if (!g) g = group_new(gc, (const char *)k.group.ptr, k.group.len);
    if (!g) return;
    if (k.kind == 2) {
        load_group_value(g, value);
        return;
    }
    ml_offsets_commit c;
    if (ml_offsets_commit_decode(value, &c) != 0) {
        ml_warn("%s: an undecodable offset of group %s skipped", ML_OFFSETS_TOPIC, g->id);
        return;
    }
    char *topic = slice_dup(k.topic), *md = slice_dup(c.metadata);
    if (topic) offset_set(g, topic, k.partition, c.offset, c.leader_epoch, md, c.commit_ts);
    free(topic);
    free(md);
}

/* offsets.retention.minutes: offsets of a group that has been empty that long are dropped
 * (tombstones written), and the group with them; a group that only stores offsets (never had a
 * member) loses each offset that old. */
static void expire_offsets(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    ml_group_coordinator *gc = arg;
    int64_t now = ml_wall_ms();
    int64_t keep = gc->server->config->offsets_retention_minutes * 60000;
    ml_group *g, *next;
    for (g = TAILQ_FIRST(&gc->groups); g; g = next) {
        next = TAILQ_NEXT(g, link);
        if (g->state != ML_GROUP_EMPTY) continue;
        int64_t since = g->protocol_type ? g->state_ts : 0;
        int all = 1;
        for (int i = 0; i < g->n_offsets; i++) {
            int64_t t = since ? since : g->offsets[i].commit_ts;
            if (now - t < keep) all = 0;
        }
        if (!all) continue;
        ml_err err = {0};
        if (write_tombstones(g, &err) != 0) {
            ml_error("expiring offsets of %s: %s", g->id, err.msg);
            continue;
        }
        ml_info("group %s: offsets expired (offsets.retention.minutes)", g->id);
        group_remove(g);
    }
}

int ml_group_coordinator_open(ml_server *s, ml_group_coordinator **out, ml_err *err) {
    ml_group_coordinator *gc = calloc(1, sizeof *gc);
    if (!gc) return ml_err_set(err, ML_ENOMEM, "out of memory");
    gc->server = s;
    gc->base = s->base;
    TAILQ_INIT(&gc->groups);
    gc->n_buckets = 256;
    gc->buckets = calloc(gc->n_buckets, sizeof *gc->buckets);
    gc->expire_timer = event_new(s->base, -1, EV_PERSIST, expire_offsets, gc);
    if (!gc->expire_timer || !gc->buckets) {
        if (gc->expire_timer) event_free(gc->expire_timer);
        free(gc->buckets);
        free(gc);
        return ml_err_set(err, ML_ENOMEM, "out of memory");
    }
    struct timeval tv = ms_tv(s->config->offsets_retention_check_interval_ms);
    event_add(gc->expire_timer, &tv);
    int32_t n = ml_log_manager_partition_count(s->logs, ML_OFFSETS_TOPIC);
    if (n > 0) {
        gc->n_partitions = n;
        int64_t t0 = ml_mono_ms();
        for (int32_t p = 0; p < n; p++) {
            int rc = ml_offsets_load_partition(s->logs, p, load_record, gc, err);
            if (rc != 0) {
                ml_group_coordinator_free(gc);
                return rc;
            }
        }
        /* Members restored from a Stable generation must heartbeat again within their session. */
        ml_group *g;
        TAILQ_FOREACH(g, &gc->groups, link) {
            ml_group_member *m;
            TAILQ_FOREACH(m, &g->members, link) heartbeat_seen(m);
        }
        ml_info("loaded %d groups from %s in %lld ms", gc->n_groups, ML_OFFSETS_TOPIC,
                (long long)(ml_mono_ms() - t0));
    }
    *out = gc;
    return 0;
}

void ml_group_coordinator_free(ml_group_coordinator *gc) {
    if (!gc) return;
    ml_group *g;
    while ((g = TAILQ_FIRST(&gc->groups))) group_remove(g);
    event_free(gc->expire_timer);
    free(gc->buckets);
    free(gc);
}
