/* The helper table hook API v1 gives every plugin as `moonlog` (see HOOKS.md): hashes the other
 * clients partition with, clocks; the host adds log and count. */
#ifndef ML_LUA_HELPERS_H
#define ML_LUA_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

/* Pushes a new table holding the helpers. */
void ml_lua_push_helpers(lua_State *L);

/* librdkafka's consistent partitioners hash: zlib's CRC-32. */
uint32_t ml_crc32(const void *data, size_t len);
uint32_t ml_fnv1a(const void *data, size_t len);
/* 1 when the bytes are UTF-8 as RFC 3629 defines it (what the string serializer accepts). */
int ml_utf8_valid(const uint8_t *s, size_t n);

#endif
