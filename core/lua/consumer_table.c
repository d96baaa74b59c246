/* The consumer table of rebalance_listener plugins: commit_sync, seek, position, committed and
 * assignment as C closures over the consumer (the sandbox has no ffi). Offsets are Lua numbers,
 * exact up to 2^53. A failure returns nil and { code =, name =, message = }. */
#include "lua/consumer_table.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "client/client_error.h"
#include "lua/plugin.h"
#include "moonlog/consumer.h"

#define ML_TABLE_MAX 100000 /* partitions in one call: more is a plugin bug, not a request */

static moonlog_consumer *self(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

static int fail(lua_State *L, const moonlog_error *e) {
    lua_pushnil(L);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, e->code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, e->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, e->message);
    lua_setfield(L, -2, "message");
    return 2;
}

/* The array at `idx` (entries {topic =, partition = [, offset =]}) into `out`; its length. */
static int read_list(lua_State *L, int idx, moonlog_topic_partition_offset **out, int with_offset) {
    luaL_checktype(L, idx, LUA_TTABLE);
    int n = (int)lua_objlen(L, idx);
    luaL_argcheck(L, n <= ML_TABLE_MAX, idx, "too many partitions");
    moonlog_topic_partition_offset *a = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *a); /* freed by the GC */
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, idx, i + 1);
        if (!lua_istable(L, -1)) luaL_error(L, "entry %d is not a {topic =, partition =} table", i + 1);
        lua_getfield(L, -1, "topic");
        a[i].topic = lua_tostring(L, -1); /* kept alive by the entry table, itself in the argument */
        lua_getfield(L, -2, "partition");
        a[i].partition = (int32_t)lua_tointeger(L, -1);
        int ok = a[i].topic && lua_type(L, -1) == LUA_TNUMBER;
        lua_getfield(L, -3, "offset");
        a[i].offset = (int64_t)lua_tonumber(L, -1);
        ok = ok && (!with_offset || lua_type(L, -1) == LUA_TNUMBER);
        lua_pop(L, 4);
        if (!ok) luaL_error(L, "entry %d needs topic, partition%s", i + 1, with_offset ? " and offset" : "");
    }
    *out = a;
    return n;
}

/* commit_sync([offsets][, timeout_ms]) -> true | nil, err; without offsets: every position. */
static int t_commit_sync(lua_State *L) {
    int64_t timeout = (int64_t)luaL_optnumber(L, 2, 60000); /* before read_list pushes onto the stack */
    moonlog_topic_partition_offset *a = NULL;
    int n = lua_isnoneornil(L, 1) ? 0 : read_list(L, 1, &a, 1);
    moonlog_error e;
    if (moonlog_consumer_commit_sync(self(L), a, n, timeout, &e) != 0) return fail(L, &e);
    lua_pushboolean(L, 1);
    return 1;
}

static int t_seek(lua_State *L) {
    const char *topic = luaL_checkstring(L, 1);
    int32_t p = (int32_t)luaL_checkinteger(L, 2);
    int64_t off = (int64_t)luaL_checknumber(L, 3);
    moonlog_error e;
    if (moonlog_consumer_seek(self(L), topic, p, off, &e) != 0) return fail(L, &e);
    lua_pushboolean(L, 1);
    return 1;
}

static int t_position(lua_State *L) {
    const char *topic = luaL_checkstring(L, 1);
    int32_t p = (int32_t)luaL_checkinteger(L, 2);
    int64_t timeout = (int64_t)luaL_optnumber(L, 3, 30000);
    int64_t off;
    moonlog_error e;
    if (moonlog_consumer_position(self(L), topic, p, timeout, &off, &e) != 0) return fail(L, &e);
    lua_pushnumber(L, (lua_Number)off);
    return 1;
}

/* committed(partitions[, timeout_ms]) -> { offset or -1, ... } in the order asked | nil, err */
static int t_committed(lua_State *L) {
    int64_t timeout = (int64_t)luaL_optnumber(L, 2, 60000);
    moonlog_topic_partition_offset *a;
    int n = read_list(L, 1, &a, 0);
    moonlog_topic_partition *tps = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *tps);
    int64_t *offs = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *offs);
    for (int i = 0; i < n; i++) tps[i] = (moonlog_topic_partition){a[i].topic, a[i].partition};
    moonlog_error e;
    if (moonlog_consumer_committed(self(L), tps, n, offs, timeout, &e) != 0) return fail(L, &e);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushnumber(L, (lua_Number)offs[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int t_assignment(lua_State *L) {
    moonlog_error e;
    int n = moonlog_consumer_assignment(self(L), NULL, 0, &e);
    if (n < 0) return fail(L, &e);
    moonlog_topic_partition *tps = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *tps);
    n = moonlog_consumer_assignment(self(L), tps, n, &e);
    ml_lua_push_tps(L, tps, n);
    return 1;
}

void ml_lua_push_consumer(lua_State *L, void *consumer) {
    static const luaL_Reg fns[] = {{"commit_sync", t_commit_sync}, {"seek", t_seek},
                                   {"position", t_position},       {"committed", t_committed},
                                   {"assignment", t_assignment},   {NULL, NULL}};
    lua_createtable(L, 0, 5);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushlightuserdata(L, consumer);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -2, f->name);
    }
}

static void push(lua_State *L, void *ctx) { ml_lua_push_consumer(L, ctx); }

int moonlog_plugin_rebalance(moonlog_plugin *pl, const char *fn, moonlog_consumer *consumer,
                             const moonlog_topic_partition *tps, int n, moonlog_error *err) {
    static const char *const names[] = {"on_partitions_revoked", "on_partitions_assigned", "on_partitions_lost"};
    for (int i = 0; i < 3; i++)
        if (fn && strcmp(fn, names[i]) == 0) return ml_plugin_rebalance(pl, i, push, consumer, tps, n, err);
    return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "%s: not a rebalance_listener function", fn ? fn : "(null)");
}
