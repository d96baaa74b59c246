/* Kafka's offset checkpoint files (`recovery-point-offset-checkpoint`,
 * `log-start-offset-checkpoint` in each log dir): a line "0" (version), a line with the number
 * of entries, then one "topic partition offset" line each. Written to a temporary file, fsynced
 * and renamed over the old one, so a crash leaves either the old or the new file whole. */
#ifndef ML_STORAGE_CHECKPOINT_H
#define ML_STORAGE_CHECKPOINT_H

#include <stdint.h>

#include "common/error.h"

#define ML_RECOVERY_POINT_CHECKPOINT "recovery-point-offset-checkpoint"
#define ML_LOG_START_OFFSET_CHECKPOINT "log-start-offset-checkpoint"

typedef struct ml_checkpoint_entry {
    char topic[256];
    int32_t partition;
    int64_t offset;
} ml_checkpoint_entry;

int ml_checkpoint_write(const char *path, const ml_checkpoint_entry *entries, int n, ml_err *err);
/* Reads a checkpoint into a malloc'd array (free with ml_checkpoint_free). A missing file is
 * an empty checkpoint; a malformed one is ML_ECORRUPT. */
int ml_checkpoint_read(const char *path, ml_checkpoint_entry **entries, int *n, ml_err *err);
void ml_checkpoint_free(ml_checkpoint_entry *entries);
/* Offset recorded for topic/partition, or `dflt`. */
int64_t ml_checkpoint_find(const ml_checkpoint_entry *entries, int n, const char *topic, int32_t partition,
                           int64_t dflt);

#endif
