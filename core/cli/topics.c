/* moonlog topics: create, list, describe, delete and grow topics, like kafka-topics.
 *
 *   moonlog topics [--bootstrap-server H:P] [--command-config FILE] ACTION
 *     --create --topic T [--partitions N] [--replication-factor R] [--config k=v]...
 *     --list [--exclude-internal]
 *     --describe [--topic T]...              (partitions, leaders, replicas, isr; the topic's own configs)
 *     --delete --topic T...
 *     --alter --topic T --partitions N          (partitions can only be added)
 * Without --partitions or --replication-factor, create uses the broker's num.partitions and
 * default.replication.factor. Errors name the topic and Kafka's error (TOPIC_ALREADY_EXISTS,
 * INVALID_PARTITIONS, UNKNOWN_TOPIC_OR_PARTITION, ...) and exit 1. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin_cmd.h"
#include "cli/cli.h"

enum { A_NONE /* 0, as ml_cli_admin has it */, A_CREATE, A_LIST, A_DESCRIBE, A_DELETE, A_ALTER };

#define MAX_ITEMS 256

typedef struct topts {
    ml_cli_admin base; /* first: the callbacks cast back */
    const char *topics[MAX_ITEMS];
    int n_topics;
    int64_t partitions, replication_factor;
    char *config_keys[MAX_ITEMS];
    const char *config_values[MAX_ITEMS];
    int n_configs;
    int exclude_internal;
} topts;

static int add_config(topts *o, const char *kv) {
    char key[256];
    const char *value;
    if (o->n_configs == MAX_ITEMS) {
        fprintf(stderr, "moonlog: more than %d --config\n", MAX_ITEMS);
        return -1;
    }
    if (ml_cli_kv("--config", kv, key, sizeof key, &value) != 0 || !(o->config_keys[o->n_configs] = strdup(key))) return -1;
    o->config_values[o->n_configs++] = value;
    return 0;
}

static int add_topic(topts *o, const char *v) {
    if (o->n_topics == MAX_ITEMS) {
        fprintf(stderr, "moonlog: more than %d --topic\n", MAX_ITEMS);
        return -1;
    }
    o->topics[o->n_topics++] = v;
    return 0;
}

static int parse_flag(topts *o, const char *a) {
    if (strcmp(a, "--create") == 0) return ml_cli_admin_action(&o->base, A_CREATE, a);
    if (strcmp(a, "--list") == 0) return ml_cli_admin_action(&o->base, A_LIST, a);
    if (strcmp(a, "--describe") == 0) return ml_cli_admin_action(&o->base, A_DESCRIBE, a);
    if (strcmp(a, "--delete") == 0) return ml_cli_admin_action(&o->base, A_DELETE, a);
    if (strcmp(a, "--alter") == 0) return ml_cli_admin_action(&o->base, A_ALTER, a);
    if (strcmp(a, "--exclude-internal") == 0) return o->exclude_internal = 1, 0;
    return 1; /* not a flag */
}

static int parse_option(topts *o, const char *a, const char *v) {
    if (strcmp(a, "--topic") == 0) return add_topic(o, v);
    if (strcmp(a, "--partitions") == 0) return ml_cli_int(a, v, INT32_MIN, INT32_MAX, &o->partitions);
    if (strcmp(a, "--replication-factor") == 0) return ml_cli_int(a, v, INT16_MIN, INT16_MAX, &o->replication_factor);
    if (strcmp(a, "--config") == 0) return add_config(o, v);
    int rc = ml_cli_admin_option(&o->base, a, v);
    return rc == 1 ? ml_cli_unknown(a) : rc;
}

/* Every option but the flags takes a value, even one it does not know (then named unknown). */
static int parse(ml_cli_admin *base, int argc, char **argv) {
    topts *o = (topts *)base;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int rc = parse_flag(o, a);
        if (rc == 1) {
            const char *v = ml_cli_value(argc, argv, &i);
            rc = v ? parse_option(o, a, v) : -1;
        }
        if (rc != 0) return -1;
    }
    if (ml_cli_admin_need_action(base, "topics") != 0) return -1;
    int action = base->action;
    if ((action == A_CREATE || action == A_DELETE || action == A_ALTER) && o->n_topics == 0) {
        fprintf(stderr, "moonlog: --topic is required\n");
        return -1;
    }
    if (action == A_ALTER && o->partitions == -1) {
        fprintf(stderr, "moonlog: --alter needs --partitions N (the new total)\n");
        return -1;
    }
    return 0;
}

/* Prints each failed topic's error; the exit status. */
static int report(const moonlog_error *results, int n, int rc, const moonlog_error *e) {
    int any = 0;
    for (int i = 0; i < n; i++)
        if (results[i].code != 0 && results[i].message[0]) {
            fprintf(stderr, "moonlog: %s\n", results[i].message);
            any = 1;
        }
    if (rc != 0 && !any) fprintf(stderr, "moonlog: %s\n", e->message);
    return rc != 0 ? 1 : 0;
}

static int create(topts *o, moonlog_admin *a) {
    moonlog_new_topic t[MAX_ITEMS];
    moonlog_error results[MAX_ITEMS], e;
    memset(results, 0, sizeof results);
    for (int i = 0; i < o->n_topics; i++)
        t[i] = (moonlog_new_topic){o->topics[i], (int32_t)o->partitions, (int16_t)o->replication_factor,
                                   (const char *const *)o->config_keys, o->config_values, o->n_configs};
    int rc = moonlog_admin_create_topics(a, t, o->n_topics, results, &e);
    for (int i = 0; i < o->n_topics; i++)
        if (results[i].code == 0 && results[i].message[0]) printf("Created topic %s.\n", o->topics[i]);
    return report(results, o->n_topics, rc, &e);
}

static int delete_or_alter(topts *o, moonlog_admin *a) {
    moonlog_error results[MAX_ITEMS], e;
    memset(results, 0, sizeof results);
    int32_t totals[MAX_ITEMS];
    for (int i = 0; i < o->n_topics; i++) totals[i] = (int32_t)o->partitions;
    int rc = o->base.action == A_DELETE ? moonlog_admin_delete_topics(a, o->topics, o->n_topics, results, &e)
                                        : moonlog_admin_create_partitions(a, o->topics, totals, o->n_topics, results, &e);
    return report(results, o->n_topics, rc, &e);
}

static void print_ids(const char *label, const int32_t *ids, int32_t n) {
    printf("\t%s: ", label);
    for (int32_t i = 0; i < n; i++) printf("%s%" PRId32, i ? "," : "", ids[i]);
}

/* The topic's own settings (not the broker's defaults), as kafka-topics shows them. */
static int print_configs(moonlog_admin *a, const char *topic) {
    moonlog_config_list *l;
    moonlog_error e;
    if (moonlog_admin_describe_topic_configs(a, topic, &l, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return -1;
    }
    printf("\tConfigs: ");
    int k = 0;
    for (int i = 0; i < l->n; i++)
        if (l->entries[i].source == MOONLOG_CONFIG_SOURCE_TOPIC)
            printf("%s%s=%s", k++ ? "," : "", l->entries[i].name, l->entries[i].sensitive ? "<sensitive>" :
                   l->entries[i].value ? l->entries[i].value : "null");
    moonlog_admin_config_list_free(l);
    return 0;
}

static int describe_one(moonlog_admin *a, const moonlog_topic_info *t) {
    int32_t rf = t->n_partitions ? t->partitions[0].n_replicas : 0;
    printf("Topic: %s\tPartitionCount: %" PRId32 "\tReplicationFactor: %" PRId32, t->name, t->n_partitions, rf);
    int rc = print_configs(a, t->name);
    printf("\n");
    for (int32_t j = 0; j < t->n_partitions; j++) {
        const moonlog_partition_info *p = &t->partitions[j];
        printf("\tTopic: %s\tPartition: %" PRId32 "\tLeader: ", t->name, p->partition);
        if (p->leader >= 0) printf("%" PRId32, p->leader);
        else printf("none");
        print_ids("Replicas", p->replicas, p->n_replicas);
        print_ids("Isr", p->isr, p->n_isr);
        if (p->error) printf("\tError: %s", moonlog_err_name(p->error));
        printf("\n");
    }
    return rc;
}

static int list_or_describe(topts *o, moonlog_admin *a) {
    moonlog_topic_list *l;
    moonlog_error e;
    int n = o->base.action == A_LIST ? 0 : o->n_topics;
    if (moonlog_admin_describe_topics(a, o->topics, n, &l, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < l->n; i++) {
        const moonlog_topic_info *t = &l->topics[i];
        if (t->error) {
            fprintf(stderr, "moonlog: topic '%s': %s\n", t->name, moonlog_err_name(t->error));
            rc = 1;
        } else if (o->exclude_internal && t->internal) {
            continue;
        } else if (o->base.action == A_LIST) {
            printf("%s\n", t->name);
        } else if (describe_one(a, t) != 0) {
            rc = 1;
        }
    }
    moonlog_admin_topic_list_free(l);
    return rc;
}

static int act(ml_cli_admin *base, moonlog_admin *a) {
    topts *o = (topts *)base;
    if (base->action == A_CREATE) return create(o, a);
    if (base->action == A_DELETE || base->action == A_ALTER) return delete_or_alter(o, a);
    return list_or_describe(o, a);
}

int ml_cli_topics(int argc, char **argv) {
    topts o = {.base = {"--create, --list, --describe, --delete, --alter", parse, act}, .partitions = -1,
               .replication_factor = -1};
    int rc = ml_cli_admin_main(&o.base, argc, argv);
    for (int i = 0; i < o.n_configs; i++) free(o.config_keys[i]);
    return rc;
}
