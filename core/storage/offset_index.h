/* The sparse offset index of one segment (`.index`): 8-byte entries (offset relative to the
 * segment's base u32, position of a batch in the .log u32), appended every index.interval.bytes.
 * Like Kafka, an entry holds the last offset of the batch that starts at that position, so the
 * entry found for an offset is at or before the batch containing it and a short scan finishes. */
#ifndef ML_STORAGE_OFFSET_INDEX_H
#define ML_STORAGE_OFFSET_INDEX_H

#include <stdint.h>

#include "storage/index_file.h"

#define ML_OFFSET_INDEX_ENTRY 8

typedef struct ml_offset_index {
    ml_index_file file;
    int64_t base_offset;
} ml_offset_index;

int ml_offset_index_init(ml_offset_index *idx, const char *path, int64_t base_offset, ml_err *err);
int ml_offset_index_append(ml_offset_index *idx, int64_t offset, uint32_t position, ml_err *err);
/* Position of the last entry whose offset is <= `offset` (0 when none): where a scan starts. */
int ml_offset_index_lookup(ml_offset_index *idx, int64_t offset, uint32_t *position, ml_err *err);
/* Largest indexed position <= `limit` (0 when none): where to scan for the end of a read. */
int ml_offset_index_floor_position(ml_offset_index *idx, uint32_t limit, uint32_t *position, ml_err *err);
/* Drops entries for offsets >= `offset` (truncation after recovery or a follower truncation). */
int ml_offset_index_truncate_to(ml_offset_index *idx, int64_t offset, ml_err *err);
/* Number of entries and one of them (after a successful lookup/ensure). */
uint32_t ml_offset_index_entries(const ml_offset_index *idx);
void ml_offset_index_entry(const ml_offset_index *idx, uint32_t i, int64_t *offset, uint32_t *position);

#endif
