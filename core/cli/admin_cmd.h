/* The admin commands (topics, groups): the options they share, their one action, and the life of
 * their admin client. A command's options struct begins with an ml_cli_admin, so that the
 * callbacks get the whole struct back from the pointer they are given. */
#ifndef ML_CLI_ADMIN_CMD_H
#define ML_CLI_ADMIN_CMD_H

#include "moonlog/admin.h"

typedef struct ml_cli_admin ml_cli_admin;
struct ml_cli_admin {
    const char *actions; /* the action options, as the messages list them: "--list, --delete" */
    int (*parse)(ml_cli_admin *o, int argc, char **argv); /* 0 or -1 (printed) */
    int (*act)(ml_cli_admin *o, moonlog_admin *a);         /* the exit status */
    int action;                                            /* 0 until an option chose one */
    const char *bootstrap;
    moonlog_consumer_config *cfg;
};

/* The command: a configuration named moonlog-admin (its options may rename it), o->parse,
 * bootstrap.servers, the client, o->act. The exit status: 1 when there is no memory or no
 * client, 2 for bad usage, else act's. */
int ml_cli_admin_main(ml_cli_admin *o, int argc, char **argv);
/* Option `a` chooses `action`: -1 (printed) when an option chose one already. */
int ml_cli_admin_action(ml_cli_admin *o, int action, const char *a);
/* After the options: -1 (printed, naming `command`) when none chose an action. */
int ml_cli_admin_need_action(const ml_cli_admin *o, const char *command);
/* --bootstrap-server or --command-config with its value: 0, -1 (printed), or 1 when `a` is
 * neither. */
int ml_cli_admin_option(ml_cli_admin *o, const char *a, const char *v);

#endif
