/* Option helpers shared by the moonlog commands (cli.h), and the option parser of produce and
 * perf produce. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/properties.h"

const char *ml_cli_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "moonlog: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
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

int ml_cli_consumer_file(moonlog_consumer_config *cfg, const char *path) {
    ml_props *props;
    ml_err e;
    if (ml_props_load(path, &props, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.msg);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < ml_props_count(props) && rc == 0; i++) {
        moonlog_error ce;
        if (moonlog_consumer_config_set(cfg, ml_props_key(props, i), ml_props_value(props, i), &ce) != 0) {
            fprintf(stderr, "moonlog: %s:%d: %s\n", path, ml_props_line(props, i), ce.message);
            rc = -1;
        }
    }
    ml_props_free(props);
    return rc;
}

/* ---- produce and perf produce ------------------------------------------------------------- */

void ml_cli_popts_init(ml_cli_popts *o) {
    *o = (ml_cli_popts){"127.0.0.1:9092", NULL, 0, "\t", 0, 100, -1, 1, 5000, NULL};
    o->cfg = moonlog_config_new();
}

static int set_prop(ml_cli_popts *o, const char *key, const char *value) {
    moonlog_error e;
    if (moonlog_config_set(o->cfg, key, value, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return -1;
    }
    return 0;
}

static int load_props(ml_cli_popts *o, const char *path) {
    ml_props *props;
    ml_err e;
    if (ml_props_load(path, &props, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.msg);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < ml_props_count(props) && rc == 0; i++)
        rc = set_prop(o, ml_props_key(props, i), ml_props_value(props, i));
    ml_props_free(props);
    return rc;
}

static const char *plugin_key(const char *a) {
    if (strcmp(a, "--partitioner") == 0) return "partitioner";
    if (strcmp(a, "--key-serializer") == 0) return "key.serializer";
    if (strcmp(a, "--value-serializer") == 0) return "value.serializer";
    if (strcmp(a, "--retry-policy") == 0) return "retry.policy";
    return NULL;
}

static int console_property(ml_cli_popts *o, const char *v) {
    if (strcmp(v, "parse.key=true") == 0) o->parse_key = 1;
    else if (strcmp(v, "parse.key=false") == 0) o->parse_key = 0;
    else if (strncmp(v, "key.separator=", 14) == 0) o->key_sep = v + 14;
    else {
        fprintf(stderr, "moonlog: --property %s: known are parse.key=true|false and key.separator=SEP\n", v);
        return -1;
    }
    return 0;
}

static int perf_number(ml_cli_popts *o, const char *a, const char *v) {
    char *end;
    double d = strtod(v, &end);
    if (*end || end == v) {
        fprintf(stderr, "moonlog: %s %s: not a number\n", a, v);
        return -1;
    }
    if (strcmp(a, "--num-records") == 0) o->num_records = (int64_t)d;
    else if (strcmp(a, "--record-size") == 0) o->record_size = (int32_t)d;
    else if (strcmp(a, "--throughput") == 0) o->throughput = d;
    else if (strcmp(a, "--threads") == 0) o->threads = (int)d;
    else o->print_every_ms = (int64_t)d;
    return 0;
}

static int is_perf_number(const char *a) {
    return strcmp(a, "--num-records") == 0 || strcmp(a, "--record-size") == 0 || strcmp(a, "--throughput") == 0 ||
           strcmp(a, "--threads") == 0 || strcmp(a, "--print-every-ms") == 0;
}

static int is_known(const char *a, int perf) {
    return strcmp(a, "--bootstrap-server") == 0 || strcmp(a, "--broker-list") == 0 || strcmp(a, "--topic") == 0 ||
           strcmp(a, "--producer-property") == 0 || strcmp(a, "--producer.config") == 0 || plugin_key(a) ||
           (!perf && strcmp(a, "--property") == 0) || (perf && is_perf_number(a));
}

int ml_cli_popts_parse(ml_cli_popts *o, int argc, char **argv, int perf) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!is_known(a, perf)) {
            fprintf(stderr, "moonlog: unknown option %s\n", a);
            return -1;
        }
        const char *v = ml_cli_value(argc, argv, &i);
        if (!v) return -1;
        int rc = 0;
        if (strcmp(a, "--bootstrap-server") == 0 || strcmp(a, "--broker-list") == 0) o->bootstrap = v;
        else if (strcmp(a, "--topic") == 0) o->topic = v;
        else if (strcmp(a, "--producer-property") == 0) {
            char key[256];
            const char *value;
            rc = ml_cli_kv(a, v, key, sizeof key, &value) == 0 ? set_prop(o, key, value) : -1;
        } else if (strcmp(a, "--producer.config") == 0) rc = load_props(o, v);
        else if (plugin_key(a)) rc = set_prop(o, plugin_key(a), v);
        else if (!perf && strcmp(a, "--property") == 0) rc = console_property(o, v);
        else rc = perf_number(o, a, v);
        if (rc != 0) return -1;
    }
    if (!o->topic) {
        fprintf(stderr, "moonlog: --topic is required\n");
        return -1;
    }
    return set_prop(o, "bootstrap.servers", o->bootstrap);
}
