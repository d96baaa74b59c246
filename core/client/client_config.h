/* Checks shared by the producer's and the consumer's configurations (Kafka property names). */
#ifndef ML_CLIENT_CLIENT_CONFIG_H
#define ML_CLIENT_CLIENT_CONFIG_H

#include <stdint.h>

#include "moonlog/producer.h"

/* "key: 'value' what" as MOONLOG_ERR_INVALID_CONFIG; returns the error code. */
int ml_client_config_bad(moonlog_error *err, const char *key, const char *value, const char *what);
/* Typed values into a configuration struct's field; each returns 0 or the error code, with a
 * message naming the key and the value. */
int ml_client_config_str(moonlog_error *err, const char *value, char **field);
/* An integer within [min, max], stored as int32_t when `is32`, else int64_t. */
int ml_client_config_int(moonlog_error *err, const char *key, const char *value, int64_t min, int64_t max, int is32,
                         void *field);
int ml_client_config_bool(moonlog_error *err, const char *key, const char *value, int *field);
/* Records key = value in a NULL-terminated key, value, ... list (*given, *n_given pairs), replacing
 * an earlier value of the key: the settings as given, which plugins read as moonlog.config. */
int ml_client_config_remember(char ***given, int *n_given, const char *key, const char *value, moonlog_error *err);
/* bootstrap.servers: host:port[,host:port...], each port 1..65535. 0 or the error code. */
int ml_client_check_servers(const char *v, moonlog_error *err);

#endif
