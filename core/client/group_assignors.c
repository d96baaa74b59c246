/* The consumer's group assignors: partition.assignment.strategy resolved to assignor plugins
 * (core/lua/assignor.c, plugins/assignors/), advertised in that order in JoinGroup with their
 * subscription metadata; the leader runs the one the coordinator chose. Their files are checked
 * for a new version every plugin.reload.interval.ms and before every join, on the I/O thread; a
 * valid new version is used from the next rebalance on, an invalid one is reported and the old
 * one keeps running.
 *
 * A failed assignment (the plugin raised, or its result broke a rule) is never sent: the leader
 * logs it (once in a row), counts it (assignor.failures) and joins again after retry.backoff.ms.
 * The coordinator answers that JoinGroup with the same members, so the group waits in its
 * rebalance, with nobody consuming under a corrupt assignment, until an assignment is valid (a
 * fixed file is picked up at the next attempt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_error.h"
#include "client/consumer_assignor.h"
#include "client/consumer_int.h"
#include "common/clock.h"
#include "common/log.h"
#include "lua/assignor.h"
#include "lua/plugin.h"
#include "proto/join_group.h"
#include "proto/sync_group.h"

int ml_assignors_open(moonlog_consumer *c, const char *const *given, moonlog_error *err) {
    char name[1024];
    moonlog_plugin_options o = {c->conf.plugin_path, c->conf.plugin_unsafe, c->conf.plugin_timeout_ms, given};
    for (int i = 0; ml_strategy_entry(c->conf.assignment_strategy, i, name, sizeof name); i++) {
        moonlog_error e;
        if (moonlog_plugin_open("assignor", name, &o, &c->assignors[c->n_assignors], &e) != 0)
            return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "partition.assignment.strategy: %s", e.message);
        c->n_assignors++;
    }
    /* Two files declaring one protocol name would make the coordinator's choice ambiguous. */
    char a[ML_PLUGIN_NAME_MAX], b[ML_PLUGIN_NAME_MAX];
    for (int i = 0; i < c->n_assignors; i++)
        for (int j = 0; j < i; j++) {
            ml_plugin_declared_name(c->assignors[i], a);
            ml_plugin_declared_name(c->assignors[j], b);
            if (strcmp(a, b) == 0)
                return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG,
                                    "partition.assignment.strategy: %s and %s both declare the name '%s'",
                                    moonlog_plugin_path(c->assignors[j]), moonlog_plugin_path(c->assignors[i]), a);
        }
    c->last_generation = -1;
    return 0;
}

void ml_assignors_close(moonlog_consumer *c) {
    for (int i = 0; i < c->n_assignors; i++) moonlog_plugin_close(c->assignors[i]);
    c->n_assignors = 0;
    free(c->last_assignment);
    c->last_assignment = NULL;
}

void ml_assignors_reload(moonlog_consumer *c, int force) {
    if (c->conf.plugin_reload_interval_ms <= 0 || (!force && ml_mono_ms() < c->reload_next_ms)) return;
    for (int i = 0; i < c->n_assignors; i++) moonlog_plugin_reload_check(c->assignors[i], NULL);
    c->reload_next_ms = ml_mono_ms() + c->conf.plugin_reload_interval_ms;
}

/* The assignor whose current name is `protocol`, or NULL. */
static moonlog_plugin *by_name(moonlog_consumer *c, ml_slice protocol) {
    char name[ML_PLUGIN_NAME_MAX];
    for (int i = 0; i < c->n_assignors; i++) {
        ml_plugin_declared_name(c->assignors[i], name);
        if (protocol.len >= 0 && strlen(name) == (size_t)protocol.len && memcmp(name, protocol.ptr, strlen(name)) == 0)
            return c->assignors[i];
    }
    return NULL;
}

/* Logs an assignor failure once in a row and counts every one. */
static int assign_failed(moonlog_consumer *c, int code, const char *msg) {
    atomic_fetch_add(&c->n_assign_failures, 1);
    if (strncmp(c->last_assign_error, msg, sizeof c->last_assign_error - 1) != 0)
        ml_warn("consumer: group %s: the assignment was not sent, joining again: %s", c->conf.group_id, msg);
    snprintf(c->last_assign_error, sizeof c->last_assign_error, "%s", msg);
    return code;
}

int ml_assignors_protocols(moonlog_consumer *c, char *const *topics, int n, ml_join_group_request_protocol **out,
                           int *n_out) {
    ml_join_group_request_protocol *p = calloc((size_t)(c->n_assignors ? c->n_assignors : 1), sizeof *p);
    *out = p;
    *n_out = 0;
    if (!p) return -1;
    for (int i = 0; i < c->n_assignors; i++) {
        char name[ML_PLUGIN_NAME_MAX];
        ml_plugin_declared_name(c->assignors[i], name);
        void *meta;
        int32_t len;
        moonlog_error e;
        if (moonlog_plugin_subscription(c->assignors[i], (const char *const *)topics, n, c->last_assignment,
                                        c->last_assignment_len, c->last_generation, &meta, &len, &e) != 0) {
            /* Without its metadata this assignor cannot be offered: the others still are. */
            assign_failed(c, e.code, e.message);
            continue;
        }
        char *nm = strdup(name);
        if (!nm) {
            free(meta);
            return -1;
        }
        p[*n_out].name = (ml_slice){(const uint8_t *)nm, (int32_t)strlen(nm)};
        p[*n_out].metadata = (ml_slice){meta, len};
        (*n_out)++;
    }
    return *n_out > 0 ? 0 : -1;
}

void ml_assignors_protocols_free(ml_join_group_request_protocol *p, int n) {
    for (int i = 0; p && i < n; i++) {
        free((void *)p[i].name.ptr);
        free((void *)p[i].metadata.ptr);
    }
    free(p);
}

static char *slice_dup(ml_slice s) { return s.len < 0 ? NULL : strndup(s.ptr ? (const char *)s.ptr : "", (size_t)s.len); }

/* The union of the members' subscribed topics (malloc'ed strings). */
static int subscribed_topics(const ml_join_group_response *jr, char ***out, int *n_out) {
    char **all = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < jr->n_members; i++) {
        ml_slice md = jr->members[i].metadata;
        ml_subscription s;
        if (ml_subscription_decode(md.ptr, md.len > 0 ? (size_t)md.len : 0, &s) != 0) continue; /* said later */
        for (int j = 0; j < s.n_topics; j++) {
            int seen = 0;
            for (int k = 0; k < n && !seen; k++) seen = strcmp(all[k], s.topics[j]) == 0;
            if (seen) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                char **g = realloc(all, (size_t)cap * sizeof *g);
                if (!g) break;
                all = g;
            }
            if ((all[n] = strdup(s.topics[j]))) n++;
        }
        ml_subscription_free(&s);
    }
    *out = all;
    *n_out = n;
    return 0;
}

int ml_assignors_assign(moonlog_consumer *c, const ml_join_group_response *jr, ml_sync_group_request_assignment **out) {
    char msg[400];
    int nm = jr->n_members;
    *out = NULL;
    moonlog_plugin *pl = by_name(c, jr->protocol_name);
    if (!pl) {
        snprintf(msg, sizeof msg, "the coordinator chose assignor '%.*s', which none of this consumer's declares now",
                 jr->protocol_name.len > 0 ? (int)jr->protocol_name.len : 0, (const char *)jr->protocol_name.ptr);
        return assign_failed(c, MOONLOG_ERR_ASSIGNOR, msg);
    }
    char **topics;
    int nt;
    subscribed_topics(jr, &topics, &nt);
    int32_t *counts = calloc((size_t)(nt ? nt : 1), sizeof *counts);
    moonlog_join_member *mb = calloc((size_t)(nm ? nm : 1), sizeof *mb);
    void **bufs = calloc((size_t)(nm ? nm : 1), sizeof *bufs);
    int32_t *lens = calloc((size_t)(nm ? nm : 1), sizeof *lens);
    ml_sync_group_request_assignment *as = calloc((size_t)(nm ? nm : 1), sizeof *as);
    int rc = counts && mb && bufs && lens && as ? 0 : MOONLOG_ERR_NETWORK;
    if (rc == 0 && ml_fetcher_partition_counts(c, topics, nt, counts) != 0) rc = MOONLOG_ERR_NETWORK; /* retried */
    for (int i = 0; rc == 0 && i < nm; i++) {
        mb[i].member_id = slice_dup(jr->members[i].member_id);
        mb[i].group_instance_id = slice_dup(jr->members[i].group_instance_id);
        mb[i].metadata = jr->members[i].metadata.ptr;
        mb[i].metadata_len = jr->members[i].metadata.len;
        if (!mb[i].member_id) rc = MOONLOG_ERR_NETWORK;
    }
    moonlog_error e;
    if (rc == 0 &&
        moonlog_plugin_assign(pl, mb, nm, (const char *const *)topics, counts, nt, bufs, lens, &e) != 0)
        rc = assign_failed(c, e.code, e.message);
    for (int i = 0; rc == 0 && i < nm; i++) {
        as[i].member_id = jr->members[i].member_id;
        as[i].assignment = (ml_slice){bufs[i], lens[i]};
    }
    if (rc == 0) {
        atomic_fetch_add(&c->n_assignments, 1);
        c->last_assign_error[0] = 0;
        *out = as;
    } else {
        for (int i = 0; bufs && i < nm; i++) free(bufs[i]);
        free(as);
    }
    for (int i = 0; mb && i < nm; i++) {
        free((char *)mb[i].member_id);
        free((char *)mb[i].group_instance_id);
    }
    ml_strings_free(topics, nt);
    free(counts);
    free(mb);
    free(bufs);
    free(lens);
    return rc;
}

void ml_assignors_assignments_free(ml_sync_group_request_assignment *as, int n) {
    for (int i = 0; as && i < n; i++) free((void *)as[i].assignment.ptr);
    free(as);
}

void ml_assignors_received(moonlog_consumer *c, ml_slice protocol, const uint8_t *assignment, int32_t len,
                           int32_t generation) {
    uint8_t *copy = malloc((size_t)(len > 0 ? len : 1));
    if (copy) {
        if (len > 0) memcpy(copy, assignment, (size_t)len);
        free(c->last_assignment);
        c->last_assignment = copy;
        c->last_assignment_len = len > 0 ? len : 0;
        c->last_generation = generation;
    }
    moonlog_plugin *pl = by_name(c, protocol);
    moonlog_error e;
    if (pl && moonlog_plugin_on_assignment(pl, assignment, len > 0 ? len : 0, &e) != 0)
        ml_warn("consumer: group %s: %s", c->conf.group_id, e.message);
}
