-- The C types every unit spec shares, declared once per LuaJIT state (busted runs all spec
-- files in one process, and ffi.cdef refuses a second definition of the same struct).
-- Each area adds its own declarations in spec/support/<area>_ffi.lua, requiring this first.
local ffi = require "ffi"

ffi.cdef [[
typedef struct ml_reader { const uint8_t *start; const uint8_t *p; const uint8_t *end; int err; } ml_reader;
typedef struct ml_slice { const uint8_t *ptr; int32_t len; } ml_slice;
typedef struct ml_writer { uint8_t *data; size_t len; size_t cap; int err; } ml_writer;
typedef struct ml_err { int code; char msg[256]; } ml_err;
typedef struct ml_arena { void *head; size_t block_size; } ml_arena;

void ml_writer_init(ml_writer *w, size_t initial_cap);
void ml_writer_free(ml_writer *w);
void ml_arena_init(ml_arena *a, size_t block_size);
void *ml_arena_alloc(ml_arena *a, size_t size);
void ml_arena_free(ml_arena *a);
uint32_t ml_crc32c(uint32_t crc, const void *data, size_t len);
const char *ml_kafka_error_name(int16_t code);
int ml_kafka_error_retriable(int16_t code);
void free(void *p);
]]

local M = {}
M.build = os.getenv("MOONLOG_BUILD") or "build"
M.root = os.getenv("MOONLOG_ROOT") or "."
-- The broker's internals (common, proto, storage, broker) as one shared library.
M.lib = ffi.load(M.root .. "/" .. M.build .. "/libmoonlogd.so")

function M.err()
  return ffi.new("ml_err")
end

function M.errmsg(e)
  return ffi.string(e.msg)
end

return M
