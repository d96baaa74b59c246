/* moonlog admin: the public C API of libmoonlog's admin client (Kafka's AdminClient, in part).
 *
 * Topics (CreateTopics, DeleteTopics, CreatePartitions, Metadata), consumer groups (ListGroups,
 * DescribeGroups, DeleteGroups) and the offsets a group's lag is made of (OffsetFetch of its
 * committed offsets, ListOffsets of the partitions' log end). Every call is blocking: it sends
 * its requests on the calling thread and returns when the brokers answered or the
 * request.timeout.ms of a request passed.
 *
 * Configuration: a consumer configuration (consumer.h); bootstrap.servers, client.id,
 * request.timeout.ms and reconnect.backoff.ms apply, the other keys are ignored. The
 * connections are the consumer's (blocking sockets, ApiVersions first), created on first use.
 *
 * Threads: an admin client is used by one thread at a time (it holds no lock).
 *
 * Errors: 0 or a code with `err` filled, as in producer.h. Calls acting on several topics also
 * fill one moonlog_error per topic in `results` (code 0 where that topic succeeded, else the
 * Kafka error and its name, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, UNKNOWN_TOPIC_OR_PARTITION,
 * ..., with the broker's message and the topic's name) and return the first topic's failure. */
#ifndef MOONLOG_ADMIN_H
#define MOONLOG_ADMIN_H

#include <stdint.h>

#include "moonlog/consumer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct moonlog_admin moonlog_admin;

/* Creates an admin client (no connection is made yet). `c` is not kept. */
int moonlog_admin_new(const moonlog_consumer_config *c, moonlog_admin **out, moonlog_error *err);
void moonlog_admin_close(moonlog_admin *a);

/* ---- Topics ----------------------------------------------------------------------------- */

typedef struct moonlog_new_topic {
    const char *name;
    int32_t partitions;         /* -1: the broker's num.partitions */
    int16_t replication_factor; /* -1: the broker's default.replication.factor */
    const char *const *config_keys; /* n_configs topic configs (retention.ms, cleanup.policy, ...) */
    const char *const *config_values;
    int n_configs;
} moonlog_new_topic;

int moonlog_admin_create_topics(moonlog_admin *a, const moonlog_new_topic *topics, int n, moonlog_error *results,
                                moonlog_error *err);
int moonlog_admin_delete_topics(moonlog_admin *a, const char *const *topics, int n, moonlog_error *results,
                                moonlog_error *err);
/* Grows topics[i] to totals[i] partitions (Kafka only adds partitions: fewer is INVALID_PARTITIONS). */
int moonlog_admin_create_partitions(moonlog_admin *a, const char *const *topics, const int32_t *totals, int n,
                                    moonlog_error *results, moonlog_error *err);

typedef struct moonlog_partition_info {
    int32_t partition;
    int16_t error;          /* a Kafka code, 0 */
    int32_t leader;         /* -1: none */
    int32_t *replicas;
    int32_t n_replicas;
    int32_t *isr;
    int32_t n_isr;
} moonlog_partition_info;

typedef struct moonlog_topic_info {
    char *name;
    int16_t error;          /* UNKNOWN_TOPIC_OR_PARTITION for a topic that does not exist, ... */
    int internal;           /* __consumer_offsets */
    moonlog_partition_info *partitions; /* by partition number */
    int32_t n_partitions;
} moonlog_topic_info;

typedef struct moonlog_topic_list {
    moonlog_topic_info *topics; /* sorted by name */
    int n;
} moonlog_topic_list;

/* Describes `n` topics, or every topic when n = 0 (internal ones included, flagged). Topics that
 * do not exist come back with their error set; the call itself fails only when no broker
 * answered. Free *out with moonlog_admin_topic_list_free. */
int moonlog_admin_describe_topics(moonlog_admin *a, const char *const *topics, int n, moonlog_topic_list **out,
                                  moonlog_error *err);
void moonlog_admin_topic_list_free(moonlog_topic_list *l);

/* A topic's configuration (DescribeConfigs v1+): every entry the broker reports, sorted by name. */
enum { MOONLOG_CONFIG_SOURCE_TOPIC = 1 }; /* Kafka's ConfigSource TOPIC_CONFIG: set on the topic itself */

typedef struct moonlog_config_entry {
    char *name;
    char *value;    /* NULL when the broker hides it (sensitive) or it is null */
    int source;     /* Kafka's ConfigSource: 1 topic, 4 static broker, 5 default, ... */
    int read_only;
    int sensitive;
} moonlog_config_entry;

typedef struct moonlog_config_list {
    moonlog_config_entry *entries;
    int n;
} moonlog_config_list;

/* UNKNOWN_TOPIC_OR_PARTITION for a topic that does not exist. Free with moonlog_admin_config_list_free. */
int moonlog_admin_describe_topic_configs(moonlog_admin *a, const char *topic, moonlog_config_list **out,
                                         moonlog_error *err);
void moonlog_admin_config_list_free(moonlog_config_list *l);

/* The log end offset (ListOffsets latest, the high watermark) of `n` partitions into ends[i],
 * asked of each partition's leader. A partition's failure fails the call, naming it. */
int moonlog_admin_end_offsets(moonlog_admin *a, const moonlog_topic_partition *tps, int n, int64_t *ends,
                              moonlog_error *err);

/* ---- Consumer groups -------------------------------------------------------------------- */

typedef struct moonlog_group_listing {
    char *group_id;
    char *protocol_type; /* "consumer" for consumer groups */
    char *state;         /* "Stable", "Empty", ... ("" from a broker older than ListGroups v4) */
} moonlog_group_listing;

typedef struct moonlog_group_member {
    char *member_id;
    char *group_instance_id; /* NULL without one */
    char *client_id;
    char *client_host;
    moonlog_topic_partition *assignment; /* decoded ConsumerProtocolAssignment (consumer groups) */
    int n_assignment;
} moonlog_group_member;

typedef struct moonlog_group_info {
    char *group_id;
    char *state;         /* "Stable", "Empty", "PreparingRebalance", "CompletingRebalance", "Dead" */
    char *protocol_type;
    char *protocol;      /* the assignor, "range" */
    moonlog_group_member *members;
    int n_members;
    /* OffsetFetch for every partition the group committed, sorted by topic and partition */
    moonlog_topic_partition_offset *committed;
    int n_committed;
} moonlog_group_info;

typedef struct moonlog_group_list {
    moonlog_group_listing *groups; /* sorted by id */
    int n;
} moonlog_group_list;

/* Every group of every broker (ListGroups to each). Free with moonlog_admin_group_list_free. */
int moonlog_admin_list_groups(moonlog_admin *a, moonlog_group_list **out, moonlog_error *err);
void moonlog_admin_group_list_free(moonlog_group_list *l);

/* DescribeGroups and OffsetFetch (all topics) of one group at its coordinator. A group that does
 * not exist is described as "Dead" with no members and no offsets, as Kafka does. Free with
 * moonlog_admin_group_info_free. */
int moonlog_admin_describe_group(moonlog_admin *a, const char *group, moonlog_group_info **out, moonlog_error *err);
void moonlog_admin_group_info_free(moonlog_group_info *g);

/* DeleteGroups of one group (it must have no members: NON_EMPTY_GROUP otherwise;
 * GROUP_ID_NOT_FOUND when there is no such group). */
int moonlog_admin_delete_group(moonlog_admin *a, const char *group, moonlog_error *err);

#ifdef __cplusplus
}
#endif

#endif
