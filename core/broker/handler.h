/* Small pieces every request handler needs: topic names out of wire slices, arena arrays, and
 * sending a response encoded by a generated codec. */
#ifndef ML_BROKER_HANDLER_H
#define ML_BROKER_HANDLER_H

#include <stdint.h>

#include "broker/request.h"
#include "storage/partition_log.h"

/* Copies a wire string into `out` (ML_TOPIC_NAME_MAX + 1 bytes). Returns 0, or -1 when it is
 * null, empty, too long or holds a NUL: such a name can never be a valid topic. */
int ml_topic_from_slice(ml_slice s, char out[ML_TOPIC_NAME_MAX + 1]);

/* A zeroed array of `n` elements in the request's arena; NULL when out of memory (n may be 0). */
void *ml_req_array(ml_request *req, int32_t n, size_t elem_size);
/* A copy of `s` in the request's arena as a slice (for names built at run time). */
ml_slice ml_req_string(ml_request *req, const char *s);

/* Answers with the body a generated encoder wrote into `w`, and frees `w`:
 *   ml_writer w; ml_writer_init(&w, 256); ml_x_response_encode(&w, v, &resp); return ml_req_finish(req, &w);
 * Returns 0, or ML_ENOMEM when the encoder ran out of memory (the connection is then closed). */
int ml_req_finish(ml_request *req, ml_writer *w);

#endif
