/* Recovery after an unclean stop, as Kafka does it: from the segment holding the recovery point
 * on, every batch is re-read and checked (header, length, offsets growing, CRC-32C); the first
 * bad one ends the segment there (a torn or corrupted tail is truncated), later segments are
 * deleted, and the indexes of every recovered segment are rebuilt from the batches.
 * A clean shutdown leaves a marker file in the log dir so the next start skips the scan. */
#ifndef ML_STORAGE_RECOVERY_H
#define ML_STORAGE_RECOVERY_H

#include <stdint.h>

#include "common/error.h"
#include "storage/partition_log.h"
#include "storage/segment.h"

#define ML_CLEAN_SHUTDOWN_FILE ".kafka_cleanshutdown"

/* Recovers `pl` from `recovery_point`; -1 means the last stop was clean, so only segments whose
 * index files are missing are rebuilt. */
int ml_recovery_run(ml_partition_log *pl, int64_t recovery_point, int64_t now_ms, ml_err *err);
/* Rebuilds one segment's indexes from its batches and cuts it at the first invalid batch;
 * `*truncated` is the number of bytes cut. Offsets must follow on exactly from batch to batch
 * unless `allow_gaps` (compacted topics). Leaves the segment active (writable indexes). */
int ml_segment_recover(ml_segment *s, size_t index_max_bytes, uint32_t index_interval, int allow_gaps,
                       uint32_t *truncated, ml_err *err);

int ml_clean_shutdown_exists(const char *log_dir);
int ml_clean_shutdown_write(const char *log_dir, ml_err *err);
int ml_clean_shutdown_remove(const char *log_dir, ml_err *err);

#endif
