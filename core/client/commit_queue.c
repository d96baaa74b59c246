/* A queue of commit_async outcomes (consumer.h): the callback side copies each outcome in, the
 * binding takes them out on the same thread. It lets LuaJIT run commit callbacks without C ever
 * calling into Lua (a C function calling back into Lua must not be called from compiled code),
 * and it may outlive the consumer, so the outcomes close delivers can still be read. */
#include <stdlib.h>
#include <string.h>

#include "moonlog/consumer.h"

typedef struct ml_outcome {
    struct ml_outcome *next;
    moonlog_commit_outcome o;
} ml_outcome;

struct moonlog_commit_queue {
    ml_outcome *head, *tail;
    ml_outcome *taken; /* handed out by the last take: freed at the next one */
};

moonlog_commit_queue *moonlog_commit_queue_new(void) { return calloc(1, sizeof(moonlog_commit_queue)); }

static void outcome_free(ml_outcome *x) {
    for (int i = 0; x->o.offsets && i < x->o.n; i++) free((char *)x->o.offsets[i].topic);
    free((void *)x->o.offsets);
    free(x);
}

static void list_free(ml_outcome *x) {
    while (x) {
        ml_outcome *next = x->next;
        outcome_free(x);
        x = next;
    }
}

/* A copy of one outcome; without memory for the offsets it still holds its place in the order,
 * as an error with no offsets. */
static ml_outcome *outcome_copy(const moonlog_topic_partition_offset *offsets, int n, const moonlog_error *err) {
    ml_outcome *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    if (err) x->o.error = *err;
    moonlog_topic_partition_offset *tpo = calloc((size_t)(n > 0 ? n : 1), sizeof *tpo);
    x->o.offsets = tpo;
    for (int i = 0; tpo && i < n; i++) {
        tpo[i] = offsets[i];
        if (!(tpo[i].topic = strdup(offsets[i].topic))) break;
        x->o.n++;
    }
    if (!tpo || x->o.n < n) {
        x->o.error.code = MOONLOG_ERR_INVALID_ARG;
        strcpy(x->o.error.name, "INVALID_ARG");
        strcpy(x->o.error.message, "commit outcome: out of memory for its offsets");
    }
    return x;
}

void moonlog_commit_queue_cb(const moonlog_topic_partition_offset *offsets, int n, const moonlog_error *err,
                             void *queue) {
    moonlog_commit_queue *q = queue;
    ml_outcome *x = outcome_copy(offsets, n, err);
    if (!x) return; /* out of memory: nothing can hold it */
    if (q->tail) q->tail->next = x;
    else q->head = x;
    q->tail = x;
}

int moonlog_commit_queue_take(moonlog_commit_queue *q, moonlog_commit_outcome *out, int max) {
    list_free(q->taken);
    q->taken = NULL;
    ml_outcome **last = &q->taken;
    int n = 0;
    while (q->head && n < max) {
        ml_outcome *x = q->head;
        q->head = x->next;
        if (!q->head) q->tail = NULL;
        x->next = NULL;
        out[n++] = x->o;
        *last = x;
        last = &x->next;
    }
    return n;
}

void moonlog_commit_queue_free(moonlog_commit_queue *q) {
    if (!q) return;
    list_free(q->head);
    list_free(q->taken);
    free(q);
}
