#include "proto/header.h"

#include "common/error.h"
#include "proto/tagged.h"

int ml_request_header_decode(ml_reader *r, int flexible, ml_request_header *h) {
    h->api_key = ml_read_i16(r);
    h->api_version = ml_read_i16(r);
    h->correlation_id = ml_read_i32(r);
    /* Classic nullable string in both v1 and v2. */
    h->client_id = ml_proto_read_string(r, 0, 1);
    if (flexible) ml_skip_tagged_fields(r);
    return r->err ? ML_ECORRUPT : 0;
}

void ml_request_header_encode(ml_writer *w, int flexible, const ml_request_header *h) {
    ml_write_i16(w, h->api_key);
    ml_write_i16(w, h->api_version);
    ml_write_i32(w, h->correlation_id);
    ml_proto_write_string(w, 0, 1, h->client_id);
    if (flexible) ml_write_uvarint(w, 0);
}

void ml_response_header_encode(ml_writer *w, int flexible, int32_t correlation_id) {
    ml_write_i32(w, correlation_id);
    if (flexible) ml_write_uvarint(w, 0);
}

int ml_response_header_decode(ml_reader *r, int flexible, int32_t *correlation_id) {
    *correlation_id = ml_read_i32(r);
    if (flexible) ml_skip_tagged_fields(r);
    return r->err ? ML_ECORRUPT : 0;
}
