#include "storage/recovery.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/log.h"

/* CRC of the batch at `pos`, read in chunks so a large batch needs no large buffer. */
static int batch_crc(const ml_segment *s, uint32_t pos, size_t size, uint32_t *crc, ml_err *err) {
    uint8_t buf[65536];
    uint32_t c = 0;
    size_t done = ML_RB_OFF_ATTRIBUTES;
    while (done < size) {
        size_t want = size - done < sizeof buf ? size - done : sizeof buf;
        ssize_t n = pread(s->fd, buf, want, (off_t)pos + (off_t)done);
        if (n <= 0) return ml_err_set(err, ML_EIO, "read %s.log: %s", s->prefix, n < 0 ? strerror(errno) : "short");
        c = ml_crc32c(c, buf, (size_t)n);
        done += (size_t)n;
    }
    *crc = c;
    return ML_OK;
}

/* Checks the batch at `pos` as recovery must: ML_ECORRUPT ends the segment there. */
static int check_batch(const ml_segment *s, uint32_t pos, int allow_gaps, ml_record_batch_hdr *h, ml_err *err) {
    int rc = ml_segment_read_header(s, pos, h, err);
    if (rc < 0) return rc;
    /* baseOffset is outside the CRC: continuity is what catches a damaged one. Only compaction
     * leaves gaps between batches. */
    int bad_offset = allow_gaps ? h->base_offset < s->next_offset : h->base_offset != s->next_offset;
    if (bad_offset || ml_record_batch_last_offset(h) - s->base_offset > INT32_MAX)
        return ml_err_set(err, ML_ECORRUPT, "%s.log: batch at %u has offset %lld, expected %lld", s->prefix, pos,
                          (long long)h->base_offset, (long long)s->next_offset);
    uint32_t crc;
    rc = batch_crc(s, pos, ml_record_batch_size(h), &crc, err);
    if (rc == ML_OK && crc != h->crc)
        rc = ml_err_set(err, ML_ECORRUPT, "%s.log: batch at %u fails its CRC", s->prefix, pos);
    return rc;
}

static void reset_indexes(ml_segment *s) {
    ml_index_file_truncate(&s->oi.file, 0);
    ml_index_file_truncate(&s->ti.file, 0);
    s->next_offset = s->base_offset;
    s->max_timestamp = s->offset_of_max_timestamp = s->first_batch_timestamp = -1;
    s->max_timestamp_known = 1;
    s->bytes_since_index = 0;
}

int ml_segment_recover(ml_segment *s, size_t index_max_bytes, uint32_t index_interval, int allow_gaps,
                       uint32_t *truncated, ml_err *err) {
    int rc = ml_segment_activate(s, index_max_bytes, err);
    if (rc < 0) return rc;
    reset_indexes(s);
    uint32_t pos = 0;
    ml_record_batch_hdr h;
    ml_err why = {0, ""};
    while (pos < s->size) {
        rc = check_batch(s, pos, allow_gaps, &h, &why);
        if (rc == ML_ECORRUPT) break;
        if (rc < 0) return ml_err_set(err, rc, "%s", why.msg);
        rc = ml_segment_index_batch(s, pos, &h, index_interval, err);
        if (rc < 0) return rc;
        pos += (uint32_t)ml_record_batch_size(&h);
    }
    *truncated = s->size - pos;
    s->needs_rebuild = 0;
    if (*truncated == 0) return ML_OK;
    ml_warn("recovery: %s; truncating %u bytes at position %u", why.msg, *truncated, pos);
    /* The scan knows the exact max timestamp of what stays; truncation only knows the index's. */
    int64_t max_ts = s->max_timestamp, max_ts_offset = s->offset_of_max_timestamp;
    int64_t first_ts = s->first_batch_timestamp;
    uint32_t since = s->bytes_since_index;
    rc = ml_segment_truncate(s, pos, s->next_offset, err);
    s->max_timestamp = max_ts;
    s->offset_of_max_timestamp = max_ts_offset;
    s->first_batch_timestamp = first_ts;
    s->bytes_since_index = since;
    return rc;
}

/* The segment holding `offset`: the last one starting at or before it. */
static int segment_holding(const ml_partition_log *pl, int64_t offset) {
    int i = 0;
    while (i + 1 < pl->n_segs && pl->segs[i + 1]->base_offset <= offset) i++;
    return i;
}

int ml_recovery_run(ml_partition_log *pl, int64_t recovery_point, int64_t now_ms, ml_err *err) {
    (void)now_ms;
    int first = recovery_point < 0 ? pl->n_segs : segment_holding(pl, recovery_point);
    for (int i = 0; i < pl->n_segs; i++) {
        ml_segment *s = pl->segs[i];
        if (i < first && !s->needs_rebuild) continue;
        uint32_t truncated;
        int rc = ml_segment_recover(s, (size_t)pl->config.segment_index_bytes,
                                    (uint32_t)pl->config.index_interval_bytes,
                                    (pl->config.cleanup_policy & ML_CLEANUP_COMPACT) != 0, &truncated, err);
        int last = i == pl->n_segs - 1;
        /* After a cut, or when this segment runs into the next, nothing later can be trusted. */
        if (rc == ML_OK && !last && (truncated > 0 || s->next_offset > pl->segs[i + 1]->base_offset)) {
            ml_warn("recovery: %s-%d: deleting %d segment(s) after offset %lld", pl->topic, pl->partition,
                    pl->n_segs - 1 - i, (long long)s->next_offset);
            rc = ml_partition_log_drop_after(pl, i, err);
            last = 1;
        }
        if (rc == ML_OK && !last) {
            int64_t next = pl->segs[i + 1]->base_offset; /* keep a compaction gap as it was */
            rc = ml_segment_seal(s, err);
            s->next_offset = next;
        }
        if (rc < 0) return rc;
    }
    return ML_OK;
}

static void marker_path(char *buf, size_t size, const char *log_dir) {
    snprintf(buf, size, "%s/%s", log_dir, ML_CLEAN_SHUTDOWN_FILE);
}

int ml_clean_shutdown_exists(const char *log_dir) {
    char path[4096];
    marker_path(path, sizeof path, log_dir);
    return access(path, F_OK) == 0;
}

int ml_clean_shutdown_write(const char *log_dir, ml_err *err) {
    char path[4096];
    marker_path(path, sizeof path, log_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ml_err_set(err, ML_EIO, "create %s: %s", path, strerror(errno));
    int rc = fsync(fd) < 0 ? ml_err_set(err, ML_EIO, "fsync %s: %s", path, strerror(errno)) : ML_OK;
    close(fd);
    return rc;
}

int ml_clean_shutdown_remove(const char *log_dir, ml_err *err) {
    char path[4096];
    marker_path(path, sizeof path, log_dir);
    if (unlink(path) < 0 && errno != ENOENT) return ml_err_set(err, ML_EIO, "unlink %s: %s", path, strerror(errno));
    return ML_OK;
}
