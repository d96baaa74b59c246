/* A spec's C harness (producer_close_spec.lua): delivery callbacks that send, through a
 * partitioner plugin, while close() runs. Callbacks run on the producer's I/O thread and may
 * send (moonlog/producer.h); a send there that close() has not seen yet must either be refused
 * (CLOSED) or be delivered before close() returns, never accepted and then lost.
 *
 *   callback_sends BOOTSTRAP TOPIC PARTITIONER N
 *
 * Sends N records, each of whose callbacks sends a child (up to DEPTH generations), and closes
 * once a tenth of them came back. Prints "accepted A completed C delivered D failed F refused R other O" and
 * exits 0 when every accepted record was completed exactly once and no send failed otherwise. */
#define _POSIX_C_SOURCE 200809L /* nanosleep under -std=c11 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "moonlog/producer.h"

#define DEPTH 3

static moonlog_producer *producer;
static const char *topic;
static atomic_long accepted, completed, delivered, failed, refused, other;

static void on_delivery(const moonlog_record_metadata *md, const moonlog_error *err, void *opaque);

/* A send that counts what became of it: accepted (a callback will come), refused by a closing
 * producer, or refused for any other reason (which the spec does not expect). */
static void send_one(long depth) {
    char value[32];
    int vl = snprintf(value, sizeof value, "generation %ld", depth);
    moonlog_record r = {topic, MOONLOG_PARTITION_ANY, value, vl, value, vl, NULL, 0, MOONLOG_TIMESTAMP_NOW};
    moonlog_error e;
    if (moonlog_producer_send(producer, &r, on_delivery, (void *)(intptr_t)depth, &e) == 0) {
        atomic_fetch_add(&accepted, 1);
    } else if (e.code == MOONLOG_ERR_CLOSED) {
        atomic_fetch_add(&refused, 1);
    } else {
        atomic_fetch_add(&other, 1);
        fprintf(stderr, "send refused: %s: %s\n", e.name, e.message);
    }
}

static void on_delivery(const moonlog_record_metadata *md, const moonlog_error *err, void *opaque) {
    (void)md;
    atomic_fetch_add(&completed, 1);
    atomic_fetch_add(err ? &failed : &delivered, 1);
    long depth = (long)(intptr_t)opaque;
    if (depth < DEPTH) send_one(depth + 1);
}

static int set(moonlog_config *c, const char *k, const char *v) {
    moonlog_error e;
    if (moonlog_config_set(c, k, v, &e) == 0) return 0;
    fprintf(stderr, "config: %s\n", e.message);
    return -1;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s bootstrap topic partitioner n\n", argv[0]);
        return 2;
    }
    topic = argv[2];
    long n = atol(argv[4]);
    moonlog_config *cfg = moonlog_config_new();
    if (!cfg || set(cfg, "bootstrap.servers", argv[1]) || set(cfg, "linger.ms", "1") ||
        set(cfg, "partitioner", argv[3])) {
        moonlog_config_free(cfg);
        return 1;
    }
    moonlog_error err;
    int rc = moonlog_producer_new(cfg, &producer, &err);
    moonlog_config_free(cfg);
    if (rc != 0) {
        fprintf(stderr, "producer: %s\n", err.message);
        return 1;
    }
    for (long i = 0; i < n; i++) send_one(0);
    /* close once a tenth has come back: the rest of the callbacks, and their children's, send
     * while close runs (at most 10 s of waiting: no broker, and close fails them all) */
    for (int waited = 0; atomic_load(&completed) < n / 10 && waited < 10000; waited++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    moonlog_producer_close(producer);
    long a = atomic_load(&accepted), c = atomic_load(&completed);
    printf("accepted %ld completed %ld delivered %ld failed %ld refused %ld other %ld\n", a, c,
           atomic_load(&delivered), atomic_load(&failed), atomic_load(&refused), atomic_load(&other));
    return a == c && atomic_load(&other) == 0 ? 0 : 1;
}
