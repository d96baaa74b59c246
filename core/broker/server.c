#include "broker/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "broker/connection.h"
#include "broker/fetch_purgatory.h"
#include "broker/group_coordinator.h"
#include "common/clock.h"
#include "common/log.h"
#include "storage/log_manager.h"

/* Every partition holds open files (.log, .index, .timeindex per segment) and every client a
 * socket: the soft limit of 1024 is too low for a broker, so take the hard limit. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) ml_warn("could not raise the open file limit: %s", strerror(errno));
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr, int len, void *arg) {
    (void)l;
    ml_server *s = arg;
    if (ml_conn_open(s, fd, addr, len) != 0) ml_warn("could not accept a connection: out of memory");
}

static void on_accept_error(struct evconnlistener *l, void *arg) {
    (void)l;
    (void)arg;
    /* EMFILE and friends: keep serving the connections we have; accept resumes by itself. */
    ml_warn("accept failed: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    ml_server *s = arg;
    ml_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopbreak(s->base);
}

static void on_maintenance(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    ml_server *s = arg;
    ml_err err = {0};
    if (ml_log_manager_tick(s->logs, ml_wall_ms(), &err) != 0) ml_error("periodic log maintenance: %s", err.msg);
}

static int server_listen(ml_server *s, ml_err *err) {
    const ml_broker_config *c = s->config;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)c->listener_port);
    const char *host = c->listener_host[0] ? c->listener_host : "0.0.0.0";
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
        return ml_err_set(err, ML_EINVAL, "listeners: '%s' is not an IPv4 address", host);
    s->listener = evconnlistener_new_bind(s->base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
                                          (struct sockaddr *)&sin, sizeof sin);
    if (!s->listener)
        return ml_err_set(err, ML_EIO, "cannot listen on %s:%d: %s", host, c->listener_port, strerror(errno));
    evconnlistener_set_error_cb(s->listener, on_accept_error);
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&bound, &blen);
    int port = ntohs(bound.sin_port);
    snprintf(s->advertised_host, sizeof s->advertised_host, "%s", c->advertised_host[0] ? c->advertised_host : host);
    if (strcmp(s->advertised_host, "0.0.0.0") == 0) snprintf(s->advertised_host, sizeof s->advertised_host, "127.0.0.1");
    s->advertised_port = c->advertised_port ? c->advertised_port : port;
    ml_info("listening on %s:%d (advertised as %s:%d)", host, port, s->advertised_host, s->advertised_port);
    return 0;
}

static int server_open_logs(ml_server *s, ml_err *err) {
    const ml_broker_config *c = s->config;
    int rc = ml_log_manager_open((const char *const *)c->log_dirs, c->n_log_dirs, &c->log_defaults, ml_wall_ms(),
                                 &s->logs, err);
    if (rc != 0) return rc;
    ml_log_manager_set_intervals(s->logs, c->log_retention_check_interval_ms, c->log_flush_scheduler_interval_ms,
                                 c->log_flush_offset_checkpoint_interval_ms);
    ml_info("loaded %d topics from %d log dirs", ml_log_manager_topic_count(s->logs), c->n_log_dirs);
    return 0;
}

int ml_server_init(ml_server *s, const ml_broker_config *config, ml_err *err) {
    memset(s, 0, sizeof *s);
    s->config = config;
    TAILQ_INIT(&s->conns);
    snprintf(s->cluster_id, sizeof s->cluster_id, "moonlog-%d", config->broker_id);
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    s->base = event_base_new();
    if (!s->base) return ml_err_set(err, ML_ENOMEM, "cannot create the event loop");
    int rc = server_open_logs(s, err);
    if (rc != 0) return rc;
    s->fetches = ml_fetch_purgatory_new(s->base);
    if (!s->fetches) return ml_err_set(err, ML_ENOMEM, "out of memory");
    rc = ml_group_coordinator_open(s, &s->groups, err);
    if (rc != 0) return rc;
    rc = server_listen(s, err);
    if (rc != 0) return rc;
    s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
    s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->maintenance = event_new(s->base, -1, EV_PERSIST, on_maintenance, s);
    if (!s->sig_int || !s->sig_term || !s->maintenance) return ml_err_set(err, ML_ENOMEM, "out of memory");
    struct timeval second = {1, 0};
    evsignal_add(s->sig_int, NULL);
    evsignal_add(s->sig_term, NULL);
    event_add(s->maintenance, &second);
    return 0;
}

static void on_drain_deadline(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    *(int *)arg = 1;
}

static int unsent_answers(ml_server *s) {
    ml_conn *c;
    TAILQ_FOREACH(c, &s->conns, link) {
        if (ml_conn_unsent(c) > 0) return 1;
    }
    return 0;
}

/* Writes out the answers of requests already handled, for up to ML_SERVER_DRAIN_MS: a Produce
 * appended but not answered would be retried by its client after the restart and written twice
 * (what Kafka's controlled shutdown avoids by answering before it closes). */
#define ML_SERVER_DRAIN_MS 2000
static void drain_answers(ml_server *s) {
    ml_conn *c;
    TAILQ_FOREACH(c, &s->conns, link) ml_conn_drain(c);
    int late = 0;
    struct event *deadline = evtimer_new(s->base, on_drain_deadline, &late);
    struct timeval tv = {ML_SERVER_DRAIN_MS / 1000, (ML_SERVER_DRAIN_MS % 1000) * 1000};
    if (!deadline || evtimer_add(deadline, &tv) != 0) late = 1;
    while (!late && unsent_answers(s))
        if (event_base_loop(s->base, EVLOOP_ONCE) < 0) break;
    if (late && unsent_answers(s)) ml_warn("shutting down with answers not sent after %d ms", ML_SERVER_DRAIN_MS);
    if (deadline) event_free(deadline);
}

int ml_server_run(ml_server *s, ml_err *err) {
    if (event_base_dispatch(s->base) < 0) return ml_err_set(err, ML_EIO, "event loop failed");
    /* Stop taking work, send what is answered, drop the clients, then flush and checkpoint
     * every partition. */
    if (s->listener) {
        evconnlistener_free(s->listener);
        s->listener = NULL;
    }
    event_del(s->maintenance);
    drain_answers(s);
    while (!TAILQ_EMPTY(&s->conns)) ml_conn_close(TAILQ_FIRST(&s->conns), NULL);
    int rc = 0;
    if (s->logs) {
        rc = ml_log_manager_close(s->logs, ml_wall_ms(), err);
        s->logs = NULL;
        if (rc == 0) ml_info("logs flushed and checkpointed; clean shutdown");
    }
    return rc;
}

void ml_server_free(ml_server *s) {
    while (!TAILQ_EMPTY(&s->conns)) ml_conn_close(TAILQ_FIRST(&s->conns), NULL);
    if (s->listener) evconnlistener_free(s->listener);
    if (s->fetches) ml_fetch_purgatory_free(s->fetches);
    if (s->groups) ml_group_coordinator_free(s->groups);
    if (s->logs) {
        ml_err err;
        if (ml_log_manager_close(s->logs, ml_wall_ms(), &err) != 0) ml_error("closing the logs: %s", err.msg);
    }
    if (s->sig_int) event_free(s->sig_int);
    if (s->sig_term) event_free(s->sig_term);
    if (s->maintenance) event_free(s->maintenance);
    if (s->base) event_base_free(s->base);
    memset(s, 0, sizeof *s);
}

void ml_server_on_append(ml_server *s, const char *topic, int32_t partition) {
    ml_fetch_purgatory_notify(s->fetches, topic, partition);
}
