#include "storage/compaction.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/log.h"
#include "proto/record_batch.h"

/* ---- the key map: key bytes -> offset of the key's last record ---- */

typedef struct key_slot {
    const uint8_t *key; /* NULL = empty slot; points into the map's arena */
    int32_t len;
    uint32_t hash;
    int64_t offset;
} key_slot;

typedef struct key_map {
    key_slot *slots;
    size_t cap; /* a power of two */
    size_t n;
    ml_arena keys;
} key_map;

static uint32_t fnv1a(const uint8_t *p, int32_t len) {
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i < len; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static int map_init(key_map *m) {
    m->cap = 1024;
    m->n = 0;
    m->slots = calloc(m->cap, sizeof *m->slots);
    ml_arena_init(&m->keys, 64 * 1024);
    return m->slots ? 0 : ML_ENOMEM;
}

static void map_free(key_map *m) {
    free(m->slots);
    ml_arena_free(&m->keys);
}

static key_slot *map_slot(key_slot *slots, size_t cap, const uint8_t *key, int32_t len, uint32_t h) {
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        key_slot *s = &slots[i];
        if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, (size_t)len) == 0)) return s;
    }
}

static int map_grow(key_map *m) {
    size_t cap = m->cap * 2;
    key_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return ML_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) *map_slot(slots, cap, m->slots[i].key, m->slots[i].len, m->slots[i].hash) = m->slots[i];
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static int map_put(key_map *m, const uint8_t *key, int32_t len, int64_t offset) {
    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m) != 0) return ML_ENOMEM;
    uint32_t h = fnv1a(key, len);
    key_slot *s = map_slot(m->slots, m->cap, key, len, h);
    if (!s->key) {
        uint8_t *copy = ml_arena_alloc(&m->keys, len > 0 ? (size_t)len : 1);
        if (!copy) return ML_ENOMEM;
        memcpy(copy, key, (size_t)len);
        s->key = copy;
        s->len = len;
        s->hash = h;
        s->offset = offset;
        m->n++;
    } else if (offset > s->offset) {
        s->offset = offset;
    }
    return 0;
}

static int64_t map_get(const key_map *m, const uint8_t *key, int32_t len) {
    key_slot *s = map_slot(m->slots, m->cap, key, len, fnv1a(key, len));
    return s->key ? s->offset : -1;
}

/* ---- records inside an uncompressed batch ---- */

typedef struct rec_view {
    const uint8_t *start; /* the record's bytes, length prefix included */
    size_t size;
    int64_t offset;
    const uint8_t *key; /* NULL when the record has no key */
    int32_t key_len;
    int tombstone;
} rec_view;

/* Reads the next record of a batch's record area; 1, 0 at the end, ML_ECORRUPT. */
static int next_record(ml_reader *r, int64_t base_offset, rec_view *out) {
    if (ml_reader_left(r) == 0) return 0;
    const uint8_t *start = r->p;
    int32_t len = ml_read_varint(r);
    if (r->err || len < 0 || (size_t)len > ml_reader_left(r)) return ML_ECORRUPT;
    const uint8_t *body_end = r->p + len;
    ml_reader b;
    ml_reader_init(&b, r->p, (size_t)len);
    ml_read_i8(&b);
    ml_read_varlong(&b);
    int32_t delta = ml_read_varint(&b);
    int32_t klen = ml_read_varint(&b);
    out->key = NULL;
    out->key_len = -1;
    if (klen >= 0) {
        ml_slice k = ml_read_raw(&b, klen);
        out->key = k.ptr;
        out->key_len = klen;
    }
    int32_t vlen = ml_read_varint(&b);
    if (b.err) return ML_ECORRUPT;
    out->tombstone = vlen < 0;
    out->offset = base_offset + delta;
    out->start = start;
    out->size = (size_t)(body_end - start);
    r->p = body_end;
    return 1;
}

static int batch_compactable(const ml_record_batch_hdr *h) {
    return (h->attributes & ML_RB_ATTR_CODEC_MASK) == 0 && !(h->attributes & ML_RB_ATTR_CONTROL);
}

static int read_segment(const ml_segment *s, uint8_t **out, ml_err *err) {
    uint8_t *buf = malloc(s->size ? s->size : 1);
    if (!buf) return ml_err_set(err, ML_ENOMEM, "out of memory reading %s.log", s->prefix);
    size_t got = 0;
    while (got < s->size) {
        ssize_t n = pread(s->fd, buf + got, s->size - got, (off_t)got);
        if (n <= 0) {
            free(buf);
            return ml_err_set(err, ML_EIO, "reading %s.log: %s", s->prefix, n < 0 ? strerror(errno) : "short read");
        }
        got += (size_t)n;
    }
    *out = buf;
    return 0;
}

/* Pass 1: the last offset of every key in the sealed segments. */
static int build_map(ml_partition_log *pl, key_map *m, ml_err *err) {
    for (int i = 0; i < pl->n_segs - 1; i++) {
        uint8_t *buf;
        int rc = read_segment(pl->segs[i], &buf, err);
        if (rc != 0) return rc;
        ml_record_batch_iter it;
        ml_record_batch_iter_init(&it, buf, pl->segs[i]->size);
        const uint8_t *batch;
        ml_record_batch_hdr h;
        while (rc == 0 && (rc = ml_record_batch_iter_next(&it, &batch, &h, err)) == 1) {
            rc = 0;
            if (!batch_compactable(&h)) continue;
            ml_reader r;
            ml_reader_init(&r, batch + ML_RB_HEADER_SIZE, ml_record_batch_size(&h) - ML_RB_HEADER_SIZE);
            rec_view v;
            int more;
            while ((more = next_record(&r, h.base_offset, &v)) == 1)
                if (v.key && map_put(m, v.key, v.key_len, v.offset) != 0) {
                    rc = ml_err_set(err, ML_ENOMEM, "out of memory compacting %s-%d", pl->topic, pl->partition);
                    break;
                }
            if (more < 0) rc = ml_err_set(err, ML_ECORRUPT, "%s.log: a record at batch %lld does not decode",
                                          pl->segs[i]->prefix, (long long)h.base_offset);
        }
        free(buf);
        if (rc < 0) return rc;
    }
    return 0;
}

/* The batch at `batch` without the records that go, appended to `out` (possibly nothing). */
static int filter_batch(const uint8_t *batch, const ml_record_batch_hdr *h, const key_map *m, int64_t horizon_ms,
                        ml_writer *out, ml_compaction_stats *st) {
    size_t size = ml_record_batch_size(h);
    if (!batch_compactable(h)) {
        ml_write_raw(out, batch, size);
        return 0;
    }
    ml_reader r;
    ml_reader_init(&r, batch + ML_RB_HEADER_SIZE, size - ML_RB_HEADER_SIZE);
    size_t start = out->len;
    ml_write_raw(out, batch, ML_RB_HEADER_SIZE);
    int32_t kept = 0;
    rec_view v;
    int more;
    while ((more = next_record(&r, h->base_offset, &v)) == 1) {
        int keep = 1;
        if (v.key && map_get(m, v.key, v.key_len) != v.offset) {
            keep = 0;
            st->records_removed++;
        } else if (v.key && v.tombstone && h->max_timestamp < horizon_ms) {
            keep = 0;
            st->tombstones_removed++;
        }
        if (!keep) continue;
        ml_write_raw(out, v.start, v.size);
        kept++;
    }
    if (more < 0) return ML_ECORRUPT;
    if (out->err) return ML_ENOMEM;
    if (kept == 0) {
        out->len = start; /* the whole batch goes */
        return 0;
    }
    uint8_t *nb = out->data + start;
    size_t nsize = out->len - start;
    ml_store_u32(nb + ML_RB_OFF_LENGTH, (uint32_t)(nsize - ML_RB_LOG_OVERHEAD));
    ml_store_u32(nb + ML_RB_OFF_RECORD_COUNT, (uint32_t)kept);
    ml_record_batch_update_crc(nb, nsize);
    return 0;
}

static int write_file(const char *path, const uint8_t *data, size_t len, ml_err *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ml_err_set(err, ML_EIO, "open %s: %s", path, strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n <= 0) {
            close(fd);
            return ml_err_set(err, ML_EIO, "write %s: %s", path, strerror(errno));
        }
        done += (size_t)n;
    }
    int rc = fsync(fd) == 0 ? 0 : ml_err_set(err, ML_EIO, "fsync %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* Replaces sealed segment `i` by one holding `data` (same base offset, indexes rebuilt). */
static int replace_segment(ml_partition_log *pl, int i, const uint8_t *data, size_t len, int64_t now_ms,
                           ml_err *err) {
    ml_segment *old = pl->segs[i];
    int64_t base = old->base_offset, next = old->next_offset;
    char cleaned[PATH_MAX];
    ml_segment_path(cleaned, sizeof cleaned, pl->dir, base, ".log.cleaned");
    int rc = write_file(cleaned, data, len, err);
    if (rc != 0) return rc;
    rc = ml_segment_delete(old, err);
    pl->segs[i] = NULL;
    ml_segment *ns = NULL;
    if (rc == 0) rc = ml_segment_create(pl->dir, base, (size_t)pl->config.segment_index_bytes, now_ms, &ns, err);
    if (rc == 0 && len) rc = ml_segment_append(ns, data, len, (uint32_t)pl->config.index_interval_bytes, err);
    if (rc == 0) rc = ml_segment_seal(ns, err);
    if (rc == 0) rc = ml_segment_flush(ns, err);
    if (rc != 0) {
        /* The batches are safe in the .cleaned file; the partition cannot go on without a
         * segment here, so this is reported loudly and left for an operator. */
        ml_error("compaction of %s-%d: replacing segment %lld failed, its data is in %s", pl->topic, pl->partition,
                 (long long)base, cleaned);
        if (ns) pl->segs[i] = ns;
        return rc;
    }
    ns->next_offset = next;
    pl->segs[i] = ns;
    unlink(cleaned);
    return 0;
}

int ml_compaction_run(ml_partition_log *pl, int64_t now_ms, ml_compaction_stats *stats, ml_err *err) {
    ml_compaction_stats local;
    ml_compaction_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    if (!(pl->config.cleanup_policy & ML_CLEANUP_COMPACT) || pl->n_segs < 2) return 0;
    key_map m;
    if (map_init(&m) != 0) return ml_err_set(err, ML_ENOMEM, "out of memory");
    int rc = build_map(pl, &m, err);
    int64_t horizon = now_ms - pl->config.delete_retention_ms;
    for (int i = 0; rc == 0 && i < pl->n_segs - 1; i++) {
        ml_segment *s = pl->segs[i];
        uint8_t *buf;
        rc = read_segment(s, &buf, err);
        if (rc != 0) break;
        ml_writer out;
        ml_writer_init(&out, s->size ? s->size : 64);
        ml_record_batch_iter it;
        ml_record_batch_iter_init(&it, buf, s->size);
        const uint8_t *batch;
        ml_record_batch_hdr h;
        int64_t removed = st->records_removed + st->tombstones_removed;
        while ((rc = ml_record_batch_iter_next(&it, &batch, &h, err)) == 1) {
            rc = filter_batch(batch, &h, &m, horizon, &out, st);
            if (rc != 0) {
                rc = ml_err_set(err, rc, "compacting %s.log at batch %lld failed", s->prefix, (long long)h.base_offset);
                break;
            }
        }
        if (rc == 0 && st->records_removed + st->tombstones_removed > removed) {
            st->bytes_before += s->size;
            st->bytes_after += (int64_t)out.len;
            rc = replace_segment(pl, i, out.data, out.len, now_ms, err);
            if (rc == 0) st->segments_rewritten++;
        }
        ml_writer_free(&out);
        free(buf);
    }
    map_free(&m);
    if (rc == 0 && st->segments_rewritten)
        ml_info("compacted %s-%d: %d segments rewritten, %lld records and %lld tombstones removed, %lld -> %lld bytes",
                pl->topic, pl->partition, st->segments_rewritten, (long long)st->records_removed,
                (long long)st->tombstones_removed, (long long)st->bytes_before, (long long)st->bytes_after);
    return rc;
}
