/* A fixed-size-entry index file kept memory-mapped, as Kafka keeps .index and .timeindex.
 *
 * The active segment's index is preallocated to its maximum size with ftruncate (a sparse file,
 * so no disk or memory is used until entries are written) and mapped read-write; on roll or
 * close it is trimmed to its real size. Indexes of older segments are mapped read-only, lazily,
 * on the first lookup, so an idle partition touches no index page at all. The file descriptor is
 * closed right after mmap: a mapping needs none, and the broker's fd budget goes to .log files.
 *
 * A preallocated file left by a crash ends in zero entries; `is_empty` tells an unused slot so
 * the real entry count is found by binary search (touching a few pages, not the whole file). */
#ifndef ML_STORAGE_INDEX_FILE_H
#define ML_STORAGE_INDEX_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef int (*ml_index_empty_fn)(const uint8_t *entry);

typedef struct ml_index_file {
    char *path;
    uint8_t *map;          /* NULL while not mapped */
    size_t map_len;
    uint32_t entry_size;
    uint32_t entries;
    uint32_t max_entries;  /* capacity of the mapping */
    int mapped;
    int writable;
    ml_index_empty_fn is_empty;
} ml_index_file;

/* No I/O: the file is opened on first use. */
int ml_index_file_init(ml_index_file *f, const char *path, uint32_t entry_size, ml_index_empty_fn is_empty,
                       ml_err *err);
/* Maps the file (creating it if absent); writable mappings are grown to `max_bytes`. */
int ml_index_file_map(ml_index_file *f, int writable, size_t max_bytes, ml_err *err);
/* Maps read-only unless already mapped. */
int ml_index_file_ensure(ml_index_file *f, ml_err *err);
static inline const uint8_t *ml_index_file_entry(const ml_index_file *f, uint32_t i) {
    return f->map + (size_t)i * f->entry_size;
}
static inline int ml_index_file_full(const ml_index_file *f) { return f->entries >= f->max_entries; }
/* Appends one entry to a writable mapping; ML_ETOOBIG when full (the caller rolls first). */
int ml_index_file_append(ml_index_file *f, const void *entry, ml_err *err);
/* Keeps the first `n` entries, zeroing the rest so a later crash cannot resurrect them. */
void ml_index_file_truncate(ml_index_file *f, uint32_t n);
/* Writes the mapped entries to disk. */
int ml_index_file_flush(ml_index_file *f, ml_err *err);
/* Shrinks the file to its entries and unmaps it (roll, close). */
int ml_index_file_trim(ml_index_file *f, ml_err *err);
/* Unmaps without trimming and frees the path. */
void ml_index_file_free(ml_index_file *f);
/* Unmaps and removes the file. */
int ml_index_file_delete(ml_index_file *f, ml_err *err);

#endif
