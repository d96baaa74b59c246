-- Recovery after an unclean stop. A crash is simulated by copying a partition directory while
-- its log is open (the active segment's indexes are still preallocated), then damaging the copy
-- and opening it as unclean. Rebuilt indexes are compared byte for byte with those of a log
-- that received exactly the surviving batches and was closed cleanly.
local ffi = require "ffi"
local st = require "storage_ffi"
local lib = st.lib

local CFG = { ["segment.bytes"] = 1500, ["index.interval.bytes"] = 200, ["segment.index.bytes"] = 8192 }

local function batch(i)
  return st.batch({ { key = "k" .. i, value = string.rep("v", 40) .. i, ts = 1000 + i * 10 } })
end

-- A log holding batches 1..n (offsets 0..n-1).
local function make_log(dir, n)
  local pl = assert(st.open_log(dir, st.config(CFG)))
  for i = 1, n do assert(st.append(pl, batch(i))) end
  return pl
end

local function ls(dir)
  local out = {}
  local f = io.popen("ls '" .. dir .. "'")
  for name in f:lines() do out[#out + 1] = name end
  f:close()
  return out
end

describe("recovery", function()
  local root
  local e = st.common.err()
  before_each(function() root = st.tmpdir() end)
  after_each(function() st.rmdir(root) end)

  -- Crash image of a log of n batches in root/crash-0; returns the segment base offsets.
  local function crash_image(n)
    local pl = make_log(root .. "/live-0", n)
    os.execute("cp -r '" .. root .. "/live-0' '" .. root .. "/crash-0'")
    local bases = {}
    for i = 0, lib.ml_partition_log_segment_count(pl) - 1 do bases[#bases + 1] = tonumber(lib.ml_partition_log_segment_base(pl, i)) end
    st.close_log(pl)
    return bases
  end

  -- Indexes of a cleanly closed log of the first k batches, for comparison.
  local function reference(k)
    st.close_log(make_log(root .. "/ref-0", k))
    return root .. "/ref-0"
  end

  local function same_files(a, b)
    local la, lb = ls(a), ls(b)
    assert.same(la, lb)
    for _, name in ipairs(la) do
      assert.equal(st.read_file(a .. "/" .. name), st.read_file(b .. "/" .. name), name)
    end
  end

  local function check_batches(pl, n)
    assert.equal(n, tonumber(lib.ml_partition_log_end_offset(pl)))
    for off = 0, n - 1 do
      local data = assert(st.read(pl, off, 1))
      local r = st.records(data)[1]
      assert.equal("k" .. off + 1, r.key)
      assert.equal(1000 + (off + 1) * 10, r.timestamp)
    end
  end

  it("truncates a torn tail at the last whole batch and rebuilds the indexes", function()
    local bases = crash_image(45)
    assert.is_true(#bases >= 3)
    assert.is_true(45 - bases[#bases] >= 3) -- the torn batch is not the segment's only one
    local last = root .. "/crash-0/" .. st.seg_name(bases[#bases], ".log")
    local size = st.file_size(last)
    local blen = #batch(45)
    st.write_file(last, st.read_file(last):sub(1, size - 7)) -- half-written last batch
    assert.equal(8192, st.file_size(root .. "/crash-0/" .. st.seg_name(bases[#bases], ".index")))
    local pl = assert(st.open_log(root .. "/crash-0", st.config(CFG), { clean = false, recovery_point = 0 }))
    check_batches(pl, 44)
    assert.equal(size - blen, st.file_size(last))
    -- appends continue from the recovered end
    assert.equal(44, tonumber(st.append(pl, batch(45)).base_offset))
    st.close_log(pl)
    -- the rebuilt indexes equal those of a clean log of the same batches
    same_files(root .. "/crash-0", reference(45))
  end)

  it("truncates at a bit-flipped batch in the middle of the last segment", function()
    local bases = crash_image(45)
    local last = root .. "/crash-0/" .. st.seg_name(bases[#bases], ".log")
    local data = st.read_file(last)
    local blen = #batch(45)
    local n_in_last = 45 - bases[#bases]
    assert.is_true(n_in_last >= 3)
    -- flip a bit inside the value of the second batch of the last segment
    local pos = blen + 80
    st.write_file(last, data:sub(1, pos - 1) .. string.char(bit.bxor(data:byte(pos), 0x10)) .. data:sub(pos + 1))
    local pl = assert(st.open_log(root .. "/crash-0", st.config(CFG), { clean = false, recovery_point = bases[#bases] }))
    check_batches(pl, bases[#bases] + 1)
    assert.equal(blen, st.file_size(last))
    st.close_log(pl)
    same_files(root .. "/crash-0", reference(bases[#bases] + 1))
  end)

  for _, case in ipairs({ { "length", 9, "\127\255\255\255" }, { "base offset (outside the CRC)", 5, "\0\0\1\0" } }) do
    it("deletes the segments after one whose " .. case[1] .. " is corrupted", function()
      local bases = crash_image(45)
      local seg2 = root .. "/crash-0/" .. st.seg_name(bases[2], ".log")
      local data = st.read_file(seg2)
      -- the third batch of the second segment
      local pos = #batch(bases[2] + 1) + #batch(bases[2] + 2) + case[2]
      st.write_file(seg2, data:sub(1, pos - 1) .. case[3] .. data:sub(pos + 4))
      local pl = assert(st.open_log(root .. "/crash-0", st.config(CFG), { clean = false, recovery_point = 0 }))
      assert.equal(2, lib.ml_partition_log_segment_count(pl))
      check_batches(pl, bases[2] + 2)
      assert.is_false(st.exists(root .. "/crash-0/" .. st.seg_name(bases[3], ".log")))
      st.close_log(pl)
      same_files(root .. "/crash-0", reference(bases[2] + 2))
    end)
  end

  it("rebuilds a missing index even after a clean stop, and skips the scan otherwise", function()
    local pl = make_log(root .. "/t-0", 40)
    local b0 = tonumber(lib.ml_partition_log_segment_base(pl, 0))
    local b_last = tonumber(lib.ml_partition_log_segment_base(pl, lib.ml_partition_log_segment_count(pl) - 1))
    st.close_log(pl)
    local idx = root .. "/t-0/" .. st.seg_name(b0, ".index")
    local want = st.read_file(idx)
    assert.is_true(#want > 0)
    os.remove(idx)
    -- a bit flip in the last batch's value: a clean open does not scan, so it stays
    local last = root .. "/t-0/" .. st.seg_name(b_last, ".log")
    local data = st.read_file(last)
    st.write_file(last, data:sub(1, #data - 3) .. string.char(bit.bxor(data:byte(#data - 2), 1)) .. data:sub(#data - 1))
    pl = assert(st.open_log(root .. "/t-0", st.config(CFG), { clean = true, recovery_point = 40 }))
    assert.equal(40, tonumber(lib.ml_partition_log_end_offset(pl)))
    assert.equal(want, st.read_file(idx))
    st.close_log(pl)
    -- the same files opened as unclean from the last segment: the flipped batch goes
    pl = assert(st.open_log(root .. "/t-0", st.config(CFG), { clean = false, recovery_point = b_last }))
    assert.equal(39, tonumber(lib.ml_partition_log_end_offset(pl)))
    st.close_log(pl)
  end)

  it("is driven by the clean shutdown marker and the recovery-point checkpoint in the log manager", function()
    local dirs = ffi.new("const char *[1]", { root .. "/logs" })
    local pp = ffi.new("ml_log_manager *[1]")
    st.check(lib.ml_log_manager_open(dirs, 1, st.config(CFG), 0, pp, e), e)
    local lm = pp[0]
    st.check(lib.ml_log_manager_create_topic(lm, "crash-me", 1, nil, nil, 0, 0, e), e)
    local pl = lib.ml_log_manager_get(lm, "crash-me", 0)
    for i = 1, 30 do st.append(pl, batch(i)) end
    st.check(lib.ml_partition_log_flush(pl, 0, e), e)
    st.check(lib.ml_log_manager_checkpoint(lm, e), e)
    for i = 31, 35 do st.append(pl, batch(i)) end
    -- crash image: no marker, recovery point 30 in the checkpoint
    os.execute("cp -r '" .. root .. "/logs' '" .. root .. "/crashed'")
    st.check(lib.ml_log_manager_close(lm, 0, e), e)
    assert.truthy(st.read_file(root .. "/crashed/recovery-point-offset-checkpoint"):find("crash%-me 0 30\n"))
    assert.is_false(st.exists(root .. "/crashed/.kafka_cleanshutdown"))
    assert.is_true(st.exists(root .. "/logs/.kafka_cleanshutdown"))
    local segdir = root .. "/crashed/crash-me-0"
    local names = ls(segdir)
    local last = segdir .. "/" .. names[#names - 1] -- sorted: .index, .log, .timeindex of the last base
    assert.matches("%.log$", last)
    st.write_file(last, st.read_file(last):sub(1, st.file_size(last) - 1))
    dirs = ffi.new("const char *[1]", { root .. "/crashed" })
    st.check(lib.ml_log_manager_open(dirs, 1, st.config(CFG), 0, pp, e), e)
    lm = pp[0]
    pl = lib.ml_log_manager_get(lm, "crash-me", 0)
    check_batches(pl, 34)
    st.check(lib.ml_log_manager_close(lm, 0, e), e)
  end)
end)
