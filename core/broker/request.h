/* One Kafka request on its way through the broker: the frame as received, its decoded header,
 * a per-request arena for the decoded body, and the response being built.
 *
 * Requests of one connection are answered in the order they arrived (clients match responses to
 * requests by position as well as by correlation id), so each request holds a slot in its
 * connection's queue from the moment it is read until its response is written. A handler answers
 * at once, or later (a long-poll Fetch) by keeping the request and calling ml_request_respond. */
#ifndef ML_BROKER_REQUEST_H
#define ML_BROKER_REQUEST_H

#include <stdint.h>
#include <sys/queue.h>

#include "common/arena.h"
#include "common/buf.h"

struct evbuffer;
struct ml_conn;
struct ml_server;
struct ml_api;

typedef struct ml_request {
    struct ml_conn *conn;          /* NULL once the connection is gone (the request is then dropped) */
    struct ml_server *server;
    const struct ml_api *api;
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    ml_slice client_id;
    int flexible;                  /* request header v2 / response header v1 */
    uint8_t *frame;                /* the request bytes after the size prefix (owned) */
    size_t frame_len;
    ml_reader body;                /* positioned at the request body */
    ml_arena arena;
    struct evbuffer *response;     /* response body, may hold file segments (sendfile) */
    int done;                      /* response complete, waiting for its turn */
    int silent;                    /* no response at all (Produce with acks=0) */
    int64_t received_us;
    void *state;                   /* the handler's own state while it answers later */
    void *deferred;                /* the purgatory entry of a request that answers later */
    void (*cancel)(struct ml_request *req); /* frees `deferred` if the connection closes first */
    TAILQ_ENTRY(ml_request) link;
} ml_request;

/* Finishes `req` with a response body written by a generated encoder. */
void ml_request_respond(ml_request *req, const ml_writer *body);
/* Finishes `req` with the body already placed in req->response. */
void ml_request_respond_buffer(ml_request *req);
/* Finishes `req` with no response on the wire (acks=0): the slot is released in order. */
void ml_request_respond_silent(ml_request *req);

#endif
