/* Wall-clock milliseconds (record timestamps) and monotonic time (timeouts, latency). */
#ifndef ML_COMMON_CLOCK_H
#define ML_COMMON_CLOCK_H

#include <stdint.h>

int64_t ml_wall_ms(void);
int64_t ml_mono_ms(void);
int64_t ml_mono_us(void);

#endif
