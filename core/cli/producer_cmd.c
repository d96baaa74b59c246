/* The option parser of produce and perf produce (producer_cmd.h). */
#include "cli/producer_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void popts_init(ml_cli_popts *o) {
    *o = (ml_cli_popts){"127.0.0.1:9092", NULL, 0, "\t", 0, 100, -1, 1, 0, 5000, NULL};
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

static int file_entry(void *o, const char *path, int line, const char *key, const char *value) {
    (void)path, (void)line;
    return set_prop(o, key, value);
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

static int perf_keys(ml_cli_popts *o, const char *v) {
    if (strcmp(v, "index") == 0) o->null_keys = 0;
    else if (strcmp(v, "none") == 0) o->null_keys = 1;
    else {
        fprintf(stderr, "moonlog: --keys %s: known are index and none\n", v);
        return -1;
    }
    return 0;
}

static const char *const common_options[] = {"--bootstrap-server", "--broker-list", "--topic", "--producer-property",
                                             "--producer.config", NULL};
static const char *const perf_options[] = {"--num-records", "--record-size", "--throughput", "--threads",
                                           "--print-every-ms", "--keys", NULL};

static int is_known(const char *a, int perf) {
    return ml_cli_one_of(a, common_options) || plugin_key(a) || (!perf && strcmp(a, "--property") == 0) ||
           (perf && ml_cli_one_of(a, perf_options));
}

static int option(ml_cli_popts *o, const char *a, const char *v, int perf) {
    if (strcmp(a, "--bootstrap-server") == 0 || strcmp(a, "--broker-list") == 0) o->bootstrap = v;
    else if (strcmp(a, "--topic") == 0) o->topic = v;
    else if (strcmp(a, "--producer-property") == 0) {
        char key[256];
        const char *value;
        return ml_cli_kv(a, v, key, sizeof key, &value) == 0 ? set_prop(o, key, value) : -1;
    } else if (strcmp(a, "--producer.config") == 0) return ml_cli_props_each(v, file_entry, o);
    else if (plugin_key(a)) return set_prop(o, plugin_key(a), v);
    else if (!perf && strcmp(a, "--property") == 0) return console_property(o, v);
    else if (strcmp(a, "--keys") == 0) return perf_keys(o, v);
    else return perf_number(o, a, v);
    return 0;
}

static int popts_parse(ml_cli_popts *o, int argc, char **argv, int perf) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = ml_cli_known_value(argc, argv, &i, is_known(a, perf));
        if (!v || option(o, a, v, perf) != 0) return -1;
    }
    if (!o->topic) {
        fprintf(stderr, "moonlog: --topic is required\n");
        return -1;
    }
    return set_prop(o, "bootstrap.servers", o->bootstrap);
}

int ml_cli_popts_main(int argc, char **argv, int perf, int (*run)(ml_cli_popts *o)) {
    ml_cli_popts o;
    popts_init(&o);
    if (!o.cfg) return 1;
    int rc = popts_parse(&o, argc, argv, perf) == 0 ? run(&o) : 2;
    moonlog_config_free(o.cfg);
    return rc;
}
