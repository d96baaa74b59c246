/* moonlog producer: the public C API of libmoonlog's Kafka producer.
 *
 * The model is the Java producer's. A producer is created from a configuration written with
 * Kafka's property names; send() serializes (serializer plugin) and partitions a record in the
 * calling thread, appends it to its partition's batch and returns (a partitioner plugin runs on
 * a list of records at a time, see core/lua/HOOKS.md: the record waits in its thread's list,
 * already counted in buffer.memory, until the list is partitioned); one
 * I/O thread per producer sends batches when they are full (batch.size) or old enough
 * (linger.ms) and completes every record exactly once, with its metadata or an error.
 *
 * Threads: every function taking a moonlog_producer may be called from any thread at the same
 * time, except moonlog_producer_close*, which must be called once, after the other calls
 * returned. Delivery callbacks run on the producer's I/O thread: they MUST NOT block for long and
 * MUST NOT call flush/close/send_sync of the same producer. send and send_queued are allowed
 * there and never wait: what would block (no metadata yet, buffer.memory full) fails at once.
 *
 * Errors: functions return 0 on success or a moonlog error code (below) and fill the caller's
 * moonlog_error when one is passed. A code >= -1 other than 0 is a Kafka protocol error code
 * (Kafka's numbers and names: 6 NOT_LEADER_OR_FOLLOWER, 10 MESSAGE_TOO_LARGE, ...); codes
 * <= -100 are the client's own. `retriable` follows Kafka's classification; only retriable
 * errors are ever retried (through the retry policy), the others fail the record at once. */
#ifndef MOONLOG_PRODUCER_H
#define MOONLOG_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Client-side error codes (Kafka's own codes are used as they are for broker errors). */
enum moonlog_errcode {
    MOONLOG_OK = 0,
    MOONLOG_ERR_TIMED_OUT = -100,        /* delivery.timeout.ms passed, or close(timeout)'s deadline */
    MOONLOG_ERR_BUFFER_EXHAUSTED = -101, /* buffer.memory stayed full for max.block.ms */
    MOONLOG_ERR_SERIALIZATION = -102,    /* the serializer failed or returned a bad value */
    MOONLOG_ERR_PARTITIONER = -103,      /* the partitioner failed or returned a bad partition */
    MOONLOG_ERR_PLUGIN_TIMEOUT = -104,   /* a plugin ran longer than plugin.timeout.ms */
    MOONLOG_ERR_CLOSED = -105,           /* the producer is closing or closed */
    MOONLOG_ERR_INVALID_CONFIG = -106,   /* unknown configuration key or bad value */
    MOONLOG_ERR_UNKNOWN_TOPIC = -107,    /* topic not in metadata after max.block.ms */
    MOONLOG_ERR_INVALID_ARG = -108,      /* a record field out of range (partition, topic) */
    MOONLOG_ERR_RETRY_POLICY = -109,     /* the retry policy plugin failed: the record fails */
    MOONLOG_ERR_NETWORK = -110,          /* no connection (retriable): what a retry gives up on */
};

typedef struct moonlog_error {
    int code;            /* 0 when no error */
    int retriable;       /* 1 when Kafka would retry this error */
    char name[48];       /* "NOT_LEADER_OR_FOLLOWER", "BUFFER_EXHAUSTED", ... */
    char message[256];   /* what happened, naming the plugin and its line for plugin errors */
} moonlog_error;

/* The name of a code: a Kafka error name or the client-side name without MOONLOG_ERR_. */
const char *moonlog_err_name(int code);

/* ---- Configuration ---------------------------------------------------------------------- */

typedef struct moonlog_config moonlog_config;

moonlog_config *moonlog_config_new(void);
/* Checks and stores one property. Keys (Kafka's names and defaults unless said otherwise):
 *   bootstrap.servers      host:port[,host:port...]   required; one reachable broker is enough
 *   client.id              string                     "moonlog-producer"
 *   acks                   0 | 1 | all | -1           all
 *   retries                0 .. 2147483647            2147483647
 *   retry.backoff.ms       >= 0                       100
 *   delivery.timeout.ms    >= linger.ms + request.timeout.ms   120000
 *   request.timeout.ms     >= 1                       30000
 *   batch.size             >= 0 (0 = one record per batch)     16384
 *   linger.ms              >= 0                       5  (Kafka 4.0's default)
 *   buffer.memory          >= 1024                    33554432
 *   max.block.ms           >= 0                       60000
 *   max.request.size       >= 1                       1048576
 *   max.in.flight.requests.per.connection  >= 1       5; 1 keeps order across retries
 *   compression.type       none | gzip | snappy | lz4 | zstd   none
 *   key.serializer, value.serializer   plugin name or path (plugins/serializers/)   bytes, built in
 *   partitioner            plugin name or path (plugins/partitioners/), or "default": murmur2
 *                          of the key like the Java client, sticky for keyless records (built in)
 *   retry.policy           plugin name or path (plugins/retry/), or "default": exponential
 *                          backoff with jitter from retry.backoff.ms to retry.backoff.max.ms (built in)
 *   retry.backoff.max.ms   >= retry.backoff.ms        1000
 *   send.buffer.bytes, receive.buffer.bytes   -1 (system default) or >= 0    131072 / 32768
 *   metadata.max.age.ms    >= 0                       300000
 *   reconnect.backoff.ms   >= 0                       50
 *   plugin.path            directories searched for plugin names, ':'-separated
 *                          (before $MOONLOG_PLUGIN_PATH and the plugins/ shipped with the library)
 *   plugin.unsafe          true | false: give plugins io, os, require, load*   false
 *   plugin.timeout.ms      >= 0: a plugin call running longer fails its record; 0 = no limit.
 *                          When > 0 plugins run interpreted (see core/lua/HOOKS.md)    0
 *   plugin.reload.interval.ms  >= 0: plugin files are watched (inotify) and also checked this
 *                          often; 0 = no hot reload                                        1000
 * An unknown key or a bad value returns MOONLOG_ERR_INVALID_CONFIG with a message naming the key,
 * the value and what is allowed. Cross-key checks happen in moonlog_producer_new. */
int moonlog_config_set(moonlog_config *c, const char *key, const char *value, moonlog_error *err);
void moonlog_config_free(moonlog_config *c);

/* ---- Records ---------------------------------------------------------------------------- */

#define MOONLOG_PARTITION_ANY (-1)  /* let the partitioner choose */
#define MOONLOG_TIMESTAMP_NOW (-1)  /* stamp the record with the current time at send() */

typedef struct moonlog_header {
    const char *key;    /* not NULL */
    const void *value;  /* NULL = null value */
    int32_t value_len;
} moonlog_header;

typedef struct moonlog_record {
    const char *topic;
    int32_t partition;       /* MOONLOG_PARTITION_ANY or a partition of the topic */
    const void *key;         /* NULL = null key (the partitioner's keyless case) */
    int32_t key_len;
    const void *value;       /* NULL = null value (a tombstone) */
    int32_t value_len;
    const moonlog_header *headers;
    int32_t n_headers;
    int64_t timestamp;       /* ms since the epoch, or MOONLOG_TIMESTAMP_NOW */
} moonlog_record;

/* send() copies everything it needs: the record's memory may be reused when send() returns. */

typedef struct moonlog_record_metadata {
    const char *topic;       /* valid during the callback only */
    int32_t partition;
    int64_t offset;          /* -1 when acks=0 (the broker does not answer) */
    int64_t timestamp;       /* the record's CreateTime, or the broker's LogAppendTime */
    int64_t partitioner_generation; /* which load of the partitioner plugin placed it (0 = built in
                                       or an explicit partition); grows on every hot reload */
} moonlog_record_metadata;

/* Called exactly once per accepted record, on the I/O thread. `err` is NULL on success; on
 * failure `md` still tells the topic and the partition (-1 when none was chosen). */
typedef void (*moonlog_delivery_cb)(const moonlog_record_metadata *md, const moonlog_error *err, void *opaque);

/* ---- Producer --------------------------------------------------------------------------- */

typedef struct moonlog_producer moonlog_producer;

/* Creates a producer and starts its I/O thread; does not wait for a connection (brokers are
 * contacted on first use). `c` is not kept: free it after the call. */
int moonlog_producer_new(const moonlog_config *c, moonlog_producer **out, moonlog_error *err);

/* Sends a record. Returns at once after appending it to its batch; waits (up to max.block.ms)
 * only for the first metadata of a topic and for room in buffer.memory. Exactly one of three uses:
 *   fire-and-forget  cb = NULL
 *   asynchronous     cb set: called once with the metadata or the error
 *   synchronous      moonlog_producer_send_sync below
 * A non-zero return means the record was NOT accepted and `cb` will never be called for it:
 * serialization failure (the message names the plugin and line), buffer exhausted, unknown topic
 * after max.block.ms, record larger than max.request.size or buffer.memory (MESSAGE_TOO_LARGE),
 * bad partition, closed producer. A partitioner plugin's failure (PARTITIONER, PLUGIN_TIMEOUT)
 * comes later, to the record's outcome (cb, queued report or send_sync's result, partition -1),
 * as a Java partitioner's exception goes to the callback: send() had accepted the record. */
int moonlog_producer_send(moonlog_producer *p, const moonlog_record *rec, moonlog_delivery_cb cb, void *opaque,
                          moonlog_error *err);

/* Sends and waits for the outcome: 0 with `md` filled (md->topic is NULL), or the error. */
int moonlog_producer_send_sync(moonlog_producer *p, const moonlog_record *rec, moonlog_record_metadata *md,
                               moonlog_error *err);

/* Delivery reports through a queue instead of a callback, for callers that cannot be called
 * from another thread (the Lua module): the outcome of a record sent with `token` is read later
 * by moonlog_producer_poll in the caller's thread. */
typedef struct moonlog_delivery {
    uint64_t token;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    int64_t partitioner_generation;
    moonlog_error error; /* error.code 0 on success */
} moonlog_delivery;

int moonlog_producer_send_queued(moonlog_producer *p, const moonlog_record *rec, uint64_t token, moonlog_error *err);
/* Moves up to `max` delivery reports into `out`; returns how many (0 when none is ready). */
int moonlog_producer_poll(moonlog_producer *p, moonlog_delivery *out, int max);

/* Sends every record accepted before the call without waiting for linger.ms and waits until
 * each is completed (and any record other threads send meanwhile: flush returns when nothing is
 * pending). timeout_ms < 0 waits as long as it takes. MOONLOG_ERR_TIMED_OUT when the
 * deadline passed first (the records are still being delivered). */
int moonlog_producer_flush(moonlog_producer *p, int64_t timeout_ms);

/* Flushes everything, stops the I/O thread and frees the producer. */
void moonlog_producer_close(moonlog_producer *p);
/* The same, giving up at the deadline: what is not delivered by then is failed with
 * MOONLOG_ERR_TIMED_OUT (callbacks and queued reports still happen, before this returns).
 * Returns 0 when everything was delivered, MOONLOG_ERR_TIMED_OUT otherwise. */
int moonlog_producer_close_timeout(moonlog_producer *p, int64_t timeout_ms);

/* The first half of close_timeout: delivers (or, at the deadline, fails) everything and stops
 * the I/O thread, without freeing the producer, so that the last reports can still be read
 * with moonlog_producer_poll. Afterwards only poll, counter and close may be called (close then
 * returns at once). timeout_ms < 0 waits as long as it takes. */
int moonlog_producer_stop(moonlog_producer *p, int64_t timeout_ms);

/* Counters, by name: records.sent (acknowledged), records.failed, records.retried (batches put
 * back for a retry), requests.sent, plugin.errors, plugin.timeouts, plugin.reloads,
 * plugin.reload.failures, buffer.used (bytes). -1 for an unknown name. */
int64_t moonlog_producer_counter(moonlog_producer *p, const char *name);

#ifdef __cplusplus
}
#endif

#endif
