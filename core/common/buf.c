#include "common/buf.h"

#include <stdlib.h>

void ml_writer_init(ml_writer *w, size_t initial_cap) {
    w->data = NULL;
    w->len = 0;
    w->cap = 0;
    w->err = 0;
    if (initial_cap) ml_writer_reserve(w, initial_cap);
}

void ml_writer_free(ml_writer *w) {
    free(w->data);
    w->data = NULL;
    w->len = w->cap = 0;
}

void ml_writer_reset(ml_writer *w) {
    w->len = 0;
    w->err = 0;
}

int ml_writer_reserve(ml_writer *w, size_t extra) {
    if (w->err) return 0;
    if (w->len + extra <= w->cap) return 1;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + extra) cap *= 2;
    uint8_t *p = realloc(w->data, cap);
    if (!p) {
        w->err = 1;
        return 0;
    }
    w->data = p;
    w->cap = cap;
    return 1;
}

uint8_t *ml_writer_steal(ml_writer *w, size_t *len) {
    uint8_t *p = w->data;
    if (len) *len = w->len;
    w->data = NULL;
    w->len = w->cap = 0;
    return p;
}
