/* Kafka request and response headers.
 *
 * Request header v1: api_key int16, api_version int16, correlation_id int32, client_id as a
 * classic nullable string (int16 length, -1 = null). v2, used by flexible request versions,
 * adds a tagged-field section after client_id; client_id stays a classic (non-compact) string.
 * Response header v0: correlation_id int32. v1, used by flexible response versions, adds a
 * tagged-field section (one 0 byte when empty).
 *
 * `flexible` means "the request/response version is >= the API's ML_API_<API>_FLEX".
 *
 * TRAP: ApiVersions responses ALWAYS use response header v0, even for the flexible v3 (whose
 * request does use header v2): a client that sent a version the broker does not know must
 * still be able to read the error code, so pass flexible = 0 when encoding or decoding the
 * header of an ApiVersions response. */
#ifndef ML_PROTO_HEADER_H
#define ML_PROTO_HEADER_H

#include <stdint.h>

#include "common/buf.h"

typedef struct ml_request_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    ml_slice client_id; /* len -1 = null; points into the reader's bytes */
} ml_request_header;

/* Returns 0, or ML_ECORRUPT when the header is short or malformed. Tagged fields are skipped. */
int ml_request_header_decode(ml_reader *r, int flexible, ml_request_header *h);
void ml_request_header_encode(ml_writer *w, int flexible, const ml_request_header *h);

void ml_response_header_encode(ml_writer *w, int flexible, int32_t correlation_id);
/* Returns 0, or ML_ECORRUPT when the header is short or malformed. */
int ml_response_header_decode(ml_reader *r, int flexible, int32_t *correlation_id);

#endif
