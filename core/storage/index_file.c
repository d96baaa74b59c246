#include "storage/index_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int ml_index_file_init(ml_index_file *f, const char *path, uint32_t entry_size, ml_index_empty_fn is_empty,
                       ml_err *err) {
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path) return ml_err_set(err, ML_ENOMEM, "out of memory");
    f->entry_size = entry_size;
    f->is_empty = is_empty;
    return ML_OK;
}

static void unmap(ml_index_file *f) {
    if (f->map) munmap(f->map, f->map_len);
    f->map = NULL;
    f->map_len = 0;
    f->mapped = 0;
    f->writable = 0;
}

/* Entries are written in order, so used slots come first and unused (zero) ones after. */
static uint32_t count_entries(const ml_index_file *f, uint32_t slots) {
    uint32_t lo = 0, hi = slots;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->is_empty(ml_index_file_entry(f, mid))) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static int map_fd(ml_index_file *f, int fd, size_t size, int writable, size_t max_bytes, ml_err *err) {
    size_t len = size;
    if (writable) {
        len = max_bytes > size ? max_bytes : size;
        len -= len % f->entry_size;
        if (len != size && ftruncate(fd, (off_t)len) < 0)
            return ml_err_set(err, ML_EIO, "ftruncate %s: %s", f->path, strerror(errno));
    }
    if (len > 0) {
        void *m = mmap(NULL, len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) return ml_err_set(err, ML_EIO, "mmap %s: %s", f->path, strerror(errno));
        f->map = m;
    }
    f->map_len = len;
    f->max_entries = (uint32_t)(len / f->entry_size);
    f->entries = count_entries(f, (uint32_t)(size / f->entry_size));
    f->writable = writable;
    f->mapped = 1;
    return ML_OK;
}

int ml_index_file_map(ml_index_file *f, int writable, size_t max_bytes, ml_err *err) {
    if (f->mapped) {
        if (f->writable == writable) return ML_OK;
        int rc = ml_index_file_trim(f, err);
        if (rc < 0) return rc;
    }
    int fd = open(f->path, (writable ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
    if (fd < 0 && !writable && errno == ENOENT) {
        f->mapped = 1; /* a missing index of a read-only segment is an empty one */
        f->entries = f->max_entries = 0;
        return ML_OK;
    }
    if (fd < 0) return ml_err_set(err, ML_EIO, "open %s: %s", f->path, strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? ml_err_set(err, ML_EIO, "fstat %s: %s", f->path, strerror(errno))
                                : map_fd(f, fd, (size_t)st.st_size, writable, max_bytes, err);
    close(fd);
    return rc;
}

int ml_index_file_ensure(ml_index_file *f, ml_err *err) {
    return f->mapped ? ML_OK : ml_index_file_map(f, 0, 0, err);
}

int ml_index_file_append(ml_index_file *f, const void *entry, ml_err *err) {
    if (!f->writable) return ml_err_set(err, ML_EINVAL, "%s: index is not writable", f->path);
    if (f->entries >= f->max_entries) return ml_err_set(err, ML_ETOOBIG, "%s: index full", f->path);
    memcpy(f->map + (size_t)f->entries * f->entry_size, entry, f->entry_size);
    f->entries++;
    return ML_OK;
}

void ml_index_file_truncate(ml_index_file *f, uint32_t n) {
    if (n >= f->entries) return;
    if (f->writable)
        memset(f->map + (size_t)n * f->entry_size, 0, (size_t)(f->entries - n) * f->entry_size);
    f->entries = n;
}

int ml_index_file_flush(ml_index_file *f, ml_err *err) {
    if (!f->writable || !f->map) return ML_OK;
    if (msync(f->map, f->map_len, MS_SYNC) < 0)
        return ml_err_set(err, ML_EIO, "msync %s: %s", f->path, strerror(errno));
    return ML_OK;
}

int ml_index_file_trim(ml_index_file *f, ml_err *err) {
    if (!f->mapped) return ML_OK;
    int was_writable = f->writable;
    int rc = ml_index_file_flush(f, err);
    unmap(f);
    if (rc < 0) return rc;
    if (was_writable && truncate(f->path, (off_t)f->entries * f->entry_size) < 0)
        return ml_err_set(err, ML_EIO, "truncate %s: %s", f->path, strerror(errno));
    return ML_OK;
}

void ml_index_file_free(ml_index_file *f) {
    unmap(f);
    free(f->path);
    f->path = NULL;
}

int ml_index_file_delete(ml_index_file *f, ml_err *err) {
    unmap(f);
    f->entries = 0;
    if (unlink(f->path) < 0 && errno != ENOENT)
        return ml_err_set(err, ML_EIO, "unlink %s: %s", f->path, strerror(errno));
    return ML_OK;
}
