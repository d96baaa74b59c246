/* Checks shared by the producer's and the consumer's configurations (Kafka property names). */
#ifndef ML_CLIENT_CLIENT_CONFIG_H
#define ML_CLIENT_CLIENT_CONFIG_H

#include "moonlog/producer.h"

/* "key: 'value' what" as MOONLOG_ERR_INVALID_CONFIG; returns the error code. */
int ml_client_config_bad(moonlog_error *err, const char *key, const char *value, const char *what);
/* bootstrap.servers: host:port[,host:port...], each port 1..65535. 0 or the error code. */
int ml_client_check_servers(const char *v, moonlog_error *err);

#endif
