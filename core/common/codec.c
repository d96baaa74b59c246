#include "common/codec.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd"};

const char *ml_codec_name(int codec) {
    return codec >= ML_CODEC_NONE && codec <= ML_CODEC_ZSTD ? codec_names[codec] : "unknown";
}

int ml_codec_parse(const char *name) {
    for (int i = ML_CODEC_NONE; i <= ML_CODEC_ZSTD; i++)
        if (strcasecmp(name, codec_names[i]) == 0) return i;
    if (strcasecmp(name, "uncompressed") == 0) return ML_CODEC_NONE;
    return -1;
}

/* ---- bounded output --------------------------------------------------------------------- */

/* The largest length `out` may reach while max_out more bytes are allowed. */
static size_t out_limit(const ml_writer *w, size_t max_out) {
    return max_out > SIZE_MAX - w->len ? SIZE_MAX : w->len + max_out;
}

/* Makes free space after w->len for up to `want` bytes without letting the buffer grow past
 * `limit` bytes, and tells how much may be written (at least 1, or 0 once the limit is reached). */
static int out_room(ml_writer *w, size_t limit, size_t want, size_t *room, ml_err *err) {
    if (w->err) return ml_err_set(err, ML_ENOMEM, "out of memory for the decompressed data");
    size_t left = limit - w->len;
    if (want == 0) want = 1; /* room is 0 only at the limit */
    if (want > left) want = left;
    if (w->cap - w->len < want) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < want) cap = cap > limit / 2 ? limit : cap * 2;
        uint8_t *p = realloc(w->data, cap);
        if (!p) {
            w->err = 1;
            return ml_err_set(err, ML_ENOMEM, "out of memory for %zu bytes of decompressed data", cap);
        }
        w->data = p;
        w->cap = cap;
    }
    size_t free_space = w->cap - w->len;
    *room = free_space < left ? free_space : left;
    return ML_OK;
}

/* How much more room to ask for while streaming: at least 64 KiB, then doubling. */
static size_t stream_want(const ml_writer *w, size_t base) {
    size_t produced = w->len - base;
    return produced > 65536 ? produced : 65536;
}

static int too_big(ml_err *err, const char *codec, size_t max_out) {
    return ml_err_set(err, ML_ETOOBIG, "%s: decompressed data exceeds the limit of %zu bytes", codec, max_out);
}

/* ---- gzip ------------------------------------------------------------------------------- */

static int gzip_compress(int level, const uint8_t *in, size_t len, ml_writer *out, ml_err *err) {
    if (level < -1 || level > 9) return ml_err_set(err, ML_EINVAL, "gzip: level %d is not in 0..9", level);
    if (len > UINT_MAX) return ml_err_set(err, ML_ETOOBIG, "gzip: %zu bytes is too much input", len);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level < 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return ml_err_set(err, ML_ENOMEM, "gzip: cannot set up the compressor");
    size_t bound = deflateBound(&zs, (uLong)len);
    int rc = ML_OK;
    if (!ml_writer_reserve(out, bound)) {
        rc = ml_err_set(err, ML_ENOMEM, "gzip: out of memory for %zu bytes", bound);
    } else {
        zs.next_in = (Bytef *)in;
        zs.avail_in = (uInt)len;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)(bound < UINT_MAX ? bound : UINT_MAX);
        int zr = deflate(&zs, Z_FINISH);
        if (zr != Z_STREAM_END) rc = ml_err_set(err, ML_ENOMEM, "gzip: deflate failed (%d)", zr);
        else out->len += zs.total_out;
    }
    deflateEnd(&zs);
    return rc;
}

static int gzip_decompress(const uint8_t *in, size_t len, size_t max_out, ml_writer *out, ml_err *err) {
    if (len > UINT_MAX) return ml_err_set(err, ML_ETOOBIG, "gzip: %zu bytes is too much input", len);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return ml_err_set(err, ML_ENOMEM, "gzip: cannot set up the inflater");
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    size_t base = out->len, limit = out_limit(out, max_out);
    int rc = ML_OK;
    for (;;) {
        size_t room;
        if ((rc = out_room(out, limit, stream_want(out, base), &room, err)) < 0) break;
        uint8_t scratch; /* at the limit: is there one more byte? */
        uInt avail = room ? (uInt)(room < UINT_MAX ? room : UINT_MAX) : 1;
        zs.next_out = room ? out->data + out->len : &scratch;
        zs.avail_out = avail;
        int zr = inflate(&zs, Z_NO_FLUSH);
        size_t produced = avail - zs.avail_out;
        if (!room && produced) {
            rc = too_big(err, "gzip", max_out);
            break;
        }
        if (room) out->len += produced;
        if (zr == Z_STREAM_END) {
            if (zs.avail_in == 0) break;
            inflateReset(&zs); /* another member follows */
            continue;
        }
        if (zr == Z_OK) continue;
        if (zr == Z_BUF_ERROR && zs.avail_in == 0) {
            rc = ml_err_set(err, ML_ECORRUPT, "gzip: truncated input (%zu bytes, the stream does not end)", len);
        } else if (zr == Z_MEM_ERROR) {
            rc = ml_err_set(err, ML_ENOMEM, "gzip: out of memory");
        } else {
            rc = ml_err_set(err, ML_ECORRUPT, "gzip: corrupt input at byte %zu: %s", len - zs.avail_in,
                            zs.msg ? zs.msg : "bad data");
        }
        break;
    }
    inflateEnd(&zs);
    return rc;
}

/* ---- snappy (xerial framing or one raw block) --------------------------------------------- */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER 16
#define XERIAL_CHUNK 32768

static int snappy_compress_xerial(const uint8_t *in, size_t len, ml_writer *out, ml_err *err) {
    uint8_t header[XERIAL_HEADER];
    memcpy(header, xerial_magic, 8);
    ml_store_u32(header + 8, 1);  /* version */
    ml_store_u32(header + 12, 1); /* oldest compatible version */
    ml_write_raw(out, header, sizeof header);
    for (size_t pos = 0; pos < len && !out->err; pos += XERIAL_CHUNK) {
        size_t n = len - pos < XERIAL_CHUNK ? len - pos : XERIAL_CHUNK;
        size_t clen = snappy_max_compressed_length(n);
        if (!ml_writer_reserve(out, 4 + clen)) break;
        if (snappy_compress((const char *)in + pos, n, (char *)out->data + out->len + 4, &clen) != SNAPPY_OK)
            return ml_err_set(err, ML_ENOMEM, "snappy: compression failed");
        ml_store_u32(out->data + out->len, (uint32_t)clen);
        out->len += 4 + clen;
    }
    if (out->err) return ml_err_set(err, ML_ENOMEM, "snappy: out of memory");
    return ML_OK;
}

static int snappy_block(const uint8_t *p, size_t n, size_t at, size_t limit, size_t max_out, ml_writer *out,
                        ml_err *err) {
    size_t ulen;
    if (snappy_uncompressed_length((const char *)p, n, &ulen) != SNAPPY_OK)
        return ml_err_set(err, ML_ECORRUPT, "snappy: bad block header at byte %zu", at);
    if (ulen > limit - out->len) return too_big(err, "snappy", max_out);
    size_t room;
    int rc = out_room(out, limit, ulen, &room, err);
    if (rc < 0) return rc;
    if (snappy_uncompress((const char *)p, n, (char *)out->data + out->len, &ulen) != SNAPPY_OK)
        return ml_err_set(err, ML_ECORRUPT, "snappy: corrupt block at byte %zu", at);
    out->len += ulen;
    return ML_OK;
}

static int snappy_decompress(const uint8_t *in, size_t len, size_t max_out, ml_writer *out, ml_err *err) {
    size_t limit = out_limit(out, max_out);
    if (len < 8 || memcmp(in, xerial_magic, 8) != 0) return snappy_block(in, len, 0, limit, max_out, out, err);
    if (len < XERIAL_HEADER) return ml_err_set(err, ML_ECORRUPT, "snappy: truncated xerial header (%zu bytes)", len);
    for (size_t pos = XERIAL_HEADER; pos < len;) {
        if (len - pos < 4) return ml_err_set(err, ML_ECORRUPT, "snappy: truncated xerial chunk length at byte %zu", pos);
        size_t n = ml_load_u32(in + pos);
        pos += 4;
        if (n > len - pos)
            return ml_err_set(err, ML_ECORRUPT, "snappy: xerial chunk of %zu bytes at byte %zu passes the end (%zu bytes)",
                              n, pos - 4, len);
        int rc = snappy_block(in + pos, n, pos, limit, max_out, out, err);
        if (rc < 0) return rc;
        pos += n;
    }
    return ML_OK;
}

/* ---- lz4 frame ---------------------------------------------------------------------------- */

static int lz4_compress(int level, const uint8_t *in, size_t len, ml_writer *out, ml_err *err) {
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.compressionLevel = level < 0 ? 0 : level;
    size_t bound = LZ4F_compressFrameBound(len, &prefs);
    if (!ml_writer_reserve(out, bound)) return ml_err_set(err, ML_ENOMEM, "lz4: out of memory for %zu bytes", bound);
    size_t n = LZ4F_compressFrame(out->data + out->len, bound, in, len, &prefs);
    if (LZ4F_isError(n)) return ml_err_set(err, ML_ENOMEM, "lz4: %s", LZ4F_getErrorName(n));
    out->len += n;
    return ML_OK;
}

static int lz4_decompress(const uint8_t *in, size_t len, size_t max_out, ml_writer *out, ml_err *err) {
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return ml_err_set(err, ML_ENOMEM, "lz4: cannot set up the decompressor");
    size_t base = out->len, limit = out_limit(out, max_out), pos = 0, hint = 1;
    int rc = ML_OK;
    for (;;) {
        size_t room;
        if ((rc = out_room(out, limit, stream_want(out, base), &room, err)) < 0) break;
        uint8_t scratch;
        size_t dsz = room ? room : 1, ssz = len - pos;
        hint = LZ4F_decompress(dctx, room ? out->data + out->len : &scratch, &dsz, in + pos, &ssz, NULL);
        if (LZ4F_isError(hint)) {
            rc = ml_err_set(err, ML_ECORRUPT, "lz4: corrupt input near byte %zu: %s", pos, LZ4F_getErrorName(hint));
            break;
        }
        if (!room && dsz) {
            rc = too_big(err, "lz4", max_out);
            break;
        }
        if (room) out->len += dsz;
        pos += ssz;
        if (hint == 0 && pos == len) break; /* the last frame ended with the input */
        if (dsz == 0 && (pos == len || ssz == 0)) break; /* nothing left to read or to flush */
    }
    if (rc == ML_OK && hint != 0) rc = ml_err_set(err, ML_ECORRUPT, "lz4: truncated frame (%zu bytes)", len);
    LZ4F_freeDecompressionContext(dctx);
    return rc;
}

/* ---- zstd --------------------------------------------------------------------------------- */

/* zstd's own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT, only in its static-linking API). */
#define ZSTD_WINDOW_LOG_MAX 27

static int zstd_compress(int level, const uint8_t *in, size_t len, ml_writer *out, ml_err *err) {
    size_t bound = ZSTD_compressBound(len);
    if (!ml_writer_reserve(out, bound)) return ml_err_set(err, ML_ENOMEM, "zstd: out of memory for %zu bytes", bound);
    size_t n = ZSTD_compress(out->data + out->len, bound, in, len, level == -1 ? ZSTD_CLEVEL_DEFAULT : level);
    if (ZSTD_isError(n)) return ml_err_set(err, ML_EINVAL, "zstd: %s", ZSTD_getErrorName(n));
    out->len += n;
    return ML_OK;
}

/* The largest window accepted: enough for any frame whose output may fit, at least 8 MiB (what
 * the Java client's levels up to 19 use) and never more than zstd's default limit (128 MiB). */
static int zstd_window_log(size_t max_out) {
    int wlog = 23;
    while (wlog < ZSTD_WINDOW_LOG_MAX && ((size_t)1 << wlog) / 2 < max_out) wlog++;
    return wlog;
}

static int zstd_decompress(const uint8_t *in, size_t len, size_t max_out, ml_writer *out, ml_err *err) {
    unsigned long long declared = ZSTD_getFrameContentSize(in, len);
    int known = declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR;
    if (known && declared > max_out) return too_big(err, "zstd", max_out);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d) return ml_err_set(err, ML_ENOMEM, "zstd: cannot set up the decompressor");
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, zstd_window_log(max_out));
    ZSTD_inBuffer ib = {in, len, 0};
    size_t base = out->len, limit = out_limit(out, max_out), ret = 1;
    int rc = ML_OK;
    for (;;) {
        size_t room, want = known && out->len == base ? (size_t)declared : stream_want(out, base);
        if ((rc = out_room(out, limit, want, &room, err)) < 0) break;
        uint8_t scratch;
        ZSTD_outBuffer ob = {room ? out->data + out->len : &scratch, room ? room : 1, 0};
        size_t before = ib.pos;
        ret = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(ret)) {
            if (ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge)
                rc = ml_err_set(err, ML_ETOOBIG, "zstd: the frame needs a window larger than 2^%d bytes",
                                zstd_window_log(max_out));
            else
                rc = ml_err_set(err, ML_ECORRUPT, "zstd: corrupt input near byte %zu: %s", ib.pos, ZSTD_getErrorName(ret));
            break;
        }
        if (!room && ob.pos) {
            rc = too_big(err, "zstd", max_out);
            break;
        }
        if (room) out->len += ob.pos;
        if (ret == 0 && ib.pos == ib.size) break; /* the last frame is decoded and flushed */
        if (ob.pos < ob.size && (ib.pos == ib.size || ib.pos == before)) break; /* all read and flushed */
    }
    if (rc == ML_OK && (ret != 0 || ib.pos != ib.size))
        rc = ml_err_set(err, ML_ECORRUPT, "zstd: truncated frame (%zu bytes)", len);
    ZSTD_freeDCtx(d);
    return rc;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

int ml_codec_compress(int codec, int level, const uint8_t *in, size_t len, ml_writer *out, ml_err *err) {
    switch (codec) {
    case ML_CODEC_NONE:
        ml_write_raw(out, in, len);
        return out->err ? ml_err_set(err, ML_ENOMEM, "out of memory for %zu bytes", len) : ML_OK;
    case ML_CODEC_GZIP:
        return gzip_compress(level, in, len, out, err);
    case ML_CODEC_SNAPPY:
        return snappy_compress_xerial(in, len, out, err);
    case ML_CODEC_LZ4:
        return lz4_compress(level, in, len, out, err);
    case ML_CODEC_ZSTD:
        return zstd_compress(level, in, len, out, err);
    }
    return ml_err_set(err, ML_EINVAL, "unknown compression codec %d", codec);
}

int ml_codec_decompress(int codec, const uint8_t *in, size_t len, size_t max_out, ml_writer *out, ml_err *err) {
    switch (codec) {
    case ML_CODEC_NONE:
        if (len > max_out) return too_big(err, "none", max_out);
        ml_write_raw(out, in, len);
        return out->err ? ml_err_set(err, ML_ENOMEM, "out of memory for %zu bytes", len) : ML_OK;
    case ML_CODEC_GZIP:
        return gzip_decompress(in, len, max_out, out, err);
    case ML_CODEC_SNAPPY:
        return snappy_decompress(in, len, max_out, out, err);
    case ML_CODEC_LZ4:
        return lz4_decompress(in, len, max_out, out, err);
    case ML_CODEC_ZSTD:
        return zstd_decompress(in, len, max_out, out, err);
    }
    return ml_err_set(err, ML_EINVAL, "unknown compression codec %d", codec);
}
