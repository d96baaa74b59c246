/* Load generator for `make bench`: measures the broker's own cost with pre-built requests.
 *
 *   loadgen create  HOST:PORT TOPIC PARTITIONS
 *   loadgen produce HOST:PORT TOPIC PARTITIONS SECONDS [INFLIGHT]
 *   loadgen fetch   HOST:PORT TOPIC PARTITIONS SECONDS
 *
 * produce sends Produce v3 requests each holding one 1 MiB uncompressed batch of 100-byte
 * records (acks=1), INFLIGHT at a time on one connection, cycling over the partitions; fetch
 * reads the partitions from offset 0 with Fetch v4 (8 MiB max) until SECONDS pass, wrapping
 * round. Each prints one line: "<mode> MB/s=<x> records/s=<y> p50_ms=.. p99_ms=.. p999_ms=..". */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/crc32c.h"

#define RECORD_SIZE 100
#define BATCH_BYTES (1 << 20)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_to(const char *hostport) {
    char host[256];
    snprintf(host, sizeof host, "%s", hostport);
    char *colon = strrchr(host, ':');
    if (!colon) return -1;
    *colon = 0;
    struct sockaddr_in sin = {0};
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static void send_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror("write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void recv_all(int fd, uint8_t *p, size_t n) {
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) {
            fprintf(stderr, "loadgen: connection closed by the broker\n");
            exit(1);
        }
        p += r;
        n -= (size_t)r;
    }
}

/* Reads one response frame into *buf (grown as needed); returns its length. */
static size_t recv_frame(int fd, uint8_t **buf, size_t *cap) {
    uint8_t size[4];
    recv_all(fd, size, 4);
    size_t n = ml_load_u32(size);
    if (n > *cap) {
        *cap = n;
        *buf = realloc(*buf, n);
    }
    recv_all(fd, *buf, n);
    return n;
}

static void header(ml_writer *w, int16_t key, int16_t version, int32_t corr) {
    ml_write_i32(w, 0); /* size, patched by finish() */
    ml_write_i16(w, key);
    ml_write_i16(w, version);
    ml_write_i32(w, corr);
    ml_write_i16(w, 7);
    ml_write_raw(w, "loadgen", 7);
}

static void finish(ml_writer *w) { ml_store_u32(w->data, (uint32_t)(w->len - 4)); }

static int build_batch(ml_writer *w) {
    size_t start = w->len;
    uint8_t value[RECORD_SIZE];
    memset(value, 'x', sizeof value);
    int n = 0;
    ml_writer recs;
    ml_writer_init(&recs, BATCH_BYTES);
    while (recs.len + RECORD_SIZE + 16 < BATCH_BYTES - 61) {
        ml_writer one;
        ml_writer_init(&one, 128);
        ml_write_i8(&one, 0);
        ml_write_varlong(&one, 0);
        ml_write_varint(&one, n);
        ml_write_varint(&one, -1);
        ml_write_varint(&one, RECORD_SIZE);
        ml_write_raw(&one, value, RECORD_SIZE);
        ml_write_varint(&one, 0);
        ml_write_varint(&recs, (int32_t)one.len);
        ml_write_raw(&recs, one.data, one.len);
        ml_writer_free(&one);
        n++;
    }
    int64_t ts = (int64_t)time(NULL) * 1000;
    ml_write_i64(w, 0);
    ml_write_i32(w, (int32_t)(49 + recs.len));
    ml_write_i32(w, 0);
    ml_write_i8(w, 2);
    size_t crc_at = w->len;
    ml_write_i32(w, 0);
    ml_write_i16(w, 0);
    ml_write_i32(w, n - 1);
    ml_write_i64(w, ts);
    ml_write_i64(w, ts);
    ml_write_i64(w, -1);
    ml_write_i16(w, -1);
    ml_write_i32(w, -1);
    ml_write_i32(w, n);
    ml_write_raw(w, recs.data, recs.len);
    ml_store_u32(w->data + crc_at, ml_crc32c(0, w->data + crc_at + 4, w->len - crc_at - 4));
    ml_writer_free(&recs);
    (void)start;
    return n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *mode, double bytes, double records, double secs, double *lat, size_t nlat) {
    qsort(lat, nlat, sizeof *lat, cmp_double);
    double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[nlat * 99 / 100] : 0,
           p999 = nlat ? lat[nlat * 999 / 1000] : 0;
    printf("%s MB/s=%.1f records/s=%.0f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f\n", mode, bytes / secs / 1e6,
           records / secs, p50 * 1e3, p99 * 1e3, p999 * 1e3);
}

static void create(const char *hp, const char *topic, int parts) {
    int fd = connect_to(hp);
    ml_writer w;
    ml_writer_init(&w, 256);
    header(&w, 19, 0, 1);
    ml_write_i32(&w, 1);
    ml_write_i16(&w, (int16_t)strlen(topic));
    ml_write_raw(&w, topic, strlen(topic));
    ml_write_i32(&w, parts);
    ml_write_i16(&w, 1);
    ml_write_i32(&w, 0);
    ml_write_i32(&w, 0);
    ml_write_i32(&w, 30000);
    finish(&w);
    send_all(fd, w.data, w.len);
    uint8_t *buf = NULL;
    size_t cap = 0;
    recv_frame(fd, &buf, &cap);
    free(buf);
    ml_writer_free(&w);
    close(fd);
}

static void produce(const char *hp, const char *topic, int parts, double secs, int inflight) {
    int fd = connect_to(hp);
    ml_writer batch;
    ml_writer_init(&batch, BATCH_BYTES + 1024);
    int per_batch = build_batch(&batch);
    ml_writer *reqs = calloc((size_t)parts, sizeof *reqs);
    for (int p = 0; p < parts; p++) {
        ml_writer *w = &reqs[p];
        ml_writer_init(w, BATCH_BYTES + 1024);
        header(w, 0, 3, p);
        ml_write_i16(w, -1);
        ml_write_i16(w, 1);
        ml_write_i32(w, 30000);
        ml_write_i32(w, 1);
        ml_write_i16(w, (int16_t)strlen(topic));
        ml_write_raw(w, topic, strlen(topic));
        ml_write_i32(w, 1);
        ml_write_i32(w, p);
        ml_write_i32(w, (int32_t)batch.len);
        ml_write_raw(w, batch.data, batch.len);
        finish(w);
    }
    size_t maxlat = 1 << 20, nlat = 0;
    double *lat = malloc(maxlat * sizeof *lat), *sent_at = calloc((size_t)inflight, sizeof(double));
    uint8_t *buf = NULL;
    size_t cap = 0;
    double start = now_s(), bytes = 0, records = 0;
    int next = 0, out = 0;
    size_t head = 0, tail = 0;
    while (1) {
        int stop = now_s() - start >= secs;
        while (!stop && out < inflight) {
            ml_writer *w = &reqs[next++ % parts];
            sent_at[tail++ % (size_t)inflight] = now_s();
            send_all(fd, w->data, w->len);
            out++;
        }
        if (!out) break;
        recv_frame(fd, &buf, &cap);
        out--;
        if (nlat < maxlat) lat[nlat++] = now_s() - sent_at[head % (size_t)inflight];
        head++;
        bytes += (double)batch.len;
        records += per_batch;
    }
    report("produce", bytes, records, now_s() - start, lat, nlat);
    close(fd);
}

/* Sums record counts of the batches in a Fetch v4 response and returns the last offset + 1. */
static void fetch(const char *hp, const char *topic, int parts, double secs) {
    int fd = connect_to(hp);
    int64_t *offsets = calloc((size_t)parts, sizeof *offsets);
    uint8_t *buf = NULL;
    size_t cap = 0, nlat = 0, maxlat = 1 << 20;
    double *lat = malloc(maxlat * sizeof *lat);
    double start = now_s(), bytes = 0, records = 0;
    int p = 0;
    while (now_s() - start < secs) {
        ml_writer w;
        ml_writer_init(&w, 256);
        header(&w, 1, 4, p);
        ml_write_i32(&w, -1);
        ml_write_i32(&w, 0);
        ml_write_i32(&w, 1);
        ml_write_i32(&w, 8 << 20);
        ml_write_i8(&w, 0);
        ml_write_i32(&w, 1);
        ml_write_i16(&w, (int16_t)strlen(topic));
        ml_write_raw(&w, topic, strlen(topic));
        ml_write_i32(&w, 1);
        ml_write_i32(&w, p);
        ml_write_i64(&w, offsets[p]);
        ml_write_i32(&w, 8 << 20);
        finish(&w);
        double t0 = now_s();
        send_all(fd, w.data, w.len);
        ml_writer_free(&w);
        size_t n = recv_frame(fd, &buf, &cap);
        if (nlat < maxlat) lat[nlat++] = now_s() - t0;
        ml_reader r;
        ml_reader_init(&r, buf, n);
        ml_read_i32(&r); /* correlation id */
        ml_read_i32(&r); /* throttle */
        ml_read_i32(&r);
        ml_reader_skip(&r, (size_t)ml_read_i16(&r));
        ml_read_i32(&r);
        ml_read_i32(&r);
        int16_t err = ml_read_i16(&r);
        int64_t hw = ml_read_i64(&r);
        ml_read_i64(&r);
        int32_t naborted = ml_read_i32(&r);
        if (naborted > 0) ml_reader_skip(&r, (size_t)naborted * 16);
        int32_t len = ml_read_i32(&r);
        if (r.err || err) {
            fprintf(stderr, "loadgen: fetch error %d\n", err);
            exit(1);
        }
        ml_slice recs = ml_read_raw(&r, len > 0 ? len : 0);
        int64_t last = offsets[p];
        for (int32_t at = 0; at + 61 <= recs.len;) {
            int64_t base = (int64_t)ml_load_u64(recs.ptr + at);
            int32_t blen = (int32_t)ml_load_u32(recs.ptr + at + 8);
            if (at + 12 + blen > recs.len) break;
            int32_t count = (int32_t)ml_load_u32(recs.ptr + at + 57);
            int32_t delta = (int32_t)ml_load_u32(recs.ptr + at + 23);
            records += count;
            bytes += 12 + blen;
            last = base + delta + 1;
            at += 12 + blen;
        }
        offsets[p] = last >= hw ? 0 : last;
        p = (p + 1) % parts;
    }
    report("fetch", bytes, records, now_s() - start, lat, nlat);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc >= 5 && strcmp(argv[1], "create") == 0) {
        create(argv[2], argv[3], atoi(argv[4]));
        return 0;
    }
    if (argc >= 6 && strcmp(argv[1], "produce") == 0) {
        produce(argv[2], argv[3], atoi(argv[4]), atof(argv[5]), argc > 6 ? atoi(argv[6]) : 4);
        return 0;
    }
    if (argc >= 6 && strcmp(argv[1], "fetch") == 0) {
        fetch(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
        return 0;
    }
    fprintf(stderr, "usage: loadgen create|produce|fetch HOST:PORT TOPIC PARTITIONS [SECONDS [INFLIGHT]]\n");
    return 2;
}
