/* A bump allocator for the life of one request: decoded messages point into it and into the
 * request bytes, and everything is released at once when the response is sent. */
#ifndef ML_COMMON_ARENA_H
#define ML_COMMON_ARENA_H

#include <stddef.h>

typedef struct ml_arena_block ml_arena_block;

typedef struct ml_arena {
    ml_arena_block *head;
    size_t block_size;
} ml_arena;

void ml_arena_init(ml_arena *a, size_t block_size);
/* Zeroed memory aligned for any type; NULL when out of memory. */
void *ml_arena_alloc(ml_arena *a, size_t size);
void ml_arena_free(ml_arena *a);

#endif
