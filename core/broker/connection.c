#include "broker/connection.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/api.h"
#include "broker/server.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/api_versions.h"
#include "proto/header.h"

/* A client may pipeline requests (librdkafka allows 1,000,000 in flight by default). Past these
 * limits the connection stops reading until the queue drains, so a fast writer that reads its
 * responses slowly cannot make the broker buffer without bound. */
#define ML_CONN_MAX_QUEUED 512
#define ML_CONN_MAX_OUTPUT (32u * 1024 * 1024)
#define ML_CONN_MAX_SINGLE_IO (4 * 1024 * 1024) /* bytes written per callback */

static void conn_on_readable(evutil_socket_t fd, short what, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static void peer_name(const struct sockaddr *addr, char *out, size_t size) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, size, "%s:%d", host, port);
}

/* Waits for readability, for at most connections.max.idle.ms. */
static void conn_arm_reading(ml_conn *c) {
    int64_t idle = c->server->config->connections_max_idle_ms;
    struct timeval tv = {(time_t)(idle / 1000), (suseconds_t)((idle % 1000) * 1000)};
    event_add(c->read_ev, idle > 0 ? &tv : NULL);
}

int ml_conn_open(ml_server *server, int fd, const struct sockaddr *addr, int addrlen) {
    (void)addrlen;
    ml_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return ML_ENOMEM;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    evutil_make_socket_nonblocking(fd);
    c->server = server;
    peer_name(addr, c->peer, sizeof c->peer);
    TAILQ_INIT(&c->queue);
    ml_frame_reader_init(&c->reader, server->config->socket_request_max_bytes);
    /* Requests are read by our own frame reader on a plain read event; the bufferevent only
     * writes (responses, with file segments going out through sendfile). */
    c->bev = bufferevent_socket_new(server->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->read_ev = c->bev ? event_new(server->base, fd, EV_READ | EV_PERSIST, conn_on_readable, c) : NULL;
    if (!c->bev || !c->read_ev) {
        if (c->bev) bufferevent_free(c->bev);
        else close(fd);
        free(c);
        return ML_ENOMEM;
    }
    /* libevent writes at most 16 KiB per callback by default: let one turn move a whole response. */
    bufferevent_set_max_single_write(c->bev, ML_CONN_MAX_SINGLE_IO);
    bufferevent_setcb(c->bev, NULL, conn_write_cb, conn_event_cb, c);
    bufferevent_enable(c->bev, EV_WRITE);
    conn_arm_reading(c);
    TAILQ_INSERT_TAIL(&server->conns, c, link);
    server->n_conns++;
    ml_debug("connection from %s", c->peer);
    return 0;
}

static void request_free(ml_request *req) {
    if (req->response) evbuffer_free(req->response);
    ml_arena_free(&req->arena);
    free(req->frame);
    free(req);
}

void ml_conn_close(ml_conn *c, const char *reason) {
    if (reason) ml_warn("closing connection from %s: %s", c->peer, reason);
    ml_request *req;
    while ((req = TAILQ_FIRST(&c->queue))) {
        TAILQ_REMOVE(&c->queue, req, link);
        if (req->deferred && req->cancel) req->cancel(req);
        request_free(req);
    }
    TAILQ_REMOVE(&c->server->conns, c, link);
    c->server->n_conns--;
    event_free(c->read_ev);
    ml_frame_reader_free(&c->reader);
    bufferevent_free(c->bev);
    free(c);
}

void ml_conn_drain(ml_conn *c) {
    c->draining = 1;
    c->read_paused = 1;
    event_del(c->read_ev);
}

size_t ml_conn_unsent(const ml_conn *c) { return evbuffer_get_length(bufferevent_get_output(c->bev)); }

static void conn_update_reading(ml_conn *c) {
    if (c->draining) return;
    size_t out = evbuffer_get_length(bufferevent_get_output(c->bev));
    int full = c->queued >= ML_CONN_MAX_QUEUED || out >= ML_CONN_MAX_OUTPUT;
    if (full && !c->read_paused) {
        c->read_paused = 1;
        event_del(c->read_ev);
    } else if (!full && c->read_paused) {
        c->read_paused = 0;
        conn_arm_reading(c);
        /* Frames may be staged already: no new data would wake us for them. */
        event_active(c->read_ev, EV_READ, 0);
    }
}

/* Writes the response of the head request: size, header, body (moved, file segments included). */
static void conn_write_response(ml_conn *c, ml_request *req) {
    struct evbuffer *out = bufferevent_get_output(c->bev);
    /* ApiVersions answers with response header v0 at every version, so an old client can read it. */
    int tagged = req->flexible && req->api_key != ML_API_API_VERSIONS_KEY;
    size_t body = evbuffer_get_length(req->response);
    uint8_t hdr[9];
    size_t n = 0;
    ml_store_u32(hdr, (uint32_t)(body + 4 + (tagged ? 1 : 0)));
    ml_store_u32(hdr + 4, (uint32_t)req->correlation_id);
    n = 8;
    if (tagged) hdr[n++] = 0;
    evbuffer_add(out, hdr, n);
    evbuffer_add_buffer(out, req->response);
}

void ml_conn_flush(ml_conn *c) {
    ml_request *req;
    while ((req = TAILQ_FIRST(&c->queue)) && req->done) {
        TAILQ_REMOVE(&c->queue, req, link);
        c->queued--;
        if (!req->silent) conn_write_response(c, req);
        request_free(req);
    }
    conn_update_reading(c);
}

void ml_request_respond(ml_request *req, const ml_writer *body) {
    evbuffer_add(req->response, body->data, body->len);
    ml_request_respond_buffer(req);
}

void ml_request_respond_buffer(ml_request *req) {
    req->done = 1;
    req->deferred = NULL;
    req->cancel = NULL;
    if (req->conn) ml_conn_flush(req->conn);
}

void ml_request_respond_silent(ml_request *req) {
    req->silent = 1;
    ml_request_respond_buffer(req);
}

/* An ApiVersions request at a version we do not know: Kafka answers UNSUPPORTED_VERSION in a v0
 * body listing what it supports, so the client can retry with a version both sides know. */
static void respond_unsupported_api_versions(ml_request *req) {
    ml_writer w;
    ml_writer_init(&w, 512);
    size_t count;
    const ml_api *apis = ml_api_all(&count);
    ml_write_i16(&w, ML_KERR_UNSUPPORTED_VERSION);
    ml_write_i32(&w, (int32_t)count);
    for (size_t i = 0; i < count; i++) {
        ml_write_i16(&w, apis[i].key);
        ml_write_i16(&w, apis[i].min_version);
        ml_write_i16(&w, apis[i].max_version);
    }
    req->flexible = 0;
    ml_request_respond(req, &w);
    ml_writer_free(&w);
}

/* Decodes the header of a complete frame and runs its handler. Returns 0, or -1 when the
 * connection was closed (the caller must not touch it again). */
static int conn_dispatch(ml_conn *c, uint8_t *frame, size_t len) {
    char why[160];
    if (len < 8) {
        free(frame);
        snprintf(why, sizeof why, "request of %zu bytes is shorter than a request header", len);
        ml_conn_close(c, why);
        return -1;
    }
    int16_t key = (int16_t)ml_load_u16(frame);
    int16_t version = (int16_t)ml_load_u16(frame + 2);
    const ml_api *api = ml_api_find(key);
    if (!api) {
        free(frame);
        snprintf(why, sizeof why, "unknown API key %d", key);
        ml_conn_close(c, why);
        return -1;
    }
    int supported = version >= api->min_version && version <= api->max_version;
    if (!supported && key != ML_API_API_VERSIONS_KEY) {
        free(frame);
        snprintf(why, sizeof why, "%s v%d is not supported (versions %d-%d)", api->name, version, api->min_version,
                 api->max_version);
        ml_conn_close(c, why);
        return -1;
    }
    ml_request *req = calloc(1, sizeof *req);
    struct evbuffer *resp = evbuffer_new();
    if (!req || !resp) {
        free(req);
        if (resp) evbuffer_free(resp);
        free(frame);
        ml_conn_close(c, "out of memory");
        return -1;
    }
    req->conn = c;
    req->server = c->server;
    req->api = api;
    req->frame = frame;
    req->frame_len = len;
    req->response = resp;
    req->received_us = ml_mono_us();
    ml_arena_init(&req->arena, 4096);
    req->flexible = supported && version >= api->first_flexible;
    ml_reader_init(&req->body, frame, len);
    ml_request_header h;
    /* An unsupported ApiVersions version may have any header shape: read only the fixed part. */
    int rc = ml_request_header_decode(&req->body, req->flexible, &h);
    req->api_key = key;
    req->api_version = version;
    req->correlation_id = (int32_t)ml_load_u32(frame + 4);
    req->client_id = h.client_id;
    TAILQ_INSERT_TAIL(&c->queue, req, link);
    c->queued++;
    if (!supported) {
        respond_unsupported_api_versions(req);
        return 0;
    }
    /* A handler fails only before it answers (api.h), so the request is still ours here. */
    if (rc == 0) rc = api->handle(req);
    if (rc != 0) {
        snprintf(why, sizeof why, "malformed %s v%d request (correlation id %d) at byte %zu of %zu", api->name,
                 version, req->correlation_id, ml_reader_offset(&req->body), len);
        ml_conn_close(c, why);
        return -1;
    }
    return 0;
}

/* Nothing read for connections.max.idle.ms. A client waiting on a long poll or reading its
 * responses is not idle: keep it. */
static void conn_idle(ml_conn *c) {
    if (c->queued > 0 || evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) return;
    ml_info("closing connection from %s: idle for connections.max.idle.ms (%lld ms)", c->peer,
            (long long)c->server->config->connections_max_idle_ms);
    ml_conn_close(c, NULL);
}

static void conn_on_readable(evutil_socket_t fd, short what, void *arg) {
    ml_conn *c = arg;
    if ((what & EV_TIMEOUT) && !(what & EV_READ)) {
        conn_idle(c);
        return;
    }
    ml_frame_reader_readable(&c->reader);
    char why[160];
    while (!c->read_paused) {
        uint8_t *frame = NULL;
        int64_t size = 0;
        int rc = ml_frame_next(&c->reader, fd, &frame, &size);
        switch (rc) {
        case ML_FRAME_READY:
            if (conn_dispatch(c, frame, (size_t)size) != 0) return;
            conn_update_reading(c);
            continue;
        case ML_FRAME_AGAIN:
            return;
        case ML_FRAME_EOF:
            ml_debug("connection from %s closed by the client", c->peer);
            ml_conn_close(c, NULL);
            return;
        case ML_FRAME_TOO_BIG:
            snprintf(why, sizeof why, "request of %lld bytes is larger than socket.request.max.bytes (%d)",
                     (long long)size, c->server->config->socket_request_max_bytes);
            ml_conn_close(c, why);
            return;
        case ML_FRAME_NOMEM:
            ml_conn_close(c, "out of memory reading a request");
            return;
        default:
            snprintf(why, sizeof why, "socket error: %s", strerror(errno));
            ml_conn_close(c, why);
            return;
        }
    }
}

static void conn_write_cb(struct bufferevent *bev, void *arg) {
    (void)bev;
    conn_update_reading(arg);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    ml_conn *c = arg;
    if (what & BEV_EVENT_EOF) {
        ml_debug("connection from %s closed by the client", c->peer);
        ml_conn_close(c, NULL);
    } else if (what & BEV_EVENT_ERROR) {
        char why[128];
        snprintf(why, sizeof why, "socket error: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        ml_conn_close(c, why);
    }
}
