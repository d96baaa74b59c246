/* The producing commands (produce, perf produce): their options, as Kafka's console producer and
 * producer perf test name them, and the life of their producer configuration. */
#ifndef ML_CLI_PRODUCER_CMD_H
#define ML_CLI_PRODUCER_CMD_H

#include <stdint.h>

#include "moonlog/producer.h"

typedef struct ml_cli_popts {
    const char *bootstrap;
    const char *topic;
    int parse_key;
    const char *key_sep;
    int64_t num_records;
    int32_t record_size;
    double throughput;
    int threads;
    int null_keys; /* perf produce --keys none */
    int64_t print_every_ms;
    moonlog_config *cfg;
} ml_cli_popts;

/* The command: its options parsed (perf: those of perf produce, else those of produce) into a
 * fresh configuration, then run(o). The exit status: 1 out of memory, 2 for bad usage, else
 * run's. */
int ml_cli_popts_main(int argc, char **argv, int perf, int (*run)(ml_cli_popts *o));

#endif
