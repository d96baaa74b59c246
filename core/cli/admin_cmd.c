/* The admin commands' shared options and client (admin_cmd.h). */
#include "cli/admin_cmd.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int ml_cli_admin_action(ml_cli_admin *o, int action, const char *a) {
    if (o->action != 0) {
        fprintf(stderr, "moonlog: %s: only one of %s\n", a, o->actions);
        return -1;
    }
    o->action = action;
    return 0;
}

int ml_cli_admin_need_action(const ml_cli_admin *o, const char *command) {
    if (o->action == 0) {
        fprintf(stderr, "moonlog: %s needs one of %s\n", command, o->actions);
        return -1;
    }
    return 0;
}

int ml_cli_admin_option(ml_cli_admin *o, const char *a, const char *v) {
    if (strcmp(a, "--bootstrap-server") == 0) o->bootstrap = v;
    else if (strcmp(a, "--command-config") == 0) return ml_cli_consumer_file(o->cfg, v);
    else return 1;
    return 0;
}

/* client.id first, so that --command-config can still name the client otherwise. */
static int configure(ml_cli_admin *o, int argc, char **argv) {
    o->bootstrap = "127.0.0.1:9092";
    if (ml_cli_consumer_set(o->cfg, "client.id", "moonlog-admin") != 0 || o->parse(o, argc, argv) != 0) return -1;
    return ml_cli_consumer_set(o->cfg, "bootstrap.servers", o->bootstrap);
}

int ml_cli_admin_main(ml_cli_admin *o, int argc, char **argv) {
    o->cfg = moonlog_consumer_config_new();
    if (!o->cfg) return 1;
    int rc = 2;
    moonlog_admin *a = NULL;
    moonlog_error e;
    if (configure(o, argc, argv) == 0) {
        rc = 1;
        if (moonlog_admin_new(o->cfg, &a, &e) != 0) fprintf(stderr, "moonlog: %s\n", e.message);
        else rc = o->act(o, a);
    }
    moonlog_admin_close(a);
    moonlog_consumer_config_free(o->cfg);
    return rc;
}
