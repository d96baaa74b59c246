/* The consumer's I/O thread: learns leaders (Metadata), resolves pending resets (ListOffsets),
 * and fetches ahead (Fetch) every assigned partition that has nothing queued, decoding each
 * response's batches (decompressed with core/common/codec.h) into chunks poll() hands out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client_error.h"
#include "client/consumer_assignor.h"
#include "client/consumer_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/codec.h"
#include "common/log.h"
#include "proto/fetch.h"
#include "proto/list_offsets.h"
#include "proto/metadata.h"
#include "proto/record_batch.h"

void ml_chunk_free(ml_chunk *ch) {
    if (!ch) return;
    free(ch->recs);
    free(ch->hdrs);
    free(ch->data);
    free(ch->topic);
    free(ch);
}

/* A connected node: the leader `id`, or (id < -1000) any node, bootstrap ones in turn. */
static ml_cnode *node_for(moonlog_consumer *c, int32_t id) {
    if (id >= 0) {
        ml_cnode *n = ml_cnode_find(c, id);
        return n && ml_cnode_connect(c, n) == 0 ? n : NULL;
    }
    for (int i = 0; i < c->n_nodes; i++) {
        ml_cnode *n = &c->nodes[(c->bootstrap_next + i) % c->n_nodes];
        if (ml_cnode_connect(c, n) == 0) return n;
    }
    c->bootstrap_next++;
    return NULL;
}

/* ---- Metadata ----------------------------------------------------------------------------- */

/* The leaders (and topic errors) of the assigned partitions a Metadata response names. */
static void apply_metadata(moonlog_consumer *c, const ml_metadata_response *m) {
    ml_cnodes_learn(c, m);
    int missing = 0;
    pthread_mutex_lock(&c->mu);
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) {
        ml_metadata_response_topic *mt = NULL;
        for (int32_t i = 0; i < m->n_topics; i++)
            if (ml_cslice_eq(m->topics[i].name, tp->topic)) mt = &m->topics[i];
        tp->leader = -1;
        if (!mt || mt->error_code == ML_KERR_LEADER_NOT_AVAILABLE) {
            missing++;
            continue;
        }
        if (mt->error_code != 0) {
            tp->error = mt->error_code;
            continue;
        }
        int found = 0;
        for (int32_t i = 0; i < mt->n_partitions; i++) {
            ml_metadata_response_partition *mp = &mt->partitions[i];
            if (mp->partition_index != tp->partition) continue;
            found = 1;
            if (mp->error_code == 0 || mp->leader_id >= 0) tp->leader = mp->leader_id;
            else missing++;
        }
        if (!found) tp->error = ML_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    c->metadata_wanted = missing > 0;
    if (c->tps) pthread_cond_broadcast(&c->data_cv);
    pthread_mutex_unlock(&c->mu);
    c->metadata_next_ms = ml_mono_ms() + (missing ? c->conf.retry_backoff_ms : c->conf.metadata_max_age_ms);
}

/* The distinct topics of the assignment, copied under c->mu: the application's thread may change
 * the assignment while the request is out. */
static char **assigned_topics(moonlog_consumer *c, int *n_out) {
    pthread_mutex_lock(&c->mu);
    int count = 0;
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) count++;
    char **topics = calloc((size_t)count + 1, sizeof *topics);
    int nt = 0;
    for (ml_ctp *tp = c->tps; tp && topics; tp = tp->next) {
        int dup = 0;
        for (int i = 0; i < nt; i++) dup |= strcmp(topics[i], tp->topic) == 0;
        if (!dup && (topics[nt] = strdup(tp->topic))) nt++;
    }
    pthread_mutex_unlock(&c->mu);
    *n_out = nt;
    return topics;
}

static void refresh_metadata(moonlog_consumer *c) {
    c->metadata_retry_ms = ml_mono_ms() + c->conf.retry_backoff_ms;
    ml_cnode *n = node_for(c, -2000);
    if (!n) return;
    int nt;
    char **topics = assigned_topics(c, &nt);
    ml_metadata_response m;
    ml_cresp resp;
    if (ml_cnode_metadata(c, n, (const char *const *)topics, nt, &m, &resp) == 0) {
        apply_metadata(c, &m);
        ml_cresp_free(&resp);
    }
    ml_strings_free(topics, nt);
}

int ml_fetcher_partition_counts(moonlog_consumer *c, char *const *topics, int n, int32_t *counts) {
    for (int k = 0; k < n; k++) counts[k] = -1;
    ml_cnode *nd = node_for(c, -2000);
    ml_metadata_response m;
    ml_cresp resp;
    if (!nd || ml_cnode_metadata(c, nd, (const char *const *)topics, n, &m, &resp) != 0) return -1;
    for (int32_t i = 0; i < m.n_topics; i++)
        for (int k = 0; k < n; k++)
            if (m.topics[i].error_code == 0 && ml_cslice_eq(m.topics[i].name, topics[k]))
                counts[k] = m.topics[i].n_partitions;
    ml_cresp_free(&resp);
    return 0;
}

/* ---- Work lists: copies of what to ask, taken under the lock ------------------------------- */

typedef struct ml_want {
    char *topic;
    int32_t partition;
    int64_t offset; /* fetch offset, or ListOffsets timestamp (-2 earliest, -1 latest) */
    uint64_t epoch;
} ml_want;

/* Whether a partition of `leader` still has records queued (under c->mu). */
static int leader_busy(moonlog_consumer *c, int32_t leader) {
    for (ml_ctp *tp = c->tps; tp; tp = tp->next)
        if (tp->leader == leader && tp->n_chunks > 0 && !tp->paused) return 1;
    return 0;
}

/* A partition is fetched when none of its records are queued and it is not paused. One already caught up waits while
 * another partition of its leader (`busy`) still has records queued: fetched alone it would hold
 * the leader's one connection for fetch.max.wait.ms, while the other, drained meanwhile, could not
 * be fetched (the tail of a topic read at a fraction of the rate). It goes with the next fetch. */
static int fetch_now(const ml_ctp *tp, int busy) {
    return tp->reset == ML_NO_RESET && tp->n_chunks == 0 && tp->fetch_offset >= 0 && !tp->paused && !tp->awaiting &&
           (!busy || tp->fetch_offset < tp->high_watermark);
}

/* The partitions led by `leader` that need a reset (resets = 1) or a fetch (resets = 0). */
static int collect(moonlog_consumer *c, int32_t leader, int resets, ml_want **out) {
    int n = 0, cap = 0;
    ml_want *w = NULL;
    int busy = !resets && leader_busy(c, leader);
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) {
        if (tp->leader != leader || tp->error) continue;
        int need = resets ? (tp->reset == ML_RESET_EARLIEST || tp->reset == ML_RESET_LATEST) : fetch_now(tp, busy);
        if (!need) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            ml_want *g = realloc(w, (size_t)cap * sizeof *g);
            if (!g) break;
            w = g;
        }
        w[n].topic = strdup(tp->topic);
        w[n].partition = tp->partition;
        w[n].offset = resets ? (tp->reset == ML_RESET_EARLIEST ? -2 : -1) : tp->fetch_offset;
        w[n].epoch = tp->epoch;
        n++;
    }
    *out = w;
    return n;
}

static void wants_free(ml_want *w, int n) {
    for (int i = 0; i < n; i++) free(w[i].topic);
    free(w);
}

static ml_ctp *find_tp(moonlog_consumer *c, const char *topic, int32_t partition) {
    for (ml_ctp *tp = c->tps; tp; tp = tp->next)
        if (tp->partition == partition && strcmp(tp->topic, topic) == 0) return tp;
    return NULL;
}

/* Groups wants by topic into request arrays (topics[i] gets a contiguous run of parts). */
static int group_topics(ml_want *w, int n, int **order) {
    int *o = malloc((size_t)(n ? n : 1) * sizeof *o), k = 0;
    char *used = calloc((size_t)(n ? n : 1), 1);
    int nt = 0;
    for (int i = 0; o && used && i < n; i++) {
        if (used[i]) continue;
        nt++;
        for (int j = i; j < n; j++)
            if (!used[j] && strcmp(w[j].topic, w[i].topic) == 0) {
                used[j] = 1;
                o[k++] = j;
            }
    }
    free(used);
    *order = o;
    return o ? nt : -1;
}

/* A retriable partition error: forget the leader, ask metadata again. */
static void leader_lost(moonlog_consumer *c, ml_ctp *tp) {
    tp->leader = -1;
    c->metadata_wanted = 1;
    c->metadata_next_ms = ml_mono_ms() + c->conf.retry_backoff_ms;
}

/* ---- ListOffsets --------------------------------------------------------------------------- */

/* A topic name of a response as a C string in `name` (256 bytes); 0, or -1 when it does not fit. */
static int topic_name(ml_slice s, char *name) {
    if (s.len < 0 || s.len >= 256) return -1;
    memcpy(name, s.ptr, (size_t)s.len);
    name[s.len] = 0;
    return 0;
}

/* The asked entry of w for topic-partition (NULL when not asked). */
static const ml_want *asked(const ml_want *w, int nw, const char *topic, int32_t partition) {
    const ml_want *x = NULL;
    for (int k = 0; k < nw; k++)
        if (w[k].partition == partition && strcmp(w[k].topic, topic) == 0) x = &w[k];
    return x;
}

/* ListOffsets' answers for the partitions asked, unless a seek or reassignment came since. */
static void apply_offsets(moonlog_consumer *c, const ml_list_offsets_response *m, const ml_want *w, int nw) {
    pthread_mutex_lock(&c->mu);
    for (int32_t i = 0; i < m->n_topics; i++)
        for (int32_t j = 0; j < m->topics[i].n_partitions; j++) {
            const ml_list_offsets_partition_response *pr = &m->topics[i].partitions[j];
            char name[256];
            if (topic_name(m->topics[i].name, name) != 0) continue;
            ml_ctp *tp = find_tp(c, name, pr->partition_index);
            const ml_want *x = asked(w, nw, name, pr->partition_index);
            if (!tp || !x || tp->epoch != x->epoch) continue;
            if (pr->error_code == 0) {
                tp->position = tp->fetch_offset = pr->offset;
                tp->reset = ML_NO_RESET;
            } else if (ml_error_retriable(pr->error_code)) {
                leader_lost(c, tp);
            } else {
                tp->error = pr->error_code;
            }
        }
    pthread_cond_broadcast(&c->data_cv);
    pthread_mutex_unlock(&c->mu);
}

static void resolve_resets(moonlog_consumer *c, ml_cnode *n, ml_want *w, int nw) {
    int *o;
    int nt = group_topics(w, nw, &o);
    ml_list_offsets_topic *topics = calloc((size_t)(nt > 0 ? nt : 1), sizeof *topics);
    ml_list_offsets_partition *parts = calloc((size_t)nw, sizeof *parts);
    if (nt < 0 || !topics || !parts) goto out;
    int t = -1;
    for (int k = 0; k < nw; k++) {
        ml_want *x = &w[o[k]];
        if (t < 0 || !ml_cslice_eq(topics[t].name, x->topic)) {
            t++;
            topics[t].name = ml_cslice(x->topic);
            topics[t].partitions = &parts[k];
        }
        ml_list_offsets_partition_init(&parts[k]);
        parts[k].partition_index = x->partition;
        parts[k].timestamp = x->offset;
        topics[t].n_partitions++;
    }
    ml_list_offsets_request req;
    ml_list_offsets_request_init(&req);
    req.replica_id = -1;
    req.isolation_level = (int8_t)c->conf.isolation_level;
    req.topics = topics;
    req.n_topics = nt;
    ml_writer body;
    ml_writer_init(&body, 256);
    int16_t v = n->v_list_offsets;
    ml_list_offsets_request_encode(&body, v, &req);
    ml_cresp resp;
    int rc = ml_cnode_call(c, n, ML_API_LIST_OFFSETS_KEY, v, ML_API_LIST_OFFSETS_FLEX, &body, &resp);
    ml_writer_free(&body);
    if (rc != 0) goto out;
    ml_list_offsets_response m;
    if (ml_list_offsets_response_decode(&resp.r, v, &resp.arena, &m) != 0)
        ml_warn("consumer: ListOffsets v%d response does not decode", v);
    else apply_offsets(c, &m, w, nw);
    ml_cresp_free(&resp);
out:
    free(o);
    free(topics);
    free(parts);
}

/* ---- Fetch --------------------------------------------------------------------------------- */

typedef struct ml_chunk_builder {
    ml_writer data;
    moonlog_consumer_record *recs;
    int32_t n, cap;
    moonlog_header *hdrs;
    int32_t nh, caph;
} ml_chunk_builder;

static size_t put(ml_chunk_builder *b, const uint8_t *p, int32_t len, int nul) {
    size_t at = b->data.len;
    ml_write_raw(&b->data, p, (size_t)len);
    if (nul) ml_write_i8(&b->data, 0);
    return at;
}

static int add_record(ml_chunk_builder *b, const ml_record *rec, int ts_type, ml_err *err) {
    if (b->n == b->cap) {
        int32_t cap = b->cap ? b->cap * 2 : 64;
        moonlog_consumer_record *g = realloc(b->recs, (size_t)cap * sizeof *g);
        if (!g) return ml_err_set(err, ML_ENOMEM, "out of memory");
        b->recs = g;
        b->cap = cap;
    }
    moonlog_consumer_record *r = &b->recs[b->n];
    memset(r, 0, sizeof *r);
    r->offset = rec->offset;
    r->timestamp = rec->timestamp;
    r->timestamp_type = ts_type;
    /* pointers hold offsets into the data (+1, 0 = NULL) until the chunk is finished */
    r->key_len = rec->key.len;
    if (rec->key.len >= 0) r->key = (const void *)(uintptr_t)(put(b, rec->key.ptr, rec->key.len, 0) + 1);
    r->value_len = rec->value.len;
    if (rec->value.len >= 0) r->value = (const void *)(uintptr_t)(put(b, rec->value.ptr, rec->value.len, 0) + 1);
    r->n_headers = rec->n_headers;
    r->headers = (const moonlog_header *)(uintptr_t)b->nh;
    ml_reader hr;
    ml_reader_init(&hr, rec->headers.ptr, (size_t)rec->headers.len);
    for (int32_t i = 0; i < rec->n_headers; i++) {
        ml_slice k, v;
        if (ml_record_header_next(&hr, &k, &v, err) != 0) return ML_ECORRUPT;
        if (b->nh == b->caph) {
            int32_t cap = b->caph ? b->caph * 2 : 16;
            moonlog_header *g = realloc(b->hdrs, (size_t)cap * sizeof *g);
            if (!g) return ml_err_set(err, ML_ENOMEM, "out of memory");
            b->hdrs = g;
            b->caph = cap;
        }
        moonlog_header *h = &b->hdrs[b->nh++];
        h->key = (const char *)(uintptr_t)(put(b, k.ptr, k.len, 1) + 1);
        h->value_len = v.len;
        h->value = v.len >= 0 ? (const void *)(uintptr_t)(put(b, v.ptr, v.len, 0) + 1) : NULL;
    }
    b->n++;
    return b->data.err ? ml_err_set(err, ML_ENOMEM, "out of memory") : 0;
}

/* Decodes the records of one batch with offset >= `from`; a compressed batch is decompressed
 * behind a copy of its header. */
static int decode_batch(ml_chunk_builder *b, const uint8_t *p, const ml_record_batch_hdr *h, int64_t from,
                        int32_t max_bytes, ml_err *err) {
    int codec = h->attributes & ML_RB_ATTR_CODEC_MASK;
    int ts_type = (h->attributes & ML_RB_ATTR_LOG_APPEND_TIME) ? MOONLOG_TIMESTAMP_LOG_APPEND_TIME
                                                              : MOONLOG_TIMESTAMP_CREATE_TIME;
    ml_writer plain;
    ml_writer_init(&plain, 0);
    const uint8_t *batch = p;
    size_t size = ml_record_batch_size(h);
    if (codec != ML_CODEC_NONE) {
        ml_writer_init(&plain, size * 4 + ML_RB_HEADER_SIZE);
        ml_write_raw(&plain, p, ML_RB_HEADER_SIZE);
        size_t max_out = (size_t)max_bytes * 64 + (64u << 20);
        int rc = ml_codec_decompress(codec, p + ML_RB_HEADER_SIZE, size - ML_RB_HEADER_SIZE, max_out, &plain, err);
        if (rc != 0 || plain.err) {
            ml_writer_free(&plain);
            return rc ? rc : ml_err_set(err, ML_ENOMEM, "out of memory");
        }
        ml_store_u32(plain.data + ML_RB_OFF_LENGTH, (uint32_t)(plain.len - ML_RB_LOG_OVERHEAD));
        ml_store_u16(plain.data + ML_RB_OFF_ATTRIBUTES, (uint16_t)(h->attributes & ~ML_RB_ATTR_CODEC_MASK));
        batch = plain.data;
        size = plain.len;
    }
    ml_record_iter it;
    ml_record rec;
    int rc = ml_record_iter_init(&it, batch, size, err);
    while (rc == 0 && (rc = ml_record_iter_next(&it, &rec, err)) == 1) {
        rc = 0;
        if (rec.offset >= from) rc = add_record(b, &rec, ts_type, err);
    }
    ml_writer_free(&plain);
    return rc;
}

/* The chunk of one partition's records (NULL when none); *next_offset is past the last batch. */
static ml_chunk *decode_partition(ml_slice records, int64_t from, int32_t max_bytes, int64_t *next_offset,
                                  ml_err *err) {
    ml_chunk_builder b;
    memset(&b, 0, sizeof b);
    ml_writer_init(&b.data, records.len > 0 ? (size_t)records.len : 16);
    const uint8_t *p = records.ptr;
    size_t left = records.len > 0 ? (size_t)records.len : 0;
    int rc = 0;
    while (left >= ML_RB_HEADER_SIZE) {
        ml_record_batch_hdr h;
        if (ml_record_batch_parse_header(p, left, &h, err) != 0) {
            rc = ML_ECORRUPT;
            break;
        }
        size_t size = ml_record_batch_size(&h);
        if (size > left) break; /* a partial batch at the end: fetched again next time */
        if ((rc = ml_record_batch_parse(p, size, &h, err)) != 0) break;
        if (!(h.attributes & ML_RB_ATTR_CONTROL) && (rc = decode_batch(&b, p, &h, from, max_bytes, err)) != 0) break;
        if (ml_record_batch_last_offset(&h) + 1 > *next_offset) *next_offset = ml_record_batch_last_offset(&h) + 1;
        p += size;
        left -= size;
    }
    ml_chunk *ch = NULL;
    if (rc == 0 && b.n > 0 && (ch = calloc(1, sizeof *ch))) {
        ch->data = ml_writer_steal(&b.data, &(size_t){0});
        for (int32_t i = 0; i < b.n; i++) {
            moonlog_consumer_record *r = &b.recs[i];
            if (r->key) r->key = ch->data + (uintptr_t)r->key - 1;
            if (r->value) r->value = ch->data + (uintptr_t)r->value - 1;
            r->headers = r->n_headers ? b.hdrs + (uintptr_t)r->headers : NULL;
        }
        for (int32_t i = 0; i < b.nh; i++) {
            b.hdrs[i].key = (const char *)ch->data + (uintptr_t)b.hdrs[i].key - 1;
            if (b.hdrs[i].value) b.hdrs[i].value = ch->data + (uintptr_t)b.hdrs[i].value - 1;
        }
        ch->recs = b.recs;
        ch->hdrs = b.hdrs;
        ch->n = b.n;
        return ch;
    }
    if (rc != 0 && err->code == 0) ml_err_set(err, rc, "record batch does not decode");
    ml_writer_free(&b.data);
    free(b.recs);
    free(b.hdrs);
    return NULL;
}

static void handle_partition(moonlog_consumer *c, const char *topic, const ml_partition_data *pd, const ml_want *x) {
    ml_err e = {0};
    int64_t next = x->offset;
    ml_chunk *ch = NULL;
    if (pd->error_code == 0)
        ch = decode_partition(pd->records, x->offset, c->conf.max_partition_fetch_bytes, &next, &e);
    pthread_mutex_lock(&c->mu);
    ml_ctp *tp = find_tp(c, topic, x->partition);
    if (!tp || tp->epoch != x->epoch || tp->fetch_offset != x->offset) {
        ml_chunk_free(ch); /* a seek or a reassignment happened meanwhile */
    } else if (pd->error_code == ML_KERR_OFFSET_OUT_OF_RANGE && c->conf.auto_offset_reset != ML_RESET_NONE) {
        tp->reset = c->conf.auto_offset_reset;
        tp->position = -1;
        tp->epoch++;
    } else if (pd->error_code != 0) {
        if (ml_error_retriable(pd->error_code)) leader_lost(c, tp);
        else tp->error = pd->error_code;
    } else if (e.code != 0) {
        ml_warn("consumer: %s-%d at %lld: %s", topic, x->partition, (long long)x->offset, e.msg);
        tp->error = ML_KERR_CORRUPT_MESSAGE;
    } else {
        tp->fetch_offset = next;
        tp->high_watermark = pd->high_watermark;
        if (ch) {
            ch->tp = tp;
            ch->epoch = tp->epoch;
            ch->topic = strdup(topic);
            for (int32_t i = 0; i < ch->n; i++) {
                ch->recs[i].topic = ch->topic;
                ch->recs[i].partition = tp->partition;
            }
            tp->n_chunks++;
            if (c->tail) c->tail->next = ch;
            else c->head = ch;
            c->tail = ch;
        }
    }
    pthread_cond_broadcast(&c->data_cv);
    pthread_mutex_unlock(&c->mu);
}

static void fetch(moonlog_consumer *c, ml_cnode *n, ml_want *w, int nw) {
    int *o;
    int nt = group_topics(w, nw, &o);
    ml_fetch_topic *topics = calloc((size_t)(nt > 0 ? nt : 1), sizeof *topics);
    ml_fetch_partition *parts = calloc((size_t)nw, sizeof *parts);
    if (nt < 0 || !topics || !parts) goto out;
    int t = -1;
    for (int k = 0; k < nw; k++) {
        ml_want *x = &w[o[k]];
        if (t < 0 || !ml_cslice_eq(topics[t].topic, x->topic)) {
            t++;
            topics[t].topic = ml_cslice(x->topic);
            topics[t].partitions = &parts[k];
        }
        ml_fetch_partition_init(&parts[k]);
        parts[k].partition = x->partition;
        parts[k].fetch_offset = x->offset;
        parts[k].partition_max_bytes = c->conf.max_partition_fetch_bytes;
        topics[t].n_partitions++;
    }
    ml_fetch_request req;
    ml_fetch_request_init(&req);
    req.replica_id = -1;
    req.max_wait_ms = c->conf.fetch_max_wait_ms;
    req.min_bytes = c->conf.fetch_min_bytes;
    req.max_bytes = c->conf.fetch_max_bytes;
    req.isolation_level = (int8_t)c->conf.isolation_level;
    req.session_id = 0;
    req.session_epoch = -1;
    req.topics = topics;
    req.n_topics = nt;
    ml_writer body;
    ml_writer_init(&body, 256);
    int16_t v = n->v_fetch;
    ml_fetch_request_encode(&body, v, &req);
    atomic_fetch_add(&c->n_fetches, 1);
    ml_cresp resp;
    int rc = ml_cnode_call(c, n, ML_API_FETCH_KEY, v, ML_API_FETCH_FLEX, &body, &resp);
    ml_writer_free(&body);
    if (rc != 0) {
        pthread_mutex_lock(&c->mu);
        for (int k = 0; k < nw; k++) {
            ml_ctp *tp = find_tp(c, w[k].topic, w[k].partition);
            if (tp) leader_lost(c, tp);
        }
        pthread_mutex_unlock(&c->mu);
        goto out;
    }
    atomic_fetch_add(&c->n_bytes, (int64_t)ml_reader_left(&resp.r));
    ml_fetch_response m;
    if (ml_fetch_response_decode(&resp.r, v, &resp.arena, &m) != 0) {
        ml_warn("consumer: Fetch v%d response does not decode (at byte %zu)", v, ml_reader_offset(&resp.r));
    } else {
        for (int32_t i = 0; i < m.n_responses; i++) {
            char name[256];
            if (topic_name(m.responses[i].topic, name) != 0) continue;
            for (int32_t j = 0; j < m.responses[i].n_partitions; j++) {
                ml_partition_data *pd = &m.responses[i].partitions[j];
                const ml_want *x = asked(w, nw, name, pd->partition_index);
                if (x) handle_partition(c, name, pd, x);
            }
        }
    }
    ml_cresp_free(&resp);
out:
    free(o);
    free(topics);
    free(parts);
}

/* ---- The loop ------------------------------------------------------------------------------ */

/* Leaders of assigned partitions with work of the given kind (under c->mu). */
static int leaders_with_work(moonlog_consumer *c, int resets, int32_t *out, int max) {
    int n = 0, nb = 0;
    int32_t busy[64];
    for (ml_ctp *tp = c->tps; tp && !resets; tp = tp->next) {
        int dup = 0;
        for (int i = 0; i < nb; i++) dup |= busy[i] == tp->leader;
        if (tp->n_chunks > 0 && !tp->paused && !dup && nb < 64) busy[nb++] = tp->leader;
    }
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) {
        if (tp->error) continue;
        int is_busy = 0;
        for (int i = 0; i < nb; i++) is_busy |= busy[i] == tp->leader;
        int need = resets ? (tp->reset == ML_RESET_EARLIEST || tp->reset == ML_RESET_LATEST) : fetch_now(tp, is_busy);
        if (!need) continue;
        if (tp->leader < 0) {
            c->metadata_wanted = 1; /* looked up within retry.backoff.ms (metadata_retry_ms) */
            continue;
        }
        int dup = 0;
        for (int i = 0; i < n; i++) dup |= out[i] == tp->leader;
        if (!dup && n < max) out[n++] = tp->leader;
    }
    return n;
}

/* The resets (resets = 1) or fetches due at `leader`; a leader that does not answer loses its
 * partitions' leadership until the next Metadata. */
static void work_at(moonlog_consumer *c, int32_t leader, int resets) {
    ml_cnode *n = node_for(c, leader);
    pthread_mutex_lock(&c->mu);
    ml_want *w;
    int nw = n ? collect(c, leader, resets, &w) : 0;
    if (!n)
        for (ml_ctp *tp = c->tps; tp; tp = tp->next)
            if (tp->leader == leader) leader_lost(c, tp);
    pthread_mutex_unlock(&c->mu);
    if (nw > 0 && resets) resolve_resets(c, n, w, nw);
    else if (nw > 0) fetch(c, n, w, nw);
    if (n) wants_free(w, nw);
}

static void *io_main(void *arg) {
    moonlog_consumer *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        if (c->stopping) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        int32_t reset_leaders[64], fetch_leaders[64];
        int nr = leaders_with_work(c, 1, reset_leaders, 64);
        int nf = leaders_with_work(c, 0, fetch_leaders, 64);
        int64_t now = ml_mono_ms();
        int meta = c->tps && (c->metadata_wanted || now >= c->metadata_next_ms);
        /* a partition assigned after the last refresh needs its leader now, not at the next
         * periodic refresh: wanted refreshes wait only retry.backoff.ms after the previous one */
        int meta_due = c->tps && (now >= c->metadata_next_ms || (c->metadata_wanted && now >= c->metadata_retry_ms));
        if (meta && !meta_due && !nr && !nf) meta = 0;
        int grp = ml_group_has_work(c);
        if (!nr && !nf && !meta && !grp) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 100 * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&c->io_cv, &c->mu, &ts);
            pthread_mutex_unlock(&c->mu);
            continue;
        }
        pthread_mutex_unlock(&c->mu);
        if (grp) ml_group_run(c);
        if (meta_due) refresh_metadata(c);
        else if (meta) {
            struct timespec d = {0, 10 * 1000000};
            nanosleep(&d, NULL);
        }
        for (int i = 0; i < nr; i++) work_at(c, reset_leaders[i], 1);
        for (int i = 0; i < nf; i++) work_at(c, fetch_leaders[i], 0);
    }
    return NULL;
}

int ml_fetcher_start(moonlog_consumer *c, moonlog_error *err) {
    if (pthread_create(&c->thread, NULL, io_main, c) != 0)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "cannot start the I/O thread");
    c->thread_started = 1;
    return 0;
}

void ml_fetcher_stop(moonlog_consumer *c) {
    if (!c->thread_started) return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_broadcast(&c->io_cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    c->thread_started = 0;
    for (int i = 0; i < c->n_nodes; i++) ml_cnode_close(&c->nodes[i]);
}
