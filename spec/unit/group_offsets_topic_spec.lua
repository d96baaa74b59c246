-- `__consumer_offsets` record formats and partitioning (core/broker/offsets_topic.c): Kafka's
-- group partition (abs of Java's String.hashCode), the offset commit key v1 / value v3 and the
-- group metadata key v2 / value v0-3, byte for byte, and refusal of what does not decode.
local ffi = require "ffi"
local common = require "ffi_common"
local wire = require "wire"
local lib = common.lib

ffi.cdef [[
typedef struct ml_offsets_key { int kind; ml_slice group; ml_slice topic; int32_t partition; } ml_offsets_key;
typedef struct ml_offsets_commit { int64_t offset; int32_t leader_epoch; ml_slice metadata; int64_t commit_ts; } ml_offsets_commit;
typedef struct ml_offsets_group {
  int16_t version; ml_slice protocol_type; int32_t generation; ml_slice protocol; ml_slice leader; int64_t state_ts;
  int32_t n_members; ml_reader members;
} ml_offsets_group;
typedef struct ml_offsets_member {
  ml_slice member_id; ml_slice instance_id; ml_slice client_id; ml_slice client_host; int32_t rebalance_timeout_ms;
  int32_t session_timeout_ms; ml_slice subscription; ml_slice assignment;
} ml_offsets_member;
int32_t ml_offsets_partition_for(const char *group, int32_t len, int32_t n_partitions);
void ml_offsets_commit_key(ml_writer *w, const char *group, const char *topic, int32_t partition);
void ml_offsets_commit_value(ml_writer *w, int64_t offset, int32_t leader_epoch, const char *metadata, int64_t commit_ts);
void ml_offsets_group_key(ml_writer *w, const char *group);
int ml_offsets_key_decode(ml_slice key, ml_offsets_key *out);
int ml_offsets_commit_decode(ml_slice value, ml_offsets_commit *out);
int ml_offsets_group_decode(ml_slice value, ml_offsets_group *out);
int ml_offsets_member_next(ml_offsets_group *g, ml_offsets_member *out);
]]

local ECORRUPT = -4

local function written(fn, ...)
  local w = ffi.new("ml_writer")
  lib.ml_writer_init(w, 0)
  fn(w, ...)
  local s = ffi.string(w.data, w.len)
  lib.ml_writer_free(w)
  return s
end

local function slice(s)
  local sl = ffi.new("ml_slice")
  if s == nil then sl.len = -1 return sl end
  sl.ptr, sl.len = s, #s
  return sl
end

local function str(sl) if sl.len < 0 then return nil end return ffi.string(sl.ptr, sl.len) end

-- Java's String.hashCode over UTF-16 units, written independently here.
local function java_hash(s)
  local units, i = {}, 1
  while i <= #s do
    local c = s:byte(i)
    local cp, n
    if c < 0x80 then cp, n = c, 0 elseif c < 0xe0 then cp, n = c % 0x20, 1 elseif c < 0xf0 then cp, n = c % 0x10, 2
    else cp, n = c % 0x08, 3 end
    for j = 1, n do cp = cp * 64 + s:byte(i + j) % 64 end
    i = i + n + 1
    if cp >= 0x10000 then
      cp = cp - 0x10000
      units[#units + 1] = 0xd800 + math.floor(cp / 1024)
      units[#units + 1] = 0xdc00 + cp % 1024
    else
      units[#units + 1] = cp
    end
  end
  local h = 0
  for _, u in ipairs(units) do h = (h * 31 + u) % 4294967296 end
  if h >= 2147483648 then h = h - 4294967296 end
  return h
end

local function partition_for(g, n) return lib.ml_offsets_partition_for(g, #g, n) end

describe("__consumer_offsets", function()
  it("puts a group in partition abs(hashCode) % partitions, as Kafka does", function()
    assert.are.equal(3556498 % 50, partition_for("test", 50))
    -- "polygenelubricants".hashCode() is Integer.MIN_VALUE, whose abs Kafka takes as 0.
    assert.are.equal(-2147483648, java_hash("polygenelubricants"))
    assert.are.equal(0, partition_for("polygenelubricants", 7))
    for _, g in ipairs({ "console-consumer-12345", "spec-group", "grüße", "g\240\159\152\128x", string.rep("z", 300) }) do
      local h = java_hash(g)
      local a = h == -2147483648 and 0 or math.abs(h)
      assert.are.equal(a % 50, partition_for(g, 50), g)
    end
  end)

  it("writes offset commit keys v1 and values v3 byte for byte", function()
    assert.are.equal(wire.i16(1) .. wire.str("g") .. wire.str("t") .. wire.i32(3),
      written(lib.ml_offsets_commit_key, "g", "t", 3))
    assert.are.equal(wire.i16(3) .. wire.i64(42) .. wire.i32(-1) .. wire.str("md") .. wire.i64(1700000000000),
      written(lib.ml_offsets_commit_value, 42, -1, "md", 1700000000000))
    assert.are.equal(wire.i16(2) .. wire.str("grp"), written(lib.ml_offsets_group_key, "grp"))
  end)

  it("reads keys and values back, v1 values with their expire timestamp too", function()
    local k = ffi.new("ml_offsets_key")
    assert.are.equal(0, lib.ml_offsets_key_decode(slice(written(lib.ml_offsets_commit_key, "grp", "topic", 7)), k))
    assert.are.same({ 1, "grp", "topic", 7 }, { k.kind, str(k.group), str(k.topic), k.partition })
    assert.are.equal(0, lib.ml_offsets_key_decode(slice(written(lib.ml_offsets_group_key, "grp")), k))
    assert.are.same({ 2, "grp" }, { k.kind, str(k.group) })
    local v = ffi.new("ml_offsets_commit")
    assert.are.equal(0, lib.ml_offsets_commit_decode(slice(written(lib.ml_offsets_commit_value, 9, 4, "m", 5)), v))
    assert.are.same({ 9, 4, "m", 5 }, { tonumber(v.offset), v.leader_epoch, str(v.metadata), tonumber(v.commit_ts) })
    local v1 = wire.i16(1) .. wire.i64(11) .. wire.str("old") .. wire.i64(100) .. wire.i64(200)
    assert.are.equal(0, lib.ml_offsets_commit_decode(slice(v1), v))
    assert.are.same({ 11, -1, "old", 100 }, { tonumber(v.offset), v.leader_epoch, str(v.metadata), tonumber(v.commit_ts) })
  end)

  it("reads group metadata v3 with its members", function()
    local value = wire.i16(3) .. wire.str("consumer") .. wire.i32(4) .. wire.str("range") .. wire.str("m1")
      .. wire.i64(123) .. wire.i32(1) .. wire.str("m1") .. wire.str(nil) .. wire.str("client") .. wire.str("/10.0.0.1")
      .. wire.i32(30000) .. wire.i32(10000) .. wire.bytes("sub") .. wire.bytes("asg")
    local g = ffi.new("ml_offsets_group")
    assert.are.equal(0, lib.ml_offsets_group_decode(slice(value), g))
    assert.are.same({ 3, "consumer", 4, "range", "m1", 123, 1 },
      { g.version, str(g.protocol_type), g.generation, str(g.protocol), str(g.leader), tonumber(g.state_ts), g.n_members })
    local m = ffi.new("ml_offsets_member")
    assert.are.equal(0, lib.ml_offsets_member_next(g, m))
    assert.are.same({ "m1", nil, "client", "/10.0.0.1", 30000, 10000, "sub", "asg" },
      { str(m.member_id), str(m.instance_id), str(m.client_id), str(m.client_host), m.rebalance_timeout_ms,
        m.session_timeout_ms, str(m.subscription), str(m.assignment) })
  end)

  it("refuses unknown versions and short records", function()
    local k = ffi.new("ml_offsets_key")
    assert.are.equal(ECORRUPT, lib.ml_offsets_key_decode(slice(wire.i16(9) .. wire.str("g")), k))
    assert.are.equal(ECORRUPT, lib.ml_offsets_key_decode(slice(wire.i16(1) .. wire.str("g")), k))
    assert.are.equal(ECORRUPT, lib.ml_offsets_key_decode(slice(""), k))
    local v = ffi.new("ml_offsets_commit")
    assert.are.equal(ECORRUPT, lib.ml_offsets_commit_decode(slice(wire.i16(3) .. wire.i64(1)), v))
    assert.are.equal(ECORRUPT, lib.ml_offsets_commit_decode(slice(wire.i16(7) .. string.rep("\0", 30)), v))
    local g = ffi.new("ml_offsets_group")
    assert.are.equal(ECORRUPT, lib.ml_offsets_group_decode(slice(wire.i16(3) .. wire.str("c")), g))
  end)
end)
