-- Kafka's varints (core/common/buf.h, reached through core/common/buf_export.c) and CRC-32C
-- (core/common/crc32c.c) against known encodings and a slow reference.
local ffi = require "ffi"
local c = require "common_ffi"
local lib = c.lib

local function encode(fn, v)
  local w = c.writer()
  lib[fn](w, v)
  return c.hex(ffi.string(w[0].data, w[0].len))
end

-- Decodes hex with a read function; returns the value, the bytes consumed and the reader's error flag.
local function decode(fn, hex)
  local s = c.unhex(hex)
  local r = ffi.new("ml_reader[1]")
  lib.ml_ffi_buf_reader_init(r, s, #s)
  local v = lib[fn](r)
  return v, tonumber(r[0].p - r[0].start), r[0].err
end

describe("varints", function()
  it("encode known values", function()
    assert.equal("00", encode("ml_ffi_buf_write_varint", 0))
    assert.equal("01", encode("ml_ffi_buf_write_varint", -1))
    assert.equal("02", encode("ml_ffi_buf_write_varint", 1))
    assert.equal("03", encode("ml_ffi_buf_write_varint", -2))
    assert.equal("7f", encode("ml_ffi_buf_write_varint", -64))
    assert.equal("8001", encode("ml_ffi_buf_write_varint", 64))
    assert.equal("d804", encode("ml_ffi_buf_write_varint", 300))
    assert.equal("feffffff0f", encode("ml_ffi_buf_write_varint", 2147483647))
    assert.equal("ffffffff0f", encode("ml_ffi_buf_write_varint", -2147483648))
    assert.equal("ac02", encode("ml_ffi_buf_write_uvarint", 300))
    assert.equal("7f", encode("ml_ffi_buf_write_uvarint", 127))
    assert.equal("8001", encode("ml_ffi_buf_write_uvarint", 128))
    assert.equal("ffffffff0f", encode("ml_ffi_buf_write_uvarint", 4294967295))
    assert.equal("ffffffffffffffffff01", encode("ml_ffi_buf_write_uvarlong", 0xffffffffffffffffULL))
    assert.equal("feffffffffffffffff01", encode("ml_ffi_buf_write_varlong", 9223372036854775807LL))
    assert.equal("ffffffffffffffffff01", encode("ml_ffi_buf_write_varlong", -9223372036854775807LL - 1))
    assert.equal("01", encode("ml_ffi_buf_write_varlong", -1LL))
  end)

  it("decode known values", function()
    assert.same({ 0, 1, 0 }, { decode("ml_ffi_buf_read_varint", "00") })
    assert.same({ -1, 1, 0 }, { decode("ml_ffi_buf_read_varint", "01") })
    assert.same({ 1, 1, 0 }, { decode("ml_ffi_buf_read_varint", "02") })
    assert.same({ 150, 2, 0 }, { decode("ml_ffi_buf_read_varint", "ac02") })
    assert.same({ 300, 2, 0 }, { decode("ml_ffi_buf_read_uvarint", "ac02") })
    assert.same({ -2147483648, 5, 0 }, { decode("ml_ffi_buf_read_varint", "ffffffff0f") })
    local v = decode("ml_ffi_buf_read_varlong", "ffffffffffffffffff01")
    assert.equal(-9223372036854775807LL - 1, v)
    v = decode("ml_ffi_buf_read_uvarlong", "ffffffffffffffffff01")
    assert.equal(0xffffffffffffffffULL, v)
  end)

  it("round-trip boundaries and random values, with ml_varlong_size equal to the bytes written", function()
    local values32 = { 0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, 2147483647, -2147483648 }
    local values64 = {}
    for k = 0, 62 do
      local p = bit.lshift(1LL, k)
      for _, v in ipairs({ p, p - 1, -p, -p - 1 }) do values64[#values64 + 1] = v end
    end
    local x = 88172645463325252ULL
    for _ = 1, 2000 do
      x = bit.bxor(x, bit.lshift(x, 13)); x = bit.bxor(x, bit.rshift(x, 7)); x = bit.bxor(x, bit.lshift(x, 17))
      values64[#values64 + 1] = ffi.cast("int64_t", x)
      values32[#values32 + 1] = tonumber(ffi.cast("int32_t", x))
    end
    for _, v in ipairs(values32) do
      local hex = encode("ml_ffi_buf_write_varint", v)
      local got, used, err = decode("ml_ffi_buf_read_varint", hex)
      assert.equal(v, got)
      assert.equal(#hex / 2, used)
      assert.equal(0, err)
      assert.equal(#hex / 2, lib.ml_ffi_buf_varlong_size(v))
    end
    for _, v in ipairs(values64) do
      local hex = encode("ml_ffi_buf_write_varlong", v)
      local got, used, err = decode("ml_ffi_buf_read_varlong", hex)
      assert.equal(v, got)
      assert.equal(#hex / 2, used)
      assert.equal(0, err)
      assert.equal(#hex / 2, lib.ml_ffi_buf_varlong_size(v))
      local u = ffi.cast("uint64_t", v)
      assert.equal(u, (decode("ml_ffi_buf_read_uvarlong", encode("ml_ffi_buf_write_uvarlong", u))))
    end
  end)

  it("mark the reader bad on a truncated or overlong varint", function()
    local _, _, err = decode("ml_ffi_buf_read_varint", "ac")
    assert.equal(1, err)
    _, _, err = decode("ml_ffi_buf_read_varint", "")
    assert.equal(1, err)
    _, _, err = decode("ml_ffi_buf_read_uvarint", "ffffffff1f") -- more than 32 bits
    assert.equal(1, err)
    _, _, err = decode("ml_ffi_buf_read_uvarlong", "ffffffffffffffffffff01") -- 11 bytes
    assert.equal(1, err)
  end)
end)

describe("crc32c", function()
  -- The bitwise definition: reflected polynomial 0x82F63B78, initial and final xor 0xffffffff.
  local function reference(s, off, len)
    local crc = -1
    for i = off + 1, off + len do
      crc = bit.bxor(crc, s:byte(i))
      for _ = 1, 8 do
        crc = bit.bxor(bit.rshift(crc, 1), bit.band(0x82F63B78, -bit.band(crc, 1)))
      end
    end
    return bit.tobit(bit.bnot(crc))
  end
  local function crc(ptr, len, start) return bit.tobit(lib.ml_crc32c(start or 0, ptr, len)) end

  it("gives the check value of '123456789'", function()
    assert.equal(bit.tobit(0xe3069283), crc("123456789", 9))
    assert.equal(0, crc("", 0))
  end)

  it("matches the reference on every length 0..300 at every alignment 0..7", function()
    local s = c.random_bytes(320, 2024)
    local buf = ffi.new("uint8_t[?]", 320 + 16)
    local base = ffi.cast("uint8_t *", bit.band(ffi.cast("uintptr_t", buf) + 15, bit.bnot(15ULL))) -- 16-aligned
    ffi.copy(base, s, 320)
    for off = 0, 7 do
      for len = 0, 300 do
        assert.equal(reference(s, off, len), crc(base + off, len), "len " .. len .. " off " .. off)
      end
    end
  end)

  it("continues a crc across pieces", function()
    local s = c.random_bytes(1000, 1)
    local whole = crc(s, #s)
    for _, cut in ipairs({ 0, 1, 7, 8, 9, 63, 64, 500, 999, 1000 }) do
      local first = lib.ml_crc32c(0, s, cut)
      local p = ffi.cast("const uint8_t *", s) + cut
      assert.equal(whole, crc(p, #s - cut, first), "cut at " .. cut)
    end
  end)

  it("matches the reference on long random buffers", function()
    for _, n in ipairs({ 1024, 4093, 65536 + 5 }) do
      local s = c.random_bytes(n, n)
      assert.equal(reference(s, 0, n), crc(s, n))
    end
  end)

  -- Buffers of 3 x 8 KiB and more take the three-stream path, whose registers are joined by
  -- shifting them over zero bytes: around each block boundary, unaligned, and continued.
  it("matches the reference around the three-stream block sizes, unaligned and continued", function()
    local s = c.random_bytes(2 * 3 * 8192 + 64, 77)
    for _, case in ipairs({ { 3 * 8192 - 1, 0 }, { 3 * 8192, 5 }, { 3 * 8192 + 7, 1 }, { 2 * 3 * 8192 + 9, 3 } }) do
      local n, off = case[1], case[2]
      local p = ffi.cast("const uint8_t *", s) + off
      assert.equal(reference(s, off, n), crc(p, n), "len " .. n .. " off " .. off)
    end
    local whole = crc(s, #s)
    local first = lib.ml_crc32c(0, s, 3 * 8192 + 3)
    assert.equal(whole, crc(ffi.cast("const uint8_t *", s) + 3 * 8192 + 3, #s - (3 * 8192 + 3), first))
  end)
end)
