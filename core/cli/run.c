/* `moonlog run [options] script.lua [args...]`: runs a Lua script in an embedded LuaJIT with
 * `require "moonlog"` working. The module reaches libmoonlog through the symbols already linked
 * into this program (ffi.C; the Makefile links libmoonlog.a whole and exports its symbols), so
 * the program needs no libmoonlog.so beside it.
 *
 * This file only prepares the state (package.path, `arg`, signal handling) and calls
 * core/lua/moonlog/run.lua, which runs the script and, when the script returns a handler table,
 * owns the consume loop and the reloads; the contract is in examples/README.md. */
#include "cli/run.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static volatile sig_atomic_t stop_signal;

static void usage(FILE *f) {
    fprintf(f,
            "usage: moonlog run [--reload-interval-ms MS | --no-reload] script.lua [args...]\n"
            "\n"
            "Runs script.lua under LuaJIT with the moonlog module loaded (require \"moonlog\")\n"
            "and its arguments in `arg` (arg[0] is the script). A script that returns nothing\n"
            "(or a number, its exit status) runs once; an error prints its traceback, exit 1.\n"
            "\n"
            "A script that returns a table with a handler is a consumer, and `moonlog run`\n"
            "owns its loop:\n"
            "  return {\n"
            "    config = { [\"bootstrap.servers\"] = \"h:p\", [\"group.id\"] = \"g\", ...,\n"
            "               producer = { ... } },        -- optional: ctx.producer\n"
            "    topics = { \"t\" },                       -- subscribe (needs group.id), or\n"
            "    pattern = \"t[.][0-9]+\",                 -- subscribe by POSIX ERE (no listener), or\n"
            "    assign = { { topic = \"t\", partition = 0 } },\n"
            "    listener = { on_partitions_assigned = fn, ... },   -- with topics\n"
            "    on_message = function(msg, ctx) end,    -- or on_batch = function(msgs, ctx)\n"
            "    on_start = function(ctx) end, on_stop = function(ctx) end,   -- optional\n"
            "    commit = \"batch\",                       -- optional: commit_sync per batch\n"
            "  }\n"
            "It polls, calls the handler, flushes ctx.producer before the positions can be\n"
            "committed, and stops cleanly on SIGINT/SIGTERM (on_stop, flush, close). The\n"
            "script file is checked every --reload-interval-ms (default 1000): a changed file\n"
            "runs again in a fresh environment and, if it returns a valid table, its handlers\n"
            "take the next records (the consumer, its position and ctx.state are kept); a\n"
            "broken version is reported on stderr and the running one goes on.\n"
            "The contract in full: examples/README.md.\n");
}

static void on_stop_signal(int sig) { stop_signal = sig; }

/* trap_signals(): from now on SIGINT/SIGTERM ask the loop to stop; a second one kills, so a
 * stuck handler can still be interrupted. */
static int l_trap_signals(lua_State *L) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return luaL_error(L, "sigaction failed");
    return 0;
}

/* stop_requested() -> the signal number that asked to stop, or false */
static int l_stop_requested(lua_State *L) {
    if (stop_signal) lua_pushinteger(L, stop_signal);
    else lua_pushboolean(L, 0);
    return 1;
}

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

/* out = base/sub when moonlog.lua is there. */
static int lua_dir_at(char *out, size_t outsz, const char *base, const char *sub) {
    int n = snprintf(out, outsz, "%s/%s", base, sub);
    if (n < 0 || (size_t)n >= outsz) return 0;
    char cand[PATH_MAX + 16];
    n = snprintf(cand, sizeof cand, "%s/moonlog.lua", out);
    return n > 0 && (size_t)n < sizeof cand && file_exists(cand);
}

/* The directory holding moonlog.lua: $MOONLOG_ROOT/core/lua, the source tree or installed tree
 * this program sits in (up to four levels above it: build/, build/address/), then the usual
 * install prefixes. */
static int find_lua_dir(char *out, size_t outsz) {
    const char *root = getenv("MOONLOG_ROOT");
    if (root && *root && lua_dir_at(out, outsz, root, "core/lua")) return 1;
    char dir[PATH_MAX];
    if (realpath("/proc/self/exe", dir)) {
        for (int up = 0; up < 4; up++) {
            char *slash = strrchr(dir, '/');
            if (!slash || slash == dir) break;
            *slash = 0;
            if (lua_dir_at(out, outsz, dir, "core/lua") || lua_dir_at(out, outsz, dir, "share/moonlog/lua")) return 1;
        }
    }
    return lua_dir_at(out, outsz, "/usr/local/share/moonlog", "lua") || lua_dir_at(out, outsz, "/usr/share/moonlog", "lua");
}

static void set_package_path(lua_State *L, const char *lua_dir) {
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", lua_dir, lua_dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

/* arg as the luajit command sets it: arg[0] the script, arg[1..n] its arguments, arg[-1] us. */
static void set_arg(lua_State *L, const char *self, char **script_argv, int n) {
    lua_createtable(L, n, 2);
    lua_pushstring(L, self);
    lua_rawseti(L, -2, -1);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, script_argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "arg");
}

static int traceback(lua_State *L) {
    luaL_traceback(L, L, lua_tostring(L, 1) ? lua_tostring(L, 1) : "(error object is not a string)", 1);
    return 1;
}

/* require("moonlog.run").main(script, { reload_interval_ms =, trap_signals =, stop_requested = }) */
static int run_script(lua_State *L, const char *script, long reload_ms) {
    lua_pushcfunction(L, traceback);
    int msgh = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushstring(L, "moonlog.run");
    if (lua_pcall(L, 1, 1, msgh) != 0) {
        fprintf(stderr, "moonlog run: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_getfield(L, -1, "main");
    lua_pushstring(L, script);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)reload_ms);
    lua_setfield(L, -2, "reload_interval_ms");
    lua_pushcfunction(L, l_trap_signals);
    lua_setfield(L, -2, "trap_signals");
    lua_pushcfunction(L, l_stop_requested);
    lua_setfield(L, -2, "stop_requested");
    if (lua_pcall(L, 2, 1, msgh) != 0) {
        fprintf(stderr, "moonlog run: %s\n", lua_tostring(L, -1));
        return 1;
    }
    return lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 0;
}

int ml_cli_run(int argc, char **argv) {
    long reload_ms = 1000;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--no-reload") == 0) {
            reload_ms = 0;
        } else if (strcmp(argv[i], "--reload-interval-ms") == 0 && i + 1 < argc) {
            char *end;
            reload_ms = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || reload_ms < 1) {
                fprintf(stderr, "moonlog run: --reload-interval-ms %s: not a number >= 1\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "moonlog run: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    char lua_dir[PATH_MAX];
    if (!find_lua_dir(lua_dir, sizeof lua_dir)) {
        fprintf(stderr, "moonlog run: cannot find moonlog.lua ($MOONLOG_ROOT/core/lua, core/lua or "
                        "share/moonlog/lua above this program, /usr/local/share/moonlog/lua, "
                        "/usr/share/moonlog/lua)\n");
        return 1;
    }
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "moonlog run: cannot create a Lua state (out of memory)\n");
        return 1;
    }
    luaL_openlibs(L);
    set_package_path(L, lua_dir);
    set_arg(L, "moonlog", argv + i, argc - i);
    int rc = run_script(L, argv[i], reload_ms);
    lua_close(L);
    return rc;
}
