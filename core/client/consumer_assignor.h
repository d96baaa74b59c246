/* The consumer protocol's standard encodings: ConsumerProtocolSubscription (the JoinGroup
 * metadata of each advertised assignor) and ConsumerProtocolAssignment (what SyncGroup hands each
 * member), as the Java client and librdkafka write them. The assignors themselves are Lua plugins
 * (core/lua/assignor.c, plugins/assignors/). */
#ifndef ML_CLIENT_CONSUMER_ASSIGNOR_H
#define ML_CLIENT_CONSUMER_ASSIGNOR_H

#include <stdint.h>

#include "common/buf.h"
#include "moonlog/consumer.h"

/* A member's subscription, decoded from any version (0..3: later versions only add fields). */
typedef struct ml_subscription {
    char **topics;
    int n_topics;
    ml_slice user_data;               /* points into the decoded bytes; len -1 = null */
    moonlog_topic_partition *owned;   /* v1+ owned_partitions (topics malloc'ed) */
    int n_owned;
    int32_t generation;               /* v2+, else -1 */
} ml_subscription;

/* Version 1 (topics, user data, owned partitions): moonlog rebalances eagerly, so it owns nothing
 * when it joins and owned_partitions is always empty, as with Java's eager consumers. */
void ml_subscription_encode(ml_writer *w, char *const *topics, int n, const void *user_data, int32_t user_data_len);
/* 0 with *s filled (free with ml_subscription_free) or -1 when malformed. */
int ml_subscription_decode(const uint8_t *p, size_t len, ml_subscription *s);
void ml_subscription_free(ml_subscription *s);
void ml_strings_free(char **s, int n);

/* Version 0, null user data; `tps` grouped by topic in the order given (a topic's runs merge). */
void ml_assignment_encode(ml_writer *w, const moonlog_topic_partition *tps, int n);
/* 0 with *out (topics malloc'ed, free with ml_tps_free) and, when `user_data` is not NULL, the
 * assignment's user data (into `p`; len -1 = null), or -1 when malformed. Empty bytes are an empty
 * assignment. */
int ml_assignment_decode(const uint8_t *p, size_t len, moonlog_topic_partition **out, int *n, ml_slice *user_data);
void ml_tps_free(moonlog_topic_partition *tps, int n);

#endif
