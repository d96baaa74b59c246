#include "storage/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_lines(FILE *f, const ml_checkpoint_entry *entries, int n) {
    if (fprintf(f, "0\n%d\n", n) < 0) return -1;
    for (int i = 0; i < n; i++)
        if (fprintf(f, "%s %d %lld\n", entries[i].topic, entries[i].partition, (long long)entries[i].offset) < 0)
            return -1;
    return fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
}

/* The rename is durable only once the directory entry is. */
static int sync_parent(const char *path, ml_err *err) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ml_err_set(err, ML_EIO, "open %s: %s", dir, strerror(errno));
    int rc = fsync(fd) < 0 ? ml_err_set(err, ML_EIO, "fsync %s: %s", dir, strerror(errno)) : ML_OK;
    close(fd);
    return rc;
}

int ml_checkpoint_write(const char *path, const ml_checkpoint_entry *entries, int n, ml_err *err) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f) return ml_err_set(err, ML_EIO, "create %s: %s", tmp, strerror(errno));
    int failed = write_lines(f, entries, n);
    int e = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        e = errno;
    }
    if (failed) {
        unlink(tmp);
        return ml_err_set(err, ML_EIO, "write %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) < 0) return ml_err_set(err, ML_EIO, "rename %s: %s", tmp, strerror(errno));
    return sync_parent(path, err);
}

static int read_entries(FILE *f, const char *path, ml_checkpoint_entry **entries, int *n, ml_err *err) {
    int version, count;
    if (fscanf(f, "%d %d", &version, &count) != 2 || version != 0 || count < 0 || count > 10000000)
        return ml_err_set(err, ML_ECORRUPT, "%s: bad checkpoint header", path);
    ml_checkpoint_entry *e = calloc((size_t)count + 1, sizeof *e);
    if (!e) return ml_err_set(err, ML_ENOMEM, "out of memory");
    for (int i = 0; i < count; i++) {
        long long off;
        if (fscanf(f, "%255s %d %lld", e[i].topic, &e[i].partition, &off) != 3) {
            free(e);
            return ml_err_set(err, ML_ECORRUPT, "%s: entry %d of %d is malformed", path, i + 1, count);
        }
        e[i].offset = off;
    }
    *entries = e;
    *n = count;
    return ML_OK;
}

int ml_checkpoint_read(const char *path, ml_checkpoint_entry **entries, int *n, ml_err *err) {
    *entries = NULL;
    *n = 0;
    FILE *f = fopen(path, "re");
    if (!f && errno == ENOENT) return ML_OK;
    if (!f) return ml_err_set(err, ML_EIO, "open %s: %s", path, strerror(errno));
    int rc = read_entries(f, path, entries, n, err);
    fclose(f);
    return rc;
}

void ml_checkpoint_free(ml_checkpoint_entry *entries) { free(entries); }

int64_t ml_checkpoint_find(const ml_checkpoint_entry *entries, int n, const char *topic, int32_t partition,
                           int64_t dflt) {
    for (int i = 0; i < n; i++)
        if (entries[i].partition == partition && strcmp(entries[i].topic, topic) == 0) return entries[i].offset;
    return dflt;
}
