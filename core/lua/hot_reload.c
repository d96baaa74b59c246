#include "lua/hot_reload.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <event2/event.h>

#define ML_HOT_RELOAD_MAX 8

struct ml_hot_reload {
    moonlog_plugin *plugins[ML_HOT_RELOAD_MAX];
    int n;
    int inotify_fd;
    struct event *notify_ev, *timer_ev;
};

static void check_all(ml_hot_reload *h) {
    for (int i = 0; i < h->n; i++) moonlog_plugin_reload_check(h->plugins[i], NULL);
}

static void on_notify(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(fd, buf, sizeof buf) > 0) {} /* which file changed does not matter: stat tells */
    check_all(arg);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    check_all(arg);
}

static void watch_dir_of(ml_hot_reload *h, const char *path) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    inotify_add_watch(h->inotify_fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB);
}

ml_hot_reload *ml_hot_reload_start(struct event_base *base, moonlog_plugin *const *plugins, int n,
                                   int64_t interval_ms) {
    if (interval_ms <= 0) return NULL;
    ml_hot_reload *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    for (int i = 0; i < n && h->n < ML_HOT_RELOAD_MAX; i++)
        if (plugins[i]) h->plugins[h->n++] = plugins[i];
    if (h->n == 0) {
        free(h);
        return NULL;
    }
    h->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (h->inotify_fd >= 0) {
        for (int i = 0; i < h->n; i++) watch_dir_of(h, moonlog_plugin_path(h->plugins[i]));
        h->notify_ev = event_new(base, h->inotify_fd, EV_READ | EV_PERSIST, on_notify, h);
        if (h->notify_ev) event_add(h->notify_ev, NULL);
    }
    h->timer_ev = event_new(base, -1, EV_PERSIST, on_timer, h);
    struct timeval iv = {(time_t)(interval_ms / 1000), (suseconds_t)((interval_ms % 1000) * 1000)};
    if (h->timer_ev) event_add(h->timer_ev, &iv);
    return h;
}

void ml_hot_reload_stop(ml_hot_reload *h) {
    if (!h) return;
    if (h->notify_ev) event_free(h->notify_ev);
    if (h->timer_ev) event_free(h->timer_ev);
    if (h->inotify_fd >= 0) close(h->inotify_fd);
    free(h);
}
