/* The consumer's broker connections: blocking sockets owned by the I/O thread, one request at a
 * time per connection (the consumer waits on each Fetch anyway), ApiVersions first to pick the
 * versions both sides speak. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "client/client_error.h"
#include "client/consumer_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "proto/api_versions.h"
#include "proto/create_partitions.h"
#include "proto/create_topics.h"
#include "proto/delete_groups.h"
#include "proto/delete_topics.h"
#include "proto/describe_configs.h"
#include "proto/describe_groups.h"
#include "proto/list_groups.h"
#include "proto/fetch.h"
#include "proto/find_coordinator.h"
#include "proto/heartbeat.h"
#include "proto/join_group.h"
#include "proto/leave_group.h"
#include "proto/sync_group.h"
#include "proto/offset_commit.h"
#include "proto/offset_fetch.h"
#include "proto/header.h"
#include "proto/list_offsets.h"
#include "proto/metadata.h"

#define ML_MAX_RESPONSE (256u * 1024 * 1024)

ml_cnode *ml_cnode_add(moonlog_consumer *c, int32_t id, const char *host, size_t host_len, int port) {
    if (c->n_nodes == c->cap_nodes) {
        int cap = c->cap_nodes ? c->cap_nodes * 2 : 8;
        ml_cnode *n = realloc(c->nodes, (size_t)cap * sizeof *n);
        if (!n) return NULL;
        c->nodes = n;
        c->cap_nodes = cap;
    }
    ml_cnode *n = &c->nodes[c->n_nodes++];
    memset(n, 0, sizeof *n);
    n->id = id;
    n->fd = -1;
    n->failed_ms = -1;
    if (host_len >= sizeof n->host) host_len = sizeof n->host - 1;
    memcpy(n->host, host, host_len);
    n->host[host_len] = 0;
    n->port = port;
    return n;
}

int ml_cnodes_init(moonlog_consumer *c, moonlog_error *err) {
    const char *s = c->conf.bootstrap_servers;
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
        if (!ml_cnode_add(c, id--, host, host_len, atoi(port)))
            return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
        if (!end) break;
        s = end + 1;
    }
    c->n_bootstrap = c->n_nodes;
    return 0;
}

ml_cnode *ml_cnode_find(moonlog_consumer *c, int32_t id) {
    for (int i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].id == id) return &c->nodes[i];
    return NULL;
}

ml_cnode *ml_cnode_first(moonlog_consumer *c) {
    for (int i = 0; i < c->n_nodes; i++)
        if (ml_cnode_connect(c, &c->nodes[i]) == 0) return &c->nodes[i];
    return NULL;
}

void ml_cnode_close(ml_cnode *n) {
    if (n->fd >= 0) close(n->fd);
    n->fd = -1;
    n->failed_ms = ml_mono_ms();
}

static int write_all(int fd, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t r = recv(fd, p, len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

int ml_cnode_request(moonlog_consumer *c, ml_cnode *n, int16_t api_key, int16_t version, int flexible,
                     ml_writer *body, uint8_t **frame, const uint8_t **resp, size_t *resp_len) {
    *frame = NULL;
    ml_writer w;
    ml_writer_init(&w, body->len + 64);
    ml_write_i32(&w, 0);
    int32_t corr = ++n->corr;
    ml_request_header h = {api_key, version, corr, {(const uint8_t *)c->conf.client_id, 0}};
    h.client_id.len = (int32_t)strlen(c->conf.client_id);
    ml_request_header_encode(&w, flexible, &h);
    ml_write_raw(&w, body->data, body->len);
    if (w.err || body->err) {
        ml_writer_free(&w);
        return -1;
    }
    ml_store_u32(w.data, (uint32_t)(w.len - 4));
    int rc = write_all(n->fd, w.data, w.len);
    ml_writer_free(&w);
    uint8_t sz[4];
    if (rc != 0 || read_all(n->fd, sz, 4) != 0) goto fail;
    uint32_t len = ml_load_u32(sz);
    if (len > ML_MAX_RESPONSE) goto fail;
    uint8_t *f = malloc(len ? len : 1);
    if (!f || read_all(n->fd, f, len) != 0) {
        free(f);
        goto fail;
    }
    ml_reader r;
    ml_reader_init(&r, f, len);
    int32_t got;
    /* the ApiVersions response header is always v0 */
    if (ml_response_header_decode(&r, flexible && api_key != ML_API_API_VERSIONS_KEY, &got) != 0 || got != corr) {
        free(f);
        goto fail;
    }
    *frame = f;
    *resp = r.p;
    *resp_len = ml_reader_left(&r);
    return 0;
fail:
    ml_debug("consumer: connection to broker %d (%s:%d) failed", n->id, n->host, n->port);
    ml_cnode_close(n);
    return -1;
}

ml_slice ml_cslice(const char *s) { return (ml_slice){(const uint8_t *)s, (int32_t)strlen(s)}; }

int ml_cslice_eq(ml_slice s, const char *str) {
    size_t n = strlen(str);
    return s.len >= 0 && (size_t)s.len == n && memcmp(s.ptr, str, n) == 0;
}

int ml_cnode_call(moonlog_consumer *c, ml_cnode *n, int16_t key, int16_t v, int16_t flex, ml_writer *body,
                  ml_cresp *resp) {
    const uint8_t *p;
    size_t len;
    memset(resp, 0, sizeof *resp);
    /* blocks are allocated as the decoder needs them: one is enough for most responses */
    ml_arena_init(&resp->arena, 8192);
    if (ml_cnode_request(c, n, key, v, v >= flex, body, &resp->frame, &p, &len) != 0) return -1;
    ml_reader_init(&resp->r, p, len);
    return 0;
}

void ml_cresp_free(ml_cresp *resp) {
    free(resp->frame);
    resp->frame = NULL;
    ml_arena_free(&resp->arena);
}

int ml_cnode_metadata_body(ml_writer *body, const ml_cnode *nd, const char *const *topics, int n) {
    ml_metadata_request_topic *rt = calloc((size_t)(n > 0 ? n : 1), sizeof *rt);
    if (!rt) return -1;
    for (int i = 0; i < n; i++) rt[i].name = ml_cslice(topics[i]);
    ml_metadata_request req;
    ml_metadata_request_init(&req);
    req.topics = n < 0 ? NULL : rt;
    req.n_topics = n < 0 ? -1 : n;
    req.allow_auto_topic_creation = 0; /* a consumer never creates the topics it reads */
    ml_writer_init(body, 256);
    ml_metadata_request_encode(body, nd->v_metadata, &req);
    free(rt); /* the names were copied into the body */
    return 0;
}

int ml_cnode_metadata(moonlog_consumer *c, ml_cnode *nd, const char *const *topics, int n, ml_metadata_response *m,
                      ml_cresp *resp) {
    ml_writer body;
    if (ml_cnode_metadata_body(&body, nd, topics, n) != 0) return -1;
    int16_t v = nd->v_metadata;
    int rc = ml_cnode_call(c, nd, ML_API_METADATA_KEY, v, ML_API_METADATA_FLEX, &body, resp);
    ml_writer_free(&body);
    if (rc != 0) return -1;
    if (ml_metadata_response_decode(&resp->r, v, &resp->arena, m) == 0) return 0;
    ml_warn("consumer: Metadata v%d response does not decode (at byte %zu)", v, ml_reader_offset(&resp->r));
    ml_cresp_free(resp);
    return -2;
}

void ml_cnodes_learn(moonlog_consumer *c, const ml_metadata_response *m) {
    for (int32_t i = 0; i < m->n_brokers; i++) {
        const ml_metadata_response_broker *b = &m->brokers[i];
        ml_cnode *n = ml_cnode_find(c, b->node_id);
        size_t hl = b->host.len > 0 ? (size_t)b->host.len : 0;
        if (!n) {
            ml_cnode_add(c, b->node_id, (const char *)b->host.ptr, hl, b->port);
        } else if (!ml_cslice_eq(b->host, n->host) || n->port != b->port) {
            ml_cnode_close(n);
            if (hl >= sizeof n->host) hl = sizeof n->host - 1;
            memcpy(n->host, b->host.ptr, hl);
            n->host[hl] = 0;
            n->port = b->port;
            n->failed_ms = -1; /* the failure was the old address's: the new one is tried at once */
        }
    }
}

static int16_t pick(const ml_api_version *v, int16_t max, int16_t min) {
    int16_t hi = v->max_version < max ? v->max_version : max;
    return hi >= min && hi >= v->min_version ? hi : -1;
}

/* The admin client's APIs (v1+ of CreateTopics: validate_only and error messages). */
static void pick_admin(ml_cnode *n, const ml_api_version *v) {
    if (v->api_key == ML_API_CREATE_TOPICS_KEY) n->v_create_topics = pick(v, ML_API_CREATE_TOPICS_MAX, 1);
    else if (v->api_key == ML_API_DELETE_TOPICS_KEY) n->v_delete_topics = pick(v, ML_API_DELETE_TOPICS_MAX, 0);
    else if (v->api_key == ML_API_CREATE_PARTITIONS_KEY)
        n->v_create_partitions = pick(v, ML_API_CREATE_PARTITIONS_MAX, 0);
    else if (v->api_key == ML_API_LIST_GROUPS_KEY) n->v_list_groups = pick(v, ML_API_LIST_GROUPS_MAX, 0);
    else if (v->api_key == ML_API_DESCRIBE_GROUPS_KEY) n->v_describe_groups = pick(v, ML_API_DESCRIBE_GROUPS_MAX, 0);
    else if (v->api_key == ML_API_DELETE_GROUPS_KEY) n->v_delete_groups = pick(v, ML_API_DELETE_GROUPS_MAX, 0);
    /* v1+: each entry's config_source */
    else if (v->api_key == ML_API_DESCRIBE_CONFIGS_KEY) n->v_describe_configs = pick(v, ML_API_DESCRIBE_CONFIGS_MAX, 1);
}

static int negotiate(moonlog_consumer *c, ml_cnode *n, int16_t version) {
    ml_writer body;
    ml_writer_init(&body, 64);
    ml_api_versions_request req;
    ml_api_versions_request_init(&req);
    req.client_software_name = (ml_slice){(const uint8_t *)"moonlog", 7};
    req.client_software_version = (ml_slice){(const uint8_t *)"0.1", 3};
    ml_api_versions_request_encode(&body, version, &req);
    ml_cresp resp;
    int rc = ml_cnode_call(c, n, ML_API_API_VERSIONS_KEY, version, ML_API_API_VERSIONS_FLEX, &body, &resp);
    ml_writer_free(&body);
    if (rc != 0) return -1;
    ml_api_versions_response m;
    rc = ml_api_versions_response_decode(&resp.r, version, &resp.arena, &m);
    if (m.error_code == ML_KERR_UNSUPPORTED_VERSION && version > 0) {
        ml_cresp_free(&resp);
        return negotiate(c, n, 0);
    }
    n->v_fetch = n->v_list_offsets = n->v_metadata = -1;
    n->v_find_coordinator = n->v_offset_commit = n->v_offset_fetch = -1;
    n->v_join_group = n->v_sync_group = n->v_heartbeat = n->v_leave_group = -1;
    n->v_create_topics = n->v_delete_topics = n->v_create_partitions = -1;
    n->v_list_groups = n->v_describe_groups = n->v_delete_groups = -1;
    n->v_describe_configs = -1;
    for (int32_t i = 0; rc == 0 && m.error_code == 0 && i < m.n_api_keys; i++) {
        ml_api_version *v = &m.api_keys[i];
        if (v->api_key == ML_API_FETCH_KEY) n->v_fetch = pick(v, ML_API_FETCH_MAX, ML_API_FETCH_MIN);
        else if (v->api_key == ML_API_LIST_OFFSETS_KEY) n->v_list_offsets = pick(v, ML_API_LIST_OFFSETS_MAX, 1);
        else if (v->api_key == ML_API_METADATA_KEY) n->v_metadata = pick(v, ML_API_METADATA_MAX, 1);
        else if (v->api_key == ML_API_FIND_COORDINATOR_KEY)
            n->v_find_coordinator = pick(v, ML_API_FIND_COORDINATOR_MAX, 0);
        /* v1+: generation and member id (v2-4 carry retention_time -1) */
        else if (v->api_key == ML_API_OFFSET_COMMIT_KEY) n->v_offset_commit = pick(v, ML_API_OFFSET_COMMIT_MAX, 2);
        else if (v->api_key == ML_API_OFFSET_FETCH_KEY) n->v_offset_fetch = pick(v, ML_API_OFFSET_FETCH_MAX, 1);
        else if (v->api_key == ML_API_JOIN_GROUP_KEY) n->v_join_group = pick(v, ML_API_JOIN_GROUP_MAX, 1);
        else if (v->api_key == ML_API_SYNC_GROUP_KEY) n->v_sync_group = pick(v, ML_API_SYNC_GROUP_MAX, 0);
        else if (v->api_key == ML_API_HEARTBEAT_KEY) n->v_heartbeat = pick(v, ML_API_HEARTBEAT_MAX, 0);
        else if (v->api_key == ML_API_LEAVE_GROUP_KEY) n->v_leave_group = pick(v, ML_API_LEAVE_GROUP_MAX, 0);
        else pick_admin(n, v);
    }
    ml_cresp_free(&resp);
    if (n->v_fetch < 0 || n->v_list_offsets < 0 || n->v_metadata < 0) {
        ml_warn("consumer: broker %d: no Fetch v4+ / ListOffsets v1+ / Metadata v1+ in common", n->id);
        ml_cnode_close(n);
        return -1;
    }
    return 0;
}

int ml_cnode_connect(moonlog_consumer *c, ml_cnode *n) {
    if (n->fd >= 0) return 0;
    int64_t now = ml_mono_ms();
    if (n->failed_ms >= 0 && now < n->failed_ms + c->conf.reconnect_backoff_ms) return -1;
    char port[16];
    snprintf(port, sizeof port, "%d", n->port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(n->host, port, &hints, &res) != 0) {
        n->failed_ms = now;
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            n->fd = fd;
            break;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (n->fd < 0) {
        n->failed_ms = now;
        return -1;
    }
    int one = 1;
    setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* a Fetch waits fetch.max.wait.ms at the broker: the timeout counts beyond that */
    int64_t ms = c->conf.request_timeout_ms + c->conf.fetch_max_wait_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    setsockopt(n->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(n->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    n->corr = 0;
    return negotiate(c, n, ML_API_API_VERSIONS_MAX);
}
