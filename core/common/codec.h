/* Kafka's four compression codecs for RecordBatch payloads (the records after the 61-byte header).
 *
 * The numbers are those of bits 0-2 of a batch's attributes. What goes on the wire is what the
 * Java client and librdkafka write and read:
 *   gzip    the gzip format (RFC 1952), not raw deflate; several concatenated members are accepted
 *   snappy  written with the xerial framing of the Java client (snappy-java's SnappyOutputStream):
 *           magic 82 53 4e 41 50 50 59 00, version 1, compatible version 1 (big-endian int32 each),
 *           then for each 32 KiB chunk a big-endian int32 length and one raw snappy block.
 *           Read: that framing, or one raw snappy block (what librdkafka writes).
 *   lz4     the LZ4 frame format with independent 64 KiB blocks (the Java client's
 *           KafkaLZ4BlockInputStream cannot read dependent blocks); concatenated frames are accepted
 *   zstd    zstd frames, with or without the content size (the Java client streams without it)
 *
 * Decompression never makes the output grow by more than `max_out` bytes, whatever the input
 * claims: a small "bomb" fails with ML_ETOOBIG after at most max_out bytes were allocated for the
 * output (the codecs' own working memory is bounded separately: zstd windows above
 * max(8 MiB, 2 * max_out) are refused, lz4 blocks are at most 4 MiB). */
#ifndef ML_COMMON_CODEC_H
#define ML_COMMON_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

enum ml_codec { ML_CODEC_NONE = 0, ML_CODEC_GZIP = 1, ML_CODEC_SNAPPY = 2, ML_CODEC_LZ4 = 3, ML_CODEC_ZSTD = 4 };

/* Appends the compressed form of `in` to `out`. `level` -1 takes the codec's default (gzip 6,
 * lz4 0 = fast, zstd 3; snappy has no levels). ML_EINVAL for an unknown codec, ML_ENOMEM. */
int ml_codec_compress(int codec, int level, const uint8_t *in, size_t len, ml_writer *out, ml_err *err);

/* Appends the decompressed form of `in` to `out`. ML_ECORRUPT (message naming the codec and what
 * was wrong) for truncated or garbled input, ML_ETOOBIG when the output would pass `max_out`
 * bytes, ML_EINVAL for an unknown codec, ML_ENOMEM. On failure `out` keeps its earlier bytes
 * and may hold some of the partial output after them. */
int ml_codec_decompress(int codec, const uint8_t *in, size_t len, size_t max_out, ml_writer *out, ml_err *err);

/* "none", "gzip", "snappy", "lz4", "zstd"; "unknown" for other numbers. */
const char *ml_codec_name(int codec);
/* The codec of a name above (case-insensitive; "uncompressed" is taken as "none"), -1 when unknown. */
int ml_codec_parse(const char *name);

#endif
