/* One connection from the producer to one broker, on the I/O thread's event base: connect,
 * ApiVersions to choose the versions both sides speak, then Produce and Metadata requests whose
 * responses come back in order (a FIFO of requests in flight, matched by correlation id). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "client/client_error.h"
#include "client/producer_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "proto/api_versions.h"
#include "proto/header.h"
#include "proto/metadata.h"
#include "proto/produce.h"

#define ML_MAX_RESPONSE (256 * 1024 * 1024)

enum { C_IDLE, C_CONNECTING, C_API_VERSIONS, C_READY };

typedef struct ml_inflight {
    struct ml_inflight *next;
    int32_t corr;
    int16_t api_key, version;
    int64_t sent_ms;
    ml_batch **batches;
    int n;
} ml_inflight;

struct ml_conn {
    moonlog_producer *p;
    int32_t node_id;
    struct bufferevent *bev;
    int state;
    int16_t v_produce, v_metadata, v_api_versions;
    ml_inflight *head, *tail;
    int n_in_flight;
    int32_t next_corr;
    int64_t failed_ms;
};

ml_conn *ml_conn_new(moonlog_producer *p, ml_node *node) {
    ml_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->p = p;
    c->node_id = node->id;
    c->failed_ms = -1;
    return c;
}

int ml_conn_ready(const ml_conn *c) { return c->state == C_READY; }

/* Bytes queued for the socket beyond which no more requests are written (acks=0 requests are not
 * bounded by max.in.flight): max(4 * max.request.size, 4 MiB). */
static size_t out_limit(const ml_conn *c) {
    size_t l = 4 * (size_t)c->p->conf.max_request_size;
    return l > 4u << 20 ? l : 4u << 20;
}

int ml_conn_writable(const ml_conn *c) {
    return c->bev && evbuffer_get_length(bufferevent_get_output(c->bev)) < out_limit(c);
}
int ml_conn_in_flight(const ml_conn *c) { return c->n_in_flight; }

int ml_conn_failed_recently(const ml_conn *c, int64_t now_ms) {
    return c->failed_ms >= 0 && now_ms < c->failed_ms + c->p->conf.reconnect_backoff_ms;
}

static void push_inflight(ml_conn *c, ml_inflight *f) {
    f->next = NULL;
    if (c->tail) c->tail->next = f;
    else c->head = f;
    c->tail = f;
    c->n_in_flight++;
}

static ml_inflight *pop_inflight(ml_conn *c) {
    ml_inflight *f = c->head;
    if (!f) return NULL;
    c->head = f->next;
    if (!c->head) c->tail = NULL;
    c->n_in_flight--;
    return f;
}

static void free_body(const void *data, size_t len, void *arg) {
    (void)data;
    (void)len;
    free(arg);
}

/* Frames and writes one request, taking over the body's memory: the output buffer references it
 * instead of copying it (a Produce body is up to max.request.size of records, and the copies were
 * a tenth of the I/O thread's time at 1 KiB records). Registers it as in flight unless no
 * response will come. On failure the connection must be closed (a frame may be half written). */
static int send_request(ml_conn *c, int16_t api_key, int16_t version, int flexible, ml_writer *body,
                        ml_inflight *f) {
    ml_writer w;
    ml_writer_init(&w, 64);
    ml_write_i32(&w, 0);
    ml_request_header h = {api_key, version, c->next_corr++, {(const uint8_t *)c->p->conf.client_id, 0}};
    h.client_id.len = (int32_t)strlen(c->p->conf.client_id);
    ml_request_header_encode(&w, flexible, &h);
    if (w.err || body->err) {
        ml_writer_free(&w);
        return -1;
    }
    ml_store_u32(w.data, (uint32_t)(w.len - 4 + body->len));
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int rc = evbuffer_add(out, w.data, w.len);
    ml_writer_free(&w);
    size_t blen;
    uint8_t *bd = ml_writer_steal(body, &blen);
    if (rc == 0 && blen > 0) {
        rc = evbuffer_add_reference(out, bd, blen, free_body, bd);
        if (rc != 0) free(bd);
    } else {
        free(bd);
    }
    if (rc != 0) return -1;
    atomic_fetch_add_explicit(&c->p->n.requests, 1, memory_order_relaxed);
    if (f) {
        f->corr = h.correlation_id;
        f->api_key = api_key;
        f->version = version;
        f->sent_ms = ml_mono_ms();
        push_inflight(c, f);
    }
    return 0;
}

static void send_api_versions(ml_conn *c, int16_t version) {
    ml_writer body;
    ml_writer_init(&body, 64);
    ml_api_versions_request req;
    ml_api_versions_request_init(&req);
    req.client_software_name = (ml_slice){(const uint8_t *)"moonlog", 7};
    req.client_software_version = (ml_slice){(const uint8_t *)"0.1", 3};
    ml_api_versions_request_encode(&body, version, &req);
    ml_inflight *f = calloc(1, sizeof *f);
    c->v_api_versions = version;
    if (!f || send_request(c, ML_API_API_VERSIONS_KEY, version, version >= ML_API_API_VERSIONS_FLEX, &body, f) != 0) {
        free(f);
        ml_writer_free(&body);
        ml_conn_close(c, ML_KERR_NETWORK_EXCEPTION, "cannot send ApiVersions");
        return;
    }
    ml_writer_free(&body);
}

void ml_conn_send_metadata(ml_conn *c) {
    ml_writer body;
    ml_writer_init(&body, 256);
    ml_metadata_encode_request(c->p, &body, c->v_metadata);
    ml_inflight *f = calloc(1, sizeof *f);
    if (!f || send_request(c, ML_API_METADATA_KEY, c->v_metadata, c->v_metadata >= ML_API_METADATA_FLEX, &body, f) != 0) {
        free(f);
        ml_writer_free(&body);
        ml_conn_close(c, ML_KERR_NETWORK_EXCEPTION, "cannot send Metadata");
        return;
    }
    ml_writer_free(&body);
    c->p->metadata_in_flight = 1;
}

void ml_conn_send_produce(ml_conn *c, ml_batch **batches, int n) {
    moonlog_producer *p = c->p;
    /* group the batches by topic */
    ml_topic_produce_data *topics = calloc((size_t)n, sizeof *topics);
    ml_partition_produce_data *parts = calloc((size_t)n, sizeof *parts);
    ml_inflight *f = p->conf.acks != 0 ? calloc(1, sizeof *f) : NULL;
    if (!topics || !parts || (p->conf.acks != 0 && !f)) {
        free(topics);
        free(parts);
        free(f);
        for (int i = 0; i < n; i++) ml_sender_retry_or_fail(p, batches[i], MOONLOG_ERR_NETWORK, "out of memory");
        free(batches);
        return;
    }
    int nt = 0, np = 0;
    for (int i = 0; i < n; i++) {
        ml_topic *t = batches[i]->tp->topic;
        int j = 0;
        while (j < nt && topics[j].name.ptr != (const uint8_t *)t->name) j++;
        if (j == nt) {
            topics[nt].name = (ml_slice){(const uint8_t *)t->name, (int32_t)strlen(t->name)};
            topics[nt].partition_data = NULL;
            nt++;
        }
    }
    for (int j = 0; j < nt; j++) {
        topics[j].partition_data = &parts[np];
        for (int i = 0; i < n; i++) {
            if ((const uint8_t *)batches[i]->tp->topic->name != topics[j].name.ptr) continue;
            parts[np].index = batches[i]->tp->partition;
            parts[np].records = (ml_slice){batches[i]->wire, (int32_t)batches[i]->wire_len};
            np++;
            topics[j].n_partition_data++;
        }
    }
    ml_produce_request req;
    ml_produce_request_init(&req);
    req.acks = p->conf.acks;
    req.timeout_ms = (int32_t)p->conf.request_timeout_ms;
    req.topic_data = topics;
    req.n_topic_data = nt;
    size_t total = 64;
    for (int i = 0; i < n; i++) total += batches[i]->wire_len + 32;
    ml_writer body;
    ml_writer_init(&body, total);
    ml_produce_request_encode(&body, c->v_produce, &req);
    free(topics);
    free(parts);
    if (f) {
        f->batches = batches;
        f->n = n;
    }
    int rc = send_request(c, ML_API_PRODUCE_KEY, c->v_produce, c->v_produce >= ML_API_PRODUCE_FLEX, &body, f);
    ml_writer_free(&body);
    if (rc != 0) {
        free(f);
        for (int i = 0; i < n; i++) ml_sender_retry_or_fail(p, batches[i], MOONLOG_ERR_NETWORK, "cannot write");
        free(batches);
        ml_conn_close(c, ML_KERR_NETWORK_EXCEPTION, "cannot write a Produce request");
        return;
    }
    if (!f) { /* acks=0: the broker never answers; the records count as delivered once written */
        for (int i = 0; i < n; i++) ml_sender_complete(p, batches[i], -1, -1, NULL);
        free(batches);
    }
}

static int slice_eq(ml_slice s, const char *str) {
    return s.len >= 0 && (size_t)s.len == strlen(str) && memcmp(s.ptr, str, (size_t)s.len) == 0;
}

static void handle_produce(ml_conn *c, ml_inflight *f, const uint8_t *body, size_t len) {
    moonlog_producer *p = c->p;
    double rtt = (double)(ml_mono_ms() - f->sent_ms);
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < f->n; i++) {
        ml_tp *tp = f->batches[i]->tp;
        tp->latency_ms = tp->latency_ms < 0 ? rtt : 0.8 * tp->latency_ms + 0.2 * rtt;
    }
    pthread_mutex_unlock(&p->mu);
    ml_arena a;
    ml_arena_init(&a, 8192);
    ml_reader r;
    ml_reader_init(&r, body, len);
    ml_produce_response m;
    int rc = ml_produce_response_decode(&r, f->version, &a, &m);
    for (int i = 0; i < f->n; i++) {
        ml_batch *b = f->batches[i];
        ml_partition_produce_response *pr = NULL;
        for (int32_t t = 0; rc == 0 && t < m.n_responses && !pr; t++) {
            if (!slice_eq(m.responses[t].name, b->tp->topic->name)) continue;
            for (int32_t k = 0; k < m.responses[t].n_partition_responses; k++)
                if (m.responses[t].partition_responses[k].index == b->tp->partition)
                    pr = &m.responses[t].partition_responses[k];
        }
        if (!pr) {
            ml_sender_retry_or_fail(p, b, ML_KERR_NETWORK_EXCEPTION,
                                    rc ? "Produce response does not decode" : "partition missing from the response");
        } else if (pr->error_code == 0) {
            ml_sender_complete(p, b, pr->base_offset, pr->log_append_time_ms, NULL);
        } else {
            char msg[200];
            snprintf(msg, sizeof msg, "broker %d: %s%s%.*s", c->node_id, ml_kafka_error_name(pr->error_code),
                     pr->error_message.len > 0 ? ": " : "", pr->error_message.len > 0 ? (int)pr->error_message.len : 0,
                     pr->error_message.len > 0 ? (const char *)pr->error_message.ptr : "");
            ml_sender_retry_or_fail(p, b, pr->error_code, msg);
        }
    }
    ml_arena_free(&a);
}

static void handle_api_versions(ml_conn *c, const uint8_t *body, size_t len) {
    ml_arena a;
    ml_arena_init(&a, 4096);
    ml_reader r;
    ml_reader_init(&r, body, len);
    ml_api_versions_response m;
    int rc = ml_api_versions_response_decode(&r, c->v_api_versions, &a, &m);
    if (m.error_code == ML_KERR_UNSUPPORTED_VERSION && c->v_api_versions > 0) {
        ml_arena_free(&a);
        send_api_versions(c, 0);
        return;
    }
    int16_t prod = -1, meta = -1;
    for (int32_t i = 0; rc == 0 && i < m.n_api_keys; i++) {
        ml_api_version *v = &m.api_keys[i];
        int16_t hi;
        if (v->api_key == ML_API_PRODUCE_KEY) {
            hi = v->max_version < ML_API_PRODUCE_MAX ? v->max_version : ML_API_PRODUCE_MAX;
            if (hi >= ML_API_PRODUCE_MIN && hi >= v->min_version) prod = hi;
        } else if (v->api_key == ML_API_METADATA_KEY) {
            hi = v->max_version < ML_API_METADATA_MAX ? v->max_version : ML_API_METADATA_MAX;
            if (hi >= 1 && hi >= v->min_version) meta = hi;
        }
    }
    ml_arena_free(&a);
    if (rc != 0 || m.error_code != 0 || prod < 0 || meta < 0) {
        ml_warn("producer: broker %d: no Produce v3+ / Metadata v1+ in common (ApiVersions error %d)", c->node_id,
                rc ? -1 : m.error_code);
        ml_conn_close(c, ML_KERR_UNSUPPORTED_VERSION, "no common Produce/Metadata version");
        return;
    }
    c->v_produce = prod;
    c->v_metadata = meta;
    c->state = C_READY;
}

static void free_inflight(ml_inflight *f) {
    free(f->batches);
    free(f);
}

/* Returns -1 when the connection was closed. */
static int handle_frame(ml_conn *c, const uint8_t *frame, size_t len) {
    ml_inflight *f = c->head;
    if (!f) {
        ml_conn_close(c, ML_KERR_NETWORK_EXCEPTION, "a response nobody asked for");
        return -1;
    }
    int flexible = f->api_key == ML_API_API_VERSIONS_KEY ? 0
                   : f->api_key == ML_API_PRODUCE_KEY    ? f->version >= ML_API_PRODUCE_FLEX
                                                         : f->version >= ML_API_METADATA_FLEX;
    ml_reader r;
    ml_reader_init(&r, frame, len);
    int32_t corr;
    if (ml_response_header_decode(&r, flexible, &corr) != 0 || corr != f->corr) {
        ml_conn_close(c, ML_KERR_NETWORK_EXCEPTION, "response out of order (correlation id)");
        return -1;
    }
    pop_inflight(c);
    const uint8_t *body = r.p;
    size_t blen = ml_reader_left(&r);
    int state = c->state;
    if (f->api_key == ML_API_API_VERSIONS_KEY) {
        handle_api_versions(c, body, blen);
    } else if (f->api_key == ML_API_METADATA_KEY) {
        c->p->metadata_in_flight = 0;
        ml_metadata_apply(c->p, body, blen, f->version);
    } else {
        handle_produce(c, f, body, blen); /* each batch was completed or put back */
    }
    free_inflight(f);
    return c->state == C_IDLE && state != C_IDLE ? -1 : 0;
}

static void on_read(struct bufferevent *bev, void *arg) {
    ml_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    int handled = 0;
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4) break;
        uint8_t sz[4];
        evbuffer_copyout(in, sz, 4);
        uint32_t n = ml_load_u32(sz);
        if (n > ML_MAX_RESPONSE) {
            ml_conn_close(c, ML_KERR_NETWORK_EXCEPTION, "response larger than 256 MiB");
            return;
        }
        if (avail < 4 + (size_t)n) break;
        uint8_t *frame = evbuffer_pullup(in, (ssize_t)(4 + n));
        int rc = handle_frame(c, frame + 4, n);
        if (rc < 0) return; /* closed: bev is gone */
        evbuffer_drain(in, 4 + n);
        handled = 1;
    }
    if (handled) ml_sender_run(c->p);
}

static void on_write(struct bufferevent *bev, void *arg) {
    (void)bev;
    ml_conn *c = arg;
    if (c->state == C_READY) ml_sender_run(c->p); /* the output went below half the limit */
}

static void set_buffers(ml_conn *c) {
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->p->conf.send_buffer_bytes >= 0) {
        int v = c->p->conf.send_buffer_bytes;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    }
    if (c->p->conf.receive_buffer_bytes >= 0) {
        int v = c->p->conf.receive_buffer_bytes;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    ml_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        set_buffers(c);
        c->state = C_API_VERSIONS;
        send_api_versions(c, ML_API_API_VERSIONS_MAX);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        ml_conn_close(c, ML_KERR_NETWORK_EXCEPTION,
                      what & BEV_EVENT_EOF ? "connection closed by the broker" : "connection failed");
        ml_sender_run(c->p);
    }
}

int ml_conn_connecting(const ml_conn *c) { return c->state == C_CONNECTING || c->state == C_API_VERSIONS; }

void ml_conn_connect(ml_conn *c, const char *host, int port, int64_t now_ms) {
    if (c->state != C_IDLE || ml_conn_failed_recently(c, now_ms)) return;
    moonlog_producer *p = c->p;
    c->bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        c->failed_ms = now_ms;
        return;
    }
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, out_limit(c) / 2, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->state = C_CONNECTING;
    c->next_corr = 1;
    if (bufferevent_socket_connect_hostname(c->bev, NULL, AF_UNSPEC, host, port) != 0) {
        ml_debug("producer: cannot connect to %s:%d", host, port);
        ml_conn_close(c, ML_KERR_NETWORK_EXCEPTION, "connect failed");
    }
}

void ml_conn_close(ml_conn *c, int code, const char *why) {
    moonlog_producer *p = c->p;
    if (c->state == C_IDLE) return;
    ml_debug("producer: connection to broker %d closed: %s", c->node_id, why);
    if (c->bev) bufferevent_free(c->bev);
    c->bev = NULL;
    c->state = C_IDLE;
    c->failed_ms = ml_mono_ms();
    ml_inflight *f;
    while ((f = pop_inflight(c))) {
        if (f->api_key == ML_API_METADATA_KEY) p->metadata_in_flight = 0;
        for (int i = 0; i < f->n; i++) ml_sender_retry_or_fail(p, f->batches[i], code, why);
        free_inflight(f);
    }
    atomic_store(&p->metadata_wanted, 1);
}

void ml_conn_check_timeouts(ml_conn *c, int64_t now_ms) {
    if (c->head && now_ms - c->head->sent_ms > c->p->conf.request_timeout_ms)
        ml_conn_close(c, ML_KERR_REQUEST_TIMED_OUT, "request.timeout.ms passed without a response");
}

void ml_conn_free(ml_conn *c) {
    if (!c) return;
    ml_conn_close(c, MOONLOG_ERR_CLOSED, "producer closed");
    free(c);
}
