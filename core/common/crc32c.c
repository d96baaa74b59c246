#include "common/crc32c.h"

#include <string.h>

#define ML_CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

static uint32_t ml_crc32c_table[8][256];
static int ml_crc32c_hw;

__attribute__((constructor)) static void ml_crc32c_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (ML_CRC32C_POLY & (0u - (c & 1)));
        ml_crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            ml_crc32c_table[t][i] =
                (ml_crc32c_table[t - 1][i] >> 8) ^ ml_crc32c_table[0][ml_crc32c_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    __builtin_cpu_init();
    ml_crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* Slicing-by-8: eight table lookups per 8 input bytes. */
static uint32_t ml_crc32c_sw(uint32_t crc, const uint8_t *p, size_t len) {
    while (len >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= crc;
        crc = ml_crc32c_table[7][lo & 0xff] ^ ml_crc32c_table[6][(lo >> 8) & 0xff] ^
              ml_crc32c_table[5][(lo >> 16) & 0xff] ^ ml_crc32c_table[4][lo >> 24] ^
              ml_crc32c_table[3][hi & 0xff] ^ ml_crc32c_table[2][(hi >> 8) & 0xff] ^
              ml_crc32c_table[1][(hi >> 16) & 0xff] ^ ml_crc32c_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--) crc = (crc >> 8) ^ ml_crc32c_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t ml_crc32c_hw_run(uint32_t crc, const uint8_t *p, size_t len) {
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t ml_crc32c(uint32_t crc, const void *data, size_t len) {
    crc = ~crc;
#if defined(__x86_64__)
    if (ml_crc32c_hw) return ~ml_crc32c_hw_run(crc, data, len);
#endif
    return ~ml_crc32c_sw(crc, data, len);
}
