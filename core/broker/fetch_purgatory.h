/* Fetch requests waiting for data (Kafka's "delayed fetch purgatory"): a Fetch with max_wait_ms
 * and min_bytes that cannot be satisfied yet is parked here, and answered when an append to a
 * partition it reads makes enough bytes available, or when max_wait_ms expires.
 *
 * Threading: the broker's event loop only. */
#ifndef ML_BROKER_FETCH_PURGATORY_H
#define ML_BROKER_FETCH_PURGATORY_H

#include <stdint.h>

#include "broker/request.h"

struct event_base;

typedef struct ml_fetch_purgatory ml_fetch_purgatory;

/* Tries to answer a parked request; `final` is set at the deadline (it must answer then).
 * Returns 1 when it answered (the request may be freed already), 0 to keep waiting. */
typedef int (*ml_fetch_try_fn)(ml_request *req, int final);
/* Whether the parked request reads topic/partition (only those are retried on an append). */
typedef int (*ml_fetch_wants_fn)(ml_request *req, const char *topic, int32_t partition);

ml_fetch_purgatory *ml_fetch_purgatory_new(struct event_base *base);
/* Answers every parked request (final) and frees the purgatory. */
void ml_fetch_purgatory_free(ml_fetch_purgatory *p);

/* Parks `req` for up to `max_wait_ms`; sets req->deferred/cancel so that closing the connection
 * removes it. Returns 0, or ML_ENOMEM. */
int ml_fetch_purgatory_park(ml_fetch_purgatory *p, ml_request *req, int64_t max_wait_ms, ml_fetch_try_fn try_fn,
                            ml_fetch_wants_fn wants_fn);
/* Retries the parked requests that read topic/partition. */
void ml_fetch_purgatory_notify(ml_fetch_purgatory *p, const char *topic, int32_t partition);
int ml_fetch_purgatory_size(const ml_fetch_purgatory *p);

#endif
