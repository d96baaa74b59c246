/* The consumer's internals, shared by consumer.c (the API, the application's thread),
 * consumer_conn.c (blocking broker connections) and fetcher.c (the I/O thread).
 *
 * Locking: c->mu guards the assignment (tps: positions, pending resets, epochs, errors, leaders)
 * and the queue of fetched chunks. The I/O thread holds it to pick what to fetch and to queue
 * what came back, never across the network; the application's thread holds it in poll, seek,
 * assign and position. Connections and nodes are the I/O thread's alone.
 *
 * Rebalance listeners (rebalance.c): the callbacks run on the application's thread inside poll,
 * never under c->mu (they call back into the consumer). The I/O thread and poll meet through
 * the reb_* fields, under c->mu: the I/O thread asks for revoked (reb_revoke = ML_REB_WANTED) and
 * does not rejoin until poll set ML_REB_DONE, having run the callback and given the partitions
 * up itself; after SyncGroup it marks the new partitions awaiting (not fetched) and sets
 * reb_assigned, which poll answers by calling assigned and clearing the marks; partitions lost
 * are dropped by the I/O thread at once and listed in reb_lost for the next poll.
 *
 * Epochs: every seek, reset or reassignment of a partition bumps its epoch; a response for an
 * older epoch, and a chunk queued under one, are dropped, so a seek is never undone by a fetch
 * that was in flight when it happened. */
#ifndef ML_CLIENT_CONSUMER_INT_H
#define ML_CLIENT_CONSUMER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "client/consumer_config.h"
#include "common/arena.h"
#include "common/buf.h"
#include "moonlog/consumer.h"
#include "moonlog/plugin.h"

typedef struct ml_cnode ml_cnode;
typedef struct moonlog_plugin moonlog_plugin;

#define ML_NO_RESET (-1)
#define ML_RESET_COMMITTED 3 /* look up the group's committed offset first (group.id set) */

/* A commit or a committed-offsets lookup handed to the I/O thread (group_member.c). */
enum { ML_GOP_COMMIT, ML_GOP_FETCH };

typedef struct ml_gop {
    struct ml_gop *next;
    int kind;
    int n;
    moonlog_topic_partition_offset *tpo; /* topics owned (strdup) */
    int retry;             /* retriable errors are retried (commit_sync, committed), else fail at once */
    int done;              /* completed: `error` tells how */
    int abandoned;         /* the waiter gave up: the I/O thread frees it when done */
    moonlog_error error;
    moonlog_commit_cb cb;  /* commit_async: called on the application's thread */
    void *opaque;
    int64_t next_ms;       /* not retried before */
} ml_gop;

typedef struct ml_ctp {
    struct ml_ctp *next;
    char *topic;
    int32_t partition;
    int64_t position;     /* the next offset poll returns; -1 while a reset is pending */
    int reset;            /* ML_RESET_* pending, or ML_NO_RESET */
    int64_t fetch_offset; /* the next offset the I/O thread fetches */
    uint64_t epoch;
    int32_t leader;       /* -1 when unknown */
    int16_t error;        /* a Kafka error (or NO_OFFSET) to report at the next poll, 0 */
    int n_chunks;         /* chunks queued for this partition */
    int paused;           /* pause(): not fetched, its queued chunks wait in the queue */
    int64_t high_watermark; /* of the last Fetch response (0 before one): caught up at fetch_offset >= it */
    int awaiting;         /* assigned by the group, not fetched before on_partitions_assigned returned */
} ml_ctp;

/* Records of one partition from one Fetch response, decoded and copied. */
typedef struct ml_chunk {
    struct ml_chunk *next;
    ml_ctp *tp;           /* valid while queued (a removed partition's chunks are dropped first) */
    uint64_t epoch;
    char *topic;
    moonlog_consumer_record *recs;
    int32_t n, pos;
    moonlog_header *hdrs;
    uint8_t *data;
} ml_chunk;

struct ml_cnode {
    int32_t id; /* bootstrap entries get -1, -2, ... */
    char host[256];
    int port;
    int fd;     /* -1 when not connected */
    int16_t v_fetch, v_list_offsets, v_metadata;
    int16_t v_find_coordinator, v_offset_commit, v_offset_fetch; /* -1 when the broker has none */
    int16_t v_join_group, v_sync_group, v_heartbeat, v_leave_group;
    /* the admin client's (admin.c reuses these connections) */
    int16_t v_create_topics, v_delete_topics, v_create_partitions, v_list_groups, v_describe_groups, v_delete_groups;
    int16_t v_describe_configs;
    int32_t corr;
    int64_t failed_ms;
};

struct moonlog_consumer {
    ml_cconf conf;
    pthread_t owner; /* the thread allowed to use the consumer */
    int owned;

    pthread_mutex_t mu;
    pthread_cond_t io_cv;   /* work for the I/O thread */
    pthread_cond_t data_cv; /* chunks queued, positions resolved, errors */
    ml_ctp *tps;
    ml_chunk *head, *tail;
    ml_chunk *done;         /* handed out by the last poll or dropped since: freed at the next poll */
    int stopping;
    int metadata_wanted;
    ml_gop *gops, *gops_tail;  /* queued for the I/O thread, in order */
    ml_gop *completed, *completed_tail; /* commit_async results waiting for their callback */
    int64_t next_auto_commit_ms;
    char **sub_topics;  /* subscribe(): the topics, NULL when not subscribed */
    int n_sub;
    int sub_epoch;      /* bumped by every subscribe: the member rejoins */
    char *sub_pattern;  /* subscribe_pattern(): the pattern, and its compiled regex_t (NULL: topics) */
    void *sub_regex;
    int64_t pattern_next_ms; /* the I/O thread's: the next look for matching topics */
    int64_t last_poll_ms; /* when poll was last called (monotonic) */
    int poll_expired;   /* left the group: max.poll.interval.ms passed without a poll; the next poll rejoins */

    moonlog_consumer_record *out;
    int32_t out_cap;
    /* the application thread's: deserializers (NULL: bytes as fetched), the values they gave
     * the last poll, and the record the last poll failed on */
    moonlog_plugin *key_deser, *value_deser;
    int64_t next_reload_check_ms;
    ml_arena values;
    moonlog_topic_partition_offset failed;
    int has_failed;
    char **out_topics; /* the topics assignment() handed out, until its next call */
    int n_out_topics;

    /* rebalance listener (rebalance.c) */
    moonlog_rebalance_listener listener; /* the application's thread's; has_listener under c->mu */
    int has_listener;
    struct moonlog_plugin *listener_plugin; /* rebalance.listener, NULL without */
    int reb_revoke;       /* ML_REB_*, under c->mu */
    int reb_assigned;     /* under c->mu: a SyncGroup's assignment waits for on_partitions_assigned */
    moonlog_topic_partition *reb_lost; /* under c->mu: lost, reported at the next poll (topics owned) */
    int n_lost;
    int in_listener;      /* the application's thread: inside a callback */
    int64_t next_reload_ms;
    _Atomic int64_t n_rebalances, n_listener_errors;

    /* the I/O thread's */
    pthread_t thread;
    int thread_started;
    ml_cnode *nodes;
    int n_nodes, cap_nodes, n_bootstrap, bootstrap_next;
    int64_t metadata_next_ms;  /* the next periodic refresh (metadata.max.age.ms, or sooner after an error) */
    int64_t metadata_retry_ms; /* a wanted refresh (a partition without a leader) not before: retry.backoff.ms */
    ml_cnode *coord; /* the group coordinator (its own connection), NULL until found */
    int64_t group_next_ms; /* no coordinator request before (retry.backoff.ms after a failure) */
    char *member_id;       /* given by the coordinator ("" before) */
    int32_t generation;    /* -1 when not a member of a generation */
    int joined_sub_epoch;  /* the subscription the current membership is for (-1 none) */
    int rejoin;            /* the coordinator asked for a rebalance */
    int64_t next_heartbeat_ms;
    moonlog_plugin *assignors[ML_MAX_ASSIGNORS]; /* partition.assignment.strategy, in order */
    int n_assignors;
    int64_t reload_next_ms;
    uint8_t *last_assignment; /* the last ConsumerProtocolAssignment SyncGroup gave (NULL: none) */
    int32_t last_assignment_len, last_generation;
    char last_assign_error[256]; /* the last assignor failure logged (each is logged once in a row) */

    _Atomic int64_t n_consumed, n_fetches, n_bytes;
    _Atomic int64_t n_assignments, n_assign_failures; /* computed as the leader, refused */
};

/* consumer_conn.c (I/O thread) */
int ml_cnodes_init(moonlog_consumer *c, moonlog_error *err);
ml_cnode *ml_cnode_find(moonlog_consumer *c, int32_t id);
ml_cnode *ml_cnode_add(moonlog_consumer *c, int32_t id, const char *host, size_t host_len, int port);
/* Connects (and negotiates versions) when not connected; 0 or -1. */
int ml_cnode_connect(moonlog_consumer *c, ml_cnode *n);
void ml_cnode_close(ml_cnode *n);
/* The first node that connects, in their order (bootstrap ones first); NULL when none does. */
ml_cnode *ml_cnode_first(moonlog_consumer *c);
/* Sends one request and reads its response. On 0, *frame is the malloc'ed response frame (free
 * it) and *resp, *resp_len the body after the response header. -1 closes the connection. */
int ml_cnode_request(moonlog_consumer *c, ml_cnode *n, int16_t api_key, int16_t version, int flexible,
                     ml_writer *body, uint8_t **frame, const uint8_t **resp, size_t *resp_len);
/* A response: the frame to free, a reader over its body, and an arena for the decoded message. */
typedef struct ml_cresp {
    uint8_t *frame;
    ml_reader r;
    ml_arena arena;
} ml_cresp;
/* ml_cnode_request of `body` (flexible from version `flex` on): 0 with *resp (ml_cresp_free), or -1. */
int ml_cnode_call(moonlog_consumer *c, ml_cnode *n, int16_t key, int16_t v, int16_t flex, ml_writer *body,
                  ml_cresp *resp);
void ml_cresp_free(ml_cresp *resp);
struct ml_metadata_response;
/* Encodes a Metadata request for `n` topics (n < 0: all of them; 0: brokers only) at nd's
 * version; 0 or -1 (out of memory). */
int ml_cnode_metadata_body(ml_writer *body, const ml_cnode *nd, const char *const *topics, int n);
/* Metadata of `n` topics (as above) from `nd`: 0 with *m decoded into resp (free it), -1 when the
 * broker does not answer, -2 (logged) when its answer does not decode. */
int ml_cnode_metadata(moonlog_consumer *c, ml_cnode *nd, const char *const *topics, int n,
                      struct ml_metadata_response *m, ml_cresp *resp);
/* Records the brokers a Metadata response lists: new ones added, moved ones reconnected. */
void ml_cnodes_learn(moonlog_consumer *c, const struct ml_metadata_response *m);
/* A string as a slice, and whether a slice holds exactly that string. */
ml_slice ml_cslice(const char *s);
int ml_cslice_eq(ml_slice s, const char *str);

/* group_member.c (I/O thread unless said otherwise) */
int ml_group_has_work(moonlog_consumer *c); /* under c->mu */
void ml_group_run(moonlog_consumer *c);
void ml_gop_free(ml_gop *g);             /* any thread */
void ml_group_close(moonlog_consumer *c);
/* After the I/O thread stopped (close): LeaveGroup when a member. */
void ml_group_leave(moonlog_consumer *c);

/* group_assignors.c: the assignor plugins of partition.assignment.strategy (any thread at open
 * and close, the I/O thread otherwise). */
struct ml_join_group_response;
struct ml_join_group_request_protocol;
struct ml_sync_group_request_assignment;
/* `given`: the consumer's settings as given, the plugins' moonlog.config */
int ml_assignors_open(moonlog_consumer *c, const char *const *given, moonlog_error *err);
void ml_assignors_close(moonlog_consumer *c);
/* Checks the plugin files when plugin.reload.interval.ms passed (force: now). */
void ml_assignors_reload(moonlog_consumer *c, int force);
/* The JoinGroup protocols, one per assignor in order, each with its subscription metadata
 * (free with ml_assignors_protocols_free). 0 or -1. */
int ml_assignors_protocols(moonlog_consumer *c, char *const *topics, int n, struct ml_join_group_request_protocol **out,
                           int *n_out);
void ml_assignors_protocols_free(struct ml_join_group_request_protocol *p, int n);
/* The leader's step: every member's assignment by the assignor the coordinator chose; *out
 * (free with ml_assignors_assignments_free) or an error (logged once, counted). */
int ml_assignors_assign(moonlog_consumer *c, const struct ml_join_group_response *jr,
                        struct ml_sync_group_request_assignment **out);
void ml_assignors_assignments_free(struct ml_sync_group_request_assignment *as, int n);
/* SyncGroup's answer for this member: on_assignment of the chosen assignor, and kept for the next
 * subscription's user_data. */
void ml_assignors_received(moonlog_consumer *c, ml_slice protocol, const uint8_t *assignment, int32_t len,
                           int32_t generation);

/* pattern_subscription.c: the compiled pattern (ml_pattern_free), and the I/O thread's look for
 * matching topics: due (under c->mu) and refresh (which updates sub_topics and sub_epoch). */
int ml_pattern_compile(const char *pattern, void **out, moonlog_error *err);
void ml_pattern_free(void *re);
int ml_pattern_due(moonlog_consumer *c);
void ml_pattern_refresh(moonlog_consumer *c);
enum { ML_REB_NONE, ML_REB_WANTED, ML_REB_DONE };

/* rebalance.c */
/* rebalance.listener; `given` (key, value, ..., NULL) is the plugin's moonlog.config */
int ml_rebalance_open(moonlog_consumer *c, const char *const *given, moonlog_error *err);
void ml_rebalance_free(moonlog_consumer *c);
/* The listener plain subscribe() installs (the plugin's adapter): 1 with *out filled, 0 none. */
int ml_rebalance_default(moonlog_consumer *c, moonlog_rebalance_listener *out);
/* rebalances, listener.errors, listener.reloads; -1 for another name. */
int64_t ml_rebalance_counter(moonlog_consumer *c, const char *name);
/* I/O thread, before JoinGroup: 1 when the member may rejoin now (nothing owned, no listener, or
 * revoked ran); otherwise asks poll for revoked and returns 0. */
int ml_rebalance_ready(moonlog_consumer *c);
/* I/O thread, under c->mu, after SyncGroup set the assignment. */
void ml_rebalance_assigned(moonlog_consumer *c);
/* I/O thread: the membership was lost; drops the partitions and keeps them for on_partitions_lost. */
void ml_rebalance_lost(moonlog_consumer *c);
/* Under c->mu: poll has callbacks to run. */
int ml_rebalance_pending(moonlog_consumer *c);
/* Application's thread, not under c->mu: runs what is pending (reloading the plugin first when its
 * file changed); 1 when a callback ran. */
int ml_rebalance_run(moonlog_consumer *c);
/* Application's thread: revoked for every owned partition (unsubscribe, close); the caller
 * gives them up. */
void ml_rebalance_revoke_now(moonlog_consumer *c);

/* consumer.c: replaces the assignment (under c->mu); new partitions start from `reset`. */
int ml_consumer_set_assignment(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, int reset);

/* deserializer.c (the application's thread) */
int ml_deserializers_open(moonlog_consumer *c, const char *const *given, moonlog_error *err);
void ml_deserializers_close(moonlog_consumer *c);
/* Every plugin.reload.interval.ms: installs a changed, valid deserializer file (HOOKS.md). */
void ml_deserializers_reload_check(moonlog_consumer *c);
/* Deserializes the *count records of c->out in place (dropping those after a record that failed
 * in its partition); 0, or DESERIALIZATION when no record is left and one failed. */
int ml_deserialize_records(moonlog_consumer *c, int32_t *count, moonlog_error *err);

/* fetcher.c */
int ml_fetcher_start(moonlog_consumer *c, moonlog_error *err);
void ml_fetcher_stop(moonlog_consumer *c);
void ml_chunk_free(ml_chunk *ch);
/* Partition counts of `n` topics from a Metadata request (-1 for an unknown topic); 0 or -1. */
int ml_fetcher_partition_counts(moonlog_consumer *c, char *const *topics, int n, int32_t *counts);

#endif
