/* Log compaction (cleanup.policy=compact), as Kafka's log cleaner does it: in the segments that
 * are no longer active, only the last record of each key is kept; a tombstone (a null value)
 * that is the last of its key goes too once it is older than delete.retention.ms. Offsets never
 * change: a rewritten batch keeps its base offset, its last offset delta and the offset deltas
 * of the records it keeps (so reads see gaps, never renumbering). The active segment is never
 * touched, and records are compared only with the other sealed segments (Kafka's "dirty"
 * section ends at the active segment).
 *
 * Kept as they are: records without a key, control batches, and compressed batches (moonlog does
 * not recompress; `__consumer_offsets` is written uncompressed).
 *
 * A segment is rewritten only when something in it goes: its retained batches are written to
 * `<base>.log.cleaned`, fsynced and renamed `<base>.log.swap`; then the segment is replaced by a
 * new one with the same base offset holding them, indexes rebuilt, and the `.swap` removed. A
 * crash in between is repaired at start-up (ml_compaction_recover_dir).
 *
 * Threading: the broker's event loop, called from the log manager's periodic work. */
#ifndef ML_STORAGE_COMPACTION_H
#define ML_STORAGE_COMPACTION_H

#include <stdint.h>

#include "common/error.h"
#include "storage/partition_log.h"

typedef struct ml_compaction_stats {
    int segments_rewritten;
    int64_t records_removed;
    int64_t tombstones_removed;
    int64_t bytes_before;
    int64_t bytes_after;
} ml_compaction_stats;

/* Start-up repair of `dir` (a partition directory) before it is opened: an unfinished
 * `.log.cleaned` is removed; a finished `.log.swap` replaces its segment's .log (indexes are
 * then rebuilt by recovery). 0 or ML_EIO. */
int ml_compaction_recover_dir(const char *dir, ml_err *err);

/* Compacts the sealed segments of `pl` when its cleanup.policy includes compact (a no-op
 * otherwise). `stats` may be NULL. Returns 0 or a negative ML_E* code. */
int ml_compaction_run(ml_partition_log *pl, int64_t now_ms, ml_compaction_stats *stats, ml_err *err);

#endif
