#include "broker/topic_configs.h"

#include <string.h>

#include "broker/handler.h"

static int is_override(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return 1;
    return 0;
}

int ml_topic_configs_list(ml_request *req, const ml_log_config *cfg, const char *const *names, int n_names,
                          ml_topic_config_entry **out) {
    int n = 0;
    while (ml_log_config_name(n)) n++;
    ml_topic_config_entry *e = ml_req_array(req, n, sizeof *e);
    if (!e) return -1;
    int k = 0;
    for (int i = 0; i < n; i++) {
        const char *name = ml_log_config_name(i);
        char value[256];
        ml_err err;
        if (ml_log_config_get(cfg, name, value, sizeof value, &err) != 0) continue;
        e[k].name = ml_req_string(req, name);
        e[k].value = ml_req_string(req, value);
        e[k].source = is_override(name, names, n_names) ? ML_CONFIG_SOURCE_TOPIC : ML_CONFIG_SOURCE_DEFAULT;
        k++;
    }
    *out = e;
    return k;
}
