-- The `moonlog` Lua module: libmoonlog's producer and plugin host for LuaJIT, through FFI.
--
--   local moonlog = require "moonlog"
--   local p = assert(moonlog.producer { ["bootstrap.servers"] = "127.0.0.1:9092", linger.ms = "5" })
--   p:send { topic = "t", key = "k", value = "v" }                   -- fire-and-forget
--   p:send({ topic = "t", value = "v" }, function(md, err) ... end)  -- callback (md.partition, md.offset)
--   local md, err = p:send_sync { topic = "t", value = "v" }
--   p:flush()            -- sends everything and runs the callbacks of completed records
--   p:close()            -- or p:close(timeout_ms)
--
-- Callbacks run in the calling thread, inside p:poll(), p:flush() and p:close() (and p:send(),
-- which polls when reports are waiting): a LuaJIT state must never be entered from the
-- producer's I/O thread. Functions return the result, or nil and an error table
-- { code, name, retriable, message }.
local ffi = require "ffi"

ffi.cdef [[
typedef struct moonlog_error { int code; int retriable; char name[48]; char message[256]; } moonlog_error;
const char *moonlog_err_name(int code);
typedef struct moonlog_config moonlog_config;
moonlog_config *moonlog_config_new(void);
int moonlog_config_set(moonlog_config *c, const char *key, const char *value, moonlog_error *err);
void moonlog_config_free(moonlog_config *c);
typedef struct moonlog_header { const char *key; const void *value; int32_t value_len; } moonlog_header;
typedef struct moonlog_record {
  const char *topic; int32_t partition; const void *key; int32_t key_len; const void *value; int32_t value_len;
  const moonlog_header *headers; int32_t n_headers; int64_t timestamp;
} moonlog_record;
typedef struct moonlog_record_metadata {
  const char *topic; int32_t partition; int64_t offset; int64_t timestamp; int64_t partitioner_generation;
} moonlog_record_metadata;
typedef struct moonlog_producer moonlog_producer;
int moonlog_producer_new(const moonlog_config *c, moonlog_producer **out, moonlog_error *err);
typedef void (*moonlog_delivery_cb)(const moonlog_record_metadata *md, const moonlog_error *err, void *opaque);
/* declared for completeness: its callback runs on the I/O thread, so Lua uses send_queued */
int moonlog_producer_send(moonlog_producer *p, const moonlog_record *rec, moonlog_delivery_cb cb, void *opaque,
                          moonlog_error *err);
int moonlog_producer_send_sync(moonlog_producer *p, const moonlog_record *rec, moonlog_record_metadata *md, moonlog_error *err);
typedef struct moonlog_delivery {
  uint64_t token; int32_t partition; int64_t offset; int64_t timestamp; int64_t partitioner_generation;
  moonlog_error error;
} moonlog_delivery;
int moonlog_producer_send_queued(moonlog_producer *p, const moonlog_record *rec, uint64_t token, moonlog_error *err);
int moonlog_producer_poll(moonlog_producer *p, moonlog_delivery *out, int max);
int moonlog_producer_flush(moonlog_producer *p, int64_t timeout_ms);
void moonlog_producer_close(moonlog_producer *p);
int moonlog_producer_close_timeout(moonlog_producer *p, int64_t timeout_ms);
int moonlog_producer_stop(moonlog_producer *p, int64_t timeout_ms);
int64_t moonlog_producer_counter(moonlog_producer *p, const char *name);

typedef struct moonlog_plugin moonlog_plugin;
typedef struct moonlog_plugin_options {
  const char *search_path; int unsafe; int64_t timeout_ms; const char *const *config;
} moonlog_plugin_options;
int moonlog_plugin_open(const char *kind, const char *name, const moonlog_plugin_options *opts, moonlog_plugin **out, moonlog_error *err);
void moonlog_plugin_close(moonlog_plugin *pl);
const char *moonlog_plugin_path(const moonlog_plugin *pl);
int64_t moonlog_plugin_generation(moonlog_plugin *pl);
int moonlog_plugin_reload_check(moonlog_plugin *pl, moonlog_error *err);
int64_t moonlog_plugin_counter(moonlog_plugin *pl, const char *name);
int moonlog_plugin_partition(moonlog_plugin *pl, const char *topic, const void *key, int32_t key_len,
                             int32_t value_len, int32_t n_partitions, int32_t *partition, moonlog_error *err);
void moonlog_plugin_batch_full(moonlog_plugin *pl, const char *topic, int32_t partition);
int moonlog_plugin_serialize(moonlog_plugin *pl, const char *topic, const void *value, int32_t value_len,
                             void **out, int32_t *out_len, moonlog_error *err);
int moonlog_plugin_deserialize(moonlog_plugin *pl, const char *topic, const void *bytes, int32_t len, void **out,
                               int32_t *out_len, int32_t *type, moonlog_error *err);
int moonlog_plugin_retry(moonlog_plugin *pl, int attempt, int error_code, int64_t elapsed_ms, const char *topic,
                         int32_t partition, int64_t *retry_after_ms, moonlog_error *err);
int moonlog_plugin_assignor_name(moonlog_plugin *pl, char *out, size_t out_size, moonlog_error *err);
int moonlog_plugin_subscription(moonlog_plugin *pl, const char *const *topics, int n, const void *assignment,
                                int32_t assignment_len, int32_t generation, void **out, int32_t *out_len,
                                moonlog_error *err);
typedef struct moonlog_join_member {
  const char *member_id; const char *group_instance_id; const void *metadata; int32_t metadata_len;
} moonlog_join_member;
int moonlog_plugin_assign(moonlog_plugin *pl, const moonlog_join_member *members, int n, const char *const *topics,
                          const int32_t *counts, int n_topics, void **assignments, int32_t *lens, moonlog_error *err);
int moonlog_plugin_on_assignment(moonlog_plugin *pl, const void *assignment, int32_t len, moonlog_error *err);
int32_t moonlog_murmur2(const void *data, int32_t len);
int32_t moonlog_murmur2_partition(const void *key, int32_t key_len, int32_t n_partitions);
void moonlog_free(void *p);
]]

-- A program that has libmoonlog linked in and its symbols exported (`moonlog run`) is used as it
-- is, through ffi.C: loading libmoonlog.so beside it would give a second copy of the library.
local function linked_in()
  return pcall(function() return ffi.C.moonlog_config_new end)
end

local function load_lib()
  if linked_in() then return ffi.C end
  local explicit = os.getenv("MOONLOG_LIB")
  if explicit then return ffi.load(explicit) end
  local root, build = os.getenv("MOONLOG_ROOT"), os.getenv("MOONLOG_BUILD")
  if root then
    local ok, lib = pcall(ffi.load, root .. "/" .. (build or "build") .. "/libmoonlog.so")
    if ok then return lib end
  end
  -- core/lua/moonlog.lua in a source tree: the library built next to it
  local here = debug.getinfo(1, "S").source:match("^@(.*)/core/lua/[^/]*$")
  if here then
    local ok, lib = pcall(ffi.load, here .. "/" .. (build or "build") .. "/libmoonlog.so")
    if ok then return lib end
  end
  return ffi.load("moonlog")
end

local C = load_lib()
local M = { C = C, API = 1 }

local function errtable(e)
  return { code = e.code, name = ffi.string(e.name), retriable = e.retriable ~= 0, message = ffi.string(e.message) }
end
M.errtable = errtable

-- ---- plugins --------------------------------------------------------------------------------

local Plugin = {}
Plugin.__index = Plugin

-- moonlog.plugin(kind, name_or_path, { search_path =, unsafe =, timeout_ms =, config = {k = v} })
function M.plugin(kind, name, opts)
  opts = opts or {}
  local o = ffi.new("moonlog_plugin_options")
  o.search_path = opts.search_path
  o.unsafe = opts.unsafe and 1 or 0
  o.timeout_ms = opts.timeout_ms or 0
  local keep
  if opts.config then
    local list = {}
    for k, v in pairs(opts.config) do list[#list + 1] = k; list[#list + 1] = tostring(v) end
    keep = ffi.new("const char *[?]", #list + 1)
    for i, s in ipairs(list) do keep[i - 1] = s end
    keep[#list] = nil
    o.config = keep
    M._keep = list -- the strings must outlive the call
  end
  local e = ffi.new("moonlog_error")
  local out = ffi.new("moonlog_plugin *[1]")
  if C.moonlog_plugin_open(kind, name, o, out, e) ~= 0 then return nil, errtable(e) end
  local pl = setmetatable({ ptr = ffi.gc(out[0], C.moonlog_plugin_close), kind = kind, name = name }, Plugin)
  return pl
end

function Plugin:path() return ffi.string(C.moonlog_plugin_path(self.ptr)) end
function Plugin:generation() return tonumber(C.moonlog_plugin_generation(self.ptr)) end
function Plugin:counter(name) return tonumber(C.moonlog_plugin_counter(self.ptr, name)) end

function Plugin:reload_check()
  local e = ffi.new("moonlog_error")
  local rc = C.moonlog_plugin_reload_check(self.ptr, e)
  if rc < 0 then return nil, errtable(e) end
  return rc == 1
end

function Plugin:partition(topic, key, n_partitions, value_size)
  local e = ffi.new("moonlog_error")
  local out = ffi.new("int32_t[1]")
  local rc = C.moonlog_plugin_partition(self.ptr, topic, key, key and #key or -1, value_size or 0, n_partitions, out, e)
  if rc ~= 0 then return nil, errtable(e) end
  return out[0]
end

function Plugin:batch_full(topic, partition) C.moonlog_plugin_batch_full(self.ptr, topic, partition) end

function Plugin:serialize(topic, value)
  local e = ffi.new("moonlog_error")
  local out, len = ffi.new("void *[1]"), ffi.new("int32_t[1]")
  if value ~= nil then value = tostring(value) end
  local rc = C.moonlog_plugin_serialize(self.ptr, topic, value, value and #value or -1, out, len, e)
  if rc ~= 0 then return nil, errtable(e) end
  if len[0] < 0 then return nil end
  local s = ffi.string(out[0], len[0])
  C.moonlog_free(out[0])
  return s
end

-- What a deserializer returned comes through C as bytes with its Lua type (consumer.h's
-- MOONLOG_VALUE_*): the number and boolean ones get their type back here.
local VALUE_NUMBER, VALUE_BOOLEAN = 1, 2
local function typed(s, ty)
  if s == nil then return nil end
  if ty == VALUE_NUMBER then return tonumber(s) end
  if ty == VALUE_BOOLEAN then return s == "true" end
  return s
end

-- deserialize(topic, bytes) -> value (string, number or boolean; nil for nil) | nil, err
function Plugin:deserialize(topic, bytes)
  local e = ffi.new("moonlog_error")
  local out, len, ty = ffi.new("void *[1]"), ffi.new("int32_t[1]"), ffi.new("int32_t[1]")
  local rc = C.moonlog_plugin_deserialize(self.ptr, topic, bytes, bytes and #bytes or -1, out, len, ty, e)
  if rc ~= 0 then return nil, errtable(e) end
  if len[0] < 0 then return nil end
  local s = ffi.string(out[0], len[0])
  C.moonlog_free(out[0])
  return typed(s, ty[0])
end

function Plugin:retry(attempt, code, elapsed_ms, topic, partition)
  local e = ffi.new("moonlog_error")
  local out = ffi.new("int64_t[1]")
  local rc = C.moonlog_plugin_retry(self.ptr, attempt, code, elapsed_ms or 0, topic or "t", partition or 0, out, e)
  if rc ~= 0 then return nil, errtable(e) end
  if out[0] < 0 then return false end
  return tonumber(out[0])
end

-- assignor: the calls a consumer makes, on the bytes of the group protocol.
function Plugin:assignor_name()
  local e, buf = ffi.new("moonlog_error"), ffi.new("char[256]")
  if C.moonlog_plugin_assignor_name(self.ptr, buf, 256, e) ~= 0 then return nil, errtable(e) end
  return ffi.string(buf)
end

local function take(ptr, len)
  local s = ffi.string(ptr, len)
  C.moonlog_free(ptr)
  return s
end

-- The JoinGroup metadata (ConsumerProtocolSubscription bytes) for `topics`, after the member
-- received `assignment` (ConsumerProtocolAssignment bytes or nil) in `generation`.
function Plugin:subscription(topics, assignment, generation)
  local e = ffi.new("moonlog_error")
  local t = ffi.new("const char *[?]", #topics + 1, topics)
  local out, len = ffi.new("void *[1]"), ffi.new("int32_t[1]")
  local rc = C.moonlog_plugin_subscription(self.ptr, t, #topics, assignment, assignment and #assignment or 0,
    generation or -1, out, len, e)
  if rc ~= 0 then return nil, errtable(e) end
  return take(out[0], len[0])
end

-- members: array of { member_id =, group_instance_id = (or nil), metadata = subscription bytes };
-- partitions: { topic = count }. Returns { member_id -> ConsumerProtocolAssignment bytes }.
function Plugin:assign(members, partitions)
  local e = ffi.new("moonlog_error")
  local n = #members
  local mb = ffi.new("moonlog_join_member[?]", math.max(n, 1))
  for i, m in ipairs(members) do
    mb[i - 1].member_id = m.member_id
    mb[i - 1].group_instance_id = m.group_instance_id
    mb[i - 1].metadata = m.metadata
    mb[i - 1].metadata_len = #m.metadata
  end
  local names = {}
  for t in pairs(partitions) do names[#names + 1] = t end
  table.sort(names)
  local topics = ffi.new("const char *[?]", #names + 1, names)
  local counts = ffi.new("int32_t[?]", #names + 1)
  for i, t in ipairs(names) do counts[i - 1] = partitions[t] end
  local out, lens = ffi.new("void *[?]", math.max(n, 1)), ffi.new("int32_t[?]", math.max(n, 1))
  local rc = C.moonlog_plugin_assign(self.ptr, mb, n, topics, counts, #names, out, lens, e)
  if rc ~= 0 then return nil, errtable(e) end
  local res = {}
  for i, m in ipairs(members) do res[m.member_id] = take(out[i - 1], lens[i - 1]) end
  return res
end

function Plugin:on_assignment(assignment)
  local e = ffi.new("moonlog_error")
  if C.moonlog_plugin_on_assignment(self.ptr, assignment, #assignment, e) ~= 0 then return nil, errtable(e) end
  return true
end

function M.murmur2(s) return C.moonlog_murmur2(s, #s) end
function M.murmur2_partition(s, n) return C.moonlog_murmur2_partition(s, #s, n) end

-- ---- producer -------------------------------------------------------------------------------

local Producer = {}
Producer.__index = Producer

-- moonlog.producer{ ["bootstrap.servers"] = "h:p", ... } -> producer | nil, err
function M.producer(config)
  local cfg = C.moonlog_config_new()
  local e = ffi.new("moonlog_error")
  for k, v in pairs(config) do
    if type(v) == "boolean" then v = v and "true" or "false" end
    if C.moonlog_config_set(cfg, k, tostring(v), e) ~= 0 then
      C.moonlog_config_free(cfg)
      return nil, errtable(e)
    end
  end
  local out = ffi.new("moonlog_producer *[1]")
  local rc = C.moonlog_producer_new(cfg, out, e)
  C.moonlog_config_free(cfg)
  if rc ~= 0 then return nil, errtable(e) end
  return setmetatable({ ptr = out[0], pending = {}, next_token = 1, reports = ffi.new("moonlog_delivery[256]"),
                        outstanding = 0 }, Producer)
end

local function fill_record(r, rec)
  local keep = {}
  r.topic = rec.topic
  r.partition = rec.partition or -1
  local key, value = rec.key, rec.value
  if key ~= nil then key = tostring(key) end
  if value ~= nil then value = tostring(value) end
  r.key, r.key_len = key, key and #key or -1
  r.value, r.value_len = value, value and #value or -1
  r.timestamp = rec.timestamp or -1
  if rec.headers then
    -- { name = value, ... } (any order), or an ordered list { { name, value }, { key =, value = }, ... }
    local list = {}
    if rec.headers[1] ~= nil then
      for _, h in ipairs(rec.headers) do
        local k, v = h.key or h[1], h.value
        if v == nil then v = h[2] end
        list[#list + 1] = { tostring(k), v ~= nil and tostring(v) or nil }
      end
    else
      for k, v in pairs(rec.headers) do list[#list + 1] = { tostring(k), v ~= nil and tostring(v) or nil } end
    end
    local h = ffi.new("moonlog_header[?]", #list)
    for i, kv in ipairs(list) do
      h[i - 1].key = kv[1]
      h[i - 1].value = kv[2]
      h[i - 1].value_len = kv[2] and #kv[2] or -1
    end
    r.headers, r.n_headers = h, #list
    keep = { list, h }
  end
  return { key, value, keep }
end

-- send(record [, callback(md, err)]) -> true | nil, err. record: topic, key, value, partition,
-- timestamp, headers = { name = value } or { { name, value }, ... } (ordered, repeatable names).
function Producer:send(rec, cb)
  if not self.ptr then return nil, { code = -105, name = "CLOSED", message = "producer closed" } end
  local r = ffi.new("moonlog_record")
  local keep = fill_record(r, rec)
  local token = self.next_token
  local e = ffi.new("moonlog_error")
  local rc = C.moonlog_producer_send_queued(self.ptr, r, token, e)
  keep = nil
  if rc ~= 0 then return nil, errtable(e) end
  self.next_token = token + 1
  self.pending[token] = { cb = cb or false, topic = rec.topic }
  self.outstanding = self.outstanding + 1
  if self.outstanding % 1024 == 0 then self:poll() end
  return true
end

-- Runs the callbacks of completed records; returns how many.
function Producer:poll()
  local n, total = 0, 0
  repeat
    n = C.moonlog_producer_poll(self.ptr, self.reports, 256)
    for i = 0, n - 1 do
      local d = self.reports[i]
      local tok = tonumber(d.token)
      local p = self.pending[tok]
      self.pending[tok] = nil
      self.outstanding = self.outstanding - 1
      if p and p.cb then
        local md = { topic = p.topic, partition = d.partition, offset = d.offset, timestamp = d.timestamp,
                     generation = tonumber(d.partitioner_generation) }
        if d.error.code ~= 0 then p.cb(md, errtable(d.error)) else p.cb(md, nil) end
      end
    end
    total = total + n
  until n < 256
  return total
end

function Producer:send_sync(rec)
  local r = ffi.new("moonlog_record")
  local keep = fill_record(r, rec)
  local md, e = ffi.new("moonlog_record_metadata"), ffi.new("moonlog_error")
  local rc = C.moonlog_producer_send_sync(self.ptr, r, md, e)
  keep = nil
  if rc ~= 0 then return nil, errtable(e) end
  return { topic = rec.topic, partition = md.partition, offset = md.offset, timestamp = md.timestamp,
           generation = tonumber(md.partitioner_generation) }
end

function Producer:flush(timeout_ms)
  local rc = C.moonlog_producer_flush(self.ptr, timeout_ms or -1)
  self:poll()
  if rc ~= 0 then return nil, { code = rc, name = ffi.string(C.moonlog_err_name(rc)), message = "flush timed out" } end
  return true
end

local counter_names = { "records.sent", "records.failed", "records.retried", "requests.sent", "plugin.errors",
                        "plugin.timeouts", "plugin.reloads", "plugin.reload.failures", "buffer.used" }

-- A counter by name (see moonlog_producer_counter); after close, its last value.
function Producer:counter(name)
  if not self.ptr then return self.final and self.final[name] end
  return tonumber(C.moonlog_producer_counter(self.ptr, name))
end

-- close([timeout_ms]) -> true | nil, err (TIMED_OUT: some records were failed at the deadline)
function Producer:close(timeout_ms)
  if not self.ptr then return true end
  local rc = C.moonlog_producer_stop(self.ptr, timeout_ms or -1)
  self:poll()
  self.final = {}
  for _, n in ipairs(counter_names) do self.final[n] = tonumber(C.moonlog_producer_counter(self.ptr, n)) end
  C.moonlog_producer_close(self.ptr)
  self.ptr = nil
  if rc ~= 0 then return nil, { code = rc, name = ffi.string(C.moonlog_err_name(rc)), message = "close timed out" } end
  return true
end

-- ---- consumer -------------------------------------------------------------------------------
--
--   local c = assert(moonlog.consumer { ["bootstrap.servers"] = "h:p", ["auto.offset.reset"] = "earliest" })
--   assert(c:assign { { topic = "t", partition = 0 }, ... })   -- or, with group.id: c:subscribe { "t" }
--   local recs, err = c:poll(1000)   -- a list of { topic, partition, offset, timestamp, timestamp_type,
--                                    --   key, value, headers = { {key, value}, ... } }
--   c:seek("t", 0, 42); c:seek_to_beginning(); c:seek_to_end { { topic = "t", partition = 0 } }
--   for msg in c:messages(1000) do ... end   -- the same records one by one; ends after 1 s without any
--   local off = c:position("t", 0)   -- int64 cdata
--   c:commit_sync(); c:commit_async { { topic = "t", partition = 0, offset = 42 } }  -- with group.id
--   local offs = c:committed { { topic = "t", partition = 0 } }                     -- { int64 | -1 }
--   c:commit_async(list, function(err, offsets) ... end)  -- outcome, in commit order (see below)
--   c:pause { { topic = "t", partition = 1 } }; c:resume { ... }; c:paused()
--   for msg in c:messages(1000) do ... end    -- until a poll of 1000 ms brings nothing
--   c:close()                        -- commits the positions first with enable.auto.commit
--   c:subscribe({ "t" }, { on_partitions_revoked = function(consumer, partitions) ... end,
--                         on_partitions_assigned = ..., on_partitions_lost = ... })
-- Offsets and timestamps are int64 cdata (never doubles). A consumer is used from one thread.
-- With key.deserializer / value.deserializer, key and value are what the plugin's deserialize
-- returned: a string, a number or a boolean (HOOKS.md: a table cannot leave the plugin's state).
--
-- Rebalance listeners are called inside c:poll() (and c:subscribe{} and c:close() for revoked),
-- with `consumer` the consumer object itself and partitions a list of { topic =, partition = }.
-- They reach Lua through FFI callbacks from moonlog_consumer_poll, and LuaJIT forbids calling
-- such a C function from a compiled trace: poll, subscribe and close are never compiled
-- (jit.off), which costs one interpreted call per poll, not per record. A listener that raises
-- is reported on stderr and counted (c:listener_errors()); the rebalance goes on.

ffi.cdef [[
typedef struct moonlog_consumer_config moonlog_consumer_config;
moonlog_consumer_config *moonlog_consumer_config_new(void);
int moonlog_consumer_config_set(moonlog_consumer_config *c, const char *key, const char *value, moonlog_error *err);
void moonlog_consumer_config_free(moonlog_consumer_config *c);
typedef struct moonlog_topic_partition { const char *topic; int32_t partition; } moonlog_topic_partition;
typedef struct moonlog_consumer_record {
  const char *topic; int32_t partition; int64_t offset; int64_t timestamp; int32_t timestamp_type;
  const void *key; int32_t key_len; const void *value; int32_t value_len;
  const moonlog_header *headers; int32_t n_headers; int32_t key_type; int32_t value_type;
} moonlog_consumer_record;
typedef struct moonlog_consumer moonlog_consumer;
int moonlog_consumer_new(const moonlog_consumer_config *c, moonlog_consumer **out, moonlog_error *err);
int moonlog_consumer_assign(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err);
int moonlog_consumer_subscribe(moonlog_consumer *c, const char *const *topics, int n, moonlog_error *err);
int moonlog_consumer_subscribe_pattern(moonlog_consumer *c, const char *pattern, moonlog_error *err);
int moonlog_consumer_assignment(moonlog_consumer *c, moonlog_topic_partition *out, int max, moonlog_error *err);
int moonlog_consumer_poll(moonlog_consumer *c, int64_t timeout_ms, const moonlog_consumer_record **out,
                          int32_t *count, moonlog_error *err);
int moonlog_consumer_seek(moonlog_consumer *c, const char *topic, int32_t partition, int64_t offset, moonlog_error *err);
int moonlog_consumer_seek_to_beginning(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err);
int moonlog_consumer_seek_to_end(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err);
int moonlog_consumer_position(moonlog_consumer *c, const char *topic, int32_t partition, int64_t timeout_ms,
                              int64_t *offset, moonlog_error *err);
typedef struct moonlog_topic_partition_offset { const char *topic; int32_t partition; int64_t offset; } moonlog_topic_partition_offset;
typedef void (*moonlog_commit_cb)(const moonlog_topic_partition_offset *offsets, int n, const moonlog_error *err, void *opaque);
int moonlog_consumer_commit_sync(moonlog_consumer *c, const moonlog_topic_partition_offset *offsets, int n,
                                 int64_t timeout_ms, moonlog_error *err);
/* Lua passes no callback (a LuaJIT state is never entered from C through an FFI callback) */
int moonlog_consumer_commit_async(moonlog_consumer *c, const moonlog_topic_partition_offset *offsets, int n,
                                  moonlog_commit_cb cb, void *opaque, moonlog_error *err);
int moonlog_consumer_committed(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, int64_t *offsets,
                               int64_t timeout_ms, moonlog_error *err);
int moonlog_consumer_close(moonlog_consumer *c, moonlog_error *err);
int64_t moonlog_consumer_counter(moonlog_consumer *c, const char *name);
int moonlog_consumer_failed_record(moonlog_consumer *c, moonlog_topic_partition_offset *out);
int moonlog_consumer_pause(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err);
int moonlog_consumer_resume(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, moonlog_error *err);
int moonlog_consumer_paused(moonlog_consumer *c, moonlog_topic_partition *out, int max, moonlog_error *err);
typedef struct moonlog_commit_queue moonlog_commit_queue;
typedef struct moonlog_commit_outcome {
  const moonlog_topic_partition_offset *offsets; int n; moonlog_error error;
} moonlog_commit_outcome;
moonlog_commit_queue *moonlog_commit_queue_new(void);
void moonlog_commit_queue_cb(const moonlog_topic_partition_offset *offsets, int n, const moonlog_error *err,
                             void *queue);
int moonlog_commit_queue_take(moonlog_commit_queue *q, moonlog_commit_outcome *out, int max);
void moonlog_commit_queue_free(moonlog_commit_queue *q);
typedef void (*moonlog_rebalance_cb)(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, void *opaque);
typedef struct moonlog_rebalance_listener {
  moonlog_rebalance_cb on_partitions_revoked; moonlog_rebalance_cb on_partitions_assigned;
  moonlog_rebalance_cb on_partitions_lost; void *opaque;
} moonlog_rebalance_listener;
int moonlog_consumer_subscribe_with_listener(moonlog_consumer *c, const char *const *topics, int n,
                                             const moonlog_rebalance_listener *listener, moonlog_error *err);
int moonlog_plugin_rebalance(moonlog_plugin *pl, const char *fn, moonlog_consumer *consumer,
                             const moonlog_topic_partition *tps, int n, moonlog_error *err);
]]

local Consumer = {}
Consumer.__index = Consumer
local TS_TYPES = { [0] = "CreateTime", [1] = "LogAppendTime" }

-- moonlog.consumer{ ["bootstrap.servers"] = "h:p", ... } -> consumer | nil, err
function M.consumer(config)
  local cfg = C.moonlog_consumer_config_new()
  local e = ffi.new("moonlog_error")
  for k, v in pairs(config) do
    if type(v) == "boolean" then v = v and "true" or "false" end
    if C.moonlog_consumer_config_set(cfg, k, tostring(v), e) ~= 0 then
      C.moonlog_consumer_config_free(cfg)
      return nil, errtable(e)
    end
  end
  local out = ffi.new("moonlog_consumer *[1]")
  local rc = C.moonlog_consumer_new(cfg, out, e)
  C.moonlog_consumer_config_free(cfg)
  if rc ~= 0 then return nil, errtable(e) end
  -- commit_async outcomes: C queues them (never calls into Lua), the methods below run the
  -- callbacks, oldest first; `async` holds the callback of every commit not yet reported. The
  -- queue is freed after the consumer (whose close may still deliver into it).
  local queue = C.moonlog_commit_queue_new()
  if queue == nil then
    C.moonlog_consumer_close(out[0], nil)
    return nil, { code = -106, name = "INVALID_CONFIG", retriable = false, message = "out of memory" }
  end
  -- a consumer dropped without close() is closed by the GC (its I/O thread must not outlive the library)
  -- st is what the finalizer and the listener callbacks share: never the consumer object itself,
  -- which they would keep alive
  local st = { closing = false, cbs = {}, errors = 0 }
  local ptr = ffi.gc(out[0], function(p)
    st.closing = true
    C.moonlog_consumer_close(p, nil)
    for _, cb in ipairs(st.cbs) do cb:free() end
    C.moonlog_commit_queue_free(queue)
  end)
  return setmetatable({ ptr = ptr, e = e, recs = ffi.new("const moonlog_consumer_record *[1]"),
                        off = ffi.new("int64_t[1]"), count = ffi.new("int32_t[1]"), queue = queue,
                        outcomes = ffi.new("moonlog_commit_outcome[64]"), async = {}, async_head = 1,
                        async_tail = 0, failed = ffi.new("moonlog_topic_partition_offset"), st = st }, Consumer)
end

local function tp_array(list)
  list = list or {}
  local a = ffi.new("moonlog_topic_partition[?]", #list + 1)
  for i, tp in ipairs(list) do
    a[i - 1].topic = tp.topic
    a[i - 1].partition = tp.partition
  end
  return a, #list
end

local function closed() return nil, { code = -105, name = "CLOSED", retriable = false, message = "the consumer is closed" } end

-- assign{ {topic =, partition =}, ... } -> true | nil, err
function Consumer:assign(list)
  if not self.ptr then return closed() end
  local a, n = tp_array(list)
  if C.moonlog_consumer_assign(self.ptr, a, n, self.e) ~= 0 then return nil, errtable(self.e) end
  return true
end

local function tp_list(tps, n)
  local out = {}
  for i = 0, n - 1 do out[i + 1] = { topic = ffi.string(tps[i].topic), partition = tps[i].partition } end
  return out
end

-- The C listener calling the Lua one: three FFI callbacks, kept (and freed) with the consumer.
local function make_listener(self, listener)
  local l = ffi.new("moonlog_rebalance_listener")
  local st, me = self.st, setmetatable({ self }, { __mode = "v" })
  local cbs = {}
  for _, name in ipairs { "on_partitions_revoked", "on_partitions_assigned", "on_partitions_lost" } do
    local fn = listener[name]
    if fn ~= nil and type(fn) ~= "function" then
      for _, cb in ipairs(cbs) do cb:free() end
      return nil, "listener." .. name .. " is not a function"
    end
    if fn ~= nil then
      local cb = ffi.cast("moonlog_rebalance_cb", function(_, tps, n)
        local c = me[1]
        if st.closing or not c then return end -- never back into Lua from a finalizer
        local ok, e = pcall(fn, c, tp_list(tps, n))
        if not ok then
          st.errors = st.errors + 1
          if type(e) == "table" and e.message then e = e.message end -- an error table of this module
          io.stderr:write("moonlog: rebalance listener ", name, " raised: ", tostring(e), "\n")
        end
      end)
      cbs[#cbs + 1] = cb
      l[name] = cb
    end
  end
  return l, cbs
end

-- subscribe({ "topic", ... }[, listener]) -> true | nil, err (needs group.id); subscribe{} unsubscribes.
-- listener: { on_partitions_revoked =, on_partitions_assigned =, on_partitions_lost = }, each
-- optional, each called as fn(consumer, partitions). Without one, the rebalance.listener plugin
-- of the configuration (if any) is the listener.
-- consumer:subscribe{ "t1", "t2" }, or consumer:subscribe{ pattern = "orders[.][0-9]+" } for every
-- topic whose whole name matches a POSIX extended regular expression (see consumer.h); a pattern
-- takes the configuration's rebalance.listener only.
function Consumer:subscribe(topics, listener)
  if not self.ptr then return closed() end
  if topics.pattern then
    if listener ~= nil then
      return nil, { code = -108, name = "INVALID_ARG", retriable = false,
                    message = "subscribe: a pattern takes no listener table (rebalance.listener applies)" }
    end
    if C.moonlog_consumer_subscribe_pattern(self.ptr, topics.pattern, self.e) ~= 0 then return nil, errtable(self.e) end
    return true
  end
  local a = ffi.new("const char *[?]", #topics + 1)
  for i, t in ipairs(topics) do a[i - 1] = t end
  self.sub_keep = topics
  local rc
  if listener ~= nil then
    if type(listener) ~= "table" then
      return nil, { code = -108, name = "INVALID_ARG", retriable = false, message = "subscribe: the listener is not a table" }
    end
    local l, cbs = make_listener(self, listener)
    if not l then return nil, { code = -108, name = "INVALID_ARG", retriable = false, message = "subscribe: " .. cbs } end
    rc = C.moonlog_consumer_subscribe_with_listener(self.ptr, a, #topics, l, self.e)
    -- every callback made stays allocated until close (an earlier listener is one C no longer calls)
    for _, cb in ipairs(cbs) do self.st.cbs[#self.st.cbs + 1] = cb end
  else
    rc = C.moonlog_consumer_subscribe(self.ptr, a, #topics, self.e)
  end
  if rc ~= 0 then return nil, errtable(self.e) end
  return true
end
jit.off(Consumer.subscribe)

-- How many calls of a Lua listener raised.
function Consumer:listener_errors() return self.st.errors end

-- assignment() -> { {topic =, partition =}, ... }
function Consumer:assignment()
  if not self.ptr then return closed() end
  local n = C.moonlog_consumer_assignment(self.ptr, nil, 0, self.e)
  if n < 0 then return nil, errtable(self.e) end
  local a = ffi.new("moonlog_topic_partition[?]", n + 1)
  n = C.moonlog_consumer_assignment(self.ptr, a, n, self.e)
  local out = {}
  for i = 0, n - 1 do out[#out + 1] = { topic = ffi.string(a[i].topic), partition = a[i].partition } end
  return out
end

local function bytes(p, len)
  if len < 0 then return nil end
  return ffi.string(p, len)
end

-- Runs the callbacks of the commit_async calls whose outcome came, in commit order:
-- callback(err, offsets), err nil on success, offsets { {topic =, partition =, offset =}, ... }.
function Consumer:_commit_callbacks()
  repeat
    local n = C.moonlog_commit_queue_take(self.queue, self.outcomes, 64)
    for i = 0, n - 1 do
      local o = self.outcomes[i]
      local cb = self.async[self.async_head]
      self.async[self.async_head] = nil
      self.async_head = self.async_head + 1
      if cb then
        local offsets = {}
        for k = 0, o.n - 1 do
          offsets[k + 1] = { topic = ffi.string(o.offsets[k].topic), partition = o.offsets[k].partition,
                             offset = o.offsets[k].offset }
        end
        cb(o.error.code ~= 0 and errtable(o.error) or nil, offsets)
      end
    end
  until n < 64
end

-- poll([timeout_ms]) -> list of records (maybe empty) | nil, err
-- A record a deserializer failed on gives err.name "DESERIALIZATION" with err.topic,
-- err.partition, err.offset: the position stays there until a seek past it.
function Consumer:poll(timeout_ms)
  if not self.ptr then return closed() end
  local rc = C.moonlog_consumer_poll(self.ptr, timeout_ms or 0, self.recs, self.count, self.e)
  local err
  if rc ~= 0 then
    err = errtable(self.e)
    if C.moonlog_consumer_failed_record(self.ptr, self.failed) == 1 then
      err.topic, err.partition, err.offset = ffi.string(self.failed.topic), self.failed.partition, self.failed.offset
    end
  end
  self:_commit_callbacks()
  if err then return nil, err end
  local n = self.count[0]
  local list, r = {}, self.recs[0]
  for i = 0, n - 1 do
    local x = r[i]
    local headers = {}
    for h = 0, x.n_headers - 1 do
      local hd = x.headers[h]
      headers[h + 1] = { key = ffi.string(hd.key), value = bytes(hd.value, hd.value_len) }
    end
    list[i + 1] = { topic = ffi.string(x.topic), partition = x.partition, offset = x.offset,
                    timestamp = x.timestamp, timestamp_type = TS_TYPES[x.timestamp_type],
                    key = typed(bytes(x.key, x.key_len), x.key_type),
                    value = typed(bytes(x.value, x.value_len), x.value_type), headers = headers }
  end
  return list
end
jit.off(Consumer.poll) -- it may call the listener back (see above)

local poll_error_mt = { __tostring = function(e) return ("poll: %s: %s"):format(e.name, e.message) end }

-- for msg in c:messages([timeout_ms]) do ... end: the records of successive polls, one at a time.
-- The loop ends when a poll waited timeout_ms and got nothing (timeout_ms nil or < 0: it never
-- ends by itself); a poll error is raised as poll's error table (name, message, and for a record
-- that failed topic/partition/offset), which prints as "poll: NAME: message". Positions move as poll's
-- do, a whole poll at a time: after breaking out of the loop at `msg`, the records of that poll
-- not yet returned are skipped unless the partitions are sought back (seek to msg.offset + 1).
function Consumer:messages(timeout_ms)
  local batch, i = {}, 0
  local wait = timeout_ms or -1
  return function()
    i = i + 1
    while batch[i] == nil do
      local recs, err = self:poll(wait < 0 and 1000 or wait)
      -- the error table itself (its fields say which record failed), printing as "poll: NAME: message"
      if not recs then error(setmetatable(err, poll_error_mt), 2) end
      if #recs == 0 and wait >= 0 then return nil end
      batch, i = recs, 1
    end
    return batch[i]
  end
end

-- pause{ {topic =, partition =}, ... } / resume{ ... } -> true | nil, err (NOT_ASSIGNED)
function Consumer:pause(list)
  if not self.ptr then return closed() end
  local a, n = tp_array(list)
  if C.moonlog_consumer_pause(self.ptr, a, n, self.e) ~= 0 then return nil, errtable(self.e) end
  return true
end

function Consumer:resume(list)
  if not self.ptr then return closed() end
  local a, n = tp_array(list)
  if C.moonlog_consumer_resume(self.ptr, a, n, self.e) ~= 0 then return nil, errtable(self.e) end
  return true
end

-- paused() -> { {topic =, partition =}, ... }
function Consumer:paused()
  if not self.ptr then return closed() end
  local n = C.moonlog_consumer_paused(self.ptr, nil, 0, self.e)
  if n < 0 then return nil, errtable(self.e) end
  local a = ffi.new("moonlog_topic_partition[?]", n + 1)
  n = C.moonlog_consumer_paused(self.ptr, a, n, self.e)
  local out = {}
  for i = 0, n - 1 do out[#out + 1] = { topic = ffi.string(a[i].topic), partition = a[i].partition } end
  return out
end

function Consumer:seek(topic, partition, offset)
  if not self.ptr then return closed() end
  if C.moonlog_consumer_seek(self.ptr, topic, partition, offset, self.e) ~= 0 then return nil, errtable(self.e) end
  return true
end

-- seek_to_beginning([list]) / seek_to_end([list]): nil or {} means every assigned partition
function Consumer:seek_to_beginning(list)
  if not self.ptr then return closed() end
  local a, n = tp_array(list)
  if C.moonlog_consumer_seek_to_beginning(self.ptr, a, n, self.e) ~= 0 then return nil, errtable(self.e) end
  return true
end

function Consumer:seek_to_end(list)
  if not self.ptr then return closed() end
  local a, n = tp_array(list)
  if C.moonlog_consumer_seek_to_end(self.ptr, a, n, self.e) ~= 0 then return nil, errtable(self.e) end
  return true
end

-- position(topic, partition[, timeout_ms]) -> int64 cdata | nil, err
function Consumer:position(topic, partition, timeout_ms)
  if not self.ptr then return closed() end
  if C.moonlog_consumer_position(self.ptr, topic, partition, timeout_ms or 30000, self.off, self.e) ~= 0 then
    return nil, errtable(self.e)
  end
  return self.off[0]
end

local function tpo_array(list)
  list = list or {}
  local a = ffi.new("moonlog_topic_partition_offset[?]", #list + 1)
  for i, x in ipairs(list) do
    a[i - 1].topic = x.topic
    a[i - 1].partition = x.partition
    a[i - 1].offset = x.offset
  end
  return a, #list
end

-- commit_sync([{ {topic =, partition =, offset =}, ... }][, timeout_ms]) -> true | nil, err
-- Without a list: the position of every assigned partition.
function Consumer:commit_sync(list, timeout_ms)
  if not self.ptr then return closed() end
  local a, n = tpo_array(list)
  local rc = C.moonlog_consumer_commit_sync(self.ptr, a, n, timeout_ms or 60000, self.e)
  local err = rc ~= 0 and errtable(self.e) or nil
  self:_commit_callbacks()
  if err then return nil, err end
  return true
end

-- commit_async([list][, callback(err, offsets)]) -> true | nil, err: sent in order, never
-- retried; the callback runs inside a later poll, commit_sync, committed or close of this
-- consumer, in commit order (offsets: what was committed; err nil on success).
function Consumer:commit_async(list, callback)
  if not self.ptr then return closed() end
  local a, n = tpo_array(list)
  if C.moonlog_consumer_commit_async(self.ptr, a, n, C.moonlog_commit_queue_cb, self.queue, self.e) ~= 0 then
    return nil, errtable(self.e)
  end
  self.async_tail = self.async_tail + 1
  self.async[self.async_tail] = callback or false
  return true
end

-- committed{ {topic =, partition =}, ... } -> { int64 offset or -1, ... } | nil, err
function Consumer:committed(list, timeout_ms)
  if not self.ptr then return closed() end
  local a, n = tp_array(list)
  local offs = ffi.new("int64_t[?]", n + 1)
  local rc = C.moonlog_consumer_committed(self.ptr, a, n, offs, timeout_ms or 60000, self.e)
  local err = rc ~= 0 and errtable(self.e) or nil
  self:_commit_callbacks()
  if err then return nil, err end
  local out = {}
  for i = 1, n do out[i] = offs[i - 1] end
  return out
end

-- plugin:rebalance(fn, consumer, partitions): calls a rebalance_listener's function as a consumer
-- does ("on_partitions_revoked", ...), its `consumer` table reaching `consumer` -> true | nil, err
function Plugin:rebalance(fn, consumer, partitions)
  local a, n = tp_array(partitions)
  if C.moonlog_plugin_rebalance(self.ptr, fn, consumer.ptr, a, n, consumer.e) ~= 0 then
    return nil, errtable(consumer.e)
  end
  return true
end

function Consumer:counter(name)
  if not self.ptr then return nil end
  return tonumber(C.moonlog_consumer_counter(self.ptr, name))
end

function Consumer:close()
  if not self.ptr then return true end
  local ptr = ffi.gc(self.ptr, nil)
  -- the consumer is freed even when the final commit failed; self.ptr stays set meanwhile, so
  -- that on_partitions_revoked (called by close) can commit through it
  local rc = C.moonlog_consumer_close(ptr, self.e)
  self.ptr = nil
  self.ptr = nil
  local err = rc ~= 0 and errtable(self.e) or nil
  for _, cb in ipairs(self.st.cbs) do cb:free() end
  self.st.cbs = {}
  local ok, cb_err = pcall(self._commit_callbacks, self) -- the queue outlives the consumer
  C.moonlog_commit_queue_free(self.queue)
  self.queue = nil
  if not ok then error(cb_err, 0) end -- a callback's error, once the queue is freed
  if err then return nil, err end
  return true
end
jit.off(Consumer.close)

return M
