/* The admin client (core/include/moonlog/admin.h): its connections and the topic operations
 * (CreateTopics, DeleteTopics, CreatePartitions at the controller; Metadata; ListOffsets at each
 * partition's leader). Consumer groups are in admin_groups.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin_int.h"
#include "client/client_error.h"
#include "common/error.h"
#include "proto/create_partitions.h"
#include "proto/create_topics.h"
#include "proto/delete_topics.h"
#include "proto/list_offsets.h"

char *ml_admin_strdup(ml_slice s) {
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s.ptr, n);
    d[n] = 0;
    return d;
}

int ml_admin_corrupt(moonlog_error *err, const char *api, int16_t v, const ml_reader *r) {
    return ml_error_set(err, ML_KERR_CORRUPT_MESSAGE, "%s v%d response does not decode (at byte %zu)", api, v,
                        ml_reader_offset(r));
}

int moonlog_admin_new(const moonlog_consumer_config *cfg, moonlog_admin **out, moonlog_error *err) {
    if (ml_cconf_check(&cfg->c, err) != 0) return MOONLOG_ERR_INVALID_CONFIG;
    moonlog_admin *a = calloc(1, sizeof *a);
    moonlog_consumer *c = calloc(1, sizeof *c);
    if (!a || !c || ml_cconf_copy(&c->conf, &cfg->c) != 0) {
        if (c) ml_cconf_free(&c->conf);
        free(c);
        free(a);
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
    }
    /* the sockets' timeout is request.timeout.ms plus this: admin requests never long-poll */
    c->conf.fetch_max_wait_ms = 0;
    a->c = c;
    int rc = ml_cnodes_init(c, err);
    if (rc != 0) {
        moonlog_admin_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

void moonlog_admin_close(moonlog_admin *a) {
    if (!a) return;
    for (int i = 0; i < a->c->n_nodes; i++) ml_cnode_close(&a->c->nodes[i]);
    free(a->c->nodes);
    ml_cconf_free(&a->c->conf);
    free(a->c);
    free(a);
}

ml_cnode *ml_admin_node(moonlog_admin *a, int32_t id, moonlog_error *err) {
    moonlog_consumer *c = a->c;
    if (id >= 0) {
        ml_cnode *n = ml_cnode_find(c, id);
        if (n && ml_cnode_connect(c, n) == 0) return n;
        ml_error_set(err, MOONLOG_ERR_NETWORK, "broker %d (%s:%d) does not answer", id, n ? n->host : "?",
                     n ? n->port : 0);
        return NULL;
    }
    /* brokers learnt from Metadata first (they are the cluster's own addresses), then bootstrap */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < c->n_nodes; i++) {
            ml_cnode *n = &c->nodes[i];
            if ((n->id >= 0) == (pass == 0) && ml_cnode_connect(c, n) == 0) return n;
        }
    ml_error_set(err, MOONLOG_ERR_NETWORK, "no broker of bootstrap.servers '%s' answers", c->conf.bootstrap_servers);
    return NULL;
}

int ml_admin_call(moonlog_admin *a, ml_cnode *n, int16_t key, int16_t v, int16_t flex, ml_writer *body,
                  ml_cresp *resp, moonlog_error *err) {
    int reused = n->corr > 1; /* more than its ApiVersions went over this connection */
    int rc = ml_cnode_call(a->c, n, key, v, flex, body, resp);
    if (rc != 0 && reused) {
        /* an idle connection the broker closed (connections.max.idle.ms): once more on a fresh one;
         * a fresh connection that fails is not retried, so a change is never sent twice by that */
        n->failed_ms = -1;
        if (ml_cnode_connect(a->c, n) == 0) rc = ml_cnode_call(a->c, n, key, v, flex, body, resp);
    }
    if (rc != 0) {
        ml_cresp_free(resp);
        return ml_error_set(err, MOONLOG_ERR_NETWORK, "broker %d (%s:%d): no answer to request %d v%d", n->id, n->host,
                            n->port, key, v);
    }
    return 0;
}

int ml_admin_metadata(moonlog_admin *a, const char *const *topics, int n, ml_metadata_response *m,
                      ml_cresp *resp, moonlog_error *err) {
    ml_cnode *nd = ml_admin_node(a, -1, err);
    if (!nd) return err ? err->code : MOONLOG_ERR_NETWORK;
    ml_writer body;
    if (ml_cnode_metadata_body(&body, nd, topics, n) != 0) return ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    int16_t v = nd->v_metadata;
    int rc = ml_admin_call(a, nd, ML_API_METADATA_KEY, v, ML_API_METADATA_FLEX, &body, resp, err);
    ml_writer_free(&body);
    if (rc != 0) return rc;
    if (ml_metadata_response_decode(&resp->r, v, &resp->arena, m) != 0) {
        rc = ml_admin_corrupt(err, "Metadata", v, &resp->r);
        ml_cresp_free(resp);
        return rc;
    }
    ml_cnodes_learn(a->c, m);
    return 0;
}

/* The controller (topic changes go there), or any broker when Metadata names none. */
static ml_cnode *controller(moonlog_admin *a, moonlog_error *err) {
    ml_metadata_response m;
    ml_cresp resp;
    if (ml_admin_metadata(a, NULL, 0, &m, &resp, err) != 0) return NULL;
    int32_t id = m.controller_id;
    ml_cresp_free(&resp);
    return ml_admin_node(a, id >= 0 ? id : -1, err);
}

/* Fills results[i] for the topic named `name` (code 0 or a Kafka error with the broker's words). */
static void topic_result(moonlog_error *results, const char *const *names, int n, ml_slice name, int16_t code,
                         ml_slice message, int *seen) {
    for (int i = 0; i < n; i++) {
        if (!ml_cslice_eq(name, names[i])) continue;
        seen[i] = 1;
        if (code == 0) ml_error_set(&results[i], 0, "topic '%s': done", names[i]);
        else if (message.len > 0)
            ml_error_set(&results[i], code, "topic '%s': %s: %.*s", names[i], ml_kafka_error_name(code),
                         (int)message.len, (const char *)message.ptr);
        else ml_error_set(&results[i], code, "topic '%s': %s", names[i], ml_kafka_error_name(code));
    }
}

/* After a multi-topic call: topics the broker did not answer for fail; returns the first failure. */
static int topics_outcome(moonlog_error *results, const char *const *names, int n, const int *seen,
                          moonlog_error *err) {
    int first = -1;
    for (int i = 0; i < n; i++) {
        if (!seen[i]) ml_error_set(&results[i], ML_KERR_UNKNOWN_SERVER_ERROR, "topic '%s': no result in the response", names[i]);
        if (results[i].code != 0 && first < 0) first = i;
    }
    if (first < 0) return 0;
    if (err) *err = results[first];
    return results[first].code;
}

static int check_version(ml_cnode *n, int16_t v, const char *api, moonlog_error *err) {
    if (v >= 0) return 0;
    return ml_error_set(err, ML_KERR_UNSUPPORTED_VERSION, "broker %d (%s:%d) has no %s version this client speaks",
                        n->id, n->host, n->port, api);
}

int moonlog_admin_create_topics(moonlog_admin *a, const moonlog_new_topic *topics, int n, moonlog_error *results,
                                moonlog_error *err) {
    ml_cnode *nd = controller(a, err);
    if (!nd) return err ? err->code : MOONLOG_ERR_NETWORK;
    int16_t v = nd->v_create_topics;
    if (check_version(nd, v, "CreateTopics", err) != 0) return err ? err->code : ML_KERR_UNSUPPORTED_VERSION;
    ml_creatable_topic *ct = calloc((size_t)(n ? n : 1), sizeof *ct);
    const char **names = calloc((size_t)(n ? n : 1), sizeof *names);
    int ncfg = 0;
    for (int i = 0; i < n; i++) ncfg += topics[i].n_configs;
    ml_createable_topic_config *cfgs = calloc((size_t)(ncfg ? ncfg : 1), sizeof *cfgs);
    int *seen = calloc((size_t)(n ? n : 1), sizeof *seen);
    if (!ct || !names || !cfgs || !seen) {
        free(ct), free(names), free(cfgs), free(seen);
        return ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    }
    ml_createable_topic_config *cp = cfgs;
    for (int i = 0; i < n; i++) {
        names[i] = topics[i].name;
        ct[i].name = ml_cslice(topics[i].name);
        ct[i].num_partitions = topics[i].partitions;
        ct[i].replication_factor = topics[i].replication_factor;
        ct[i].configs = cp;
        ct[i].n_configs = topics[i].n_configs;
        for (int k = 0; k < topics[i].n_configs; k++, cp++) {
            cp->name = ml_cslice(topics[i].config_keys[k]);
            cp->value = ml_cslice(topics[i].config_values[k]);
        }
    }
    ml_create_topics_request req;
    ml_create_topics_request_init(&req);
    req.topics = ct;
    req.n_topics = n;
    req.timeout_ms = (int32_t)a->c->conf.request_timeout_ms;
    ml_writer body;
    ml_writer_init(&body, 256);
    ml_create_topics_request_encode(&body, v, &req);
    free(ct);
    free(cfgs);
    ml_cresp resp;
    int rc = ml_admin_call(a, nd, ML_API_CREATE_TOPICS_KEY, v, ML_API_CREATE_TOPICS_FLEX, &body, &resp, err);
    ml_writer_free(&body);
    if (rc == 0) {
        ml_create_topics_response m;
        if (ml_create_topics_response_decode(&resp.r, v, &resp.arena, &m) != 0) {
            rc = ml_admin_corrupt(err, "CreateTopics", v, &resp.r);
        } else {
            for (int32_t i = 0; i < m.n_topics; i++)
                topic_result(results, names, n, m.topics[i].name, m.topics[i].error_code, m.topics[i].error_message, seen);
            rc = topics_outcome(results, names, n, seen, err);
        }
        ml_cresp_free(&resp);
    }
    free(names);
    free(seen);
    return rc;
}

int moonlog_admin_delete_topics(moonlog_admin *a, const char *const *topics, int n, moonlog_error *results,
                                moonlog_error *err) {
    ml_cnode *nd = controller(a, err);
    if (!nd) return err ? err->code : MOONLOG_ERR_NETWORK;
    int16_t v = nd->v_delete_topics;
    if (check_version(nd, v, "DeleteTopics", err) != 0) return err ? err->code : ML_KERR_UNSUPPORTED_VERSION;
    ml_slice *names = calloc((size_t)(n ? n : 1), sizeof *names);
    int *seen = calloc((size_t)(n ? n : 1), sizeof *seen);
    if (!names || !seen) {
        free(names), free(seen);
        return ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    }
    for (int i = 0; i < n; i++) names[i] = ml_cslice(topics[i]);
    ml_delete_topics_request req;
    ml_delete_topics_request_init(&req);
    req.topic_names = names;
    req.n_topic_names = n;
    req.timeout_ms = (int32_t)a->c->conf.request_timeout_ms;
    ml_writer body;
    ml_writer_init(&body, 256);
    ml_delete_topics_request_encode(&body, v, &req);
    free(names);
    ml_cresp resp;
    int rc = ml_admin_call(a, nd, ML_API_DELETE_TOPICS_KEY, v, ML_API_DELETE_TOPICS_FLEX, &body, &resp, err);
    ml_writer_free(&body);
    if (rc == 0) {
        ml_delete_topics_response m;
        if (ml_delete_topics_response_decode(&resp.r, v, &resp.arena, &m) != 0) {
            rc = ml_admin_corrupt(err, "DeleteTopics", v, &resp.r);
        } else {
            for (int32_t i = 0; i < m.n_responses; i++)
                topic_result(results, topics, n, m.responses[i].name, m.responses[i].error_code, (ml_slice){NULL, -1},
                             seen);
            rc = topics_outcome(results, topics, n, seen, err);
        }
        ml_cresp_free(&resp);
    }
    free(seen);
    return rc;
}

int moonlog_admin_create_partitions(moonlog_admin *a, const char *const *topics, const int32_t *totals, int n,
                                    moonlog_error *results, moonlog_error *err) {
    ml_cnode *nd = controller(a, err);
    if (!nd) return err ? err->code : MOONLOG_ERR_NETWORK;
    int16_t v = nd->v_create_partitions;
    if (check_version(nd, v, "CreatePartitions", err) != 0) return err ? err->code : ML_KERR_UNSUPPORTED_VERSION;
    ml_create_partitions_topic *pt = calloc((size_t)(n ? n : 1), sizeof *pt);
    int *seen = calloc((size_t)(n ? n : 1), sizeof *seen);
    if (!pt || !seen) {
        free(pt), free(seen);
        return ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        pt[i].name = ml_cslice(topics[i]);
        pt[i].count = totals[i];
        pt[i].n_assignments = -1; /* the broker places the new partitions */
    }
    ml_create_partitions_request req;
    ml_create_partitions_request_init(&req);
    req.topics = pt;
    req.n_topics = n;
    req.timeout_ms = (int32_t)a->c->conf.request_timeout_ms;
    ml_writer body;
    ml_writer_init(&body, 256);
    ml_create_partitions_request_encode(&body, v, &req);
    free(pt);
    ml_cresp resp;
    int rc = ml_admin_call(a, nd, ML_API_CREATE_PARTITIONS_KEY, v, ML_API_CREATE_PARTITIONS_FLEX, &body, &resp, err);
    ml_writer_free(&body);
    if (rc == 0) {
        ml_create_partitions_response m;
        if (ml_create_partitions_response_decode(&resp.r, v, &resp.arena, &m) != 0) {
            rc = ml_admin_corrupt(err, "CreatePartitions", v, &resp.r);
        } else {
            for (int32_t i = 0; i < m.n_results; i++)
                topic_result(results, topics, n, m.results[i].name, m.results[i].error_code, m.results[i].error_message,
                             seen);
            rc = topics_outcome(results, topics, n, seen, err);
        }
        ml_cresp_free(&resp);
    }
    free(seen);
    return rc;
}

/* ---- Describe ------------------------------------------------------------------------------ */

static int32_t *ids_dup(const int32_t *ids, int32_t n) {
    int32_t *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    if (d && n > 0) memcpy(d, ids, (size_t)n * sizeof *d);
    return d;
}

static int cmp_partition(const void *x, const void *y) {
    const moonlog_partition_info *a = x, *b = y;
    return a->partition < b->partition ? -1 : a->partition > b->partition;
}

static int cmp_topic(const void *x, const void *y) {
    return strcmp(((const moonlog_topic_info *)x)->name, ((const moonlog_topic_info *)y)->name);
}

static int copy_topic(moonlog_topic_info *t, const ml_metadata_response_topic *mt) {
    t->name = ml_admin_strdup(mt->name);
    t->error = mt->error_code;
    t->internal = mt->is_internal;
    t->partitions = calloc((size_t)(mt->n_partitions > 0 ? mt->n_partitions : 1), sizeof *t->partitions);
    if (!t->name || !t->partitions) return -1;
    for (int32_t j = 0; j < mt->n_partitions; j++) {
        const ml_metadata_response_partition *mp = &mt->partitions[j];
        moonlog_partition_info *p = &t->partitions[t->n_partitions++];
        p->partition = mp->partition_index;
        p->error = mp->error_code;
        p->leader = mp->leader_id;
        p->replicas = ids_dup(mp->replica_nodes, mp->n_replica_nodes);
        p->n_replicas = mp->n_replica_nodes;
        p->isr = ids_dup(mp->isr_nodes, mp->n_isr_nodes);
        p->n_isr = mp->n_isr_nodes;
        if (!p->replicas || !p->isr) return -1;
    }
    qsort(t->partitions, (size_t)t->n_partitions, sizeof *t->partitions, cmp_partition);
    return 0;
}

int moonlog_admin_describe_topics(moonlog_admin *a, const char *const *topics, int n, moonlog_topic_list **out,
                                  moonlog_error *err) {
    ml_metadata_response m;
    ml_cresp resp;
    int rc = ml_admin_metadata(a, topics, n > 0 ? n : -1, &m, &resp, err);
    if (rc != 0) return rc;
    moonlog_topic_list *l = calloc(1, sizeof *l);
    if (l) l->topics = calloc((size_t)(m.n_topics > 0 ? m.n_topics : 1), sizeof *l->topics);
    for (int32_t i = 0; l && l->topics && i < m.n_topics; i++)
        if (copy_topic(&l->topics[l->n++], &m.topics[i]) != 0) rc = -1;
    ml_cresp_free(&resp);
    if (!l || !l->topics || rc != 0) {
        moonlog_admin_topic_list_free(l);
        return ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    }
    qsort(l->topics, (size_t)l->n, sizeof *l->topics, cmp_topic);
    *out = l;
    return 0;
}

void moonlog_admin_topic_list_free(moonlog_topic_list *l) {
    if (!l) return;
    for (int i = 0; l->topics && i < l->n; i++) {
        moonlog_topic_info *t = &l->topics[i];
        for (int32_t j = 0; t->partitions && j < t->n_partitions; j++) {
            free(t->partitions[j].replicas);
            free(t->partitions[j].isr);
        }
        free(t->partitions);
        free(t->name);
    }
    free(l->topics);
    free(l);
}

/* ---- End offsets --------------------------------------------------------------------------- */

/* The leader of each of the `n` partitions into leaders[i]; a partition without one fails. */
static int leaders_of(moonlog_admin *a, const moonlog_topic_partition *tps, int n, int32_t *leaders,
                      moonlog_error *err) {
    const char **names = calloc((size_t)(n ? n : 1), sizeof *names);
    if (!names) return ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    int nn = 0;
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int k = 0; k < nn && !dup; k++) dup = strcmp(names[k], tps[i].topic) == 0;
        if (!dup) names[nn++] = tps[i].topic;
    }
    ml_metadata_response m;
    ml_cresp resp;
    int rc = ml_admin_metadata(a, names, nn, &m, &resp, err);
    free(names);
    if (rc != 0) return rc;
    for (int i = 0; i < n && rc == 0; i++) {
        int16_t code = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        leaders[i] = -1;
        for (int32_t t = 0; t < m.n_topics; t++) {
            if (!ml_cslice_eq(m.topics[t].name, tps[i].topic)) continue;
            if (m.topics[t].error_code) code = m.topics[t].error_code;
            for (int32_t j = 0; j < m.topics[t].n_partitions; j++)
                if (m.topics[t].partitions[j].partition_index == tps[i].partition) {
                    leaders[i] = m.topics[t].partitions[j].leader_id;
                    code = leaders[i] >= 0 ? 0 : ML_KERR_LEADER_NOT_AVAILABLE;
                }
        }
        if (code) rc = ml_error_set(err, code, "%s-%d: %s", tps[i].topic, tps[i].partition, ml_kafka_error_name(code));
    }
    ml_cresp_free(&resp);
    return rc;
}

/* ListOffsets (latest) of the partitions i with leaders[i] == leader, into ends. */
static int end_offsets_at(moonlog_admin *a, int32_t leader, const moonlog_topic_partition *tps, int n,
                          const int32_t *leaders, int64_t *ends, moonlog_error *err) {
    ml_cnode *nd = ml_admin_node(a, leader, err);
    if (!nd) return err ? err->code : MOONLOG_ERR_NETWORK;
    ml_list_offsets_topic *lt = calloc((size_t)n, sizeof *lt);
    ml_list_offsets_partition *lp = calloc((size_t)n, sizeof *lp);
    if (!lt || !lp) {
        free(lt), free(lp);
        return ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    }
    /* one topic entry per partition: the protocol allows a topic to repeat, and it keeps this simple */
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (leaders[i] != leader) continue;
        ml_list_offsets_partition_init(&lp[k]);
        lp[k].partition_index = tps[i].partition;
        lp[k].timestamp = -1; /* latest */
        lt[k].name = ml_cslice(tps[i].topic);
        lt[k].partitions = &lp[k];
        lt[k].n_partitions = 1;
        k++;
    }
    ml_list_offsets_request req;
    ml_list_offsets_request_init(&req);
    req.replica_id = -1;
    req.topics = lt;
    req.n_topics = k;
    ml_writer body;
    ml_writer_init(&body, 256);
    int16_t v = nd->v_list_offsets;
    ml_list_offsets_request_encode(&body, v, &req);
    free(lt);
    free(lp);
    ml_cresp resp;
    int rc = ml_admin_call(a, nd, ML_API_LIST_OFFSETS_KEY, v, ML_API_LIST_OFFSETS_FLEX, &body, &resp, err);
    ml_writer_free(&body);
    if (rc != 0) return rc;
    ml_list_offsets_response m;
    if (ml_list_offsets_response_decode(&resp.r, v, &resp.arena, &m) != 0) rc = ml_admin_corrupt(err, "ListOffsets", v, &resp.r);
    for (int i = 0; i < n && rc == 0; i++) {
        if (leaders[i] != leader) continue;
        int16_t code = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        for (int32_t t = 0; t < m.n_topics; t++)
            for (int32_t j = 0; j < m.topics[t].n_partitions; j++) {
                ml_list_offsets_partition_response *p = &m.topics[t].partitions[j];
                if (p->partition_index != tps[i].partition || !ml_cslice_eq(m.topics[t].name, tps[i].topic)) continue;
                code = p->error_code;
                ends[i] = p->offset;
            }
        if (code) rc = ml_error_set(err, code, "%s-%d: ListOffsets: %s", tps[i].topic, tps[i].partition,
                                    ml_kafka_error_name(code));
    }
    ml_cresp_free(&resp);
    return rc;
}

int moonlog_admin_end_offsets(moonlog_admin *a, const moonlog_topic_partition *tps, int n, int64_t *ends,
                              moonlog_error *err) {
    if (n <= 0) return 0;
    int32_t *leaders = calloc((size_t)n, sizeof *leaders);
    if (!leaders) return ml_error_set(err, MOONLOG_ERR_NETWORK, "out of memory");
    int rc = leaders_of(a, tps, n, leaders, err);
    for (int i = 0; i < n && rc == 0; i++) {
        int first = 1;
        for (int k = 0; k < i && first; k++) first = leaders[k] != leaders[i];
        if (first) rc = end_offsets_at(a, leaders[i], tps, n, leaders, ends, err);
    }
    free(leaders);
    return rc;
}
