/* The moonlog command's shared pieces: one entry point per command (one file each, dispatched by
 * main.c) and the option helpers several of them use. Every command returns the process exit
 * status: 0 on success, 1 when the work failed, 2 for bad usage; messages go to stderr as
 * "moonlog: ...". */
#ifndef ML_CLI_CLI_H
#define ML_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "moonlog/consumer.h"

int ml_cli_produce(int argc, char **argv);
int ml_cli_perf_produce(int argc, char **argv);
int ml_cli_consume(int argc, char **argv);
int ml_cli_perf_consume(int argc, char **argv);
int ml_cli_groups(int argc, char **argv);
int ml_cli_topics(int argc, char **argv);

/* Usage of every command (main.c) to stderr. */
void ml_cli_usage(void);

/* argv[*i] is option `a` taking a value: returns it and steps *i past it, or NULL (with a message
 * naming the option) when it is missing. */
const char *ml_cli_value(int argc, char **argv, int *i);
/* The same for an option the command knows (`known`); NULL after "unknown option" otherwise. */
const char *ml_cli_known_value(int argc, char **argv, int *i, int known);
/* "unknown option a" printed; -1. */
int ml_cli_unknown(const char *a);
/* Whether `a` is one of `names` (a NULL-terminated list). */
int ml_cli_one_of(const char *a, const char *const *names);
/* "k=v" split into key (NUL-terminated in `key`) and *value; -1 with a message naming `opt`. */
int ml_cli_kv(const char *opt, const char *kv, char *key, size_t key_cap, const char **value);
/* A whole decimal integer within [min, max]; -1 with a message naming the option. */
int ml_cli_int(const char *opt, const char *v, int64_t min, int64_t max, int64_t *out);

/* Calls set(ctx, path, line, key, value) for each entry of the .properties file at `path`, in
 * order, up to the first that fails. 0, or -1 when the file did not load (printed) or a set
 * failed (set prints its own message). */
typedef int (*ml_cli_props_fn)(void *ctx, const char *path, int line, const char *key, const char *value);
int ml_cli_props_each(const char *path, ml_cli_props_fn set, void *ctx);

/* Consumer properties (the consuming and the admin commands): one, "k=v" (--consumer-property),
 * or a .properties file (--consumer.config, --command-config; naming the file and line of a bad
 * entry). 0 or -1 after printing the error. */
int ml_cli_consumer_set(moonlog_consumer_config *cfg, const char *key, const char *value);
int ml_cli_consumer_kv(moonlog_consumer_config *cfg, const char *kv);
int ml_cli_consumer_file(moonlog_consumer_config *cfg, const char *path);

#endif
