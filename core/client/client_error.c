#include "client/client_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "moonlog/consumer.h"

const char *moonlog_err_name(int code) {
    switch (code) {
    case MOONLOG_ERR_TIMED_OUT: return "TIMED_OUT";
    case MOONLOG_ERR_BUFFER_EXHAUSTED: return "BUFFER_EXHAUSTED";
    case MOONLOG_ERR_SERIALIZATION: return "SERIALIZATION";
    case MOONLOG_ERR_PARTITIONER: return "PARTITIONER";
    case MOONLOG_ERR_PLUGIN_TIMEOUT: return "PLUGIN_TIMEOUT";
    case MOONLOG_ERR_CLOSED: return "CLOSED";
    case MOONLOG_ERR_INVALID_CONFIG: return "INVALID_CONFIG";
    case MOONLOG_ERR_UNKNOWN_TOPIC: return "UNKNOWN_TOPIC";
    case MOONLOG_ERR_INVALID_ARG: return "INVALID_ARG";
    case MOONLOG_ERR_RETRY_POLICY: return "RETRY_POLICY";
    case MOONLOG_ERR_NETWORK: return "NETWORK";
    case MOONLOG_ERR_DESERIALIZATION: return "DESERIALIZATION";
    case MOONLOG_ERR_ASSIGNOR: return "ASSIGNOR";
    case MOONLOG_ERR_LISTENER: return "LISTENER";
    default: return ml_kafka_error_name((int16_t)code);
    }
}

int ml_error_retriable(int code) {
    if (code == MOONLOG_ERR_NETWORK) return 1;
    if (code < -1) return 0;
    return ml_kafka_error_retriable((int16_t)code);
}

int ml_error_set(moonlog_error *e, int code, const char *fmt, ...) {
    if (!e) return code;
    e->code = code;
    e->retriable = ml_error_retriable(code);
    snprintf(e->name, sizeof e->name, "%s", moonlog_err_name(code));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return code;
}
