/* The admin client's internals, shared by admin.c (connections, topics, offsets) and
 * admin_groups.c (consumer groups).
 *
 * The admin client reuses the consumer's blocking connection layer (consumer_conn.c): it holds a
 * consumer that is never started (its configuration and broker nodes only, no I/O thread, no
 * assignment), so both sides share one ApiVersions negotiation and one request/response path. */
#ifndef ML_CLIENT_ADMIN_INT_H
#define ML_CLIENT_ADMIN_INT_H

#include "client/consumer_int.h"
#include "common/arena.h"
#include "moonlog/admin.h"
#include "proto/metadata.h"

struct moonlog_admin {
    moonlog_consumer *c; /* the connection shell described above */
};

/* A connected broker: `id` when >= 0 (known from Metadata), else any (known brokers, then the
 * bootstrap ones). NULL with `err` naming what was tried. */
ml_cnode *ml_admin_node(moonlog_admin *a, int32_t id, moonlog_error *err);
/* Sends `body` to `n` (api `key`, version `v`, flexible from `flex`) and waits; a connection that
 * broke since its last use is reopened once. 0 with *resp, or the error code with `err` filled. */
int ml_admin_call(moonlog_admin *a, ml_cnode *n, int16_t key, int16_t v, int16_t flex, ml_writer *body,
                  ml_cresp *resp, moonlog_error *err);
/* Metadata of `n` topics (n < 0: all of them; 0: brokers only) from any broker, recording the
 * brokers it lists; 0 with *m decoded into resp (free it) or the error code. */
int ml_admin_metadata(moonlog_admin *a, const char *const *topics, int n, ml_metadata_response *m,
                      ml_cresp *resp, moonlog_error *err);
/* `err` for a response that does not decode. */
int ml_admin_corrupt(moonlog_error *err, const char *api, int16_t v, const ml_reader *r);

/* A NUL-terminated copy ("" for a null slice); NULL when out of memory. */
char *ml_admin_strdup(ml_slice s);

#endif
