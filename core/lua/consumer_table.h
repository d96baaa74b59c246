/* The `consumer` a rebalance_listener plugin receives (HOOKS.md): a table of C functions bound to
 * one moonlog_consumer, reaching its public API on the calling (application's) thread. */
#ifndef ML_LUA_CONSUMER_TABLE_H
#define ML_LUA_CONSUMER_TABLE_H

#include <lua.h>

/* Pushes the table for `consumer` (a moonlog_consumer *). */
void ml_lua_push_consumer(lua_State *L, void *consumer);

#endif
