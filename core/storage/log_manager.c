#include "storage/log_manager.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "storage/checkpoint.h"
#include "storage/compaction.h"
#include "storage/recovery.h"
#include "storage/retention.h"

typedef struct ml_topic {
    char *name;
    int32_t n_parts;
    ml_partition_log **parts; /* NULL holes only while loading */
    int *part_dir;            /* index of the log dir holding each partition */
    ml_log_config config;
    int n_over;
    char **over_names;
    char **over_values;
} ml_topic;

struct ml_log_manager {
    char **dirs;
    int n_dirs;
    ml_log_config defaults;
    ml_topic **topics;
    int n_topics;
    int cap_topics;
    int *slots; /* open-addressing hash of topic index + 1, 0 = empty */
    int n_slots;
    int64_t retention_check_ms, flush_check_ms, checkpoint_ms;
    int64_t last_retention_ms, last_flush_ms, last_checkpoint_ms;
};

int ml_topic_name_valid(const char *topic) {
    size_t n = strlen(topic);
    if (n == 0 || n > ML_TOPIC_NAME_MAX || strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0) return 0;
    return strspn(topic, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* ---- topic table ---- */

static uint32_t hash_name(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void insert_all(ml_log_manager *lm) {
    uint32_t mask = (uint32_t)lm->n_slots - 1;
    memset(lm->slots, 0, (size_t)lm->n_slots * sizeof *lm->slots);
    for (int i = 0; i < lm->n_topics; i++) {
        uint32_t h = hash_name(lm->topics[i]->name) & mask;
        while (lm->slots[h]) h = (h + 1) & mask;
        lm->slots[h] = i + 1;
    }
}

/* Grows the table to keep it at most half full, then re-inserts every topic. */
static int rehash(ml_log_manager *lm, ml_err *err) {
    int n = lm->n_slots ? lm->n_slots : 16;
    while (n < lm->n_topics * 2 + 2) n *= 2;
    if (n != lm->n_slots) {
        int *slots = calloc((size_t)n, sizeof *slots);
        if (!slots) return ml_err_set(err, ML_ENOMEM, "out of memory");
        free(lm->slots);
        lm->slots = slots;
        lm->n_slots = n;
    }
    insert_all(lm);
    return ML_OK;
}

static ml_topic *find_topic(const ml_log_manager *lm, const char *name) {
    if (!lm->n_slots) return NULL;
    uint32_t mask = (uint32_t)lm->n_slots - 1;
    for (uint32_t h = hash_name(name) & mask; lm->slots[h]; h = (h + 1) & mask)
        if (strcmp(lm->topics[lm->slots[h] - 1]->name, name) == 0) return lm->topics[lm->slots[h] - 1];
    return NULL;
}

static void free_overrides(ml_topic *t) {
    for (int i = 0; i < t->n_over; i++) {
        free(t->over_names[i]);
        free(t->over_values[i]);
    }
    free(t->over_names);
    free(t->over_values);
    t->over_names = t->over_values = NULL;
    t->n_over = 0;
}

static void free_topic(ml_topic *t) {
    free_overrides(t);
    free(t->parts);
    free(t->part_dir);
    free(t->name);
    free(t);
}

static int add_topic(ml_log_manager *lm, ml_topic *t, ml_err *err) {
    if (lm->n_topics == lm->cap_topics) {
        int cap = lm->cap_topics ? lm->cap_topics * 2 : 16;
        ml_topic **p = realloc(lm->topics, (size_t)cap * sizeof *p);
        if (!p) return ml_err_set(err, ML_ENOMEM, "out of memory");
        lm->topics = p;
        lm->cap_topics = cap;
    }
    lm->topics[lm->n_topics++] = t;
    int rc = rehash(lm, err);
    if (rc < 0) lm->n_topics--;
    return rc;
}

static void remove_topic(ml_log_manager *lm, ml_topic *t) {
    for (int i = 0; i < lm->n_topics; i++)
        if (lm->topics[i] == t) {
            memmove(lm->topics + i, lm->topics + i + 1, (size_t)(lm->n_topics - i - 1) * sizeof *lm->topics);
            lm->n_topics--;
            break;
        }
    insert_all(lm); /* indexes moved; the table is already large enough */
}

static int grow_parts(ml_topic *t, int32_t n, ml_err *err) {
    if (n <= t->n_parts) return ML_OK;
    ml_partition_log **p = realloc(t->parts, (size_t)n * sizeof *p);
    if (!p) return ml_err_set(err, ML_ENOMEM, "out of memory");
    t->parts = p;
    int *d = realloc(t->part_dir, (size_t)n * sizeof *d);
    if (!d) return ml_err_set(err, ML_ENOMEM, "out of memory");
    t->part_dir = d;
    for (int32_t i = t->n_parts; i < n; i++) {
        t->parts[i] = NULL;
        t->part_dir[i] = 0;
    }
    t->n_parts = n;
    return ML_OK;
}

/* ---- per-topic config: overrides applied on the defaults, persisted as properties ---- */

static int set_override(ml_topic *t, const char *name, const char *value, ml_err *err) {
    for (int i = 0; i < t->n_over; i++)
        if (strcmp(t->over_names[i], name) == 0) {
            char *v = value ? strdup(value) : NULL;
            if (value && !v) return ml_err_set(err, ML_ENOMEM, "out of memory");
            free(t->over_values[i]);
            if (value) {
                t->over_values[i] = v;
                return ML_OK;
            }
            free(t->over_names[i]);
            t->n_over--;
            t->over_names[i] = t->over_names[t->n_over];
            t->over_values[i] = t->over_values[t->n_over];
            return ML_OK;
        }
    if (!value) return ML_OK;
    char **n = realloc(t->over_names, (size_t)(t->n_over + 1) * sizeof *n);
    if (n) t->over_names = n;
    char **v = realloc(t->over_values, (size_t)(t->n_over + 1) * sizeof *v);
    if (v) t->over_values = v;
    if (!n || !v) return ml_err_set(err, ML_ENOMEM, "out of memory");
    t->over_names[t->n_over] = strdup(name);
    t->over_values[t->n_over] = strdup(value);
    t->n_over++;
    if (!t->over_names[t->n_over - 1] || !t->over_values[t->n_over - 1])
        return ml_err_set(err, ML_ENOMEM, "out of memory");
    return ML_OK;
}

static int resolve_config(const ml_log_manager *lm, ml_topic *t, ml_err *err) {
    ml_log_config c = lm->defaults;
    for (int i = 0; i < t->n_over; i++) {
        int rc = ml_log_config_set(&c, t->over_names[i], t->over_values[i], err);
        if (rc < 0) return rc;
    }
    t->config = c;
    return ML_OK;
}

static void config_path(const ml_log_manager *lm, const char *topic, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s/%s.properties", lm->dirs[0], ML_TOPIC_CONFIG_DIR, topic);
}

static int save_config(const ml_log_manager *lm, const ml_topic *t, ml_err *err) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", lm->dirs[0], ML_TOPIC_CONFIG_DIR);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) return ml_err_set(err, ML_EIO, "mkdir %s: %s", path, strerror(errno));
    config_path(lm, t->name, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f) return ml_err_set(err, ML_EIO, "create %s: %s", tmp, strerror(errno));
    int bad = fprintf(f, "partitions=%d\n", t->n_parts) < 0;
    for (int i = 0; i < t->n_over && !bad; i++) bad = fprintf(f, "%s=%s\n", t->over_names[i], t->over_values[i]) < 0;
    bad = bad || fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad = fclose(f) != 0 || bad;
    if (bad || rename(tmp, path) < 0) {
        unlink(tmp);
        return ml_err_set(err, ML_EIO, "write %s: %s", path, strerror(errno));
    }
    return ML_OK;
}

/* Reads "<topic>.properties": the partition count and the overrides. Missing file: none. */
static int load_config(const ml_log_manager *lm, ml_topic *t, int32_t *partitions, ml_err *err) {
    char path[4096], line[1024];
    config_path(lm, t->name, path, sizeof path);
    *partitions = 0;
    FILE *f = fopen(path, "re");
    if (!f) return errno == ENOENT ? ML_OK : ml_err_set(err, ML_EIO, "open %s: %s", path, strerror(errno));
    int rc = ML_OK;
    while (rc == ML_OK && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq) continue;
        *eq = '\0';
        if (strcmp(line, "partitions") == 0) *partitions = (int32_t)atoi(eq + 1);
        else rc = set_override(t, line, eq + 1, err);
    }
    fclose(f);
    return rc < 0 ? rc : resolve_config(lm, t, err);
}

static int new_topic(const ml_log_manager *lm, const char *name, ml_topic **out, ml_err *err) {
    ml_topic *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name))) {
        free(t);
        return ml_err_set(err, ML_ENOMEM, "out of memory");
    }
    t->config = lm->defaults;
    *out = t;
    return ML_OK;
}

/* ---- partitions ---- */

static void partition_path(const ml_log_manager *lm, int dir, const char *topic, int32_t p, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s-%d", lm->dirs[dir], topic, p);
}

/* Kafka's placement: the log dir holding the fewest partitions. */
static int least_loaded_dir(const ml_log_manager *lm) {
    int best = 0;
    long best_n = -1;
    for (int d = 0; d < lm->n_dirs; d++) {
        long n = 0;
        for (int i = 0; i < lm->n_topics; i++)
            for (int32_t p = 0; p < lm->topics[i]->n_parts; p++)
                n += lm->topics[i]->parts[p] && lm->topics[i]->part_dir[p] == d;
        if (best_n < 0 || n < best_n) {
            best = d;
            best_n = n;
        }
    }
    return best;
}

static int create_partition(ml_log_manager *lm, ml_topic *t, int32_t p, int64_t now_ms, ml_err *err) {
    char path[4096];
    int d = least_loaded_dir(lm);
    partition_path(lm, d, t->name, p, path, sizeof path);
    int rc = ml_partition_log_open(path, &t->config, 0, 0, 1, now_ms, &t->parts[p], err);
    if (rc == ML_OK) t->part_dir[p] = d;
    return rc;
}

static int fill_partitions(ml_log_manager *lm, ml_topic *t, int32_t total, int64_t now_ms, ml_err *err) {
    int rc = grow_parts(t, total, err);
    for (int32_t p = 0; p < t->n_parts && rc == ML_OK; p++)
        if (!t->parts[p]) rc = create_partition(lm, t, p, now_ms, err);
    return rc;
}

/* ---- start-up ---- */

typedef struct dir_checkpoints {
    ml_checkpoint_entry *rp, *lso;
    int n_rp, n_lso;
    int clean;
} dir_checkpoints;

static int read_checkpoints(const char *dir, dir_checkpoints *c, ml_err *err) {
    char path[4096];
    memset(c, 0, sizeof *c);
    c->clean = ml_clean_shutdown_exists(dir);
    snprintf(path, sizeof path, "%s/%s", dir, ML_RECOVERY_POINT_CHECKPOINT);
    int rc = ml_checkpoint_read(path, &c->rp, &c->n_rp, err);
    snprintf(path, sizeof path, "%s/%s", dir, ML_LOG_START_OFFSET_CHECKPOINT);
    if (rc == ML_OK) rc = ml_checkpoint_read(path, &c->lso, &c->n_lso, err);
    return rc;
}

static int load_partition(ml_log_manager *lm, int d, const char *name, const dir_checkpoints *c, int64_t now_ms,
                          int *loaded, ml_err *err) {
    char topic[ML_TOPIC_NAME_MAX + 1], path[4096];
    int32_t p;
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", lm->dirs[d], name);
    if (ml_partition_dir_parse(name, topic, sizeof topic, &p) < 0 || !ml_topic_name_valid(topic) ||
        stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return ML_OK; /* not a partition directory */
    ml_topic *t = find_topic(lm, topic);
    int32_t declared = 0;
    int rc = ML_OK;
    if (!t) {
        rc = new_topic(lm, topic, &t, err);
        if (rc == ML_OK && ((rc = load_config(lm, t, &declared, err)) < 0 || (rc = add_topic(lm, t, err)) < 0))
            free_topic(t);
        if (rc == ML_OK) rc = grow_parts(t, declared, err);
    }
    if (rc == ML_OK) rc = grow_parts(t, p + 1, err);
    if (rc < 0) return rc;
    if (t->parts[p]) return ml_err_set(err, ML_EEXIST, "%s-%d found in two log dirs", topic, p);
    int64_t rp = ml_checkpoint_find(c->rp, c->n_rp, topic, p, 0);
    int64_t lso = ml_checkpoint_find(c->lso, c->n_lso, topic, p, 0);
    rc = ml_compaction_recover_dir(path, err); /* an interrupted compaction, finished or undone */
    if (rc == ML_OK) rc = ml_partition_log_open(path, &t->config, rp, lso, c->clean, now_ms, &t->parts[p], err);
    if (rc == ML_OK) {
        t->part_dir[p] = d;
        (*loaded)++;
    }
    return rc;
}

static int load_dir(ml_log_manager *lm, int d, int64_t now_ms, ml_err *err) {
    const char *dir = lm->dirs[d];
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) return ml_err_set(err, ML_EIO, "mkdir %s: %s", dir, strerror(errno));
    dir_checkpoints c;
    int rc = read_checkpoints(dir, &c, err);
    DIR *dh = rc == ML_OK ? opendir(dir) : NULL;
    if (rc == ML_OK && !dh) rc = ml_err_set(err, ML_EIO, "opendir %s: %s", dir, strerror(errno));
    int loaded = 0;
    for (struct dirent *e; rc == ML_OK && (e = readdir(dh)) != NULL;)
        if (e->d_name[0] != '.') rc = load_partition(lm, d, e->d_name, &c, now_ms, &loaded, err);
    if (dh) closedir(dh);
    if (rc == ML_OK && loaded && !c.clean)
        ml_info("log dir %s: no clean shutdown marker, %d partition(s) recovered", dir, loaded);
    if (rc == ML_OK) rc = ml_clean_shutdown_remove(dir, err);
    ml_checkpoint_free(c.rp);
    ml_checkpoint_free(c.lso);
    return rc;
}

/* Topics whose config declares more partitions than were found, or without a config file. */
static int complete_topics(ml_log_manager *lm, int64_t now_ms, ml_err *err) {
    for (int i = 0; i < lm->n_topics; i++) {
        ml_topic *t = lm->topics[i];
        int rc = fill_partitions(lm, t, t->n_parts, now_ms, err);
        if (rc == ML_OK) rc = save_config(lm, t, err);
        if (rc < 0) return rc;
    }
    return ML_OK;
}

static void free_manager(ml_log_manager *lm) {
    for (int i = 0; i < lm->n_topics; i++) {
        ml_topic *t = lm->topics[i];
        for (int32_t p = 0; p < t->n_parts; p++)
            if (t->parts[p]) ml_partition_log_close(t->parts[p], NULL);
        free_topic(t);
    }
    for (int d = 0; d < lm->n_dirs; d++) free(lm->dirs[d]);
    free(lm->dirs);
    free(lm->topics);
    free(lm->slots);
    free(lm);
}

int ml_log_manager_open(const char *const *dirs, int n_dirs, const ml_log_config *defaults, int64_t now_ms,
                        ml_log_manager **out, ml_err *err) {
    if (n_dirs < 1) return ml_err_set(err, ML_EINVAL, "no log dir");
    ml_log_manager *lm = calloc(1, sizeof *lm);
    if (!lm || !(lm->dirs = calloc((size_t)n_dirs, sizeof *lm->dirs))) {
        free(lm);
        return ml_err_set(err, ML_ENOMEM, "out of memory");
    }
    lm->defaults = *defaults;
    lm->retention_check_ms = 300000;
    lm->flush_check_ms = 1000;
    lm->checkpoint_ms = 60000;
    lm->last_retention_ms = lm->last_flush_ms = lm->last_checkpoint_ms = now_ms;
    int rc = ML_OK;
    for (int d = 0; d < n_dirs && rc == ML_OK; d++) {
        lm->dirs[d] = strdup(dirs[d]);
        lm->n_dirs++;
        if (!lm->dirs[d]) rc = ml_err_set(err, ML_ENOMEM, "out of memory");
    }
    for (int d = 0; d < n_dirs && rc == ML_OK; d++) rc = load_dir(lm, d, now_ms, err);
    if (rc == ML_OK) rc = complete_topics(lm, now_ms, err);
    if (rc < 0) {
        free_manager(lm);
        return rc;
    }
    *out = lm;
    return ML_OK;
}

void ml_log_manager_set_intervals(ml_log_manager *lm, int64_t retention_check_ms, int64_t flush_check_ms,
                                  int64_t checkpoint_ms) {
    lm->retention_check_ms = retention_check_ms;
    lm->flush_check_ms = flush_check_ms;
    lm->checkpoint_ms = checkpoint_ms;
}

/* ---- checkpoints, periodic work, shutdown ---- */

static int checkpoint_dir(ml_log_manager *lm, int d, ml_checkpoint_entry *buf, ml_err *err) {
    int n = 0;
    for (int i = 0; i < lm->n_topics; i++) {
        ml_topic *t = lm->topics[i];
        for (int32_t p = 0; p < t->n_parts; p++)
            if (t->parts[p] && t->part_dir[p] == d) {
                snprintf(buf[n].topic, sizeof buf[n].topic, "%s", t->name);
                buf[n].partition = p;
                buf[n++].offset = ml_partition_log_recovery_point(t->parts[p]);
            }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", lm->dirs[d], ML_RECOVERY_POINT_CHECKPOINT);
    int rc = ml_checkpoint_write(path, buf, n, err);
    if (rc < 0) return rc;
    int k = 0;
    for (int i = 0; i < lm->n_topics; i++) {
        ml_topic *t = lm->topics[i];
        for (int32_t p = 0; p < t->n_parts; p++)
            if (t->parts[p] && t->part_dir[p] == d) buf[k++].offset = ml_partition_log_start_offset(t->parts[p]);
    }
    snprintf(path, sizeof path, "%s/%s", lm->dirs[d], ML_LOG_START_OFFSET_CHECKPOINT);
    return ml_checkpoint_write(path, buf, n, err);
}

int ml_log_manager_checkpoint(ml_log_manager *lm, ml_err *err) {
    size_t total = 1;
    for (int i = 0; i < lm->n_topics; i++) total += (size_t)lm->topics[i]->n_parts;
    ml_checkpoint_entry *buf = malloc(total * sizeof *buf);
    if (!buf) return ml_err_set(err, ML_ENOMEM, "out of memory");
    int rc = ML_OK;
    for (int d = 0; d < lm->n_dirs && rc == ML_OK; d++) rc = checkpoint_dir(lm, d, buf, err);
    free(buf);
    return rc;
}

int ml_log_manager_retain(ml_log_manager *lm, int64_t now_ms, ml_err *err) {
    int deleted = 0;
    for (int i = 0; i < lm->n_topics; i++)
        for (int32_t p = 0; p < lm->topics[i]->n_parts; p++) {
            int n = ml_retention_run(lm->topics[i]->parts[p], now_ms, err);
            if (n < 0) return n;
            deleted += n;
            /* cleanup.policy=compact: keep the last record per key in the sealed segments. */
            int rc = ml_compaction_run(lm->topics[i]->parts[p], now_ms, NULL, err);
            if (rc < 0) return rc;
        }
    return deleted;
}

static int flush_due(ml_log_manager *lm, int64_t now_ms, ml_err *err) {
    for (int i = 0; i < lm->n_topics; i++)
        for (int32_t p = 0; p < lm->topics[i]->n_parts; p++) {
            int rc = ml_partition_log_maybe_flush(lm->topics[i]->parts[p], now_ms, err);
            if (rc < 0) return rc;
        }
    return ML_OK;
}

int ml_log_manager_tick(ml_log_manager *lm, int64_t now_ms, ml_err *err) {
    int rc = ML_OK;
    if (now_ms - lm->last_retention_ms >= lm->retention_check_ms) {
        lm->last_retention_ms = now_ms;
        int n = ml_log_manager_retain(lm, now_ms, err);
        if (n < 0) rc = n;
    }
    if (rc == ML_OK && now_ms - lm->last_flush_ms >= lm->flush_check_ms) {
        lm->last_flush_ms = now_ms;
        rc = flush_due(lm, now_ms, err);
    }
    if (rc == ML_OK && now_ms - lm->last_checkpoint_ms >= lm->checkpoint_ms) {
        lm->last_checkpoint_ms = now_ms;
        rc = ml_log_manager_checkpoint(lm, err);
    }
    return rc;
}

int ml_log_manager_close(ml_log_manager *lm, int64_t now_ms, ml_err *err) {
    int rc = ML_OK;
    for (int i = 0; i < lm->n_topics && rc == ML_OK; i++)
        for (int32_t p = 0; p < lm->topics[i]->n_parts && rc == ML_OK; p++)
            rc = ml_partition_log_flush(lm->topics[i]->parts[p], now_ms, err);
    if (rc == ML_OK) rc = ml_log_manager_checkpoint(lm, err);
    for (int i = 0; i < lm->n_topics; i++) {
        ml_topic *t = lm->topics[i];
        for (int32_t p = 0; p < t->n_parts; p++) {
            if (!t->parts[p]) continue;
            int r = ml_partition_log_close(t->parts[p], rc == ML_OK ? err : NULL);
            if (rc == ML_OK) rc = r;
            t->parts[p] = NULL;
        }
    }
    /* The marker promises the next start that everything above is on disk: only then. */
    for (int d = 0; d < lm->n_dirs && rc == ML_OK; d++) rc = ml_clean_shutdown_write(lm->dirs[d], err);
    free_manager(lm);
    return rc;
}

/* ---- topics ---- */

static int apply_overrides(ml_topic *t, const char *const *names, const char *const *values, int n, ml_err *err) {
    for (int i = 0; i < n; i++) {
        int rc = set_override(t, names[i], values[i], err);
        if (rc < 0) return rc;
    }
    return ML_OK;
}

static void delete_partitions(ml_topic *t) {
    for (int32_t p = 0; p < t->n_parts; p++)
        if (t->parts[p]) {
            ml_err e;
            if (ml_partition_log_delete(t->parts[p], &e) < 0) ml_warn("delete %s-%d: %s", t->name, p, e.msg);
            t->parts[p] = NULL;
        }
}

int ml_log_manager_create_topic(ml_log_manager *lm, const char *topic, int32_t partitions, const char *const *names,
                                const char *const *values, int n_configs, int64_t now_ms, ml_err *err) {
    if (!ml_topic_name_valid(topic)) return ml_err_set(err, ML_EINVAL, "invalid topic name '%s'", topic);
    if (partitions < 1 || partitions > 100000)
        return ml_err_set(err, ML_EINVAL, "%s: invalid partition count %d", topic, partitions);
    if (find_topic(lm, topic)) return ml_err_set(err, ML_EEXIST, "topic %s already exists", topic);
    ml_topic *t;
    int rc = new_topic(lm, topic, &t, err);
    if (rc < 0) return rc;
    rc = apply_overrides(t, names, values, n_configs, err);
    if (rc == ML_OK) rc = resolve_config(lm, t, err);
    if (rc == ML_OK) rc = grow_parts(t, partitions, err);
    if (rc == ML_OK) rc = add_topic(lm, t, err);
    if (rc < 0) {
        free_topic(t);
        return rc;
    }
    rc = fill_partitions(lm, t, partitions, now_ms, err);
    if (rc == ML_OK) rc = save_config(lm, t, err);
    if (rc < 0) {
        delete_partitions(t);
        remove_topic(lm, t);
        free_topic(t);
    }
    return rc;
}

int ml_log_manager_delete_topic(ml_log_manager *lm, const char *topic, ml_err *err) {
    ml_topic *t = find_topic(lm, topic);
    if (!t) return ml_err_set(err, ML_ENOENT, "unknown topic %s", topic);
    char path[4096];
    config_path(lm, topic, path, sizeof path);
    int rc = ML_OK;
    if (unlink(path) < 0 && errno != ENOENT) rc = ml_err_set(err, ML_EIO, "unlink %s: %s", path, strerror(errno));
    delete_partitions(t);
    remove_topic(lm, t);
    free_topic(t);
    return rc;
}

int ml_log_manager_add_partitions(ml_log_manager *lm, const char *topic, int32_t total, int64_t now_ms, ml_err *err) {
    ml_topic *t = find_topic(lm, topic);
    if (!t) return ml_err_set(err, ML_ENOENT, "unknown topic %s", topic);
    if (total <= t->n_parts || total > 100000)
        return ml_err_set(err, ML_EINVAL, "%s has %d partitions, cannot go to %d", topic, t->n_parts, total);
    int rc = fill_partitions(lm, t, total, now_ms, err);
    return rc < 0 ? rc : save_config(lm, t, err);
}

int ml_log_manager_alter_topic_config(ml_log_manager *lm, const char *topic, const char *const *names,
                                      const char *const *values, int n_configs, ml_err *err) {
    ml_topic *t = find_topic(lm, topic);
    if (!t) return ml_err_set(err, ML_ENOENT, "unknown topic %s", topic);
    ml_log_config check = t->config;
    for (int i = 0; i < n_configs; i++) /* validate everything before changing anything */
        if (values[i]) {
            int rc = ml_log_config_set(&check, names[i], values[i], err);
            if (rc < 0) return rc;
        }
    int rc = apply_overrides(t, names, values, n_configs, err);
    if (rc == ML_OK) rc = resolve_config(lm, t, err);
    if (rc == ML_OK) rc = save_config(lm, t, err);
    for (int32_t p = 0; p < t->n_parts && rc == ML_OK; p++) ml_partition_log_set_config(t->parts[p], &t->config);
    return rc;
}

ml_partition_log *ml_log_manager_get(ml_log_manager *lm, const char *topic, int32_t partition) {
    ml_topic *t = find_topic(lm, topic);
    return t && partition >= 0 && partition < t->n_parts ? t->parts[partition] : NULL;
}

int32_t ml_log_manager_partition_count(ml_log_manager *lm, const char *topic) {
    ml_topic *t = find_topic(lm, topic);
    return t ? t->n_parts : -1;
}

const ml_log_config *ml_log_manager_topic_config(ml_log_manager *lm, const char *topic) {
    ml_topic *t = find_topic(lm, topic);
    return t ? &t->config : NULL;
}

int ml_log_manager_topic_override(ml_log_manager *lm, const char *topic, int i, const char **name,
                                  const char **value) {
    ml_topic *t = find_topic(lm, topic);
    if (!t || i < 0 || i >= t->n_over) return ML_ENOENT;
    *name = t->over_names[i];
    *value = t->over_values[i];
    return ML_OK;
}

int ml_log_manager_topic_count(const ml_log_manager *lm) { return lm->n_topics; }

const char *ml_log_manager_topic_name(const ml_log_manager *lm, int i) {
    return i >= 0 && i < lm->n_topics ? lm->topics[i]->name : NULL;
}

int ml_log_manager_dir_count(const ml_log_manager *lm) { return lm->n_dirs; }

const char *ml_log_manager_dir(const ml_log_manager *lm, int i) {
    return i >= 0 && i < lm->n_dirs ? lm->dirs[i] : NULL;
}
