/* One log segment: `<base>.log` with the batches as produced (offsets assigned), its sparse
 * `<base>.index` and its `<base>.timeindex`, the three named by the base offset in 20 digits.
 *
 * Only the last segment of a partition is active (appended to, indexes mapped read-write and
 * preallocated); older ones are sealed (indexes trimmed, mapped read-only on first lookup).
 * Used from one thread (the broker's event loop), no locks. A read range handed out by a
 * segment refers to its .log fd: callers that keep it past the current call (sendfile) dup() the
 * fd first, so closing or deleting the segment meanwhile is safe (the data stays readable through
 * the duplicate until it is closed). */
#ifndef ML_STORAGE_SEGMENT_H
#define ML_STORAGE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "proto/record_batch.h"
#include "storage/offset_index.h"
#include "storage/time_index.h"

typedef struct ml_segment {
    int64_t base_offset;
    int64_t next_offset;       /* one past the last offset stored (base_offset when empty) */
    char *prefix;              /* "<dir>/<20-digit base offset>" */
    int fd;                    /* the .log, O_APPEND */
    uint32_t size;             /* bytes in the .log */
    ml_offset_index oi;
    ml_time_index ti;
    int64_t max_timestamp;     /* largest batch maxTimestamp, -1 when none */
    int64_t offset_of_max_timestamp;
    int max_timestamp_known;   /* sealed segments learn it from their time index, lazily */
    int64_t first_batch_timestamp; /* maxTimestamp of the first batch, -1 when none (roll by age) */
    int64_t created_ms;
    uint32_t bytes_since_index;
    int active;
    int needs_rebuild;         /* an index file was missing when loaded */
} ml_segment;

/* "<dir>/<20 digits><suffix>" into `buf`. */
void ml_segment_path(char *buf, size_t size, const char *dir, int64_t base_offset, const char *suffix);

/* Creates an empty active segment (fails with ML_EEXIST if a non-empty .log is there). */
int ml_segment_create(const char *dir, int64_t base_offset, size_t index_max_bytes, int64_t now_ms,
                      ml_segment **out, ml_err *err);
/* Opens an existing segment. An active one gets writable indexes and learns its next offset by
 * scanning the batch headers after its last index entry (stopping quietly at a torn tail, which
 * recovery handles). A sealed one's next offset is set by the partition from its successor. */
int ml_segment_open(const char *dir, int64_t base_offset, int active, size_t index_max_bytes, int64_t now_ms,
                    ml_segment **out, ml_err *err);

/* Appends `len` bytes of validated batches (offsets already assigned) with one write(), then
 * updates the indexes from the batch headers. On a failed write the file is cut back. */
int ml_segment_append(ml_segment *s, const uint8_t *batches, size_t len, uint32_t index_interval, ml_err *err);
/* Index bookkeeping for the batch `h` stored at `position` (shared by append and recovery). */
int ml_segment_index_batch(ml_segment *s, uint32_t position, const ml_record_batch_hdr *h, uint32_t index_interval,
                           ml_err *err);
/* True when an index cannot take another entry plus the closing time-index entry of a roll. */
int ml_segment_index_full(const ml_segment *s);

/* Reads the 61-byte header of the batch at `position`. */
int ml_segment_read_header(const ml_segment *s, uint32_t position, ml_record_batch_hdr *h, ml_err *err);
/* Position and header of the batch containing `offset` (index lookup, then a scan of headers);
 * ML_ERANGE when the segment holds no offset >= `offset`. */
int ml_segment_find_offset(ml_segment *s, int64_t offset, uint32_t *position, ml_record_batch_hdr *h, ml_err *err);
/* Position and header of the first batch whose maxTimestamp >= `ts`; ML_ENOENT when none. */
int ml_segment_find_timestamp(ml_segment *s, int64_t ts, uint32_t *position, ml_record_batch_hdr *h, ml_err *err);
/* End of a read starting at the batch at `start`: whole batches within `max_bytes`, but at least
 * the first batch whatever its size (so a consumer always progresses). */
int ml_segment_read_end(ml_segment *s, uint32_t start, int64_t max_bytes, uint32_t *end, ml_err *err);
/* Largest timestamp in the segment (for retention); the file's mtime when it has none. */
int64_t ml_segment_largest_timestamp(ml_segment *s);

/* Drops everything from `position` on; `next_offset` becomes the segment's next offset. */
int ml_segment_truncate(ml_segment *s, uint32_t position, int64_t next_offset, ml_err *err);
/* Makes the indexes writable again (recovery of a sealed segment, or it becoming the last one). */
int ml_segment_activate(ml_segment *s, size_t index_max_bytes, ml_err *err);
/* Ends the segment's active life: closing time-index entry, indexes trimmed to their size. */
int ml_segment_seal(ml_segment *s, ml_err *err);
/* fdatasync of the .log and msync of the indexes. */
int ml_segment_flush(ml_segment *s, ml_err *err);
/* Seals if active, then frees (a clean close). */
int ml_segment_close(ml_segment *s, ml_err *err);
/* Closes and removes the three files. */
int ml_segment_delete(ml_segment *s, ml_err *err);

#endif
