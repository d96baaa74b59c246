#include "client/client_config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_error.h"
#include "common/properties.h"

int ml_client_config_bad(moonlog_error *err, const char *key, const char *value, const char *what) {
    return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "%s: '%s' %s", key, value, what);
}

int ml_client_check_servers(const char *v, moonlog_error *err) {
    if (!*v) return ml_client_config_bad(err, "bootstrap.servers", v, "is empty (write host:port[,host:port...])");
    const char *p = v;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[300];
        if (n == 0 || n >= sizeof item)
            return ml_client_config_bad(err, "bootstrap.servers", v, "has an empty or overlong entry");
        memcpy(item, p, n);
        item[n] = 0;
        char *colon = strrchr(item, ':');
        int64_t port;
        if (!colon || colon == item || ml_parse_int64(colon + 1, 1, 65535, &port) != 0)
            return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG,
                                "bootstrap.servers: '%s' is not host:port with a port 1..65535", item);
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

int ml_client_config_str(moonlog_error *err, const char *value, char **field) {
    char *s = strdup(value);
    if (!s) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
    free(*field);
    *field = s;
    return 0;
}

int ml_client_config_int(moonlog_error *err, const char *key, const char *value, int64_t min, int64_t max, int is32,
                         void *field) {
    int64_t v;
    int rc = ml_parse_int64(value, min, max, &v);
    if (rc == ML_EINVAL) return ml_client_config_bad(err, key, value, "is not an integer");
    if (rc != 0) {
        char what[96];
        snprintf(what, sizeof what, "is outside %lld..%lld", (long long)min, (long long)max);
        return ml_client_config_bad(err, key, value, what);
    }
    if (is32)
        *(int32_t *)field = (int32_t)v;
    else
        *(int64_t *)field = v;
    return 0;
}

int ml_client_config_bool(moonlog_error *err, const char *key, const char *value, int *field) {
    if (ml_parse_bool(value, field) != 0) return ml_client_config_bad(err, key, value, "is not true or false");
    return 0;
}

int ml_client_config_remember(char ***given, int *n_given, const char *key, const char *value, moonlog_error *err) {
    for (int j = 0; j < *n_given; j++) {
        if (strcmp((*given)[2 * j], key) == 0) {
            char *s = strdup(value);
            if (!s) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
            free((*given)[2 * j + 1]);
            (*given)[2 * j + 1] = s;
            return 0;
        }
    }
    char **g = realloc(*given, (size_t)(*n_given + 1) * 2 * sizeof *g + sizeof *g);
    if (!g) return ml_error_set(err, MOONLOG_ERR_INVALID_CONFIG, "out of memory");
    *given = g;
    g[2 * *n_given] = strdup(key);
    g[2 * *n_given + 1] = strdup(value);
    (*n_given)++;
    g[2 * *n_given] = NULL;
    return 0;
}
