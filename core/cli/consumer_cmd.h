/* The consuming commands (consume, perf consume): the options they share, and the life of their
 * consumer: its configuration, what it reads (a group's subscription, or without a group an
 * assignment of the topic's partitions) and its close. */
#ifndef ML_CLI_CONSUMER_CMD_H
#define ML_CLI_CONSUMER_CMD_H

#include <stdint.h>

#include "moonlog/consumer.h"

typedef struct ml_cli_copts {
    const char *bootstrap, *topic, *group;
    int32_t partition;  /* without a group: -1 for every partition of the topic, or only this one */
    const char *offset; /* where `partition` starts: earliest, latest or a number; NULL: as configured */
    const char *reset;  /* the auto.offset.reset a --consumer-property gave, else NULL */
    moonlog_consumer_config *cfg;
} ml_cli_copts;

/* Defaults and a configuration named client_id (the options may rename it). The exit status so
 * far: 0, 1 when there is no memory, 2 when client_id is refused. */
int ml_cli_copts_init(ml_cli_copts *o, const char *client_id);
/* --bootstrap-server, --topic, --group, --consumer-property or --consumer.config with its
 * value: 0, -1 (printed), or 1 when `a` is none of them. */
int ml_cli_copts_option(ml_cli_copts *o, const char *a, const char *v);
/* After the options: bootstrap.servers, and group.id with --group. 0 or -1 (printed). */
int ml_cli_copts_apply(ml_cli_copts *o);
/* The consumer, and what it reads (ml_cli_copts_attach, apart so that a command can prepare in
 * between). 0 or -1 (printed). */
int ml_cli_copts_open(const ml_cli_copts *o, moonlog_consumer **c);
int ml_cli_copts_attach(const ml_cli_copts *o, moonlog_consumer *c);
/* One poll of at most 100 ms. 0 or -1 (printed as "NAME: message"). */
int ml_cli_copts_poll(moonlog_consumer *c, const moonlog_consumer_record **recs, int32_t *n);
/* Closes c (if any; a failed close makes the status 1) and frees the configuration. Returns the
 * exit status, `rc` unless the close failed. */
int ml_cli_copts_close(ml_cli_copts *o, moonlog_consumer *c, int rc);

#endif
