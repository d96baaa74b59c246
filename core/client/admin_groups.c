/* The admin client's consumer-group operations: ListGroups at every broker, and DescribeGroups,
 * OffsetFetch and DeleteGroups at the group's coordinator (FindCoordinator). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin_int.h"
#include "client/client_error.h"
#include "client/consumer_assignor.h"
#include "common/error.h"
#include "proto/delete_groups.h"
#include "proto/describe_groups.h"
#include "proto/find_coordinator.h"
#include "proto/list_groups.h"
#include "proto/offset_fetch.h"

/* The connected coordinator of `group`, or NULL with `err` set. */
static ml_cnode *coordinator(moonlog_admin *a, const char *group, moonlog_error *err) {
    ml_cnode *nd = ml_admin_node(a, -1, err);
    if (!nd) return NULL;
    int16_t v = nd->v_find_coordinator;
    if (v < 0) {
        ml_error_set(err, ML_KERR_UNSUPPORTED_VERSION, "broker %d has no FindCoordinator", nd->id);
        return NULL;
    }
    ml_find_coordinator_request req;
    ml_find_coordinator_request_init(&req);
    req.key = ml_cslice(group);
    req.key_type = 0;
    ml_writer body;
    ml_writer_init(&body, 64);
    ml_find_coordinator_request_encode(&body, v, &req);
    ml_cresp resp;
    int rc = ml_admin_call(a, nd, ML_API_FIND_COORDINATOR_KEY, v, ML_API_FIND_COORDINATOR_FLEX, &body, &resp, err);
    ml_writer_free(&body);
    if (rc != 0) return NULL;
    ml_find_coordinator_response m;
    int32_t id = -1;
    if (ml_find_coordinator_response_decode(&resp.r, v, &resp.arena, &m) != 0) {
        ml_admin_corrupt(err, "FindCoordinator", v, &resp.r);
    } else if (m.error_code != 0) {
        ml_error_set(err, m.error_code, "group '%s': FindCoordinator: %s", group, ml_kafka_error_name(m.error_code));
    } else {
        id = m.node_id;
        ml_cnode *c = ml_cnode_find(a->c, id);
        size_t hl = m.host.len > 0 ? (size_t)m.host.len : 0;
        if (!c && !ml_cnode_add(a->c, id, (const char *)m.host.ptr, hl, m.port)) id = -1;
    }
    ml_cresp_free(&resp);
    return id >= 0 ? ml_admin_node(a, id, err) : NULL;
}

/* ---- List ---------------------------------------------------------------------------------- */

static int cmp_listing(const void *x, const void *y) {
    return strcmp(((const moonlog_group_listing *)x)->group_id, ((const moonlog_group_listing *)y)->group_id);
}

static int add_listings(moonlog_group_list *l, int *cap, const ml_list_groups_response *m) {
    for (int32_t i = 0; i < m->n_groups; i++) {
        const ml_listed_group *g = &m->groups[i];
        int dup = 0;
        for (int k = 0; k < l->n && !dup; k++) dup = ml_cslice_eq(g->group_id, l->groups[k].group_id);
        if (dup) continue;
        if (l->n == *cap) {
            int nc = *cap ? *cap * 2 : 16;
            moonlog_group_listing *ng = realloc(l->groups, (size_t)nc * sizeof *ng);
            if (!ng) return -1;
            l->groups = ng;
            *cap = nc;
        }
        moonlog_group_listing *o = &l->groups[l->n++];
        o->group_id = ml_admin_strdup(g->group_id);
        o->protocol_type = ml_admin_strdup(g->protocol_type);
        o->state = ml_admin_strdup(g->group_state);
        if (!o->group_id || !o->protocol_type || !o->state) return -1;
    }
    return 0;
}

static int list_at(moonlog_admin *a, int32_t id, moonlog_group_list *l, int *cap, moonlog_error *err) {
    ml_cnode *nd = ml_admin_node(a, id, err);
    if (!nd) return err ? err->code : MOONLOG_ERR_NETWORK;
    int16_t v = nd->v_list_groups;
    if (v < 0) return ml_error_set(err, ML_KERR_UNSUPPORTED_VERSION, "broker %d has no ListGroups", id);
    ml_list_groups_request req;
    ml_list_groups_request_init(&req);
    ml_writer body;
    ml_writer_init(&body, 16);
    ml_list_groups_request_encode(&body, v, &req);
    ml_cresp resp;
    int rc = ml_admin_call(a, nd, ML_API_LIST_GROUPS_KEY, v, ML_API_LIST_GROUPS_FLEX, &body, &resp, err);
    ml_writer_free(&body);
    if (rc != 0) return rc;
    ml_list_groups_response m;
    if (ml_list_groups_response_decode(&resp.r, v, &resp.arena, &m) != 0) rc = ml_admin_corrupt(err, "ListGroups", v, &resp.r);
    else if (m.error_code != 0)
        rc = ml_error_set(err, m.error_code, "broker %d: ListGroups: %s", id, ml_kafka_error_name(m.error_code));
    else if (add_listings(l, cap, &m) != 0) rc = ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    ml_cresp_free(&resp);
    return rc;
}

int moonlog_admin_list_groups(moonlog_admin *a, moonlog_group_list **out, moonlog_error *err) {
    ml_metadata_response m;
    ml_cresp resp;
    int rc = ml_admin_metadata(a, NULL, 0, &m, &resp, err);
    if (rc != 0) return rc;
    int nb = m.n_brokers;
    int32_t *ids = malloc((size_t)(nb > 0 ? nb : 1) * sizeof *ids);
    for (int i = 0; ids && i < nb; i++) ids[i] = m.brokers[i].node_id;
    ml_cresp_free(&resp);
    moonlog_group_list *l = calloc(1, sizeof *l);
    if (!ids || !l) {
        free(ids);
        free(l);
        return ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    }
    /* each broker knows only the groups it coordinates */
    int cap = 0;
    for (int i = 0; i < nb && rc == 0; i++) rc = list_at(a, ids[i], l, &cap, err);
    free(ids);
    if (rc != 0) {
        moonlog_admin_group_list_free(l);
        return rc;
    }
    if (l->n) qsort(l->groups, (size_t)l->n, sizeof *l->groups, cmp_listing);
    *out = l;
    return 0;
}

void moonlog_admin_group_list_free(moonlog_group_list *l) {
    if (!l) return;
    for (int i = 0; i < l->n; i++) {
        free(l->groups[i].group_id);
        free(l->groups[i].protocol_type);
        free(l->groups[i].state);
    }
    free(l->groups);
    free(l);
}

/* ---- Describe ------------------------------------------------------------------------------ */

static int copy_member(moonlog_group_member *o, const ml_described_group_member *dm, int consumer) {
    o->member_id = ml_admin_strdup(dm->member_id);
    o->group_instance_id = dm->group_instance_id.len >= 0 && dm->group_instance_id.ptr
                               ? ml_admin_strdup(dm->group_instance_id)
                               : NULL;
    o->client_id = ml_admin_strdup(dm->client_id);
    o->client_host = ml_admin_strdup(dm->client_host);
    if (!o->member_id || !o->client_id || !o->client_host) return -1;
    /* a member that has not synced yet has an empty assignment */
    if (consumer && dm->member_assignment.len > 0 &&
        ml_assignment_decode(dm->member_assignment.ptr, (size_t)dm->member_assignment.len, &o->assignment,
                             &o->n_assignment, NULL) != 0)
        return -2;
    return 0;
}

static int describe(moonlog_admin *a, ml_cnode *co, const char *group, moonlog_group_info *g, moonlog_error *err) {
    int16_t v = co->v_describe_groups;
    if (v < 0) return ml_error_set(err, ML_KERR_UNSUPPORTED_VERSION, "broker %d has no DescribeGroups", co->id);
    ml_slice names[1] = {ml_cslice(group)};
    ml_describe_groups_request req;
    ml_describe_groups_request_init(&req);
    req.groups = names;
    req.n_groups = 1;
    ml_writer body;
    ml_writer_init(&body, 64);
    ml_describe_groups_request_encode(&body, v, &req);
    ml_cresp resp;
    int rc = ml_admin_call(a, co, ML_API_DESCRIBE_GROUPS_KEY, v, ML_API_DESCRIBE_GROUPS_FLEX, &body, &resp, err);
    ml_writer_free(&body);
    if (rc != 0) return rc;
    ml_describe_groups_response m;
    if (ml_describe_groups_response_decode(&resp.r, v, &resp.arena, &m) != 0 || m.n_groups != 1) {
        rc = ml_admin_corrupt(err, "DescribeGroups", v, &resp.r);
    } else if (m.groups[0].error_code != 0) {
        rc = ml_error_set(err, m.groups[0].error_code, "group '%s': DescribeGroups: %s", group,
                          ml_kafka_error_name(m.groups[0].error_code));
    } else {
        ml_described_group *d = &m.groups[0];
        g->state = ml_admin_strdup(d->group_state);
        g->protocol_type = ml_admin_strdup(d->protocol_type);
        g->protocol = ml_admin_strdup(d->protocol_data);
        g->members = calloc((size_t)(d->n_members > 0 ? d->n_members : 1), sizeof *g->members);
        if (!g->state || !g->protocol_type || !g->protocol || !g->members) rc = -1;
        int consumer = ml_cslice_eq(d->protocol_type, "consumer");
        for (int32_t i = 0; rc == 0 && i < d->n_members; i++) {
            int mr = copy_member(&g->members[g->n_members++], &d->members[i], consumer);
            if (mr == -2)
                rc = ml_error_set(err, ML_KERR_CORRUPT_MESSAGE, "group '%s': member %.*s: the assignment does not decode",
                                  group, (int)d->members[i].member_id.len, (const char *)d->members[i].member_id.ptr);
            else if (mr != 0) rc = -1;
        }
        if (rc == -1) rc = ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    }
    ml_cresp_free(&resp);
    return rc;
}

static int cmp_tpo(const void *x, const void *y) {
    const moonlog_topic_partition_offset *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    return c ? c : (a->partition < b->partition ? -1 : a->partition > b->partition);
}

/* OffsetFetch of every partition (a null topic list, v2+). */
static int committed(moonlog_admin *a, ml_cnode *co, const char *group, moonlog_group_info *g, moonlog_error *err) {
    int16_t v = co->v_offset_fetch;
    if (v < 2) return ml_error_set(err, ML_KERR_UNSUPPORTED_VERSION, "broker %d has no OffsetFetch v2+", co->id);
    ml_offset_fetch_request req;
    ml_offset_fetch_request_init(&req);
    req.group_id = ml_cslice(group);
    req.topics = NULL;
    req.n_topics = -1;
    ml_writer body;
    ml_writer_init(&body, 64);
    ml_offset_fetch_request_encode(&body, v, &req);
    ml_cresp resp;
    int rc = ml_admin_call(a, co, ML_API_OFFSET_FETCH_KEY, v, ML_API_OFFSET_FETCH_FLEX, &body, &resp, err);
    ml_writer_free(&body);
    if (rc != 0) return rc;
    ml_offset_fetch_response m;
    if (ml_offset_fetch_response_decode(&resp.r, v, &resp.arena, &m) != 0) {
        rc = ml_admin_corrupt(err, "OffsetFetch", v, &resp.r);
    } else if (m.error_code != 0) {
        rc = ml_error_set(err, m.error_code, "group '%s': OffsetFetch: %s", group, ml_kafka_error_name(m.error_code));
    } else {
        int total = 0;
        for (int32_t i = 0; i < m.n_topics; i++) total += m.topics[i].n_partitions;
        g->committed = calloc((size_t)(total ? total : 1), sizeof *g->committed);
        for (int32_t i = 0; g->committed && rc == 0 && i < m.n_topics; i++)
            for (int32_t j = 0; rc == 0 && j < m.topics[i].n_partitions; j++) {
                ml_offset_fetch_response_partition *p = &m.topics[i].partitions[j];
                if (p->error_code != 0 || p->committed_offset < 0) continue;
                moonlog_topic_partition_offset *o = &g->committed[g->n_committed];
                if (!(o->topic = ml_admin_strdup(m.topics[i].name))) rc = -1;
                else g->n_committed++;
                o->partition = p->partition_index;
                o->offset = p->committed_offset;
            }
        if (!g->committed || rc != 0) rc = ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
        else if (g->n_committed) qsort(g->committed, (size_t)g->n_committed, sizeof *g->committed, cmp_tpo);
    }
    ml_cresp_free(&resp);
    return rc;
}

int moonlog_admin_describe_group(moonlog_admin *a, const char *group, moonlog_group_info **out, moonlog_error *err) {
    ml_cnode *co = coordinator(a, group, err);
    if (!co) return err ? err->code : MOONLOG_ERR_NETWORK;
    moonlog_group_info *g = calloc(1, sizeof *g);
    if (!g || !(g->group_id = strdup(group))) {
        free(g);
        return ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    }
    int rc = describe(a, co, group, g, err);
    if (rc == 0) rc = committed(a, co, group, g, err);
    if (rc != 0) {
        moonlog_admin_group_info_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

void moonlog_admin_group_info_free(moonlog_group_info *g) {
    if (!g) return;
    for (int i = 0; i < g->n_members; i++) {
        moonlog_group_member *m = &g->members[i];
        free(m->member_id);
        free(m->group_instance_id);
        free(m->client_id);
        free(m->client_host);
        for (int k = 0; k < m->n_assignment; k++) free((char *)m->assignment[k].topic);
        free(m->assignment);
    }
    for (int i = 0; i < g->n_committed; i++) free((char *)g->committed[i].topic);
    free(g->members);
    free(g->committed);
    free(g->group_id);
    free(g->state);
    free(g->protocol_type);
    free(g->protocol);
    free(g);
}

/* ---- Delete -------------------------------------------------------------------------------- */

int moonlog_admin_delete_group(moonlog_admin *a, const char *group, moonlog_error *err) {
    ml_cnode *co = coordinator(a, group, err);
    if (!co) return err ? err->code : MOONLOG_ERR_NETWORK;
    int16_t v = co->v_delete_groups;
    if (v < 0) return ml_error_set(err, ML_KERR_UNSUPPORTED_VERSION, "broker %d has no DeleteGroups", co->id);
    ml_slice names[1] = {ml_cslice(group)};
    ml_delete_groups_request req;
    ml_delete_groups_request_init(&req);
    req.groups_names = names;
    req.n_groups_names = 1;
    ml_writer body;
    ml_writer_init(&body, 64);
    ml_delete_groups_request_encode(&body, v, &req);
    ml_cresp resp;
    int rc = ml_admin_call(a, co, ML_API_DELETE_GROUPS_KEY, v, ML_API_DELETE_GROUPS_FLEX, &body, &resp, err);
    ml_writer_free(&body);
    if (rc != 0) return rc;
    ml_delete_groups_response m;
    if (ml_delete_groups_response_decode(&resp.r, v, &resp.arena, &m) != 0 || m.n_results != 1)
        rc = ml_admin_corrupt(err, "DeleteGroups", v, &resp.r);
    else if (m.results[0].error_code != 0)
        rc = ml_error_set(err, m.results[0].error_code, "group '%s': %s", group,
                          ml_kafka_error_name(m.results[0].error_code));
    ml_cresp_free(&resp);
    return rc;
}
