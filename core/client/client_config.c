#include "client/client_config.h"

#include <stdint.h>
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
