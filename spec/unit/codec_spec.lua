-- Kafka's compression codecs (core/common/codec.c): round trips, bytes made by other tools,
-- xerial snappy, corrupt input and decompression bombs.
local ffi = require "ffi"
local c = require "common_ffi"
local lib = c.lib

local CODECS = { c.NONE, c.GZIP, c.SNAPPY, c.LZ4, c.ZSTD }
local COMPRESSED = { c.GZIP, c.SNAPPY, c.LZ4, c.ZSTD }
local MiB = 1048576

local function name(codec) return ffi.string(lib.ml_codec_name(codec)) end

-- Runs a shell pipeline and returns its output (nil when it failed).
local function sh(cmd)
  local f = io.popen(cmd .. " 2>/dev/null")
  local out = f:read("*a")
  local ok = f:close()
  if ok == nil or ok == false then return nil end
  return out
end

local function have(tool)
  local rc = os.execute("command -v " .. tool .. " >/dev/null 2>&1")
  return rc == 0 or rc == true
end

describe("codec names", function()
  it("names each codec as Kafka does and parses the names back", function()
    assert.same({ "none", "gzip", "snappy", "lz4", "zstd" }, { name(0), name(1), name(2), name(3), name(4) })
    assert.equal("unknown", name(5))
    for i = 0, 4 do assert.equal(i, lib.ml_codec_parse(name(i))) end
    assert.equal(4, lib.ml_codec_parse("ZSTD"))
    assert.equal(0, lib.ml_codec_parse("uncompressed"))
    assert.equal(-1, lib.ml_codec_parse("brotli"))
    assert.equal(-1, lib.ml_codec_parse(""))
  end)

  it("refuses an unknown codec number", function()
    local out, rc, msg = c.compress(7, "x")
    assert.is_nil(out)
    assert.equal(c.EINVAL, rc)
    assert.matches("unknown compression codec 7", msg)
    out, rc = c.decompress(-1, "x")
    assert.equal(c.EINVAL, rc)
  end)
end)

describe("codec round trips", function()
  local inputs = {
    empty = "",
    small = "hello, moonlog",
    random = c.random_bytes(MiB, 7),
    repetitive = string.rep("key-0042 value: the same thing again; ", math.ceil(MiB / 38)):sub(1, MiB),
  }
  for _, codec in ipairs(CODECS) do
    for label, input in pairs(inputs) do
      it(name(codec) .. " " .. label .. " (" .. #input .. " bytes)", function()
        local z = assert(c.compress(codec, input))
        local out, rc, msg = c.decompress(codec, z)
        assert.is_nil(msg, msg)
        assert.equal(#input, #out)
        assert.is_true(out == input)
        if label == "repetitive" and codec ~= c.NONE then assert.is_true(#z < #input / 10) end
      end)
    end
  end

  it("takes levels and -1 as the default", function()
    local s = string.rep("abcdefgh", 10000)
    for _, codec in ipairs({ c.GZIP, c.LZ4, c.ZSTD }) do
      for _, level in ipairs({ -1, 1, 9 }) do
        assert.is_true(c.decompress(codec, assert(c.compress(codec, s, level))) == s)
      end
    end
    local out, rc = c.compress(c.GZIP, s, 10)
    assert.is_nil(out)
    assert.equal(c.EINVAL, rc)
  end)

  it("appends to what the writer already holds", function()
    for _, codec in ipairs(CODECS) do
      local z = assert(c.compress(codec, "payload"))
      assert.equal("prefix:payload", (c.decompress(codec, z, 100, "prefix:")))
      local w, e = c.writer(), c.common.err()
      c.check(lib.ml_codec_compress(0, -1, "head", 4, w, e), e)
      c.check(lib.ml_codec_compress(codec, -1, "payload", 7, w, e), e)
      local all = ffi.string(w[0].data, w[0].len)
      assert.equal("head", all:sub(1, 4))
      assert.equal("payload", (c.decompress(codec, all:sub(5))))
    end
  end)

  it("decompresses output of exactly max_out bytes, and fails one byte lower", function()
    local s = c.random_bytes(1000, 3) .. string.rep("z", 70000)
    for _, codec in ipairs(CODECS) do
      local z = assert(c.compress(codec, s))
      assert.is_true(c.decompress(codec, z, #s) == s, name(codec))
      local out, rc, msg, cap = c.decompress(codec, z, #s - 1)
      assert.is_nil(out, name(codec))
      assert.equal(c.ETOOBIG, rc)
      assert.matches("exceeds the limit of " .. (#s - 1) .. " bytes", msg)
      assert.is_true(cap <= #s - 1, name(codec) .. " allocated " .. cap)
    end
  end)
end)

describe("codec wire formats", function()
  local text = "hello moonlog\n"

  it("decodes fixed gzip, zstd (with and without content size) and lz4 bytes made by the system tools", function()
    -- printf 'hello moonlog\n' | gzip -n -c ; zstd -c (file: content size; stdin: none) ; lz4 -c
    local gz = "1f8b0800000000000003cb48cdc9c957c8cdcfcfcbc94fe70200a054cab90e000000"
    local zstd_sized = "28b52ffd240e71000068656c6c6f206d6f6f6e6c6f670a80c5b8a0"
    local zstd_unsized = "28b52ffd045871000068656c6c6f206d6f6f6e6c6f670a80c5b8a0"
    local lz4 = "04224d186440a70e00008068656c6c6f206d6f6f6e6c6f670a0000000080d4d2ad"
    assert.equal(text, (c.decompress(c.GZIP, c.unhex(gz))))
    assert.equal(text, (c.decompress(c.ZSTD, c.unhex(zstd_sized))))
    assert.equal(text, (c.decompress(c.ZSTD, c.unhex(zstd_unsized))))
    assert.equal(text, (c.decompress(c.LZ4, c.unhex(lz4))))
  end)

  it("decodes what gzip, zstd and lz4 make of 1 MiB now, and they decode ours", function()
    local input = c.random_bytes(300000, 11) .. string.rep("moonlog ", 100000)
    local tools = {
      { c.GZIP, "gzip", "gzip -c", "gzip -dc" },
      { c.ZSTD, "zstd", "zstd -q -c", "zstd -q -dc" },
      { c.ZSTD, "zstd", "zstd -q -19 -c", "zstd -q -dc" },
      { c.LZ4, "lz4", "lz4 -q -c", "lz4 -q -dc" },
      { c.LZ4, "lz4", "lz4 -q -BD -B4 -c", "lz4 -q -dc" }, -- dependent 64 KiB blocks
    }
    local ran = 0
    for _, t in ipairs(tools) do
      if have(t[2]) then
        ran = ran + 1
        local theirs = assert(c.pipe(t[3], input), t[3])
        local out, _, msg = c.decompress(t[1], theirs)
        assert.is_nil(msg, t[3] .. ": " .. tostring(msg))
        assert.is_true(out == input, t[3])
        local back = c.pipe(t[4], assert(c.compress(t[1], input)))
        assert.is_true(back == input, t[4])
      end
    end
    assert(ran == #tools, "gzip, zstd and lz4 must be installed (make deps installs them)")
  end)

  it("decodes concatenated gzip members and zstd and lz4 frames", function()
    for _, codec in ipairs({ c.GZIP, c.ZSTD, c.LZ4 }) do
      local z = assert(c.compress(codec, "first;")) .. assert(c.compress(codec, "")) .. assert(c.compress(codec, "second"))
      assert.equal("first;second", (c.decompress(codec, z)))
      z = assert(c.compress(codec, "")) .. assert(c.compress(codec, "after an empty one"))
      assert.equal("after an empty one", (c.decompress(codec, z, 18)))
    end
    if have("gzip") then
      local z = c.pipe("gzip -c", "one ") .. c.pipe("gzip -c", "two")
      assert.equal("one two", (c.decompress(c.GZIP, z)))
    end
  end)

  it("writes gzip, not zlib or raw deflate", function()
    local z = assert(c.compress(c.GZIP, "abc"))
    assert.equal("1f8b08", c.hex(z:sub(1, 3)))
  end)

  it("writes lz4 frames with independent 64 KiB blocks and no content checksum, as the Java client reads them", function()
    local z = assert(c.compress(c.LZ4, string.rep("x", 200000)))
    assert.equal("04224d18", c.hex(z:sub(1, 4)))
    local flg, bd = z:byte(5), z:byte(6)
    assert.equal(0x40, bit.band(flg, 0xc0)) -- version 01
    assert.equal(0x20, bit.band(flg, 0x20)) -- block independence
    assert.equal(0, bit.band(flg, 0x04)) -- no content checksum
    assert.equal(0x40, bd) -- 64 KiB blocks
  end)

  it("writes snappy in the xerial framing with 32 KiB chunks", function()
    local input = c.random_bytes(100000, 5)
    local z = assert(c.compress(c.SNAPPY, input))
    assert.equal("82534e415050590000000001" .. "00000001", c.hex(z:sub(1, 16)))
    -- walk the chunks: each a big-endian length and a raw block of at most 32 KiB
    local pos, total, chunks = 17, 0, 0
    while pos <= #z do
      local a, b, cc, d = z:byte(pos, pos + 3)
      local n = ((a * 256 + b) * 256 + cc) * 256 + d
      local block = z:sub(pos + 4, pos + 3 + n)
      local out = assert(c.decompress(c.SNAPPY, block)) -- one raw block on its own
      assert.is_true(#out <= 32768)
      total, chunks, pos = total + #out, chunks + 1, pos + 4 + n
    end
    assert.equal(#input, total)
    assert.equal(4, chunks)
    assert.equal("82534e4150505900" .. "0000000100000001", c.hex(assert(c.compress(c.SNAPPY, ""))))
    assert.equal("", (c.decompress(c.SNAPPY, c.unhex("82534e41505059000000000100000001"))))
  end)

  it("reads raw snappy blocks (librdkafka) and xerial-framed ones (Java) of known bytes", function()
    -- Raw blocks written by hand from the snappy format: a varint length, then tagged elements.
    local raw_hello = "05" .. "10" .. c.hex("hello") -- literal of 5
    local raw_abc = "0c" .. "08" .. c.hex("abc") .. "1503" -- literal "abc", copy length 9 offset 3
    assert.equal("hello", (c.decompress(c.SNAPPY, c.unhex(raw_hello))))
    assert.equal("abcabcabcabc", (c.decompress(c.SNAPPY, c.unhex(raw_abc))))
    local framed = "82534e41505059000000000100000001" .. "00000007" .. raw_hello .. "00000007" .. raw_abc
    assert.equal("helloabcabcabcabc", (c.decompress(c.SNAPPY, c.unhex(framed))))
  end)
end)

describe("codec bad input", function()
  local input = c.random_bytes(20000, 9) .. string.rep("0123456789", 8000)

  it("fails with ML_ECORRUPT on empty input", function()
    for _, codec in ipairs(COMPRESSED) do
      local out, rc, msg = c.decompress(codec, "")
      assert.is_nil(out, name(codec))
      assert.equal(c.ECORRUPT, rc)
      assert.matches("^" .. name(codec) .. ": ", msg)
    end
    assert.equal("", (c.decompress(c.NONE, "")))
  end)

  it("fails with ML_ECORRUPT on every truncation, and never crashes", function()
    for _, codec in ipairs(COMPRESSED) do
      local z = assert(c.compress(codec, input))
      local cuts = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 19, 20, #z - 1, #z - 2, #z - 4, #z - 8 }
      for i = 1, 40 do cuts[#cuts + 1] = math.floor(#z * i / 41) end
      for _, n in ipairs(cuts) do
        local out, rc, msg = c.decompress(codec, z:sub(1, n))
        if codec == c.SNAPPY and out then
          -- xerial framing has no end marker: a cut between two chunks cannot be seen
          assert.equal(0, #out % 32768, "snappy cut at " .. n)
          assert.is_true(out == input:sub(1, #out))
          goto next
        end
        assert.is_nil(out, name(codec) .. " cut at " .. n .. " of " .. #z)
        assert.equal(c.ECORRUPT, rc, name(codec) .. " cut at " .. n .. ": " .. tostring(msg))
        assert.is_true(#msg > 10)
        ::next::
      end
    end
  end)

  it("fails with ML_ECORRUPT on garbage, naming the codec", function()
    local garbage = c.random_bytes(5000, 99)
    local cases = { [c.GZIP] = garbage, [c.LZ4] = garbage, [c.ZSTD] = garbage,
                    [c.SNAPPY] = "\x10" .. garbage } -- a raw block claiming 16 bytes
    for codec, bytes in pairs(cases) do
      local out, rc, msg = c.decompress(codec, bytes)
      assert.is_nil(out)
      assert.equal(c.ECORRUPT, rc, name(codec))
      assert.matches("^" .. name(codec) .. ": ", msg)
    end
    -- the right magic, then garbage
    local magics = { [c.GZIP] = "1f8b0800000000000003", [c.LZ4] = "04224d18", [c.ZSTD] = "28b52ffd",
                     [c.SNAPPY] = "82534e41505059000000000100000001" }
    for codec, magic in pairs(magics) do
      local out, rc = c.decompress(codec, c.unhex(magic) .. garbage)
      assert.is_nil(out)
      if codec == c.ZSTD and rc == c.ETOOBIG then
        -- a garbage frame header may declare a content size or window past max_out: refused as too big
      else
        assert.equal(c.ECORRUPT, rc, name(codec))
      end
    end
  end)

  it("survives flipped bytes: an error is ML_ECORRUPT, and gzip's CRC always notices", function()
    for _, codec in ipairs(COMPRESSED) do
      local z = assert(c.compress(codec, input))
      for i = 1, 60 do
        local pos = 1 + math.floor((#z - 1) * i / 61)
        local bad = z:sub(1, pos - 1) .. string.char(bit.bxor(z:byte(pos), 0x5a)) .. z:sub(pos + 1)
        local out, rc, msg = c.decompress(codec, bad)
        if out == nil then
          assert.equal(c.ECORRUPT, rc, name(codec) .. " byte " .. pos .. ": " .. tostring(msg))
        else
          assert.is_true(codec ~= c.GZIP, "gzip accepted a flipped byte at " .. pos)
        end
      end
    end
  end)

  it("rejects xerial chunks that pass the end or are cut short", function()
    local framed = "82534e41505059000000000100000001"
    local out, rc, msg = c.decompress(c.SNAPPY, c.unhex(framed .. "00000010" .. "0510"))
    assert.equal(c.ECORRUPT, rc)
    assert.matches("passes the end", msg)
    out, rc, msg = c.decompress(c.SNAPPY, c.unhex(framed .. "0000"))
    assert.equal(c.ECORRUPT, rc)
    assert.matches("chunk length", msg)
    out, rc, msg = c.decompress(c.SNAPPY, c.unhex("82534e415050590000000001"))
    assert.equal(c.ECORRUPT, rc)
    assert.matches("header", msg)
    assert.is_nil(out)
  end)
end)

describe("codec decompression bombs", function()
  local zeros = string.rep("\0", 4 * MiB)

  it("stop every codec at max_out without allocating more", function()
    for _, codec in ipairs(COMPRESSED) do
      local bomb = assert(c.compress(codec, zeros, codec == c.GZIP and 9 or -1))
      local out, rc, msg, cap = c.decompress(codec, bomb, 65536)
      assert.is_nil(out)
      assert.equal(c.ETOOBIG, rc, name(codec) .. ": " .. tostring(msg))
      assert.is_true(cap <= 65536, name(codec) .. " allocated " .. tostring(cap))
    end
  end)

  it("a 1 KB gzip bomb", function()
    local bomb = assert(c.compress(c.GZIP, string.rep("\0", MiB), 9))
    assert.is_true(#bomb <= 1100, #bomb .. " bytes")
    local out, rc, msg, cap = c.decompress(c.GZIP, bomb, 100000)
    assert.is_nil(out)
    assert.equal(c.ETOOBIG, rc)
    assert.matches("gzip: decompressed data exceeds the limit of 100000 bytes", msg)
    assert.is_true(cap <= 100000)
  end)

  it("a small zstd bomb, with the content size (refused before decoding) and without", function()
    local bomb = assert(c.compress(c.ZSTD, string.rep("\0", 64 * MiB), 19))
    assert.is_true(#bomb < 3000, #bomb .. " bytes")
    local out, rc, msg, cap = c.decompress(c.ZSTD, bomb, MiB)
    assert.equal(c.ETOOBIG, rc)
    assert.is_true(cap <= MiB)
    assert(have("zstd"), "zstd must be installed (make deps installs it)")
    -- streamed through stdin, the zstd tool cannot write the content size
    local unsized = assert(sh("head -c 67108864 /dev/zero | zstd -q -c"))
    assert.is_true(#unsized < 4000, #unsized .. " bytes")
    assert.equal(0, bit.band(unsized:byte(5), 0xc0)) -- frame header: no content size
    out, rc, msg, cap = c.decompress(c.ZSTD, unsized, MiB)
    assert.is_nil(out)
    assert.equal(c.ETOOBIG, rc, msg)
    assert.is_true(cap <= MiB)
    assert.equal(64 * MiB, #assert(c.decompress(c.ZSTD, unsized, 64 * MiB)))
  end)

  it("a raw snappy block claiming 4 GiB fails before allocating", function()
    local out, rc, msg, cap = c.decompress(c.SNAPPY, c.unhex("ffffffff0f") .. "\0\0\0\0", 1000)
    assert.is_nil(out)
    assert.equal(c.ETOOBIG, rc, msg)
    assert.is_true(cap <= 1000)
  end)

  it("none: input larger than max_out", function()
    local out, rc = c.decompress(c.NONE, "0123456789", 9)
    assert.is_nil(out)
    assert.equal(c.ETOOBIG, rc)
  end)
end)
