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
#include <string.h>

#include "cli/cli.h"
#include "cli/consumer_cmd.h"
#include "common/clock.h"

typedef struct pcopts {
    ml_cli_copts c;
    int64_t messages, timeout_ms;
} pcopts;

static const char *const value_options[] = {"--bootstrap-server", "--broker-list", "--topic", "--group", "--messages",
                                            "--timeout-ms", "--timeout", "--consumer-property", "--consumer.config",
                                            NULL};

static int option(pcopts *o, const char *a, const char *v) {
    if (strcmp(a, "--broker-list") == 0) o->c.bootstrap = v;
    else if (strcmp(a, "--messages") == 0) return ml_cli_int(a, v, 1, INT64_MAX, &o->messages);
    else if (strcmp(a, "--timeout-ms") == 0 || strcmp(a, "--timeout") == 0) return ml_cli_int(a, v, 0, INT64_MAX, &o->timeout_ms);
    else return ml_cli_copts_option(&o->c, a, v); /* known (value_options): never 1 */
    return 0;
}

static int parse(pcopts *o, int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = ml_cli_known_value(argc, argv, &i, ml_cli_one_of(a, value_options));
        if (!v || option(o, a, v) != 0) return -1;
    }
    if (!o->c.topic || o->messages <= 0) {
        fprintf(stderr, "moonlog: perf consume needs --topic T and --messages N\n");
        return -1;
    }
    return ml_cli_copts_apply(&o->c);
}

static int consume(pcopts *o, moonlog_consumer *c, int64_t start_us) {
    int64_t count = 0, bytes = 0, first_us = -1, end_us = start_us, last_ms = ml_mono_ms();
    int rc = 0;
    while (count < o->messages) {
        const moonlog_consumer_record *recs;
        int32_t n;
        if (ml_cli_copts_poll(c, &recs, &n) != 0) {
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
    pcopts o = {.timeout_ms = 10000};
    moonlog_consumer *c = NULL;
    int rc = ml_cli_copts_init(&o.c, "moonlog-perf-consumer");
    /* earliest first, so a --consumer-property can still choose otherwise */
    if (rc == 0 && (ml_cli_consumer_set(o.c.cfg, "auto.offset.reset", "earliest") != 0 || parse(&o, argc, argv) != 0))
        rc = 2;
    int64_t start_us = ml_mono_us();
    if (rc == 0 && (ml_cli_copts_open(&o.c, &c) != 0 || ml_cli_copts_attach(&o.c, c) != 0)) rc = 1;
    if (rc == 0) rc = consume(&o, c, start_us);
    return ml_cli_copts_close(&o.c, c, rc);
}
