#include "common/error.h"

#include <stdio.h>

const char *ml_kafka_error_name(int16_t code) {
    switch (code) {
#define ML_X(c, name, retriable) \
    case c:                      \
        return #name;
        ML_KAFKA_ERRORS(ML_X)
#undef ML_X
    }
    return "UNKNOWN_ERROR_CODE";
}

int ml_kafka_error_retriable(int16_t code) {
    switch (code) {
#define ML_X(c, name, retriable) \
    case c:                      \
        return retriable;
        ML_KAFKA_ERRORS(ML_X)
#undef ML_X
    }
    return 0;
}

int ml_err_set(ml_err *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}
