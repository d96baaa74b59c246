/* The broker process: one libevent loop that accepts connections, runs every request handler,
 * and drives the storage's periodic work (retention, flush, checkpoints). Single-threaded like
 * Redis: handlers never block, appends go to the page cache, Fetch uses sendfile. */
#ifndef ML_BROKER_SERVER_H
#define ML_BROKER_SERVER_H

#include <stdint.h>
#include <sys/queue.h>

#include "broker/broker_config.h"
#include "common/error.h"

struct event_base;
struct event;
struct evconnlistener;
struct ml_conn;
struct ml_log_manager;
struct ml_fetch_purgatory;
struct ml_group_coordinator;

typedef struct ml_server {
    struct event_base *base;
    const ml_broker_config *config;
    struct ml_log_manager *logs;
    struct ml_fetch_purgatory *fetches;
    struct ml_group_coordinator *groups; /* consumer groups and committed offsets */
    struct evconnlistener *listener;
    struct event *sig_int;
    struct event *sig_term;
    struct event *maintenance;
    TAILQ_HEAD(, ml_conn) conns;
    int n_conns;
    char advertised_host[256];
    int advertised_port;
    char cluster_id[32];
} ml_server;

int ml_server_init(ml_server *s, const ml_broker_config *config, ml_err *err);
/* Runs until SIGINT or SIGTERM, then closes connections and shuts the logs down cleanly. */
int ml_server_run(ml_server *s, ml_err *err);
void ml_server_free(ml_server *s);

/* Called after records were appended to topic/partition: wakes long-poll fetches. */
void ml_server_on_append(ml_server *s, const char *topic, int32_t partition);

#endif
