/* The consuming commands' shared options and consumer (consumer_cmd.h). */
#include "cli/consumer_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "moonlog/admin.h"

int ml_cli_copts_init(ml_cli_copts *o, const char *client_id) {
    *o = (ml_cli_copts){"127.0.0.1:9092", NULL, NULL, -1, NULL, NULL, moonlog_consumer_config_new()};
    if (!o->cfg) return 1;
    return ml_cli_consumer_set(o->cfg, "client.id", client_id) == 0 ? 0 : 2;
}

/* auto.offset.reset is remembered: consume refuses it beside --from-beginning unless earliest. */
static int consumer_property(ml_cli_copts *o, const char *v) {
    if (ml_cli_consumer_kv(o->cfg, v) != 0) return -1;
    if (strncmp(v, "auto.offset.reset=", 18) == 0) o->reset = v + 18;
    return 0;
}

int ml_cli_copts_option(ml_cli_copts *o, const char *a, const char *v) {
    if (strcmp(a, "--bootstrap-server") == 0) o->bootstrap = v;
    else if (strcmp(a, "--topic") == 0) o->topic = v;
    else if (strcmp(a, "--group") == 0) o->group = v;
    else if (strcmp(a, "--consumer-property") == 0) return consumer_property(o, v);
    else if (strcmp(a, "--consumer.config") == 0) return ml_cli_consumer_file(o->cfg, v);
    else return 1;
    return 0;
}

int ml_cli_copts_apply(ml_cli_copts *o) {
    if (ml_cli_consumer_set(o->cfg, "bootstrap.servers", o->bootstrap) != 0) return -1;
    return o->group ? ml_cli_consumer_set(o->cfg, "group.id", o->group) : 0;
}

int ml_cli_copts_open(const ml_cli_copts *o, moonlog_consumer **c) {
    moonlog_error e;
    if (moonlog_consumer_new(o->cfg, c, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return -1;
    }
    return 0;
}

/* The topic's metadata, from an admin client on the consumer's configuration. 0 or -1 (printed). */
static int describe_topic(const ml_cli_copts *o, moonlog_topic_list **l) {
    moonlog_admin *a = NULL;
    moonlog_error e;
    const char *names[1] = {o->topic};
    *l = NULL;
    int rc = 0;
    if (moonlog_admin_new(o->cfg, &a, &e) != 0 || moonlog_admin_describe_topics(a, names, 1, l, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        rc = -1;
    }
    moonlog_admin_close(a);
    return rc;
}

/* --offset of the one partition assigned: earliest, latest or a number (checked by the parser). */
static int position(const ml_cli_copts *o, moonlog_consumer *c, const moonlog_topic_partition *tp, moonlog_error *e) {
    if (!o->offset) return 0;
    if (strcmp(o->offset, "earliest") == 0) return moonlog_consumer_seek_to_beginning(c, tp, 1, e);
    if (strcmp(o->offset, "latest") == 0) return moonlog_consumer_seek_to_end(c, tp, 1, e);
    return moonlog_consumer_seek(c, o->topic, o->partition, strtoll(o->offset, NULL, 10), e);
}

/* n partitions of the topic (all of them, or only o->partition), positioned. 0 or -1 (printed). */
static int assign(const ml_cli_copts *o, moonlog_consumer *c, int n) {
    moonlog_error e;
    moonlog_topic_partition *tps = calloc((size_t)(n ? n : 1), sizeof *tps);
    for (int i = 0; tps && i < n; i++) tps[i] = (moonlog_topic_partition){o->topic, o->partition >= 0 ? o->partition : i};
    int rc = -1;
    if (!tps) fprintf(stderr, "moonlog: out of memory\n");
    else if (moonlog_consumer_assign(c, tps, n, &e) != 0 || position(o, c, tps, &e) != 0)
        fprintf(stderr, "moonlog: %s\n", e.message);
    else rc = 0;
    free(tps);
    return rc;
}

/* Without a group: every partition of the topic (or o->partition). 0 or -1 (printed). */
static int assign_topic(const ml_cli_copts *o, moonlog_consumer *c) {
    moonlog_topic_list *l;
    if (describe_topic(o, &l) != 0) {
        moonlog_admin_topic_list_free(l);
        return -1;
    }
    int rc = -1;
    const moonlog_topic_info *t = l->n == 1 ? &l->topics[0] : NULL;
    if (!t || t->error)
        fprintf(stderr, "moonlog: topic '%s': %s\n", o->topic, t ? moonlog_err_name(t->error) : "not in the Metadata response");
    else if (o->partition >= t->n_partitions)
        fprintf(stderr, "moonlog: topic '%s' has %d partitions: there is no partition %d\n", o->topic, t->n_partitions,
                o->partition);
    else rc = assign(o, c, o->partition >= 0 ? 1 : t->n_partitions);
    moonlog_admin_topic_list_free(l);
    return rc;
}

int ml_cli_copts_attach(const ml_cli_copts *o, moonlog_consumer *c) {
    if (!o->group) return assign_topic(o, c);
    moonlog_error e;
    const char *topics[1] = {o->topic};
    if (moonlog_consumer_subscribe(c, topics, 1, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return -1;
    }
    return 0;
}

/* Short waits, so that a signal or a timeout is seen soon (poll restarts its wait on EINTR). */
int ml_cli_copts_poll(moonlog_consumer *c, const moonlog_consumer_record **recs, int32_t *n) {
    moonlog_error e;
    if (moonlog_consumer_poll(c, 100, recs, n, &e) != 0) {
        fprintf(stderr, "moonlog: %s: %s\n", e.name, e.message);
        return -1;
    }
    return 0;
}

int ml_cli_copts_close(ml_cli_copts *o, moonlog_consumer *c, int rc) {
    moonlog_error e;
    if (c && moonlog_consumer_close(c, &e) != 0) {
        fprintf(stderr, "moonlog: closing the consumer: %s: %s\n", e.name, e.message);
        rc = 1;
    }
    moonlog_consumer_config_free(o->cfg);
    return rc;
}
