/* The client's errors: moonlog_error filled from a Kafka code or a client-side one. */
#ifndef ML_CLIENT_CLIENT_ERROR_H
#define ML_CLIENT_CLIENT_ERROR_H

#include "moonlog/producer.h"

/* Fills `e` (may be NULL) with `code`, its name, Kafka's retriable flag and a formatted message;
 * returns `code`. */
int ml_error_set(moonlog_error *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ml_error_retriable(int code);

#endif
