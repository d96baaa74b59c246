/* moonlog consumer: the public C API of libmoonlog's Kafka consumer.
 *
 * The model is the Java consumer's. A consumer is created from a configuration written with
 * Kafka's property names; the application assigns itself partitions (moonlog_consumer_assign)
 * and calls moonlog_consumer_poll in a loop. One I/O thread per consumer looks up leaders
 * (Metadata), resolves reset and seek-to-beginning/end positions (ListOffsets) and fetches ahead
 * (Fetch v4+), decompressing batches of every codec, while the application processes what the
 * previous poll returned.
 *
 * With group.id set, offsets are committed to the group's coordinator (commit_sync,
 * commit_async, auto commit) and a newly assigned partition starts at the group's committed
 * offset (auto.offset.reset applies only when there is none). The consumer commits as a member
 * of a group whose members assign partitions themselves (generation -1, as the Java consumer
 * does after assign()).
 *
 * subscribe() makes the consumer a member of the group (the consumer group protocol, eager
 * rebalancing, the assignor plugins of partition.assignment.strategy with the standard consumer
 * protocol encoding, so it shares a group with librdkafka and Java consumers using assignors of
 * the same names: range, roundrobin, sticky; core/lua/HOOKS.md); its I/O thread heartbeats every
 * heartbeat.interval.ms while the application processes, and close() leaves the group.
 *
 * When the application does not call poll for max.poll.interval.ms, the member leaves the group
 * (its partitions go to the others, nothing is committed for it) and the next poll rejoins.
 *
 * key.deserializer and value.deserializer name serializer-kind Lua plugins whose deserialize
 * runs in poll, on the application's thread (core/lua/HOOKS.md). pause/resume stop and restart
 * fetching and returning a partition's records without losing its position.
 *
 * With group.instance.id the consumer is a static member (KIP-345, JoinGroup v5+): it never sends
 * LeaveGroup (close, unsubscribe, max.poll.interval.ms), so its membership lasts until
 * session.timeout.ms passes without it, and a restart with the same id before then gets its
 * partitions back without a rebalance of the others (unless it was the leader: the coordinator
 * rebalances then, as Kafka's does before KIP-814). A second consumer with the same id fences the
 * first (FENCED_INSTANCE_ID: it logs a warning, gives up its partitions and joins again).
 *
 * A rebalance listener (moonlog_consumer_subscribe_with_listener, or the rebalance.listener
 * property naming a Lua plugin, core/lua/HOOKS.md) is called on the application's thread inside
 * poll, as Java's ConsumerRebalanceListener: see "Rebalance listeners" below.
 *
 * Not built: cooperative (incremental) rebalancing; isolation.level=read_committed.
 *
 * Threads: a consumer is used from one thread. The first call after moonlog_consumer_new fixes
 * that thread; a call from any other thread fails with MOONLOG_ERR_WRONG_THREAD and does nothing
 * (close included: close it from the thread that used it).
 *
 * Errors: as in producer.h, 0 or a code, with the caller's moonlog_error filled when passed. */
#ifndef MOONLOG_CONSUMER_H
#define MOONLOG_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "moonlog/producer.h" /* moonlog_error, moonlog_header, the shared error codes */

#ifdef __cplusplus
extern "C" {
#endif

/* Client-side codes of the consumer (beside those of producer.h). */
enum moonlog_consumer_errcode {
    MOONLOG_ERR_WRONG_THREAD = -120, /* a consumer called from a second thread */
    MOONLOG_ERR_NO_OFFSET = -121,    /* auto.offset.reset=none and no position for a partition */
    MOONLOG_ERR_NOT_ASSIGNED = -122, /* seek/position of a partition not assigned */
    MOONLOG_ERR_DESERIALIZATION = -123, /* a deserializer failed or returned a bad value (one record) */
    MOONLOG_ERR_ASSIGNOR = -124,     /* an assignor plugin failed or returned a bad assignment */
    MOONLOG_ERR_LISTENER = -129,     /* the rebalance.listener plugin raised: logged, counted, not returned */
};

/* What a deserializer returned, for bindings that can give the value back its type: the record
 * carries bytes either way (a number as its decimal text, a boolean as "true" or "false"). */
enum moonlog_value_type { MOONLOG_VALUE_BYTES = 0, MOONLOG_VALUE_NUMBER = 1, MOONLOG_VALUE_BOOLEAN = 2 };

/* ---- Configuration ---------------------------------------------------------------------- */

typedef struct moonlog_consumer_config moonlog_consumer_config;

moonlog_consumer_config *moonlog_consumer_config_new(void);
/* Checks and stores one property. Keys (Kafka's names and defaults):
 *   bootstrap.servers          host:port[,host:port...]     required
 *   client.id                  string                       "moonlog-consumer"
 *   group.id                   string (not empty)           none: no commits, no committed offsets
 *   group.instance.id          1-249 of [a-zA-Z0-9._-]      none: a dynamic member; needs group.id
 *   enable.auto.commit         true | false                 true: with group.id, poll commits the
 *                              positions every auto.commit.interval.ms, and close commits them
 *   auto.commit.interval.ms    >= 0                         5000
 *   auto.offset.reset          earliest | latest | none     latest: where an assigned partition
 *                              without a position starts; none = poll fails with NO_OFFSET
 *   session.timeout.ms         >= 1                         45000
 *   heartbeat.interval.ms      >= 1, < session.timeout.ms   3000
 *   max.poll.interval.ms       >= 1                         300000
 *   max.poll.records           >= 1                         500
 *   fetch.min.bytes            >= 0                         1
 *   fetch.max.wait.ms          >= 0                         500
 *   fetch.max.bytes            >= 0                         52428800
 *   max.partition.fetch.bytes  >= 0                         1048576
 *   key.deserializer, value.deserializer   NAME | PATH      bytes: a serializer-kind plugin whose
 *                              deserialize (HOOKS.md) turns the record's bytes into its value
 *   isolation.level            read_uncommitted             read_uncommitted (read_committed later)
 *   request.timeout.ms         >= 1                         30000
 *   retry.backoff.ms           >= 0                         100
 *   reconnect.backoff.ms       >= 0                         50
 *   metadata.max.age.ms        >= 0                         300000
 *   partition.assignment.strategy  name|path[,...]          range: the assignor plugins offered in
 *                              JoinGroup, in order (Java's RangeAssignor, RoundRobinAssignor,
 *                              StickyAssignor class names stand for range, roundrobin, sticky;
 *                              cooperative-sticky is refused); loaded at creation with group.id
 *   rebalance.listener         NAME | PATH                  none: a rebalance_listener plugin
 *                              (commit_on_revoke, seek_to_committed, log_only, or a file) that
 *                              subscribe() installs ("Rebalance listeners" below)
 *   plugin.path                dirs separated by ':'        "": where the consumer's plugins
 *                              (<kind dir>/<name>.lua) are looked up first (then
 *                              $MOONLOG_PLUGIN_PATH, then the shipped plugins)
 *   plugin.unsafe              true | false                 false: plugins see the whole Lua library
 *   plugin.timeout.ms          >= 0                         0: longest a plugin call may run
 *   plugin.reload.interval.ms  >= 0                         1000: how often the plugin files are
 *                              checked for a valid new version (deserializers and the listener in
 *                              poll, assignors on the I/O thread and before every join); 0 = never
 * An unknown key or a bad value returns MOONLOG_ERR_INVALID_CONFIG with a message naming the key,
 * the value and what is allowed. Cross-key checks happen in moonlog_consumer_new. */
int moonlog_consumer_config_set(moonlog_consumer_config *c, const char *key, const char *value, moonlog_error *err);
void moonlog_consumer_config_free(moonlog_consumer_config *c);

/* ---- Records ---------------------------------------------------------------------------- */

enum { MOONLOG_TIMESTAMP_CREATE_TIME = 0, MOONLOG_TIMESTAMP_LOG_APPEND_TIME = 1 };

typedef struct moonlog_topic_partition {
    const char *topic;
    int32_t partition;
} moonlog_topic_partition;

/* A consumed record. Every pointer stays valid until the next poll or close of its consumer.
 * With a deserializer, key/value are what it returned (as bytes; see key_type/value_type). */
typedef struct moonlog_consumer_record {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;      /* ms since the epoch */
    int32_t timestamp_type; /* MOONLOG_TIMESTAMP_CREATE_TIME or _LOG_APPEND_TIME */
    const void *key;        /* NULL with key_len -1 for a null key */
    int32_t key_len;
    const void *value;      /* NULL with value_len -1 for a null value (a tombstone) */
    int32_t value_len;
    const moonlog_header *headers; /* keys NUL-terminated; a null value is NULL with value_len -1 */
    int32_t n_headers;
    int32_t key_type;       /* MOONLOG_VALUE_*: BYTES unless a deserializer returned a number or boolean */
    int32_t value_type;
} moonlog_consumer_record;

/* An offset to commit, or a committed one (-1: none). */
typedef struct moonlog_topic_partition_offset {
    const char *topic;
    int32_t partition;
    int64_t offset;
} moonlog_topic_partition_offset;

/* The outcome of commit_async, called on the consumer's thread inside a later poll, commit_sync,
 * committed or close, in the order the commits were made. `offsets` are valid during the call. */
typedef void (*moonlog_commit_cb)(const moonlog_topic_partition_offset *offsets, int n, const moonlog_error *err,
                                  void *opaque);

/* ---- Consumer --------------------------------------------------------------------------- */

typedef struct moonlog_consumer moonlog_consumer;

/* Creates a consumer and starts its I/O thread (brokers are contacted on first use). `c` is not
 * kept: free it after the call. */
int moonlog_consumer_new(const moonlog_consumer_config *c, moonlog_consumer **out, moonlog_error *err);

/* Subscribes to `n` topics (n = 0: unsubscribes, giving up every partition); needs group.id and
 * no manual assignment. The I/O thread joins (or rejoins) the group; partitions arrive at a later
 * poll and start at the group's committed offsets (auto.offset.reset without one). At each
 * rebalance every partition is given up, after an auto commit of the positions. */
int moonlog_consumer_subscribe(moonlog_consumer *c, const char *const *topics, int n, moonlog_error *err);

/* Subscribes to every topic whose whole name matches `pattern`, a POSIX extended regular
 * expression (regcomp REG_EXTENDED; Java's java.util.regex shares the common syntax, but ERE has
 * no \d, \w, \s, lazy quantifiers, look-around or inline flags): the I/O thread lists all topics
 * (Metadata) before it joins and every metadata.max.age.ms after, and rejoins when the matching
 * set changed, so a topic created later is consumed. Internal topics (__consumer_offsets) never
 * match. Replaces a subscription to topics (and subscribe() replaces this one); same rules
 * otherwise. INVALID_ARG names a pattern that does not compile. */
int moonlog_consumer_subscribe_pattern(moonlog_consumer *c, const char *pattern, moonlog_error *err);

/* ---- Rebalance listeners ------------------------------------------------------------------ */

/* Called on the application's thread, inside moonlog_consumer_poll (and inside subscribe with
 * n = 0 and close for revoked), never on the I/O thread. `tps` (n entries, maybe 0 for assigned)
 * are valid during the call. The callback may call commit_sync, commit_async, committed, seek,
 * seek_to_beginning/end, position and assignment on `c`; poll, subscribe, assign and close are
 * refused there (MOONLOG_ERR_INVALID_ARG). */
typedef void (*moonlog_rebalance_cb)(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, void *opaque);

/* Every callback may be NULL.
 * - on_partitions_revoked: a rebalance started and these partitions are still owned: the I/O
 *   thread keeps heartbeating and does not rejoin (JoinGroup) until the callback returned, so a
 *   commit_sync there lands before any other member can be given them. With
 *   enable.auto.commit, the positions are committed (synchronously) just before the call. After
 *   it the partitions are given up (eager rebalancing gives up all of them). Also called by
 *   unsubscribe (subscribe with n = 0) and close for the partitions owned then.
 * - on_partitions_assigned: after SyncGroup, in the next poll, with this member's new assignment
 *   (called even when it is empty). The new partitions are not fetched until it returned: a seek
 *   there sets where the first fetch starts; without one they start at the committed offset
 *   (auto.offset.reset without one).
 * - on_partitions_lost: the membership was lost (session timeout, max.poll.interval.ms passed
 *   without a poll, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID): the partitions
 *   were already taken away and another member may own them; a commit would be refused. Unlike
 *   Java's default, on_partitions_revoked is NOT called instead when this one is NULL.
 * With a listener, a rebalance waits for poll: when poll is not called, max.poll.interval.ms
 * applies as in Kafka (the member leaves, and lost is called at the next poll). Without one, the
 * I/O thread rebalances on its own as before (auto commit, then every partition given up). */
typedef struct moonlog_rebalance_listener {
    moonlog_rebalance_cb on_partitions_revoked;
    moonlog_rebalance_cb on_partitions_assigned;
    moonlog_rebalance_cb on_partitions_lost;
    void *opaque;
} moonlog_rebalance_listener;

/* subscribe() with a listener (copied; NULL: none). It replaces the listener of an earlier
 * subscribe and the rebalance.listener plugin of the configuration, which is what plain
 * subscribe() installs. */
int moonlog_consumer_subscribe_with_listener(moonlog_consumer *c, const char *const *topics, int n,
                                             const moonlog_rebalance_listener *listener, moonlog_error *err);

/* The partitions assigned now (by assign or by the group): fills up to `max` entries of `out`
 * (topic pointers are copies, valid until the next assignment() or close, whatever the I/O thread
 * does meanwhile) and returns how many there are. */
int moonlog_consumer_assignment(moonlog_consumer *c, moonlog_topic_partition *out, int max, moonlog_error *err);

/* Replaces the assignment with `n` partitions (n = 0 unassigns everything). A partition kept
 * from the previous assignment keeps its position; a new one starts where auto.offset.reset says
 * unless seek is called first. Records fetched for partitions no longer assigned are dropped.
 * A partition that does not exist fails at the next poll (UNKNOWN_TOPIC_OR_PARTITION) once
 * metadata told. */
int moonlog_consumer_assign(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err);
/* (assign fails with INVALID_ARG while subscribed.) */

/* Waits up to timeout_ms (0 = do not wait, < 0 = wait until a record or an error) for records.
 * Returns 0 with *count records (up to max.poll.records, 0 when none came in time) in *out, in
 * offset order per partition; each advances its partition's position past it. Otherwise returns
 * an error code (with *count 0) for the whole call: NO_OFFSET (auto.offset.reset=none), a
 * partition error the broker reported (a Kafka code such as OFFSET_OUT_OF_RANGE with reset
 * none, UNKNOWN_TOPIC_OR_PARTITION), CORRUPT_MESSAGE. Each partition error is reported once.
 * OFFSET_OUT_OF_RANGE with earliest or latest is handled by resetting, as Kafka does.
 * DESERIALIZATION (as Java's RecordDeserializationException): a deserializer failed on a record;
 * the message names the partition, the offset, the plugin and its line. The records before it
 * are returned first (by this poll), the partition's position stays AT the bad record, and every
 * poll fails the same way until the application seeks past it (moonlog_consumer_failed_record
 * tells which). Paused partitions return no records (see pause). */
int moonlog_consumer_poll(moonlog_consumer *c, int64_t timeout_ms, const moonlog_consumer_record **out,
                          int32_t *count, moonlog_error *err);

/* After poll failed with DESERIALIZATION: the record's partition and offset (topic valid until
 * the next poll), returning 1; 0 when the last poll did not fail on a record. */
int moonlog_consumer_failed_record(moonlog_consumer *c, moonlog_topic_partition_offset *out);

/* Pauses `n` assigned partitions (as Java's pause): they are no longer fetched and poll returns
 * none of their records; records fetched before the pause stay buffered and come after resume;
 * positions do not move. NOT_ASSIGNED (and nothing paused) when one is not assigned. A
 * partition given up (assign without it, a rebalance) loses its pause; one kept stays paused. */
int moonlog_consumer_pause(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err);
/* Resumes paused partitions (resuming one not paused does nothing; not assigned: NOT_ASSIGNED). */
int moonlog_consumer_resume(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err);
/* The paused partitions, as moonlog_consumer_assignment lists the assigned ones. */
int moonlog_consumer_paused(moonlog_consumer *c, moonlog_topic_partition *out, int max, moonlog_error *err);

/* Sets the next offset poll returns for an assigned partition; records already fetched for it
 * are dropped. */
int moonlog_consumer_seek(moonlog_consumer *c, const char *topic, int32_t partition, int64_t offset,
                          moonlog_error *err);
/* Moves the given assigned partitions (n = 0: every assigned one) to their first offset (log
 * start) or to their end (high watermark). Lazy, as Kafka's: resolved by the I/O thread with
 * ListOffsets before the next fetch; moonlog_consumer_position waits for it. */
int moonlog_consumer_seek_to_beginning(moonlog_consumer *c, const moonlog_topic_partition *tps, int n,
                                       moonlog_error *err);
int moonlog_consumer_seek_to_end(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err);

/* The offset of the next record poll returns for an assigned partition, resolving a pending
 * reset or seek-to-beginning/end first (up to timeout_ms; < 0 waits as long as it takes):
 * TIMED_OUT when not resolved in time. */
int moonlog_consumer_position(moonlog_consumer *c, const char *topic, int32_t partition, int64_t timeout_ms,
                              int64_t *offset, moonlog_error *err);

/* ---- Commits (need group.id; MOONLOG_ERR_INVALID_ARG without) ----------------------------- */

/* Commits `n` offsets (the offset of the next record to read, as Kafka), or with n = 0 the
 * position of every assigned partition that has one, and waits for the coordinator's answer.
 * Retriable errors (no coordinator yet, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, a lost
 * connection) are retried every retry.backoff.ms until success, a non-retriable error or
 * timeout_ms (< 0: no limit), then TIMED_OUT. Commits are sent one at a time in the order they
 * were made, so an earlier commit never lands after a later one. */
int moonlog_consumer_commit_sync(moonlog_consumer *c, const moonlog_topic_partition_offset *offsets, int n,
                                 int64_t timeout_ms, moonlog_error *err);
/* The same without waiting and without retrying: `cb` (may be NULL) is called once with the
 * outcome on this thread, inside a later poll, commit_sync, committed or close, in commit order.
 * A commit the coordinator has not answered when close gives up (request.timeout.ms) is
 * reported by close with MOONLOG_ERR_CLOSED. */
int moonlog_consumer_commit_async(moonlog_consumer *c, const moonlog_topic_partition_offset *offsets, int n,
                                  moonlog_commit_cb cb, void *opaque, moonlog_error *err);
/* A queue of commit_async outcomes, for bindings that must not be called back from C (LuaJIT:
 * a callback into Lua from C that was called by compiled code aborts). Pass
 * moonlog_commit_queue_cb as commit_async's `cb` with the queue as `opaque`: each outcome is
 * queued, in commit order, when the callback would have run, and the binding takes them after
 * its poll, commit_sync, committed or close returned. A queue is used from the consumer's thread
 * only and may outlive the consumer (outcomes delivered by close stay readable). */
typedef struct moonlog_commit_queue moonlog_commit_queue;
typedef struct moonlog_commit_outcome {
    const moonlog_topic_partition_offset *offsets; /* what was committed (topics owned by the queue) */
    int n;
    moonlog_error error; /* error.code 0: committed */
} moonlog_commit_outcome;
moonlog_commit_queue *moonlog_commit_queue_new(void);
void moonlog_commit_queue_cb(const moonlog_topic_partition_offset *offsets, int n, const moonlog_error *err,
                             void *queue);
/* Moves up to `max` outcomes, oldest first, into `out` (valid until the next take or free);
 * returns how many. */
int moonlog_commit_queue_take(moonlog_commit_queue *q, moonlog_commit_outcome *out, int max);
void moonlog_commit_queue_free(moonlog_commit_queue *q);

/* The group's committed offsets of `n` partitions (assigned or not) into offsets[i]; -1 where
 * none was committed. Retries as commit_sync does, up to timeout_ms. */
int moonlog_consumer_committed(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, int64_t *offsets,
                               int64_t timeout_ms, moonlog_error *err);

/* With group.id and enable.auto.commit, commits the positions (waiting up to request.timeout.ms),
 * lets earlier commit_async calls complete (up to request.timeout.ms more) and calls their
 * callbacks, CLOSED for those still unanswered; then stops the I/O thread
 * and frees the consumer (and the records of the last poll). Returns the final commit's error,
 * if any: the consumer is freed either way. */
int moonlog_consumer_close(moonlog_consumer *c, moonlog_error *err);

/* Counters: records.consumed (returned by poll), fetches.sent, bytes.fetched,
 * assignments.computed (rebalances this member led and assigned), assignor.failures (assignments
 * refused: the plugin raised or broke a rule), plugin.errors, plugin.timeouts, plugin.reloads,
 * plugin.reload.failures summed over the deserializers and assignors, rebalances (SyncGroups
 * completed), listener.errors (calls of the rebalance.listener plugin that raised or ran too
 * long), listener.reloads and listener.reload.failures (its hot reloads). -1 when unknown. */
int64_t moonlog_consumer_counter(moonlog_consumer *c, const char *name);

#ifdef __cplusplus
}
#endif

#endif
