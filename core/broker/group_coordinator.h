/* The group coordinator: Kafka's classic consumer-group protocol on this broker.
 *
 * A group moves through Empty -> PreparingRebalance -> CompletingRebalance -> Stable (and Dead
 * once deleted). A rebalance collects a JoinGroup from every member (their requests are parked
 * until then, or until the largest rebalance timeout; the first one of an empty group waits
 * for more members until none arrived for group.initial.rebalance.delay.ms, within the
 * rebalance timeout), then answers them all with a new
 * generation; the leader's answer lists every member with its subscription metadata. The
 * leader's assignor (never the broker) computes the assignment and sends it in SyncGroup, which
 * answers every member with its own part and makes the group Stable. A member that stops
 * heart-beating for session.timeout.ms is removed and the group rebalances; LeaveGroup does the
 * same at once. v4+ JoinGroup without a member id is answered MEMBER_ID_REQUIRED with one;
 * members with a group.instance.id (static membership) keep their place across restarts.
 *
 * Committed offsets and group metadata are written as records to `__consumer_offsets`
 * (offsets_topic.h) and read back from it at start-up.
 *
 * Threading: the broker's event loop only; timers are libevent timers on that loop. Parked
 * requests hold req->deferred/cancel, so a connection that closes first just drops them. */
#ifndef ML_BROKER_GROUP_COORDINATOR_H
#define ML_BROKER_GROUP_COORDINATOR_H

#include <stdint.h>
#include <string.h>
#include <sys/queue.h>

#include "broker/request.h"
#include "common/error.h"

struct ml_server;
struct event;
struct ml_join_group_request;
struct ml_sync_group_request;

enum ml_group_state {
    ML_GROUP_EMPTY,
    ML_GROUP_PREPARING_REBALANCE,
    ML_GROUP_COMPLETING_REBALANCE,
    ML_GROUP_STABLE,
    ML_GROUP_DEAD,
};

typedef struct ml_group_protocol {
    char *name;
    uint8_t *metadata;
    int32_t metadata_len;
} ml_group_protocol;

typedef struct ml_group ml_group;
typedef struct ml_group_coordinator ml_group_coordinator;

typedef struct ml_group_member {
    ml_group *group;
    char *member_id;
    char *instance_id; /* group.instance.id of a static member, NULL for a dynamic one */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    ml_group_protocol *protocols;
    int n_protocols;
    uint8_t *assignment;
    int32_t assignment_len;
    ml_request *awaiting_join; /* parked JoinGroup, answered when the rebalance completes */
    ml_request *awaiting_sync; /* parked SyncGroup, answered when the leader's assignment comes */
    struct event *session_timer;
    TAILQ_ENTRY(ml_group_member) link;
} ml_group_member;

/* A member id handed out with MEMBER_ID_REQUIRED, waiting for the member's second JoinGroup. */
typedef struct ml_group_pending {
    ml_group *group;
    char *member_id;
    struct event *timer;
    TAILQ_ENTRY(ml_group_pending) link;
} ml_group_pending;

typedef struct ml_group_offset {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_ts;
} ml_group_offset;

struct ml_group {
    ml_group_coordinator *gc;
    char *id;
    enum ml_group_state state;
    int32_t generation;
    char *protocol_type; /* NULL until a member joined */
    char *protocol_name; /* the protocol chosen for the current generation */
    char *leader_id;
    TAILQ_HEAD(, ml_group_member) members;
    int n_members;
    TAILQ_HEAD(, ml_group_pending) pending;
    int n_pending;
    struct event *join_timer;      /* the rebalance timeout (or initial delay) while preparing */
    int initial_delay;             /* the join timer is group.initial.rebalance.delay.ms */
    int64_t initial_remaining_ms;  /* how much longer the initial delay may still be extended */
    int joined_during_delay;
    int64_t last_join_ms;          /* monotonic time of the last new member during the delay */
    int64_t state_ts;              /* wall time of the last state change (offsets retention) */
    ml_group_offset *offsets;
    int n_offsets;
    int cap_offsets;
    int32_t *offset_slots;         /* open-addressing index into offsets (i + 1, 0 = empty) */
    int32_t n_offset_slots;        /* a power of two, 0 while there are few offsets */
    TAILQ_ENTRY(ml_group) link;
    struct ml_group *hash_next; /* the coordinator's lookup table, chained */
};

/* Creates the coordinator and rebuilds groups and offsets from `__consumer_offsets`. */
int ml_group_coordinator_open(struct ml_server *s, ml_group_coordinator **out, ml_err *err);
void ml_group_coordinator_free(ml_group_coordinator *gc);

const char *ml_group_state_name(enum ml_group_state st);
/* NULL when unknown. */
ml_group *ml_group_find(ml_group_coordinator *gc, const char *id, int32_t len);
int ml_group_count(const ml_group_coordinator *gc);
/* Groups in creation order; NULL past the end. */
ml_group *ml_group_at(ml_group_coordinator *gc, int i);
/* The partition count of `__consumer_offsets`, creating the topic when missing. */
int ml_group_coordinator_ensure_topic(ml_group_coordinator *gc, ml_err *err);

/* The request handlers' entry points. Each answers `req` now or parks it; after the call the
 * caller must not touch `req` or anything decoded into its arena. */
void ml_group_join(ml_group_coordinator *gc, ml_request *req, const struct ml_join_group_request *in);
void ml_group_sync(ml_group_coordinator *gc, ml_request *req, const struct ml_sync_group_request *in);
/* Return a Kafka error code. */
int16_t ml_group_heartbeat(ml_group_coordinator *gc, ml_slice group, int32_t generation, ml_slice member_id,
                           ml_slice instance_id);
int16_t ml_group_leave(ml_group_coordinator *gc, ml_slice group, ml_slice member_id, ml_slice instance_id);
int16_t ml_group_delete(ml_group_coordinator *gc, ml_slice group);

/* OffsetCommit: validates membership once for the whole request (a Kafka error code), then
 * ml_group_commit_offsets stores each partition; ML_OK or ML_E* when writing failed. */
typedef struct ml_offset_commit_in {
    ml_slice topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    ml_slice metadata;
    int16_t error_code; /* out */
} ml_offset_commit_in;

int16_t ml_group_validate_commit(ml_group_coordinator *gc, ml_slice group, int32_t generation, ml_slice member_id,
                                 ml_slice instance_id);
void ml_group_commit_offsets(ml_group_coordinator *gc, ml_slice group, ml_offset_commit_in *offs, int n);
/* NULL when the group has no offset for topic/partition. */
const ml_group_offset *ml_group_offset_find(const ml_group *g, ml_slice topic, int32_t partition);

/* Answers implemented by the JoinGroup and SyncGroup handlers (api_join_group.c, api_sync_group.c). */
typedef struct ml_join_result {
    int16_t error_code;
    int32_t generation_id;
    const char *protocol_type;
    const char *protocol_name;
    const char *leader_id;
    const char *member_id;
    const ml_group *members_of; /* the leader's answer lists this group's members, else NULL */
} ml_join_result;

typedef struct ml_sync_result {
    int16_t error_code;
    const char *protocol_type;
    const char *protocol_name;
    const uint8_t *assignment;
    int32_t assignment_len;
} ml_sync_result;

void ml_join_group_respond(ml_request *req, const ml_join_result *res);
/* A C string as a wire slice (NULL as null), for responses encoded at once. */
static inline ml_slice ml_group_str(const char *s) {
    ml_slice out = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
    return out;
}
void ml_sync_group_respond(ml_request *req, const ml_sync_result *res);

#endif
