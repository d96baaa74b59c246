/* moonlog plugin host: Lua plugins implementing hook API v1 (core/lua/HOOKS.md is the contract).
 *
 * The producer loads its plugins itself from its configuration (partitioner, key.serializer,
 * value.serializer, retry.policy). This header lets a program, or a spec, load a plugin on its
 * own and call it exactly as the producer does, without a broker.
 *
 * A moonlog_plugin is shared by all threads: each thread that calls it gets its own LuaJIT
 * state (created on first use, closed when the thread exits) and loads the plugin's current
 * source into it; after a hot reload each thread picks up the new source at its next call. */
#ifndef MOONLOG_PLUGIN_H
#define MOONLOG_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "moonlog/consumer.h" /* MOONLOG_VALUE_*, MOONLOG_ERR_DESERIALIZATION */
#include "moonlog/producer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOONLOG_HOOK_API_VERSION 1

typedef struct moonlog_plugin moonlog_plugin;

typedef struct moonlog_plugin_options {
    const char *search_path; /* ':'-separated directories holding <kind dir>/<name>.lua; may be NULL */
    int unsafe;              /* 1 gives the plugin io, os, require, load*, ... (plugin.unsafe) */
    int64_t timeout_ms;      /* plugin.timeout.ms; 0 = no limit */
    const char *const *config; /* key, value, ..., NULL: what the plugin reads as moonlog.config */
} moonlog_plugin_options;

/* kind: "partitioner", "serializer", "retry_policy", "assignor" or "rebalance_listener". `name` is a shipped plugin's name
 * (key_hash) looked up in plugins/partitioners/ etc., or a path (anything with a '/' or ending
 * in .lua). The file is compiled and checked (api, kind, functions) before this returns; errors
 * name the file and line. `opts` may be NULL. */
int moonlog_plugin_open(const char *kind, const char *name, const moonlog_plugin_options *opts, moonlog_plugin **out,
                        moonlog_error *err);
/* After every call on `pl` returned. Threads drop their copies at their next plugin call. */
void moonlog_plugin_close(moonlog_plugin *pl);

const char *moonlog_plugin_path(const moonlog_plugin *pl);
/* 1 for the first load, +1 for every valid reload. */
int64_t moonlog_plugin_generation(moonlog_plugin *pl);

/* Checks the file now: when it changed, compiles and checks it in a scratch state and, only when
 * it is valid, makes it the current source. Returns 1 when a new generation was installed, 0 when
 * the file did not change, or an error (the old source stays; reload.failures counts it and the
 * message says why). The producer calls this every plugin.reload.interval.ms. */
int moonlog_plugin_reload_check(moonlog_plugin *pl, moonlog_error *err);

/* Counters: calls, errors, timeouts, reloads, reload.failures, and every name a plugin counted
 * with moonlog.count(name, n). 0 for a name never counted. */
int64_t moonlog_plugin_counter(moonlog_plugin *pl, const char *name);

/* The hook calls, as the producer makes them (in the calling thread's state).
 * partition: a topic with `n_partitions` partitions, all available. */
int moonlog_plugin_partition(moonlog_plugin *pl, const char *topic, const void *key, int32_t key_len,
                             int32_t value_len, int32_t n_partitions, int32_t *partition, moonlog_error *err);
/* Tells a partitioner that the batch of (topic, partition) is full (see HOOKS.md, on_batch_full). */
void moonlog_plugin_batch_full(moonlog_plugin *pl, const char *topic, int32_t partition);
/* serialize: `*out` is malloc'd (free with moonlog_free); *out_len -1 when the result is nil. */
int moonlog_plugin_serialize(moonlog_plugin *pl, const char *topic, const void *value, int32_t value_len,
                             void **out, int32_t *out_len, moonlog_error *err);
/* deserialize (HOOKS.md): `*out` is malloc'd (free with moonlog_free), *out_len -1 when the result
 * is nil, *type the result's MOONLOG_VALUE_* (a number or boolean is given as its text). */
int moonlog_plugin_deserialize(moonlog_plugin *pl, const char *topic, const void *bytes, int32_t len, void **out,
                               int32_t *out_len, int32_t *type, moonlog_error *err);
/* retry_policy: *retry_after_ms >= 0 to retry after that many ms, -1 to fail now. */
int moonlog_plugin_retry(moonlog_plugin *pl, int attempt, int error_code, int64_t elapsed_ms, const char *topic,
                         int32_t partition, int64_t *retry_after_ms, moonlog_error *err);

/* assignor (HOOKS.md): the calls a consumer makes, with the bytes the group protocol carries.
 * name: the assignor's declared `name` (its protocol name) in its current generation, into `out`. */
int moonlog_plugin_assignor_name(moonlog_plugin *pl, char *out, size_t out_size, moonlog_error *err);
/* The JoinGroup metadata (ConsumerProtocolSubscription v1) of a member subscribed to `n` topics,
 * with the plugin's user_data(topics, assignment, generation): `assignment` is the member's last
 * ConsumerProtocolAssignment (NULL: none) of `generation`. *out malloc'ed (moonlog_free). */
int moonlog_plugin_subscription(moonlog_plugin *pl, const char *const *topics, int n, const void *assignment,
                                int32_t assignment_len, int32_t generation, void **out, int32_t *out_len,
                                moonlog_error *err);
/* A member as the JoinGroup response lists it to the leader. */
typedef struct moonlog_join_member {
    const char *member_id;
    const char *group_instance_id; /* NULL: a dynamic member */
    const void *metadata;          /* its ConsumerProtocolSubscription */
    int32_t metadata_len;
} moonlog_join_member;
/* The leader's step: assign(members, cluster) over topics[t] of counts[t] partitions, checked;
 * assignments[i] (malloc'ed, moonlog_free) gets member i's ConsumerProtocolAssignment, lens[i]
 * its length. MOONLOG_ERR_ASSIGNOR names the plugin, file, line and the broken rule. */
int moonlog_plugin_assign(moonlog_plugin *pl, const moonlog_join_member *members, int n, const char *const *topics,
                          const int32_t *counts, int n_topics, void **assignments, int32_t *lens, moonlog_error *err);
/* on_assignment(assignment, user_data) with a member's ConsumerProtocolAssignment. */
int moonlog_plugin_on_assignment(moonlog_plugin *pl, const void *assignment, int32_t len, moonlog_error *err);
/* rebalance_listener: calls `fn` ("on_partitions_revoked", "on_partitions_assigned" or
 * "on_partitions_lost"; nothing when the plugin does not define it) as a consumer does, on this
 * thread, its `consumer` table reaching `consumer` (which this thread uses). MOONLOG_ERR_LISTENER
 * or MOONLOG_ERR_PLUGIN_TIMEOUT when it raised, naming the file and line. */
int moonlog_plugin_rebalance(moonlog_plugin *pl, const char *fn, moonlog_consumer *consumer,
                             const moonlog_topic_partition *tps, int n, moonlog_error *err);

/* Java's murmur2 (the hash of Utils.murmur2, as a signed 32-bit value) and the partition the
 * Java client's default partitioner picks for a keyed record. */
int32_t moonlog_murmur2(const void *data, int32_t len);
int32_t moonlog_murmur2_partition(const void *key, int32_t key_len, int32_t n_partitions);

void moonlog_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
