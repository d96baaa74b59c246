/* A C producer on libmoonlog: the three ways to send, then close.
 *
 *   cc -std=c11 -Icore/include examples/producer.c build/libmoonlog.a \
 *      -levent -lzstd -llz4 -lz -lsnappy -lluajit-5.1 -lpthread -lm -o producer
 *   ./producer 127.0.0.1:9092 my-topic 1000 [partitioner]
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moonlog/producer.h"

static atomic_long delivered, failed;

static void on_delivery(const moonlog_record_metadata *md, const moonlog_error *err, void *opaque) {
    (void)opaque;
    if (err) {
        atomic_fetch_add(&failed, 1);
        fprintf(stderr, "%s: %s: %s\n", md->topic, err->name, err->message);
        return;
    }
    atomic_fetch_add(&delivered, 1);
}

static int set(moonlog_config *c, const char *k, const char *v) {
    moonlog_error e;
    if (moonlog_config_set(c, k, v, &e) == 0) return 0;
    fprintf(stderr, "config: %s\n", e.message);
    return -1;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s bootstrap topic count [partitioner]\n", argv[0]);
        return 2;
    }
    const char *topic = argv[2];
    long n = atol(argv[3]);
    moonlog_config *cfg = moonlog_config_new();
    if (set(cfg, "bootstrap.servers", argv[1]) || set(cfg, "linger.ms", "5") || set(cfg, "compression.type", "lz4") ||
        (argc > 4 && set(cfg, "partitioner", argv[4]))) {
        moonlog_config_free(cfg);
        return 1;
    }
    moonlog_producer *p;
    moonlog_error err;
    int rc = moonlog_producer_new(cfg, &p, &err);
    moonlog_config_free(cfg);
    if (rc != 0) {
        fprintf(stderr, "producer: %s\n", err.message);
        return 1;
    }

    /* synchronous: wait for the offset */
    moonlog_record first = {topic, MOONLOG_PARTITION_ANY, "first", 5, "hello", 5, NULL, 0, MOONLOG_TIMESTAMP_NOW};
    moonlog_record_metadata md;
    if (moonlog_producer_send_sync(p, &first, &md, &err) != 0) {
        fprintf(stderr, "send_sync: %s: %s\n", err.name, err.message);
        moonlog_producer_close(p);
        return 1;
    }
    printf("first record: partition %d offset %lld\n", md.partition, (long long)md.offset);

    /* asynchronous, with a header */
    for (long i = 0; i < n; i++) {
        char key[32], value[64];
        int kl = snprintf(key, sizeof key, "key-%ld", i);
        int vl = snprintf(value, sizeof value, "value %ld", i);
        moonlog_header h = {"source", "example", 7};
        moonlog_record r = {topic, MOONLOG_PARTITION_ANY, key, kl, value, vl, &h, 1, MOONLOG_TIMESTAMP_NOW};
        if (moonlog_producer_send(p, &r, on_delivery, NULL, &err) != 0) {
            fprintf(stderr, "send: %s: %s\n", err.name, err.message);
            atomic_fetch_add(&failed, 1);
        }
    }

    /* fire-and-forget */
    moonlog_record last = {topic, 0, NULL, 0, "bye", 3, NULL, 0, MOONLOG_TIMESTAMP_NOW};
    moonlog_producer_send(p, &last, NULL, NULL, NULL);

    rc = moonlog_producer_close_timeout(p, 30000);
    printf("delivered %ld, failed %ld%s\n", atomic_load(&delivered), atomic_load(&failed),
           rc ? " (close timed out)" : "");
    return atomic_load(&failed) || rc ? 1 : 0;
}
