/* Exported copies of buf.h's inline varint functions, so that Lua reaches exactly the code the
 * C decoders inline (through FFI: spec/support/common_ffi.lua). Not for C callers. */
#include "common/buf.h"

void ml_ffi_buf_reader_init(ml_reader *r, const void *data, size_t len);
void ml_ffi_buf_write_varint(ml_writer *w, int32_t v);
void ml_ffi_buf_write_varlong(ml_writer *w, int64_t v);
void ml_ffi_buf_write_uvarint(ml_writer *w, uint32_t v);
void ml_ffi_buf_write_uvarlong(ml_writer *w, uint64_t v);
int32_t ml_ffi_buf_read_varint(ml_reader *r);
int64_t ml_ffi_buf_read_varlong(ml_reader *r);
uint32_t ml_ffi_buf_read_uvarint(ml_reader *r);
uint64_t ml_ffi_buf_read_uvarlong(ml_reader *r);
int ml_ffi_buf_varlong_size(int64_t v);

void ml_ffi_buf_reader_init(ml_reader *r, const void *data, size_t len) { ml_reader_init(r, data, len); }
void ml_ffi_buf_write_varint(ml_writer *w, int32_t v) { ml_write_varint(w, v); }
void ml_ffi_buf_write_varlong(ml_writer *w, int64_t v) { ml_write_varlong(w, v); }
void ml_ffi_buf_write_uvarint(ml_writer *w, uint32_t v) { ml_write_uvarint(w, v); }
void ml_ffi_buf_write_uvarlong(ml_writer *w, uint64_t v) { ml_write_uvarlong(w, v); }
int32_t ml_ffi_buf_read_varint(ml_reader *r) { return ml_read_varint(r); }
int64_t ml_ffi_buf_read_varlong(ml_reader *r) { return ml_read_varlong(r); }
uint32_t ml_ffi_buf_read_uvarint(ml_reader *r) { return ml_read_uvarint(r); }
uint64_t ml_ffi_buf_read_uvarlong(ml_reader *r) { return ml_read_uvarlong(r); }
int ml_ffi_buf_varlong_size(int64_t v) { return ml_varlong_size(v); }
