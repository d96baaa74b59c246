/* CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2. */
#ifndef ML_COMMON_CRC32C_H
#define ML_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues `crc` (0 to start) over `len` bytes; uses SSE4.2 when the CPU has it. */
uint32_t ml_crc32c(uint32_t crc, const void *data, size_t len);

#endif
