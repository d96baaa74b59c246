/* moonlog perf consume: consumer throughput, like kafka-consumer-perf-test.
 *
 *   moonlog perf consume --bootstrap-server H:P --topic T --messages N [options]
 *
 *   --group G                  subscribe as a member of G (default: assign every partition)
 *   --timeout-ms MS            give up when no record came for MS (default 10000, as Kafka's)
 *   --consumer-property k=v    any consumer property (repeatable); --consumer.config FILE
 * Reads from the log start (auto.offset.reset=earliest unless a property says otherwise) until N
 * records came, then prints one line:
 *   N records consumed, R records/sec (M MB/sec), D MB, E s elapsed, F s to the first record.
 * Bytes count keys and values, as Kafka's tool does; elapsed runs from the consumer's creation to
 * the Nth record. Exit 1 when fewer than N records came before the timeout. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "moonlog/admin.h"

typedef struct pcopts {
    const char *bootstrap, *topic, *group;
    int64_t messages, timeout_ms;
    moonlog_consumer_config *cfg;
} pcopts;

static const char *const value_options[] = {"--bootstrap-server", "--broker-list", "--topic", "--group", "--messages",
                                            "--timeout-ms", "--timeout", "--consumer-property", "--consumer.config"};

static int is_value_option(const char *a) {
    for (size_t i = 0; i < sizeof value_options / sizeof *value_options; i++)
        if (strcmp(a, value_options[i]) == 0) return 1;
    return 0;
}

static int parse(pcopts *o, int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!is_value_option(a)) {
            fprintf(stderr, "moonlog: unknown option %s\n", a);
            return -1;
        }
        const char *v = ml_cli_value(argc, argv, &i);
        if (!v) return -1;
        int rc = 0;
        if (strcmp(a, "--bootstrap-server") == 0 || strcmp(a, "--broker-list") == 0) o->bootstrap = v;
        else if (strcmp(a, "--topic") == 0) o->topic = v;
        else if (strcmp(a, "--group") == 0) o->group = v;
        else if (strcmp(a, "--messages") == 0) rc = ml_cli_int(a, v, 1, INT64_MAX, &o->messages);
        else if (strcmp(a, "--timeout-ms") == 0 || strcmp(a, "--timeout") == 0) rc = ml_cli_int(a, v, 0, INT64_MAX, &o->timeout_ms);
        else if (strcmp(a, "--consumer-property") == 0) rc = ml_cli_consumer_kv(o->cfg, v);
        else rc = ml_cli_consumer_file(o->cfg, v); /* --consumer.config */
        if (rc != 0) return -1;
    }
    if (!o->topic || o->messages <= 0) {
        fprintf(stderr, "moonlog: perf consume needs --topic T and --messages N\n");
        return -1;
    }
    if (ml_cli_consumer_set(o->cfg, "bootstrap.servers", o->bootstrap) != 0) return -1;
    return o->group ? ml_cli_consumer_set(o->cfg, "group.id", o->group) : 0;
}

/* Assigns every partition of the topic. 0 or -1 (printed). */
static int assign_all(pcopts *o, moonlog_consumer *c) {
    moonlog_admin *a = NULL;
    moonlog_topic_list *l = NULL;
    moonlog_error e;
    const char *names[1] = {o->topic};
    int rc = -1;
    if (moonlog_admin_new(o->cfg, &a, &e) != 0 || moonlog_admin_describe_topics(a, names, 1, &l, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
    } else if (l->n != 1 || l->topics[0].error) {
        fprintf(stderr, "moonlog: topic '%s': %s\n", o->topic,
                l->n == 1 ? moonlog_err_name(l->topics[0].error) : "not in the Metadata response");
    } else {
        int n = l->topics[0].n_partitions;
        moonlog_topic_partition *tps = calloc((size_t)(n ? n : 1), sizeof *tps);
        for (int i = 0; tps && i < n; i++) tps[i] = (moonlog_topic_partition){o->topic, i};
        if (!tps) fprintf(stderr, "moonlog: out of memory\n");
        else if (moonlog_consumer_assign(c, tps, n, &e) != 0) fprintf(stderr, "moonlog: %s\n", e.message);
        else rc = 0;
        free(tps);
    }
    moonlog_admin_topic_list_free(l);
    moonlog_admin_close(a);
    return rc;
}

static int consume(pcopts *o, moonlog_consumer *c, int64_t start_us) {
    moonlog_error e;
    int64_t count = 0, bytes = 0, first_us = -1, end_us = start_us, last_ms = ml_mono_ms();
    int rc = 0;
    while (count < o->messages) {
        const moonlog_consumer_record *recs;
        int32_t n;
        if (moonlog_consumer_poll(c, 100, &recs, &n, &e) != 0) {
            fprintf(stderr, "moonlog: %s: %s\n", e.name, e.message);
            rc = 1;
            break;
        }
        if (n == 0) {
            if (ml_mono_ms() - last_ms >= o->timeout_ms) break;
            continue;
        }
        if (first_us < 0) first_us = ml_mono_us();
        /* the last poll may bring more than N: only N are counted, as kcat -c N would stop */
        for (int32_t i = 0; i < n && count < o->messages; i++, count++)
            bytes += (recs[i].key_len > 0 ? recs[i].key_len : 0) + (recs[i].value_len > 0 ? recs[i].value_len : 0);
        end_us = ml_mono_us();
        last_ms = end_us / 1000;
    }
    double secs = (double)(end_us - start_us) / 1e6, mb = (double)bytes / (1024 * 1024);
    printf("%" PRId64 " records consumed, %.1f records/sec (%.2f MB/sec), %.2f MB, %.3f s elapsed, "
           "%.3f s to the first record.\n",
           count, secs > 0 ? (double)count / secs : 0.0, secs > 0 ? mb / secs : 0.0, mb, secs,
           first_us >= 0 ? (double)(first_us - start_us) / 1e6 : 0.0);
    fflush(stdout);
    if (rc == 0 && count < o->messages) {
        fprintf(stderr, "moonlog: only %" PRId64 " of %" PRId64 " records came before %" PRId64 " ms without one\n",
                count, o->messages, o->timeout_ms);
        rc = 1;
    }
    return rc;
}

int ml_cli_perf_consume(int argc, char **argv) {
    pcopts o = {"127.0.0.1:9092", NULL, NULL, 0, 10000, moonlog_consumer_config_new()};
    if (!o.cfg) return 1;
    int rc = 2;
    moonlog_consumer *c = NULL;
    moonlog_error e;
    /* earliest first, so a --consumer-property can still choose otherwise */
    if (ml_cli_consumer_set(o.cfg, "client.id", "moonlog-perf-consumer") != 0 ||
        ml_cli_consumer_set(o.cfg, "auto.offset.reset", "earliest") != 0 || parse(&o, argc, argv) != 0)
        goto out;
    rc = 1;
    int64_t start_us = ml_mono_us();
    if (moonlog_consumer_new(o.cfg, &c, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        goto out;
    }
    const char *topics[1] = {o.topic};
    if (o.group ? moonlog_consumer_subscribe(c, topics, 1, &e) != 0 : assign_all(&o, c) != 0) {
        if (o.group) fprintf(stderr, "moonlog: %s\n", e.message);
        goto out;
    }
    rc = consume(&o, c, start_us);
out:
    if (c && moonlog_consumer_close(c, &e) != 0) {
        fprintf(stderr, "moonlog: closing the consumer: %s: %s\n", e.name, e.message);
        rc = 1;
    }
    moonlog_consumer_config_free(o.cfg);
    return rc;
}
