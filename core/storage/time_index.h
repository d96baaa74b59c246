/* The time index of one segment (`.timeindex`): 12-byte entries (timestamp i64, offset relative
 * to the segment's base u32). An entry (t, o) says the largest timestamp up to offset o is t; one
 * is added at the offset index's cadence when the segment's max timestamp grew, and a last one on
 * roll, so a closed segment's largest timestamp is its last entry. */
#ifndef ML_STORAGE_TIME_INDEX_H
#define ML_STORAGE_TIME_INDEX_H

#include <stdint.h>

#include "storage/index_file.h"

#define ML_TIME_INDEX_ENTRY 12

typedef struct ml_time_index {
    ml_index_file file;
    int64_t base_offset;
} ml_time_index;

int ml_time_index_init(ml_time_index *idx, const char *path, int64_t base_offset, ml_err *err);
/* Appends (timestamp, offset) when `timestamp` is above the last entry's; otherwise does nothing. */
int ml_time_index_maybe_append(ml_time_index *idx, int64_t timestamp, int64_t offset, ml_err *err);
/* Offset after which the first record with a timestamp >= `ts` lies: the offset of the last
 * entry with a timestamp < ts, or -1 when none (scan from the segment start). */
int ml_time_index_lookup(ml_time_index *idx, int64_t ts, int64_t *offset, ml_err *err);
/* Last entry, or (-1, -1) when the index is empty. */
int ml_time_index_last(ml_time_index *idx, int64_t *ts, int64_t *offset, ml_err *err);
int ml_time_index_truncate_to(ml_time_index *idx, int64_t offset, ml_err *err);

#endif
