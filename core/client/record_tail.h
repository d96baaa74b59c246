/* A record's encoding from its key on (key, value, header count, headers), RecordBatch v2: what
 * does not depend on its batch, so that a staged record is encoded once and its batch takes the
 * bytes as they are (staging.c), and the direct path writes the same bytes (accumulator.c).
 * Inline: it runs once per record on both paths, and a call costs a tenth of the encoding. */
#ifndef MOONLOG_CLIENT_RECORD_TAIL_H
#define MOONLOG_CLIENT_RECORD_TAIL_H

#include <stdint.h>
#include <string.h>

#include "moonlog/producer.h"

static inline uint8_t *ml_put_varint(uint8_t *d, int32_t v) {
    uint32_t u = ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
    while (u >= 0x80) {
        *d++ = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    *d++ = (uint8_t)u;
    return d;
}

static inline uint8_t *ml_put_bytes(uint8_t *d, const void *p, int32_t len) {
    if (!p) len = -1;
    d = ml_put_varint(d, len);
    if (len > 0) memcpy(d, p, (size_t)len);
    return d + (len > 0 ? len : 0);
}

/* Writes the tail at d, at most ml_acc_record_size(...) bytes (which counts every varint at its
 * longest); returns how many bytes it wrote, and sets *key_at (when not NULL) to
 * where the key's bytes went (NULL for a null key). Always inline: out of line, its call and the
 * seven arguments cost a fifth of what it does. */
static inline __attribute__((always_inline)) size_t ml_acc_encode_tail_at(uint8_t *d, const void *key, int32_t key_len,
                                                                          const void *value, int32_t value_len,
                                                                          const moonlog_header *h, int32_t n_headers,
                                                                          const uint8_t **key_at) {
    uint8_t *start = d;
    d = ml_put_bytes(d, key, key_len);
    if (key_at) *key_at = key ? d - key_len : NULL;
    d = ml_put_bytes(d, value, value_len);
    d = ml_put_varint(d, n_headers);
    for (int32_t i = 0; i < n_headers; i++) {
        d = ml_put_bytes(d, h[i].key, (int32_t)strlen(h[i].key));
        d = ml_put_bytes(d, h[i].value, h[i].value_len);
    }
    return (size_t)(d - start);
}

static inline __attribute__((always_inline)) size_t ml_acc_encode_tail(uint8_t *d, const void *key, int32_t key_len,
                                                                       const void *value, int32_t value_len,
                                                                       const moonlog_header *h, int32_t n_headers) {
    return ml_acc_encode_tail_at(d, key, key_len, value, value_len, h, n_headers, NULL);
}

#endif
