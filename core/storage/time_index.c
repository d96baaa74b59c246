#include "storage/time_index.h"

#include "common/buf.h"

/* A crash leaves zeroed slots; a real entry (0 ms, base offset) is not worth telling apart. */
static int entry_empty(const uint8_t *e) { return ml_load_u64(e) == 0 && ml_load_u32(e + 8) == 0; }

int ml_time_index_init(ml_time_index *idx, const char *path, int64_t base_offset, ml_err *err) {
    idx->base_offset = base_offset;
    return ml_index_file_init(&idx->file, path, ML_TIME_INDEX_ENTRY, entry_empty, err);
}

static void read_entry(const ml_time_index *idx, uint32_t i, int64_t *ts, int64_t *offset) {
    const uint8_t *e = ml_index_file_entry(&idx->file, i);
    *ts = (int64_t)ml_load_u64(e);
    *offset = idx->base_offset + ml_load_u32(e + 8);
}

int ml_time_index_last(ml_time_index *idx, int64_t *ts, int64_t *offset, ml_err *err) {
    int rc = ml_index_file_ensure(&idx->file, err);
    if (rc < 0) return rc;
    *ts = *offset = -1;
    if (idx->file.entries > 0) read_entry(idx, idx->file.entries - 1, ts, offset);
    return ML_OK;
}

int ml_time_index_maybe_append(ml_time_index *idx, int64_t timestamp, int64_t offset, ml_err *err) {
    int64_t last_ts, last_off;
    int rc = ml_time_index_last(idx, &last_ts, &last_off, err);
    if (rc < 0 || timestamp <= last_ts || timestamp < 0) return rc;
    uint8_t e[ML_TIME_INDEX_ENTRY];
    ml_store_u64(e, (uint64_t)timestamp);
    ml_store_u32(e + 8, (uint32_t)(offset - idx->base_offset));
    return ml_index_file_append(&idx->file, e, err);
}

int ml_time_index_lookup(ml_time_index *idx, int64_t ts, int64_t *offset, ml_err *err) {
    int rc = ml_index_file_ensure(&idx->file, err);
    if (rc < 0) return rc;
    uint32_t lo = 0, hi = idx->file.entries;
    while (lo < hi) { /* timestamps grow strictly along the index */
        uint32_t mid = lo + (hi - lo) / 2;
        if ((int64_t)ml_load_u64(ml_index_file_entry(&idx->file, mid)) < ts) lo = mid + 1;
        else hi = mid;
    }
    int64_t t;
    *offset = -1;
    if (lo > 0) read_entry(idx, lo - 1, &t, offset);
    return ML_OK;
}

int ml_time_index_truncate_to(ml_time_index *idx, int64_t offset, ml_err *err) {
    int rc = ml_index_file_ensure(&idx->file, err);
    if (rc < 0) return rc;
    uint32_t keep = idx->file.entries;
    int64_t ts, off;
    while (keep > 0) {
        read_entry(idx, keep - 1, &ts, &off);
        if (off < offset) break;
        keep--;
    }
    ml_index_file_truncate(&idx->file, keep);
    return ML_OK;
}
