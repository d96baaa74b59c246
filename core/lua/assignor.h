/* Group assignor plugins (hook kind `assignor`, core/lua/HOOKS.md): the calls the consumer makes
 * on its I/O thread, with the consumer protocol's decoded tables. */
#ifndef ML_LUA_ASSIGNOR_H
#define ML_LUA_ASSIGNOR_H

#include <stdint.h>

#include "client/consumer_assignor.h"
#include "moonlog/plugin.h"

typedef struct ml_assign_member {
    const char *member_id;
    const char *group_instance_id; /* NULL for a dynamic member */
    const ml_subscription *sub;
} ml_assign_member;

/* user_data(topics, assignment, generation): *out malloc'ed (NULL when the plugin has no
 * user_data or returned nil). `last` is the member's previous assignment (generation -1: none). */
int ml_assignor_user_data(moonlog_plugin *pl, char *const *topics, int n, const moonlog_topic_partition *last,
                          int n_last, int32_t generation, uint8_t **out, int32_t *out_len, moonlog_error *err);
/* assign(members, cluster), checked: out[i] (malloc'ed, topics too, free with ml_tps_free) is what
 * member i gets, sorted by topic and partition. counts[t] is the partition count of topics[t]
 * (-1 unknown). MOONLOG_ERR_ASSIGNOR (or PLUGIN_TIMEOUT) naming the plugin, its file and line when
 * it raised or its result breaks a rule; nothing is returned then. */
int ml_assignor_assign(moonlog_plugin *pl, const ml_assign_member *m, int n, char *const *topics,
                       const int32_t *counts, int n_topics, moonlog_topic_partition **out, int *n_out,
                       moonlog_error *err);
/* on_assignment(assignment, user_data), when defined. */
int ml_assignor_on_assignment(moonlog_plugin *pl, const moonlog_topic_partition *tps, int n, ml_slice user_data,
                              moonlog_error *err);

#endif
