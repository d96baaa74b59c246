/* Reads Kafka's size-prefixed frames from a non-blocking socket with as few system calls as
 * possible: small requests are parsed out of one staging buffer filled by large recv() calls;
 * a frame bigger than the staging buffer is received straight into its own allocation (no copy
 * through an intermediate buffer). After a recv() that returned less than asked, the socket is
 * taken as drained until the caller says it is readable again (no extra recv() just to see
 * EAGAIN, no FIONREAD per wake-up as libevent's bufferevents do).
 *
 * Threading: one reader per connection, used from the broker's event loop only. */
#ifndef ML_BROKER_FRAME_READER_H
#define ML_BROKER_FRAME_READER_H

#include <stddef.h>
#include <stdint.h>

#define ML_FRAME_STAGE_SIZE (16 * 1024)

enum ml_frame_status {
    ML_FRAME_READY = 1,     /* *frame holds a whole request (malloc'd, the caller frees it) */
    ML_FRAME_AGAIN = 0,     /* nothing more until the socket is readable again */
    ML_FRAME_EOF = -1,      /* the peer closed the connection */
    ML_FRAME_ERROR = -2,    /* recv() failed: errno says why */
    ML_FRAME_TOO_BIG = -3,  /* the size prefix is negative or above the limit */
    ML_FRAME_NOMEM = -4,
};

typedef struct ml_frame_reader {
    uint8_t *stage;      /* ML_FRAME_STAGE_SIZE bytes, allocated on first use */
    size_t stage_len;    /* bytes received into stage */
    size_t stage_pos;    /* bytes of stage already handed out */
    uint8_t *frame;      /* a large frame being received directly */
    size_t frame_size;
    size_t frame_have;
    int32_t max_size;    /* socket.request.max.bytes */
    int drained;         /* the last recv() came back short: wait for readability */
} ml_frame_reader;

void ml_frame_reader_init(ml_frame_reader *r, int32_t max_size);
void ml_frame_reader_free(ml_frame_reader *r);
/* The socket became readable: the next call may recv() again. */
static inline void ml_frame_reader_readable(ml_frame_reader *r) { r->drained = 0; }
/* The next whole frame (without its size prefix). On ML_FRAME_TOO_BIG, *size is the size the
 * peer announced. */
int ml_frame_next(ml_frame_reader *r, int fd, uint8_t **frame, int64_t *size);

#endif
