#include "broker/offsets_topic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/group_coordinator.h"
#include "common/log.h"
#include "proto/record_batch.h"
#include "storage/log_manager.h"

enum { KEY_COMMIT_V0 = 0, KEY_COMMIT_V1 = 1, KEY_GROUP_V2 = 2 };

/* Java's String.hashCode over the UTF-16 code units of a UTF-8 string (ASCII: one unit a byte). */
static int32_t java_hash(const char *s, int32_t len) {
    uint32_t h = 0;
    const uint8_t *p = (const uint8_t *)s, *end = p + len;
    while (p < end) {
        uint32_t cp = *p++;
        int more = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : 0;
        if (more) cp &= 0x3fu >> more;
        for (; more > 0 && p < end; more--) cp = (cp << 6) | (*p++ & 0x3f);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = h * 31 + (0xd800 + (cp >> 10));
            h = h * 31 + (0xdc00 + (cp & 0x3ff));
        } else {
            h = h * 31 + cp;
        }
    }
    return (int32_t)h;
}

int32_t ml_offsets_partition_for(const char *group, int32_t len, int32_t n_partitions) {
    int32_t h = java_hash(group, len);
    int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return n_partitions > 0 ? a % n_partitions : 0;
}

static void write_str(ml_writer *w, const char *s) {
    if (!s) {
        ml_write_i16(w, -1);
        return;
    }
    size_t n = strlen(s);
    ml_write_i16(w, (int16_t)n);
    ml_write_raw(w, s, n);
}

static void write_bytes(ml_writer *w, const uint8_t *p, int32_t n) {
    ml_write_i32(w, p ? n : -1);
    if (p && n > 0) ml_write_raw(w, p, (size_t)n);
}

void ml_offsets_commit_key(ml_writer *w, const char *group, const char *topic, int32_t partition) {
    ml_write_i16(w, KEY_COMMIT_V1);
    write_str(w, group);
    write_str(w, topic);
    ml_write_i32(w, partition);
}

void ml_offsets_commit_value(ml_writer *w, int64_t offset, int32_t leader_epoch, const char *metadata,
                             int64_t commit_ts) {
    ml_write_i16(w, 3);
    ml_write_i64(w, offset);
    ml_write_i32(w, leader_epoch);
    write_str(w, metadata ? metadata : "");
    ml_write_i64(w, commit_ts);
}

void ml_offsets_group_key(ml_writer *w, const char *group) {
    ml_write_i16(w, KEY_GROUP_V2);
    write_str(w, group);
}

/* The subscription stored for a member is its metadata for the group's chosen protocol. */
static const ml_group_protocol *chosen(const ml_group *g, const ml_group_member *m) {
    for (int i = 0; i < m->n_protocols; i++)
        if (g->protocol_name && strcmp(m->protocols[i].name, g->protocol_name) == 0) return &m->protocols[i];
    return NULL;
}

void ml_offsets_group_value(ml_writer *w, const ml_group *g) {
    ml_write_i16(w, 3);
    write_str(w, g->protocol_type ? g->protocol_type : "");
    ml_write_i32(w, g->generation);
    write_str(w, g->protocol_name);
    write_str(w, g->leader_id);
    ml_write_i64(w, g->state_ts);
    ml_write_i32(w, g->n_members);
    const ml_group_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        write_str(w, m->member_id);
        write_str(w, m->instance_id);
        write_str(w, m->client_id);
        write_str(w, m->client_host);
        ml_write_i32(w, m->rebalance_timeout_ms);
        ml_write_i32(w, m->session_timeout_ms);
        const ml_group_protocol *p = chosen(g, m);
        write_bytes(w, p ? p->metadata : (const uint8_t *)"", p ? p->metadata_len : 0);
        write_bytes(w, m->assignment ? m->assignment : (const uint8_t *)"", m->assignment_len);
    }
}

static ml_slice read_str(ml_reader *r) {
    int16_t n = ml_read_i16(r);
    if (n < 0) return (ml_slice){NULL, -1};
    return ml_read_raw(r, n);
}

static ml_slice read_bytes(ml_reader *r) {
    int32_t n = ml_read_i32(r);
    if (n < 0) return (ml_slice){NULL, -1};
    return ml_read_raw(r, n);
}

int ml_offsets_key_decode(ml_slice key, ml_offsets_key *out) {
    memset(out, 0, sizeof *out);
    if (key.len < 2) return ML_ECORRUPT;
    ml_reader r;
    ml_reader_init(&r, key.ptr, (size_t)key.len);
    int16_t v = ml_read_i16(&r);
    out->group = read_str(&r);
    if (v == KEY_COMMIT_V0 || v == KEY_COMMIT_V1) {
        out->kind = 1;
        out->topic = read_str(&r);
        out->partition = ml_read_i32(&r);
    } else if (v == KEY_GROUP_V2) {
        out->kind = 2;
    } else {
        return ML_ECORRUPT;
    }
    return r.err || out->group.len < 0 ? ML_ECORRUPT : 0;
}

int ml_offsets_commit_decode(ml_slice value, ml_offsets_commit *out) {
    memset(out, 0, sizeof *out);
    if (value.len < 2) return ML_ECORRUPT;
    ml_reader r;
    ml_reader_init(&r, value.ptr, (size_t)value.len);
    int16_t v = ml_read_i16(&r);
    if (v < 0 || v > 3) return ML_ECORRUPT;
    out->offset = ml_read_i64(&r);
    out->leader_epoch = v >= 3 ? ml_read_i32(&r) : -1;
    out->metadata = read_str(&r);
    out->commit_ts = ml_read_i64(&r);
    return r.err ? ML_ECORRUPT : 0;
}

int ml_offsets_group_decode(ml_slice value, ml_offsets_group *out) {
    memset(out, 0, sizeof *out);
    if (value.len < 2) return ML_ECORRUPT;
    ml_reader r;
    ml_reader_init(&r, value.ptr, (size_t)value.len);
    out->version = ml_read_i16(&r);
    if (out->version < 0 || out->version > 3) return ML_ECORRUPT;
    out->protocol_type = read_str(&r);
    out->generation = ml_read_i32(&r);
    out->protocol = read_str(&r);
    out->leader = read_str(&r);
    out->state_ts = out->version >= 2 ? ml_read_i64(&r) : -1;
    out->n_members = ml_read_i32(&r);
    out->members = r;
    return r.err || out->n_members < 0 ? ML_ECORRUPT : 0;
}

int ml_offsets_member_next(ml_offsets_group *g, ml_offsets_member *out) {
    ml_reader *r = &g->members;
    memset(out, 0, sizeof *out);
    out->member_id = read_str(r);
    out->instance_id = g->version >= 3 ? read_str(r) : (ml_slice){NULL, -1};
    out->client_id = read_str(r);
    out->client_host = read_str(r);
    out->rebalance_timeout_ms = g->version >= 1 ? ml_read_i32(r) : -1;
    out->session_timeout_ms = ml_read_i32(r);
    out->subscription = read_bytes(r);
    out->assignment = read_bytes(r);
    if (out->rebalance_timeout_ms < 0) out->rebalance_timeout_ms = out->session_timeout_ms;
    return r->err || out->member_id.len < 0 ? ML_ECORRUPT : 0;
}

int ml_offsets_append(ml_log_manager *lm, int32_t partition, const ml_offsets_record *recs, int n, int64_t now_ms,
                      ml_err *err) {
    ml_partition_log *pl = ml_log_manager_get(lm, ML_OFFSETS_TOPIC, partition);
    if (!pl) return ml_err_set(err, ML_ENOENT, "%s-%d does not exist", ML_OFFSETS_TOPIC, partition);
    ml_record_in *in = calloc((size_t)n, sizeof *in);
    if (!in) return ml_err_set(err, ML_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        in[i].key = recs[i].key;
        in[i].key_len = recs[i].key_len;
        in[i].value = recs[i].value;
        in[i].value_len = recs[i].value_len;
        in[i].timestamp = now_ms;
    }
    ml_writer w;
    ml_writer_init(&w, 256);
    int rc = ml_record_batch_build(&w, 0, now_ms, in, n, err);
    free(in);
    if (rc == 0 && w.err) rc = ml_err_set(err, ML_ENOMEM, "out of memory");
    ml_log_append_info info;
    if (rc == 0) rc = ml_partition_log_append(pl, w.data, w.len, now_ms, &info, err);
    ml_writer_free(&w);
    return rc;
}

static int load_batches(const uint8_t *buf, size_t len, int64_t *next, ml_offsets_record_fn fn, void *ctx,
                        ml_err *err) {
    ml_record_batch_iter it;
    ml_record_batch_iter_init(&it, buf, len);
    const uint8_t *batch;
    ml_record_batch_hdr h;
    int rc;
    while ((rc = ml_record_batch_iter_next(&it, &batch, &h, err)) == 1) {
        *next = ml_record_batch_last_offset(&h) + 1;
        if (h.attributes & ML_RB_ATTR_CONTROL) continue;
        ml_record_iter ri;
        if (ml_record_iter_init(&ri, batch, ml_record_batch_size(&h), err) != 0) {
            ml_warn("%s: skipping a compressed batch at offset %lld", ML_OFFSETS_TOPIC, (long long)h.base_offset);
            continue;
        }
        ml_record rec;
        while ((rc = ml_record_iter_next(&ri, &rec, err)) == 1) fn(ctx, rec.key, rec.value);
        if (rc < 0) return rc;
    }
    return rc;
}

int ml_offsets_load_partition(ml_log_manager *lm, int32_t p, ml_offsets_record_fn fn, void *ctx, ml_err *err) {
    ml_partition_log *pl = ml_log_manager_get(lm, ML_OFFSETS_TOPIC, p);
    if (!pl) return 0;
    int64_t offset = ml_partition_log_start_offset(pl), end = ml_partition_log_end_offset(pl);
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    if (!buf) return ml_err_set(err, ML_ENOMEM, "out of memory");
    int rc = 0;
    while (offset < end) {
        ml_log_read_range range;
        rc = ml_partition_log_read(pl, offset, (int64_t)cap, &range, err);
        if (rc != 0 || range.length == 0) break;
        if ((size_t)range.length > cap) {
            uint8_t *nb = realloc(buf, (size_t)range.length);
            if (!nb) {
                rc = ml_err_set(err, ML_ENOMEM, "out of memory");
                break;
            }
            buf = nb;
            cap = (size_t)range.length;
        }
        ssize_t got = pread(range.fd, buf, (size_t)range.length, range.position);
        if (got != range.length) {
            rc = ml_err_set(err, ML_EIO, "reading %s-%d: %s", ML_OFFSETS_TOPIC, p, got < 0 ? strerror(errno) : "short");
            break;
        }
        int64_t before = offset;
        rc = load_batches(buf, (size_t)got, &offset, fn, ctx, err);
        if (rc < 0) break;
        rc = 0;
        if (offset <= before) break; /* no progress: never loop */
    }
    free(buf);
    return rc;
}
