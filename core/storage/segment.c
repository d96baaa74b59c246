#include "storage/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/file_closer.h"

void ml_segment_path(char *buf, size_t size, const char *dir, int64_t base_offset, const char *suffix) {
    snprintf(buf, size, "%s/%020lld%s", dir, (long long)base_offset, suffix);
}

static void path_of(const ml_segment *s, const char *suffix, char *buf, size_t size) {
    snprintf(buf, size, "%s%s", s->prefix, suffix);
}

static void free_segment(ml_segment *s) {
    if (s->fd >= 0) close(s->fd);
    ml_index_file_free(&s->oi.file);
    ml_index_file_free(&s->ti.file);
    free(s->prefix);
    free(s);
}

/* Allocates the struct and opens the .log; indexes are initialised but not mapped. */
static int segment_new(const char *dir, int64_t base_offset, int flags, int64_t now_ms, ml_segment **out,
                       ml_err *err) {
    ml_segment *s = calloc(1, sizeof *s);
    char path[4096];
    if (!s) return ml_err_set(err, ML_ENOMEM, "out of memory");
    s->fd = -1;
    s->base_offset = s->next_offset = base_offset;
    s->max_timestamp = s->offset_of_max_timestamp = s->first_batch_timestamp = -1;
    s->created_ms = now_ms;
    ml_segment_path(path, sizeof path, dir, base_offset, "");
    int rc = (s->prefix = strdup(path)) ? ML_OK : ml_err_set(err, ML_ENOMEM, "out of memory");
    if (rc == ML_OK) {
        ml_segment_path(path, sizeof path, dir, base_offset, ".index");
        rc = ml_offset_index_init(&s->oi, path, base_offset, err);
    }
    if (rc == ML_OK) {
        ml_segment_path(path, sizeof path, dir, base_offset, ".timeindex");
        rc = ml_time_index_init(&s->ti, path, base_offset, err);
    }
    if (rc == ML_OK) {
        ml_segment_path(path, sizeof path, dir, base_offset, ".log");
        s->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | flags, 0644);
        if (s->fd < 0) rc = ml_err_set(err, ML_EIO, "open %s: %s", path, strerror(errno));
    }
    if (rc < 0) {
        free_segment(s);
        return rc;
    }
    *out = s;
    return ML_OK;
}

int ml_segment_activate(ml_segment *s, size_t index_max_bytes, ml_err *err) {
    int rc = ml_index_file_map(&s->oi.file, 1, index_max_bytes, err);
    if (rc == ML_OK) rc = ml_index_file_map(&s->ti.file, 1, index_max_bytes / 8 * 12, err);
    if (rc == ML_OK) s->active = 1;
    return rc;
}

int ml_segment_create(const char *dir, int64_t base_offset, size_t index_max_bytes, int64_t now_ms,
                      ml_segment **out, ml_err *err) {
    ml_segment *s;
    int rc = segment_new(dir, base_offset, O_CREAT, now_ms, &s, err);
    if (rc < 0) return rc;
    struct stat st;
    if (fstat(s->fd, &st) == 0 && st.st_size > 0)
        rc = ml_err_set(err, ML_EEXIST, "%s.log already holds %lld bytes", s->prefix, (long long)st.st_size);
    if (rc == ML_OK) {
        /* Leftover indexes of an empty log (a crash during a roll) describe nothing. */
        static const char *const suffixes[] = {".index", ".timeindex"};
        for (int i = 0; i < 2 && rc == ML_OK; i++) {
            char path[4096];
            path_of(s, suffixes[i], path, sizeof path);
            if (truncate(path, 0) < 0 && errno != ENOENT)
                rc = ml_err_set(err, ML_EIO, "truncate %s: %s", path, strerror(errno));
        }
        if (rc == ML_OK) rc = ml_segment_activate(s, index_max_bytes, err);
    }
    s->max_timestamp_known = 1; /* empty: -1 until the first append */
    if (rc < 0) {
        free_segment(s);
        return rc;
    }
    *out = s;
    return ML_OK;
}

int ml_segment_read_header(const ml_segment *s, uint32_t position, ml_record_batch_hdr *h, ml_err *err) {
    uint8_t buf[ML_RB_HEADER_SIZE];
    if ((uint64_t)position + ML_RB_HEADER_SIZE > s->size)
        return ml_err_set(err, ML_ECORRUPT, "%s.log: no batch header at position %u (size %u)", s->prefix,
                          position, s->size);
    ssize_t n = pread(s->fd, buf, sizeof buf, position);
    if (n < 0) return ml_err_set(err, ML_EIO, "read %s.log: %s", s->prefix, strerror(errno));
    int rc = ml_record_batch_parse_header(buf, (size_t)n, h, err);
    if (rc < 0) return rc;
    if ((uint64_t)position + ml_record_batch_size(h) > s->size)
        return ml_err_set(err, ML_ECORRUPT, "%s.log: batch at position %u runs past the end", s->prefix, position);
    return ML_OK;
}

static void note_batch(ml_segment *s, uint32_t position, const ml_record_batch_hdr *h) {
    if (h->max_timestamp > s->max_timestamp) {
        s->max_timestamp = h->max_timestamp;
        s->offset_of_max_timestamp = ml_record_batch_last_offset(h);
    }
    if (position == 0) s->first_batch_timestamp = h->max_timestamp;
    s->next_offset = ml_record_batch_last_offset(h) + 1;
}

/* Learns the next offset and max timestamp of an active segment from its last index entries
 * and the few batches after them. A bad header ends the scan: recovery deals with the tail. */
static int load_tail(ml_segment *s, ml_err *err) {
    int64_t ts, off;
    int rc = ml_time_index_last(&s->ti, &ts, &off, err);
    if (rc < 0) return rc;
    s->max_timestamp = ts;
    s->offset_of_max_timestamp = off;
    s->max_timestamp_known = 1;
    uint32_t pos = 0;
    uint32_t n = ml_offset_index_entries(&s->oi);
    if (n > 0) ml_offset_index_entry(&s->oi, n - 1, &off, &pos);
    ml_record_batch_hdr h;
    if (ml_segment_read_header(s, 0, &h, NULL) == ML_OK) s->first_batch_timestamp = h.max_timestamp;
    uint32_t last_entry = pos;
    while (pos < s->size && ml_segment_read_header(s, pos, &h, NULL) == ML_OK) {
        note_batch(s, pos, &h);
        pos += (uint32_t)ml_record_batch_size(&h);
    }
    s->bytes_since_index = pos - last_entry;
    return ML_OK;
}

static int file_exists(const ml_segment *s, const char *suffix) {
    char path[4096];
    path_of(s, suffix, path, sizeof path);
    return access(path, F_OK) == 0;
}

int ml_segment_open(const char *dir, int64_t base_offset, int active, size_t index_max_bytes, int64_t now_ms,
                    ml_segment **out, ml_err *err) {
    ml_segment *s;
    int rc = segment_new(dir, base_offset, 0, now_ms, &s, err);
    if (rc < 0) return rc;
    struct stat st;
    if (fstat(s->fd, &st) < 0) rc = ml_err_set(err, ML_EIO, "fstat %s.log: %s", s->prefix, strerror(errno));
    else if (st.st_size > UINT32_MAX) rc = ml_err_set(err, ML_ECORRUPT, "%s.log: larger than 4 GiB", s->prefix);
    if (rc == ML_OK) {
        s->size = (uint32_t)st.st_size;
        s->needs_rebuild = s->size > 0 && (!file_exists(s, ".index") || !file_exists(s, ".timeindex"));
        if (active) rc = ml_segment_activate(s, index_max_bytes, err);
        if (rc == ML_OK && active) rc = load_tail(s, err);
    }
    if (rc < 0) {
        free_segment(s);
        return rc;
    }
    *out = s;
    return ML_OK;
}

int ml_segment_index_full(const ml_segment *s) {
    return s->oi.file.entries + 1 >= s->oi.file.max_entries || s->ti.file.entries + 2 >= s->ti.file.max_entries;
}

int ml_segment_index_batch(ml_segment *s, uint32_t position, const ml_record_batch_hdr *h, uint32_t index_interval,
                           ml_err *err) {
    note_batch(s, position, h);
    if (s->bytes_since_index > index_interval) {
        int rc = ml_offset_index_append(&s->oi, ml_record_batch_last_offset(h), position, err);
        if (rc == ML_OK) rc = ml_time_index_maybe_append(&s->ti, s->max_timestamp, s->offset_of_max_timestamp, err);
        if (rc < 0) return rc;
        s->bytes_since_index = 0;
    }
    s->bytes_since_index += (uint32_t)ml_record_batch_size(h);
    return ML_OK;
}

static int write_all(ml_segment *s, const uint8_t *p, size_t len, ml_err *err) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(s->fd, p + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            if (ftruncate(s->fd, s->size) < 0) { /* the tail stays torn; recovery will cut it */ }
            return ml_err_set(err, ML_EIO, "write %s.log: %s", s->prefix, n < 0 ? strerror(e) : "no progress");
        }
        done += (size_t)n;
    }
    return ML_OK;
}

int ml_segment_append(ml_segment *s, const uint8_t *batches, size_t len, uint32_t index_interval, ml_err *err) {
    if ((uint64_t)s->size + len > UINT32_MAX)
        return ml_err_set(err, ML_ETOOBIG, "%s.log: append of %zu bytes past 4 GiB", s->prefix, len);
    int rc = write_all(s, batches, len, err);
    if (rc < 0) return rc;
    uint32_t start = s->size;
    s->size += (uint32_t)len;
    ml_record_batch_hdr h;
    for (size_t pos = 0; pos < len; pos += ml_record_batch_size(&h)) {
        rc = ml_record_batch_parse_header(batches + pos, len - pos, &h, err);
        if (rc == ML_OK) rc = ml_segment_index_batch(s, start + (uint32_t)pos, &h, index_interval, err);
        if (rc < 0) return rc;
    }
    return ML_OK;
}

int ml_segment_find_offset(ml_segment *s, int64_t offset, uint32_t *position, ml_record_batch_hdr *h, ml_err *err) {
    if (offset >= s->next_offset)
        return ml_err_set(err, ML_ERANGE, "offset %lld not in segment %s", (long long)offset, s->prefix);
    uint32_t pos;
    int rc = ml_offset_index_lookup(&s->oi, offset, &pos, err);
    while (rc == ML_OK && pos < s->size) {
        rc = ml_segment_read_header(s, pos, h, err);
        if (rc == ML_OK && ml_record_batch_last_offset(h) >= offset) {
            *position = pos;
            return ML_OK;
        }
        pos += (uint32_t)ml_record_batch_size(h);
    }
    return rc < 0 ? rc : ml_err_set(err, ML_ERANGE, "offset %lld not in segment %s", (long long)offset, s->prefix);
}

int ml_segment_find_timestamp(ml_segment *s, int64_t ts, uint32_t *position, ml_record_batch_hdr *h, ml_err *err) {
    int64_t after;
    uint32_t pos = 0;
    int rc = ml_time_index_lookup(&s->ti, ts, &after, err);
    if (rc == ML_OK && after >= 0) rc = ml_offset_index_lookup(&s->oi, after, &pos, err);
    while (rc == ML_OK && pos < s->size) {
        rc = ml_segment_read_header(s, pos, h, err);
        if (rc == ML_OK && h->max_timestamp >= ts) {
            *position = pos;
            return ML_OK;
        }
        pos += (uint32_t)ml_record_batch_size(h);
    }
    return rc < 0 ? rc : ml_err_set(err, ML_ENOENT, "no timestamp >= %lld in %s", (long long)ts, s->prefix);
}

int ml_segment_read_end(ml_segment *s, uint32_t start, int64_t max_bytes, uint32_t *end, ml_err *err) {
    ml_record_batch_hdr h;
    int rc = ml_segment_read_header(s, start, &h, err);
    if (rc < 0) return rc;
    uint32_t first_end = start + (uint32_t)ml_record_batch_size(&h);
    int64_t limit = (int64_t)start + (max_bytes > 0 ? max_bytes : 0);
    if (limit >= s->size) {
        *end = s->size;
        return ML_OK;
    }
    uint32_t pos = first_end;
    if (limit > first_end) {
        uint32_t indexed;
        rc = ml_offset_index_floor_position(&s->oi, (uint32_t)limit, &indexed, err);
        if (rc < 0) return rc;
        if (indexed > pos) pos = indexed;
        while (pos < s->size && ml_segment_read_header(s, pos, &h, err) == ML_OK &&
               (int64_t)pos + (int64_t)ml_record_batch_size(&h) <= limit)
            pos += (uint32_t)ml_record_batch_size(&h);
    }
    *end = pos;
    return ML_OK;
}

int64_t ml_segment_largest_timestamp(ml_segment *s) {
    if (!s->max_timestamp_known) {
        int64_t ts, off;
        if (ml_time_index_last(&s->ti, &ts, &off, NULL) == ML_OK) {
            s->max_timestamp = ts;
            s->offset_of_max_timestamp = off;
            s->max_timestamp_known = 1;
        }
    }
    if (s->max_timestamp >= 0) return s->max_timestamp;
    struct stat st;
    if (fstat(s->fd, &st) < 0) return s->created_ms;
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

int ml_segment_truncate(ml_segment *s, uint32_t position, int64_t next_offset, ml_err *err) {
    if (ftruncate(s->fd, position) < 0)
        return ml_err_set(err, ML_EIO, "ftruncate %s.log: %s", s->prefix, strerror(errno));
    s->size = position;
    s->next_offset = next_offset;
    int rc = ml_offset_index_truncate_to(&s->oi, next_offset, err);
    if (rc == ML_OK) rc = ml_time_index_truncate_to(&s->ti, next_offset, err);
    if (rc < 0) return rc;
    int64_t ts, off;
    ml_time_index_last(&s->ti, &ts, &off, NULL);
    s->max_timestamp = ts;
    s->offset_of_max_timestamp = off;
    s->max_timestamp_known = 1;
    if (position == 0) s->first_batch_timestamp = -1;
    s->bytes_since_index = 0;
    return ML_OK;
}

int ml_segment_seal(ml_segment *s, ml_err *err) {
    if (!s->active) return ML_OK;
    int rc = ml_time_index_maybe_append(&s->ti, s->max_timestamp, s->offset_of_max_timestamp, err);
    int rc2 = ml_index_file_trim(&s->oi.file, rc == ML_OK ? err : NULL);
    int rc3 = ml_index_file_trim(&s->ti.file, rc == ML_OK && rc2 == ML_OK ? err : NULL);
    s->active = 0;
    return rc < 0 ? rc : rc2 < 0 ? rc2 : rc3;
}

int ml_segment_flush(ml_segment *s, ml_err *err) {
    if (fdatasync(s->fd) < 0) return ml_err_set(err, ML_EIO, "fdatasync %s.log: %s", s->prefix, strerror(errno));
    int rc = ml_index_file_flush(&s->oi.file, err);
    return rc < 0 ? rc : ml_index_file_flush(&s->ti.file, err);
}

int ml_segment_close(ml_segment *s, ml_err *err) {
    int rc = ml_segment_seal(s, err);
    free_segment(s);
    return rc;
}

int ml_segment_delete(ml_segment *s, ml_err *err) {
    char path[4096];
    path_of(s, ".log", path, sizeof path);
    int rc = ML_OK;
    if (unlink(path) < 0 && errno != ENOENT) rc = ml_err_set(err, ML_EIO, "unlink %s: %s", path, strerror(errno));
    int rc2 = ml_index_file_delete(&s->oi.file, rc == ML_OK ? err : NULL);
    int rc3 = ml_index_file_delete(&s->ti.file, rc == ML_OK && rc2 == ML_OK ? err : NULL);
    /* The .log is unlinked: its last close frees its page cache, off the event loop. */
    ml_file_closer_close(s->fd);
    s->fd = -1;
    free_segment(s);
    return rc < 0 ? rc : rc2 < 0 ? rc2 : rc3;
}
