-- FFI declarations of RecordBatch v2 (core/proto/record_batch.h) and the storage engine
-- (core/storage/*.h), plus small helpers the storage specs share.
local ffi = require "ffi"
local common = require "ffi_common"

ffi.cdef [[
typedef struct ml_record_batch_hdr {
  int64_t base_offset; int32_t batch_length; int32_t partition_leader_epoch; int8_t magic; uint32_t crc;
  int16_t attributes; int32_t last_offset_delta; int64_t base_timestamp; int64_t max_timestamp;
  int64_t producer_id; int16_t producer_epoch; int32_t base_sequence; int32_t record_count;
} ml_record_batch_hdr;
typedef struct ml_record_batch_iter { const uint8_t *buf; size_t len; size_t pos; } ml_record_batch_iter;
typedef struct ml_record_header_in { const uint8_t *key; int32_t key_len; const uint8_t *value; int32_t value_len; } ml_record_header_in;
typedef struct ml_record_in {
  const uint8_t *key; int32_t key_len; const uint8_t *value; int32_t value_len; int64_t timestamp;
  const ml_record_header_in *headers; int32_t n_headers;
} ml_record_in;
typedef struct ml_record {
  int8_t attributes; int64_t offset; int64_t timestamp; ml_slice key; ml_slice value; int32_t n_headers; ml_slice headers;
} ml_record;
typedef struct ml_record_iter { ml_reader r; ml_record_batch_hdr hdr; int32_t left; } ml_record_iter;

int ml_record_batch_parse_header(const uint8_t *p, size_t len, ml_record_batch_hdr *out, ml_err *err);
int ml_record_batch_parse(const uint8_t *p, size_t len, ml_record_batch_hdr *out, ml_err *err);
void ml_record_batch_iter_init(ml_record_batch_iter *it, const uint8_t *buf, size_t len);
int ml_record_batch_iter_next(ml_record_batch_iter *it, const uint8_t **batch, ml_record_batch_hdr *out, ml_err *err);
void ml_record_batch_set_base_offset(uint8_t *batch, int64_t base_offset);
void ml_record_batch_set_leader_epoch(uint8_t *batch, int32_t epoch);
void ml_record_batch_set_log_append_time(uint8_t *batch, size_t size, int64_t now_ms);
void ml_record_batch_update_crc(uint8_t *batch, size_t size);
int ml_record_batch_build(ml_writer *w, int64_t base_offset, int64_t base_ts, const ml_record_in *recs, int n, ml_err *err);
int ml_record_iter_init(ml_record_iter *it, const uint8_t *batch, size_t len, ml_err *err);
int ml_record_iter_next(ml_record_iter *it, ml_record *out, ml_err *err);
int ml_record_header_next(ml_reader *r, ml_slice *key, ml_slice *value, ml_err *err);

typedef struct ml_log_config {
  int64_t segment_bytes; int64_t segment_ms; int64_t retention_ms; int64_t retention_bytes;
  int32_t message_timestamp_type; int32_t cleanup_policy; int32_t min_insync_replicas; int32_t compression_type;
  int32_t max_message_bytes; int32_t index_interval_bytes; int64_t flush_messages; int64_t flush_ms;
  int32_t segment_index_bytes; int32_t unclean_leader_election; int64_t delete_retention_ms;
} ml_log_config;
void ml_log_config_defaults(ml_log_config *c);
int ml_log_config_set(ml_log_config *c, const char *name, const char *value, ml_err *err);
int ml_log_config_get(const ml_log_config *c, const char *name, char *buf, size_t size, ml_err *err);
const char *ml_log_config_name(int i);

typedef struct ml_segment ml_segment;
typedef struct ml_partition_log ml_partition_log;
typedef struct ml_log_manager ml_log_manager;
typedef struct ml_log_append_info {
  int64_t base_offset; int64_t last_offset; int64_t log_append_time; int64_t max_timestamp; int32_t n_batches; int32_t n_records;
} ml_log_append_info;
typedef struct ml_log_read_range { int fd; int64_t position; int64_t length; int64_t first_offset; int64_t segment_base; } ml_log_read_range;

int ml_segment_create(const char *dir, int64_t base_offset, size_t index_max_bytes, int64_t now_ms, ml_segment **out, ml_err *err);
int ml_segment_open(const char *dir, int64_t base_offset, int active, size_t index_max_bytes, int64_t now_ms, ml_segment **out, ml_err *err);
int ml_segment_append(ml_segment *s, const uint8_t *batches, size_t len, uint32_t index_interval, ml_err *err);
int ml_segment_find_offset(ml_segment *s, int64_t offset, uint32_t *position, ml_record_batch_hdr *h, ml_err *err);
int ml_segment_find_timestamp(ml_segment *s, int64_t ts, uint32_t *position, ml_record_batch_hdr *h, ml_err *err);
int ml_segment_read_end(ml_segment *s, uint32_t start, int64_t max_bytes, uint32_t *end, ml_err *err);
int64_t ml_segment_largest_timestamp(ml_segment *s);
int ml_segment_seal(ml_segment *s, ml_err *err);
int ml_segment_flush(ml_segment *s, ml_err *err);
int ml_segment_close(ml_segment *s, ml_err *err);
int ml_segment_delete(ml_segment *s, ml_err *err);

int ml_partition_dir_parse(const char *name, char *topic, size_t topic_size, int32_t *partition);
int ml_partition_log_open(const char *dir, const ml_log_config *cfg, int64_t recovery_point, int64_t log_start_offset,
                          int clean, int64_t now_ms, ml_partition_log **out, ml_err *err);
int ml_partition_log_close(ml_partition_log *pl, ml_err *err);
int ml_partition_log_delete(ml_partition_log *pl, ml_err *err);
int ml_partition_log_append(ml_partition_log *pl, uint8_t *batches, size_t len, int64_t now_ms, ml_log_append_info *info, ml_err *err);
int ml_partition_log_read(ml_partition_log *pl, int64_t offset, int64_t max_bytes, ml_log_read_range *out, ml_err *err);
int ml_partition_log_offset_for_timestamp(ml_partition_log *pl, int64_t ts, int64_t *offset, int64_t *timestamp, ml_err *err);
int64_t ml_partition_log_start_offset(const ml_partition_log *pl);
int64_t ml_partition_log_end_offset(const ml_partition_log *pl);
int64_t ml_partition_log_recovery_point(const ml_partition_log *pl);
int64_t ml_partition_log_size(const ml_partition_log *pl);
int ml_partition_log_segment_count(const ml_partition_log *pl);
int64_t ml_partition_log_segment_base(const ml_partition_log *pl, int i);
int64_t ml_partition_log_segment_size(const ml_partition_log *pl, int i);
const char *ml_partition_log_topic(const ml_partition_log *pl);
int32_t ml_partition_log_partition(const ml_partition_log *pl);
const char *ml_partition_log_dir(const ml_partition_log *pl);
void ml_partition_log_set_config(ml_partition_log *pl, const ml_log_config *cfg);
void ml_partition_log_set_leader_epoch(ml_partition_log *pl, int32_t epoch);
int ml_partition_log_roll(ml_partition_log *pl, int64_t now_ms, ml_err *err);
int ml_partition_log_flush(ml_partition_log *pl, int64_t now_ms, ml_err *err);
int ml_partition_log_maybe_flush(ml_partition_log *pl, int64_t now_ms, ml_err *err);
int ml_partition_log_truncate_to(ml_partition_log *pl, int64_t offset, ml_err *err);

int ml_retention_expired_segments(ml_partition_log *pl, int64_t now_ms);
int ml_retention_run(ml_partition_log *pl, int64_t now_ms, ml_err *err);

typedef struct ml_checkpoint_entry { char topic[256]; int32_t partition; int64_t offset; } ml_checkpoint_entry;
int ml_checkpoint_write(const char *path, const ml_checkpoint_entry *entries, int n, ml_err *err);
int ml_checkpoint_read(const char *path, ml_checkpoint_entry **entries, int *n, ml_err *err);
void ml_checkpoint_free(ml_checkpoint_entry *entries);
int64_t ml_checkpoint_find(const ml_checkpoint_entry *entries, int n, const char *topic, int32_t partition, int64_t dflt);

int ml_clean_shutdown_exists(const char *log_dir);
int ml_clean_shutdown_write(const char *log_dir, ml_err *err);

int ml_log_manager_open(const char *const *dirs, int n_dirs, const ml_log_config *defaults, int64_t now_ms,
                        ml_log_manager **out, ml_err *err);
int ml_log_manager_close(ml_log_manager *lm, int64_t now_ms, ml_err *err);
void ml_log_manager_set_intervals(ml_log_manager *lm, int64_t retention_check_ms, int64_t flush_check_ms, int64_t checkpoint_ms);
int ml_log_manager_create_topic(ml_log_manager *lm, const char *topic, int32_t partitions, const char *const *names,
                                const char *const *values, int n_configs, int64_t now_ms, ml_err *err);
int ml_log_manager_delete_topic(ml_log_manager *lm, const char *topic, ml_err *err);
int ml_log_manager_add_partitions(ml_log_manager *lm, const char *topic, int32_t total, int64_t now_ms, ml_err *err);
int ml_log_manager_alter_topic_config(ml_log_manager *lm, const char *topic, const char *const *names,
                                      const char *const *values, int n_configs, ml_err *err);
ml_partition_log *ml_log_manager_get(ml_log_manager *lm, const char *topic, int32_t partition);
int32_t ml_log_manager_partition_count(ml_log_manager *lm, const char *topic);
const ml_log_config *ml_log_manager_topic_config(ml_log_manager *lm, const char *topic);
int ml_log_manager_topic_override(ml_log_manager *lm, const char *topic, int i, const char **name, const char **value);
int ml_log_manager_topic_count(const ml_log_manager *lm);
const char *ml_log_manager_topic_name(const ml_log_manager *lm, int i);
int ml_log_manager_tick(ml_log_manager *lm, int64_t now_ms, ml_err *err);
int ml_log_manager_retain(ml_log_manager *lm, int64_t now_ms, ml_err *err);
int ml_log_manager_checkpoint(ml_log_manager *lm, ml_err *err);
int ml_topic_name_valid(const char *topic);
]]

local lib = common.lib
local M = { lib = lib, common = common }

M.OK, M.EINVAL, M.EIO, M.ENOMEM, M.ECORRUPT, M.ENOENT, M.EEXIST, M.ERANGE, M.ETOOBIG = 0, -1, -2, -3, -4, -5, -6, -7, -8

-- Asserts a status of 0, showing the C error message otherwise.
function M.check(rc, e)
  if rc ~= 0 then error("C call failed (" .. tostring(rc) .. "): " .. ffi.string(e.msg), 2) end
end

-- One uncompressed batch built by the C builder, as a Lua string.
-- recs: { {key=, value=, ts=, headers={{k, v}}} }; base_ts defaults to the first record's ts.
function M.batch(recs, base_ts, base_offset)
  local n = #recs
  local arr = ffi.new("ml_record_in[?]", n)
  local keep = {}
  for i, r in ipairs(recs) do
    local c = arr[i - 1]
    if r.key then c.key, c.key_len = r.key, #r.key; keep[#keep + 1] = r.key else c.key_len = -1 end
    if r.value then c.value, c.value_len = r.value, #r.value; keep[#keep + 1] = r.value else c.value_len = -1 end
    c.timestamp = r.ts or base_ts or 0
    if r.headers then
      local h = ffi.new("ml_record_header_in[?]", #r.headers)
      keep[#keep + 1] = h
      for j, kv in ipairs(r.headers) do
        h[j - 1].key, h[j - 1].key_len = kv[1], #kv[1]
        if kv[2] then h[j - 1].value, h[j - 1].value_len = kv[2], #kv[2] else h[j - 1].value_len = -1 end
      end
      c.headers, c.n_headers = h, #r.headers
    end
  end
  local w = ffi.new("ml_writer")
  lib.ml_writer_init(w, 0)
  local e = common.err()
  M.check(lib.ml_record_batch_build(w, base_offset or 0, base_ts or recs[1].ts or 0, arr, n, e), e)
  local s = ffi.string(w.data, w.len)
  lib.ml_writer_free(w)
  return s
end

-- A batch of `n` records with `size`-byte values, all at timestamp `ts`.
function M.simple_batch(n, ts, size)
  local recs = {}
  for i = 1, n do recs[i] = { key = "k" .. i, value = string.rep("v", size or 10), ts = ts } end
  return M.batch(recs, ts)
end

-- A config with Kafka's defaults, then overrides given as { ["segment.bytes"] = "1024" }.
function M.config(overrides)
  local c = ffi.new("ml_log_config")
  lib.ml_log_config_defaults(c)
  local e = common.err()
  for k, v in pairs(overrides or {}) do M.check(lib.ml_log_config_set(c, k, tostring(v), e), e) end
  return c
end

-- Appends a Lua string of batches; returns the append info (raises on error).
function M.append(pl, data, now)
  local buf = ffi.new("uint8_t[?]", #data)
  ffi.copy(buf, data, #data)
  local info = ffi.new("ml_log_append_info")
  local e = common.err()
  local rc = lib.ml_partition_log_append(pl, buf, #data, now or 0, info, e)
  if rc ~= 0 then return nil, rc, ffi.string(e.msg) end
  return info, ffi.string(buf, #data)
end

pcall(ffi.cdef, "long pread(int fd, void *buf, size_t count, long offset);") -- may be declared elsewhere

-- Reads `max_bytes` at `offset`; returns the bytes of the range and the range (or nil, rc, msg).
function M.read(pl, offset, max_bytes)
  local r = ffi.new("ml_log_read_range")
  local e = common.err()
  local rc = lib.ml_partition_log_read(pl, offset, max_bytes or 1048576, r, e)
  if rc ~= 0 then return nil, rc, ffi.string(e.msg) end
  local len = tonumber(r.length)
  if len == 0 then return "", r end
  local buf = ffi.new("uint8_t[?]", len)
  local got = ffi.C.pread(r.fd, buf, len, r.position)
  assert(got == len, "short pread")
  return ffi.string(buf, len), r
end

-- Parses every batch of a string; returns a list of header tables.
function M.batches(s)
  local out = {}
  local it = ffi.new("ml_record_batch_iter")
  lib.ml_record_batch_iter_init(it, s, #s)
  local h = ffi.new("ml_record_batch_hdr")
  local p = ffi.new("const uint8_t *[1]")
  local e = common.err()
  while true do
    local rc = lib.ml_record_batch_iter_next(it, p, h, e)
    if rc == 0 then break end
    M.check(rc < 0 and rc or 0, e)
    out[#out + 1] = {
      base_offset = tonumber(h.base_offset), last_offset = tonumber(h.base_offset) + h.last_offset_delta,
      count = h.record_count, max_timestamp = tonumber(h.max_timestamp), attributes = h.attributes,
      size = h.batch_length + 12, leader_epoch = h.partition_leader_epoch,
    }
  end
  return out
end

-- Records of an uncompressed batch string: { {offset=, timestamp=, key=, value=, headers={{k,v}}} }.
function M.records(batch)
  local it = ffi.new("ml_record_iter")
  local e = common.err()
  M.check(lib.ml_record_iter_init(it, batch, #batch, e), e)
  local rec = ffi.new("ml_record")
  local out = {}
  while true do
    local rc = lib.ml_record_iter_next(it, rec, e)
    if rc == 0 then break end
    M.check(rc < 0 and rc or 0, e)
    local function str(sl) if sl.len < 0 then return nil end return ffi.string(sl.ptr, sl.len) end
    local hdrs = {}
    local r = ffi.new("ml_reader")
    r.start, r.p, r["end"], r.err = rec.headers.ptr, rec.headers.ptr, rec.headers.ptr + rec.headers.len, 0
    local k, v = ffi.new("ml_slice"), ffi.new("ml_slice")
    for _ = 1, rec.n_headers do
      M.check(lib.ml_record_header_next(r, k, v, e), e)
      hdrs[#hdrs + 1] = { str(k), str(v) }
    end
    out[#out + 1] = { offset = tonumber(rec.offset), timestamp = tonumber(rec.timestamp), key = str(rec.key),
                      value = str(rec.value), headers = hdrs }
  end
  return out
end

function M.open_log(dir, cfg, opts)
  opts = opts or {}
  local pp = ffi.new("ml_partition_log *[1]")
  local e = common.err()
  local rc = lib.ml_partition_log_open(dir, cfg, opts.recovery_point or 0, opts.log_start or 0,
                                       opts.clean == false and 0 or 1, opts.now or 0, pp, e)
  if rc ~= 0 then return nil, rc, ffi.string(e.msg) end
  return pp[0]
end

function M.close_log(pl)
  local e = common.err()
  M.check(lib.ml_partition_log_close(pl, e), e)
end

function M.tmpdir()
  local f = io.popen("mktemp -d /tmp/moonlog-storage.XXXXXX")
  local d = f:read("*l")
  f:close()
  return d
end

function M.rmdir(d)
  if d and d:match("^/tmp/moonlog%-storage%.") then os.execute("rm -rf '" .. d .. "'") end
end

function M.file_size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

function M.seg_name(base, suffix)
  return string.format("%020d%s", base, suffix)
end

-- Big-endian u32 at 1-based position `pos` of a string.
function M.u32(s, pos)
  local a, b, c, d = s:byte(pos, pos + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

return M
