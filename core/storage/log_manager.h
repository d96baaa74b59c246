/* Every partition log of the broker, under one or more log dirs.
 *
 * Start-up loads each `<topic>-<n>` directory (topic names may contain '-': split at the last
 * one), recovering from the checkpointed recovery points unless the dir holds a clean-shutdown
 * marker; the marker is removed once loaded, so a crash afterwards counts as unclean. Topic
 * settings persist in `<first log dir>/topic-configs/<topic>.properties` (partition count plus
 * the per-topic overrides), so a restart keeps them; a topic's effective config is the broker
 * defaults with its overrides applied. New partitions go to the log dir holding the fewest.
 *
 * Threading: single-threaded (the broker's event loop); no locks. Deleting a topic closes and
 * unlinks its files at once: read ranges handed out earlier stay valid only through fds the
 * caller dup()ed (see partition_log.h). */
#ifndef ML_STORAGE_LOG_MANAGER_H
#define ML_STORAGE_LOG_MANAGER_H

#include <stdint.h>

#include "common/error.h"
#include "storage/log_config.h"
#include "storage/partition_log.h"

#define ML_TOPIC_CONFIG_DIR "topic-configs"
/* The most partitions one topic may have (a sanity bound on CreateTopics/CreatePartitions). */
#define ML_TOPIC_MAX_PARTITIONS 100000

typedef struct ml_log_manager ml_log_manager;

/* Opens the log dirs (created when missing) and loads every partition found. `defaults` is the
 * broker's log.* settings as a topic config. */
int ml_log_manager_open(const char *const *dirs, int n_dirs, const ml_log_config *defaults, int64_t now_ms,
                        ml_log_manager **out, ml_err *err);
/* Clean shutdown: flushes every partition, writes both checkpoints and the clean-shutdown
 * marker of each dir, closes and frees (also on error). */
int ml_log_manager_close(ml_log_manager *lm, int64_t now_ms, ml_err *err);
/* How often ml_log_manager_tick runs each task (Kafka's log.retention.check.interval.ms 300000,
 * log.flush.scheduler.interval.ms, log.flush.offset.checkpoint.interval.ms 60000). */
void ml_log_manager_set_intervals(ml_log_manager *lm, int64_t retention_check_ms, int64_t flush_check_ms,
                                  int64_t checkpoint_ms);

/* Creates `partitions` partitions with the given overrides (Kafka property names). ML_EEXIST if
 * the topic exists, ML_EINVAL for a bad name, count or config. */
int ml_log_manager_create_topic(ml_log_manager *lm, const char *topic, int32_t partitions, const char *const *names,
                                const char *const *values, int n_configs, int64_t now_ms, ml_err *err);
int ml_log_manager_delete_topic(ml_log_manager *lm, const char *topic, ml_err *err);
/* Grows a topic to `total` partitions (CreatePartitions); ML_EINVAL when not more than now. */
int ml_log_manager_add_partitions(ml_log_manager *lm, const char *topic, int32_t total, int64_t now_ms, ml_err *err);
/* Sets (value != NULL) or removes (value == NULL) overrides, persists them and applies them to
 * the topic's partitions. All or nothing. */
int ml_log_manager_alter_topic_config(ml_log_manager *lm, const char *topic, const char *const *names,
                                      const char *const *values, int n_configs, ml_err *err);

/* NULL when unknown. */
ml_partition_log *ml_log_manager_get(ml_log_manager *lm, const char *topic, int32_t partition);
/* -1 when the topic is unknown. */
int32_t ml_log_manager_partition_count(ml_log_manager *lm, const char *topic);
const ml_log_config *ml_log_manager_topic_config(ml_log_manager *lm, const char *topic);
/* The i-th override of a topic (DescribeConfigs tells overrides from defaults); ML_ENOENT past the end. */
int ml_log_manager_topic_override(ml_log_manager *lm, const char *topic, int i, const char **name,
                                  const char **value);
int ml_log_manager_topic_count(const ml_log_manager *lm);
/* Topic names in creation/load order; NULL past the end. */
const char *ml_log_manager_topic_name(const ml_log_manager *lm, int i);
int ml_log_manager_dir_count(const ml_log_manager *lm);
const char *ml_log_manager_dir(const ml_log_manager *lm, int i);

/* Periodic work, each part when its interval has passed: retention, flush.ms, checkpoints. */
int ml_log_manager_tick(ml_log_manager *lm, int64_t now_ms, ml_err *err);
/* Runs retention on every partition now; returns the number of segments deleted. */
int ml_log_manager_retain(ml_log_manager *lm, int64_t now_ms, ml_err *err);
/* Writes both checkpoint files of every log dir now. */
int ml_log_manager_checkpoint(ml_log_manager *lm, ml_err *err);
/* Checks a topic name as Kafka does: 1-249 characters of [a-zA-Z0-9._-], not "." or "..". */
int ml_topic_name_valid(const char *topic);

#endif
