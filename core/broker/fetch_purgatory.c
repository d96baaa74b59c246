#include "broker/fetch_purgatory.h"

#include <event2/event.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "common/error.h"

typedef struct ml_parked {
    ml_fetch_purgatory *owner;
    ml_request *req;
    struct event *timer;
    ml_fetch_try_fn try_fn;
    ml_fetch_wants_fn wants_fn;
    TAILQ_ENTRY(ml_parked) link;
} ml_parked;

struct ml_fetch_purgatory {
    struct event_base *base;
    TAILQ_HEAD(, ml_parked) parked;
    int n;
};

ml_fetch_purgatory *ml_fetch_purgatory_new(struct event_base *base) {
    ml_fetch_purgatory *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->base = base;
    TAILQ_INIT(&p->parked);
    return p;
}

static void parked_remove(ml_parked *e) {
    TAILQ_REMOVE(&e->owner->parked, e, link);
    e->owner->n--;
    event_free(e->timer);
    free(e);
}

/* The connection closed first: forget the request (its owner frees it). */
static void parked_cancel(ml_request *req) {
    ml_parked *e = req->deferred;
    req->deferred = NULL;
    req->cancel = NULL;
    parked_remove(e);
}

/* Detaches the entry from its request before answering: answering may free the request. */
static void parked_answer(ml_parked *e) {
    ml_request *req = e->req;
    ml_fetch_try_fn try_fn = e->try_fn;
    req->deferred = NULL;
    req->cancel = NULL;
    parked_remove(e);
    try_fn(req, 1);
}

static void parked_timeout(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    parked_answer(arg);
}

int ml_fetch_purgatory_park(ml_fetch_purgatory *p, ml_request *req, int64_t max_wait_ms, ml_fetch_try_fn try_fn,
                            ml_fetch_wants_fn wants_fn) {
    ml_parked *e = calloc(1, sizeof *e);
    if (!e) return ML_ENOMEM;
    e->timer = evtimer_new(p->base, parked_timeout, e);
    if (!e->timer) {
        free(e);
        return ML_ENOMEM;
    }
    e->owner = p;
    e->req = req;
    e->try_fn = try_fn;
    e->wants_fn = wants_fn;
    struct timeval tv = {(time_t)(max_wait_ms / 1000), (suseconds_t)((max_wait_ms % 1000) * 1000)};
    evtimer_add(e->timer, &tv);
    TAILQ_INSERT_TAIL(&p->parked, e, link);
    p->n++;
    req->deferred = e;
    req->cancel = parked_cancel;
    return 0;
}

void ml_fetch_purgatory_notify(ml_fetch_purgatory *p, const char *topic, int32_t partition) {
    ml_parked *e = TAILQ_FIRST(&p->parked), *next;
    for (; e; e = next) {
        next = TAILQ_NEXT(e, link);
        if (!e->wants_fn(e->req, topic, partition)) continue;
        /* try_fn answers and returns 1, or leaves the request parked. */
        ml_request *req = e->req;
        ml_fetch_try_fn try_fn = e->try_fn;
        req->deferred = NULL;
        req->cancel = NULL;
        if (try_fn(req, 0)) {
            parked_remove(e);
        } else {
            req->deferred = e;
            req->cancel = parked_cancel;
        }
    }
}

int ml_fetch_purgatory_size(const ml_fetch_purgatory *p) { return p->n; }

void ml_fetch_purgatory_free(ml_fetch_purgatory *p) {
    if (!p) return;
    ml_parked *e;
    while ((e = TAILQ_FIRST(&p->parked))) parked_answer(e);
    free(p);
}
