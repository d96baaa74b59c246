/* The log of one partition: the ordered segments in `<log.dir>/<topic>-<partition>`.
 *
 * Appends validate each batch (magic, lengths, CRC) and assign offsets by rewriting baseOffset in
 * place; batches are written as they are, never decompressed. Reads return a byte range of one
 * segment's .log for sendfile.
 *
 * Threading: single-threaded (the broker's event loop); no locks.
 * Lifetime of read ranges: `ml_log_read_range.fd` belongs to the segment. A caller that uses it
 * after returning to the loop (sendfile later) must dup() it first; retention, topic deletion or
 * close may then close and unlink the segment safely, the duplicate keeps the bytes readable. */
#ifndef ML_STORAGE_PARTITION_LOG_H
#define ML_STORAGE_PARTITION_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/log_config.h"
#include "storage/segment.h"

#define ML_TOPIC_NAME_MAX 249

typedef struct ml_partition_log {
    char *dir;
    char topic[ML_TOPIC_NAME_MAX + 1];
    int32_t partition;
    ml_log_config config;
    ml_segment **segs; /* by base offset; the last is the active one */
    int n_segs;
    int cap_segs;
    int64_t log_start_offset;
    int64_t recovery_point;     /* offsets below it are known to be on disk */
    int64_t unflushed_messages;
    int64_t last_flush_ms;
    int32_t leader_epoch;       /* stamped into appended batches when >= 0 */
} ml_partition_log;

typedef struct ml_log_append_info {
    int64_t base_offset;      /* first offset assigned */
    int64_t last_offset;
    int64_t log_append_time;  /* -1 unless the topic uses LogAppendTime */
    int64_t max_timestamp;
    int32_t n_batches;
    int32_t n_records;
} ml_log_append_info;

/* A byte range inside one segment's .log: starts at the batch holding the requested offset and
 * holds whole batches. length 0 when the requested offset is the log end offset. */
typedef struct ml_log_read_range {
    int fd;
    int64_t position;
    int64_t length;
    int64_t first_offset;  /* base offset of the first batch in the range */
    int64_t segment_base;
} ml_log_read_range;

/* Splits a partition directory name "<topic>-<n>" at its last '-' (topics may contain '-').
 * Returns 0, or ML_EINVAL when the name is not of that form. */
int ml_partition_dir_parse(const char *name, char *topic, size_t topic_size, int32_t *partition);

/* Opens (creating the directory and a first segment when needed) the partition log in `dir`.
 * `clean` says the previous run shut down cleanly: otherwise segments from `recovery_point` on
 * are recovered (CRC-checked, a torn tail truncated, indexes rebuilt). `log_start_offset` is
 * the checkpointed one (0 when unknown). */
int ml_partition_log_open(const char *dir, const ml_log_config *cfg, int64_t recovery_point, int64_t log_start_offset,
                          int clean, int64_t now_ms, ml_partition_log **out, ml_err *err);
/* Flushes nothing: closes the segments (indexes trimmed) and frees. Flush first for durability. */
int ml_partition_log_close(ml_partition_log *pl, ml_err *err);
/* Removes every file and the directory, then frees (see the header comment about read ranges). */
int ml_partition_log_delete(ml_partition_log *pl, ml_err *err);

/* Appends one or more concatenated batches held in `batches` (rewritten in place: baseOffset,
 * partitionLeaderEpoch, and the timestamp and CRC under LogAppendTime). All or nothing: any
 * invalid batch (ML_ECORRUPT) or one above max.message.bytes (ML_ETOOBIG) rejects the whole
 * buffer. Rolls first when the active segment is full or old (`now_ms`); may flush per policy. */
int ml_partition_log_append(ml_partition_log *pl, uint8_t *batches, size_t len, int64_t now_ms,
                            ml_log_append_info *info, ml_err *err);
/* Range for a fetch at `offset` of up to `max_bytes` (at least the first batch). ML_ERANGE
 * when offset is below the log start or above the log end offset. */
int ml_partition_log_read(ml_partition_log *pl, int64_t offset, int64_t max_bytes, ml_log_read_range *out,
                          ml_err *err);
/* First offset whose timestamp is >= `ts`, and that timestamp (ListOffsets). Exact for
 * uncompressed batches; for a compressed one the batch's base offset and maxTimestamp.
 * ML_ENOENT when no record is that recent. */
int ml_partition_log_offset_for_timestamp(ml_partition_log *pl, int64_t ts, int64_t *offset, int64_t *timestamp,
                                          ml_err *err);

int64_t ml_partition_log_start_offset(const ml_partition_log *pl);
int64_t ml_partition_log_end_offset(const ml_partition_log *pl);
int64_t ml_partition_log_recovery_point(const ml_partition_log *pl);
int64_t ml_partition_log_size(const ml_partition_log *pl);
int ml_partition_log_segment_count(const ml_partition_log *pl);
int64_t ml_partition_log_segment_base(const ml_partition_log *pl, int i);
int64_t ml_partition_log_segment_size(const ml_partition_log *pl, int i);
const char *ml_partition_log_topic(const ml_partition_log *pl);
int32_t ml_partition_log_partition(const ml_partition_log *pl);
const char *ml_partition_log_dir(const ml_partition_log *pl);

void ml_partition_log_set_config(ml_partition_log *pl, const ml_log_config *cfg);
void ml_partition_log_set_leader_epoch(ml_partition_log *pl, int32_t epoch);

/* Starts a new segment at the log end offset (no-op when the active one is empty). */
int ml_partition_log_roll(ml_partition_log *pl, int64_t now_ms, ml_err *err);
/* fsyncs the segments holding unflushed data; the recovery point becomes the log end offset. */
int ml_partition_log_flush(ml_partition_log *pl, int64_t now_ms, ml_err *err);
/* Flushes when flush.ms has passed since the last flush and something is unflushed. */
int ml_partition_log_maybe_flush(ml_partition_log *pl, int64_t now_ms, ml_err *err);
/* Deletes the `n` oldest segments (never the active one); the log start offset moves up. */
int ml_partition_log_delete_oldest(ml_partition_log *pl, int n, ml_err *err);
/* Removes every offset >= `offset` (a follower truncating to its leader): the batch holding
 * `offset` goes whole, later segments are deleted. No-op at or past the log end offset. */
int ml_partition_log_truncate_to(ml_partition_log *pl, int64_t offset, ml_err *err);
/* Drops the segments after index `i` and makes segment `i` the active one (recovery). */
int ml_partition_log_drop_after(ml_partition_log *pl, int i, ml_err *err);

#endif
