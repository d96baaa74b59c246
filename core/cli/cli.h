/* The moonlog command's shared pieces: one entry point per command (one file each, dispatched by
 * main.c) and the option helpers several of them use. Every command returns the process exit
 * status: 0 on success, 1 when the work failed, 2 for bad usage; messages go to stderr as
 * "moonlog: ...". */
#ifndef ML_CLI_CLI_H
#define ML_CLI_CLI_H

#include <stdint.h>

#include "moonlog/consumer.h"
#include "moonlog/producer.h"

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
/* "k=v" split into key (NUL-terminated in `key`) and *value; -1 with a message naming `opt`. */
int ml_cli_kv(const char *opt, const char *kv, char *key, size_t key_cap, const char **value);
/* A whole decimal integer within [min, max]; -1 with a message naming the option. */
int ml_cli_int(const char *opt, const char *v, int64_t min, int64_t max, int64_t *out);

/* Consumer properties: one, "k=v" (--consumer-property), or a .properties file (--consumer.config,
 * naming the file and line of a bad entry). 0 or -1 after printing the error. */
int ml_cli_consumer_set(moonlog_consumer_config *cfg, const char *key, const char *value);
int ml_cli_consumer_kv(moonlog_consumer_config *cfg, const char *kv);
int ml_cli_consumer_file(moonlog_consumer_config *cfg, const char *path);

/* The options of produce and perf produce (Kafka's console producer and producer perf test). */
typedef struct ml_cli_popts {
    const char *bootstrap;
    const char *topic;
    int parse_key;
    const char *key_sep;
    int64_t num_records;
    int32_t record_size;
    double throughput;
    int threads;
    int64_t print_every_ms;
    moonlog_config *cfg;
} ml_cli_popts;

/* Defaults, and a fresh producer configuration (NULL cfg when out of memory). */
void ml_cli_popts_init(ml_cli_popts *o);
int ml_cli_popts_parse(ml_cli_popts *o, int argc, char **argv, int perf);

#endif
