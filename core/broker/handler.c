#include "broker/handler.h"

#include <string.h>

#include "common/error.h"

int ml_topic_from_slice(ml_slice s, char out[ML_TOPIC_NAME_MAX + 1]) {
    if (s.len <= 0 || s.len > ML_TOPIC_NAME_MAX || memchr(s.ptr, 0, (size_t)s.len)) return -1;
    memcpy(out, s.ptr, (size_t)s.len);
    out[s.len] = 0;
    return 0;
}

void *ml_req_array(ml_request *req, int32_t n, size_t elem_size) {
    return ml_arena_alloc(&req->arena, (n > 0 ? (size_t)n : 1) * elem_size);
}

ml_slice ml_req_string(ml_request *req, const char *s) {
    ml_slice out = {NULL, -1};
    if (!s) return out;
    size_t n = strlen(s);
    char *p = ml_arena_alloc(&req->arena, n + 1);
    if (!p) return out;
    memcpy(p, s, n);
    out.ptr = (const uint8_t *)p;
    out.len = (int32_t)n;
    return out;
}

int ml_req_finish(ml_request *req, ml_writer *w) {
    if (w->err) {
        ml_writer_free(w);
        return ML_ENOMEM;
    }
    ml_request_respond(req, w);
    ml_writer_free(w);
    return 0;
}
