#include "storage/offset_index.h"

#include "common/buf.h"

/* A batch at position 0 is never indexed (entries come after index.interval.bytes), so a zero
 * position marks a slot never written. */
static int entry_empty(const uint8_t *e) { return ml_load_u32(e + 4) == 0; }

int ml_offset_index_init(ml_offset_index *idx, const char *path, int64_t base_offset, ml_err *err) {
    idx->base_offset = base_offset;
    return ml_index_file_init(&idx->file, path, ML_OFFSET_INDEX_ENTRY, entry_empty, err);
}

int ml_offset_index_append(ml_offset_index *idx, int64_t offset, uint32_t position, ml_err *err) {
    uint8_t e[ML_OFFSET_INDEX_ENTRY];
    ml_store_u32(e, (uint32_t)(offset - idx->base_offset));
    ml_store_u32(e + 4, position);
    return ml_index_file_append(&idx->file, e, err);
}

uint32_t ml_offset_index_entries(const ml_offset_index *idx) { return idx->file.entries; }

void ml_offset_index_entry(const ml_offset_index *idx, uint32_t i, int64_t *offset, uint32_t *position) {
    const uint8_t *e = ml_index_file_entry(&idx->file, i);
    *offset = idx->base_offset + ml_load_u32(e);
    *position = ml_load_u32(e + 4);
}

/* Number of leading entries whose field at `field` (relative offset 0, position 4) is <= `key`. */
static uint32_t count_le(const ml_index_file *f, int field, uint32_t key) {
    uint32_t lo = 0, hi = f->entries;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ml_load_u32(ml_index_file_entry(f, mid) + field) <= key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

int ml_offset_index_lookup(ml_offset_index *idx, int64_t offset, uint32_t *position, ml_err *err) {
    int rc = ml_index_file_ensure(&idx->file, err);
    if (rc < 0) return rc;
    *position = 0;
    if (offset < idx->base_offset) return ML_OK;
    int64_t rel = offset - idx->base_offset;
    uint32_t n = count_le(&idx->file, 0, rel > UINT32_MAX ? UINT32_MAX : (uint32_t)rel);
    if (n > 0) *position = ml_load_u32(ml_index_file_entry(&idx->file, n - 1) + 4);
    return ML_OK;
}

int ml_offset_index_floor_position(ml_offset_index *idx, uint32_t limit, uint32_t *position, ml_err *err) {
    int rc = ml_index_file_ensure(&idx->file, err);
    if (rc < 0) return rc;
    uint32_t n = count_le(&idx->file, 4, limit);
    *position = n > 0 ? ml_load_u32(ml_index_file_entry(&idx->file, n - 1) + 4) : 0;
    return ML_OK;
}

int ml_offset_index_truncate_to(ml_offset_index *idx, int64_t offset, ml_err *err) {
    int rc = ml_index_file_ensure(&idx->file, err);
    if (rc < 0) return rc;
    uint32_t keep = 0;
    if (offset > idx->base_offset) keep = count_le(&idx->file, 0, (uint32_t)(offset - idx->base_offset - 1));
    ml_index_file_truncate(&idx->file, keep);
    return ML_OK;
}
