/* The consumer's deserializers (key.deserializer, value.deserializer): serializer-kind plugins
 * whose deserialize runs in poll, on the application's thread (its own LuaJIT state), after the
 * records were taken from the queue and the lock released, so a slow plugin never holds up the
 * I/O thread (fetches, heartbeats).
 *
 * A record the plugin fails on is reported as Java's RecordDeserializationException is: the
 * records before it are returned, its partition is sought back to it (the records of that
 * partition after it are dropped from this poll and fetched again), and the next poll that reaches
 * it fails with DESERIALIZATION naming the partition, the offset, the plugin and its line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_error.h"
#include "client/consumer_int.h"
#include "common/clock.h"
#include "lua/plugin.h"

static int open_one(moonlog_consumer *c, const char *const *given, const char *key, const char *name,
                    moonlog_plugin **out, moonlog_error *err) {
    *out = NULL;
    if (strcmp(name, "bytes") == 0) return 0; /* what the fetcher gives already: no Lua call */
    moonlog_plugin_options o = {c->conf.plugin_path, c->conf.plugin_unsafe, c->conf.plugin_timeout_ms, given};
    moonlog_error e;
    if (moonlog_plugin_open("serializer", name, &o, out, &e) != 0)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "%s: %s", key, e.message);
    if (!ml_plugin_defines(*out, "deserialize")) {
        ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "%s: serializer %s (%s) defines no deserialize function", key,
                     name, moonlog_plugin_path(*out));
        moonlog_plugin_close(*out);
        *out = NULL;
        return MOONLOG_ERR_INVALID_CONFIG;
    }
    return 0;
}

int ml_deserializers_open(moonlog_consumer *c, const char *const *given, moonlog_error *err) {
    ml_arena_init(&c->values, 16384);
    int rc = open_one(c, given, "key.deserializer", c->conf.key_deserializer, &c->key_deser, err);
    if (rc == 0) rc = open_one(c, given, "value.deserializer", c->conf.value_deserializer, &c->value_deser, err);
    return rc;
}

void ml_deserializers_reload_check(moonlog_consumer *c) {
    if ((!c->key_deser && !c->value_deser) || c->conf.plugin_reload_interval_ms <= 0) return;
    int64_t now = ml_mono_ms();
    if (now < c->next_reload_check_ms) return;
    c->next_reload_check_ms = now + c->conf.plugin_reload_interval_ms;
    /* a refused version is logged and counted by the host; the running one stays */
    if (c->key_deser) moonlog_plugin_reload_check(c->key_deser, NULL);
    if (c->value_deser) moonlog_plugin_reload_check(c->value_deser, NULL);
}

void ml_deserializers_close(moonlog_consumer *c) {
    moonlog_plugin_close(c->key_deser);
    moonlog_plugin_close(c->value_deser);
    c->key_deser = c->value_deser = NULL;
    ml_arena_free(&c->values);
}

/* Replaces the key or the value of `r` by what the plugin returned (copied into c->values). */
static int deserialize_field(moonlog_consumer *c, moonlog_plugin *pl, const char *key, moonlog_consumer_record *r,
                             const void **field, int32_t *len, int32_t *type, moonlog_error *err) {
    const uint8_t *res;
    int32_t res_len;
    int ty;
    moonlog_error e;
    if (ml_plugin_deserialize(pl, r->topic, *field, *field ? *len : -1, r->headers, r->n_headers, &res, &res_len, &ty,
                              &e) != 0)
        return ml_error_set(err, MOONLOG_ERR_DESERIALIZATION, "%s-%d at offset %lld: %s: %s", r->topic, r->partition,
                            (long long)r->offset, key, e.message);
    if (res == *field) { /* given back unchanged: the fetched bytes stay */
        *type = ty;
        return 0;
    }
    uint8_t *copy = NULL;
    if (res_len >= 0) {
        if (!(copy = ml_arena_alloc(&c->values, (size_t)res_len + 1)))
            return ml_error_set(err, MOONLOG_ERR_DESERIALIZATION, "%s-%d at offset %lld: %s: out of memory", r->topic,
                                r->partition, (long long)r->offset, key);
        memcpy(copy, res, (size_t)res_len);
    }
    *field = copy;
    *len = res_len;
    *type = ty;
    return 0;
}

static int deserialize_record(moonlog_consumer *c, moonlog_consumer_record *r, moonlog_error *err) {
    if (c->key_deser &&
        deserialize_field(c, c->key_deser, "key.deserializer", r, &r->key, &r->key_len, &r->key_type, err) != 0)
        return MOONLOG_ERR_DESERIALIZATION;
    if (c->value_deser && deserialize_field(c, c->value_deser, "value.deserializer", r, &r->value, &r->value_len,
                                            &r->value_type, err) != 0)
        return MOONLOG_ERR_DESERIALIZATION;
    return 0;
}

/* After a failure was sought back: a record is still to be returned only while its partition's
 * position is past it (take_records moved every position past the records it took). */
static int still_taken(moonlog_consumer *c, const moonlog_consumer_record *r) {
    int yes = 0;
    pthread_mutex_lock(&c->mu);
    for (ml_ctp *tp = c->tps; tp; tp = tp->next)
        if (tp->partition == r->partition && strcmp(tp->topic, r->topic) == 0) yes = r->offset < tp->position;
    pthread_mutex_unlock(&c->mu);
    return yes;
}

int ml_deserialize_records(moonlog_consumer *c, int32_t *count, moonlog_error *err) {
    ml_arena_free(&c->values); /* the previous poll's values */
    c->has_failed = 0;
    if (!c->key_deser && !c->value_deser) return 0;
    moonlog_error first;
    int32_t kept = 0;
    for (int32_t i = 0; i < *count; i++) {
        moonlog_consumer_record r = c->out[i];
        if (c->has_failed && !still_taken(c, &r)) continue; /* its partition went back to a bad record */
        moonlog_error e;
        if (deserialize_record(c, &r, &e) == 0) {
            c->out[kept++] = r;
            continue;
        }
        /* the position goes back AT the record; one no longer assigned (a rebalance) is left alone */
        moonlog_consumer_seek(c, r.topic, r.partition, r.offset, NULL);
        if (!c->has_failed) {
            first = e;
            c->failed = (moonlog_topic_partition_offset){r.topic, r.partition, r.offset};
            c->has_failed = 1;
        }
    }
    *count = kept;
    if (kept > 0 || !c->has_failed) {
        c->has_failed = 0; /* reported by the poll that reaches the record with nothing before it */
        return 0;
    }
    if (err) *err = first;
    return first.code;
}

int moonlog_consumer_failed_record(moonlog_consumer *c, moonlog_topic_partition_offset *out) {
    if (!c->has_failed) return 0;
    *out = c->failed;
    return 1;
}
