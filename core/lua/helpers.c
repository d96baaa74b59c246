#include "lua/helpers.h"

#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <lauxlib.h>
#include <zlib.h>

#include "moonlog/plugin.h"

/* Utils.murmur2 of the Java client, byte for byte (seed 0x9747b28c, signed bytes in the tail). */
int32_t moonlog_murmur2(const void *data, int32_t length) {
    const uint8_t *d = data;
    const uint32_t seed = 0x9747b28cu, m = 0x5bd1e995u;
    const int r = 24;
    uint32_t h = seed ^ (uint32_t)length;
    int32_t length4 = length / 4;
    for (int32_t i = 0; i < length4; i++) {
        int32_t i4 = i * 4;
        uint32_t k = (uint32_t)d[i4] | ((uint32_t)d[i4 + 1] << 8) | ((uint32_t)d[i4 + 2] << 16) |
                     ((uint32_t)d[i4 + 3] << 24);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    int32_t tail = length & ~3;
    switch (length % 4) {
    case 3: h ^= (uint32_t)d[tail + 2] << 16; /* fall through */
    case 2: h ^= (uint32_t)d[tail + 1] << 8;  /* fall through */
    case 1:
        h ^= (uint32_t)d[tail];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

int32_t moonlog_murmur2_partition(const void *key, int32_t key_len, int32_t n_partitions) {
    return (int32_t)(((uint32_t)moonlog_murmur2(key, key_len) & 0x7fffffffu) % (uint32_t)n_partitions);
}

uint32_t ml_crc32(const void *data, size_t len) { return (uint32_t)crc32(0L, data, (uInt)len); }

uint32_t ml_fnv1a(const void *data, size_t len) {
    const uint8_t *p = data;
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x01000193u;
    }
    return h;
}

static int h_murmur2(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_pushinteger(L, moonlog_murmur2(s, (int32_t)len));
    return 1;
}

static int h_crc32(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_pushnumber(L, (lua_Number)ml_crc32(s, len));
    return 1;
}

static int h_fnv1a(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_pushnumber(L, (lua_Number)ml_fnv1a(s, len));
    return 1;
}

static int32_t check_count(lua_State *L, int i) {
    lua_Integer n = luaL_checkinteger(L, i);
    if (n <= 0 || n > INT32_MAX) luaL_argerror(L, i, "partition count must be > 0");
    return (int32_t)n;
}

/* The Java client's (and librdkafka's murmur2 partitioners') choice for a key. */
static int h_murmur2_partition(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_pushinteger(L, moonlog_murmur2_partition(s, (int32_t)len, check_count(L, 2)));
    return 1;
}

/* librdkafka's consistent / consistent_random choice for a key. */
static int h_crc32_partition(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_pushinteger(L, (lua_Integer)(ml_crc32(s, len) % (uint32_t)check_count(L, 2)));
    return 1;
}

static int h_now_ms(lua_State *L) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    lua_pushnumber(L, (lua_Number)tv.tv_sec * 1000 + (lua_Number)(tv.tv_usec / 1000));
    return 1;
}

static int h_monotonic_ms(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec * 1000 + (lua_Number)ts.tv_nsec / 1e6);
    return 1;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
int ml_utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (len == 0 || n - i < len) return 0;
        uint8_t lo = 0x80, hi = 0xbf; /* the second byte's range */
        if (c == 0xe0) lo = 0xa0;
        else if (c == 0xed) hi = 0x9f;
        else if (c == 0xf0) lo = 0x90;
        else if (c == 0xf4) hi = 0x8f;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf) return 0;
        i += len;
    }
    return 1;
}

static int h_utf8_valid(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_pushboolean(L, ml_utf8_valid((const uint8_t *)s, n));
    return 1;
}

/* The hashes again, as Lua functions calling C through FFI: a call to a lua_CFunction ends a
 * LuaJIT trace (the partition trampoline's loop then runs interpreted, ~10x slower), an FFI call
 * is compiled into it. Same arguments, results and errors (which name the plugin's line). */
static const char ffi_helpers_src[] =
    "local h, p_murmur2, p_crc32, p_fnv1a = ...\n"
    "local ffi = require('ffi')\n"
    "local murmur2 = ffi.cast('int32_t (*)(const char *, int32_t)', p_murmur2)\n"
    "local crc32 = ffi.cast('uint32_t (*)(const char *, size_t)', p_crc32)\n"
    "local fnv1a = ffi.cast('uint32_t (*)(const char *, size_t)', p_fnv1a)\n"
    "local type, tostring, tonumber, floor, ceil, error = type, tostring, tonumber, math.floor, math.ceil, error\n"
    "local function bytes(s, name)\n"
    "  local t = type(s)\n"
    "  if t == 'string' then return s end\n"
    "  if t == 'number' then return tostring(s) end\n"
    "  error(\"bad argument #1 to '\" .. name .. \"' (string expected, got \" .. t .. ')', 3)\n"
    "end\n"
    "local function count(n, name)\n"
    "  local v = tonumber(n)\n"
    "  if v == nil then error(\"bad argument #2 to '\" .. name .. \"' (number expected, got \" .. type(n) .. ')', 3) end\n"
    "  v = v >= 0 and floor(v) or ceil(v)\n"
    "  if v <= 0 or v > 2147483647 then error(\"bad argument #2 to '\" .. name .. \"' (partition count must be > 0)\", 3) end\n"
    "  return v\n"
    "end\n"
    "h.murmur2 = function(s) s = bytes(s, 'murmur2') return murmur2(s, #s) end\n"
    "h.crc32 = function(s) s = bytes(s, 'crc32') return tonumber(crc32(s, #s)) end\n"
    "h.fnv1a = function(s) s = bytes(s, 'fnv1a') return tonumber(fnv1a(s, #s)) end\n"
    "h.murmur2_partition = function(s, n)\n"
    "  s = bytes(s, 'murmur2_partition')\n"
    "  return bit.band(murmur2(s, #s), 0x7fffffff) % count(n, 'murmur2_partition')\n"
    "end\n"
    "h.crc32_partition = function(s, n)\n"
    "  s = bytes(s, 'crc32_partition')\n"
    "  return tonumber(crc32(s, #s)) % count(n, 'crc32_partition')\n"
    "end\n";

static int32_t murmur2_ffi(const char *s, int32_t len) { return moonlog_murmur2(s, len); }
static uint32_t crc32_ffi(const char *s, size_t len) { return ml_crc32(s, len); }
static uint32_t fnv1a_ffi(const char *s, size_t len) { return ml_fnv1a(s, len); }

/* Replaces the hash helpers of the table on the top with their FFI forms; keeps the C ones when
 * the FFI is not there (it always is in LuaJIT: this only guards against a failed load). */
static void wrap_ffi(lua_State *L) {
    int top = lua_gettop(L);
    if (luaL_loadbuffer(L, ffi_helpers_src, sizeof ffi_helpers_src - 1, "=moonlog.helpers") == 0) {
        lua_pushvalue(L, top);
        lua_pushlightuserdata(L, (void *)murmur2_ffi);
        lua_pushlightuserdata(L, (void *)crc32_ffi);
        lua_pushlightuserdata(L, (void *)fnv1a_ffi);
        lua_pcall(L, 4, 0, 0);
    }
    lua_settop(L, top);
}

void ml_lua_push_helpers(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"murmur2", h_murmur2},
        {"crc32", h_crc32},
        {"fnv1a", h_fnv1a},
        {"murmur2_partition", h_murmur2_partition},
        {"crc32_partition", h_crc32_partition},
        {"now_ms", h_now_ms},
        {"monotonic_ms", h_monotonic_ms},
        {"utf8_valid", h_utf8_valid},
        {NULL, NULL},
    };
    lua_newtable(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }
    lua_pushinteger(L, MOONLOG_HOOK_API_VERSION);
    lua_setfield(L, -2, "api");
    wrap_ffi(L);
}
