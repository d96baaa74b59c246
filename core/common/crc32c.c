#include "common/crc32c.h"

#include <string.h>

#define ML_CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

static uint32_t ml_crc32c_table[8][256];
static int ml_crc32c_hw;

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
/* GF(2) product of a and b modulo the polynomial, in the reflected bit order (x^0 is the top
 * bit). Shifting a CRC register over n zero bytes is a product with x^(8n) mod p, which is how
 * the CRCs of three interleaved streams are joined below. */
static uint32_t ml_crc32c_multmodp(uint32_t a, uint32_t b) {
    uint32_t m = 1u << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = (b & 1) ? (b >> 1) ^ ML_CRC32C_POLY : b >> 1;
    }
    return p;
}

/* x^(8 * n) mod p, by squaring. */
static uint32_t ml_crc32c_zeros_op(size_t n) {
    uint32_t sq = 1u << 30; /* x^1 */
    uint32_t p = 1u << 31;  /* x^0 */
    n *= 8;
    while (n) {
        if (n & 1) p = ml_crc32c_multmodp(sq, p);
        sq = ml_crc32c_multmodp(sq, sq);
        n >>= 1;
    }
    return p;
}

/* The crc32 instruction has a latency of three cycles but issues every cycle: three independent
 * streams over adjacent blocks keep it busy, then the three registers are joined. */
#define ML_CRC32C_BLOCK 8192
static uint32_t ml_crc32c_block_op;

__attribute__((target("sse4.2"))) static uint64_t ml_crc32c_hw_1(uint64_t c, const uint8_t *p, size_t len) {
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

__attribute__((target("sse4.2"))) static uint32_t ml_crc32c_hw_run(uint32_t crc, const uint8_t *p, size_t len) {
    while (len >= 3 * ML_CRC32C_BLOCK) {
        uint64_t c0 = crc, c1 = 0, c2 = 0;
        for (size_t i = 0; i < ML_CRC32C_BLOCK; i += 8) {
            uint64_t v0, v1, v2;
            memcpy(&v0, p + i, 8);
            memcpy(&v1, p + ML_CRC32C_BLOCK + i, 8);
            memcpy(&v2, p + 2 * ML_CRC32C_BLOCK + i, 8);
            c0 = __builtin_ia32_crc32di(c0, v0);
            c1 = __builtin_ia32_crc32di(c1, v1);
            c2 = __builtin_ia32_crc32di(c2, v2);
        }
        crc = ml_crc32c_multmodp(ml_crc32c_block_op, (uint32_t)c0) ^ (uint32_t)c1;
        crc = ml_crc32c_multmodp(ml_crc32c_block_op, crc) ^ (uint32_t)c2;
        p += 3 * ML_CRC32C_BLOCK;
        len -= 3 * ML_CRC32C_BLOCK;
    }
    return (uint32_t)ml_crc32c_hw_1(crc, p, len);
}
#endif

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
    ml_crc32c_block_op = ml_crc32c_zeros_op(ML_CRC32C_BLOCK);
#endif
}

uint32_t ml_crc32c(uint32_t crc, const void *data, size_t len) {
    crc = ~crc;
#if defined(__x86_64__)
    if (ml_crc32c_hw) return ~ml_crc32c_hw_run(crc, data, len);
#endif
    return ~ml_crc32c_sw(crc, data, len);
}
