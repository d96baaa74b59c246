#include "proto/record_batch.h"

#include "common/crc32c.h"

/* Header read with the sticky reader so a short buffer cannot be over-read. */
static void read_header(const uint8_t *p, ml_record_batch_hdr *h) {
    ml_reader r;
    ml_reader_init(&r, p, ML_RB_HEADER_SIZE);
    h->base_offset = ml_read_i64(&r);
    h->batch_length = ml_read_i32(&r);
    h->partition_leader_epoch = ml_read_i32(&r);
    h->magic = ml_read_i8(&r);
    h->crc = ml_read_u32(&r);
    h->attributes = ml_read_i16(&r);
    h->last_offset_delta = ml_read_i32(&r);
    h->base_timestamp = ml_read_i64(&r);
    h->max_timestamp = ml_read_i64(&r);
    h->producer_id = ml_read_i64(&r);
    h->producer_epoch = ml_read_i16(&r);
    h->base_sequence = ml_read_i32(&r);
    h->record_count = ml_read_i32(&r);
}

int ml_record_batch_parse_header(const uint8_t *p, size_t len, ml_record_batch_hdr *out, ml_err *err) {
    if (len < ML_RB_HEADER_SIZE)
        return ml_err_set(err, ML_ECORRUPT, "record batch: %zu bytes, less than the %d-byte header", len,
                          ML_RB_HEADER_SIZE);
    read_header(p, out);
    if (out->magic != ML_RB_MAGIC)
        return ml_err_set(err, ML_ECORRUPT, "record batch: magic %d, only v2 is supported", out->magic);
    if (out->batch_length < ML_RB_HEADER_SIZE - ML_RB_LOG_OVERHEAD)
        return ml_err_set(err, ML_ECORRUPT, "record batch: batchLength %d below the header size",
                          out->batch_length);
    if (out->record_count < 0)
        return ml_err_set(err, ML_ECORRUPT, "record batch: negative record count %d", out->record_count);
    /* Compacted batches may be empty yet keep their offset span; a non-empty one spans its count. */
    if (out->record_count > 0 ? out->last_offset_delta != out->record_count - 1 : out->last_offset_delta < 0)
        return ml_err_set(err, ML_ECORRUPT, "record batch: lastOffsetDelta %d with %d records",
                          out->last_offset_delta, out->record_count);
    return ML_OK;
}

int ml_record_batch_parse(const uint8_t *p, size_t len, ml_record_batch_hdr *out, ml_err *err) {
    int rc = ml_record_batch_parse_header(p, len, out, err);
    if (rc < 0) return rc;
    size_t size = ml_record_batch_size(out);
    if (size > len)
        return ml_err_set(err, ML_ECORRUPT, "record batch: batchLength %d runs past the %zu bytes available",
                          out->batch_length, len);
    uint32_t crc = ml_crc32c(0, p + ML_RB_OFF_ATTRIBUTES, size - ML_RB_OFF_ATTRIBUTES);
    if (crc != out->crc)
        return ml_err_set(err, ML_ECORRUPT, "record batch at offset %lld: CRC 0x%08x, computed 0x%08x",
                          (long long)out->base_offset, out->crc, crc);
    return ML_OK;
}

void ml_record_batch_iter_init(ml_record_batch_iter *it, const uint8_t *buf, size_t len) {
    it->buf = buf;
    it->len = len;
    it->pos = 0;
}

int ml_record_batch_iter_next(ml_record_batch_iter *it, const uint8_t **batch, ml_record_batch_hdr *out,
                              ml_err *err) {
    if (it->pos == it->len) return 0;
    const uint8_t *p = it->buf + it->pos;
    int rc = ml_record_batch_parse(p, it->len - it->pos, out, err);
    if (rc < 0) return rc;
    *batch = p;
    it->pos += ml_record_batch_size(out);
    return 1;
}

void ml_record_batch_set_base_offset(uint8_t *batch, int64_t base_offset) {
    ml_store_u64(batch + ML_RB_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void ml_record_batch_set_leader_epoch(uint8_t *batch, int32_t epoch) {
    ml_store_u32(batch + ML_RB_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void ml_record_batch_update_crc(uint8_t *batch, size_t size) {
    uint32_t crc = ml_crc32c(0, batch + ML_RB_OFF_ATTRIBUTES, size - ML_RB_OFF_ATTRIBUTES);
    ml_store_u32(batch + ML_RB_OFF_CRC, crc);
}

void ml_record_batch_set_log_append_time(uint8_t *batch, size_t size, int64_t now_ms) {
    uint16_t attrs = ml_load_u16(batch + ML_RB_OFF_ATTRIBUTES);
    ml_store_u16(batch + ML_RB_OFF_ATTRIBUTES, (uint16_t)(attrs | ML_RB_ATTR_LOG_APPEND_TIME));
    ml_store_u64(batch + ML_RB_OFF_MAX_TIMESTAMP, (uint64_t)now_ms);
    ml_record_batch_update_crc(batch, size);
}

/* Size of the optional bytes field (varint length, then the bytes). */
static size_t bytes_field_size(int32_t len) {
    return (size_t)ml_varlong_size(len < 0 ? -1 : len) + (len > 0 ? (size_t)len : 0);
}

static void write_bytes_field(ml_writer *w, const uint8_t *p, int32_t len) {
    ml_write_varint(w, len < 0 ? -1 : len);
    if (len > 0) ml_write_raw(w, p, (size_t)len);
}

/* Size of a record's body, i.e. what its leading length varint counts. */
static size_t record_body_size(const ml_record_in *rec, int64_t ts_delta, int32_t offset_delta) {
    size_t n = 1 + (size_t)ml_varlong_size(ts_delta) + (size_t)ml_varlong_size(offset_delta);
    n += bytes_field_size(rec->key_len) + bytes_field_size(rec->value_len);
    n += (size_t)ml_varlong_size(rec->n_headers);
    for (int32_t i = 0; i < rec->n_headers; i++)
        n += bytes_field_size(rec->headers[i].key_len) + bytes_field_size(rec->headers[i].value_len);
    return n;
}

static void write_record(ml_writer *w, const ml_record_in *rec, int64_t base_ts, int32_t offset_delta) {
    int64_t ts_delta = rec->timestamp - base_ts;
    ml_write_varint(w, (int32_t)record_body_size(rec, ts_delta, offset_delta));
    ml_write_i8(w, 0);
    ml_write_varlong(w, ts_delta);
    ml_write_varint(w, offset_delta);
    write_bytes_field(w, rec->key, rec->key_len);
    write_bytes_field(w, rec->value, rec->value_len);
    ml_write_varint(w, rec->n_headers);
    for (int32_t i = 0; i < rec->n_headers; i++) {
        write_bytes_field(w, rec->headers[i].key, rec->headers[i].key_len);
        write_bytes_field(w, rec->headers[i].value, rec->headers[i].value_len);
    }
}

int ml_record_batch_build(ml_writer *w, int64_t base_offset, int64_t base_ts, const ml_record_in *recs, int n,
                          ml_err *err) {
    if (n < 1) return ml_err_set(err, ML_EINVAL, "record batch: at least one record is needed");
    int64_t max_ts = base_ts;
    for (int i = 0; i < n; i++) {
        if (recs[i].timestamp > max_ts) max_ts = recs[i].timestamp;
        if (recs[i].n_headers < 0 || (recs[i].n_headers > 0 && !recs[i].headers))
            return ml_err_set(err, ML_EINVAL, "record %d: bad header list", i);
    }
    size_t start = w->len;
    ml_write_i64(w, base_offset);
    ml_write_i32(w, 0); /* batchLength, patched below */
    ml_write_i32(w, -1);
    ml_write_i8(w, ML_RB_MAGIC);
    ml_write_u32(w, 0); /* crc, patched below */
    ml_write_i16(w, 0);
    ml_write_i32(w, n - 1);
    ml_write_i64(w, base_ts);
    ml_write_i64(w, max_ts);
    ml_write_i64(w, -1);
    ml_write_i16(w, -1);
    ml_write_i32(w, -1);
    ml_write_i32(w, n);
    for (int i = 0; i < n; i++) write_record(w, &recs[i], base_ts, i);
    if (w->err) return ml_err_set(err, ML_ENOMEM, "record batch: out of memory");
    size_t size = w->len - start;
    ml_store_u32(w->data + start + ML_RB_OFF_LENGTH, (uint32_t)(size - ML_RB_LOG_OVERHEAD));
    ml_record_batch_update_crc(w->data + start, size);
    return ML_OK;
}

int ml_record_iter_init(ml_record_iter *it, const uint8_t *batch, size_t len, ml_err *err) {
    int rc = ml_record_batch_parse_header(batch, len, &it->hdr, err);
    if (rc < 0) return rc;
    size_t size = ml_record_batch_size(&it->hdr);
    if (size > len) return ml_err_set(err, ML_ECORRUPT, "record batch: truncated (%zu of %zu bytes)", len, size);
    if (it->hdr.attributes & ML_RB_ATTR_CODEC_MASK)
        return ml_err_set(err, ML_EINVAL, "record batch: compressed (codec %d), records not readable here",
                          it->hdr.attributes & ML_RB_ATTR_CODEC_MASK);
    ml_reader_init(&it->r, batch + ML_RB_HEADER_SIZE, size - ML_RB_HEADER_SIZE);
    it->left = it->hdr.record_count;
    return ML_OK;
}

static ml_slice read_bytes_field(ml_reader *r) {
    int32_t n = ml_read_varint(r);
    if (n < 0) return (ml_slice){NULL, -1};
    return ml_read_raw(r, n);
}

int ml_record_iter_next(ml_record_iter *it, ml_record *out, ml_err *err) {
    if (it->left == 0) return 0;
    int32_t body = ml_read_varint(&it->r);
    size_t body_start = ml_reader_offset(&it->r);
    out->attributes = ml_read_i8(&it->r);
    int64_t ts_delta = ml_read_varlong(&it->r);
    int32_t off_delta = ml_read_varint(&it->r);
    out->key = read_bytes_field(&it->r);
    out->value = read_bytes_field(&it->r);
    out->n_headers = ml_read_varint(&it->r);
    const uint8_t *hstart = it->r.p;
    for (int32_t i = 0; i < out->n_headers && !it->r.err; i++) {
        int32_t klen = ml_read_varint(&it->r);
        ml_reader_skip(&it->r, klen > 0 ? (size_t)klen : 0);
        int32_t vlen = ml_read_varint(&it->r);
        ml_reader_skip(&it->r, vlen > 0 ? (size_t)vlen : 0);
    }
    if (it->r.err || body < 0 || out->n_headers < 0 || ml_reader_offset(&it->r) - body_start != (size_t)body)
        return ml_err_set(err, ML_ECORRUPT, "record batch at offset %lld: record %d does not decode",
                          (long long)it->hdr.base_offset, it->hdr.record_count - it->left);
    out->headers = (ml_slice){hstart, (int32_t)(it->r.p - hstart)};
    out->offset = it->hdr.base_offset + off_delta;
    out->timestamp = (it->hdr.attributes & ML_RB_ATTR_LOG_APPEND_TIME) ? it->hdr.max_timestamp
                                                                       : it->hdr.base_timestamp + ts_delta;
    it->left--;
    return 1;
}

int ml_record_header_next(ml_reader *r, ml_slice *key, ml_slice *value, ml_err *err) {
    *key = read_bytes_field(r);
    *value = read_bytes_field(r);
    if (r->err || key->len < 0) return ml_err_set(err, ML_ECORRUPT, "record header does not decode");
    return ML_OK;
}
