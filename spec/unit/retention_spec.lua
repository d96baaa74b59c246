-- Retention: whole oldest segments go by time (largest timestamp) or by size, never the
-- active one; the log start offset moves up; -1 disables; compact-only topics keep everything.
local ffi = require "ffi"
local st = require "storage_ffi"
local lib = st.lib

describe("retention", function()
  local root, pl
  local e = st.common.err()
  before_each(function() root = st.tmpdir() end)
  after_each(function()
    if pl ~= nil then st.close_log(pl) end
    pl = nil
    st.rmdir(root)
  end)

  -- 30 one-record batches, batch i at timestamp 1000*i, in segments of 5 batches.
  local function fill(cfg, name)
    local b1 = st.simple_batch(1, 1000, 50)
    cfg["segment.bytes"] = tostring(#b1 * 5)
    pl = assert(st.open_log(root .. "/" .. (name or "t-0"), st.config(cfg)))
    for i = 1, 30 do assert(st.append(pl, st.simple_batch(1, 1000 * i, 50), 1000 * i)) end
    assert.equal(6, lib.ml_partition_log_segment_count(pl))
    return #b1
  end

  local function bases()
    local t = {}
    for i = 0, lib.ml_partition_log_segment_count(pl) - 1 do t[#t + 1] = tonumber(lib.ml_partition_log_segment_base(pl, i)) end
    return t
  end

  it("deletes segments whose largest timestamp is older than retention.ms", function()
    fill({ ["retention.ms"] = "10000" })
    -- at now = 22000: segments [0..4] (max ts 5000) and [5..9] (10000) are older than 10 s,
    -- [10..14] (15000) is not
    assert.equal(2, lib.ml_retention_expired_segments(pl, 20001))
    assert.equal(2, lib.ml_retention_run(pl, 22000, e))
    assert.same({ 10, 15, 20, 25 }, bases())
    assert.equal(10, tonumber(lib.ml_partition_log_start_offset(pl)))
    assert.is_false(st.exists(root .. "/t-0/" .. st.seg_name(0, ".log")))
    assert.is_false(st.exists(root .. "/t-0/" .. st.seg_name(5, ".index")))
    local _, rc = st.read(pl, 9)
    assert.equal(st.ERANGE, rc)
    assert.equal(10, st.batches((st.read(pl, 10, 1)))[1].base_offset)
    -- far in the future everything expires except the active segment
    assert.equal(3, lib.ml_retention_run(pl, 1e9, e))
    assert.same({ 25 }, bases())
    assert.equal(25, tonumber(lib.ml_partition_log_start_offset(pl)))
    assert.equal(30, tonumber(lib.ml_partition_log_end_offset(pl)))
  end)

  it("deletes the oldest segments while the rest still reaches retention.bytes", function()
    local bsize = fill({ ["retention.bytes"] = "0", ["retention.ms"] = "-1" })
    st.close_log(pl)
    pl = nil
    pl = assert(st.open_log(root .. "/t-0", st.config({ ["segment.bytes"] = tostring(bsize * 5),
      ["retention.bytes"] = tostring(bsize * 12), ["retention.ms"] = "-1" })))
    -- 30 batches: deleting 3 segments leaves 15 batches >= 12, deleting a 4th would leave 10 < 12
    assert.equal(3, lib.ml_retention_run(pl, 1e12, e))
    assert.same({ 15, 20, 25 }, bases())
    assert.equal(15 * bsize, tonumber(lib.ml_partition_log_size(pl)))
    assert.equal(0, lib.ml_retention_run(pl, 1e12, e))
  end)

  it("keeps everything when both limits are -1 or the policy is compact only", function()
    fill({ ["retention.ms"] = "-1", ["retention.bytes"] = "-1" })
    assert.equal(0, lib.ml_retention_run(pl, 1e12, e))
    assert.equal(6, lib.ml_partition_log_segment_count(pl))
    st.close_log(pl)
    pl = nil
    fill({ ["retention.ms"] = "1", ["retention.bytes"] = "1", ["cleanup.policy"] = "compact" }, "c-0")
    assert.equal(0, lib.ml_retention_run(pl, 1e12, e))
    assert.equal(6, lib.ml_partition_log_segment_count(pl))
  end)

  it("runs from the log manager and keeps the log start offset across a restart", function()
    local dirs = ffi.new("const char *[1]", { root .. "/logs" })
    local pp = ffi.new("ml_log_manager *[1]")
    st.check(lib.ml_log_manager_open(dirs, 1, st.config({}), 0, pp, e), e)
    local lm = pp[0]
    local bsize = #st.simple_batch(1, 1000, 50)
    local names = ffi.new("const char *[2]", { "segment.bytes", "retention.ms" })
    local values = ffi.new("const char *[2]", { tostring(bsize * 5), "10000" })
    st.check(lib.ml_log_manager_create_topic(lm, "old-data", 2, names, values, 2, 0, e), e)
    local p0 = lib.ml_log_manager_get(lm, "old-data", 0)
    for i = 1, 30 do st.append(p0, st.simple_batch(1, 1000 * i, 50), 1000 * i) end
    lib.ml_log_manager_set_intervals(lm, 5000, 1000, 60000)
    st.check(lib.ml_log_manager_tick(lm, 4000, e), e) -- not due yet
    assert.equal(6, lib.ml_partition_log_segment_count(p0))
    st.check(lib.ml_log_manager_tick(lm, 26000, e), e)
    assert.equal(3, lib.ml_partition_log_segment_count(p0))
    assert.equal(15, tonumber(lib.ml_partition_log_start_offset(p0)))
    st.check(lib.ml_log_manager_close(lm, 0, e), e)
    assert.truthy(st.read_file(root .. "/logs/log-start-offset-checkpoint"):find("old%-data 0 15\n"))
    st.check(lib.ml_log_manager_open(dirs, 1, st.config({}), 0, pp, e), e)
    lm = pp[0]
    p0 = lib.ml_log_manager_get(lm, "old-data", 0)
    assert.equal(15, tonumber(lib.ml_partition_log_start_offset(p0)))
    assert.equal(30, tonumber(lib.ml_partition_log_end_offset(p0)))
    st.check(lib.ml_log_manager_close(lm, 0, e), e)
  end)
end)
