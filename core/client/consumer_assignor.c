/* The consumer protocol's standard encodings (ConsumerProtocolSubscription and
 * ConsumerProtocolAssignment, version 0, as the Java client and librdkafka write them) and the
 * built-in "range" assignor: per topic, the members subscribed to it sorted by member id, each
 * given a contiguous range of n / m partitions and the first n % m members one more. */
#include <stdlib.h>
#include <string.h>

#include "client/consumer_assignor.h"

static void write_str(ml_writer *w, const char *s, size_t n) {
    ml_write_i16(w, (int16_t)n);
    ml_write_raw(w, s, n);
}

void ml_subscription_encode(ml_writer *w, char *const *topics, int n) {
    ml_write_i16(w, 0);
    ml_write_i32(w, n);
    for (int i = 0; i < n; i++) write_str(w, topics[i], strlen(topics[i]));
    ml_write_i32(w, -1); /* user data: null */
}

static char *read_str(ml_reader *r) {
    int16_t n = ml_read_i16(r);
    if (n < 0) return NULL;
    ml_slice s = ml_read_raw(r, n);
    if (r->err) return NULL;
    char *out = malloc((size_t)n + 1);
    if (!out) return NULL;
    memcpy(out, s.ptr, (size_t)n);
    out[n] = 0;
    return out;
}

int ml_subscription_decode(const uint8_t *p, size_t len, char ***topics, int *n) {
    ml_reader r;
    ml_reader_init(&r, p, len);
    ml_read_i16(&r); /* version: later versions only add fields after these */
    int32_t cnt = ml_read_i32(&r);
    *topics = NULL;
    *n = 0;
    if (r.err || cnt < 0 || cnt > 100000) return -1;
    char **t = calloc((size_t)cnt + 1, sizeof *t);
    if (!t) return -1;
    for (int32_t i = 0; i < cnt; i++) {
        if (!(t[i] = read_str(&r))) {
            ml_strings_free(t, i);
            return -1;
        }
    }
    *topics = t;
    *n = cnt;
    return 0;
}

void ml_strings_free(char **s, int n) {
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

int ml_assignment_decode(const uint8_t *p, size_t len, moonlog_topic_partition **out, int *n) {
    ml_reader r;
    ml_reader_init(&r, p, len);
    *out = NULL;
    *n = 0;
    if (len == 0) return 0; /* an empty assignment */
    ml_read_i16(&r);
    int32_t nt = ml_read_i32(&r);
    if (r.err || nt < 0 || nt > 100000) return -1;
    int cap = 0, k = 0;
    moonlog_topic_partition *a = NULL;
    for (int32_t i = 0; i < nt; i++) {
        char *topic = read_str(&r);
        int32_t np = ml_read_i32(&r);
        if (!topic || r.err || np < 0 || np > 1000000) {
            free(topic);
            goto bad;
        }
        for (int32_t j = 0; j < np; j++) {
            if (k == cap) {
                cap = cap ? cap * 2 : 16;
                moonlog_topic_partition *g = realloc(a, (size_t)cap * sizeof *g);
                if (!g) {
                    free(topic);
                    goto bad;
                }
                a = g;
            }
            a[k].topic = j == 0 ? topic : strdup(topic);
            a[k].partition = ml_read_i32(&r);
            if (!a[k].topic) goto bad;
            k++;
        }
        if (np == 0) free(topic);
    }
    if (r.err) goto bad;
    *out = a;
    *n = k;
    return 0;
bad:
    for (int i = 0; i < k; i++) free((char *)a[i].topic);
    free(a);
    return -1;
}

static int cmp_members(const void *x, const void *y) {
    const ml_member *a = *(const ml_member *const *)x, *b = *(const ml_member *const *)y;
    return strcmp(a->member_id, b->member_id);
}

int ml_range_assign(ml_member *members, int n_members, char *const *topics, const int32_t *counts, int n_topics) {
    ml_member **subs = malloc((size_t)(n_members ? n_members : 1) * sizeof *subs);
    if (!subs) return -1;
    for (int i = 0; i < n_members; i++) ml_writer_init(&members[i].assignment, 64);
    /* per member: topic -> partitions in `owned`, wrapped once every topic is assigned */
    for (int t = 0; t < n_topics; t++) {
        int m = 0;
        for (int i = 0; i < n_members; i++)
            for (int j = 0; j < members[i].n_topics; j++)
                if (strcmp(members[i].topics[j], topics[t]) == 0) {
                    subs[m++] = &members[i];
                    break;
                }
        if (m == 0 || counts[t] <= 0) continue;
        qsort(subs, (size_t)m, sizeof *subs, cmp_members);
        int32_t per = counts[t] / m, extra = counts[t] % m, p = 0;
        for (int k = 0; k < m; k++) {
            int32_t take = per + (k < extra ? 1 : 0);
            ml_member *mb = subs[k];
            if (take == 0) continue;
            mb->n_owned++;
            ml_writer *w = &mb->owned;
            if (mb->n_owned == 1) ml_writer_init(w, 64);
            write_str(w, topics[t], strlen(topics[t]));
            ml_write_i32(w, take);
            for (int32_t q = 0; q < take; q++) ml_write_i32(w, p++);
        }
    }
    free(subs);
    for (int i = 0; i < n_members; i++) {
        ml_writer *w = &members[i].assignment;
        ml_write_i16(w, 0);
        ml_write_i32(w, members[i].n_owned);
        if (members[i].n_owned) ml_write_raw(w, members[i].owned.data, members[i].owned.len);
        ml_write_i32(w, -1); /* user data: null */
        if (members[i].n_owned) ml_writer_free(&members[i].owned);
        if (w->err) return -1;
    }
    return 0;
}
