/* The `assignor` hook: builds the tables an assignor sees from the consumer protocol's decoded
 * subscriptions, calls it through the plugin host (lua_pcall only, with the plugin's time limit)
 * and checks what it returns before anything reaches the group: every partition at most once,
 * only to a known member subscribed to its topic, only partitions that exist. */
#include "lua/assignor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "client/client_error.h"
#include "lua/plugin.h"

enum { FN_ASSIGN, FN_USER_DATA, FN_ON_ASSIGNMENT };

/* {topic -> {p, ...}} of `n` entries (a topic's partitions in the order given). */
static void push_tps(lua_State *L, const moonlog_topic_partition *tps, int n) {
    lua_newtable(L);
    for (int i = 0; i < n; i++) {
        lua_getfield(L, -1, tps[i].topic);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setfield(L, -3, tps[i].topic);
        }
        lua_pushinteger(L, tps[i].partition);
        lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
        lua_pop(L, 1);
    }
}

static void push_strings(lua_State *L, char *const *s, int n) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, s[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

static void push_slice(lua_State *L, ml_slice s) {
    if (s.len < 0) lua_pushnil(L);
    else lua_pushlstring(L, (const char *)s.ptr, (size_t)s.len);
}

int ml_assignor_user_data(moonlog_plugin *pl, char *const *topics, int n, const moonlog_topic_partition *last,
                          int n_last, int32_t generation, uint8_t **out, int32_t *out_len, moonlog_error *err) {
    *out = NULL;
    *out_len = -1;
    lua_State *L;
    int rc = ml_plugin_call_begin(pl, FN_USER_DATA, MOONLOG_ERR_ASSIGNOR, &L, err);
    if (rc != 0) return rc == 1 ? 0 : rc;
    push_strings(L, topics, n);
    push_tps(L, last, n_last);
    lua_pushinteger(L, generation);
    if ((rc = ml_plugin_call(pl, 3, 1, "user_data", MOONLOG_ERR_ASSIGNOR, NULL, err)) != 0) return rc;
    int ty = lua_type(L, -1);
    if (ty != LUA_TNIL && ty != LUA_TSTRING) {
        char what[128];
        snprintf(what, sizeof what, "user_data returned a %s, not a string or nil", lua_typename(L, ty));
        return ml_plugin_call_bad(pl, MOONLOG_ERR_ASSIGNOR, err, what);
    }
    if (ty == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (len > 1024 * 1024 || !(*out = malloc(len ? len : 1))) {
            ml_plugin_call_end();
            return ml_plugin_call_bad(pl, MOONLOG_ERR_ASSIGNOR, err, "user_data returned more than 1 MiB");
        }
        memcpy(*out, s, len);
        *out_len = (int32_t)len;
    }
    ml_plugin_call_end();
    return 0;
}

/* cluster.partition_count(topic) during assign: the counts the consumer looked up. */
typedef struct ml_counts {
    char *const *topics;
    const int32_t *counts;
    int n;
} ml_counts;

static int32_t count_of(void *ctx, const char *topic) {
    ml_counts *c = ctx;
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->topics[i], topic) == 0) return c->counts[i];
    return -1;
}

static int available(void *ctx, const char *topic, int32_t p) { return p >= 0 && p < count_of(ctx, topic); }

static int cmp_member(const void *a, const void *b) {
    return strcmp((*(const ml_assign_member *const *)a)->member_id, (*(const ml_assign_member *const *)b)->member_id);
}

static int cmp_tp(const void *a, const void *b) {
    const moonlog_topic_partition *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static void push_members(lua_State *L, const ml_assign_member *const *sorted, int n) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        const ml_assign_member *m = sorted[i];
        lua_createtable(L, 0, 6);
        lua_pushstring(L, m->member_id);
        lua_setfield(L, -2, "member_id");
        if (m->group_instance_id) {
            lua_pushstring(L, m->group_instance_id);
            lua_setfield(L, -2, "group_instance_id");
        }
        push_strings(L, m->sub->topics, m->sub->n_topics);
        lua_setfield(L, -2, "topics");
        push_slice(L, m->sub->user_data);
        lua_setfield(L, -2, "user_data");
        push_tps(L, m->sub->owned, m->sub->n_owned);
        lua_setfield(L, -2, "owned");
        lua_pushinteger(L, m->sub->generation);
        lua_setfield(L, -2, "generation");
        lua_rawseti(L, -2, i + 1);
    }
}

/* A member's growing share of the result. */
typedef struct ml_share {
    moonlog_topic_partition *tps;
    int n, cap;
} ml_share;

static int share_add(ml_share *sh, const char *topic, int32_t p) {
    if (sh->n == sh->cap) {
        int cap = sh->cap ? sh->cap * 2 : 8;
        moonlog_topic_partition *g = realloc(sh->tps, (size_t)cap * sizeof *g);
        if (!g) return -1;
        sh->tps = g;
        sh->cap = cap;
    }
    if (!(sh->tps[sh->n].topic = strdup(topic))) return -1;
    sh->tps[sh->n++].partition = p;
    return 0;
}

static int find_member(const ml_assign_member *m, int n, const char *id) {
    for (int i = 0; i < n; i++)
        if (strcmp(m[i].member_id, id) == 0) return i;
    return -1;
}

static int subscribes(const ml_assign_member *m, const char *topic) {
    for (int i = 0; i < m->sub->n_topics; i++)
        if (strcmp(m->sub->topics[i], topic) == 0) return 1;
    return 0;
}

/* One member's {topic -> {partitions}} (on top of the stack): into shares[mi], owners noted.
 * 0, or -1 with `what` saying which rule it breaks. */
static int read_member(lua_State *L, const ml_assign_member *m, int n, int mi, const ml_counts *cl, int **owner,
                       ml_share *shares, char *what, size_t wsz) {
    const char *id = m[mi].member_id;
    if (!lua_istable(L, -1)) {
        snprintf(what, wsz, "gave member %s a %s, not {topic -> {partitions}}", id, luaL_typename(L, -1));
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(what, wsz, "gave member %s a key of type %s, not a topic name", id, luaL_typename(L, -2));
            return -1;
        }
        const char *topic = lua_tostring(L, -2);
        int ti = -1;
        for (int t = 0; t < cl->n; t++)
            if (strcmp(cl->topics[t], topic) == 0) ti = t;
        if (ti < 0 || cl->counts[ti] < 0 || !subscribes(&m[mi], topic)) {
            snprintf(what, wsz, "gave member %s topic %s, %s", id, topic,
                     ti >= 0 && !subscribes(&m[mi], topic) ? "which it is not subscribed to"
                                                           : "which is not a known topic of the subscriptions");
            return -1;
        }
        if (!lua_istable(L, -1)) {
            snprintf(what, wsz, "gave member %s topic %s as a %s, not an array of partitions", id, topic,
                     luaL_typename(L, -1));
            return -1;
        }
        int len = (int)lua_objlen(L, -1);
        for (int j = 1; j <= len; j++) {
            lua_rawgeti(L, -1, j);
            lua_Number v = lua_tonumber(L, -1);
            int isnum = lua_type(L, -1) == LUA_TNUMBER;
            lua_pop(L, 1);
            int32_t cnt = cl->counts[ti];
            if (!isnum || v != (lua_Number)(int32_t)v || v < 0 || v >= cnt) {
                snprintf(what, wsz, "gave member %s partition %g of %s, which has partitions 0..%d", id,
                         isnum ? v : -1.0, topic, cnt - 1);
                return -1;
            }
            int32_t p = (int32_t)v;
            if (owner[ti][p] >= 0) {
                snprintf(what, wsz, "gave %s-%d to both %s and %s", topic, p, m[owner[ti][p]].member_id, id);
                return -1;
            }
            owner[ti][p] = mi;
            if (share_add(&shares[mi], topic, p) != 0) {
                snprintf(what, wsz, "out of memory");
                return -1;
            }
        }
        lua_pop(L, 1);
    }
    (void)n;
    return 0;
}

/* The result (on top of the stack) into shares; 0 or -1 with `what`. */
static int read_result(lua_State *L, const ml_assign_member *m, int n, const ml_counts *cl, ml_share *shares,
                       char *what, size_t wsz) {
    if (!lua_istable(L, -1)) {
        snprintf(what, wsz, "returned a %s, not {member_id -> {topic -> {partitions}}}", luaL_typename(L, -1));
        return -1;
    }
    int **owner = calloc((size_t)(cl->n ? cl->n : 1), sizeof *owner);
    int rc = owner ? 0 : -1;
    for (int t = 0; rc == 0 && t < cl->n; t++) {
        int32_t cnt = cl->counts[t] > 0 ? cl->counts[t] : 0;
        if (!(owner[t] = malloc((size_t)(cnt ? cnt : 1) * sizeof **owner))) rc = -1;
        for (int32_t p = 0; rc == 0 && p < cnt; p++) owner[t][p] = -1;
    }
    if (rc != 0) snprintf(what, wsz, "out of memory");
    lua_pushnil(L);
    while (rc == 0 && lua_next(L, -2) != 0) {
        int mi = lua_type(L, -2) == LUA_TSTRING ? find_member(m, n, lua_tostring(L, -2)) : -1;
        if (mi < 0) {
            snprintf(what, wsz, "gave partitions to %s%s%s, not a member of the group",
                     lua_type(L, -2) == LUA_TSTRING ? "'" : "a key of type ",
                     lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : luaL_typename(L, -2),
                     lua_type(L, -2) == LUA_TSTRING ? "'" : "");
            rc = -1;
        } else {
            rc = read_member(L, m, n, mi, cl, owner, shares, what, wsz);
        }
        if (rc == 0) lua_pop(L, 1);
    }
    for (int t = 0; owner && t < cl->n; t++) free(owner[t]);
    free(owner);
    return rc;
}

int ml_assignor_assign(moonlog_plugin *pl, const ml_assign_member *m, int n, char *const *topics,
                       const int32_t *counts, int n_topics, moonlog_topic_partition **out, int *n_out,
                       moonlog_error *err) {
    lua_State *L;
    int rc = ml_plugin_call_begin(pl, FN_ASSIGN, MOONLOG_ERR_ASSIGNOR, &L, err);
    if (rc != 0) return rc == 1 ? ml_error_set(err, MOONLOG_ERR_ASSIGNOR, "assignor without assign") : rc;
    lua_Debug ar;
    lua_pushvalue(L, -1);
    int line = lua_getinfo(L, ">S", &ar) ? ar.linedefined : -1;
    const ml_assign_member **sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
    ml_share *shares = calloc((size_t)(n ? n : 1), sizeof *shares);
    if (!sorted || !shares) {
        free(sorted);
        free(shares);
        ml_plugin_call_end();
        return ml_error_set(err, MOONLOG_ERR_ASSIGNOR, "out of memory");
    }
    for (int i = 0; i < n; i++) sorted[i] = &m[i];
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_member);
    push_members(L, sorted, n);
    free(sorted);
    ml_counts cl = {topics, counts, n_topics};
    ml_cluster_ops ops = {count_of, available, NULL, NULL, &cl};
    rc = ml_plugin_cluster_push(L);
    if (rc == 0) rc = ml_plugin_call(pl, 2, 1, "assign", MOONLOG_ERR_ASSIGNOR, &ops, err);
    char what[300];
    if (rc == 0 && read_result(L, m, n, &cl, shares, what, sizeof what) != 0) {
        char full[360];
        snprintf(full, sizeof full, "assign (line %d) %s", line, what);
        rc = ml_plugin_call_bad(pl, MOONLOG_ERR_ASSIGNOR, err, full);
    }
    ml_plugin_call_end();
    for (int i = 0; i < n; i++) {
        if (rc == 0) {
            if (shares[i].n > 1) qsort(shares[i].tps, (size_t)shares[i].n, sizeof *shares[i].tps, cmp_tp);
            out[i] = shares[i].tps;
            n_out[i] = shares[i].n;
        } else {
            ml_tps_free(shares[i].tps, shares[i].n);
        }
    }
    free(shares);
    return rc;
}

int ml_assignor_on_assignment(moonlog_plugin *pl, const moonlog_topic_partition *tps, int n, ml_slice user_data,
                              moonlog_error *err) {
    lua_State *L;
    int rc = ml_plugin_call_begin(pl, FN_ON_ASSIGNMENT, MOONLOG_ERR_ASSIGNOR, &L, err);
    if (rc != 0) return rc == 1 ? 0 : rc;
    push_tps(L, tps, n);
    push_slice(L, user_data);
    if ((rc = ml_plugin_call(pl, 2, 0, "on_assignment", MOONLOG_ERR_ASSIGNOR, NULL, err)) != 0) return rc;
    ml_plugin_call_end();
    return 0;
}

/* ---- the public side: the same calls on the bytes of the group protocol ---------------------- */

static int is_assignor(moonlog_plugin *pl, moonlog_error *err) {
    if (ml_plugin_kind(pl) == ML_PLUGIN_ASSIGNOR) return 0;
    return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "%s is not an assignor", ml_plugin_name(pl));
}

int moonlog_plugin_assignor_name(moonlog_plugin *pl, char *out, size_t out_size, moonlog_error *err) {
    if (is_assignor(pl, err) != 0) return MOONLOG_ERR_INVALID_ARG;
    char name[ML_PLUGIN_NAME_MAX];
    ml_plugin_declared_name(pl, name);
    snprintf(out, out_size, "%s", name);
    return 0;
}

int moonlog_plugin_subscription(moonlog_plugin *pl, const char *const *topics, int n, const void *assignment,
                                int32_t assignment_len, int32_t generation, void **out, int32_t *out_len,
                                moonlog_error *err) {
    *out = NULL;
    if (is_assignor(pl, err) != 0) return MOONLOG_ERR_INVALID_ARG;
    moonlog_topic_partition *last = NULL;
    int n_last = 0;
    if (assignment && ml_assignment_decode(assignment, (size_t)(assignment_len > 0 ? assignment_len : 0), &last,
                                           &n_last, NULL) != 0)
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "the previous assignment does not decode");
    uint8_t *ud;
    int32_t ud_len;
    int rc = ml_assignor_user_data(pl, (char *const *)topics, n, last, n_last, assignment ? generation : -1, &ud,
                                   &ud_len, err);
    ml_tps_free(last, n_last);
    if (rc != 0) return rc;
    ml_writer w;
    ml_writer_init(&w, 128);
    ml_subscription_encode(&w, (char *const *)topics, n, ud, ud_len);
    free(ud);
    if (w.err) {
        ml_writer_free(&w);
        return ml_error_set(err, MOONLOG_ERR_ASSIGNOR, "out of memory");
    }
    *out = w.data;
    *out_len = (int32_t)w.len;
    return 0;
}

int moonlog_plugin_assign(moonlog_plugin *pl, const moonlog_join_member *members, int n, const char *const *topics,
                          const int32_t *counts, int n_topics, void **assignments, int32_t *lens, moonlog_error *err) {
    if (is_assignor(pl, err) != 0) return MOONLOG_ERR_INVALID_ARG;
    size_t k = (size_t)(n ? n : 1);
    ml_subscription *subs = calloc(k, sizeof *subs);
    ml_assign_member *m = calloc(k, sizeof *m);
    moonlog_topic_partition **out = calloc(k, sizeof *out);
    int *n_out = calloc(k, sizeof *n_out);
    int rc = subs && m && out && n_out ? 0 : ml_error_set(err, MOONLOG_ERR_ASSIGNOR, "out of memory");
    int decoded = 0;
    for (int i = 0; rc == 0 && i < n; i++, decoded++) {
        assignments[i] = NULL;
        if (ml_subscription_decode(members[i].metadata, (size_t)(members[i].metadata_len > 0 ? members[i].metadata_len : 0),
                                   &subs[i]) != 0)
            rc = ml_error_set(err, MOONLOG_ERR_ASSIGNOR, "the subscription of member %s does not decode",
                              members[i].member_id);
        m[i] = (ml_assign_member){members[i].member_id, members[i].group_instance_id, &subs[i]};
    }
    if (rc == 0) rc = ml_assignor_assign(pl, m, n, (char *const *)topics, counts, n_topics, out, n_out, err);
    for (int i = 0; rc == 0 && i < n; i++) {
        ml_writer w;
        ml_writer_init(&w, 64);
        ml_assignment_encode(&w, out[i], n_out[i]);
        assignments[i] = w.data;
        lens[i] = (int32_t)w.len;
        if (w.err) rc = ml_error_set(err, MOONLOG_ERR_ASSIGNOR, "out of memory");
    }
    for (int i = 0; i < n && out && n_out; i++) {
        ml_tps_free(out[i], n_out[i]);
        if (rc != 0 && assignments[i]) {
            free(assignments[i]);
            assignments[i] = NULL;
        }
    }
    for (int i = 0; i < decoded; i++) ml_subscription_free(&subs[i]);
    free(subs);
    free(m);
    free(out);
    free(n_out);
    return rc;
}

int moonlog_plugin_on_assignment(moonlog_plugin *pl, const void *assignment, int32_t len, moonlog_error *err) {
    if (is_assignor(pl, err) != 0) return MOONLOG_ERR_INVALID_ARG;
    moonlog_topic_partition *tps;
    int n;
    ml_slice ud;
    if (ml_assignment_decode(assignment, (size_t)(len > 0 ? len : 0), &tps, &n, &ud) != 0)
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "the assignment does not decode");
    int rc = ml_assignor_on_assignment(pl, tps, n, ud, err);
    ml_tps_free(tps, n);
    return rc;
}
