/* moonlog perf produce: producer throughput and latency, like kafka-producer-perf-test.
 *
 *   moonlog perf produce --topic T --num-records N --record-size S --throughput R [options]
 *
 * The producer options of moonlog produce (--bootstrap-server, --producer-property,
 * --producer.config, plugins), and:
 *   --threads N                    N threads share the records (default 1)
 *   --keys index|none              each record keyed with its index as text (default), or no key
 *                                  (as kafka-producer-perf-test sends them)
 *   --print-every-ms MS            progress line interval (default 5000) */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/producer_cmd.h"
#include "common/clock.h"

typedef struct perf {
    ml_cli_popts *o;
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

/* The next decimal number in key (the record's index as text, as the keys always were): glibc's
 * snprintf cost ~730 instructions a record here, 40% of the sending thread, which the benchmark
 * then counted as the producer's; counting up in place costs a few. */
static void key_next(char *key, int *len) {
    int i = *len - 1;
    while (i >= 0 && key[i] == '9') key[i--] = '0';
    if (i >= 0) {
        key[i]++;
        return;
    }
    memmove(key + 1, key, (size_t)*len);
    key[0] = '1';
    (*len)++;
}

static void *perf_send(void *arg) {
    perf_thread *t = arg;
    ml_cli_popts *o = P.o;
    char *payload = malloc((size_t)o->record_size + 1);
    for (int32_t i = 0; i < o->record_size; i++) payload[i] = (char)('A' + (i % 26));
    double per_thread_rate = o->throughput > 0 ? o->throughput / o->threads : -1;
    int64_t t0 = ml_mono_us();
    char key[32];
    int kl = snprintf(key, sizeof key, "%" PRId64, t->first);
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
        if (k > 0) key_next(key, &kl);
        moonlog_record r = {o->topic, MOONLOG_PARTITION_ANY, o->null_keys ? NULL : key, o->null_keys ? 0 : kl,
                            payload, o->record_size, NULL, 0,
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

static int perf_produce(ml_cli_popts *o) {
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

int ml_cli_perf_produce(int argc, char **argv) { return ml_cli_popts_main(argc, argv, 1, perf_produce); }
