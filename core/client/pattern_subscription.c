/* Subscription to a pattern: the topics whose whole name matches a POSIX extended regular
 * expression (regcomp, REG_EXTENDED), found in a Metadata request for all topics before the first
 * join and every metadata.max.age.ms after; a change in the matching set makes the member rejoin
 * with the new topics. Internal topics (__consumer_offsets) never match, as with Java's default
 * exclude.internal.topics=true. Java uses java.util.regex: the common syntax (., *, +, ?, [...],
 * |, (...), {n,m}, ^, $) means the same, but ERE has no \d, \w, \s (use [0-9], [[:alnum:]_],
 * [[:space:]]), no lazy quantifiers, no look-around and no (?i) flags. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_error.h"
#include "client/consumer_assignor.h"
#include "client/consumer_int.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/metadata.h"

int ml_pattern_compile(const char *pattern, void **out, moonlog_error *err) {
    /* Java matches the whole name (Matcher.matches()): anchor the expression */
    size_t n = strlen(pattern);
    char *anchored = malloc(n + 5);
    regex_t *re = malloc(sizeof *re);
    if (!anchored || !re) {
        free(anchored);
        free(re);
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "subscribe: out of memory");
    }
    memcpy(anchored, "^(", 2);
    memcpy(anchored + 2, pattern, n);
    memcpy(anchored + 2 + n, ")$", 3);
    int rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
        char why[200];
        regerror(rc, re, why, sizeof why);
        free(re);
        return ml_error_set(err, MOONLOG_ERR_INVALID_ARG, "subscribe: pattern '%s' is not a POSIX extended regular "
                            "expression: %s", pattern, why);
    }
    *out = re;
    return 0;
}

void ml_pattern_free(void *re) {
    if (!re) return;
    regfree(re);
    free(re);
}

int ml_pattern_due(moonlog_consumer *c) { /* under c->mu */
    return c->sub_regex && ml_mono_ms() >= c->pattern_next_ms;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int same_topics(char **a, int na, char **b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0) return 0;
    return 1;
}

/* The names of every topic (not internal) in the cluster, sorted; 0 or -1. */
static int all_topics(moonlog_consumer *c, char ***out, int *n_out) {
    ml_cnode *nd = ml_cnode_first(c);
    if (!nd) return -1;
    ml_metadata_response m;
    ml_cresp resp;
    if (ml_cnode_metadata(c, nd, NULL, -1, &m, &resp) != 0) return -1;
    char **names = calloc((size_t)m.n_topics + 1, sizeof *names);
    int n = 0;
    for (int32_t i = 0; names && i < m.n_topics; i++) {
        ml_metadata_response_topic *t = &m.topics[i];
        if (t->error_code != 0 || t->is_internal || t->name.len <= 0) continue;
        if (ml_cslice_eq(t->name, "__consumer_offsets")) continue;
        if ((names[n] = strndup((const char *)t->name.ptr, (size_t)t->name.len))) n++;
    }
    ml_cresp_free(&resp);
    if (!names) return -1;
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    *n_out = n;
    return 0;
}

void ml_pattern_refresh(moonlog_consumer *c) {
    char **names;
    int n;
    int rc = all_topics(c, &names, &n);
    pthread_mutex_lock(&c->mu);
    c->pattern_next_ms = ml_mono_ms() + (rc != 0 ? c->conf.retry_backoff_ms : c->conf.metadata_max_age_ms);
    if (rc != 0) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    int k = 0;
    for (int i = 0; c->sub_regex && i < n; i++) {
        if (regexec(c->sub_regex, names[i], 0, NULL, 0) == 0) names[k++] = names[i];
        else free(names[i]);
    }
    if (c->sub_regex && !same_topics(names, k, c->sub_topics, c->n_sub)) {
        ml_debug("consumer: pattern %s matches %d topics now: rejoining", c->sub_pattern, k);
        ml_strings_free(c->sub_topics, c->n_sub);
        c->sub_topics = names;
        c->n_sub = k;
        c->sub_epoch++;
        names = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    ml_strings_free(names, names ? k : 0);
}
