/* The moonlog command: dispatches to one file per command (cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/run.h"

void ml_cli_usage(void) {
    fprintf(stderr,
            "usage: moonlog produce --bootstrap-server H:P --topic T [--property parse.key=true]\n"
            "                       [--property key.separator=SEP] [--producer-property k=v]...\n"
            "                       [--producer.config FILE] [--partitioner NAME|PATH]\n"
            "                       [--key-serializer NAME|PATH] [--value-serializer NAME|PATH]\n"
            "                       [--retry-policy NAME|PATH]\n"
            "       moonlog consume --bootstrap-server H:P --topic T [--group G] [--from-beginning]\n"
            "                       [--max-messages N] [--timeout-ms MS] [--partition P [--offset O]]\n"
            "                       [--property print.key=true|print.timestamp=true|print.partition=true|\n"
            "                        print.offset=true|print.headers=true|key.separator=SEP|line.separator=SEP]...\n"
            "                       [--consumer-property k=v]... [--consumer.config FILE]\n"
            "       moonlog topics --bootstrap-server H:P --create --topic T [--partitions N]\n"
            "                       [--replication-factor R] [--config k=v]...\n"
            "                      | --list | --describe [--topic T] | --delete --topic T\n"
            "                      | --alter --topic T --partitions N\n"
            "       moonlog groups --bootstrap-server H:P --list\n"
            "                      | --describe --group G|--all-groups [--members [--verbose]]\n"
            "                      | --delete --group G\n"
            "       moonlog perf produce --topic T --num-records N --record-size S --throughput R\n"
            "                       [--bootstrap-server H:P] [--threads N] [--keys index|none]\n"
            "                       [--producer-property k=v]...\n"
            "       moonlog perf consume --bootstrap-server H:P --topic T --messages N [--group G]\n"
            "                       [--timeout-ms MS] [--consumer-property k=v]... [--consumer.config FILE]\n"
            "       moonlog run [--reload-interval-ms MS | --no-reload] script.lua [args...]   (run --help)\n");
}

int main(int argc, char **argv) {
    const char *cmd = argc >= 2 ? argv[1] : "";
    if (strcmp(cmd, "produce") == 0) return ml_cli_produce(argc - 2, argv + 2);
    if (strcmp(cmd, "consume") == 0) return ml_cli_consume(argc - 2, argv + 2);
    if (strcmp(cmd, "topics") == 0) return ml_cli_topics(argc - 2, argv + 2);
    if (strcmp(cmd, "groups") == 0) return ml_cli_groups(argc - 2, argv + 2);
    if (strcmp(cmd, "perf") == 0 && argc >= 3 && strcmp(argv[2], "produce") == 0)
        return ml_cli_perf_produce(argc - 3, argv + 3);
    if (strcmp(cmd, "perf") == 0 && argc >= 3 && strcmp(argv[2], "consume") == 0)
        return ml_cli_perf_consume(argc - 3, argv + 3);
    if (strcmp(cmd, "run") == 0) return ml_cli_run(argc - 1, argv + 1);
    ml_cli_usage();
    return strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ? 0 : 2;
}
