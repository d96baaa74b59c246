-- FFI declarations of core/common's codecs, properties reader and varint wrappers
-- (core/common/codec.h, properties.h, buf_export.c) and of core/broker/broker_config.h,
-- plus small helpers their specs share.
--
-- These functions live in build/libmoonlogd.so. While that library cannot be built (core/broker
-- and core/proto are written by others at the same time and may not link yet) or is older than
-- these files, this module builds a private library from core/common/*.c,
-- core/storage/log_config.c and core/broker/broker_config.c alone, under <build>/priv/, and the
-- specs use that one. Nothing else uses the private library.
local ffi = require "ffi"
local common = require "ffi_common"
require "storage_ffi" -- declares ml_log_config, which ml_broker_config embeds

ffi.cdef [[
int ml_codec_compress(int codec, int level, const uint8_t *in, size_t len, ml_writer *out, ml_err *err);
int ml_codec_decompress(int codec, const uint8_t *in, size_t len, size_t max_out, ml_writer *out, ml_err *err);
const char *ml_codec_name(int codec);
int ml_codec_parse(const char *name);

typedef struct ml_props ml_props;
ml_props *ml_props_new(const char *name);
int ml_props_load(const char *path, ml_props **out, ml_err *err);
int ml_props_parse(const char *text, size_t len, const char *name, ml_props **out, ml_err *err);
void ml_props_free(ml_props *p);
const char *ml_props_name(const ml_props *p);
int ml_props_count(const ml_props *p);
const char *ml_props_key(const ml_props *p, int i);
const char *ml_props_value(const ml_props *p, int i);
int ml_props_line(const ml_props *p, int i);
const char *ml_props_get(const ml_props *p, const char *key);
int ml_props_set(ml_props *p, const char *key, const char *value);
int ml_props_set_line(ml_props *p, const char *key, const char *value, int line);
int ml_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
int ml_parse_bool(const char *s, int *out);

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

typedef struct ml_broker_config {
  int32_t broker_id; char listener_host[256]; int listener_port; char advertised_host[256]; int advertised_port;
  char **log_dirs; int n_log_dirs; int32_t num_partitions; int32_t default_replication_factor;
  int auto_create_topics_enable; int delete_topic_enable; int32_t socket_request_max_bytes; int32_t message_max_bytes;
  int64_t log_retention_check_interval_ms; int64_t log_flush_scheduler_interval_ms;
  int64_t log_flush_offset_checkpoint_interval_ms; int64_t group_initial_rebalance_delay_ms;
  int32_t group_min_session_timeout_ms; int32_t group_max_session_timeout_ms;
  int32_t offsets_topic_num_partitions; int32_t offsets_topic_replication_factor; int64_t offsets_retention_minutes;
  int64_t offsets_retention_check_interval_ms;
  int64_t connections_max_idle_ms; int log_level; ml_log_config log_defaults;
} ml_broker_config;
void ml_broker_config_init(ml_broker_config *c);
int ml_broker_config_load(ml_broker_config *c, const char *path, int n_overrides, const char *const *overrides, ml_err *err);
void ml_broker_config_free(ml_broker_config *c);
void ml_broker_config_print_markdown(void *out);
const char *ml_broker_config_describe(const ml_broker_config *c, int i, char *value, size_t size, int *is_default);
]]
-- libc, for capturing stderr; each on its own since other spec helpers may declare some of them.
for _, decl in ipairs({ "int dup(int fd);", "int dup2(int fd, int fd2);", "int close(int fd);",
                        "typedef struct FILE FILE;", "FILE *fopen(const char *path, const char *mode);",
                        "int fclose(FILE *f);", "int fileno(FILE *f);" }) do
  pcall(ffi.cdef, decl)
end

local M = { common = common }
M.OK, M.EINVAL, M.EIO, M.ENOMEM, M.ECORRUPT, M.ENOENT, M.EEXIST, M.ERANGE, M.ETOOBIG = 0, -1, -2, -3, -4, -5, -6, -7, -8
M.NONE, M.GZIP, M.SNAPPY, M.LZ4, M.ZSTD = 0, 1, 2, 3, 4

local wanted = { "ml_codec_compress", "ml_props_parse", "ml_ffi_buf_read_varint", "ml_broker_config_describe" }
local function has_all(lib)
  for _, sym in ipairs(wanted) do
    if not pcall(function() return lib[sym] end) then return false end
  end
  return true
end

local lib = common.lib
if not has_all(lib) then
  local dir = common.root .. "/" .. common.build .. "/priv"
  local so = dir .. "/libmoonlog_common.so"
  local san = ({ address = "-fsanitize=address,undefined -fno-omit-frame-pointer",
                 thread = "-fsanitize=thread" })[os.getenv("SANITIZE") or ""] or ""
  local cmd = table.concat({
    "cd '" .. common.root .. "' && mkdir -p '" .. dir .. "' &&",
    "cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -fPIC -shared " .. san .. " -Icore -o '" .. so .. "'",
    "core/common/*.c core/storage/log_config.c core/broker/broker_config.c -lzstd -llz4 -lz -lsnappy",
  }, " ")
  local rc = os.execute(cmd)
  assert(rc == 0 or rc == true, "cannot build the private library: " .. cmd)
  lib = ffi.load(so)
end
M.lib = lib

function M.check(rc, e)
  if rc ~= 0 then error("C call failed (" .. tostring(rc) .. "): " .. ffi.string(e.msg), 2) end
end

-- A writer whose buffer is freed with the cdata.
function M.writer()
  local w = ffi.gc(ffi.new("ml_writer[1]"), function(p) lib.ml_writer_free(p) end)
  lib.ml_writer_init(w, 0)
  return w
end

-- Compresses a Lua string: returns the bytes, or nil, rc, message.
function M.compress(codec, s, level)
  local w, e = M.writer(), common.err()
  local rc = lib.ml_codec_compress(codec, level or -1, s, #s, w, e)
  if rc ~= 0 then return nil, rc, ffi.string(e.msg) end
  return ffi.string(w[0].data, w[0].len)
end

-- Decompresses a Lua string (at most max_out bytes, 64 MiB by default): the bytes, or nil, rc, message.
-- `prefix` (optional) is put in the writer first, to check that output is appended.
function M.decompress(codec, s, max_out, prefix)
  local w, e = M.writer(), common.err()
  if prefix then M.check(lib.ml_codec_compress(0, -1, prefix, #prefix, w, e), e) end
  local rc = lib.ml_codec_decompress(codec, s, #s, max_out or 64 * 1048576, w, e)
  if rc ~= 0 then return nil, rc, ffi.string(e.msg), tonumber(w[0].cap) end
  return ffi.string(w[0].data, w[0].len), nil, nil, tonumber(w[0].cap)
end

function M.tmpdir()
  local f = io.popen("mktemp -d /tmp/moonlog-common.XXXXXX")
  local d = f:read("*l")
  f:close()
  return d
end

function M.rmdir(d)
  if d and d:match("^/tmp/moonlog%-common%.") then os.execute("rm -rf '" .. d .. "'") end
end

function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- Runs fn() with the process's stderr (fd 2) sent to a file; returns what was written there
-- and fn's results.
function M.capture_stderr(fn)
  local path = os.tmpname()
  io.stderr:flush()
  local f = ffi.C.fopen(path, "w")
  local saved = ffi.C.dup(2)
  ffi.C.dup2(ffi.C.fileno(f), 2)
  local res = { pcall(fn) }
  ffi.C.dup2(saved, 2)
  ffi.C.close(saved)
  ffi.C.fclose(f)
  local text = M.read_file(path)
  os.remove(path)
  if not res[1] then error(res[2], 2) end
  return text, unpack(res, 2)
end

-- Pseudo-random bytes (xorshift32: the same seed gives the same bytes).
function M.random_bytes(n, seed)
  local buf = ffi.new("uint8_t[?]", n)
  local x = bit.tobit(seed or 12345)
  if x == 0 then x = 1 end
  for i = 0, n - 1 do
    x = bit.bxor(x, bit.lshift(x, 13))
    x = bit.bxor(x, bit.rshift(x, 17))
    x = bit.bxor(x, bit.lshift(x, 5))
    buf[i] = bit.band(x, 0xff)
  end
  return ffi.string(buf, n)
end

-- Output of a shell command fed `input` through a file; nil when the command is missing or fails.
function M.pipe(cmd, input)
  local tool = cmd:match("^(%S+)")
  local found = os.execute("command -v " .. tool .. " >/dev/null 2>&1")
  if found ~= 0 and found ~= true then return nil end
  local inp, outp = os.tmpname(), os.tmpname()
  M.write_file(inp, input)
  local rc = os.execute(cmd .. " < '" .. inp .. "' > '" .. outp .. "' 2>/dev/null")
  local out = M.read_file(outp)
  os.remove(inp)
  os.remove(outp)
  if rc ~= 0 and rc ~= true then return nil end
  return out
end

function M.hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function M.unhex(h)
  return (h:gsub("%s", ""):gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

return M
