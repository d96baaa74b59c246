#include "common/arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

struct ml_arena_block {
    ml_arena_block *next;
    size_t used;
    size_t cap;
    alignas(max_align_t) unsigned char data[];
};

void ml_arena_init(ml_arena *a, size_t block_size) {
    a->head = NULL;
    a->block_size = block_size ? block_size : 4096;
}

void *ml_arena_alloc(ml_arena *a, size_t size) {
    size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    ml_arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > a->block_size ? size : a->block_size;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

void ml_arena_free(ml_arena *a) {
    ml_arena_block *b = a->head;
    while (b) {
        ml_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}
