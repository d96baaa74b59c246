/* Kafka RecordBatch v2 (magic 2): the header codec the broker needs to store batches untouched,
 * plus a builder and a reader for uncompressed records (specs, the client, timestamp lookups).
 *
 * Layout (61-byte header, big-endian):
 *   baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 | crc u32 |
 *   attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 | maxTimestamp i64 |
 *   producerId i64 | producerEpoch i16 | baseSequence i32 | recordCount i32 | records...
 * batchLength counts the bytes after itself (whole batch = batchLength + 12). The CRC-32C covers
 * attributes to the end, so baseOffset and partitionLeaderEpoch can be rewritten in place without
 * touching the CRC; anything else rewritten (LogAppendTime) needs the CRC recomputed.
 * Nothing here decompresses: compressed batches are stored and served as sent. */
#ifndef ML_PROTO_RECORD_BATCH_H
#define ML_PROTO_RECORD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

#define ML_RB_HEADER_SIZE 61
#define ML_RB_LOG_OVERHEAD 12 /* baseOffset + batchLength: bytes not counted by batchLength */
#define ML_RB_MAGIC 2

/* Byte offsets of the header fields. */
enum {
    ML_RB_OFF_BASE_OFFSET = 0,
    ML_RB_OFF_LENGTH = 8,
    ML_RB_OFF_LEADER_EPOCH = 12,
    ML_RB_OFF_MAGIC = 16,
    ML_RB_OFF_CRC = 17,
    ML_RB_OFF_ATTRIBUTES = 21, /* the CRC starts here */
    ML_RB_OFF_LAST_OFFSET_DELTA = 23,
    ML_RB_OFF_BASE_TIMESTAMP = 27,
    ML_RB_OFF_MAX_TIMESTAMP = 35,
    ML_RB_OFF_PRODUCER_ID = 43,
    ML_RB_OFF_PRODUCER_EPOCH = 51,
    ML_RB_OFF_BASE_SEQUENCE = 53,
    ML_RB_OFF_RECORD_COUNT = 57,
};

/* Attribute bits. */
#define ML_RB_ATTR_CODEC_MASK 0x07 /* 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd */
#define ML_RB_ATTR_LOG_APPEND_TIME 0x08
#define ML_RB_ATTR_TRANSACTIONAL 0x10
#define ML_RB_ATTR_CONTROL 0x20

typedef struct ml_record_batch_hdr {
    int64_t base_offset;
    int32_t batch_length;
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} ml_record_batch_hdr;

/* Whole size of the batch in bytes (header included). */
static inline size_t ml_record_batch_size(const ml_record_batch_hdr *h) {
    return (size_t)h->batch_length + ML_RB_LOG_OVERHEAD;
}

static inline int64_t ml_record_batch_last_offset(const ml_record_batch_hdr *h) {
    return h->base_offset + h->last_offset_delta;
}

/* Decodes the 61 header bytes at `p` (len >= 61) and checks magic, the minimum batchLength and
 * the record count / lastOffsetDelta relation, but not the CRC nor that the whole batch is there:
 * used to walk batches already stored on disk by reading their headers only. */
int ml_record_batch_parse_header(const uint8_t *p, size_t len, ml_record_batch_hdr *out, ml_err *err);

/* Full validation of the batch starting at `p`: the header checks above, the batch lies within
 * `len` bytes, and the CRC-32C matches. Returns 0 or ML_ECORRUPT. */
int ml_record_batch_parse(const uint8_t *p, size_t len, ml_record_batch_hdr *out, ml_err *err);

/* Walks concatenated batches (a Produce request's records, a chunk of a .log file), validating
 * each one fully. A trailing partial batch is an error (ML_ECORRUPT), not the end. */
typedef struct ml_record_batch_iter {
    const uint8_t *buf;
    size_t len;
    size_t pos;
} ml_record_batch_iter;

void ml_record_batch_iter_init(ml_record_batch_iter *it, const uint8_t *buf, size_t len);
/* 1 with `*batch` pointing at the next batch and `out` filled; 0 at the end; negative on error. */
int ml_record_batch_iter_next(ml_record_batch_iter *it, const uint8_t **batch, ml_record_batch_hdr *out,
                              ml_err *err);

/* In-place rewrites. The first two fields are outside the CRC. */
void ml_record_batch_set_base_offset(uint8_t *batch, int64_t base_offset);
void ml_record_batch_set_leader_epoch(uint8_t *batch, int32_t epoch);
/* Stamps LogAppendTime: sets attribute bit 3 and maxTimestamp = `now_ms` (as Kafka does: readers
 * then use maxTimestamp for every record), then recomputes the CRC over `size` bytes. */
void ml_record_batch_set_log_append_time(uint8_t *batch, size_t size, int64_t now_ms);
/* Recomputes and stores the CRC of a whole batch of `size` bytes. */
void ml_record_batch_update_crc(uint8_t *batch, size_t size);

/* Records for the builder; a length of -1 means null (keys and values), header keys are not null. */
typedef struct ml_record_header_in {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
} ml_record_header_in;

typedef struct ml_record_in {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
    int64_t timestamp;
    const ml_record_header_in *headers;
    int32_t n_headers;
} ml_record_in;

/* Appends one uncompressed batch of `n` (>= 1) records to `w`: producerId/epoch/baseSequence and
 * partitionLeaderEpoch -1, CreateTime, maxTimestamp the largest record timestamp. */
int ml_record_batch_build(ml_writer *w, int64_t base_offset, int64_t base_ts, const ml_record_in *recs, int n,
                          ml_err *err);

/* One record of an uncompressed batch; slices point into the batch. */
typedef struct ml_record {
    int8_t attributes;
    int64_t offset;
    int64_t timestamp; /* already resolved for LogAppendTime batches */
    ml_slice key;
    ml_slice value;
    int32_t n_headers;
    ml_slice headers; /* the raw header area, read with ml_record_header_next */
} ml_record;

typedef struct ml_record_iter {
    ml_reader r;
    ml_record_batch_hdr hdr;
    int32_t left;
} ml_record_iter;

/* Starts reading the records of the (validated) batch at `batch`; ML_EINVAL when compressed. */
int ml_record_iter_init(ml_record_iter *it, const uint8_t *batch, size_t len, ml_err *err);
/* 1 with `out` filled, 0 after the last record, ML_ECORRUPT when a record does not decode. */
int ml_record_iter_next(ml_record_iter *it, ml_record *out, ml_err *err);
/* Reads the next header of a record's header area (initialise `r` over rec->headers). */
int ml_record_header_next(ml_reader *r, ml_slice *key, ml_slice *value, ml_err *err);

#endif
