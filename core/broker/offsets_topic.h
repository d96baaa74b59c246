/* `__consumer_offsets`: where the group coordinator keeps committed offsets and group metadata,
 * as records in Kafka's own formats, so the topic is compacted like any other and a group's
 * state is rebuilt by reading its partition from the start.
 *
 * A group lives in partition abs(javaHashCode(group id)) % partitions (Java's String.hashCode
 * over UTF-16 units; abs of INT_MIN is 0). Keys and values (big-endian, strings as i16 length):
 *   offset commit key   v1: i16 version=1, group, topic, i32 partition
 *   offset commit value v3: i16 version=3, i64 offset, i32 leader epoch, metadata, i64 commit time
 *                       (v1 also reads: offset, metadata, commit time, expire time)
 *   group key           v2: i16 version=2, group
 *   group value         v3: i16 version=3, protocol type, i32 generation, protocol (nullable),
 *                       leader (nullable), i64 state time, [members: member id, instance id
 *                       (nullable), client id, client host, i32 rebalance timeout, i32 session
 *                       timeout, bytes subscription, bytes assignment]
 * A null value (tombstone) deletes the key: an expired offset, a deleted group. */
#ifndef ML_BROKER_OFFSETS_TOPIC_H
#define ML_BROKER_OFFSETS_TOPIC_H

#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

#define ML_OFFSETS_TOPIC "__consumer_offsets"

struct ml_log_manager;
struct ml_group;

/* The partition of `__consumer_offsets` holding `group` (len bytes). */
int32_t ml_offsets_partition_for(const char *group, int32_t len, int32_t n_partitions);

/* Key and value encoders (appended to `w`). */
void ml_offsets_commit_key(ml_writer *w, const char *group, const char *topic, int32_t partition);
void ml_offsets_commit_value(ml_writer *w, int64_t offset, int32_t leader_epoch, const char *metadata,
                             int64_t commit_ts);
void ml_offsets_group_key(ml_writer *w, const char *group);
void ml_offsets_group_value(ml_writer *w, const struct ml_group *g);

/* A decoded key: kind 1 = offset commit (group, topic, partition), 2 = group metadata (group). */
typedef struct ml_offsets_key {
    int kind;
    ml_slice group;
    ml_slice topic;
    int32_t partition;
} ml_offsets_key;

typedef struct ml_offsets_commit {
    int64_t offset;
    int32_t leader_epoch;
    ml_slice metadata;
    int64_t commit_ts;
} ml_offsets_commit;

/* Group metadata; the members are read one by one with ml_offsets_member_next. */
typedef struct ml_offsets_group {
    int16_t version;
    ml_slice protocol_type;
    int32_t generation;
    ml_slice protocol;
    ml_slice leader;
    int64_t state_ts;
    int32_t n_members;
    ml_reader members;
} ml_offsets_group;

typedef struct ml_offsets_member {
    ml_slice member_id;
    ml_slice instance_id;
    ml_slice client_id;
    ml_slice client_host;
    int32_t rebalance_timeout_ms;
    int32_t session_timeout_ms;
    ml_slice subscription;
    ml_slice assignment;
} ml_offsets_member;

/* Each returns 0, or ML_ECORRUPT (unknown version, short input). */
int ml_offsets_key_decode(ml_slice key, ml_offsets_key *out);
int ml_offsets_commit_decode(ml_slice value, ml_offsets_commit *out);
int ml_offsets_group_decode(ml_slice value, ml_offsets_group *out);
int ml_offsets_member_next(ml_offsets_group *g, ml_offsets_member *out);

/* Appends one batch holding `n` records (keys and values as written by the encoders above, a
 * value of length -1 is a tombstone) to the group's partition. */
typedef struct ml_offsets_record {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
} ml_offsets_record;

int ml_offsets_append(struct ml_log_manager *lm, int32_t partition, const ml_offsets_record *recs, int n,
                      int64_t now_ms, ml_err *err);

/* Reads every record of partition `p` from its log start, in order, calling `fn` for each
 * (value.len -1 for a tombstone). Compressed batches are skipped with a warning. */
typedef void (*ml_offsets_record_fn)(void *ctx, ml_slice key, ml_slice value);
int ml_offsets_load_partition(struct ml_log_manager *lm, int32_t p, ml_offsets_record_fn fn, void *ctx,
                              ml_err *err);

#endif
