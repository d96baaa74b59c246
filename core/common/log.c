#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static enum ml_log_level ml_log_level_min = ML_LOG_INFO;
static const char *const ml_log_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void ml_log_set_level(enum ml_log_level level) { ml_log_level_min = level; }

int ml_log_parse_level(const char *name, enum ml_log_level *out) {
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, ml_log_names[i]) == 0) {
            *out = (enum ml_log_level)i;
            return 0;
        }
    }
    return -1;
}

void ml_log(enum ml_log_level level, const char *fmt, ...) {
    if (level < ml_log_level_min) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char line[1024];
    int n = snprintf(line, sizeof line, "[%04d-%02d-%02d %02d:%02d:%02d.%03d] %s ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000),
                     ml_log_names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && n < (int)sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One write per line so lines from concurrent writers do not interleave. */
    fprintf(stderr, "%s\n", line);
}
