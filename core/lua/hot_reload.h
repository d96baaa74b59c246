/* Hot reload: watches plugin files from an event loop and installs valid new versions
 * (moonlog_plugin_reload_check does the checking; this file decides when to call it).
 *
 * Changes are seen through inotify on each plugin's directory (so that a file renamed over the
 * old one counts as a change), and, as a fallback and for file systems without inotify, by a
 * check every `interval_ms`. */
#ifndef ML_LUA_HOT_RELOAD_H
#define ML_LUA_HOT_RELOAD_H

#include <stdint.h>

#include "moonlog/plugin.h"

struct event_base;
typedef struct ml_hot_reload ml_hot_reload;

/* Watches the `n` plugins (NULL entries skipped) on `base`; NULL when there is nothing to watch
 * or interval_ms <= 0 (no hot reload). The plugins must outlive the watcher. */
ml_hot_reload *ml_hot_reload_start(struct event_base *base, moonlog_plugin *const *plugins, int n, int64_t interval_ms);
void ml_hot_reload_stop(ml_hot_reload *h);

#endif
