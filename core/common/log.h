/* Leveled logging to stderr with a timestamp; the level is set once at start-up. */
#ifndef ML_COMMON_LOG_H
#define ML_COMMON_LOG_H

enum ml_log_level { ML_LOG_DEBUG, ML_LOG_INFO, ML_LOG_WARN, ML_LOG_ERROR };

void ml_log_set_level(enum ml_log_level level);
int ml_log_parse_level(const char *name, enum ml_log_level *out);
void ml_log(enum ml_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ml_debug(...) ml_log(ML_LOG_DEBUG, __VA_ARGS__)
#define ml_info(...) ml_log(ML_LOG_INFO, __VA_ARGS__)
#define ml_warn(...) ml_log(ML_LOG_WARN, __VA_ARGS__)
#define ml_error(...) ml_log(ML_LOG_ERROR, __VA_ARGS__)

#endif
