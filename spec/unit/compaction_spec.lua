-- Compaction (core/storage/compaction.c): in the sealed segments of a cleanup.policy=compact
-- partition only the last record of each key stays, offsets unchanged; tombstones stay until
-- delete.retention.ms has passed; the active segment, keyless records and other policies are
-- left alone. Then end to end: many commits of one group/partition to `__consumer_offsets`
-- leave one record per key in its sealed segments, and the offset survives a restart.
local ffi = require "ffi"
local st = require "storage_ffi"
local brokers = require "broker"
local wire = require "wire"
local process = require "process"
local lib = st.lib
pcall(ffi.cdef, "void ml_log_set_level(int level);")

ffi.cdef [[
typedef struct ml_compaction_stats {
  int segments_rewritten; int64_t records_removed; int64_t tombstones_removed; int64_t bytes_before; int64_t bytes_after;
} ml_compaction_stats;
int ml_compaction_run(ml_partition_log *pl, int64_t now_ms, ml_compaction_stats *stats, ml_err *err);
int ml_compaction_recover_dir(const char *dir, ml_err *err);
]]

-- Every record of one segment file, in order: { {offset, key, value} }.
local function segment_records(path)
  local data = assert(process.read_file(path), path)
  local out, pos = {}, 1
  for _, h in ipairs(st.batches(data)) do
    local batch = data:sub(pos, pos + h.size - 1)
    pos = pos + h.size
    for _, r in ipairs(st.records(batch)) do out[#out + 1] = { offset = r.offset, key = r.key, value = r.value } end
  end
  return out
end

local function sealed_records(dir, pl)
  local all = {}
  for i = 0, lib.ml_partition_log_segment_count(pl) - 2 do
    local base = tonumber(lib.ml_partition_log_segment_base(pl, i))
    for _, r in ipairs(segment_records(dir .. "/" .. st.seg_name(base, ".log"))) do all[#all + 1] = r end
  end
  return all
end

local function compact(pl, now)
  local stats = ffi.new("ml_compaction_stats")
  local e = st.common.err()
  st.check(lib.ml_compaction_run(pl, now, stats, e), e)
  return stats
end

describe("compaction", function()
  local root, pl, dir
  -- The storage logs each compaction at info level: keep the spec output quiet.
  setup(function() lib.ml_log_set_level(3) end)
  teardown(function() lib.ml_log_set_level(1) end)
  before_each(function()
    root = st.tmpdir()
    dir = root .. "/c-0"
  end)
  after_each(function()
    if pl ~= nil then st.close_log(pl) end
    pl = nil
    st.rmdir(root)
  end)

  -- 40 one-record batches cycling over keys k0..k3 (batch i at ts 1000*i), a keyless record, a
  -- tombstone for k0, then 9 records of key z so the tombstone is sealed too.
  local function fill(policy)
    local one = st.batch({ { key = "k0", value = "v00", ts = 1 } })
    pl = assert(st.open_log(dir, st.config { ["cleanup.policy"] = policy or "compact",
      ["segment.bytes"] = tostring(#one * 4), ["delete.retention.ms"] = "1000" }))
    for i = 1, 40 do
      assert(st.append(pl, st.batch({ { key = "k" .. (i % 4), value = string.format("v%02d", i), ts = 1000 * i } }), 1000 * i))
    end
    assert(st.append(pl, st.batch({ { value = "nokey", ts = 40500 } }), 40500))
    assert(st.append(pl, st.batch({ { key = "k0", ts = 41000 } }), 41000))
    for i = 42, 50 do assert(st.append(pl, st.batch({ { key = "z", value = "z" .. i, ts = 1000 * i } }), 1000 * i)) end
  end

  it("keeps only the last record of each key in the sealed segments, at its own offset", function()
    fill()
    local before = lib.ml_partition_log_segment_count(pl)
    local active_base = tonumber(lib.ml_partition_log_segment_base(pl, before - 1))
    local stats = compact(pl, 41500)
    assert.is_true(stats.segments_rewritten > 0)
    assert.are.equal(before, lib.ml_partition_log_segment_count(pl), "segments keep their base offsets")
    assert.are.equal(active_base, tonumber(lib.ml_partition_log_segment_base(pl, before - 1)))
    assert.are.equal(51, tonumber(lib.ml_partition_log_end_offset(pl)))
    local seen, last = {}, -1
    for _, r in ipairs(sealed_records(dir, pl)) do
      assert.is_true(r.offset > last, "offsets only grow")
      last = r.offset
      if r.key then
        assert.is_nil(seen[r.key], "key " .. r.key .. " appears once")
        seen[r.key] = r
      else
        assert.are.equal("nokey", r.value)
      end
    end
    -- Offsets: batch i holds offset i-1; the keyless record is 40, the tombstone 41.
    assert.are.same({ offset = 38, key = "k3", value = "v39" }, seen.k3)
    assert.are.same({ offset = 37, key = "k2", value = "v38" }, seen.k2)
    assert.are.same({ offset = 36, key = "k1", value = "v37" }, seen.k1)
    assert.are.same({ offset = 41, key = "k0" }, seen.k0, "a recent tombstone stays")
    -- Reads across the gaps still work, from any offset.
    local data = st.read(pl, 0, 1048576)
    assert.is_true(#data > 0)
    assert.are.equal(36, st.batches(data)[1].base_offset)
    -- Nothing left to remove: a second run rewrites nothing.
    assert.are.equal(0, compact(pl, 41500).segments_rewritten)
  end)

  it("removes a tombstone once delete.retention.ms has passed, and survives a reopen", function()
    fill()
    compact(pl, 41500)
    local stats = compact(pl, 1e9)
    assert.are.equal(1, tonumber(stats.tombstones_removed))
    for _, r in ipairs(sealed_records(dir, pl)) do assert.are_not.equal("k0", r.key) end
    st.close_log(pl)
    pl = assert(st.open_log(dir, st.config { ["cleanup.policy"] = "compact", ["delete.retention.ms"] = "1000" }))
    assert.are.equal(51, tonumber(lib.ml_partition_log_end_offset(pl)))
    local k3
    for _, r in ipairs(sealed_records(dir, pl)) do if r.key == "k3" then k3 = r end end
    assert.are.same({ offset = 38, key = "k3", value = "v39" }, k3)
  end)

  it("finishes a compaction interrupted after its copy was complete, and drops an unfinished one", function()
    fill()
    compact(pl, 41500)
    local base = tonumber(lib.ml_partition_log_segment_base(pl, 0))
    local name = dir .. "/" .. st.seg_name(base, "")
    st.close_log(pl)
    pl = nil
    local good = assert(process.read_file(name .. ".log"))
    -- The crash: the .swap copy is complete, the segment half rewritten, another copy unfinished.
    process.write_file(name .. ".log.swap", good)
    process.write_file(name .. ".log", good:sub(1, 20))
    local other = dir .. "/" .. st.seg_name(tonumber(base) + 1000, ".log.cleaned")
    process.write_file(other, "partial")
    local e = st.common.err()
    st.check(lib.ml_compaction_recover_dir(dir, e), e)
    assert.are.equal(good, process.read_file(name .. ".log"))
    assert.is_nil(process.read_file(name .. ".log.swap"))
    assert.is_nil(process.read_file(other))
    assert.is_nil(process.read_file(name .. ".index"), "indexes are rebuilt")
    pl = assert(st.open_log(dir, st.config { ["cleanup.policy"] = "compact" }))
    assert.are.equal(51, tonumber(lib.ml_partition_log_end_offset(pl)))
    assert.are.equal(36, st.batches((st.read(pl, 0, 1048576)))[1].base_offset)
  end)

  it("leaves delete-policy topics and the active segment alone", function()
    fill("delete")
    assert.are.equal(0, compact(pl, 1e9).segments_rewritten)
    st.close_log(pl)
    pl = nil
    st.rmdir(root)
    root = st.tmpdir()
    dir = root .. "/c-0"
    pl = assert(st.open_log(dir, st.config { ["cleanup.policy"] = "compact" }))
    for i = 1, 10 do assert(st.append(pl, st.batch({ { key = "same", value = "v" .. i, ts = i } }), i)) end
    assert.are.equal(1, lib.ml_partition_log_segment_count(pl))
    assert.are.equal(0, compact(pl, 1e9).segments_rewritten)
    assert.are.equal(10, #st.batches((st.read(pl, 0, 1048576))))
  end)
end)

describe("compaction of __consumer_offsets", function()
  local b
  setup(function()
    b = brokers.start { overrides = { ["offsets.topic.num.partitions"] = "1", ["log.segment.bytes"] = "4096",
      ["log.retention.check.interval.ms"] = "200" } }
  end)
  teardown(function() if b then b:stop() end end)

  -- OffsetCommit v2 for a group without members (generation -1).
  local function commit(c, group, topic, partition, offset)
    local body = wire.str(group) .. wire.i32(-1) .. wire.str("") .. wire.i64(-1)
      .. wire.array({ 1 }, function()
        return wire.str(topic) .. wire.array({ 1 }, function()
          return wire.i32(partition) .. wire.i64(offset) .. wire.str("m" .. offset)
        end)
      end)
    local r = wire.reader(c:request(8, 2, body))
    return r:array(function(t) t:str(); return t:array(function(p) p:i32(); return p:i16() end)[1] end)[1]
  end

  local function fetch(c, group, topic, partition)
    local body = wire.str(group) .. wire.array({ topic }, function(t) return wire.str(t) .. wire.array({ partition }, wire.i32) end)
    local r = wire.reader(c:request(9, 1, body))
    local out
    r:array(function(t) t:str(); t:array(function(p) p:i32(); out = { p:i64(), p:str(), p:i16() } end) end)
    return out
  end

  it("keeps one record per key in sealed segments after many commits, and the last offset across a restart", function()
    local c = assert(wire.connect("127.0.0.1", b.port))
    for i = 1, 400 do assert.are.equal(0, commit(c, "compacted", "t", i % 2, i)) end
    c:close()
    local pdir = b.dir .. "/data/__consumer_offsets-0"
    process.wait_for("__consumer_offsets-0 to be compacted", 20, function()
      return b:log_text():find("compacted __consumer_offsets-0", 1, true)
    end, 100)
    local logs = {}
    for name in io.popen("ls " .. pdir):lines() do
      if name:match("^%d+%.log$") then logs[#logs + 1] = name end
    end
    table.sort(logs)
    assert.is_true(#logs >= 2, "the topic rolled segments")
    local seen = {}
    for i = 1, #logs - 1 do
      for _, r in ipairs(segment_records(pdir .. "/" .. logs[i])) do
        assert.is_nil(seen[r.key], "one record per key in the sealed segments")
        seen[r.key] = true
      end
    end
    b:restart()
    c = assert(wire.connect("127.0.0.1", b.port))
    assert.are.same({ 400, "m400", 0 }, fetch(c, "compacted", "t", 0))
    assert.are.same({ 399, "m399", 0 }, fetch(c, "compacted", "t", 1))
    c:close()
  end)
end)
