#include "storage/compaction.h"

#include <dirent.h>
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


/* Segments are read in chunks of whole batches, never whole: memory stays bounded whatever
 * segment.bytes is (a chunk grows only to hold one batch larger than it). */
#define ML_COMPACTION_CHUNK (4u << 20)

typedef int (*batch_fn)(void *ctx, const uint8_t *batch, const ml_record_batch_hdr *h, ml_err *err);

static int pread_all(int fd, uint8_t *buf, size_t len, uint64_t pos, const char *what, ml_err *err) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(pos + got));
        if (n <= 0) return ml_err_set(err, ML_EIO, "reading %s: %s", what, n < 0 ? strerror(errno) : "short read");
        got += (size_t)n;
    }
    return 0;
}

/* Calls `fn` for every batch of the first `size` bytes of `fd`, each one validated (CRC). */
static int each_batch(int fd, uint64_t size, const char *what, batch_fn fn, void *ctx, ml_err *err) {
    size_t cap = ML_COMPACTION_CHUNK;
    uint8_t *buf = malloc(cap);
    if (!buf) return ml_err_set(err, ML_ENOMEM, "out of memory reading %s", what);
    uint64_t pos = 0;
    int rc = 0;
    while (rc == 0 && pos < size) {
        size_t want = size - pos < cap ? (size_t)(size - pos) : cap;
        rc = pread_all(fd, buf, want, pos, what, err);
        size_t off = 0;
        while (rc == 0 && off + ML_RB_LOG_OVERHEAD <= want) {
            size_t bsize = (size_t)ml_load_u32(buf + off + ML_RB_OFF_LENGTH) + ML_RB_LOG_OVERHEAD;
            if (bsize < ML_RB_HEADER_SIZE || bsize > size - pos - off) {
                rc = ml_err_set(err, ML_ECORRUPT, "%s: a batch at byte %llu overruns the file", what,
                                (unsigned long long)(pos + off));
                break;
            }
            if (off + bsize > want) break;
            ml_record_batch_hdr h;
            rc = ml_record_batch_parse(buf + off, bsize, &h, err);
            if (rc == 0) rc = fn(ctx, buf + off, &h, err);
            off += bsize;
        }
        if (rc != 0) break;
        if (off == 0) {
            /* One batch larger than the buffer: grow to hold it and read again. */
            size_t bsize = (size_t)ml_load_u32(buf + ML_RB_OFF_LENGTH) + ML_RB_LOG_OVERHEAD;
            uint8_t *nb = realloc(buf, bsize);
            if (!nb) {
                rc = ml_err_set(err, ML_ENOMEM, "out of memory reading %s", what);
                break;
            }
            buf = nb;
            cap = bsize;
            continue;
        }
        pos += off;
    }
    free(buf);
    return rc;
}

typedef struct map_ctx {
    key_map *m;
    const char *what;
} map_ctx;

static int map_batch(void *arg, const uint8_t *batch, const ml_record_batch_hdr *h, ml_err *err) {
    map_ctx *c = arg;
    if (!batch_compactable(h)) return 0;
    ml_reader r;
    ml_reader_init(&r, batch + ML_RB_HEADER_SIZE, ml_record_batch_size(h) - ML_RB_HEADER_SIZE);
    rec_view v;
    int more;
    while ((more = next_record(&r, h->base_offset, &v)) == 1)
        if (v.key && map_put(c->m, v.key, v.key_len, v.offset) != 0)
            return ml_err_set(err, ML_ENOMEM, "out of memory compacting %s", c->what);
    if (more < 0)
        return ml_err_set(err, ML_ECORRUPT, "%s: a record of batch %lld does not decode", c->what,
                          (long long)h->base_offset);
    return 0;
}

/* Pass 1: the last offset of every key in the sealed segments. */
static int build_map(ml_partition_log *pl, key_map *m, ml_err *err) {
    for (int i = 0; i < pl->n_segs - 1; i++) {
        map_ctx c = {m, pl->segs[i]->prefix};
        int rc = each_batch(pl->segs[i]->fd, pl->segs[i]->size, pl->segs[i]->prefix, map_batch, &c, err);
        if (rc != 0) return rc;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *data, size_t len, const char *path, ml_err *err) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n <= 0) return ml_err_set(err, ML_EIO, "write %s: %s", path, strerror(errno));
        done += (size_t)n;
    }
    return 0;
}

typedef struct filter_ctx {
    const key_map *m;
    int64_t horizon_ms;
    ml_compaction_stats *st;
    ml_writer out; /* retained batches not yet written */
    int fd;        /* the .cleaned file */
    const char *path;
    uint64_t written;
} filter_ctx;

static int filter_flush(filter_ctx *c, ml_err *err) {
    if (c->out.err) return ml_err_set(err, ML_ENOMEM, "out of memory compacting");
    int rc = write_all(c->fd, c->out.data, c->out.len, c->path, err);
    c->written += c->out.len;
    c->out.len = 0;
    return rc;
}

static int filter_one(void *arg, const uint8_t *batch, const ml_record_batch_hdr *h, ml_err *err) {
    filter_ctx *c = arg;
    int rc = filter_batch(batch, h, c->m, c->horizon_ms, &c->out, c->st);
    if (rc != 0) return ml_err_set(err, rc, "compacting %s: batch %lld failed", c->path, (long long)h->base_offset);
    return c->out.len >= ML_COMPACTION_CHUNK ? filter_flush(c, err) : 0;
}

typedef struct append_ctx {
    ml_segment *seg;
    uint32_t index_interval;
    ml_writer buf;
} append_ctx;

static int append_one(void *arg, const uint8_t *batch, const ml_record_batch_hdr *h, ml_err *err) {
    append_ctx *c = arg;
    ml_write_raw(&c->buf, batch, ml_record_batch_size(h));
    if (c->buf.err) return ml_err_set(err, ML_ENOMEM, "out of memory compacting");
    if (c->buf.len < ML_COMPACTION_CHUNK) return 0;
    int rc = ml_segment_append(c->seg, c->buf.data, c->buf.len, c->index_interval, err);
    c->buf.len = 0;
    return rc;
}

static int sync_dir(const char *dir, ml_err *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ml_err_set(err, ML_EIO, "open %s: %s", dir, strerror(errno));
    int rc = fsync(fd) == 0 ? 0 : ml_err_set(err, ML_EIO, "fsync %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

/* Replaces sealed segment `i` by one holding the batches of the .cleaned file (same base offset,
 * indexes rebuilt from the batches). */
static int replace_segment(ml_partition_log *pl, int i, int cleaned_fd, uint64_t len, const char *cleaned,
                           int64_t now_ms, ml_err *err) {
    ml_segment *old = pl->segs[i];
    int64_t base = old->base_offset, next = old->next_offset;
    char swap[PATH_MAX];
    ml_segment_path(swap, sizeof swap, pl->dir, base, ".log.swap");
    /* Once the complete copy is renamed .swap, a crash at any later point is repaired at the
     * next start-up by ml_compaction_recover_dir (the .swap replaces whatever .log is there). */
    int rc = fsync(cleaned_fd) == 0 ? 0 : ml_err_set(err, ML_EIO, "fsync %s: %s", cleaned, strerror(errno));
    if (rc == 0 && rename(cleaned, swap) != 0) rc = ml_err_set(err, ML_EIO, "rename %s: %s", cleaned, strerror(errno));
    if (rc == 0) rc = sync_dir(pl->dir, err);
    if (rc == 0) rc = ml_segment_delete(old, err);
    if (rc != 0) return rc;
    cleaned = swap;
    pl->segs[i] = NULL;
    append_ctx c = {NULL, (uint32_t)pl->config.index_interval_bytes, {0}};
    ml_writer_init(&c.buf, 64 * 1024);
    rc = ml_segment_create(pl->dir, base, (size_t)pl->config.segment_index_bytes, now_ms, &c.seg, err);
    if (rc == 0) rc = each_batch(cleaned_fd, len, cleaned, append_one, &c, err);
    if (rc == 0 && c.buf.len) rc = ml_segment_append(c.seg, c.buf.data, c.buf.len, c.index_interval, err);
    if (rc == 0) rc = ml_segment_seal(c.seg, err);
    if (rc == 0) rc = ml_segment_flush(c.seg, err);
    ml_writer_free(&c.buf);
    if (c.seg) {
        c.seg->next_offset = next;
        pl->segs[i] = c.seg;
    }
    if (rc != 0) {
        /* The retained batches are safe in the .cleaned file: say where, loudly. */
        ml_error("compaction of %s-%d: replacing segment %lld failed (%s); its batches are in %s", pl->topic,
                 pl->partition, (long long)base, err->msg, cleaned);
        return rc;
    }
    unlink(cleaned);
    return 0;
}

/* Pass 2 for one sealed segment: filter it into `<base>.log.cleaned`, and swap it in when
 * something was removed. */
static int compact_segment(ml_partition_log *pl, int i, const key_map *m, int64_t now_ms, ml_compaction_stats *st,
                           ml_err *err) {
    ml_segment *s = pl->segs[i];
    char cleaned[PATH_MAX];
    ml_segment_path(cleaned, sizeof cleaned, pl->dir, s->base_offset, ".log.cleaned");
    filter_ctx c = {m, now_ms - pl->config.delete_retention_ms, st, {0}, -1, cleaned, 0};
    c.fd = open(cleaned, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (c.fd < 0) return ml_err_set(err, ML_EIO, "open %s: %s", cleaned, strerror(errno));
    ml_writer_init(&c.out, 64 * 1024);
    int64_t removed = st->records_removed + st->tombstones_removed;
    int rc = each_batch(s->fd, s->size, s->prefix, filter_one, &c, err);
    if (rc == 0) rc = filter_flush(&c, err);
    ml_writer_free(&c.out);
    if (rc == 0 && st->records_removed + st->tombstones_removed > removed) {
        st->bytes_before += s->size;
        st->bytes_after += (int64_t)c.written;
        rc = replace_segment(pl, i, c.fd, c.written, cleaned, now_ms, err);
        if (rc == 0) st->segments_rewritten++;
        close(c.fd);
        return rc;
    }
    close(c.fd);
    unlink(cleaned);
    return rc;
}

int ml_compaction_recover_dir(const char *dir, ml_err *err) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : ml_err_set(err, ML_EIO, "opendir %s: %s", dir, strerror(errno));
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
        const char *name = e->d_name;
        size_t n = strlen(name);
        char path[PATH_MAX], target[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (n == 32 && strcmp(name + 20, ".log.cleaned") == 0) {
            unlink(path); /* an unfinished copy: the segment itself is intact */
        } else if (n == 29 && strcmp(name + 20, ".log.swap") == 0) {
            /* A finished copy: it replaces the segment, whose indexes are rebuilt on open. */
            static const char *const old[] = {".index", ".timeindex"};
            for (size_t k = 0; k < 2; k++) {
                snprintf(target, sizeof target, "%s/%.20s%s", dir, name, old[k]);
                unlink(target);
            }
            snprintf(target, sizeof target, "%s/%.20s.log", dir, name);
            if (rename(path, target) != 0) rc = ml_err_set(err, ML_EIO, "rename %s: %s", path, strerror(errno));
            else ml_warn("%s: finished an interrupted compaction of segment %.20s", dir, name);
        }
    }
    closedir(d);
    return rc;
}

int ml_compaction_run(ml_partition_log *pl, int64_t now_ms, ml_compaction_stats *stats, ml_err *err) {
    ml_compaction_stats local;
    ml_compaction_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    if (!(pl->config.cleanup_policy & ML_CLEANUP_COMPACT) || pl->n_segs < 2) return 0;
    key_map m;
    if (map_init(&m) != 0) return ml_err_set(err, ML_ENOMEM, "out of memory");
    int rc = build_map(pl, &m, err);
    for (int i = 0; rc == 0 && i < pl->n_segs - 1; i++) rc = compact_segment(pl, i, &m, now_ms, st, err);
    map_free(&m);
    if (rc == 0 && st->segments_rewritten)
        ml_info("compacted %s-%d: %d segments rewritten, %lld records and %lld tombstones removed, %lld -> %lld bytes",
                pl->topic, pl->partition, st->segments_rewritten, (long long)st->records_removed,
                (long long)st->tombstones_removed, (long long)st->bytes_before, (long long)st->bytes_after);
    return rc;
}
