/* The LuaJIT plugin host: loads plugins into per-thread states with an allow-list environment,
 * checks them against hook API v1, calls them through lua_pcall only, limits their run time,
 * and reloads them when their file changes. The contract is core/lua/HOOKS.md. */
#include "lua/plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>

#include "client/client_error.h"
#include "common/log.h"
#include "lua/helpers.h"

#define ML_PLUGIN_MAX_COUNTERS 32

typedef struct ml_user_counter {
    char name[48];
    int64_t value;
} ml_user_counter;

struct moonlog_plugin {
    uint64_t id; /* unique for the life of the process: per-thread states key their copies by it */
    int kind;
    char *path;
    char *name;
    int unsafe;
    int64_t timeout_ms;
    char **config; /* key, value, ..., NULL: moonlog.config in the plugin */
    unsigned defined; /* bit i: kind_fns[kind][i] is defined (as of the last valid load) */

    pthread_mutex_t mu; /* source, file signature, user counters */
    char *source;
    size_t source_len;
    struct stat st;
    _Atomic int64_t generation;

    _Atomic int64_t n_calls, n_errors, n_timeouts, n_reloads, n_reload_failures;
    ml_user_counter counters[ML_PLUGIN_MAX_COUNTERS];
    int n_counters;
    char declared_name[ML_PLUGIN_NAME_MAX]; /* an assignor's `name` in its current source (under mu) */
};

static const char *const kind_names[] = {"partitioner", "serializer", "retry_policy", "assignor",
                                         "rebalance_listener"};
static const char *const kind_dirs[] = {"partitioners", "serializers", "retry", "assignors", "rebalance"};
#define N_KINDS ((int)(sizeof kind_names / sizeof kind_names[0]))
/* The functions of each kind: the first kind_required[k] must be defined, the others are optional
 * (a rebalance_listener needs at least one of its three). */
static const char *const kind_fns[][3] = {
    {"partition", "on_batch_full", NULL},
    {"serialize", "deserialize", NULL},
    {"decide", NULL, NULL},
    {"assign", "user_data", "on_assignment"},
    {"on_partitions_revoked", "on_partitions_assigned", "on_partitions_lost"},
};
static const int kind_required[] = {1, 1, 1, 1, 0};

/* ---- per-thread states ------------------------------------------------------------------ */

typedef struct ml_lua_entry {
    uint64_t plugin_id;
    int64_t generation;
    int ref_fn[3]; /* LUA_NOREF when the plugin does not define it */
} ml_lua_entry;

typedef struct ml_lua_tls {
    lua_State *L;
    int jit_off;
    int ref_env_maker, ref_anchor;
    int ref_partition_many; /* the trampoline that partitions a list of records in one call */
    ml_plugin_view *tr_views; /* its records: read through FFI (a lightuserdata cast is not compiled) */
    size_t closed_seen; /* closed_count when this thread last swept its entries */
    ml_lua_entry *entries;
    int n_entries, cap_entries;
    moonlog_plugin *current;    /* the plugin being called (helpers count and log for it) */
    const ml_cluster_ops *ops;  /* during a partition call */
    struct timespec deadline;
    int timed_out;
} ml_lua_tls;

static _Thread_local ml_lua_tls *tls;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t next_plugin_id = 1;

/* Ids of closed plugins, so that each thread drops its copies of them (and what they hold) the
 * next time it calls a plugin; closed_count tells a thread whether the list changed. */
static pthread_mutex_t closed_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *closed_ids;
static size_t n_closed, cap_closed;
static _Atomic size_t closed_count;

static void tls_free(void *p) {
    ml_lua_tls *t = p;
    if (!t) return;
    if (t->L) lua_close(t->L);
    free(t->entries);
    free(t);
}

static void tls_key_init(void) { pthread_key_create(&tls_key, tls_free); }

/* The environment a plugin's chunk runs in: an allow-list, or the whole _G when unsafe. */
static const char env_maker_src[] =
    "local helpers = ...\n"
    "local safe = { 'assert', 'error', 'ipairs', 'next', 'pairs', 'pcall', 'select', 'tonumber',\n"
    "  'tostring', 'type', 'unpack', 'xpcall', 'rawequal', 'rawget', 'rawset', 'setmetatable', '_VERSION' }\n"
    "local getmt = getmetatable\n"
    "return function(unsafe, config)\n"
    "  local h = setmetatable({ config = config }, { __index = helpers })\n"
    "  if unsafe then return setmetatable({ moonlog = h }, { __index = _G }) end\n"
    "  local env = {}\n"
    "  for _, k in ipairs(safe) do env[k] = _G[k] end\n"
    "  env.getmetatable = function(v) if type(v) == 'string' then return nil end return getmt(v) end\n"
    "  for _, lib in ipairs({ 'string', 'table', 'math', 'bit' }) do\n"
    "    local t = {}\n"
    "    for k, v in pairs(_G[lib]) do t[k] = v end\n"
    "    env[lib] = t\n"
    "  end\n"
    "  env.string.dump = nil\n"
    "  env.os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime }\n"
    "  env.moonlog = h\n"
    "  env._G = env\n"
    "  return env\n"
    "end\n";

/* helpers that need the plugin being called */
static int h_log(lua_State *L) {
    static const char *const names[] = {"debug", "info", "warn", "error", NULL};
    int level = luaL_checkoption(L, 1, "info", names);
    const char *msg = luaL_checkstring(L, 2);
    moonlog_plugin *pl = tls ? tls->current : NULL;
    ml_log((enum ml_log_level)level, "plugin %s: %s", pl ? pl->name : "?", msg);
    return 0;
}

static int h_count(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    int64_t n = (int64_t)luaL_optnumber(L, 2, 1);
    moonlog_plugin *pl = tls ? tls->current : NULL;
    if (!pl) return 0;
    pthread_mutex_lock(&pl->mu);
    int i;
    for (i = 0; i < pl->n_counters; i++)
        if (strcmp(pl->counters[i].name, name) == 0) break;
    if (i == pl->n_counters && i < ML_PLUGIN_MAX_COUNTERS) {
        snprintf(pl->counters[i].name, sizeof pl->counters[i].name, "%s", name);
        pl->counters[i].value = 0;
        pl->n_counters++;
    }
    if (i < pl->n_counters) pl->counters[i].value += n;
    pthread_mutex_unlock(&pl->mu);
    return 0;
}

/* cluster.partition_count(topic), cluster.available(topic, p): answered by the producer */
static int c_partition_count(lua_State *L) {
    const char *topic = luaL_checkstring(L, 1);
    const ml_cluster_ops *ops = tls ? tls->ops : NULL;
    int32_t n = ops ? ops->partition_count(ops->ctx, topic) : -1;
    if (n < 0) lua_pushnil(L);
    else lua_pushinteger(L, n);
    return 1;
}

static int c_available(lua_State *L) {
    const char *topic = luaL_checkstring(L, 1);
    int32_t p = (int32_t)luaL_checkinteger(L, 2);
    const ml_cluster_ops *ops = tls ? tls->ops : NULL;
    lua_pushboolean(L, ops ? ops->available(ops->ctx, topic, p) : 0);
    return 1;
}

static int c_queued_bytes(lua_State *L) {
    const char *topic = luaL_checkstring(L, 1);
    int32_t p = (int32_t)luaL_checkinteger(L, 2);
    const ml_cluster_ops *ops = tls ? tls->ops : NULL;
    lua_pushnumber(L, ops && ops->queued_bytes ? (lua_Number)ops->queued_bytes(ops->ctx, topic, p) : 0);
    return 1;
}

static int c_latency_ms(lua_State *L) {
    const char *topic = luaL_checkstring(L, 1);
    int32_t p = (int32_t)luaL_checkinteger(L, 2);
    const ml_cluster_ops *ops = tls ? tls->ops : NULL;
    double v = ops && ops->latency_ms ? ops->latency_ms(ops->ctx, topic, p) : -1;
    if (v < 0) lua_pushnil(L);
    else lua_pushnumber(L, v);
    return 1;
}

/* Per-record time limit inside the trampoline: the deadline starts again for every record. */
static void deadline_start(ml_lua_tls *t, int64_t timeout_ms) {
    clock_gettime(CLOCK_MONOTONIC, &t->deadline);
    t->deadline.tv_sec += timeout_ms / 1000;
    t->deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (t->deadline.tv_nsec >= 1000000000) {
        t->deadline.tv_sec++;
        t->deadline.tv_nsec -= 1000000000;
    }
}

static int tr_begin(lua_State *L) {
    (void)L;
    if (tls && tls->current) {
        deadline_start(tls, tls->current->timeout_ms);
        tls->timed_out = 0;
    }
    return 0;
}

static int tr_timed_out(lua_State *L) {
    lua_pushboolean(L, tls && tls->timed_out);
    if (tls) tls->timed_out = 0;
    return 1;
}

/* The partition trampoline: host code (not sandboxed), run in one lua_pcall for a whole list of
 * records. Records are FFI views (ml_plugin_view); the plugin gets one reused table holding only
 * topic and partitions (rewritten when the topic changes): every other field is read from the
 * view when the plugin asks for it (a string per key costs ~30 ns, storing the three numbers a
 * record ~15 instructions, a third of the loop: most partitioners never look). Each record's
 * call is protected on its own, so a failure fails only that record; JIT-compiled, the loop and
 * the Lua-to-Lua call cost a few ns a record. */
static const char partition_many_src[] =
    "local begin, timed_out, slot, helpers, p_murmur2, p_crc32 = ...\n"
    "local ffi = require('ffi')\n"
    "ffi.cdef[[\n"
    "typedef struct ml_plugin_header { const char *key; const void *value; int32_t value_len; } ml_plugin_header;\n"
    "typedef struct ml_plugin_view { const char *topic; const void *key; const ml_plugin_header *headers;\n"
    "  int64_t timestamp; int32_t key_len, value_len, n_headers, partitions, partition, status; } ml_plugin_view;\n"
    "]]\n"
    "local fstring = ffi.string\n"
    "slot = ffi.cast('ml_plugin_view **', slot)\n"
    "local pcall, type, tonumber, floor, setmetatable = pcall, type, tonumber, math.floor, setmetatable\n"
    "-- the record being partitioned: the list and an index (a cdata kept in an upvalue per record\n"
    "-- would be allocated per record; a number is not)\n"
    "local cur_list, cur_i, cur_parts = nil, 0, 0\n"
    "local function lazy(_, k)\n"
    "  if cur_list == nil then return nil end\n"
    "  local v = cur_list[cur_i]\n"
    "  if k == 'key' then\n"
    "    if v.key == nil then return nil end\n"
    "    return fstring(v.key, v.key_len)\n"
    "  elseif k == 'key_size' then return v.key_len -- -1 for a null key\n"
    "  elseif k == 'value_size' then return v.value_len\n"
    "  elseif k == 'timestamp' then return tonumber(v.timestamp)\n"
    "  elseif k == 'headers' then\n"
    "    if v.n_headers <= 0 then return nil end\n"
    "    local hs = {}\n"
    "    for i = 0, v.n_headers - 1 do\n"
    "      local h = v.headers[i]\n"
    "      local val = nil\n"
    "      if h.value ~= nil then val = fstring(h.value, h.value_len < 0 and 0 or h.value_len) end\n"
    "      hs[i + 1] = { key = fstring(h.key), value = val }\n"
    "    end\n"
    "    return hs\n"
    "  end\n"
    "  return nil\n"
    "end\n"
    "local rec = setmetatable({}, { __index = lazy })\n"
    "-- the partition in C: a modulo in compiled Lua costs more than the call\n"
    "local murmur2_part = ffi.cast('int32_t (*)(const void *, int32_t, int32_t)', p_murmur2)\n"
    "local crc32_part = ffi.cast('int32_t (*)(const void *, int32_t, int32_t)', p_crc32)\n"
    "local murmur2_partition, crc32_partition = helpers.murmur2_partition, helpers.crc32_partition\n"
    "-- the key's partition straight from the record's bytes: no Lua string made for the key\n"
    "helpers.key_murmur2_partition = function(r, n)\n"
    "  if r ~= rec or cur_list == nil then\n"
    "    local k = r.key\n"
    "    if k == nil then return nil end\n"
    "    return murmur2_partition(k, n or r.partitions)\n"
    "  end\n"
    "  local v = cur_list[cur_i]\n"
    "  if v.key == nil then return nil end\n"
    "  if n ~= nil then return murmur2_partition(fstring(v.key, v.key_len), n) end\n"
    "  return murmur2_part(v.key, v.key_len, cur_parts)\n"
    "end\n"
    "helpers.key_crc32_partition = function(r, n)\n"
    "  if r ~= rec or cur_list == nil then\n"
    "    local k = r.key\n"
    "    if k == nil then return nil end\n"
    "    return crc32_partition(k, n or r.partitions)\n"
    "  end\n"
    "  local v = cur_list[cur_i]\n"
    "  if v.key == nil then return nil end\n"
    "  if n ~= nil then return crc32_partition(fstring(v.key, v.key_len), n) end\n"
    "  return crc32_part(v.key, v.key_len, cur_parts)\n"
    "end\n"
    "return function(fn, n, cluster, limited)\n"
    "  if fn == nil then cur_list = nil return end -- after a failed call: no stale views\n"
    "  local v0, r = slot[0], rec\n"
    "  -- tp starts as a pointer, never nil: a type that changes on the first record of every call\n"
    "  -- throws the compiled loop back to the interpreter\n"
    "  local tp = v0[0].topic\n"
    "  local topic, errs = fstring(tp), nil\n"
    "  -- plugins must not write to rec: topic and partitions are stored only when the topic changes\n"
    "  -- (the host sets the count only on the first view of each run of one topic)\n"
    "  local parts = v0[0].partitions\n"
    "  r.topic = topic\n"
    "  r.partitions = parts\n"
    "  cur_list, cur_parts = v0, parts\n"
    "  for i = 0, n - 1 do\n"
    "    local v = v0[i]\n"
    "    if v.topic ~= tp then\n"
    "      tp = v.topic; topic = fstring(tp); r.topic = topic\n"
    "      parts = v.partitions; r.partitions = parts; cur_parts = parts\n"
    "    end\n"
    "    cur_i = i\n"
    "    if limited then begin() end\n"
    "    local ok, p = pcall(fn, r, cluster)\n"
    "    if ok and type(p) == 'number' and p >= 0 and p < parts and p == floor(p) then\n"
    "      v.partition = p\n"
    "      v.status = 0\n"
    "    else\n"
    "      v.status = ok and 2 or ((limited and timed_out()) and 3 or 1)\n"
    "      v.partitions = parts -- for the error's message: only a run's first view has it\n"
    "      errs = errs or {}\n"
    "      errs[i] = p\n"
    "    end\n"
    "  end\n"
    "  cur_list = nil\n"
    "  return errs\n"
    "end\n";

static int32_t tr_murmur2_partition(const void *d, int32_t len, int32_t n) {
    return moonlog_murmur2_partition(d, len, n);
}

static int32_t tr_crc32_partition(const void *d, int32_t len, int32_t n) {
    return (int32_t)(ml_crc32(d, (size_t)len) % (uint32_t)n);
}

/* Loads the trampoline into a new state (the helpers table at `helpers` gets the record helpers);
 * its registry reference, or LUA_NOREF. `slot` may be NULL in a scratch state (never called). */
static int load_partition_many(lua_State *L, ml_plugin_view **slot, int helpers) {
    if (luaL_loadbuffer(L, partition_many_src, sizeof partition_many_src - 1, "=moonlog.partition_many") != 0) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    lua_pushcfunction(L, tr_begin);
    lua_pushcfunction(L, tr_timed_out);
    lua_pushlightuserdata(L, slot);
    lua_pushvalue(L, helpers);
    lua_pushlightuserdata(L, (void *)tr_murmur2_partition);
    lua_pushlightuserdata(L, (void *)tr_crc32_partition);
    if (lua_pcall(L, 6, 1, 0) != 0) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* A state with the sandbox maker and the partition trampoline (whose views are read from
 * *slot) loaded; NULL on failure. */
static lua_State *new_state(int *ref_env_maker, int *ref_partition_many, ml_plugin_view **slot) {
    lua_State *L = luaL_newstate();
    if (!L) return NULL;
    luaL_openlibs(L);
    if (luaL_loadbuffer(L, env_maker_src, sizeof env_maker_src - 1, "=moonlog.sandbox") != 0) {
        lua_close(L);
        return NULL;
    }
    ml_lua_push_helpers(L);
    lua_pushcfunction(L, h_log);
    lua_setfield(L, -2, "log");
    lua_pushcfunction(L, h_count);
    lua_setfield(L, -2, "count");
    int helpers = lua_gettop(L);
    *ref_partition_many = load_partition_many(L, slot, helpers);
    if (*ref_partition_many == LUA_NOREF || lua_pcall(L, 1, 1, 0) != 0) {
        lua_close(L);
        return NULL;
    }
    *ref_env_maker = luaL_ref(L, LUA_REGISTRYINDEX);
    return L;
}

/* What stays on the bottom of each thread state's stack (pushvalue costs less than a registry
 * lookup): the reused record (retry policies), cluster and err tables. */
enum { SLOT_RECORD = 1, SLOT_CLUSTER, SLOT_ERR, STACK_BASE = SLOT_ERR };

static ml_lua_tls *tls_get(void) {
    if (tls) return tls;
    pthread_once(&tls_once, tls_key_init);
    ml_lua_tls *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->L = new_state(&t->ref_env_maker, &t->ref_partition_many, &t->tr_views);
    if (!t->L) {
        free(t);
        return NULL;
    }
    lua_State *L = t->L;
    lua_settop(L, 0);
    lua_checkstack(L, 64);
    lua_newtable(L); /* SLOT_RECORD */
    lua_newtable(L); /* SLOT_CLUSTER */
    lua_pushcfunction(L, c_partition_count);
    lua_setfield(L, -2, "partition_count");
    lua_pushcfunction(L, c_available);
    lua_setfield(L, -2, "available");
    lua_pushcfunction(L, c_queued_bytes);
    lua_setfield(L, -2, "queued_bytes");
    lua_pushcfunction(L, c_latency_ms);
    lua_setfield(L, -2, "latency_ms");
    lua_newtable(L); /* SLOT_ERR */
    lua_pushnil(L);
    t->ref_anchor = luaL_ref(L, LUA_REGISTRYINDEX);
    tls = t;
    pthread_setspecific(tls_key, t);
    return t;
}

/* ---- loading and checking ----------------------------------------------------------------- */

/* An assignor's `name` (the protocol name it is advertised under in JoinGroup): a string of 1..
 * ML_PLUGIN_NAME_MAX-1 characters. The plugin table is on top of the stack. */
static int check_declared_name(lua_State *L, moonlog_plugin *pl, char *msg, size_t msgsz) {
    lua_getfield(L, -1, "name");
    size_t n = 0;
    const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    lua_pop(L, 1);
    if (name && n > 0 && n < ML_PLUGIN_NAME_MAX) return 0;
    snprintf(msg, msgsz, "%s: an assignor must define name as a string of 1 to %d characters (its protocol name)",
             pl->path, ML_PLUGIN_NAME_MAX - 1);
    return -1;
}

/* Runs the plugin's source in a fresh environment of `L` and checks it; on success leaves the
 * plugin's table on the stack and returns 0, else fills `msg` and leaves the stack as it was. */
static int load_chunk(lua_State *L, int ref_env_maker, moonlog_plugin *pl, const char *src, size_t len, char *msg,
                      size_t msgsz) {
    int top = lua_gettop(L);
    if (len > 0 && src[0] == '\033') {
        snprintf(msg, msgsz, "%s: precompiled bytecode is not accepted, only source", pl->path);
        return -1;
    }
    char chunkname[PATH_MAX + 2];
    snprintf(chunkname, sizeof chunkname, "@%s", pl->path);
    if (luaL_loadbuffer(L, src, len, chunkname) != 0) {
        snprintf(msg, msgsz, "%s", lua_tostring(L, -1));
        lua_settop(L, top);
        return -1;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref_env_maker);
    lua_pushboolean(L, pl->unsafe);
    lua_newtable(L);
    for (char **c = pl->config; c && c[0] && c[1]; c += 2) {
        lua_pushstring(L, c[1]);
        lua_setfield(L, -2, c[0]);
    }
    if (lua_pcall(L, 2, 1, 0) != 0) {
        snprintf(msg, msgsz, "%s", lua_tostring(L, -1));
        lua_settop(L, top);
        return -1;
    }
    lua_setfenv(L, -2);
    if (lua_pcall(L, 0, 1, 0) != 0) {
        const char *e = lua_tostring(L, -1);
        snprintf(msg, msgsz, "%s", e ? e : "error object is not a string");
        lua_settop(L, top);
        return -1;
    }
    const char *why = NULL;
    char buf[200];
    if (!lua_istable(L, -1)) {
        why = "does not return a table";
    } else {
        lua_getfield(L, -1, "api");
        lua_Number api = lua_tonumber(L, -1);
        int isnum = lua_type(L, -1) == LUA_TNUMBER;
        lua_pop(L, 1);
        lua_getfield(L, -1, "kind");
        const char *kind = lua_tostring(L, -1);
        snprintf(buf, sizeof buf, "%s", kind ? kind : "");
        lua_pop(L, 1);
        if (!isnum) {
            why = "has no 'api' number (write api = 1)";
        } else if (api != MOONLOG_HOOK_API_VERSION) {
            snprintf(msg, msgsz, "%s: written for hook API %g, this host supports API %d", pl->path, api,
                     MOONLOG_HOOK_API_VERSION);
            lua_settop(L, top);
            return -1;
        } else if (strcmp(buf, kind_names[pl->kind]) != 0) {
            snprintf(msg, msgsz, "%s: kind is '%s', expected '%s'", pl->path, buf, kind_names[pl->kind]);
            lua_settop(L, top);
            return -1;
        } else {
            int n_fns = 0;
            for (int i = 0; i < 3 && kind_fns[pl->kind][i]; i++) {
                lua_getfield(L, -1, kind_fns[pl->kind][i]);
                int t = lua_type(L, -1);
                lua_pop(L, 1);
                n_fns += t == LUA_TFUNCTION;
                int required = i < kind_required[pl->kind];
                if ((required && t != LUA_TFUNCTION) || (!required && t != LUA_TNIL && t != LUA_TFUNCTION)) {
                    snprintf(msg, msgsz, "%s: a %s must define %s as a function", pl->path, kind_names[pl->kind],
                             kind_fns[pl->kind][i]);
                    lua_settop(L, top);
                    return -1;
                }
            }
            if (pl->kind == ML_PLUGIN_ASSIGNOR && check_declared_name(L, pl, msg, msgsz) != 0) {
                lua_settop(L, top);
                return -1;
            }
            if (n_fns == 0) {
                snprintf(msg, msgsz, "%s: a %s must define at least one of %s, %s, %s", pl->path,
                         kind_names[pl->kind], kind_fns[pl->kind][0], kind_fns[pl->kind][1], kind_fns[pl->kind][2]);
                lua_settop(L, top);
                return -1;
            }
        }
    }
    if (why) {
        snprintf(msg, msgsz, "%s: %s", pl->path, why);
        lua_settop(L, top);
        return -1;
    }
    return 0;
}

/* Compiles and checks a source in a scratch state that is thrown away: `defined` gets a bit per
 * function of the kind the source defines; an assignor's declared name goes to `name` (at least
 * ML_PLUGIN_NAME_MAX bytes, "" for other kinds). */
static int check_in_scratch(moonlog_plugin *pl, const char *src, size_t len, unsigned *defined, char *name, char *msg,
                            size_t msgsz) {
    int ref, ref_pm;
    lua_State *L = new_state(&ref, &ref_pm, NULL);
    if (!L) {
        snprintf(msg, msgsz, "cannot create a LuaJIT state");
        return -1;
    }
    int rc = load_chunk(L, ref, pl, src, len, msg, msgsz);
    *defined = 0;
    for (int i = 0; rc == 0 && i < 3 && kind_fns[pl->kind][i]; i++) {
        lua_getfield(L, -1, kind_fns[pl->kind][i]);
        if (lua_isfunction(L, -1)) *defined |= 1u << i;
        lua_pop(L, 1);
    }
    name[0] = 0;
    if (rc == 0 && pl->kind == ML_PLUGIN_ASSIGNOR) {
        lua_getfield(L, -1, "name");
        snprintf(name, ML_PLUGIN_NAME_MAX, "%s", lua_tostring(L, -1));
    }
    lua_close(L);
    return rc;
}

static int read_file(const char *path, char **out, size_t *len, struct stat *st, char *msg, size_t msgsz) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msgsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), st) != 0 || st->st_size > 16 * 1024 * 1024) {
        snprintf(msg, msgsz, "%s: cannot read (or larger than 16 MiB)", path);
        fclose(f);
        return -1;
    }
    char *buf = malloc((size_t)st->st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st->st_size, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)st->st_size) {
        free(buf);
        snprintf(msg, msgsz, "%s: short read", path);
        return -1;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* Finds the entry of `pl` in this thread's state, loading (or reloading) its current source. */
static int id_closed(uint64_t id) {
    for (size_t i = 0; i < n_closed; i++)
        if (closed_ids[i] == id) return 1;
    return 0;
}

/* Drops this thread's copies of closed plugins. */
static void sweep_closed(ml_lua_tls *t) {
    size_t c = atomic_load(&closed_count);
    if (c == t->closed_seen) return;
    pthread_mutex_lock(&closed_mu);
    int kept = 0;
    for (int i = 0; i < t->n_entries; i++) {
        ml_lua_entry *e = &t->entries[i];
        if (id_closed(e->plugin_id)) {
            for (int k = 0; k < 3; k++) luaL_unref(t->L, LUA_REGISTRYINDEX, e->ref_fn[k]);
        } else {
            t->entries[kept++] = *e;
        }
    }
    t->n_entries = kept;
    t->closed_seen = c;
    pthread_mutex_unlock(&closed_mu);
}

static ml_lua_entry *entry_get(ml_lua_tls *t, moonlog_plugin *pl, moonlog_error *err, int fail_code) {
    sweep_closed(t);
    int64_t gen = atomic_load(&pl->generation);
    ml_lua_entry *e = NULL;
    for (int i = 0; i < t->n_entries; i++)
        if (t->entries[i].plugin_id == pl->id) e = &t->entries[i];
    if (e && e->generation == gen) return e;
    lua_State *L = t->L;
    if (pl->timeout_ms > 0 && !t->jit_off) {
        /* Count hooks never fire inside compiled traces: plugins with a time limit run interpreted. */
        luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_FLUSH);
        luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
        t->jit_off = 1;
    }
    pthread_mutex_lock(&pl->mu);
    gen = atomic_load(&pl->generation);
    char *src = malloc(pl->source_len + 1);
    size_t len = pl->source_len;
    if (src) memcpy(src, pl->source, len);
    pthread_mutex_unlock(&pl->mu);
    char msg[512];
    if (!src) {
        ml_error_set(err, fail_code, "%s %s: out of memory", kind_names[pl->kind], pl->name);
        return NULL;
    }
    int rc = load_chunk(L, t->ref_env_maker, pl, src, len, msg, sizeof msg);
    free(src);
    if (rc != 0) {
        if (e) return e; /* keep running the previous load */
        ml_error_set(err, fail_code, "%s %s: %s", kind_names[pl->kind], pl->name, msg);
        return NULL;
    }
    if (!e) {
        if (t->n_entries == t->cap_entries) {
            int cap = t->cap_entries ? t->cap_entries * 2 : 4;
            ml_lua_entry *n = realloc(t->entries, (size_t)cap * sizeof *n);
            if (!n) {
                lua_pop(L, 1);
                ml_error_set(err, fail_code, "out of memory");
                return NULL;
            }
            t->entries = n;
            t->cap_entries = cap;
        }
        e = &t->entries[t->n_entries++];
        e->plugin_id = pl->id;
    } else {
        for (int i = 0; i < 3; i++) luaL_unref(L, LUA_REGISTRYINDEX, e->ref_fn[i]);
    }
    for (int i = 0; i < 3; i++) {
        e->ref_fn[i] = LUA_NOREF;
        if (!kind_fns[pl->kind][i]) continue;
        lua_getfield(L, -1, kind_fns[pl->kind][i]);
        if (lua_isfunction(L, -1)) e->ref_fn[i] = luaL_ref(L, LUA_REGISTRYINDEX);
        else lua_pop(L, 1);
    }
    lua_pop(L, 1);
    e->generation = gen;
    return e;
}

/* ---- calling ------------------------------------------------------------------------------ */

static void timeout_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ml_lua_tls *t = tls;
    if (now.tv_sec > t->deadline.tv_sec || (now.tv_sec == t->deadline.tv_sec && now.tv_nsec > t->deadline.tv_nsec)) {
        t->timed_out = 1;
        lua_Debug d;
        int line = lua_getstack(L, 0, &d) && lua_getinfo(L, "Sl", &d) ? d.currentline : -1;
        if (line > 0) luaL_error(L, "%s:%d: ran longer than plugin.timeout.ms (%d ms)", t->current->path, line,
                                 (int)t->current->timeout_ms);
        luaL_error(L, "ran longer than plugin.timeout.ms (%d ms)", (int)t->current->timeout_ms);
    }
}

/* Calls the function on the stack (below its `nargs` arguments) with the time limit. */
static int pcall_limited(ml_lua_tls *t, moonlog_plugin *pl, int nargs, int nres) {
    lua_State *L = t->L;
    t->current = pl;
    t->timed_out = 0;
    atomic_fetch_add_explicit(&pl->n_calls, 1, memory_order_relaxed);
    if (pl->timeout_ms > 0) {
        deadline_start(t, pl->timeout_ms);
        lua_sethook(L, timeout_hook, LUA_MASKCOUNT, 1000);
    }
    int rc = lua_pcall(L, nargs, nres, 0);
    if (pl->timeout_ms > 0) lua_sethook(L, NULL, 0, 0);
    if (rc != 0) {
        atomic_fetch_add_explicit(&pl->n_errors, 1, memory_order_relaxed);
        if (t->timed_out) atomic_fetch_add_explicit(&pl->n_timeouts, 1, memory_order_relaxed);
    }
    return rc;
}

static int call_failed(ml_lua_tls *t, moonlog_plugin *pl, const char *fn, int code, moonlog_error *err) {
    const char *msg = lua_tostring(t->L, -1);
    if (t->timed_out) code = MOONLOG_ERR_PLUGIN_TIMEOUT;
    ml_error_set(err, code, "%s %s: %s failed: %s", kind_names[pl->kind], pl->name, fn,
                 msg ? msg : "(error object is not a string)");
    lua_settop(t->L, STACK_BASE);
    return code;
}

static int bad_result(ml_lua_tls *t, moonlog_plugin *pl, int code, moonlog_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int bad_result(ml_lua_tls *t, moonlog_plugin *pl, int code, moonlog_error *err, const char *fmt, ...) {
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    atomic_fetch_add_explicit(&pl->n_errors, 1, memory_order_relaxed);
    ml_error_set(err, code, "%s %s (%s): %s", kind_names[pl->kind], pl->name, pl->path, what);
    lua_settop(t->L, STACK_BASE);
    return code;
}

static void push_headers(lua_State *L, const moonlog_header *h, int32_t n) {
    if (n <= 0) {
        lua_pushnil(L);
        return;
    }
    lua_createtable(L, n, 0);
    for (int32_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, h[i].key);
        lua_setfield(L, -2, "key");
        if (h[i].value) lua_pushlstring(L, h[i].value, (size_t)(h[i].value_len < 0 ? 0 : h[i].value_len));
        else lua_pushnil(L);
        lua_setfield(L, -2, "value");
        lua_rawseti(L, -2, i + 1);
    }
}

/* One record's failure from what the trampoline left in errs[i] (on the stack top). */
static void view_failed(ml_lua_tls *t, moonlog_plugin *pl, const ml_plugin_view *v, moonlog_error *err) {
    lua_State *L = t->L;
    if (v->status == 2) {
        atomic_fetch_add_explicit(&pl->n_errors, 1, memory_order_relaxed);
        char what[200];
        if (lua_type(L, -1) != LUA_TNUMBER)
            snprintf(what, sizeof what, "partition returned a %s, not a partition number", luaL_typename(L, -1));
        else
            snprintf(what, sizeof what, "partition returned %g, not a partition of %s (0..%d)", lua_tonumber(L, -1),
                     v->topic, v->partitions - 1);
        ml_error_set(err, MOONLOG_ERR_PARTITIONER, "%s %s (%s): %s", kind_names[pl->kind], pl->name, pl->path, what);
        return;
    }
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    atomic_fetch_add_explicit(&pl->n_errors, 1, memory_order_relaxed);
    if (v->status == 3) atomic_fetch_add_explicit(&pl->n_timeouts, 1, memory_order_relaxed);
    ml_error_set(err, v->status == 3 ? MOONLOG_ERR_PLUGIN_TIMEOUT : MOONLOG_ERR_PARTITIONER, "%s %s: partition failed: %s",
                 kind_names[pl->kind], pl->name, msg ? msg : "(error object is not a string)");
}

static void views_fail_all(ml_plugin_view *v, int n, moonlog_error *errs, const moonlog_error *e) {
    for (int i = 0; i < n; i++) {
        if (v[i].status >= 0) continue;
        v[i].status = 1;
        errs[i] = *e;
    }
}

int ml_plugin_partition_many(moonlog_plugin *pl, ml_plugin_view *v, int n, const ml_cluster_ops *ops,
                             int64_t *generation, moonlog_error *errs) {
    moonlog_error e;
    ml_lua_tls *t = tls_get();
    if (!t) {
        ml_error_set(&e, MOONLOG_ERR_PARTITIONER, "partitioner %s: cannot create a LuaJIT state", pl->name);
        views_fail_all(v, n, errs, &e);
        return n;
    }
    ml_lua_entry *en = entry_get(t, pl, &e, MOONLOG_ERR_PARTITIONER);
    if (!en) {
        views_fail_all(v, n, errs, &e);
        return n;
    }
    *generation = en->generation;
    lua_State *L = t->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref_partition_many);
    lua_rawgeti(L, LUA_REGISTRYINDEX, en->ref_fn[0]);
    lua_pushinteger(L, n);
    lua_pushvalue(L, SLOT_CLUSTER);
    lua_pushboolean(L, pl->timeout_ms > 0);
    t->ops = ops;
    t->tr_views = v;
    int rc = pcall_limited(t, pl, 4, 1);
    t->ops = NULL;
    t->tr_views = NULL;
    atomic_fetch_add_explicit(&pl->n_calls, (int64_t)n - 1, memory_order_relaxed); /* one call per record */
    int failed = 0;
    if (rc != 0) { /* outside every record's own protection: the records not partitioned yet fail */
        call_failed(t, pl, "partition", MOONLOG_ERR_PARTITIONER, &e);
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref_partition_many);
        if (lua_pcall(L, 0, 0, 0) != 0) lua_settop(L, STACK_BASE);
        for (int i = 0; i < n; i++) failed += v[i].status != 0;
        views_fail_all(v, n, errs, &e);
        return failed;
    }
    if (lua_istable(L, -1)) {
        for (int i = 0; i < n; i++) {
            if (v[i].status == 0) continue;
            lua_rawgeti(L, -1, i);
            view_failed(t, pl, &v[i], &errs[i]);
            lua_pop(L, 1);
            failed++;
        }
    }
    lua_settop(L, STACK_BASE);
    return failed;
}

int ml_plugin_partition(moonlog_plugin *pl, const ml_plugin_record *r, int32_t n_partitions,
                        const ml_cluster_ops *ops, int32_t *partition, int64_t *generation, moonlog_error *err) {
    ml_plugin_view v = {r->topic, r->key, r->headers, r->timestamp, r->key ? r->key_len : -1, r->value_len,
                        r->n_headers, n_partitions, 0, -1};
    moonlog_error e;
    int64_t gen = 0;
    if (ml_plugin_partition_many(pl, &v, 1, ops, &gen, &e) != 0) {
        if (err) *err = e;
        return e.code;
    }
    *partition = v.partition;
    if (generation) *generation = gen;
    return 0;
}

void moonlog_plugin_batch_full(moonlog_plugin *pl, const char *topic, int32_t partition) {
    ml_lua_tls *t = tls_get();
    if (!t) return;
    ml_lua_entry *e = entry_get(t, pl, NULL, MOONLOG_ERR_PARTITIONER);
    if (!e || e->ref_fn[1] == LUA_NOREF) return;
    lua_State *L = t->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->ref_fn[1]);
    lua_pushstring(L, topic);
    lua_pushinteger(L, partition);
    if (pcall_limited(t, pl, 2, 0) != 0) {
        ml_warn("partitioner %s: on_batch_full failed: %s", pl->name, lua_tostring(L, -1));
    }
    lua_settop(L, STACK_BASE);
}

int ml_plugin_serialize(moonlog_plugin *pl, const char *topic, const void *value, int32_t value_len,
                        const moonlog_header *headers, int32_t n_headers, const uint8_t **out, int32_t *out_len,
                        moonlog_error *err) {
    ml_lua_tls *t = tls_get();
    if (!t) return ml_error_set(err, MOONLOG_ERR_SERIALIZATION, "cannot create a LuaJIT state");
    ml_lua_entry *e = entry_get(t, pl, err, MOONLOG_ERR_SERIALIZATION);
    if (!e) return MOONLOG_ERR_SERIALIZATION;
    lua_State *L = t->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->ref_fn[0]);
    lua_pushstring(L, topic);
    if (value) lua_pushlstring(L, value, (size_t)(value_len < 0 ? 0 : value_len));
    else lua_pushnil(L);
    push_headers(L, headers, n_headers);
    if (pcall_limited(t, pl, 3, 1) != 0) return call_failed(t, pl, "serialize", MOONLOG_ERR_SERIALIZATION, err);
    int ty = lua_type(L, -1);
    if (ty == LUA_TNIL) {
        *out = NULL;
        *out_len = -1;
    } else if (ty == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (len > INT32_MAX)
            return bad_result(t, pl, MOONLOG_ERR_SERIALIZATION, err, "serialize returned %zu bytes", len);
        *out = (const uint8_t *)s;
        *out_len = (int32_t)len;
        /* Keep the string alive until the next call on this thread. */
        lua_rawseti(L, LUA_REGISTRYINDEX, t->ref_anchor);
    } else {
        return bad_result(t, pl, MOONLOG_ERR_SERIALIZATION, err, "serialize returned a %s, not a string or nil",
                          luaL_typename(L, -1));
    }
    lua_settop(L, STACK_BASE);
    return 0;
}

/* Lua's own number formatting keeps 14 digits: integers are written whole, others so that
 * reading the text back gives the same double. */
static void push_number_text(lua_State *L, lua_Number v) {
    char buf[40];
    if (v == (lua_Number)(int64_t)v && v > -9007199254740992.0 && v < 9007199254740992.0)
        snprintf(buf, sizeof buf, "%lld", (long long)v);
    else snprintf(buf, sizeof buf, "%.17g", v);
    lua_pushstring(L, buf);
}

int ml_plugin_deserialize(moonlog_plugin *pl, const char *topic, const void *bytes, int32_t len,
                          const moonlog_header *headers, int32_t n_headers, const uint8_t **out, int32_t *out_len,
                          int *type, moonlog_error *err) {
    ml_lua_tls *t = tls_get();
    if (!t) return ml_error_set(err, MOONLOG_ERR_DESERIALIZATION, "cannot create a LuaJIT state");
    ml_lua_entry *e = entry_get(t, pl, err, MOONLOG_ERR_DESERIALIZATION);
    if (!e) return MOONLOG_ERR_DESERIALIZATION;
    if (e->ref_fn[1] == LUA_NOREF)
        return ml_error_set(err, MOONLOG_ERR_DESERIALIZATION, "%s %s (%s): defines no deserialize function",
                            kind_names[pl->kind], pl->name, pl->path);
    lua_State *L = t->L;
    /* the bytes stay below the call, so that a result that is the same string is told apart
     * and the caller keeps its own copy (bytes, string: the common case) */
    if (bytes) lua_pushlstring(L, bytes, (size_t)(len < 0 ? 0 : len));
    else lua_pushnil(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->ref_fn[1]);
    lua_pushstring(L, topic);
    lua_pushvalue(L, STACK_BASE + 1);
    push_headers(L, headers, n_headers);
    if (pcall_limited(t, pl, 3, 1) != 0) return call_failed(t, pl, "deserialize", MOONLOG_ERR_DESERIALIZATION, err);
    int ty = lua_type(L, -1);
    *type = MOONLOG_VALUE_BYTES;
    if (bytes && lua_rawequal(L, -1, STACK_BASE + 1)) {
        *out = bytes;
        *out_len = len;
        lua_settop(L, STACK_BASE);
        return 0;
    }
    if (ty == LUA_TNIL) {
        *out = NULL;
        *out_len = -1;
        lua_settop(L, STACK_BASE);
        return 0;
    }
    if (ty == LUA_TNUMBER) {
        *type = MOONLOG_VALUE_NUMBER;
        push_number_text(L, lua_tonumber(L, -1));
    } else if (ty == LUA_TBOOLEAN) {
        *type = MOONLOG_VALUE_BOOLEAN;
        lua_pushstring(L, lua_toboolean(L, -1) ? "true" : "false");
    } else if (ty != LUA_TSTRING) {
        return bad_result(t, pl, MOONLOG_ERR_DESERIALIZATION, err,
                          "deserialize returned a %s, not a string, number, boolean or nil", luaL_typename(L, -1));
    }
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (n > INT32_MAX) return bad_result(t, pl, MOONLOG_ERR_DESERIALIZATION, err, "deserialize returned %zu bytes", n);
    *out = (const uint8_t *)s;
    *out_len = (int32_t)n;
    /* Keep the string alive until the next call on this thread. */
    lua_rawseti(L, LUA_REGISTRYINDEX, t->ref_anchor);
    lua_settop(L, STACK_BASE);
    return 0;
}

int ml_plugin_defines(moonlog_plugin *pl, const char *fn) {
    int yes = 0;
    pthread_mutex_lock(&pl->mu);
    for (int i = 0; i < 3 && kind_fns[pl->kind][i]; i++)
        if (strcmp(kind_fns[pl->kind][i], fn) == 0) yes = (pl->defined >> i) & 1;
    pthread_mutex_unlock(&pl->mu);
    return yes;
}

int moonlog_plugin_retry(moonlog_plugin *pl, int attempt, int error_code, int64_t elapsed_ms, const char *topic,
                         int32_t partition, int64_t *retry_after_ms, moonlog_error *err) {
    if (pl->kind != ML_PLUGIN_RETRY_POLICY)
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "%s is not a retry policy", pl->name);
    ml_lua_tls *t = tls_get();
    if (!t) return ml_error_set(err, MOONLOG_ERR_RETRY_POLICY, "cannot create a LuaJIT state");
    ml_lua_entry *e = entry_get(t, pl, err, MOONLOG_ERR_RETRY_POLICY);
    if (!e) return MOONLOG_ERR_RETRY_POLICY;
    lua_State *L = t->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->ref_fn[0]);
    lua_pushinteger(L, attempt);
    lua_pushvalue(L, SLOT_ERR);
    lua_pushinteger(L, error_code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, moonlog_err_name(error_code));
    lua_setfield(L, -2, "name");
    lua_pushboolean(L, ml_error_retriable(error_code));
    lua_setfield(L, -2, "retriable");
    lua_pushnumber(L, (lua_Number)elapsed_ms);
    lua_pushvalue(L, SLOT_RECORD);
    lua_pushstring(L, topic);
    lua_setfield(L, -2, "topic");
    lua_pushinteger(L, partition);
    lua_setfield(L, -2, "partition");
    if (pcall_limited(t, pl, 4, 1) != 0) return call_failed(t, pl, "decide", MOONLOG_ERR_RETRY_POLICY, err);
    if (lua_isnil(L, -1)) {
        *retry_after_ms = -1;
    } else if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) >= 0 && lua_tonumber(L, -1) < 1e12) {
        *retry_after_ms = (int64_t)lua_tonumber(L, -1);
    } else {
        return bad_result(t, pl, MOONLOG_ERR_RETRY_POLICY, err, "decide returned %s, not nil or a delay >= 0 in ms",
                          lua_type(L, -1) == LUA_TNUMBER ? "a negative number" : luaL_typename(L, -1));
    }
    lua_settop(L, STACK_BASE);
    return 0;
}

/* ---- calls made by the other files of the host (core/lua/assignor.c) ---------------------- */

int ml_plugin_call_begin(moonlog_plugin *pl, int fn, int fail_code, lua_State **L, moonlog_error *err) {
    ml_lua_tls *t = tls_get();
    if (!t) return ml_error_set(err, fail_code, "cannot create a LuaJIT state");
    ml_lua_entry *e = entry_get(t, pl, err, fail_code);
    if (!e) return fail_code;
    if (e->ref_fn[fn] == LUA_NOREF) return 1;
    lua_checkstack(t->L, 32);
    lua_rawgeti(t->L, LUA_REGISTRYINDEX, e->ref_fn[fn]);
    *L = t->L;
    return 0;
}

int ml_plugin_call(moonlog_plugin *pl, int nargs, int nres, const char *fn, int fail_code, const ml_cluster_ops *ops,
                   moonlog_error *err) {
    ml_lua_tls *t = tls;
    t->ops = ops;
    int rc = pcall_limited(t, pl, nargs, nres);
    t->ops = NULL;
    return rc != 0 ? call_failed(t, pl, fn, fail_code, err) : 0;
}

int ml_plugin_call_bad(moonlog_plugin *pl, int code, moonlog_error *err, const char *what) {
    return bad_result(tls, pl, code, err, "%s", what);
}

int ml_plugin_cluster_push(lua_State *L) {
    lua_pushvalue(L, SLOT_CLUSTER);
    return 0;
}

void ml_plugin_call_end(void) {
    if (tls) lua_settop(tls->L, STACK_BASE);
}

void ml_plugin_declared_name(moonlog_plugin *pl, char *out) {
    pthread_mutex_lock(&pl->mu);
    memcpy(out, pl->declared_name, ML_PLUGIN_NAME_MAX);
    pthread_mutex_unlock(&pl->mu);
}

void ml_lua_push_tps(lua_State *L, const moonlog_topic_partition *tps, int n) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, tps[i].topic);
        lua_setfield(L, -2, "topic");
        lua_pushinteger(L, tps[i].partition);
        lua_setfield(L, -2, "partition");
        lua_rawseti(L, -2, i + 1);
    }
}

int ml_plugin_rebalance(moonlog_plugin *pl, int fn, void (*push_consumer)(lua_State *L, void *ctx), void *ctx,
                        const moonlog_topic_partition *tps, int n, moonlog_error *err) {
    if (pl->kind != ML_PLUGIN_REBALANCE_LISTENER || fn < 0 || fn > 2)
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "%s is not a rebalance listener", pl->name);
    ml_lua_tls *t = tls_get();
    if (!t) return ml_error_set(err, MOONLOG_ERR_LISTENER, "cannot create a LuaJIT state");
    ml_lua_entry *e = entry_get(t, pl, err, MOONLOG_ERR_LISTENER);
    if (!e) return MOONLOG_ERR_LISTENER;
    if (e->ref_fn[fn] == LUA_NOREF) return 0;
    lua_State *L = t->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->ref_fn[fn]);
    push_consumer(L, ctx);
    ml_lua_push_tps(L, tps, n);
    if (pcall_limited(t, pl, 2, 0) != 0) return call_failed(t, pl, kind_fns[pl->kind][fn], MOONLOG_ERR_LISTENER, err);
    lua_settop(L, STACK_BASE);
    return 0;
}

/* ---- the public side ---------------------------------------------------------------------- */

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int search_dirs(const char *dirs, const char *kind_dir, const char *name, char *out, size_t outsz) {
    if (!dirs) return 0;
    const char *p = dirs;
    while (*p) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0) {
            snprintf(out, outsz, "%.*s/%s/%s.lua", (int)n, p, kind_dir, name);
            if (file_exists(out)) return 1;
        }
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

/* plugin.path, $MOONLOG_PLUGIN_PATH, then plugins/ next to (or above) this library or program. */
static int resolve(int kind, const char *name, const char *search_path, char *out, size_t outsz) {
    if (strchr(name, '/') || (strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".lua") == 0)) {
        snprintf(out, outsz, "%s", name);
        return file_exists(out);
    }
    if (search_dirs(search_path, kind_dirs[kind], name, out, outsz)) return 1;
    if (search_dirs(getenv("MOONLOG_PLUGIN_PATH"), kind_dirs[kind], name, out, outsz)) return 1;
    Dl_info info;
    if (dladdr((void *)&moonlog_plugin_open, &info) && info.dli_fname) {
        char dir[PATH_MAX];
        if (realpath(info.dli_fname, dir)) {
            for (int up = 0; up < 4; up++) {
                char *slash = strrchr(dir, '/');
                if (!slash) break;
                *slash = 0;
                char cand[2 * PATH_MAX + 64];
                snprintf(cand, sizeof cand, "%s/plugins:%s/share/moonlog/plugins", dir, dir);
                if (search_dirs(cand, kind_dirs[kind], name, out, outsz)) return 1;
            }
        }
    }
    return search_dirs("/usr/local/share/moonlog/plugins:/usr/share/moonlog/plugins", kind_dirs[kind], name, out,
                       outsz);
}

int moonlog_plugin_open(const char *kind, const char *name, const moonlog_plugin_options *opts, moonlog_plugin **out,
                        moonlog_error *err) {
    int k = -1;
    for (int i = 0; i < N_KINDS; i++)
        if (strcmp(kind, kind_names[i]) == 0) k = i;
    if (k < 0)
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG,
                            "unknown plugin kind '%s' (partitioner, serializer, retry_policy, assignor, "
                            "rebalance_listener)",
                            kind);
    char path[PATH_MAX];
    if (!resolve(k, name, opts ? opts->search_path : NULL, path, sizeof path))
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG,
                            "%s '%s': no such plugin (not a readable file, nor %s/%s.lua in plugin.path, "
                            "$MOONLOG_PLUGIN_PATH or the shipped plugins)",
                            kind, name, kind_dirs[k], name);
    moonlog_plugin *pl = calloc(1, sizeof *pl);
    if (!pl) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
    pl->id = atomic_fetch_add(&next_plugin_id, 1);
    pl->kind = k;
    pl->path = strdup(path);
    pl->name = strdup(name);
    pl->unsafe = opts ? opts->unsafe : 0;
    pl->timeout_ms = opts ? opts->timeout_ms : 0;
    pthread_mutex_init(&pl->mu, NULL);
    if (opts && opts->config) {
        size_t n = 0;
        while (opts->config[n] && opts->config[n + 1]) n += 2;
        pl->config = calloc(n + 1, sizeof *pl->config);
        for (size_t i = 0; pl->config && i < n; i++) pl->config[i] = strdup(opts->config[i]);
    }
    char msg[512];
    if (!pl->path || !pl->name || read_file(path, &pl->source, &pl->source_len, &pl->st, msg, sizeof msg) != 0 ||
        check_in_scratch(pl, pl->source, pl->source_len, &pl->defined, pl->declared_name, msg, sizeof msg) != 0) {
        ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "%s %s: %s", kind, name, pl->path ? msg : "out of memory");
        moonlog_plugin_close(pl);
        return MOONLOG_ERR_INVALID_CONFIG;
    }
    atomic_store(&pl->generation, 1);
    *out = pl;
    return 0;
}

void moonlog_plugin_close(moonlog_plugin *pl) {
    if (!pl) return;
    if (atomic_load(&pl->generation) > 0) { /* it may have been loaded into some thread's state */
        pthread_mutex_lock(&closed_mu);
        if (n_closed == cap_closed) {
            size_t cap = cap_closed ? cap_closed * 2 : 16;
            uint64_t *ids = realloc(closed_ids, cap * sizeof *ids);
            if (ids) {
                closed_ids = ids;
                cap_closed = cap;
            }
        }
        if (n_closed < cap_closed) closed_ids[n_closed++] = pl->id;
        atomic_fetch_add(&closed_count, 1);
        pthread_mutex_unlock(&closed_mu);
    }
    pthread_mutex_destroy(&pl->mu);
    for (char **c = pl->config; c && *c; c++) free(*c);
    free(pl->config);
    free(pl->path);
    free(pl->name);
    free(pl->source);
    free(pl);
}

const char *moonlog_plugin_path(const moonlog_plugin *pl) { return pl->path; }
int64_t moonlog_plugin_generation(moonlog_plugin *pl) { return atomic_load(&pl->generation); }
int ml_plugin_kind(const moonlog_plugin *pl) { return pl->kind; }
const char *ml_plugin_name(const moonlog_plugin *pl) { return pl->name; }

static int same_file(const struct stat *a, const struct stat *b) {
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int moonlog_plugin_reload_check(moonlog_plugin *pl, moonlog_error *err) {
    struct stat st;
    if (stat(pl->path, &st) != 0) return 0; /* being replaced, or gone: keep the running one */
    pthread_mutex_lock(&pl->mu);
    int same = same_file(&st, &pl->st);
    pthread_mutex_unlock(&pl->mu);
    if (same) return 0;
    char *src;
    size_t len;
    char msg[512], name[ML_PLUGIN_NAME_MAX];
    int rc = read_file(pl->path, &src, &len, &st, msg, sizeof msg);
    unsigned defined = 0;
    if (rc == 0 && check_in_scratch(pl, src, len, &defined, name, msg, sizeof msg) != 0) {
        free(src);
        rc = -1;
    }
    pthread_mutex_lock(&pl->mu);
    pl->st = st; /* an invalid version is reported once, not at every check */
    if (rc == 0) {
        free(pl->source);
        pl->source = src;
        pl->source_len = len;
        pl->defined = defined;
        memcpy(pl->declared_name, name, sizeof name);
        atomic_fetch_add(&pl->generation, 1);
    }
    pthread_mutex_unlock(&pl->mu);
    if (rc != 0) {
        atomic_fetch_add(&pl->n_reload_failures, 1);
        ml_warn("%s %s: reload refused, the running version stays: %s", kind_names[pl->kind], pl->name, msg);
        return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "%s %s: reload refused: %s", kind_names[pl->kind],
                            pl->name, msg);
    }
    atomic_fetch_add(&pl->n_reloads, 1);
    ml_info("%s %s: reloaded %s (generation %lld)", kind_names[pl->kind], pl->name, pl->path,
            (long long)atomic_load(&pl->generation));
    return 1;
}

int64_t moonlog_plugin_counter(moonlog_plugin *pl, const char *name) {
    if (strcmp(name, "calls") == 0) return atomic_load(&pl->n_calls);
    if (strcmp(name, "errors") == 0) return atomic_load(&pl->n_errors);
    if (strcmp(name, "timeouts") == 0) return atomic_load(&pl->n_timeouts);
    if (strcmp(name, "reloads") == 0) return atomic_load(&pl->n_reloads);
    if (strcmp(name, "reload.failures") == 0) return atomic_load(&pl->n_reload_failures);
    int64_t v = 0;
    pthread_mutex_lock(&pl->mu);
    for (int i = 0; i < pl->n_counters; i++)
        if (strcmp(pl->counters[i].name, name) == 0) v = pl->counters[i].value;
    pthread_mutex_unlock(&pl->mu);
    return v;
}

/* ---- the same calls for programs and specs ------------------------------------------------ */

static int32_t all_count(void *ctx, const char *topic) {
    (void)topic;
    return *(int32_t *)ctx;
}

static int all_available(void *ctx, const char *topic, int32_t p) {
    (void)topic;
    return p >= 0 && p < *(int32_t *)ctx;
}

int moonlog_plugin_partition(moonlog_plugin *pl, const char *topic, const void *key, int32_t key_len,
                             int32_t value_len, int32_t n_partitions, int32_t *partition, moonlog_error *err) {
    if (pl->kind != ML_PLUGIN_PARTITIONER)
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "%s is not a partitioner", pl->name);
    ml_cluster_ops ops = {all_count, all_available, NULL, NULL, &n_partitions};
    ml_plugin_record r = {topic, key, key_len, value_len, 0, NULL, 0};
    return ml_plugin_partition(pl, &r, n_partitions, &ops, partition, NULL, err);
}

int moonlog_plugin_serialize(moonlog_plugin *pl, const char *topic, const void *value, int32_t value_len, void **out,
                             int32_t *out_len, moonlog_error *err) {
    if (pl->kind != ML_PLUGIN_SERIALIZER)
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "%s is not a serializer", pl->name);
    const uint8_t *p;
    int rc = ml_plugin_serialize(pl, topic, value, value_len, NULL, 0, &p, out_len, err);
    if (rc != 0) return rc;
    *out = NULL;
    if (*out_len >= 0) {
        *out = malloc((size_t)*out_len + 1);
        if (!*out) return ml_error_set(err, MOONLOG_ERR_SERIALIZATION, "out of memory");
        memcpy(*out, p, (size_t)*out_len);
    }
    return 0;
}

int moonlog_plugin_deserialize(moonlog_plugin *pl, const char *topic, const void *bytes, int32_t len, void **out,
                               int32_t *out_len, int32_t *type, moonlog_error *err) {
    if (pl->kind != ML_PLUGIN_SERIALIZER)
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "%s is not a serializer", pl->name);
    const uint8_t *p;
    int ty;
    int rc = ml_plugin_deserialize(pl, topic, bytes, len, NULL, 0, &p, out_len, &ty, err);
    if (rc != 0) return rc;
    *type = ty;
    *out = NULL;
    if (*out_len >= 0) {
        *out = malloc((size_t)*out_len + 1);
        if (!*out) return ml_error_set(err, MOONLOG_ERR_DESERIALIZATION, "out of memory");
        memcpy(*out, p, (size_t)*out_len);
    }
    return 0;
}

void moonlog_free(void *p) { free(p); }
