#include "storage/file_closer.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t closer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t closer_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t closer_done = PTHREAD_COND_INITIALIZER;
static int *closer_fds;
static int closer_n, closer_cap;
static int closer_busy;    /* descriptors taken by the thread and not yet closed */
static int closer_started; /* 1 running, -1 could not start */

static void *closer_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&closer_lock);
    for (;;) {
        while (closer_n == 0) pthread_cond_wait(&closer_work, &closer_lock);
        int fd = closer_fds[--closer_n];
        closer_busy++;
        pthread_mutex_unlock(&closer_lock);
        close(fd);
        pthread_mutex_lock(&closer_lock);
        closer_busy--;
        if (closer_n == 0 && closer_busy == 0) pthread_cond_broadcast(&closer_done);
    }
    return NULL;
}

/* Called with the lock held. */
static int closer_grow(void) {
    int cap = closer_cap ? closer_cap * 2 : 64;
    int *fds = realloc(closer_fds, (size_t)cap * sizeof *fds);
    if (!fds) return 0;
    closer_fds = fds;
    closer_cap = cap;
    return 1;
}

/* Called with the lock held. */
static int closer_start(void) {
    if (closer_started) return closer_started > 0;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    closer_started = pthread_create(&t, &attr, closer_main, NULL) == 0 ? 1 : -1;
    pthread_attr_destroy(&attr);
    return closer_started > 0;
}

void ml_file_closer_close(int fd) {
    if (fd < 0) return;
    pthread_mutex_lock(&closer_lock);
    if (closer_start() && (closer_n < closer_cap || closer_grow())) {
        closer_fds[closer_n++] = fd;
        pthread_cond_signal(&closer_work);
        fd = -1;
    }
    pthread_mutex_unlock(&closer_lock);
    if (fd >= 0) close(fd);
}

void ml_file_closer_drain(void) {
    pthread_mutex_lock(&closer_lock);
    while (closer_n > 0 || closer_busy > 0) pthread_cond_wait(&closer_done, &closer_lock);
    pthread_mutex_unlock(&closer_lock);
}
