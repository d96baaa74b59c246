/* `moonlog run script.lua [args]`: a Lua script with the moonlog module loaded (core/cli/run.c). */
#ifndef ML_CLI_RUN_H
#define ML_CLI_RUN_H

/* argv[0] is "run"; returns the process exit status (the script's, 1 on an error, 2 on a usage
 * error). */
int ml_cli_run(int argc, char **argv);

#endif
