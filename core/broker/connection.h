/* One client connection: Kafka framing (a 4-byte size before each request), the per-connection
 * response queue that keeps answers in request order, and back-pressure when a client reads its
 * responses slower than it sends requests. */
#ifndef ML_BROKER_CONNECTION_H
#define ML_BROKER_CONNECTION_H

#include <sys/queue.h>

#include "broker/frame_reader.h"
#include "broker/request.h"

struct bufferevent;
struct event;
struct sockaddr;
struct ml_server;

typedef struct ml_conn {
    struct ml_server *server;
    struct bufferevent *bev;          /* writes responses */
    struct event *read_ev;            /* readability of the socket, with the idle timeout */
    ml_frame_reader reader;
    char peer[64];                    /* "ip:port" for log lines */
    TAILQ_HEAD(, ml_request) queue;   /* requests in arrival order, answered from the head */
    int queued;
    int read_paused;
    int draining;                     /* the broker is stopping: no more reads, answers still go out */
    TAILQ_ENTRY(ml_conn) link;
} ml_conn;

/* Takes ownership of the accepted socket `fd`. */
int ml_conn_open(struct ml_server *server, int fd, const struct sockaddr *addr, int addrlen);
/* Closes the connection, cancelling its pending requests; logs `reason` when not NULL. */
void ml_conn_close(ml_conn *conn, const char *reason);
/* Called when a request at any position in the queue became done: writes what is in order. */
void ml_conn_flush(ml_conn *conn);
/* The broker is stopping: reads no more requests; what is answered already still goes out. */
void ml_conn_drain(ml_conn *conn);
/* Bytes of answers not written to the socket yet. */
size_t ml_conn_unsent(const ml_conn *conn);

#endif
