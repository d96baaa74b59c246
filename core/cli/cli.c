/* Option helpers shared by the moonlog commands (cli.h). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "common/properties.h"

const char *ml_cli_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "moonlog: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

const char *ml_cli_known_value(int argc, char **argv, int *i, int known) {
    if (!known) {
        ml_cli_unknown(argv[*i]);
        return NULL;
    }
    return ml_cli_value(argc, argv, i);
}

int ml_cli_unknown(const char *a) {
    fprintf(stderr, "moonlog: unknown option %s\n", a);
    return -1;
}

int ml_cli_one_of(const char *a, const char *const *names) {
    for (; *names; names++)
        if (strcmp(a, *names) == 0) return 1;
    return 0;
}

int ml_cli_kv(const char *opt, const char *kv, char *key, size_t key_cap, const char **value) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || (size_t)(eq - kv) >= key_cap) {
        fprintf(stderr, "moonlog: %s %s: expected key=value\n", opt, kv);
        return -1;
    }
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = 0;
    *value = eq + 1;
    return 0;
}

int ml_cli_int(const char *opt, const char *v, int64_t min, int64_t max, int64_t *out) {
    int rc = ml_parse_int64(v, min, max, out);
    if (rc == ML_ERANGE) fprintf(stderr, "moonlog: %s %s: out of range [%lld, %lld]\n", opt, v, (long long)min, (long long)max);
    else if (rc != 0) fprintf(stderr, "moonlog: %s %s: not an integer\n", opt, v);
    return rc == 0 ? 0 : -1;
}

int ml_cli_props_each(const char *path, ml_cli_props_fn set, void *ctx) {
    ml_props *props;
    ml_err e;
    if (ml_props_load(path, &props, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.msg);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < ml_props_count(props) && rc == 0; i++)
        rc = set(ctx, path, ml_props_line(props, i), ml_props_key(props, i), ml_props_value(props, i));
    ml_props_free(props);
    return rc;
}

int ml_cli_consumer_set(moonlog_consumer_config *cfg, const char *key, const char *value) {
    moonlog_error e;
    if (moonlog_consumer_config_set(cfg, key, value, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return -1;
    }
    return 0;
}

int ml_cli_consumer_kv(moonlog_consumer_config *cfg, const char *kv) {
    char key[256];
    const char *value;
    if (ml_cli_kv("--consumer-property", kv, key, sizeof key, &value) != 0) return -1;
    return ml_cli_consumer_set(cfg, key, value);
}

/* A file's bad entry is named by file and line: the message alone would not say where it is. */
static int consumer_file_entry(void *cfg, const char *path, int line, const char *key, const char *value) {
    moonlog_error e;
    if (moonlog_consumer_config_set(cfg, key, value, &e) != 0) {
        fprintf(stderr, "moonlog: %s:%d: %s\n", path, line, e.message);
        return -1;
    }
    return 0;
}

int ml_cli_consumer_file(moonlog_consumer_config *cfg, const char *path) {
    return ml_cli_props_each(path, consumer_file_entry, cfg);
}
