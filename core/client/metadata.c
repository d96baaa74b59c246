/* The producer's view of the cluster: brokers (nodes), and for each topic it sends to, the
 * partition count and each partition's leader, learnt from Metadata responses. */
#include <stdlib.h>
#include <string.h>

#include "client/client_error.h"
#include "client/producer_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/properties.h"
#include "proto/metadata.h"

static ml_node *node_add(moonlog_producer *p, int32_t id, const char *host, size_t host_len, int port) {
    if (p->n_nodes == p->cap_nodes) {
        int cap = p->cap_nodes ? p->cap_nodes * 2 : 8;
        ml_node *n = realloc(p->nodes, (size_t)cap * sizeof *n);
        if (!n) return NULL;
        p->nodes = n;
        p->cap_nodes = cap;
    }
    ml_node *n = &p->nodes[p->n_nodes++];
    memset(n, 0, sizeof *n);
    n->id = id;
    if (host_len >= sizeof n->host) host_len = sizeof n->host - 1;
    memcpy(n->host, host, host_len);
    n->host[host_len] = 0;
    n->port = port;
    return n;
}

int ml_metadata_nodes_init(moonlog_producer *p, moonlog_error *err) {
    const char *s = p->conf.bootstrap_servers;
    int32_t id = -1;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        const char *colon = s + n;
        while (colon > s && *colon != ':') colon--;
        char port[8] = {0};
        size_t pl = (size_t)(s + n - colon - 1);
        memcpy(port, colon + 1, pl < sizeof port ? pl : sizeof port - 1);
        const char *host = s;
        size_t host_len = (size_t)(colon - s);
        if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
            host++;
            host_len -= 2;
        }
        if (!node_add(p, id--, host, host_len, atoi(port)))
            return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
        if (!end) break;
        s = end + 1;
    }
    p->n_bootstrap = p->n_nodes;
    return 0;
}

ml_node *ml_metadata_node(moonlog_producer *p, int32_t id) {
    for (int i = 0; i < p->n_nodes; i++)
        if (p->nodes[i].id == id) return &p->nodes[i];
    return NULL;
}

void ml_metadata_encode_request(moonlog_producer *p, ml_writer *w, int16_t version) {
    pthread_mutex_lock(&p->mu);
    int n = 0;
    for (ml_topic *t = p->topics; t; t = t->next) n++;
    ml_metadata_request m;
    ml_metadata_request_init(&m);
    ml_metadata_request_topic *topics = calloc((size_t)(n ? n : 1), sizeof *topics);
    int i = 0;
    for (ml_topic *t = p->topics; t && topics; t = t->next, i++) {
        topics[i].name.ptr = (const uint8_t *)t->name;
        topics[i].name.len = (int32_t)strlen(t->name);
    }
    m.topics = topics;
    m.n_topics = topics ? n : 0;
    m.allow_auto_topic_creation = 1;
    /* v0 reads an empty list as "all topics": with nothing to ask, ask for one name that cannot exist */
    ml_metadata_request_topic none = {{(const uint8_t *)"", 0}};
    if (version == 0 && m.n_topics == 0) {
        m.topics = &none;
        m.n_topics = 1;
    }
    ml_metadata_request_encode(w, version, &m);
    pthread_mutex_unlock(&p->mu);
    free(topics);
}

static int slice_eq(ml_slice s, const char *str) {
    return s.len >= 0 && (size_t)s.len == strlen(str) && memcmp(s.ptr, str, (size_t)s.len) == 0;
}

int ml_metadata_apply(moonlog_producer *p, const uint8_t *body, size_t len, int16_t version) {
    ml_arena a;
    ml_arena_init(&a, 16384);
    ml_reader r;
    ml_reader_init(&r, body, len);
    ml_metadata_response m;
    int rc = ml_metadata_response_decode(&r, version, &a, &m);
    if (rc != 0) {
        ml_arena_free(&a);
        ml_warn("producer: Metadata v%d response does not decode (at byte %zu)", version, ml_reader_offset(&r));
        return -1;
    }
    int missing = 0;
    pthread_mutex_lock(&p->mu);
    for (int32_t i = 0; i < m.n_brokers; i++) {
        ml_metadata_response_broker *b = &m.brokers[i];
        ml_node *n = ml_metadata_node(p, b->node_id);
        if (!n) {
            node_add(p, b->node_id, (const char *)b->host.ptr, (size_t)(b->host.len < 0 ? 0 : b->host.len), b->port);
        } else if (!slice_eq(b->host, n->host) || n->port != b->port) {
            /* moved: the connection (if any) is closed by the sender when it sees the change */
            size_t hl = (size_t)(b->host.len < 0 ? 0 : b->host.len);
            if (hl >= sizeof n->host) hl = sizeof n->host - 1;
            memcpy(n->host, b->host.ptr, hl);
            n->host[hl] = 0;
            n->port = b->port;
        }
    }
    for (ml_topic *t = p->topics; t; t = t->next) {
        ml_metadata_response_topic *mt = NULL;
        for (int32_t i = 0; i < m.n_topics; i++)
            if (slice_eq(m.topics[i].name, t->name)) mt = &m.topics[i];
        if (!mt) {
            missing++;
            continue;
        }
        t->error = mt->error_code;
        if (mt->error_code != 0 || mt->n_partitions == 0) {
            missing++;
            continue;
        }
        int32_t max = -1;
        for (int32_t i = 0; i < mt->n_partitions; i++)
            if (mt->partitions[i].partition_index > max) max = mt->partitions[i].partition_index;
        if (ml_acc_set_partitions(t, max + 1) != 0) continue;
        for (int32_t i = 0; i < mt->n_partitions; i++) {
            ml_metadata_response_partition *mp = &mt->partitions[i];
            if (mp->partition_index < 0) continue;
            ml_tp *tp = t->parts[mp->partition_index];
            int32_t leader = mp->error_code == ML_KERR_LEADER_NOT_AVAILABLE ? -1 : mp->leader_id;
            tp->leader = leader;
            if (leader < 0) missing++;
        }
    }
    int64_t now = ml_mono_ms();
    p->metadata_last_ms = now;
    atomic_store(&p->metadata_wanted, missing > 0);
    if (missing) p->metadata_next_ms = now + p->conf.retry_backoff_ms; /* ask again, not sooner */
    pthread_cond_broadcast(&p->meta_cv);
    pthread_mutex_unlock(&p->mu);
    ml_arena_free(&a);
    return 0;
}
