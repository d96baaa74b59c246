/* The producer's internals, shared by producer.c (the API, caller threads), accumulator.c
 * (batches), sender.c (the I/O thread), connection.c (one broker connection) and metadata.c.
 *
 * Locking: one mutex, p->mu, guards the accumulator (topics, partitions, queued batches),
 * the metadata (nodes, partition counts, leaders) and the counters of pending work. Caller
 * threads hold it only to append; the I/O thread holds it to drain and to update metadata, never
 * while calling plugins, callbacks or the network. A batch taken out of its partition's queue
 * belongs to the I/O thread alone until it is completed or put back. Connections are touched by
 * the I/O thread only. With a partitioner plugin, records wait in per-thread staging lists
 * (staging.c: the lists are p->mu's, each list's drain_mu is taken before p->mu). */
#ifndef ML_CLIENT_PRODUCER_INT_H
#define ML_CLIENT_PRODUCER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "client/producer_config.h"
#include "common/buf.h"
#include "moonlog/plugin.h"
#include "moonlog/producer.h"

struct event_base;
struct event;
typedef struct ml_conn ml_conn;

enum { ML_DELIVER_NONE, ML_DELIVER_CB, ML_DELIVER_QUEUE, ML_DELIVER_SYNC };

typedef struct ml_sync {
    int done;
    moonlog_record_metadata md;
    moonlog_error err;
} ml_sync;

/* What completing one record needs. */
typedef struct ml_prec {
    int64_t timestamp;
    int64_t generation;
    int mode;
    moonlog_delivery_cb cb;
    void *opaque; /* the callback's argument, or the ml_sync */
    uint64_t token;
} ml_prec;

typedef struct ml_tp ml_tp;

typedef struct ml_batch {
    struct ml_batch *next;
    ml_tp *tp;
    ml_writer recs; /* room for the 61-byte header, then the encoded records (uncompressed) */
    int32_t count;
    int64_t base_ts, max_ts;
    int64_t created_ms;  /* monotonic: linger.ms and delivery.timeout.ms count from here */
    int64_t ready_ms;    /* not sent again before this (retry backoff) */
    int attempts;        /* how many times it was sent */
    int full;            /* no more records go in */
    int in_flight;       /* taken by the I/O thread (counted in tp->in_flight) */
    size_t mem;          /* bytes counted in buffer.memory */
    ml_prec *precs;
    int32_t cap;
    uint8_t *wire; /* the whole batch as sent, built at the first send */
    size_t wire_len;
    size_t wire_cap; /* its allocation, when it is the records' buffer itself (uncompressed) */
} ml_batch;

typedef struct ml_topic ml_topic;

struct ml_tp {
    ml_topic *topic;
    int32_t partition;
    int32_t leader; /* -1 when unknown */
    ml_batch *head, *tail;
    int in_flight; /* batches of this partition in flight */
    int64_t queued_bytes;  /* buffer.memory bytes of the batches waiting in the queue */
    double latency_ms;     /* moving average of Produce round trips for this partition, -1 before one */
};

struct ml_topic {
    ml_topic *next;
    char *name;
    int32_t n_partitions; /* 0 until metadata told */
    ml_tp **parts;
    int16_t error;        /* the last metadata error for the topic */
    int32_t sticky;       /* the built-in partitioner's current partition for keyless records, -1 */
};

typedef struct ml_node {
    int32_t id; /* bootstrap entries get -1, -2, ... until metadata names the brokers */
    char host[256];
    int port;
    ml_conn *conn; /* I/O thread only */
} ml_node;

/* A record whose partitioner failed after send() accepted it: the I/O thread completes it. */
typedef struct ml_failed {
    ml_prec prec;
    const char *topic; /* the ml_topic's name (topics live as long as the producer) */
    size_t mem;
    moonlog_error err;
} ml_failed;

typedef struct ml_stage ml_stage;

typedef struct ml_counters {
    _Atomic int64_t sent, failed, retried, requests;
} ml_counters;

struct moonlog_producer {
    ml_pconf conf;
    char **given;
    moonlog_plugin *partitioner, *key_ser, *value_ser, *retry;

    pthread_mutex_t mu;
    pthread_cond_t meta_cv;  /* metadata arrived */
    pthread_cond_t mem_cv;   /* buffer memory released */
    pthread_cond_t done_cv;  /* records completed (flush, close, send_sync) */

    ml_topic *topics;
    ml_node *nodes;
    int n_nodes, cap_nodes;
    int n_bootstrap;
    /* atomic: a staged send() counts its record without p->mu (staging.c); every other change
     * still happens under p->mu, so waiters on mem_cv and done_cv miss no wake-up */
    _Atomic int64_t buffer_used;
    _Atomic int64_t pending; /* records accepted and not completed */
    int flushing;            /* > 0: every batch is ready now */
    atomic_int closing;      /* no more sends (set under p->mu; read without it by a staged send) */
    int aborting;            /* close(timeout) passed its deadline: fail what is left */
    int stopping;            /* the I/O thread must exit */
    int stopped;             /* moonlog_producer_stop done */
    uint64_t id;             /* unique in the process: a thread's cached stage names its producer by it */
    ml_stage *stages;        /* one per thread that sent with the partitioner plugin (staging.c) */
    ml_failed *failed;       /* partitioner failures waiting for the I/O thread to complete them */
    ml_writer pool[4];       /* buffers of completed batches, for the next batches: a fresh 1 MB
                                buffer costs page faults, ~a quarter of a sending thread's time */
    int n_pool;
    int n_failed, cap_failed;
    atomic_int metadata_wanted; /* a caller waits for a topic's metadata, or a leader moved */
    int64_t metadata_next_ms; /* a wanted Metadata request is not sent before (retry.backoff.ms apart) */
    int64_t metadata_last_ms;
    int bootstrap_next;

    /* delivery reports for moonlog_producer_poll */
    pthread_mutex_t q_mu;
    moonlog_delivery *q;
    int q_len, q_cap;

    /* the I/O thread */
    pthread_t thread;
    int thread_started;
    int wake_fd;
    atomic_int wake_pending;
    struct event_base *base;
    struct event *wake_ev, *timer_ev;
    struct ml_hot_reload *reload; /* watches the plugin files (core/lua/hot_reload.c) */
    int metadata_in_flight;
    ml_counters n;
};

/* accumulator.c (callers hold p->mu unless said otherwise) */
ml_topic *ml_acc_topic(moonlog_producer *p, const char *name, int create);
int ml_acc_set_partitions(ml_topic *t, int32_t n);
/* Bytes a record takes in buffer.memory (and about in a batch). */
size_t ml_acc_record_size(const void *key, int32_t key_len, const void *value, int32_t value_len,
                          const moonlog_header *h, int32_t n_headers);
/* Appends one record to the partition's open batch; *new_batch set when one was opened,
 * *now_full when a batch of the partition filled up: the one appended to, or the open one this
 * record did not fit in (what a sticky partitioner moves on at). */
int ml_acc_append(moonlog_producer *p, ml_tp *tp, const void *key, int32_t key_len, const void *value,
                  int32_t value_len, const moonlog_header *h, int32_t n_headers, const ml_prec *prec, size_t mem,
                  int *new_batch, int *now_full);
/* the flags of ml_acc_append_tail (client/batch_append.h) */
#define ML_ACC_NEW_BATCH 1
#define ML_ACC_FULL 2
/* Builds the wire form of a batch (once); no lock needed (the batch is the I/O thread's). */
int ml_acc_build(moonlog_producer *p, ml_batch *b, moonlog_error *err);
void ml_acc_batch_free(ml_batch *b);
/* Under p->mu: keeps the batch's buffer for a later batch (or frees it), then frees the batch. */
void ml_acc_batch_recycle(moonlog_producer *p, ml_batch *b);
void ml_acc_free_all(moonlog_producer *p);

/* Takes mem bytes of buffer.memory if they fit (without p->mu); 1 when taken. */
static inline int ml_buffer_take(moonlog_producer *p, int64_t mem) {
    int64_t cur = atomic_load_explicit(&p->buffer_used, memory_order_relaxed);
    while (cur + mem <= p->conf.buffer_memory)
        if (atomic_compare_exchange_weak(&p->buffer_used, &cur, cur + mem)) return 1;
    return 0;
}

/* staging.c: with a partitioner plugin, send() stages records (serialized, counted in
 * buffer.memory and pending) and they are partitioned in one plugin call per list. */
/* Under p->mu: the calling thread's stage (created on first use), NULL when out of memory. */
ml_stage *ml_stage_get(moonlog_producer *p);
/* Under p->mu, with the record's buffer.memory taken: copies the record into the stage and counts
 * it pending; 1 when the list should be partitioned now (full), 0 when it can wait, or an error
 * (nothing staged or counted). The stage remembers t for ml_stage_try. key_len (value_len) is -1
 * exactly when key (value) is NULL, as send() normalizes them. */
int ml_stage_push(moonlog_producer *p, ml_stage *s, ml_topic *t, const ml_prec *prec, size_t mem, const void *key,
                  int32_t key_len, const void *value, int32_t value_len, const moonlog_header *h, int32_t n_headers);
/* Without p->mu: stages the record as ml_stage_push does when this thread's stage last staged to
 * the same topic (its metadata is known: partitions are never removed), the producer is not
 * closing and buffer.memory has room: the common case takes no lock another sender waits for.
 * ML_STAGE_LOCKED when the caller must take the locked path (nothing done); *s is the stage. */
#define ML_STAGE_LOCKED 2
int ml_stage_try(moonlog_producer *p, const char *topic, const ml_prec *prec, size_t mem, const void *key,
                 int32_t key_len, const void *value, int32_t value_len, const moonlog_header *h, int32_t n_headers,
                 ml_stage **s);
/* Without p->mu: partitions and appends everything staged in `s`, in order. The calling
 * thread's own stage (NULL: none yet) when p is not given one. */
void ml_stage_drain(moonlog_producer *p, ml_stage *s);
void ml_stage_drain_own(moonlog_producer *p);
/* I/O thread, without p->mu: drains the lists whose oldest record waited long enough (all of them
 * when flushing or closing); lowers *next to when the next one is due. */
void ml_stage_run(moonlog_producer *p, int64_t now, int64_t *next);
void ml_stage_free_all(moonlog_producer *p);
/* producer.c: what partitioners may ask about the cluster (each takes p->mu). */
struct ml_cluster_ops;
void ml_producer_cluster_ops(moonlog_producer *p, struct ml_cluster_ops *ops);

/* sender.c (I/O thread) */
int ml_sender_start(moonlog_producer *p, moonlog_error *err);
void ml_sender_wake(moonlog_producer *p); /* any thread */
void ml_sender_join(moonlog_producer *p);
/* Completes every record of `b` with success (err NULL) or `err`, releases its memory and frees
 * it. Called without p->mu. base_offset/log_append_time as the broker answered. */
void ml_sender_complete(moonlog_producer *p, ml_batch *b, int64_t base_offset, int64_t log_append_time,
                        const moonlog_error *err);
/* A batch that failed with a (maybe) retriable error: back to its partition after the retry
 * policy's delay, or failed. Called without p->mu. */
void ml_sender_retry_or_fail(moonlog_producer *p, ml_batch *b, int code, const char *msg);
void ml_sender_run(moonlog_producer *p);

/* connection.c (I/O thread) */
ml_conn *ml_conn_new(moonlog_producer *p, ml_node *node);
int ml_conn_ready(const ml_conn *c);
int ml_conn_in_flight(const ml_conn *c);
int ml_conn_writable(const ml_conn *c); /* not too many bytes waiting for the socket */
int ml_conn_failed_recently(const ml_conn *c, int64_t now_ms);
int ml_conn_connecting(const ml_conn *c);
/* Starts connecting (host and port copied); does not take p->mu. */
void ml_conn_connect(ml_conn *c, const char *host, int port, int64_t now_ms);
/* Sends a Produce request carrying `batches` (built); takes them over. */
void ml_conn_send_produce(ml_conn *c, ml_batch **batches, int n);
void ml_conn_send_metadata(ml_conn *c);
/* Fails what is in flight with `code` (retriable errors go to the retry policy) and closes;
 * does not take p->mu. */
void ml_conn_close(ml_conn *c, int code, const char *why);
void ml_conn_check_timeouts(ml_conn *c, int64_t now_ms);
void ml_conn_free(ml_conn *c);

/* metadata.c */
int ml_metadata_nodes_init(moonlog_producer *p, moonlog_error *err);
ml_node *ml_metadata_node(moonlog_producer *p, int32_t id);
/* Decodes a Metadata response and updates topics and nodes (takes p->mu). */
int ml_metadata_apply(moonlog_producer *p, const uint8_t *body, size_t len, int16_t version);
/* Encodes a Metadata request for every known topic (takes p->mu). */
void ml_metadata_encode_request(moonlog_producer *p, ml_writer *w, int16_t version);



#endif
