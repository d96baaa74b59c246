/* moonlogd: one Kafka-compatible broker.
 *   moonlogd [server.properties] [--override key=value]... [--help-config] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_config.h"
#include "broker/server.h"
#include "common/log.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: moonlogd [server.properties] [--override key=value]... \n"
            "       moonlogd --help-config   (every configuration key with its default, as Markdown)\n");
}

int main(int argc, char **argv) {
    const char *path = NULL;
    const char **overrides = calloc((size_t)argc, sizeof *overrides);
    int n_overrides = 0;
    if (!overrides) return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--override") == 0 && i + 1 < argc) {
            overrides[n_overrides++] = argv[++i];
        } else if (strcmp(argv[i], "--help-config") == 0) {
            ml_broker_config_print_markdown(stdout);
            free(overrides);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            free(overrides);
            return 0;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            usage(stderr);
            free(overrides);
            return 2;
        }
    }
    ml_broker_config cfg;
    ml_broker_config_init(&cfg);
    ml_err err = {0};
    if (ml_broker_config_load(&cfg, path, n_overrides, overrides, &err) != 0) {
        fprintf(stderr, "moonlogd: %s\n", err.msg);
        free(overrides);
        ml_broker_config_free(&cfg);
        return 2;
    }
    free(overrides);
    ml_log_set_level((enum ml_log_level)cfg.log_level);
    ml_server server;
    int rc = ml_server_init(&server, &cfg, &err);
    if (rc == 0) rc = ml_server_run(&server, &err);
    if (rc != 0) ml_error("%s", err.msg);
    ml_server_free(&server);
    ml_broker_config_free(&cfg);
    return rc == 0 ? 0 : 1;
}
