#include "broker/broker_config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/properties.h"

enum key_kind {
    K_I32,        /* an int32_t field */
    K_I64,        /* an int64_t field */
    K_BOOL,       /* an int field, true|false */
    K_TOPIC_NUM,  /* a number for a topic default (times `scale`), maybe also kept in a field */
    K_TOPIC_TEXT, /* a word for a topic default, checked by ml_log_config_set */
    K_TOPIC_BOOL, /* true|false for a topic default */
    K_LISTENERS,
    K_ADVERTISED,
    K_LOG_DIRS,
    K_LOG_LEVEL,
};

enum key_flags {
    F_NEG_NEVER = 1, /* any negative number means "never" and is kept as -1 */
    F_NOT_ZERO = 2,  /* 0 is refused (only -1 or a positive number) */
};

typedef struct key_def {
    const char *name;
    enum key_kind kind;
    size_t field;      /* offset in ml_broker_config, or NO_FIELD */
    int64_t min, max;  /* accepted numbers */
    const char *topic; /* the topic config it sets, or NULL */
    int64_t scale;     /* topic value = value * scale (hours and minutes to ms) */
    int flags;
    const char *words; /* K_TOPIC_TEXT: the accepted values, for messages */
    const char *doc;
} key_def;

#define NO_FIELD ((size_t)-1)
#define F(x) offsetof(ml_broker_config, x)
#define I32 INT32_MIN, INT32_MAX
#define I64 INT64_MIN, INT64_MAX

/* Order matters where keys mean the same thing: the one applied last wins, so the more precise
 * key comes after the coarser one (log.dir, log.dirs; hours, minutes, ms). */
static const key_def keys[] = {
    {"broker.id", K_I32, F(broker_id), 0, INT32_MAX, NULL, 1, 0, NULL, "The id of this broker in the cluster."},
    {"listeners", K_LISTENERS, NO_FIELD, 0, 0, NULL, 1, 0, NULL,
     "The one listener, `PLAINTEXT://host:port`; an empty host or 0.0.0.0 binds every address, port 0 picks a free port."},
    {"advertised.listeners", K_ADVERTISED, NO_FIELD, 0, 0, NULL, 1, 0, NULL,
     "`PLAINTEXT://host:port` given to clients in Metadata. Default: the listener's host (127.0.0.1 when it binds every "
     "address) and the port actually bound; port 0 also means the bound port."},
    {"log.dir", K_LOG_DIRS, NO_FIELD, 0, 0, NULL, 1, 0, NULL, "The directory of the partition data, when log.dirs is not set."},
    {"log.dirs", K_LOG_DIRS, NO_FIELD, 0, 0, NULL, 1, 0, NULL,
     "Comma-separated directories of the partition data (each partition lives in one of them)."},
    {"num.partitions", K_I32, F(num_partitions), 1, INT32_MAX, NULL, 1, 0, NULL, "Partitions of an auto-created topic."},
    {"default.replication.factor", K_I32, F(default_replication_factor), 1, INT16_MAX, NULL, 1, 0, NULL,
     "Replication factor of an auto-created topic."},
    {"auto.create.topics.enable", K_BOOL, F(auto_create_topics_enable), 0, 1, NULL, 1, 0, NULL,
     "Create a topic when a client asks Metadata for one that does not exist."},
    {"delete.topic.enable", K_BOOL, F(delete_topic_enable), 0, 1, NULL, 1, 0, NULL, "Allow DeleteTopics."},
    {"socket.request.max.bytes", K_I32, F(socket_request_max_bytes), 1, INT32_MAX, NULL, 1, 0, NULL,
     "Largest request accepted; a larger size prefix closes the connection."},
    {"message.max.bytes", K_I32, F(message_max_bytes), 0, INT32_MAX, "max.message.bytes", 1, 0, NULL,
     "Largest record batch accepted (topic default of max.message.bytes)."},
    {"connections.max.idle.ms", K_I64, F(connections_max_idle_ms), -1, INT64_MAX, NULL, 1, 0, NULL,
     "Close connections idle for this long; -1 never."},
    {"log.retention.check.interval.ms", K_I64, F(log_retention_check_interval_ms), 1, INT64_MAX, NULL, 1, 0, NULL,
     "How often segments are checked for deletion by retention."},
    {"log.flush.scheduler.interval.ms", K_I64, F(log_flush_scheduler_interval_ms), 1, INT64_MAX, NULL, 1, 0, NULL,
     "How often partitions are checked against flush.ms (Kafka's default is Long.MAX_VALUE, i.e. never)."},
    {"log.flush.offset.checkpoint.interval.ms", K_I64, F(log_flush_offset_checkpoint_interval_ms), 1, INT32_MAX, NULL, 1,
     0, NULL, "How often the recovery-point checkpoint is written."},
    {"group.initial.rebalance.delay.ms", K_I64, F(group_initial_rebalance_delay_ms), 0, INT32_MAX, NULL, 1, 0, NULL,
     "How long a new consumer group waits for more members before its first rebalance."},
    {"group.min.session.timeout.ms", K_I32, F(group_min_session_timeout_ms), 0, INT32_MAX, NULL, 1, 0, NULL,
     "Smallest session.timeout.ms a group member may ask for (INVALID_SESSION_TIMEOUT below)."},
    {"group.max.session.timeout.ms", K_I32, F(group_max_session_timeout_ms), 0, INT32_MAX, NULL, 1, 0, NULL,
     "Largest session.timeout.ms a group member may ask for (INVALID_SESSION_TIMEOUT above)."},
    {"offsets.topic.num.partitions", K_I32, F(offsets_topic_num_partitions), 1, INT32_MAX, NULL, 1, 0, NULL,
     "Partitions of `__consumer_offsets` (fixed once the topic exists)."},
    {"offsets.topic.replication.factor", K_I32, F(offsets_topic_replication_factor), 1, INT16_MAX, NULL, 1, 0, NULL,
     "Replication factor of `__consumer_offsets` (Kafka's default is 3; one broker here)."},
    {"offsets.retention.minutes", K_I64, F(offsets_retention_minutes), 1, INT32_MAX, NULL, 1, 0, NULL,
     "How long committed offsets of an empty group are kept."},
    {"offsets.retention.check.interval.ms", K_I64, F(offsets_retention_check_interval_ms), 1, INT32_MAX, NULL, 1, 0,
     NULL, "How often offsets of empty groups are checked against offsets.retention.minutes."},
    {"log.level", K_LOG_LEVEL, NO_FIELD, 0, 0, NULL, 1, 0, NULL,
     "moonlog's own (Kafka uses log4j): error, warn, info or debug."},
    {"log.segment.bytes", K_TOPIC_NUM, NO_FIELD, 14, INT32_MAX, "segment.bytes", 1, 0, NULL,
     "Roll a new segment when the active one would grow past this size."},
    {"log.roll.hours", K_TOPIC_NUM, NO_FIELD, 1, INT32_MAX, "segment.ms", 3600000, 0, NULL,
     "Roll a new segment when the active one is older (log.roll.ms wins)."},
    {"log.roll.ms", K_TOPIC_NUM, NO_FIELD, 1, INT64_MAX, "segment.ms", 1, 0, NULL,
     "Roll a new segment when the active one is older than this many ms."},
    {"log.retention.hours", K_TOPIC_NUM, NO_FIELD, I32, "retention.ms", 3600000, F_NEG_NEVER | F_NOT_ZERO, NULL,
     "Delete segments older than this; -1 keeps them forever (log.retention.minutes and .ms win)."},
    {"log.retention.minutes", K_TOPIC_NUM, NO_FIELD, I32, "retention.ms", 60000, F_NEG_NEVER | F_NOT_ZERO, NULL,
     "Delete segments older than this; -1 keeps them forever (log.retention.ms wins)."},
    {"log.retention.ms", K_TOPIC_NUM, NO_FIELD, I64, "retention.ms", 1, F_NEG_NEVER | F_NOT_ZERO, NULL,
     "Delete segments older than this; -1 keeps them forever."},
    {"log.retention.bytes", K_TOPIC_NUM, NO_FIELD, -1, INT64_MAX, "retention.bytes", 1, 0, NULL,
     "Delete the oldest segments while a partition is larger; -1 no limit."},
    {"log.index.interval.bytes", K_TOPIC_NUM, NO_FIELD, 0, INT32_MAX, "index.interval.bytes", 1, 0, NULL,
     "Bytes of records between two entries of the offset index."},
    {"log.index.size.max.bytes", K_TOPIC_NUM, NO_FIELD, 4096, INT32_MAX, "segment.index.bytes", 1, 0, NULL,
     "Size of each segment's index files (at least 4096 here)."},
    {"log.flush.interval.messages", K_TOPIC_NUM, NO_FIELD, -1, INT64_MAX, "flush.messages", 1, F_NOT_ZERO, NULL,
     "fsync a partition after this many messages; -1 leaves it to the OS (Kafka: Long.MAX_VALUE)."},
    {"log.flush.interval.ms", K_TOPIC_NUM, NO_FIELD, -1, INT64_MAX, "flush.ms", 1, 0, NULL,
     "fsync a partition when its oldest unflushed message is this old; -1 leaves it to the OS."},
    {"log.message.timestamp.type", K_TOPIC_TEXT, NO_FIELD, 0, 0, "message.timestamp.type", 1, 0,
     "CreateTime or LogAppendTime", "CreateTime keeps the producer's timestamps, LogAppendTime sets the broker's."},
    {"log.cleanup.policy", K_TOPIC_TEXT, NO_FIELD, 0, 0, "cleanup.policy", 1, 0, "delete, compact or delete,compact",
     "delete (retention), compact (keep the last record per key) or both."},
    {"compression.type", K_TOPIC_TEXT, NO_FIELD, 0, 0, "compression.type", 1, 0,
     "producer, uncompressed, gzip, snappy, lz4 or zstd", "Codec of stored batches; producer keeps them as sent."},
    {"min.insync.replicas", K_TOPIC_NUM, NO_FIELD, 1, INT32_MAX, "min.insync.replicas", 1, 0, NULL,
     "With acks=all, fail with NOT_ENOUGH_REPLICAS when fewer replicas are in sync."},
    {"unclean.leader.election.enable", K_TOPIC_BOOL, NO_FIELD, 0, 1, "unclean.leader.election.enable", 1, 0, NULL,
     "Allow a replica outside the ISR to become leader (may lose records)."},
};
#undef F
#undef I32
#undef I64
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

static const key_def *find_key(const char *name) {
    for (int i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0) return &keys[i];
    return NULL;
}

/* ---- defaults and lifetime ---------------------------------------------------------------- */

static void free_dirs(ml_broker_config *c) {
    for (int i = 0; i < c->n_log_dirs; i++) free(c->log_dirs[i]);
    free(c->log_dirs);
    c->log_dirs = NULL;
    c->n_log_dirs = 0;
}

void ml_broker_config_init(ml_broker_config *c) {
    memset(c, 0, sizeof *c);
    c->broker_id = 0;
    snprintf(c->listener_host, sizeof c->listener_host, "127.0.0.1");
    c->listener_port = 9092;
    snprintf(c->advertised_host, sizeof c->advertised_host, "127.0.0.1");
    c->advertised_port = 0;
    c->log_dirs = malloc(sizeof *c->log_dirs);
    if (c->log_dirs && (c->log_dirs[0] = strdup("/tmp/kafka-logs"))) c->n_log_dirs = 1;
    c->num_partitions = 1;
    c->default_replication_factor = 1;
    c->auto_create_topics_enable = 1;
    c->delete_topic_enable = 1;
    c->socket_request_max_bytes = 104857600;
    c->message_max_bytes = 1048588;
    c->log_retention_check_interval_ms = 300000;
    c->log_flush_scheduler_interval_ms = 1000;
    c->log_flush_offset_checkpoint_interval_ms = 60000;
    c->group_initial_rebalance_delay_ms = 3000;
    c->group_min_session_timeout_ms = 6000;
    c->group_max_session_timeout_ms = 1800000;
    c->offsets_topic_num_partitions = 50;
    c->offsets_topic_replication_factor = 1;
    c->offsets_retention_minutes = 10080;
    c->offsets_retention_check_interval_ms = 600000;
    c->connections_max_idle_ms = 600000;
    c->log_level = ML_LOG_INFO;
    ml_log_config_defaults(&c->log_defaults);
    c->log_defaults.max_message_bytes = c->message_max_bytes;
}

void ml_broker_config_free(ml_broker_config *c) { free_dirs(c); }

/* ---- parsing one value -------------------------------------------------------------------- */

static void range_reason(const key_def *k, const char *value, char *reason, size_t size) {
    int no_min = k->min == INT32_MIN || k->min == INT64_MIN, no_max = k->max == INT32_MAX || k->max == INT64_MAX;
    if (no_min && no_max)
        snprintf(reason, size, "'%s' is out of range (%d-bit integer)", value, k->max == INT32_MAX ? 32 : 64);
    else if (no_max)
        snprintf(reason, size, "'%s' is out of range: it must be at least %" PRId64, value, k->min);
    else
        snprintf(reason, size, "'%s' is out of range: it must be between %" PRId64 " and %" PRId64, value, k->min, k->max);
}

static int set_topic(ml_broker_config *c, const key_def *k, const char *value, char *reason, size_t size) {
    ml_err e = {0};
    if (ml_log_config_set(&c->log_defaults, k->topic, value, &e) < 0) {
        if (k->words) snprintf(reason, size, "'%s' is not one of %s", value, k->words);
        else snprintf(reason, size, "%s", e.msg);
        return -1;
    }
    return 0;
}

static int apply_number(ml_broker_config *c, const key_def *k, const char *value, char *reason, size_t size) {
    int64_t v;
    int rc = ml_parse_int64(value, k->min, k->max, &v);
    if (rc == ML_EINVAL) {
        snprintf(reason, size, "'%s' is not an integer", value);
        return -1;
    }
    if (rc < 0) {
        range_reason(k, value, reason, size);
        return -1;
    }
    if ((k->flags & F_NOT_ZERO) && v == 0) {
        snprintf(reason, size, "'0' is not allowed: it must be -1 (never) or at least 1");
        return -1;
    }
    if ((k->flags & F_NEG_NEVER) && v < 0) v = -1;
    if (k->field != NO_FIELD) {
        char *f = (char *)c + k->field;
        if (k->kind == K_I32) {
            int32_t v32 = (int32_t)v;
            memcpy(f, &v32, sizeof v32);
        } else {
            memcpy(f, &v, sizeof v);
        }
    }
    if (!k->topic) return 0;
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v < 0 ? v : v * k->scale);
    return set_topic(c, k, text, reason, size);
}

/* PLAINTEXT://host:port, host possibly empty or in [brackets] (IPv6). */
static int parse_listener(const char *v, char *host, size_t hsize, int *port, char *reason, size_t size) {
    static const char prefix[] = "PLAINTEXT://";
    const char *hp = v + sizeof prefix - 1, *colon, *hend;
    if (strchr(v, ',')) {
        snprintf(reason, size, "'%s': only one listener is supported", v);
        return -1;
    }
    if (strncasecmp(v, prefix, sizeof prefix - 1) != 0) {
        snprintf(reason, size, "'%s' is not PLAINTEXT://host:port (the only protocol supported)", v);
        return -1;
    }
    int bracketed = *hp == '[';
    if (bracketed) {
        hend = strchr(++hp, ']');
        colon = hend ? hend + 1 : NULL;
    } else {
        colon = hend = strrchr(hp, ':');
    }
    if (!colon || *colon != ':' || (!bracketed && memchr(hp, ':', (size_t)(hend - hp)))) {
        snprintf(reason, size, "'%s' is not PLAINTEXT://host:port", v);
        return -1;
    }
    if ((size_t)(hend - hp) >= hsize) {
        snprintf(reason, size, "'%s': the host name is too long", v);
        return -1;
    }
    int64_t p;
    int rc = ml_parse_int64(colon + 1, 0, 65535, &p);
    if (rc < 0) {
        snprintf(reason, size, rc == ML_EINVAL ? "'%s': the port is not a number" : "'%s': the port must be between 0 and 65535",
                 v);
        return -1;
    }
    memcpy(host, hp, (size_t)(hend - hp));
    host[hend - hp] = '\0';
    *port = (int)p;
    return 0;
}

static int is_any_address(const char *host) { return !host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "::"); }

static int apply_dirs(ml_broker_config *c, const char *value, char *reason, size_t size) {
    char **dirs = NULL;
    int n = 0;
    for (const char *p = value; *p;) {
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        const char *s = p, *t = e;
        while (s < t && (*s == ' ' || *s == '\t')) s++;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if (t > s) {
            char **nd = realloc(dirs, (size_t)(n + 1) * sizeof *nd);
            char *d = strndup(s, (size_t)(t - s));
            if (nd) dirs = nd;
            if (!nd || !d) {
                free(d);
                for (int i = 0; i < n; i++) free(dirs[i]);
                free(dirs);
                snprintf(reason, size, "out of memory");
                return -1;
            }
            dirs[n++] = d;
        }
        p = *e ? e + 1 : e;
    }
    if (!n) {
        snprintf(reason, size, "'%s' names no directory", value);
        return -1;
    }
    free_dirs(c);
    c->log_dirs = dirs;
    c->n_log_dirs = n;
    return 0;
}

static int apply(ml_broker_config *c, const key_def *k, const char *value, char *reason, size_t size) {
    switch (k->kind) {
    case K_I32:
    case K_I64:
    case K_TOPIC_NUM:
        return apply_number(c, k, value, reason, size);
    case K_BOOL:
    case K_TOPIC_BOOL: {
        int b;
        if (ml_parse_bool(value, &b) < 0) {
            snprintf(reason, size, "'%s' is not true or false", value);
            return -1;
        }
        if (k->kind == K_BOOL) {
            memcpy((char *)c + k->field, &b, sizeof b);
            return 0;
        }
        return set_topic(c, k, b ? "true" : "false", reason, size);
    }
    case K_TOPIC_TEXT:
        return set_topic(c, k, value, reason, size);
    case K_LISTENERS:
        return parse_listener(value, c->listener_host, sizeof c->listener_host, &c->listener_port, reason, size);
    case K_ADVERTISED:
        if (parse_listener(value, c->advertised_host, sizeof c->advertised_host, &c->advertised_port, reason, size) < 0)
            return -1;
        if (c->advertised_host[0] && is_any_address(c->advertised_host)) {
            snprintf(reason, size, "'%.120s': %.64s is not an address clients can connect to", value, c->advertised_host);
            return -1;
        }
        return 0;
    case K_LOG_DIRS:
        return apply_dirs(c, value, reason, size);
    case K_LOG_LEVEL: {
        enum ml_log_level level;
        if (ml_log_parse_level(value, &level) < 0) {
            snprintf(reason, size, "'%s' is not one of error, warn, info or debug", value);
            return -1;
        }
        c->log_level = (int)level;
        return 0;
    }
    }
    return -1;
}

/* ---- loading ------------------------------------------------------------------------------ */

/* "path:line" for an entry of the file, "--override" for one given on the command line. */
static void where(const ml_props *p, int i, char *buf, size_t size) {
    if (ml_props_line(p, i) > 0) snprintf(buf, size, "%s:%d", ml_props_name(p), ml_props_line(p, i));
    else snprintf(buf, size, "--override");
}

static int add_overrides(ml_props *p, int n, const char *const *overrides, ml_err *err) {
    for (int i = 0; i < n; i++) {
        const char *o = overrides[i], *eq = strchr(o, '=');
        const char *ks = o, *ke = eq, *vs = eq ? eq + 1 : NULL;
        while (eq && ks < ke && (*ks == ' ' || *ks == '\t')) ks++;
        while (eq && ke > ks && (ke[-1] == ' ' || ke[-1] == '\t')) ke--;
        if (!eq || ke == ks) return ml_err_set(err, ML_EINVAL, "--override '%s': expected key=value", o);
        while (*vs == ' ' || *vs == '\t') vs++;
        size_t vlen = strlen(vs);
        while (vlen && (vs[vlen - 1] == ' ' || vs[vlen - 1] == '\t')) vlen--;
        char *key = strndup(ks, (size_t)(ke - ks)), *value = strndup(vs, vlen);
        int rc = key && value ? ml_props_set_line(p, key, value, 0) : ML_ENOMEM;
        free(key);
        free(value);
        if (rc < 0) return ml_err_set(err, ML_ENOMEM, "--override: out of memory");
    }
    return ML_OK;
}

/* Kafka broker keys that a Kafka server.properties commonly holds but that mean nothing to one
 * moonlog broker (threads, ZooKeeper, KRaft, security, replication tuning): accepted with a
 * warning, so an existing file still works. Any other unknown key is an error. */
static const char *const kafka_unused[] = {
    "zookeeper.connect", "zookeeper.connection.timeout.ms", "zookeeper.session.timeout.ms",
    "num.network.threads", "num.io.threads", "background.threads", "num.recovery.threads.per.data.dir",
    "num.replica.fetchers", "socket.send.buffer.bytes", "socket.receive.buffer.bytes", "socket.listen.backlog.size",
    "queued.max.requests", "max.connections", "max.connections.per.ip", "listener.security.protocol.map",
    "inter.broker.listener.name", "security.inter.broker.protocol", "controller.listener.names", "process.roles",
    "node.id", "controller.quorum.voters", "broker.rack", "reserved.broker.max.id", "inter.broker.protocol.version",
    "log.message.format.version", "log.preallocate", "log.cleaner.enable", "log.cleaner.threads",
    "log.cleaner.dedupe.buffer.size", "log.cleaner.delete.retention.ms", "log.segment.delete.delay.ms",
    "replica.fetch.max.bytes", "replica.lag.time.max.ms", "replica.socket.timeout.ms",
    "replica.high.watermark.checkpoint.interval.ms", "auto.leader.rebalance.enable", "controlled.shutdown.enable",
    "transaction.state.log.replication.factor", "transaction.state.log.min.isr", "transaction.max.timeout.ms",
    "offsets.commit.timeout.ms", "offsets.load.buffer.size", "group.max.size", "metric.reporters",
    "authorizer.class.name", "super.users", "fetch.purgatory.purge.interval.requests",
    "producer.purgatory.purge.interval.requests", "delete.records.purgatory.purge.interval.requests",
};
static const char *const kafka_unused_prefixes[] = {"ssl.", "sasl.", "listener.name.", "metrics.", "quota."};

static int kafka_key_unused(const char *key) {
    for (size_t i = 0; i < sizeof kafka_unused / sizeof kafka_unused[0]; i++)
        if (strcmp(key, kafka_unused[i]) == 0) return 1;
    for (size_t i = 0; i < sizeof kafka_unused_prefixes / sizeof kafka_unused_prefixes[0]; i++)
        if (strncmp(key, kafka_unused_prefixes[i], strlen(kafka_unused_prefixes[i])) == 0) return 1;
    return 0;
}

int ml_broker_config_load(ml_broker_config *c, const char *path, int n_overrides, const char *const *overrides,
                          ml_err *err) {
    ml_props *p = NULL;
    int rc;
    if (path) {
        if ((rc = ml_props_load(path, &p, err)) < 0) return rc;
    } else if (!(p = ml_props_new("--override"))) {
        return ml_err_set(err, ML_ENOMEM, "out of memory");
    }
    if ((rc = add_overrides(p, n_overrides, overrides, err)) < 0) goto done;
    char loc[300], reason[300];
    for (int i = 0; i < ml_props_count(p); i++) {
        const char *key = ml_props_key(p, i);
        if (find_key(key)) continue;
        where(p, i, loc, sizeof loc);
        if (kafka_key_unused(key)) {
            ml_warn("%s: Kafka broker config '%s' has no effect in moonlog; ignored", loc, key);
            continue;
        }
        /* A typo (log.retention.hour) must not silently fall back to a default. */
        rc = ml_err_set(err, ML_EINVAL, "%s%s %s: unknown broker config key (moonlogd --help-config lists them)",
                        loc, ml_props_line(p, i) > 0 ? ":" : "", key);
        goto done;
    }
    int advertised_given = 0;
    for (int k = 0; k < N_KEYS; k++) {
        for (int i = 0; i < ml_props_count(p); i++) {
            if (strcmp(ml_props_key(p, i), keys[k].name) != 0) continue;
            if (apply(c, &keys[k], ml_props_value(p, i), reason, sizeof reason) < 0) {
                where(p, i, loc, sizeof loc);
                rc = ml_err_set(err, ML_EINVAL, "%s%s %s: %s", loc, ml_props_line(p, i) > 0 ? ":" : "", keys[k].name,
                                reason);
                goto done;
            }
            if (keys[k].kind == K_ADVERTISED) advertised_given = 1;
        }
    }
    if (!advertised_given) {
        snprintf(c->advertised_host, sizeof c->advertised_host, "%s",
                 is_any_address(c->listener_host) ? "127.0.0.1" : c->listener_host);
        c->advertised_port = 0;
    } else if (!c->advertised_host[0]) {
        snprintf(c->advertised_host, sizeof c->advertised_host, "%s",
                 is_any_address(c->listener_host) ? "127.0.0.1" : c->listener_host);
    }
    rc = ML_OK;
done:
    ml_props_free(p);
    return rc;
}

/* ---- showing values ----------------------------------------------------------------------- */

static void format_hostport(const char *host, int port, char *buf, size_t size) {
    snprintf(buf, size, strchr(host, ':') ? "PLAINTEXT://[%s]:%d" : "PLAINTEXT://%s:%d", host, port);
}

static void format_value(const ml_broker_config *c, const key_def *k, char *buf, size_t size) {
    const char *f = (const char *)c + (k->field == NO_FIELD ? 0 : k->field);
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    int32_t v32;
    int64_t v64;
    int b;
    buf[0] = '\0';
    switch (k->kind) {
    case K_I32:
        memcpy(&v32, f, sizeof v32);
        snprintf(buf, size, "%" PRId32, v32);
        break;
    case K_I64:
        memcpy(&v64, f, sizeof v64);
        snprintf(buf, size, "%" PRId64, v64);
        break;
    case K_BOOL:
        memcpy(&b, f, sizeof b);
        snprintf(buf, size, "%s", b ? "true" : "false");
        break;
    case K_TOPIC_NUM:
        ml_log_config_get(&c->log_defaults, k->topic, buf, size, NULL);
        v64 = strtoll(buf, NULL, 10);
        if (k->scale > 1) snprintf(buf, size, "%" PRId64, v64 < 0 ? v64 : v64 / k->scale);
        break;
    case K_TOPIC_TEXT:
    case K_TOPIC_BOOL:
        ml_log_config_get(&c->log_defaults, k->topic, buf, size, NULL);
        break;
    case K_LISTENERS:
        format_hostport(c->listener_host, c->listener_port, buf, size);
        break;
    case K_ADVERTISED:
        format_hostport(c->advertised_host, c->advertised_port ? c->advertised_port : c->listener_port, buf, size);
        break;
    case K_LOG_DIRS:
        for (int i = 0; i < c->n_log_dirs; i++) {
            size_t used = strlen(buf);
            snprintf(buf + used, size - used, "%s%s", i ? "," : "", c->log_dirs[i]);
        }
        break;
    case K_LOG_LEVEL:
        snprintf(buf, size, "%s", c->log_level >= 0 && c->log_level < 4 ? levels[c->log_level] : "info");
        break;
    }
}

const char *ml_broker_config_describe(const ml_broker_config *c, int i, char *value, size_t size, int *is_default) {
    if (i < 0 || i >= N_KEYS) return NULL;
    format_value(c, &keys[i], value, size);
    if (is_default) {
        ml_broker_config d;
        char dv[1024];
        ml_broker_config_init(&d);
        format_value(&d, &keys[i], dv, sizeof dv);
        ml_broker_config_free(&d);
        *is_default = strcmp(dv, value) == 0;
    }
    return keys[i].name;
}

void ml_broker_config_print_markdown(FILE *out) {
    ml_broker_config d;
    char dv[1024];
    ml_broker_config_init(&d);
    fprintf(out, "| key | default | meaning |\n|---|---|---|\n");
    for (int i = 0; i < N_KEYS; i++) {
        format_value(&d, &keys[i], dv, sizeof dv);
        fprintf(out, "| `%s` | `%s` | %s |\n", keys[i].name, dv, keys[i].doc);
    }
    ml_broker_config_free(&d);
}
