#include "broker/frame_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/buf.h"

void ml_frame_reader_init(ml_frame_reader *r, int32_t max_size) {
    memset(r, 0, sizeof *r);
    r->max_size = max_size;
}

void ml_frame_reader_free(ml_frame_reader *r) {
    free(r->stage);
    free(r->frame);
    memset(r, 0, sizeof *r);
}

/* One recv() into [buf, buf + want). Returns the bytes received (> 0), 0 to try again (EINTR),
 * or a negative ml_frame_status (AGAIN included). */
static long frame_recv(ml_frame_reader *r, int fd, uint8_t *buf, size_t want) {
    ssize_t n = recv(fd, buf, want, 0);
    if (n > 0) {
        if ((size_t)n < want) r->drained = 1;
        return (long)n;
    }
    if (n == 0) return ML_FRAME_EOF;
    if (errno == EINTR) return 0;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        r->drained = 1;
        return -100; /* ML_FRAME_AGAIN, kept apart from 0 = retry */
    }
    return ML_FRAME_ERROR;
}

static int status_of(long n) { return n == -100 ? ML_FRAME_AGAIN : (int)n; }

/* Parses the staged bytes: a whole small frame, or the start of a large one moved to its own
 * buffer. Returns READY, AGAIN (more bytes needed), TOO_BIG or NOMEM. */
static int frame_from_stage(ml_frame_reader *r, uint8_t **frame, int64_t *size) {
    size_t avail = r->stage_len - r->stage_pos;
    if (avail < 4) return ML_FRAME_AGAIN;
    const uint8_t *p = r->stage + r->stage_pos;
    int32_t n = (int32_t)ml_load_u32(p);
    if (n < 0 || n > r->max_size) {
        *size = n;
        return ML_FRAME_TOO_BIG;
    }
    if (avail - 4 >= (size_t)n) {
        uint8_t *f = malloc(n ? (size_t)n : 1);
        if (!f) return ML_FRAME_NOMEM;
        memcpy(f, p + 4, (size_t)n);
        r->stage_pos += 4 + (size_t)n;
        *frame = f;
        *size = n;
        return ML_FRAME_READY;
    }
    if ((size_t)n + 4 <= ML_FRAME_STAGE_SIZE) return ML_FRAME_AGAIN;
    r->frame = malloc((size_t)n);
    if (!r->frame) return ML_FRAME_NOMEM;
    memcpy(r->frame, p + 4, avail - 4);
    r->frame_size = (size_t)n;
    r->frame_have = avail - 4;
    r->stage_pos = r->stage_len = 0;
    return ML_FRAME_AGAIN;
}

int ml_frame_next(ml_frame_reader *r, int fd, uint8_t **frame, int64_t *size) {
    for (;;) {
        if (r->frame) {
            if (r->frame_have == r->frame_size) {
                *frame = r->frame;
                *size = (int64_t)r->frame_size;
                r->frame = NULL;
                return ML_FRAME_READY;
            }
            if (r->drained) return ML_FRAME_AGAIN;
            long n = frame_recv(r, fd, r->frame + r->frame_have, r->frame_size - r->frame_have);
            if (n < 0) return status_of(n);
            r->frame_have += (size_t)n;
            continue;
        }
        int rc = frame_from_stage(r, frame, size);
        if (rc != ML_FRAME_AGAIN) return rc;
        if (r->frame) continue;
        if (r->drained) return ML_FRAME_AGAIN;
        if (!r->stage && !(r->stage = malloc(ML_FRAME_STAGE_SIZE))) return ML_FRAME_NOMEM;
        /* Keep the unparsed tail at the start, so a small frame always fits once complete. */
        if (r->stage_pos > 0) {
            memmove(r->stage, r->stage + r->stage_pos, r->stage_len - r->stage_pos);
            r->stage_len -= r->stage_pos;
            r->stage_pos = 0;
        }
        long n = frame_recv(r, fd, r->stage + r->stage_len, ML_FRAME_STAGE_SIZE - r->stage_len);
        if (n < 0) return status_of(n);
        r->stage_len += (size_t)n;
    }
}
