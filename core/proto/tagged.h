/* Wire primitives the generated codecs share: Kafka's nullable strings, bytes and arrays in
 * both their classic and flexible (KIP-482) forms, and tagged-field sections.
 *
 * Classic forms: string = int16 length, bytes and arrays = int32 length, -1 = null.
 * Flexible forms ("compact"): unsigned varint of length + 1, 0 = null.
 * Tagged-field section (flexible versions only, at the end of every struct and header):
 * uvarint count, then per field uvarint tag, uvarint size, `size` bytes of value.
 *
 * Readers follow buf.h's sticky error: a short read, a negative length other than null, or a
 * null where `nullable` is 0 sets r->err and yields an empty value. */
#ifndef ML_PROTO_TAGGED_H
#define ML_PROTO_TAGGED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"

/* Length prefix of a string/bytes/array: -1 for null, -2 when malformed (r->err is set). */
static inline int64_t ml_proto_read_len(ml_reader *r, int flex, int wide, int nullable) {
    int64_t n;
    if (flex) {
        n = (int64_t)ml_read_uvarint(r) - 1;
    } else {
        n = wide ? ml_read_i32(r) : ml_read_i16(r);
    }
    if (r->err || n < -1 || (n == -1 && !nullable)) {
        r->err = 1;
        return -2;
    }
    return n;
}

static inline ml_slice ml_proto_read_slice(ml_reader *r, int flex, int wide, int nullable) {
    ml_slice s = {NULL, -1};
    int64_t n = ml_proto_read_len(r, flex, wide, nullable);
    if (n == -1) return s;
    if (n < 0 || n > INT32_MAX || (uint64_t)n > ml_reader_left(r)) {
        r->err = 1;
        s.len = 0;
        return s;
    }
    return ml_read_raw(r, (int32_t)n);
}

static inline ml_slice ml_proto_read_string(ml_reader *r, int flex, int nullable) {
    return ml_proto_read_slice(r, flex, 0, nullable);
}

static inline ml_slice ml_proto_read_bytes(ml_reader *r, int flex, int nullable) {
    return ml_proto_read_slice(r, flex, 1, nullable);
}

/* An array's element count: -1 for null, 0 on error. A count whose elements could not fit in
 * the bytes left (each takes at least `min_elem` bytes) is an error, so a tiny message cannot
 * make the decoder allocate for billions of elements. */
static inline int32_t ml_proto_read_array_len(ml_reader *r, int flex, int nullable, size_t min_elem) {
    int64_t n = ml_proto_read_len(r, flex, 1, nullable);
    if (n == -1) return -1;
    if (n < 0 || n > INT32_MAX || (uint64_t)n > ml_reader_left(r) / min_elem) {
        r->err = 1;
        return 0;
    }
    return (int32_t)n;
}

static inline void ml_proto_read_uuid(ml_reader *r, uint8_t out[16]) {
    ml_slice u = ml_read_raw(r, 16);
    if (u.len == 16) memcpy(out, u.ptr, 16);
}

static inline int ml_proto_uuid_is_zero(const uint8_t u[16]) {
    static const uint8_t zero[16];
    return memcmp(u, zero, 16) == 0;
}

/* Length prefix; a negative `n` is written as null when `nullable`, else as empty. */
static inline void ml_proto_write_len(ml_writer *w, int flex, int wide, int nullable, int32_t n) {
    if (n < 0 && !nullable) n = 0;
    if (n < 0) n = -1;
    if (flex) {
        ml_write_uvarint(w, (uint32_t)(n + 1));
    } else if (wide) {
        ml_write_i32(w, n);
    } else {
        ml_write_i16(w, (int16_t)n);
    }
}

static inline void ml_proto_write_string(ml_writer *w, int flex, int nullable, ml_slice s) {
    ml_proto_write_len(w, flex, 0, nullable, s.len);
    if (s.len > 0) ml_write_raw(w, s.ptr, (size_t)s.len);
}

static inline void ml_proto_write_bytes(ml_writer *w, int flex, int nullable, ml_slice s) {
    ml_proto_write_len(w, flex, 1, nullable, s.len);
    if (s.len > 0) ml_write_raw(w, s.ptr, (size_t)s.len);
}

static inline void ml_proto_write_array_len(ml_writer *w, int flex, int nullable, int32_t n) {
    ml_proto_write_len(w, flex, 1, nullable, n);
}

/* Reads one tagged field's size and hands its value bytes to `field` (a reader bounded to
 * them), moving `r` past them. Returns 0 (r->err set) when the size overruns the input. */
static inline int ml_proto_read_tagged_field(ml_reader *r, ml_reader *field) {
    uint32_t size = ml_read_uvarint(r);
    if (r->err || size > ml_reader_left(r)) {
        r->err = 1;
        return 0;
    }
    ml_reader_init(field, r->p, size);
    r->p += size;
    return 1;
}

/* Skips a whole tagged-field section (every tag unknown to the reader). Each field takes at
 * least two bytes, so a huge count ends at the first short read. */
static inline void ml_skip_tagged_fields(ml_reader *r) {
    uint32_t n = ml_read_uvarint(r);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        ml_reader field;
        (void)ml_read_uvarint(r); /* tag */
        if (!ml_proto_read_tagged_field(r, &field)) return;
    }
}

/* Appends tag, size and the bytes encoded in `value`, then frees `value`. */
static inline void ml_proto_write_tagged_field(ml_writer *w, uint32_t tag, ml_writer *value) {
    if (value->err) w->err = 1;
    ml_write_uvarint(w, tag);
    ml_write_uvarint(w, (uint32_t)value->len);
    ml_write_raw(w, value->data, value->len);
    ml_writer_free(value);
}

#endif
