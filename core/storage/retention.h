/* Delete-policy retention: whole segments go, oldest first, never the active one, when their
 * largest timestamp is older than retention.ms, while the partition exceeds retention.bytes, or
 * when they lie wholly below the log start offset (DeleteRecords). -1 disables each limit; a
 * topic without cleanup.policy=delete keeps everything. The log start offset moves up. */
#ifndef ML_STORAGE_RETENTION_H
#define ML_STORAGE_RETENTION_H

#include <stdint.h>

#include "common/error.h"
#include "storage/partition_log.h"

/* Number of oldest segments retention would delete now (no side effect). */
int ml_retention_expired_segments(ml_partition_log *pl, int64_t now_ms);
/* Deletes them; returns how many were deleted (>= 0) or a negative ML_E* code. */
int ml_retention_run(ml_partition_log *pl, int64_t now_ms, ml_err *err);

#endif
