/* The consumer protocol's standard encodings (ConsumerProtocolSubscription and
 * ConsumerProtocolAssignment, from Kafka's JSON definitions of the same names), so that a
 * moonlog member, a Java one and a librdkafka one read each other's JoinGroup metadata and
 * SyncGroup assignments whichever of them leads. */
#include <stdlib.h>
#include <string.h>

#include "client/consumer_assignor.h"

static void write_str(ml_writer *w, const char *s, size_t n) {
    ml_write_i16(w, (int16_t)n);
    ml_write_raw(w, s, n);
}

void ml_subscription_encode(ml_writer *w, char *const *topics, int n, const void *user_data, int32_t user_data_len) {
    ml_write_i16(w, 1);
    ml_write_i32(w, n);
    for (int i = 0; i < n; i++) write_str(w, topics[i], strlen(topics[i]));
    ml_write_i32(w, user_data ? user_data_len : -1);
    if (user_data && user_data_len > 0) ml_write_raw(w, user_data, (size_t)user_data_len);
    ml_write_i32(w, 0); /* owned partitions: none (see the header) */
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

void ml_strings_free(char **s, int n) {
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

void ml_tps_free(moonlog_topic_partition *tps, int n) {
    for (int i = 0; tps && i < n; i++) free((char *)tps[i].topic);
    free(tps);
}

/* topic (string), partitions ([]int32), `nt` times: appended to *a. 0 or -1. */
static int read_topic_partitions(ml_reader *r, int32_t nt, moonlog_topic_partition **a, int *k) {
    int cap = *k;
    for (int32_t i = 0; i < nt; i++) {
        char *topic = read_str(r);
        int32_t np = ml_read_i32(r);
        if (!topic || r->err || np < 0 || np > 1000000) {
            free(topic);
            return -1;
        }
        for (int32_t j = 0; j < np; j++) {
            if (*k == cap) {
                cap = cap ? cap * 2 : 16;
                moonlog_topic_partition *g = realloc(*a, (size_t)cap * sizeof *g);
                if (!g) {
                    if (j == 0) free(topic);
                    return -1;
                }
                *a = g;
            }
            moonlog_topic_partition *x = &(*a)[*k];
            x->topic = j == 0 ? topic : strdup(topic);
            x->partition = ml_read_i32(r);
            if (!x->topic) return -1;
            (*k)++;
        }
        if (np == 0) free(topic);
    }
    return r->err ? -1 : 0;
}

int ml_subscription_decode(const uint8_t *p, size_t len, ml_subscription *s) {
    memset(s, 0, sizeof *s);
    s->user_data.len = -1;
    s->generation = -1;
    ml_reader r;
    ml_reader_init(&r, p, len);
    int16_t version = ml_read_i16(&r); /* a later version than 3 is read as 3, as Java does */
    int32_t cnt = ml_read_i32(&r);
    if (r.err || version < 0 || cnt < 0 || cnt > 100000) return -1;
    if (!(s->topics = calloc((size_t)cnt + 1, sizeof *s->topics))) return -1;
    for (int32_t i = 0; i < cnt; i++) {
        if (!(s->topics[i] = read_str(&r))) goto bad;
        s->n_topics++;
    }
    int32_t ud = ml_read_i32(&r);
    if (ud >= 0) s->user_data = ml_read_raw(&r, ud);
    if (r.err) goto bad;
    if (version >= 1 && ml_reader_left(&r) > 0) {
        int32_t nt = ml_read_i32(&r);
        if (r.err || nt < 0 || nt > 100000 || read_topic_partitions(&r, nt, &s->owned, &s->n_owned) != 0) goto bad;
    }
    if (version >= 2 && ml_reader_left(&r) >= 4) s->generation = ml_read_i32(&r);
    return 0;
bad:
    ml_subscription_free(s);
    return -1;
}

void ml_subscription_free(ml_subscription *s) {
    ml_strings_free(s->topics, s->n_topics);
    ml_tps_free(s->owned, s->n_owned);
    memset(s, 0, sizeof *s);
}

void ml_assignment_encode(ml_writer *w, const moonlog_topic_partition *tps, int n) {
    ml_write_i16(w, 0);
    size_t count_at = w->len;
    ml_write_i32(w, 0);
    int32_t nt = 0;
    char *done = calloc((size_t)(n ? n : 1), 1);
    if (!done) {
        w->err = 1;
        return;
    }
    for (int i = 0; i < n; i++) {
        if (done[i]) continue;
        int32_t np = 0;
        for (int j = i; j < n; j++) np += strcmp(tps[j].topic, tps[i].topic) == 0;
        write_str(w, tps[i].topic, strlen(tps[i].topic));
        ml_write_i32(w, np);
        for (int j = i; j < n; j++)
            if (!done[j] && strcmp(tps[j].topic, tps[i].topic) == 0) {
                done[j] = 1;
                ml_write_i32(w, tps[j].partition);
            }
        nt++;
    }
    free(done);
    ml_write_i32(w, -1); /* user data: null */
    if (!w->err) {
        uint8_t *q = w->data + count_at;
        q[0] = (uint8_t)(nt >> 24);
        q[1] = (uint8_t)(nt >> 16);
        q[2] = (uint8_t)(nt >> 8);
        q[3] = (uint8_t)nt;
    }
}

int ml_assignment_decode(const uint8_t *p, size_t len, moonlog_topic_partition **out, int *n, ml_slice *user_data) {
    *out = NULL;
    *n = 0;
    if (user_data) *user_data = (ml_slice){NULL, -1};
    if (len == 0) return 0; /* an empty assignment */
    ml_reader r;
    ml_reader_init(&r, p, len);
    ml_read_i16(&r);
    int32_t nt = ml_read_i32(&r);
    if (r.err || nt < 0 || nt > 100000) return -1;
    moonlog_topic_partition *a = NULL;
    int k = 0;
    if (read_topic_partitions(&r, nt, &a, &k) != 0) {
        ml_tps_free(a, k);
        return -1;
    }
    if (ml_reader_left(&r) >= 4) {
        int32_t ud = ml_read_i32(&r);
        ml_slice s = ud >= 0 ? ml_read_raw(&r, ud) : (ml_slice){NULL, -1};
        if (r.err) {
            ml_tps_free(a, k);
            return -1;
        }
        if (user_data) *user_data = s;
    }
    *out = a;
    *n = k;
    return 0;
}
