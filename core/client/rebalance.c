/* Rebalance listeners: the meeting of the I/O thread, which runs the group protocol, and poll on
 * the application's thread, which runs the callbacks (as Java's ConsumerRebalanceListener runs in
 * poll). Before rejoining, the I/O thread waits for poll to run on_partitions_revoked and give
 * the partitions up, heartbeating meanwhile, so what the callback commits lands while they are
 * still this member's; the partitions a SyncGroup assigns are not fetched before poll ran
 * on_partitions_assigned, so a seek there decides the first fetch; partitions taken away with
 * the membership are reported to on_partitions_lost. The rebalance.listener plugin is one such
 * listener, calling its Lua functions in the application thread's LuaJIT state. */
#include <stdlib.h>
#include <string.h>

#include "client/client_error.h"
#include "client/consumer_int.h"
#include "common/clock.h"
#include "common/log.h"
#include "lua/consumer_table.h"
#include "lua/plugin.h"

enum { FN_REVOKED, FN_ASSIGNED, FN_LOST };

static void plugin_call(moonlog_consumer *c, int fn, const moonlog_topic_partition *tps, int n, void *opaque) {
    moonlog_error e;
    if (ml_plugin_rebalance(opaque, fn, ml_lua_push_consumer, c, tps, n, &e) == 0) return;
    atomic_fetch_add(&c->n_listener_errors, 1);
    ml_warn("consumer: %s (group %s: the rebalance goes on)", e.message, c->conf.group_id);
}

static void plugin_revoked(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, void *opaque) {
    plugin_call(c, FN_REVOKED, tps, n, opaque);
}

static void plugin_assigned(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, void *opaque) {
    plugin_call(c, FN_ASSIGNED, tps, n, opaque);
}

static void plugin_lost(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, void *opaque) {
    plugin_call(c, FN_LOST, tps, n, opaque);
}

int ml_rebalance_open(moonlog_consumer *c, const char *const *given, moonlog_error *err) {
    const char *name = c->conf.rebalance_listener;
    if (!name || !name[0]) return 0;
    moonlog_plugin_options o = {c->conf.plugin_path, c->conf.plugin_unsafe, c->conf.plugin_timeout_ms, given};
    moonlog_error e;
    if (moonlog_plugin_open("rebalance_listener", name, &o, &c->listener_plugin, &e) != 0)
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "rebalance.listener: %s", e.message);
    c->next_reload_ms = ml_mono_ms() + c->conf.plugin_reload_interval_ms;
    return 0;
}

static void tps_free(moonlog_topic_partition *tps, int n) {
    for (int i = 0; i < n; i++) free((char *)tps[i].topic);
    free(tps);
}

void ml_rebalance_free(moonlog_consumer *c) {
    moonlog_plugin_close(c->listener_plugin);
    c->listener_plugin = NULL;
    tps_free(c->reb_lost, c->n_lost);
    c->reb_lost = NULL;
    c->n_lost = 0;
}

/* The listener plain subscribe() installs: the plugin's adapter, or none. */
int ml_rebalance_default(moonlog_consumer *c, moonlog_rebalance_listener *out) {
    if (!c->listener_plugin) return 0;
    *out = (moonlog_rebalance_listener){plugin_revoked, plugin_assigned, plugin_lost, c->listener_plugin};
    return 1;
}

/* Under c->mu: a copy of the owned partitions (topics strdup'ed), appended to *list. */
static int copy_owned(moonlog_consumer *c, moonlog_topic_partition **list, int *n) {
    int k = 0;
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) k++;
    if (k == 0) return 0;
    moonlog_topic_partition *a = realloc(*list, (size_t)(*n + k) * sizeof *a);
    if (!a) return -1;
    *list = a;
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) {
        char *t = strdup(tp->topic);
        if (!t) return -1;
        a[(*n)++] = (moonlog_topic_partition){t, tp->partition};
    }
    return 0;
}

int ml_rebalance_ready(moonlog_consumer *c) {
    pthread_mutex_lock(&c->mu);
    int ready = !c->has_listener || c->reb_revoke == ML_REB_DONE || !c->tps;
    if (ready) {
        c->reb_revoke = ML_REB_NONE;
    } else if (c->reb_revoke == ML_REB_NONE) {
        c->reb_revoke = ML_REB_WANTED;
        pthread_cond_broadcast(&c->data_cv); /* a poll waiting for records runs revoked now */
    }
    pthread_mutex_unlock(&c->mu);
    return ready;
}

void ml_rebalance_assigned(moonlog_consumer *c) {
    atomic_fetch_add(&c->n_rebalances, 1);
    if (!c->has_listener) return;
    for (ml_ctp *tp = c->tps; tp; tp = tp->next) tp->awaiting = 1;
    c->reb_assigned = 1;
    pthread_cond_broadcast(&c->data_cv);
}

void ml_rebalance_lost(moonlog_consumer *c) {
    pthread_mutex_lock(&c->mu);
    if (c->has_listener && copy_owned(c, &c->reb_lost, &c->n_lost) != 0)
        ml_warn("consumer: out of memory listing the partitions lost by group %s", c->conf.group_id);
    if (c->tps) ml_info("consumer: group %s: membership lost, partitions given up without a commit", c->conf.group_id);
    ml_consumer_set_assignment(c, NULL, 0, ML_NO_RESET);
    c->reb_revoke = ML_REB_NONE; /* nothing left to revoke */
    c->reb_assigned = 0;
    pthread_cond_broadcast(&c->data_cv);
    pthread_mutex_unlock(&c->mu);
}

int ml_rebalance_pending(moonlog_consumer *c) {
    return c->has_listener && (c->reb_revoke == ML_REB_WANTED || c->reb_assigned || c->n_lost > 0);
}

static void call(moonlog_consumer *c, int fn, const moonlog_topic_partition *tps, int n) {
    moonlog_rebalance_cb cb = fn == FN_REVOKED    ? c->listener.on_partitions_revoked
                              : fn == FN_ASSIGNED ? c->listener.on_partitions_assigned
                                                  : c->listener.on_partitions_lost;
    if (!cb) return;
    c->in_listener = 1;
    cb(c, tps, n, c->listener.opaque);
    c->in_listener = 0;
}

static void maybe_reload(moonlog_consumer *c) {
    if (!c->listener_plugin || c->conf.plugin_reload_interval_ms <= 0 || ml_mono_ms() < c->next_reload_ms) return;
    c->next_reload_ms = ml_mono_ms() + c->conf.plugin_reload_interval_ms;
    moonlog_plugin_reload_check(c->listener_plugin, NULL); /* a refused version is logged and counted */
}

static int run_lost(moonlog_consumer *c) { /* called and returns under c->mu */
    if (c->n_lost == 0) return 0;
    moonlog_topic_partition *lost = c->reb_lost;
    int n = c->n_lost;
    c->reb_lost = NULL;
    c->n_lost = 0;
    pthread_mutex_unlock(&c->mu);
    call(c, FN_LOST, lost, n);
    tps_free(lost, n);
    pthread_mutex_lock(&c->mu);
    return 1;
}

static int run_revoked(moonlog_consumer *c) { /* called and returns under c->mu */
    if (c->reb_revoke != ML_REB_WANTED) return 0;
    moonlog_topic_partition *tps = NULL;
    int n = 0;
    if (copy_owned(c, &tps, &n) != 0) ml_warn("consumer: out of memory listing the partitions to revoke");
    pthread_mutex_unlock(&c->mu);
    if (c->conf.enable_auto_commit) { /* as Java: the auto commit comes before the callback */
        moonlog_error e;
        if (moonlog_consumer_commit_sync(c, NULL, 0, c->conf.request_timeout_ms, &e) != 0)
            ml_warn("consumer: auto commit before the rebalance of group %s failed: %s", c->conf.group_id, e.message);
    }
    call(c, FN_REVOKED, tps, n);
    tps_free(tps, n);
    pthread_mutex_lock(&c->mu);
    if (c->reb_revoke == ML_REB_WANTED) { /* not lost meanwhile: give them up, let the I/O thread rejoin */
        ml_consumer_set_assignment(c, NULL, 0, ML_NO_RESET);
        c->reb_revoke = ML_REB_DONE;
        pthread_cond_broadcast(&c->io_cv);
    }
    return 1;
}

static int run_assigned(moonlog_consumer *c) { /* called and returns under c->mu */
    if (!c->reb_assigned) return 0;
    c->reb_assigned = 0;
    moonlog_topic_partition *tps = NULL;
    int n = 0;
    if (copy_owned(c, &tps, &n) != 0) ml_warn("consumer: out of memory listing the partitions assigned");
    pthread_mutex_unlock(&c->mu);
    call(c, FN_ASSIGNED, tps, n);
    tps_free(tps, n);
    pthread_mutex_lock(&c->mu);
    if (!c->reb_assigned) /* unless a newer assignment came meanwhile, waiting for its own call */
        for (ml_ctp *tp = c->tps; tp; tp = tp->next) tp->awaiting = 0;
    pthread_cond_broadcast(&c->io_cv);
    return 1;
}

int ml_rebalance_run(moonlog_consumer *c) {
    maybe_reload(c);
    pthread_mutex_lock(&c->mu);
    int ran = 0;
    if (c->has_listener) {
        ran |= run_lost(c);
        ran |= run_revoked(c);
        ran |= run_assigned(c);
    }
    pthread_mutex_unlock(&c->mu);
    return ran;
}

void ml_rebalance_revoke_now(moonlog_consumer *c) {
    pthread_mutex_lock(&c->mu);
    moonlog_topic_partition *tps = NULL;
    int n = 0;
    if (c->has_listener && copy_owned(c, &tps, &n) != 0) ml_warn("consumer: out of memory listing the partitions");
    pthread_mutex_unlock(&c->mu);
    if (n > 0) call(c, FN_REVOKED, tps, n);
    tps_free(tps, n);
}

int64_t ml_rebalance_counter(moonlog_consumer *c, const char *name) {
    if (strcmp(name, "rebalances") == 0) return atomic_load(&c->n_rebalances);
    if (strcmp(name, "listener.errors") == 0) return atomic_load(&c->n_listener_errors);
    if (strcmp(name, "listener.reloads") == 0)
        return c->listener_plugin ? moonlog_plugin_counter(c->listener_plugin, "reloads") : 0;
    if (strcmp(name, "listener.reload.failures") == 0)
        return c->listener_plugin ? moonlog_plugin_counter(c->listener_plugin, "reload.failures") : 0;
    return -1;
}
