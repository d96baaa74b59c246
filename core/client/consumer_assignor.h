/* The consumer protocol's subscription and assignment encodings, and the built-in range assignor. */
#ifndef ML_CLIENT_CONSUMER_ASSIGNOR_H
#define ML_CLIENT_CONSUMER_ASSIGNOR_H

#include <stdint.h>

#include "common/buf.h"
#include "moonlog/consumer.h"

typedef struct ml_member {
    char *member_id;
    char **topics; /* its subscription */
    int n_topics;
    ml_writer assignment; /* filled by the assignor: a ConsumerProtocolAssignment v0 */
    ml_writer owned;      /* scratch */
    int n_owned;          /* topics with partitions */
} ml_member;

void ml_subscription_encode(ml_writer *w, char *const *topics, int n);
/* 0 with *topics (free with ml_strings_free) or -1 when malformed. */
int ml_subscription_decode(const uint8_t *p, size_t len, char ***topics, int *n);
void ml_strings_free(char **s, int n);
/* 0 with *out (topics malloc'ed, free each and the array) or -1 when malformed. */
int ml_assignment_decode(const uint8_t *p, size_t len, moonlog_topic_partition **out, int *n);
/* Range-assigns `n_topics` topics of counts[t] partitions over the members; 0 or -1 (memory). */
int ml_range_assign(ml_member *members, int n_members, char *const *topics, const int32_t *counts, int n_topics);

#endif
