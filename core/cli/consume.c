/* moonlog consume: records to stdout, one per line, like Kafka's console consumer.
 *
 *   moonlog consume --bootstrap-server H:P --topic T [options]
 *
 *   --group G                  subscribe as a member of group G (its committed offsets, auto
 *                              commit); without it every partition of T is assigned
 *   --from-beginning           start where there is no committed offset at the log start (else
 *                              at the end): auto.offset.reset=earliest
 *   --partition P [--offset O] (no group) only partition P, from O: earliest, latest or a number
 *   --max-messages N           exit 0 after N records
 *   --timeout-ms MS            exit 0 when no record came for MS
 *   --property K=V             Kafka's console formatter: print.key, print.timestamp,
 *                              print.partition, print.offset, print.headers, print.value
 *                              (true|false), key.separator (tab), line.separator (newline),
 *                              headers.separator (","), null.literal ("null")
 *   --consumer-property k=v    any consumer property (repeatable); --consumer.config FILE
 *   --key-deserializer, --value-deserializer  key.deserializer, value.deserializer
 * SIGINT and SIGTERM close the consumer (committing with a group and auto commit) and exit 0;
 * "Processed a total of N messages" goes to stderr at the end, as Kafka's tool prints it. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/consumer_cmd.h"
#include "common/clock.h"

typedef struct fmt {
    int key, timestamp, partition, offset, headers, value;
    const char *key_sep, *line_sep, *headers_sep, *null_literal;
} fmt;

typedef struct copts {
    ml_cli_copts c;
    int from_beginning;
    int64_t max_messages, timeout_ms;
    fmt f;
} copts;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

static int bool_value(const char *key, const char *v, int *out) {
    if (strcmp(v, "true") == 0) *out = 1;
    else if (strcmp(v, "false") == 0) *out = 0;
    else {
        fprintf(stderr, "moonlog: --property %s=%s: expected true or false\n", key, v);
        return -1;
    }
    return 0;
}

static int format_property(fmt *f, const char *kv) {
    char key[64];
    const char *v;
    if (ml_cli_kv("--property", kv, key, sizeof key, &v) != 0) return -1;
    if (strcmp(key, "print.key") == 0) return bool_value(key, v, &f->key);
    if (strcmp(key, "print.timestamp") == 0) return bool_value(key, v, &f->timestamp);
    if (strcmp(key, "print.partition") == 0) return bool_value(key, v, &f->partition);
    if (strcmp(key, "print.offset") == 0) return bool_value(key, v, &f->offset);
    if (strcmp(key, "print.headers") == 0) return bool_value(key, v, &f->headers);
    if (strcmp(key, "print.value") == 0) return bool_value(key, v, &f->value);
    if (strcmp(key, "key.separator") == 0) f->key_sep = v;
    else if (strcmp(key, "line.separator") == 0) f->line_sep = v;
    else if (strcmp(key, "headers.separator") == 0) f->headers_sep = v;
    else if (strcmp(key, "null.literal") == 0) f->null_literal = v;
    else {
        fprintf(stderr, "moonlog: --property %s: unknown; known are print.key, print.timestamp, print.partition, "
                        "print.offset, print.headers, print.value, key.separator, line.separator, headers.separator, "
                        "null.literal\n", key);
        return -1;
    }
    return 0;
}

static const char *const value_options[] = {"--bootstrap-server", "--topic", "--group", "--offset", "--partition",
                                            "--max-messages", "--timeout-ms", "--property", "--consumer-property",
                                            "--consumer.config", "--key-deserializer", "--value-deserializer", NULL};

static int option(copts *o, const char *a, const char *v) {
    int rc = ml_cli_copts_option(&o->c, a, v);
    if (rc != 1) return rc;
    int64_t n;
    if (strcmp(a, "--offset") == 0) o->c.offset = v;
    else if (strcmp(a, "--partition") == 0) {
        if (ml_cli_int(a, v, 0, INT32_MAX, &n) != 0) return -1;
        o->c.partition = (int32_t)n;
    } else if (strcmp(a, "--max-messages") == 0) return ml_cli_int(a, v, 1, INT64_MAX, &o->max_messages);
    else if (strcmp(a, "--timeout-ms") == 0) return ml_cli_int(a, v, 0, INT64_MAX, &o->timeout_ms);
    else if (strcmp(a, "--property") == 0) return format_property(&o->f, v);
    else if (strcmp(a, "--key-deserializer") == 0) return ml_cli_consumer_set(o->c.cfg, "key.deserializer", v);
    else return ml_cli_consumer_set(o->c.cfg, "value.deserializer", v); /* --value-deserializer */
    return 0;
}

/* The options that only make sense together. 0 or -1 (printed). */
static int check(const copts *o) {
    const ml_cli_copts *c = &o->c;
    if (!c->topic) {
        fprintf(stderr, "moonlog: --topic is required\n");
        return -1;
    }
    if (c->group && c->partition >= 0) {
        fprintf(stderr, "moonlog: --partition assigns one partition: it does not go with --group\n");
        return -1;
    }
    if (c->offset && c->partition < 0) {
        fprintf(stderr, "moonlog: --offset needs --partition\n");
        return -1;
    }
    int64_t off;
    if (c->offset && strcmp(c->offset, "earliest") != 0 && strcmp(c->offset, "latest") != 0 &&
        ml_cli_int("--offset", c->offset, 0, INT64_MAX, &off) != 0)
        return -1;
    if (o->from_beginning && c->reset && strcmp(c->reset, "earliest") != 0) {
        fprintf(stderr, "moonlog: --from-beginning and auto.offset.reset=%s cannot be used together\n", c->reset);
        return -1;
    }
    return 0;
}

static int parse(copts *o, int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--from-beginning") == 0) {
            o->from_beginning = 1;
            continue;
        }
        const char *a = argv[i], *v = ml_cli_known_value(argc, argv, &i, ml_cli_one_of(a, value_options));
        if (!v || option(o, a, v) != 0) return -1;
    }
    if (check(o) != 0 || ml_cli_copts_apply(&o->c) != 0) return -1;
    return o->from_beginning ? ml_cli_consumer_set(o->c.cfg, "auto.offset.reset", "earliest") : 0;
}

/* ---- Output: Kafka's DefaultMessageFormatter ----------------------------------------------- */

static void put_bytes(const fmt *f, const void *p, int32_t len) {
    if (len < 0 || !p) fputs(f->null_literal, stdout);
    else fwrite(p, 1, (size_t)len, stdout);
}

static void put_headers(const fmt *f, const moonlog_consumer_record *r) {
    if (r->n_headers == 0) {
        fputs("NO_HEADERS", stdout);
        return;
    }
    for (int32_t i = 0; i < r->n_headers; i++) {
        if (i) fputs(f->headers_sep, stdout);
        fputs(r->headers[i].key, stdout);
        fputc(':', stdout);
        put_bytes(f, r->headers[i].value, r->headers[i].value_len);
    }
}

static void print_record(const fmt *f, const moonlog_consumer_record *r) {
    /* each field is followed by the separator when another field comes after it */
    int fields[5] = {f->timestamp, f->partition, f->offset, f->headers, f->key};
    for (int k = 0; k < 5; k++) {
        if (!fields[k]) continue;
        if (k == 0)
            printf("%s:%" PRId64, r->timestamp_type == MOONLOG_TIMESTAMP_LOG_APPEND_TIME ? "LogAppendTime" : "CreateTime",
                   r->timestamp);
        else if (k == 1) printf("Partition:%" PRId32, r->partition);
        else if (k == 2) printf("Offset:%" PRId64, r->offset);
        else if (k == 3) put_headers(f, r);
        else put_bytes(f, r->key, r->key_len);
        int more = f->value;
        for (int j = k + 1; j < 5; j++) more |= fields[j];
        if (more) fputs(f->key_sep, stdout);
    }
    if (f->value) put_bytes(f, r->value, r->value_len);
    fputs(f->line_sep, stdout);
}

/* ---- The loop ------------------------------------------------------------------------------- */

/* Records poll returned beyond --max-messages: their partitions go back to the first of them, so
 * the commit at close covers only what was printed. */
static int unread(moonlog_consumer *c, const moonlog_consumer_record *recs, int32_t n, moonlog_error *e) {
    for (int32_t i = 0; i < n; i++) {
        int first = 1;
        for (int32_t k = 0; k < i && first; k++)
            first = recs[k].partition != recs[i].partition || strcmp(recs[k].topic, recs[i].topic) != 0;
        if (first && moonlog_consumer_seek(c, recs[i].topic, recs[i].partition, recs[i].offset, e) != 0) return -1;
    }
    return 0;
}

static int run(copts *o, moonlog_consumer *c) {
    moonlog_error e;
    int64_t count = 0, last = ml_mono_ms();
    int rc = 0;
    while (!stop_signal && (o->max_messages < 0 || count < o->max_messages)) {
        const moonlog_consumer_record *recs;
        int32_t n;
        if (ml_cli_copts_poll(c, &recs, &n) != 0) {
            rc = 1;
            break;
        }
        int32_t i = 0;
        for (; i < n && (o->max_messages < 0 || count < o->max_messages); i++, count++) print_record(&o->f, &recs[i]);
        if (i < n && unread(c, recs + i, n - i, &e) != 0) {
            fprintf(stderr, "moonlog: %s: %s\n", e.name, e.message);
            rc = 1;
            break;
        }
        if (n > 0) {
            fflush(stdout);
            last = ml_mono_ms();
        } else if (o->timeout_ms >= 0 && ml_mono_ms() - last >= o->timeout_ms) {
            break;
        }
    }
    fflush(stdout);
    fprintf(stderr, "Processed a total of %" PRId64 " messages\n", count);
    return rc;
}

static void trap_signals(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int ml_cli_consume(int argc, char **argv) {
    copts o = {.max_messages = -1, .timeout_ms = -1, .f = {0, 0, 0, 0, 0, 1, "\t", "\n", ",", "null"}};
    moonlog_consumer *c = NULL;
    int rc = ml_cli_copts_init(&o.c, "moonlog-console-consumer");
    if (rc == 0 && parse(&o, argc, argv) != 0) rc = 2;
    if (rc == 0 && ml_cli_copts_open(&o.c, &c) != 0) rc = 1;
    /* before the assignment: a signal while it waits on the broker still closes cleanly */
    if (rc == 0) trap_signals();
    if (rc == 0 && ml_cli_copts_attach(&o.c, c) != 0) rc = 1;
    if (rc == 0) rc = run(&o, c);
    return ml_cli_copts_close(&o.c, c, rc);
}
