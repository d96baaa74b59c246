-- One segment: append, index cadence, offset and timestamp lookups, read ranges, sealing
-- (indexes trimmed to their real size) and reopening.
local ffi = require "ffi"
local st = require "storage_ffi"
local lib = st.lib

local INDEX_MAX = 64 * 1024

describe("segment", function()
  local dir, seg
  local e = st.common.err()

  before_each(function()
    dir = st.tmpdir()
    local pp = ffi.new("ml_segment *[1]")
    st.check(lib.ml_segment_create(dir, 100, INDEX_MAX, 0, pp, e), e)
    seg = pp[0]
  end)

  after_each(function()
    if seg ~= nil then lib.ml_segment_close(seg, e) end
    st.rmdir(dir)
  end)

  -- Appends `n` one-record batches of ~100 bytes; batch i has offset 100+i-1 and ts 1000+10*i.
  local function fill(n)
    local sizes = {}
    for i = 1, n do
      local b = ffi.new("uint8_t[?]", 0)
      local s = st.batch({ { key = "k", value = string.rep("x", 60), ts = 1000 + 10 * i } })
      b = ffi.new("uint8_t[?]", #s)
      ffi.copy(b, s, #s)
      lib.ml_record_batch_set_base_offset(b, 100 + i - 1)
      st.check(lib.ml_segment_append(seg, b, #s, 250, e), e)
      sizes[i] = #s
    end
    return sizes
  end

  local function find(offset)
    local pos, h = ffi.new("uint32_t[1]"), ffi.new("ml_record_batch_hdr")
    local rc = lib.ml_segment_find_offset(seg, offset, pos, h, e)
    return rc, pos[0], tonumber(h.base_offset)
  end

  it("creates the three files named by the base offset in 20 digits", function()
    assert.is_true(st.exists(dir .. "/00000000000000000100.log"))
    assert.is_true(st.exists(dir .. "/00000000000000000100.index"))
    assert.is_true(st.exists(dir .. "/00000000000000000100.timeindex"))
    assert.equal(INDEX_MAX, st.file_size(dir .. "/00000000000000000100.index")) -- preallocated
  end)

  it("writes an index entry after more than index_interval bytes and finds every offset", function()
    local sizes = fill(20)
    local bsize = sizes[1]
    assert.equal(20 * bsize, st.file_size(dir .. "/00000000000000000100.log"))
    for i = 1, 20 do
      local rc, pos, base = find(100 + i - 1)
      assert.equal(0, rc)
      assert.equal((i - 1) * bsize, pos)
      assert.equal(100 + i - 1, base)
    end
    assert.equal(st.ERANGE, (find(120)))
    -- before the segment's first offset: the first batch
    local rc, pos = find(5)
    assert.equal(0, rc)
    assert.equal(0, pos)
    -- Kafka's cadence: before each batch, index it if more than 250 bytes went in since the last entry
    local expected, since = {}, 0
    for i = 1, 20 do
      if since > 250 then expected[#expected + 1] = { i - 1, (i - 1) * bsize }; since = 0 end
      since = since + bsize
    end
    assert.is_true(#expected >= 5)
    -- sealing trims the preallocated index to its entries
    st.check(lib.ml_segment_seal(seg, e), e)
    assert.equal(#expected * 8, st.file_size(dir .. "/00000000000000000100.index"))
    local idx = st.read_file(dir .. "/00000000000000000100.index")
    for k, ent in ipairs(expected) do
      assert.equal(ent[1], st.u32(idx, (k - 1) * 8 + 1)) -- relative offset (base 100)
      assert.equal(ent[2], st.u32(idx, (k - 1) * 8 + 5)) -- position
    end
    -- lookups still work through the read-only mapping
    rc, pos = find(110)
    assert.equal(0, rc)
    assert.equal(10 * bsize, pos)
  end)

  it("finds the first batch at or after a timestamp through the time index", function()
    fill(20)
    local pos, h = ffi.new("uint32_t[1]"), ffi.new("ml_record_batch_hdr")
    for _, case in ipairs({ { 0, 100 }, { 1010, 100 }, { 1011, 101 }, { 1100, 109 }, { 1101, 110 }, { 1200, 119 } }) do
      st.check(lib.ml_segment_find_timestamp(seg, case[1], pos, h, e), e)
      assert.equal(case[2], tonumber(h.base_offset), "ts " .. case[1])
    end
    assert.equal(st.ENOENT, lib.ml_segment_find_timestamp(seg, 1201, pos, h, e))
    assert.equal(1200, tonumber(lib.ml_segment_largest_timestamp(seg)))
    st.check(lib.ml_segment_seal(seg, e), e)
    local ti = st.read_file(dir .. "/00000000000000000100.timeindex")
    -- last entry (added on seal) is the largest timestamp, at the last offset
    assert.equal(1200, st.u32(ti, #ti - 11) * 2 ^ 32 + st.u32(ti, #ti - 7))
    assert.equal(19, st.u32(ti, #ti - 3))
  end)

  it("ends a read on a batch boundary but always returns the whole first batch", function()
    local sizes = fill(10)
    local b = sizes[1]
    local endp = ffi.new("uint32_t[1]")
    st.check(lib.ml_segment_read_end(seg, 0, b * 3 + 5, endp, e), e)
    assert.equal(b * 3, endp[0])
    st.check(lib.ml_segment_read_end(seg, b, 10, endp, e), e)
    assert.equal(2 * b, endp[0])
    st.check(lib.ml_segment_read_end(seg, 2 * b, 1e9, endp, e), e)
    assert.equal(10 * b, endp[0])
  end)

  it("reopens with the same next offset and lookups", function()
    fill(12)
    st.check(lib.ml_segment_close(seg, e), e)
    seg = nil
    local pp = ffi.new("ml_segment *[1]")
    st.check(lib.ml_segment_open(dir, 100, 1, INDEX_MAX, 0, pp, e), e)
    seg = pp[0]
    local rc, _, base = find(111)
    assert.equal(0, rc)
    assert.equal(111, base)
    assert.equal(st.ERANGE, (find(112)))
    assert.equal(1120, tonumber(lib.ml_segment_largest_timestamp(seg)))
  end)

  it("deletes its files", function()
    fill(2)
    st.check(lib.ml_segment_delete(seg, e), e)
    seg = nil
    assert.is_false(st.exists(dir .. "/00000000000000000100.log"))
    assert.is_false(st.exists(dir .. "/00000000000000000100.index"))
    assert.is_false(st.exists(dir .. "/00000000000000000100.timeindex"))
  end)
end)
