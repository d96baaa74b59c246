/* The moonlog command: the producer side.
 *
 *   moonlog produce --bootstrap-server H:P --topic T [options]       lines of stdin as records
 *   moonlog perf produce --topic T --num-records N --record-size S --throughput R [options]
 *
 * Options shared by both (the names of Kafka's console tools):
 *   --bootstrap-server H:P[,H:P]   (default 127.0.0.1:9092)
 *   --producer-property k=v        any producer property (repeatable)
 *   --producer.config FILE         producer properties from a .properties file
 *   --partitioner NAME|PATH, --key-serializer NAME|PATH, --value-serializer NAME|PATH,
 *   --retry-policy NAME|PATH       plugins (shortcuts for the properties of the same names)
 * produce only:
 *   --property parse.key=true      each line is key<separator>value
 *   --property key.separator=SEP   (default a tab, as Kafka's console producer)
 * perf produce only:
 *   --threads N                    N threads share the records (default 1)
 *   --print-every-ms MS            progress line interval (default 5000) */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/run.h"
#include "common/clock.h"
#include "common/properties.h"
#include "moonlog/producer.h"

typedef struct cli_opts {
    const char *bootstrap;
    const char *topic;
    int parse_key;
    const char *key_sep;
    int64_t num_records;
    int32_t record_size;
    double throughput;
    int threads;
    int64_t print_every_ms;
    moonlog_config *cfg;
} cli_opts;

static void usage(void) {
    fprintf(stderr,
            "usage: moonlog produce --bootstrap-server H:P --topic T [--property parse.key=true]\n"
            "                       [--property key.separator=SEP] [--producer-property k=v]...\n"
            "                       [--producer.config FILE] [--partitioner NAME|PATH]\n"
            "                       [--key-serializer NAME|PATH] [--value-serializer NAME|PATH]\n"
            "                       [--retry-policy NAME|PATH]\n"
            "       moonlog perf produce --topic T --num-records N --record-size S --throughput R\n"
            "                       [--bootstrap-server H:P] [--threads N] [--producer-property k=v]...\n"
            "       moonlog run [--reload-interval-ms MS | --no-reload] script.lua [args...]   (run --help)\n");
}

static int set_prop(cli_opts *o, const char *key, const char *value) {
    moonlog_error e;
    if (moonlog_config_set(o->cfg, key, value, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return -1;
    }
    return 0;
}

static int set_kv(cli_opts *o, const char *kv) {
    const char *eq = strchr(kv, '=');
    if (!eq) {
        fprintf(stderr, "moonlog: --producer-property %s: expected key=value\n", kv);
        return -1;
    }
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    return set_prop(o, key, eq + 1);
}

static int load_props(cli_opts *o, const char *path) {
    ml_props *props;
    ml_err e;
    if (ml_props_load(path, &props, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.msg);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < ml_props_count(props) && rc == 0; i++)
        rc = set_prop(o, ml_props_key(props, i), ml_props_value(props, i));
    ml_props_free(props);
    return rc;
}

static int parse_args(cli_opts *o, int argc, char **argv, int perf) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED()                                                         \
    do {                                                               \
        if (!v) {                                                      \
            fprintf(stderr, "moonlog: %s needs a value\n", a);         \
            return -1;                                                 \
        }                                                              \
        i++;                                                           \
    } while (0)
        if (strcmp(a, "--bootstrap-server") == 0 || strcmp(a, "--broker-list") == 0) {
            NEED();
            o->bootstrap = v;
        } else if (strcmp(a, "--topic") == 0) {
            NEED();
            o->topic = v;
        } else if (strcmp(a, "--producer-property") == 0) {
            NEED();
            if (set_kv(o, v) != 0) return -1;
        } else if (strcmp(a, "--producer.config") == 0) {
            NEED();
            if (load_props(o, v) != 0) return -1;
        } else if (strcmp(a, "--partitioner") == 0 || strcmp(a, "--key-serializer") == 0 ||
                   strcmp(a, "--value-serializer") == 0 || strcmp(a, "--retry-policy") == 0) {
            NEED();
            const char *key = strcmp(a, "--partitioner") == 0        ? "partitioner"
                              : strcmp(a, "--key-serializer") == 0   ? "key.serializer"
                              : strcmp(a, "--value-serializer") == 0 ? "value.serializer"
                                                                     : "retry.policy";
            if (set_prop(o, key, v) != 0) return -1;
        } else if (!perf && strcmp(a, "--property") == 0) {
            NEED();
            if (strcmp(v, "parse.key=true") == 0) o->parse_key = 1;
            else if (strcmp(v, "parse.key=false") == 0) o->parse_key = 0;
            else if (strncmp(v, "key.separator=", 14) == 0) o->key_sep = v + 14;
            else {
                fprintf(stderr, "moonlog: --property %s: known are parse.key=true|false and key.separator=SEP\n", v);
                return -1;
            }
        } else if (perf && (strcmp(a, "--num-records") == 0 || strcmp(a, "--record-size") == 0 ||
                            strcmp(a, "--throughput") == 0 || strcmp(a, "--threads") == 0 ||
                            strcmp(a, "--print-every-ms") == 0)) {
            NEED();
            char *end;
            double d = strtod(v, &end);
            if (*end || end == v) {
                fprintf(stderr, "moonlog: %s %s: not a number\n", a, v);
                return -1;
            }
            if (strcmp(a, "--num-records") == 0) o->num_records = (int64_t)d;
            else if (strcmp(a, "--record-size") == 0) o->record_size = (int32_t)d;
            else if (strcmp(a, "--throughput") == 0) o->throughput = d;
            else if (strcmp(a, "--threads") == 0) o->threads = (int)d;
            else o->print_every_ms = (int64_t)d;
        } else {
            fprintf(stderr, "moonlog: unknown option %s\n", a);
            usage();
            return -1;
        }
#undef NEED
    }
    if (!o->topic) {
        fprintf(stderr, "moonlog: --topic is required\n");
        return -1;
    }
    return set_prop(o, "bootstrap.servers", o->bootstrap);
}

/* ---- produce ------------------------------------------------------------------------------ */

static atomic_long produce_failed;

static void produce_cb(const moonlog_record_metadata *md, const moonlog_error *err, void *opaque) {
    (void)opaque;
    if (err) {
        if (atomic_fetch_add(&produce_failed, 1) < 20)
            fprintf(stderr, "moonlog: record to %s failed: %s: %s\n", md->topic, err->name, err->message);
    }
}

static int cmd_produce(cli_opts *o) {
    moonlog_producer *p;
    moonlog_error e;
    if (moonlog_producer_new(o->cfg, &p, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long refused = 0;
    size_t seplen = strlen(o->key_sep);
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        moonlog_record r = {o->topic, MOONLOG_PARTITION_ANY, NULL, 0, line, (int32_t)n, NULL, 0,
                            MOONLOG_TIMESTAMP_NOW};
        if (o->parse_key) {
            char *sep = seplen ? strstr(line, o->key_sep) : NULL;
            if (!sep) {
                fprintf(stderr, "moonlog: no key separator '%s' in line: %s\n", o->key_sep, line);
                refused++;
                continue;
            }
            r.key = line;
            r.key_len = (int32_t)(sep - line);
            r.value = sep + seplen;
            r.value_len = (int32_t)(n - (sep - line) - (ssize_t)seplen);
        }
        if (moonlog_producer_send(p, &r, produce_cb, NULL, &e) != 0) {
            fprintf(stderr, "moonlog: %s: %s\n", e.name, e.message);
            refused++;
        }
    }
    free(line);
    moonlog_producer_close(p);
    long failed = atomic_load(&produce_failed) + refused;
    if (failed) fprintf(stderr, "moonlog: %ld record(s) not delivered\n", failed);
    return failed ? 1 : 0;
}

/* ---- perf produce ------------------------------------------------------------------------- */

typedef struct perf {
    cli_opts *o;
    moonlog_producer *p;
    int64_t start_us;
    int32_t *latency_us;  /* per record: send -> acknowledgement */
    int64_t *sent_us;
    atomic_llong acked, failed, refused, accepted, bytes, lat_sum, lat_max;
    atomic_int running, stop;
    atomic_llong window_acked, window_bytes, window_lat, window_max;
} perf;

static perf P;

static void perf_cb(const moonlog_record_metadata *md, const moonlog_error *err, void *opaque) {
    (void)md;
    int64_t i = (int64_t)(intptr_t)opaque;
    int64_t lat = ml_mono_us() - P.sent_us[i];
    P.latency_us[i] = (int32_t)(lat > INT32_MAX ? INT32_MAX : lat);
    if (err) {
        if (atomic_fetch_add(&P.failed, 1) < 10) fprintf(stderr, "moonlog: %s: %s\n", err->name, err->message);
        return;
    }
    atomic_fetch_add(&P.acked, 1);
    atomic_fetch_add(&P.bytes, P.o->record_size);
    atomic_fetch_add(&P.lat_sum, lat);
    atomic_fetch_add(&P.window_acked, 1);
    atomic_fetch_add(&P.window_bytes, P.o->record_size);
    atomic_fetch_add(&P.window_lat, lat);
    long long m = atomic_load(&P.lat_max);
    while (lat > m && !atomic_compare_exchange_weak(&P.lat_max, &m, lat)) {}
    m = atomic_load(&P.window_max);
    while (lat > m && !atomic_compare_exchange_weak(&P.window_max, &m, lat)) {}
}

typedef struct perf_thread {
    int64_t first, count;
    int64_t refused;
} perf_thread;

static void *perf_send(void *arg) {
    perf_thread *t = arg;
    cli_opts *o = P.o;
    char *payload = malloc((size_t)o->record_size + 1);
    for (int32_t i = 0; i < o->record_size; i++) payload[i] = (char)('A' + (i % 26));
    double per_thread_rate = o->throughput > 0 ? o->throughput / o->threads : -1;
    int64_t t0 = ml_mono_us();
    char key[32];
    for (int64_t k = 0; k < t->count && !atomic_load(&P.stop); k++) {
        int64_t i = t->first + k;
        if (per_thread_rate > 0) {
            int64_t due = t0 + (int64_t)((double)k * 1e6 / per_thread_rate);
            int64_t now = ml_mono_us();
            if (due > now) {
                struct timespec ts = {(time_t)((due - now) / 1000000), (long)((due - now) % 1000000) * 1000};
                nanosleep(&ts, NULL);
            }
        }
        int kl = snprintf(key, sizeof key, "%" PRId64, i);
        moonlog_record r = {o->topic, MOONLOG_PARTITION_ANY, key, kl, payload, o->record_size, NULL, 0,
                            MOONLOG_TIMESTAMP_NOW};
        moonlog_error e;
        P.sent_us[i] = ml_mono_us();
        if (moonlog_producer_send(P.p, &r, perf_cb, (void *)(intptr_t)i, &e) != 0) {
            P.latency_us[i] = -1;
            atomic_fetch_add(&P.refused, 1);
            t->refused++;
            /* a refused send means the producer cannot go on (no metadata, buffer exhausted for
             * max.block.ms, ...): stop instead of waiting max.block.ms per record */
            if (!atomic_exchange(&P.stop, 1)) fprintf(stderr, "moonlog: send refused, stopping: %s: %s\n", e.name, e.message);
        } else {
            atomic_fetch_add(&P.accepted, 1);
        }
    }
    free(payload);
    atomic_fetch_sub(&P.running, 1);
    return NULL;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static void print_window(int64_t now_us, int64_t *last_us) {
    double secs = (double)(now_us - *last_us) / 1e6;
    long long n = atomic_exchange(&P.window_acked, 0), bytes = atomic_exchange(&P.window_bytes, 0);
    long long lat = atomic_exchange(&P.window_lat, 0), max = atomic_exchange(&P.window_max, 0);
    printf("%lld records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.\n", n,
           (double)n / secs, (double)bytes / secs / (1024 * 1024), n ? (double)lat / (double)n / 1000 : 0.0,
           (double)max / 1000);
    fflush(stdout);
    *last_us = now_us;
}

static int cmd_perf(cli_opts *o) {
    if (o->num_records <= 0 || o->record_size < 0 || o->threads < 1) {
        fprintf(stderr, "moonlog: perf produce needs --num-records > 0, --record-size >= 0, --threads >= 1\n");
        return 1;
    }
    moonlog_error e;
    P.o = o;
    P.latency_us = calloc((size_t)o->num_records, sizeof *P.latency_us);
    P.sent_us = calloc((size_t)o->num_records, sizeof *P.sent_us);
    if (!P.latency_us || !P.sent_us) {
        fprintf(stderr, "moonlog: out of memory for %" PRId64 " records\n", o->num_records);
        return 1;
    }
    if (moonlog_producer_new(o->cfg, &P.p, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return 1;
    }
    P.start_us = ml_mono_us();
    pthread_t *th = calloc((size_t)o->threads, sizeof *th);
    perf_thread *pt = calloc((size_t)o->threads, sizeof *pt);
    int64_t per = o->num_records / o->threads;
    atomic_store(&P.running, o->threads);
    for (int i = 0; i < o->threads; i++) {
        pt[i].first = per * i;
        pt[i].count = i == o->threads - 1 ? o->num_records - per * i : per;
        pthread_create(&th[i], NULL, perf_send, &pt[i]);
    }
    /* progress from this thread while the senders run; refused sends never complete */
    int64_t last = P.start_us, refused = 0;
    for (;;) {
        int64_t settled = atomic_load(&P.acked) + atomic_load(&P.failed);
        if (atomic_load(&P.running) == 0 && settled >= atomic_load(&P.accepted)) break;
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
        int64_t now = ml_mono_us();
        if (now - last >= o->print_every_ms * 1000) print_window(now, &last);
    }
    for (int i = 0; i < o->threads; i++) {
        pthread_join(th[i], NULL);
        refused += pt[i].refused;
    }
    moonlog_producer_close(P.p);
    int64_t end = ml_mono_us();
    long long acked = atomic_load(&P.acked), failed = atomic_load(&P.failed);
    double secs = (double)(end - P.start_us) / 1e6;
    int64_t n = 0;
    for (int64_t i = 0; i < o->num_records; i++)
        if (P.latency_us[i] > 0) P.latency_us[n++] = P.latency_us[i];
    qsort(P.latency_us, (size_t)n, sizeof *P.latency_us, cmp_i32);
#define PCT(q) (n ? (double)P.latency_us[(int64_t)((double)(n - 1) * (q))] / 1000 : 0.0)
    printf("%lld records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "
           "%.2f ms 50th, %.2f ms 95th, %.2f ms 99th, %.2f ms 99.9th.\n",
           acked, (double)acked / secs, (double)atomic_load(&P.bytes) / secs / (1024 * 1024),
           acked ? (double)atomic_load(&P.lat_sum) / (double)acked / 1000 : 0.0,
           (double)atomic_load(&P.lat_max) / 1000, PCT(0.5), PCT(0.95), PCT(0.99), PCT(0.999));
#undef PCT
    int64_t unsent = o->num_records - atomic_load(&P.accepted) - refused;
    if (failed || refused)
        printf("%lld records failed, %lld refused, %lld not sent.\n", failed, (long long)refused, (long long)unsent);
    free(P.latency_us);
    free(P.sent_us);
    free(th);
    free(pt);
    return failed || refused ? 1 : 0;
}

int main(int argc, char **argv) {
    cli_opts o = {"127.0.0.1:9092", NULL, 0, "\t", 0, 100, -1, 1, 5000, NULL};
    o.cfg = moonlog_config_new();
    if (!o.cfg) return 1;
    int rc = 2;
    if (argc >= 2 && strcmp(argv[1], "run") == 0) {
        rc = ml_cli_run(argc - 1, argv + 1);
    } else if (argc >= 2 && strcmp(argv[1], "produce") == 0) {
        if (parse_args(&o, argc - 2, argv + 2, 0) == 0) rc = cmd_produce(&o);
    } else if (argc >= 3 && strcmp(argv[1], "perf") == 0 && strcmp(argv[2], "produce") == 0) {
        if (parse_args(&o, argc - 3, argv + 3, 1) == 0) rc = cmd_perf(&o);
    } else {
        usage();
    }
    moonlog_config_free(o.cfg);
    return rc;
}
