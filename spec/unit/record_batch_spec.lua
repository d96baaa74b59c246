-- RecordBatch v2 header codec: parse and validation, iteration over concatenated batches,
-- in-place rewrites, LogAppendTime, and the builder (checked against the spec support's own
-- independent Lua encoder in wire.lua).
local ffi = require "ffi"
local st = require "storage_ffi"
local wire = require "wire"
local lib = st.lib

local function parse(s, full)
  local h = ffi.new("ml_record_batch_hdr")
  local e = st.common.err()
  local rc = (full == false and lib.ml_record_batch_parse_header or lib.ml_record_batch_parse)(s, #s, h, e)
  return rc, h, ffi.string(e.msg)
end

local function mutable(s)
  local buf = ffi.new("uint8_t[?]", #s)
  ffi.copy(buf, s, #s)
  return buf
end

-- Flips one bit of byte `pos` (1-based).
local function flip(s, pos)
  return s:sub(1, pos - 1) .. string.char(bit.bxor(s:byte(pos), 1)) .. s:sub(pos + 1)
end

describe("record_batch", function()
  local recs = {
    { key = "k1", value = "hello", ts = 1000, headers = { { "h", "x" }, { "n", nil } } },
    { key = nil, value = "world", ts = 1005 },
    { key = "k3", value = nil, ts = 999 },
  }

  it("builds a batch the Lua encoder agrees with, and parses its header", function()
    local b = st.batch(recs, 1000)
    local rc, h = parse(b)
    assert.equal(0, rc)
    assert.equal(#b, h.batch_length + 12)
    assert.equal(2, h.magic)
    assert.equal(3, h.record_count)
    assert.equal(2, h.last_offset_delta)
    assert.equal(1000, tonumber(h.base_timestamp))
    assert.equal(1005, tonumber(h.max_timestamp))
    assert.equal(-1, tonumber(h.producer_id))
    assert.equal(-1, h.producer_epoch)
    assert.equal(-1, h.base_sequence)
    assert.equal(0, h.attributes)
    -- wire.record_batch is an independent encoder (same fields, PLE 0 vs our -1: patch it)
    local lua = wire.record_batch(recs, 1000)
    assert.equal(#lua, #b)
    assert.equal(lua:sub(17), b:sub(17))
  end)

  it("reads the records back: keys, values, nulls, headers, offsets, timestamps", function()
    local b = mutable(st.batch(recs, 1000))
    lib.ml_record_batch_set_base_offset(b, 42)
    local got = st.records(ffi.string(b, ffi.sizeof(b)))
    assert.equal(3, #got)
    assert.same({ offset = 42, timestamp = 1000, key = "k1", value = "hello", headers = { { "h", "x" }, { "n", nil } } }, got[1])
    assert.same({ offset = 43, timestamp = 1005, key = nil, value = "world", headers = {} }, got[2])
    assert.same({ offset = 44, timestamp = 999, key = "k3", value = nil, headers = {} }, got[3])
  end)

  it("rejects a bad CRC, a bad magic, a short buffer and a bad lastOffsetDelta", function()
    local b = st.batch(recs, 1000)
    assert.equal(0, (parse(b)))
    local rc, _, msg = parse(flip(b, #b))
    assert.equal(st.ECORRUPT, rc)
    assert.matches("CRC", msg)
    rc = parse(b:sub(1, 16) .. "\1" .. b:sub(18))
    assert.equal(st.ECORRUPT, rc)
    rc, _, msg = parse(b:sub(1, #b - 1))
    assert.equal(st.ECORRUPT, rc)
    assert.matches("past", msg)
    assert.equal(st.ECORRUPT, (parse(b:sub(1, 30))))
    -- lastOffsetDelta 5 with 3 records (CRC recomputed so only the count check can fail)
    local m = mutable(b:sub(1, 23) .. wire.i32(5) .. b:sub(28))
    lib.ml_record_batch_update_crc(m, #b)
    rc, _, msg = parse(ffi.string(m, #b))
    assert.equal(st.ECORRUPT, rc)
    assert.matches("lastOffsetDelta", msg)
    -- header-only parse ignores the CRC but still checks the header
    assert.equal(0, (parse(flip(b, #b), false)))
  end)

  it("does not count baseOffset or the leader epoch in the CRC", function()
    local b = st.batch(recs, 1000)
    local m = mutable(b)
    lib.ml_record_batch_set_base_offset(m, 123456789012)
    lib.ml_record_batch_set_leader_epoch(m, 7)
    local rc, h = parse(ffi.string(m, #b))
    assert.equal(0, rc)
    assert.equal(123456789012, tonumber(h.base_offset))
    assert.equal(7, h.partition_leader_epoch)
    assert.equal(st.u32(b, 18), tonumber(h.crc))
  end)

  it("stamps LogAppendTime: attribute bit 3, maxTimestamp = broker time, new CRC", function()
    local b = st.batch(recs, 1000)
    local m = mutable(b)
    lib.ml_record_batch_set_log_append_time(m, #b, 5555)
    local s = ffi.string(m, #b)
    local rc, h = parse(s)
    assert.equal(0, rc)
    assert.equal(8, bit.band(h.attributes, 8))
    assert.equal(5555, tonumber(h.max_timestamp))
    assert.equal(1000, tonumber(h.base_timestamp))
    assert.are_not.equal(st.u32(b, 18), tonumber(h.crc))
    for _, r in ipairs(st.records(s)) do assert.equal(5555, r.timestamp) end
  end)

  it("iterates concatenated batches and rejects a trailing partial batch", function()
    local a, b2 = st.batch(recs, 1000), st.batch({ { value = "z", ts = 2000 } }, 2000)
    local got = st.batches(a .. b2)
    assert.equal(2, #got)
    assert.equal(3, got[1].count)
    assert.equal(1, got[2].count)
    assert.equal(#a, got[1].size)
    local ok, err = pcall(st.batches, a .. b2:sub(1, 40))
    assert.is_false(ok)
    assert.matches("less than the 61%-byte header", err)
    ok, err = pcall(st.batches, a .. b2:sub(1, #b2 - 3))
    assert.is_false(ok)
    assert.matches("runs past", err)
  end)

  it("refuses to build an empty batch and to read records of a compressed one", function()
    local w = ffi.new("ml_writer")
    lib.ml_writer_init(w, 0)
    local e = st.common.err()
    assert.equal(st.EINVAL, lib.ml_record_batch_build(w, 0, 0, nil, 0, e))
    lib.ml_writer_free(w)
    local b = st.batch(recs, 1000)
    local m = mutable(b:sub(1, 21) .. wire.i16(4) .. b:sub(24)) -- zstd codec bit
    lib.ml_record_batch_update_crc(m, #b)
    local it = ffi.new("ml_record_iter")
    assert.equal(st.EINVAL, lib.ml_record_iter_init(it, m, #b, e))
    assert.matches("compressed", ffi.string(e.msg))
  end)
end)
