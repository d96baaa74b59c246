/* Bounds-checked big-endian readers and growable writers for Kafka's wire format.
 *
 * The reader has a sticky error (as franz-go's kbin does): every read checks bounds, the first
 * short or malformed read marks the reader bad and later reads return zeroes, so a decoder reads
 * a whole message and checks `r->err` once at the end. `ml_reader_offset` tells where it failed. */
#ifndef ML_COMMON_BUF_H
#define ML_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct ml_reader {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
    int err; /* 0 while every read so far fit */
} ml_reader;

/* A byte range inside some buffer the caller keeps alive; `len < 0` means null. */
typedef struct ml_slice {
    const uint8_t *ptr;
    int32_t len;
} ml_slice;

typedef struct ml_writer {
    uint8_t *data;
    size_t len;
    size_t cap;
    int err; /* set when an allocation failed; later writes are dropped */
} ml_writer;

static inline void ml_reader_init(ml_reader *r, const void *data, size_t len) {
    r->start = r->p = (const uint8_t *)data;
    r->end = r->p + len;
    r->err = 0;
}

static inline size_t ml_reader_offset(const ml_reader *r) { return (size_t)(r->p - r->start); }
static inline size_t ml_reader_left(const ml_reader *r) { return (size_t)(r->end - r->p); }

static inline int ml_reader_need(ml_reader *r, size_t n) {
    if (r->err || (size_t)(r->end - r->p) < n) {
        r->err = 1;
        return 0;
    }
    return 1;
}

static inline int8_t ml_read_i8(ml_reader *r) {
    if (!ml_reader_need(r, 1)) return 0;
    return (int8_t)*r->p++;
}

static inline int16_t ml_read_i16(ml_reader *r) {
    if (!ml_reader_need(r, 2)) return 0;
    uint16_t v = (uint16_t)((r->p[0] << 8) | r->p[1]);
    r->p += 2;
    return (int16_t)v;
}

static inline uint16_t ml_load_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static inline uint32_t ml_load_u32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t ml_load_u64(const uint8_t *p) {
    return ((uint64_t)ml_load_u32(p) << 32) | ml_load_u32(p + 4);
}

static inline void ml_store_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void ml_store_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void ml_store_u64(uint8_t *p, uint64_t v) {
    ml_store_u32(p, (uint32_t)(v >> 32));
    ml_store_u32(p + 4, (uint32_t)v);
}

static inline int32_t ml_read_i32(ml_reader *r) {
    if (!ml_reader_need(r, 4)) return 0;
    uint32_t v = ml_load_u32(r->p);
    r->p += 4;
    return (int32_t)v;
}

static inline uint32_t ml_read_u32(ml_reader *r) { return (uint32_t)ml_read_i32(r); }

static inline int64_t ml_read_i64(ml_reader *r) {
    if (!ml_reader_need(r, 8)) return 0;
    uint64_t v = ml_load_u64(r->p);
    r->p += 8;
    return (int64_t)v;
}

static inline double ml_read_f64(ml_reader *r) {
    int64_t bits = ml_read_i64(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Unsigned LEB128 as Kafka uses it (at most 5 bytes for 32 bits, 10 for 64). */
static inline uint64_t ml_read_uvarlong(ml_reader *r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (!ml_reader_need(r, 1)) return 0;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    r->err = 1;
    return 0;
}

static inline uint32_t ml_read_uvarint(ml_reader *r) {
    uint64_t v = ml_read_uvarlong(r);
    if (v > UINT32_MAX) {
        r->err = 1;
        return 0;
    }
    return (uint32_t)v;
}

/* Zig-zag signed varints (records inside a RecordBatch). */
static inline int32_t ml_read_varint(ml_reader *r) {
    uint32_t u = ml_read_uvarint(r);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

static inline int64_t ml_read_varlong(ml_reader *r) {
    uint64_t u = ml_read_uvarlong(r);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

/* Takes `n` raw bytes as a slice (no copy). */
static inline ml_slice ml_read_raw(ml_reader *r, int32_t n) {
    ml_slice s = {NULL, -1};
    if (n < 0) return s;
    if (!ml_reader_need(r, (size_t)n)) return s;
    s.ptr = r->p;
    s.len = n;
    r->p += n;
    return s;
}

static inline void ml_reader_skip(ml_reader *r, size_t n) {
    if (ml_reader_need(r, n)) r->p += n;
}

/* Writer: every function appends; on allocation failure `w->err` is set and stays set. */
void ml_writer_init(ml_writer *w, size_t initial_cap);
void ml_writer_free(ml_writer *w);
void ml_writer_reset(ml_writer *w);
int ml_writer_reserve(ml_writer *w, size_t extra);
/* Hands the buffer to the caller (who frees it with free()); the writer is left empty. */
uint8_t *ml_writer_steal(ml_writer *w, size_t *len);

static inline void ml_write_raw(ml_writer *w, const void *p, size_t n) {
    if (n == 0 || !ml_writer_reserve(w, n)) return;
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

static inline void ml_write_i8(ml_writer *w, int8_t v) {
    if (!ml_writer_reserve(w, 1)) return;
    w->data[w->len++] = (uint8_t)v;
}

static inline void ml_write_i16(ml_writer *w, int16_t v) {
    if (!ml_writer_reserve(w, 2)) return;
    ml_store_u16(w->data + w->len, (uint16_t)v);
    w->len += 2;
}

static inline void ml_write_i32(ml_writer *w, int32_t v) {
    if (!ml_writer_reserve(w, 4)) return;
    ml_store_u32(w->data + w->len, (uint32_t)v);
    w->len += 4;
}

static inline void ml_write_u32(ml_writer *w, uint32_t v) { ml_write_i32(w, (int32_t)v); }

static inline void ml_write_i64(ml_writer *w, int64_t v) {
    if (!ml_writer_reserve(w, 8)) return;
    ml_store_u64(w->data + w->len, (uint64_t)v);
    w->len += 8;
}

static inline void ml_write_f64(ml_writer *w, double d) {
    int64_t bits;
    memcpy(&bits, &d, sizeof bits);
    ml_write_i64(w, bits);
}

static inline void ml_write_uvarlong(ml_writer *w, uint64_t v) {
    if (!ml_writer_reserve(w, 10)) return;
    while (v >= 0x80) {
        w->data[w->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    w->data[w->len++] = (uint8_t)v;
}

static inline void ml_write_uvarint(ml_writer *w, uint32_t v) { ml_write_uvarlong(w, v); }

static inline void ml_write_varint(ml_writer *w, int32_t v) {
    ml_write_uvarlong(w, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

static inline void ml_write_varlong(ml_writer *w, int64_t v) {
    ml_write_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Number of bytes ml_write_varint/varlong would use; record sizes are computed before writing. */
static inline int ml_varlong_size(int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    int n = 1;
    while (u >= 0x80) {
        u >>= 7;
        n++;
    }
    return n;
}

#endif
