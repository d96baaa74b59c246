#include "storage/partition_log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/recovery.h"

int ml_partition_dir_parse(const char *name, char *topic, size_t topic_size, int32_t *partition) {
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || !dash[1] || (size_t)(dash - name) >= topic_size ||
        (size_t)(dash - name) > ML_TOPIC_NAME_MAX)
        return ML_EINVAL;
    long long n = 0;
    for (const char *p = dash + 1; *p; p++) {
        if (*p < '0' || *p > '9' || n > INT32_MAX / 10) return ML_EINVAL;
        n = n * 10 + (*p - '0');
    }
    if (n > INT32_MAX) return ML_EINVAL;
    memcpy(topic, name, (size_t)(dash - name));
    topic[dash - name] = '\0';
    *partition = (int32_t)n;
    return ML_OK;
}

static int push_segment(ml_partition_log *pl, ml_segment *s, ml_err *err) {
    if (pl->n_segs == pl->cap_segs) {
        int cap = pl->cap_segs ? pl->cap_segs * 2 : 4;
        ml_segment **p = realloc(pl->segs, (size_t)cap * sizeof *p);
        if (!p) return ml_err_set(err, ML_ENOMEM, "out of memory");
        pl->segs = p;
        pl->cap_segs = cap;
    }
    pl->segs[pl->n_segs++] = s;
    return ML_OK;
}

static ml_segment *active(const ml_partition_log *pl) { return pl->segs[pl->n_segs - 1]; }

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Base offsets of the "<20 digits>.log" files in the directory, sorted. */
static int list_segments(const char *dir, int64_t **bases, int *n, ml_err *err) {
    DIR *d = opendir(dir);
    if (!d) return ml_err_set(err, ML_EIO, "opendir %s: %s", dir, strerror(errno));
    int cap = 0, rc = ML_OK;
    *bases = NULL;
    *n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strlen(e->d_name) != 24 || strcmp(e->d_name + 20, ".log") != 0 ||
            strspn(e->d_name, "0123456789") != 20)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            int64_t *p = realloc(*bases, (size_t)cap * sizeof *p);
            if (!p) {
                rc = ml_err_set(err, ML_ENOMEM, "out of memory");
                break;
            }
            *bases = p;
        }
        (*bases)[(*n)++] = strtoll(e->d_name, NULL, 10);
    }
    closedir(d);
    if (rc == ML_OK && *n > 1) qsort(*bases, (size_t)*n, sizeof **bases, cmp_i64);
    return rc;
}

static int load_segments(ml_partition_log *pl, int64_t first_base, int64_t now_ms, ml_err *err) {
    int64_t *bases = NULL;
    int n = 0;
    int rc = list_segments(pl->dir, &bases, &n, err);
    for (int i = 0; i < n && rc == ML_OK; i++) {
        ml_segment *s;
        rc = ml_segment_open(pl->dir, bases[i], i == n - 1, (size_t)pl->config.segment_index_bytes, now_ms, &s, err);
        if (rc == ML_OK && (rc = push_segment(pl, s, err)) < 0) ml_segment_close(s, NULL);
    }
    free(bases);
    if (rc < 0) return rc;
    for (int i = 0; i + 1 < pl->n_segs; i++) pl->segs[i]->next_offset = pl->segs[i + 1]->base_offset;
    if (pl->n_segs > 0) return ML_OK;
    ml_segment *s;
    rc = ml_segment_create(pl->dir, first_base, (size_t)pl->config.segment_index_bytes, now_ms, &s, err);
    if (rc == ML_OK && (rc = push_segment(pl, s, err)) < 0) ml_segment_close(s, NULL);
    return rc;
}

static int init_partition(ml_partition_log *pl, const char *dir, const ml_log_config *cfg, ml_err *err) {
    pl->dir = strdup(dir);
    if (!pl->dir) return ml_err_set(err, ML_ENOMEM, "out of memory");
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    if (ml_partition_dir_parse(base, pl->topic, sizeof pl->topic, &pl->partition) < 0)
        return ml_err_set(err, ML_EINVAL, "%s: not a <topic>-<partition> directory", dir);
    pl->config = *cfg;
    pl->leader_epoch = -1;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) return ml_err_set(err, ML_EIO, "mkdir %s: %s", dir, strerror(errno));
    return ML_OK;
}

static void free_partition(ml_partition_log *pl) {
    for (int i = 0; i < pl->n_segs; i++) ml_segment_close(pl->segs[i], NULL);
    free(pl->segs);
    free(pl->dir);
    free(pl);
}

int ml_partition_log_open(const char *dir, const ml_log_config *cfg, int64_t recovery_point, int64_t log_start_offset,
                          int clean, int64_t now_ms, ml_partition_log **out, ml_err *err) {
    ml_partition_log *pl = calloc(1, sizeof *pl);
    if (!pl) return ml_err_set(err, ML_ENOMEM, "out of memory");
    int64_t first_base = log_start_offset > 0 ? log_start_offset : 0;
    int rc = init_partition(pl, dir, cfg, err);
    if (rc == ML_OK) rc = load_segments(pl, first_base, now_ms, err);
    if (rc == ML_OK) rc = ml_recovery_run(pl, clean ? -1 : recovery_point, now_ms, err);
    if (rc < 0) {
        free_partition(pl);
        return rc;
    }
    int64_t leo = ml_partition_log_end_offset(pl);
    pl->log_start_offset = log_start_offset > pl->segs[0]->base_offset ? log_start_offset : pl->segs[0]->base_offset;
    if (pl->log_start_offset > leo) pl->log_start_offset = leo;
    pl->recovery_point = clean && recovery_point < leo ? recovery_point : leo;
    pl->last_flush_ms = now_ms;
    *out = pl;
    return ML_OK;
}

int ml_partition_log_close(ml_partition_log *pl, ml_err *err) {
    int rc = ML_OK;
    for (int i = 0; i < pl->n_segs; i++) {
        int r = ml_segment_close(pl->segs[i], rc == ML_OK ? err : NULL);
        if (rc == ML_OK) rc = r;
    }
    pl->n_segs = 0;
    free_partition(pl);
    return rc;
}

/* Whatever else lives in the directory (temporary files, future checkpoints) goes too. */
static int remove_other_files(const char *dir, ml_err *err) {
    DIR *d = opendir(dir);
    if (!d) return ml_err_set(err, ML_EIO, "opendir %s: %s", dir, strerror(errno));
    int rc = ML_OK;
    for (struct dirent *e; rc == ML_OK && (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
            rc = ml_err_set(err, ML_EIO, "unlink %s/%s: %s", dir, e->d_name, strerror(errno));
    }
    closedir(d);
    return rc;
}

int ml_partition_log_delete(ml_partition_log *pl, ml_err *err) {
    int rc = ML_OK;
    for (int i = 0; i < pl->n_segs; i++) {
        int r = ml_segment_delete(pl->segs[i], rc == ML_OK ? err : NULL);
        if (rc == ML_OK) rc = r;
    }
    pl->n_segs = 0;
    if (rc == ML_OK) rc = remove_other_files(pl->dir, err);
    if (rc == ML_OK && rmdir(pl->dir) < 0)
        rc = ml_err_set(err, ML_EIO, "rmdir %s: %s", pl->dir, strerror(errno));
    free_partition(pl);
    return rc;
}

int64_t ml_partition_log_start_offset(const ml_partition_log *pl) { return pl->log_start_offset; }
int64_t ml_partition_log_end_offset(const ml_partition_log *pl) { return active(pl)->next_offset; }
int64_t ml_partition_log_recovery_point(const ml_partition_log *pl) { return pl->recovery_point; }
int ml_partition_log_segment_count(const ml_partition_log *pl) { return pl->n_segs; }
const char *ml_partition_log_topic(const ml_partition_log *pl) { return pl->topic; }
int32_t ml_partition_log_partition(const ml_partition_log *pl) { return pl->partition; }
const char *ml_partition_log_dir(const ml_partition_log *pl) { return pl->dir; }
void ml_partition_log_set_config(ml_partition_log *pl, const ml_log_config *cfg) { pl->config = *cfg; }
void ml_partition_log_set_leader_epoch(ml_partition_log *pl, int32_t epoch) { pl->leader_epoch = epoch; }

int64_t ml_partition_log_segment_base(const ml_partition_log *pl, int i) {
    return i >= 0 && i < pl->n_segs ? pl->segs[i]->base_offset : -1;
}

int64_t ml_partition_log_segment_size(const ml_partition_log *pl, int i) {
    return i >= 0 && i < pl->n_segs ? (int64_t)pl->segs[i]->size : -1;
}

int64_t ml_partition_log_size(const ml_partition_log *pl) {
    int64_t n = 0;
    for (int i = 0; i < pl->n_segs; i++) n += pl->segs[i]->size;
    return n;
}

int ml_partition_log_roll(ml_partition_log *pl, int64_t now_ms, ml_err *err) {
    ml_segment *old = active(pl);
    if (old->size == 0) return ML_OK;
    ml_segment *s;
    int rc = ml_segment_create(pl->dir, old->next_offset, (size_t)pl->config.segment_index_bytes, now_ms, &s, err);
    if (rc < 0) return rc;
    if ((rc = push_segment(pl, s, err)) < 0) {
        ml_segment_delete(s, NULL);
        return rc;
    }
    return ml_segment_seal(old, err);
}

/* Kafka's shouldRoll: the batch would overflow the segment's bytes, its indexes or its 32-bit
 * relative offsets, or the segment is older than segment.ms measured in message time from its
 * first batch (wall time since creation when it has no timestamps). */
static int should_roll(const ml_partition_log *pl, size_t len, int64_t n_offsets, int64_t max_ts, int64_t now_ms) {
    const ml_segment *s = active(pl);
    if (s->size == 0) return 0;
    int64_t limit = pl->config.segment_bytes < INT32_MAX ? pl->config.segment_bytes : INT32_MAX;
    if ((int64_t)s->size + (int64_t)len > limit) return 1;
    if (ml_segment_index_full(s)) return 1;
    if (s->next_offset + n_offsets - 1 - s->base_offset > INT32_MAX) return 1;
    int64_t waited = s->first_batch_timestamp >= 0 ? max_ts - s->first_batch_timestamp : now_ms - s->created_ms;
    return waited > pl->config.segment_ms;
}

/* First pass: every batch is valid and within max.message.bytes, nothing is changed yet. */
static int validate(const ml_partition_log *pl, const uint8_t *batches, size_t len, ml_log_append_info *info,
                    ml_err *err) {
    ml_record_batch_iter it;
    ml_record_batch_hdr h;
    const uint8_t *b;
    int rc;
    ml_record_batch_iter_init(&it, batches, len);
    memset(info, 0, sizeof *info);
    info->max_timestamp = -1;
    while ((rc = ml_record_batch_iter_next(&it, &b, &h, err)) == 1) {
        if (ml_record_batch_size(&h) > (size_t)pl->config.max_message_bytes)
            return ml_err_set(err, ML_ETOOBIG, "%s-%d: batch of %zu bytes above max.message.bytes %d", pl->topic,
                              pl->partition, ml_record_batch_size(&h), pl->config.max_message_bytes);
        if (h.record_count == 0)
            return ml_err_set(err, ML_ECORRUPT, "%s-%d: batch without records", pl->topic, pl->partition);
        info->n_batches++;
        info->n_records += h.record_count;
        if (h.max_timestamp > info->max_timestamp) info->max_timestamp = h.max_timestamp;
    }
    if (rc < 0) return rc;
    if (info->n_batches == 0) return ml_err_set(err, ML_ECORRUPT, "%s-%d: no batch to append", pl->topic, pl->partition);
    return ML_OK;
}

/* Second pass: offsets from the log end, leader epoch, LogAppendTime. */
static void assign(ml_partition_log *pl, uint8_t *batches, size_t len, int64_t now_ms, ml_log_append_info *info) {
    int64_t next = ml_partition_log_end_offset(pl);
    int log_append_time = pl->config.message_timestamp_type == ML_TS_LOG_APPEND_TIME;
    ml_record_batch_hdr h;
    info->base_offset = next;
    info->log_append_time = log_append_time ? now_ms : -1;
    if (log_append_time) info->max_timestamp = now_ms;
    for (size_t pos = 0; pos < len; pos += ml_record_batch_size(&h)) {
        uint8_t *b = batches + pos;
        ml_record_batch_parse_header(b, len - pos, &h, NULL); /* validated above */
        ml_record_batch_set_base_offset(b, next);
        if (pl->leader_epoch >= 0) ml_record_batch_set_leader_epoch(b, pl->leader_epoch);
        if (log_append_time) ml_record_batch_set_log_append_time(b, ml_record_batch_size(&h), now_ms);
        next += h.last_offset_delta + 1;
    }
    info->last_offset = next - 1;
}

int ml_partition_log_append(ml_partition_log *pl, uint8_t *batches, size_t len, int64_t now_ms,
                            ml_log_append_info *info, ml_err *err) {
    int rc = validate(pl, batches, len, info, err);
    if (rc < 0) return rc;
    if (should_roll(pl, len, info->n_records, info->max_timestamp, now_ms) && (rc = ml_partition_log_roll(pl, now_ms, err)) < 0)
        return rc;
    assign(pl, batches, len, now_ms, info);
    rc = ml_segment_append(active(pl), batches, len, (uint32_t)pl->config.index_interval_bytes, err);
    if (rc < 0) return rc;
    pl->unflushed_messages += info->n_records;
    if (pl->config.flush_messages > 0 && pl->unflushed_messages >= pl->config.flush_messages)
        return ml_partition_log_flush(pl, now_ms, err);
    return ML_OK;
}

/* Index of the segment holding `offset`: the last one whose base offset is <= offset. */
static int find_segment(const ml_partition_log *pl, int64_t offset) {
    int lo = 0, hi = pl->n_segs;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (pl->segs[mid]->base_offset <= offset) lo = mid + 1;
        else hi = mid;
    }
    return lo > 0 ? lo - 1 : 0;
}

int ml_partition_log_read(ml_partition_log *pl, int64_t offset, int64_t max_bytes, ml_log_read_range *out,
                          ml_err *err) {
    int64_t leo = ml_partition_log_end_offset(pl);
    if (offset < pl->log_start_offset || offset > leo)
        return ml_err_set(err, ML_ERANGE, "%s-%d: offset %lld outside [%lld, %lld]", pl->topic, pl->partition,
                          (long long)offset, (long long)pl->log_start_offset, (long long)leo);
    memset(out, 0, sizeof *out);
    out->fd = active(pl)->fd;
    out->first_offset = offset;
    out->segment_base = active(pl)->base_offset;
    out->position = active(pl)->size;
    if (offset == leo) return ML_OK;
    /* A segment may end before the next one starts (a gap left by compaction): move on. */
    for (int i = find_segment(pl, offset); i < pl->n_segs; i++) {
        ml_segment *s = pl->segs[i];
        uint32_t pos, end;
        ml_record_batch_hdr h;
        int rc = ml_segment_find_offset(s, offset, &pos, &h, err);
        if (rc == ML_ERANGE) continue;
        if (rc == ML_OK) rc = ml_segment_read_end(s, pos, max_bytes, &end, err);
        if (rc < 0) return rc;
        out->fd = s->fd;
        out->position = pos;
        out->length = end - pos;
        out->first_offset = h.base_offset;
        out->segment_base = s->base_offset;
        return ML_OK;
    }
    return ML_OK;
}

/* Within one uncompressed batch: the first record at or after `ts`. */
static int refine_in_batch(const ml_segment *s, uint32_t pos, const ml_record_batch_hdr *h, int64_t ts,
                           int64_t *offset, int64_t *timestamp, ml_err *err) {
    *offset = h->base_offset;
    *timestamp = h->max_timestamp;
    if (h->attributes & (ML_RB_ATTR_CODEC_MASK | ML_RB_ATTR_LOG_APPEND_TIME)) return ML_OK;
    size_t size = ml_record_batch_size(h);
    uint8_t *buf = malloc(size);
    if (!buf) return ml_err_set(err, ML_ENOMEM, "out of memory");
    int rc = ML_OK;
    if (pread(s->fd, buf, size, pos) != (ssize_t)size)
        rc = ml_err_set(err, ML_EIO, "read %s.log: %s", s->prefix, strerror(errno));
    ml_record_iter it;
    ml_record rec;
    if (rc == ML_OK) rc = ml_record_iter_init(&it, buf, size, err);
    while (rc == ML_OK && (rc = ml_record_iter_next(&it, &rec, err)) == 1) {
        rc = ML_OK;
        if (rec.timestamp >= ts) {
            *offset = rec.offset;
            *timestamp = rec.timestamp;
            break;
        }
    }
    free(buf);
    return rc < 0 ? rc : ML_OK;
}

int ml_partition_log_offset_for_timestamp(ml_partition_log *pl, int64_t ts, int64_t *offset, int64_t *timestamp,
                                          ml_err *err) {
    for (int i = 0; i < pl->n_segs; i++) {
        ml_segment *s = pl->segs[i];
        if (s->size == 0 || ml_segment_largest_timestamp(s) < ts) continue;
        uint32_t pos;
        ml_record_batch_hdr h;
        int rc = ml_segment_find_timestamp(s, ts, &pos, &h, err);
        if (rc == ML_ENOENT) continue;
        if (rc == ML_OK) rc = refine_in_batch(s, pos, &h, ts, offset, timestamp, err);
        if (rc == ML_OK && *offset < pl->log_start_offset) *offset = pl->log_start_offset;
        return rc;
    }
    return ml_err_set(err, ML_ENOENT, "%s-%d: no record with timestamp >= %lld", pl->topic, pl->partition,
                      (long long)ts);
}

int ml_partition_log_flush(ml_partition_log *pl, int64_t now_ms, ml_err *err) {
    for (int i = find_segment(pl, pl->recovery_point); i < pl->n_segs; i++) {
        int rc = ml_segment_flush(pl->segs[i], err);
        if (rc < 0) return rc;
    }
    pl->recovery_point = ml_partition_log_end_offset(pl);
    pl->unflushed_messages = 0;
    pl->last_flush_ms = now_ms;
    return ML_OK;
}

int ml_partition_log_maybe_flush(ml_partition_log *pl, int64_t now_ms, ml_err *err) {
    if (pl->config.flush_ms < 0 || pl->unflushed_messages == 0 || now_ms - pl->last_flush_ms < pl->config.flush_ms)
        return ML_OK;
    return ml_partition_log_flush(pl, now_ms, err);
}

int ml_partition_log_delete_oldest(ml_partition_log *pl, int n, ml_err *err) {
    if (n > pl->n_segs - 1) n = pl->n_segs - 1;
    if (n <= 0) return ML_OK;
    int rc = ML_OK;
    for (int i = 0; i < n; i++) {
        int r = ml_segment_delete(pl->segs[i], rc == ML_OK ? err : NULL);
        if (rc == ML_OK) rc = r;
    }
    memmove(pl->segs, pl->segs + n, (size_t)(pl->n_segs - n) * sizeof *pl->segs);
    pl->n_segs -= n;
    if (pl->log_start_offset < pl->segs[0]->base_offset) pl->log_start_offset = pl->segs[0]->base_offset;
    if (pl->recovery_point < pl->log_start_offset) pl->recovery_point = pl->log_start_offset;
    return rc;
}

int ml_partition_log_drop_after(ml_partition_log *pl, int i, ml_err *err) {
    int rc = ML_OK;
    for (int j = pl->n_segs - 1; j > i; j--) {
        int r = ml_segment_delete(pl->segs[j], rc == ML_OK ? err : NULL);
        if (rc == ML_OK) rc = r;
        pl->n_segs--;
    }
    if (rc == ML_OK && !pl->segs[i]->active)
        rc = ml_segment_activate(pl->segs[i], (size_t)pl->config.segment_index_bytes, err);
    return rc;
}

int ml_partition_log_truncate_to(ml_partition_log *pl, int64_t offset, ml_err *err) {
    if (offset >= ml_partition_log_end_offset(pl)) return ML_OK;
    int i = find_segment(pl, offset);
    int rc = ml_partition_log_drop_after(pl, i, err);
    ml_segment *s = active(pl);
    uint32_t pos = 0;
    int64_t next = s->base_offset;
    ml_record_batch_hdr h;
    if (rc == ML_OK && offset > s->base_offset) {
        rc = ml_segment_find_offset(s, offset, &pos, &h, err);
        next = h.base_offset;
    }
    if (rc == ML_OK) rc = ml_segment_truncate(s, pos, next, err);
    if (rc < 0) return rc;
    if (pl->recovery_point > next) pl->recovery_point = next;
    if (pl->log_start_offset > next) pl->log_start_offset = next;
    return ML_OK;
}
