-- The shipped partitioners (plugins/partitioners/), called through the hook API as the producer
-- calls them, without a broker.
local client = require "client"
local moonlog = client.moonlog

local function counts(pl, topic, n, records, key_of)
  local c = {}
  for i = 0, n - 1 do c[i] = 0 end
  for i = 1, records do
    local p = assert(pl:partition(topic, key_of and key_of(i) or nil, n))
    assert.is_true(p >= 0 and p < n)
    c[p] = c[p] + 1
  end
  return c
end

describe("partitioner round_robin", function()
  it("visits every partition in turn, keyed or not", function()
    local pl = assert(moonlog.plugin("partitioner", "round_robin"))
    local seen = {}
    for i = 1, 8 do seen[i] = pl:partition("rr", (i % 2 == 0) and "same-key" or nil, 4) end
    assert.are.same({ 0, 1, 2, 3, 0, 1, 2, 3 }, seen)
    -- each topic has its own turn
    assert.are.equal(0, pl:partition("other", nil, 4))
  end)
end)

describe("partitioner random", function()
  it("spreads records over every partition", function()
    local pl = assert(moonlog.plugin("partitioner", "random"))
    local c = counts(pl, "t", 4, 4000)
    for p = 0, 3 do assert.is_true(c[p] > 700, "partition " .. p .. " got " .. c[p]) end
  end)
end)

describe("partitioner key_hash", function()
  it("places keys as the Java client does: murmur2(key) & 0x7fffffff % n", function()
    local pl = assert(moonlog.plugin("partitioner", "key_hash"))
    -- Java's Utils.murmur2 on these byte strings (values from Kafka's UtilsTest)
    local java = { ["21"] = -973932308, foobar = -790332482, ["a-little-bit-long-string"] = -985981536,
                   ["a-little-bit-longer-string"] = -1486304829,
                   ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"] = -58897971, abc = 479470107 }
    for key, h in pairs(java) do
      assert.are.equal(h, moonlog.murmur2(key))
      local want = bit.band(h, 0x7fffffff) % 7
      if want < 0 then want = want + 7 end
      assert.are.equal(want, pl:partition("t", key, 7), key)
    end
  end)

  it("sends the same key to the same partition every time, and keyless records anywhere", function()
    local pl = assert(moonlog.plugin("partitioner", "key_hash"))
    local first = pl:partition("t", "user-42", 12)
    for _ = 1, 100 do assert.are.equal(first, pl:partition("t", "user-42", 12)) end
    local c = counts(pl, "t", 3, 3000)
    for p = 0, 2 do assert.is_true(c[p] > 600) end
  end)
end)

describe("partitioner sticky", function()
  it("keeps keyless records on one partition until told its batch is full", function()
    local pl = assert(moonlog.plugin("partitioner", "sticky"))
    local p1 = pl:partition("s", nil, 5)
    for _ = 1, 50 do assert.are.equal(p1, pl:partition("s", nil, 5)) end
    pl:batch_full("s", p1)
    local p2 = pl:partition("s", nil, 5)
    assert.are_not.equal(p1, p2)
    for _ = 1, 50 do assert.are.equal(p2, pl:partition("s", nil, 5)) end
  end)

  it("hashes keyed records like key_hash", function()
    local pl = assert(moonlog.plugin("partitioner", "sticky"))
    assert.are.equal(moonlog.murmur2_partition("foobar", 5), pl:partition("s", "foobar", 5))
  end)
end)

describe("partitioner consistent_random", function()
  it("places keys by zlib's CRC-32 as librdkafka's default partitioner", function()
    local pl = assert(moonlog.plugin("partitioner", "consistent_random"))
    -- crc32("123456789") = 0xcbf43926 = 3421780262
    assert.are.equal(3421780262 % 7, pl:partition("t", "123456789", 7))
    local c = counts(pl, "t", 3, 3000) -- keyless: random
    for p = 0, 2 do assert.is_true(c[p] > 600) end
  end)
end)

describe("the record helpers key_murmur2_partition and key_crc32_partition", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  teardown(function() os.execute("rm -rf " .. dir) end)

  -- returns the helper's answer and the string helper's for the same key, joined with ':'
  local function both(body)
    local path = dir .. "/both.lua"
    client.write_plugin(path, "return { api = 1, kind = 'partitioner', partition = function(record, cluster)\n" ..
      body .. "\nend }\n")
    return assert(moonlog.plugin("partitioner", path))
  end

  it("agree with murmur2_partition/crc32_partition on the key's bytes, nil for a null key", function()
    local pl = both([[
  local n = record.partitions
  local m, c = moonlog.key_murmur2_partition(record), moonlog.key_crc32_partition(record)
  if record.key == nil then
    assert(m == nil and c == nil and record.key_size == -1)
    return 0
  end
  assert(record.key_size == #record.key, "key_size")
  assert(m == moonlog.murmur2_partition(record.key, n), "murmur2 of " .. record.key)
  assert(c == moonlog.crc32_partition(record.key, n), "crc32 of " .. record.key)
  assert(moonlog.key_murmur2_partition(record, 5) == moonlog.murmur2_partition(record.key, 5))
  -- a table of the plugin's own is read by its key field
  assert(moonlog.key_crc32_partition({ key = record.key, partitions = n }) == c)
  return m]])
    for _, key in ipairs({ "21", "foobar", "abc", "", "a-little-bit-long-string", "k\0with\0nuls", "user-42" }) do
      assert.are.equal(moonlog.murmur2_partition(key, 7), pl:partition("t", key, 7), key)
    end
    assert.are.equal(0, pl:partition("t", nil, 7))
  end)

  it("the shipped consistent_random sends an empty key anywhere, as librdkafka does", function()
    local pl = assert(moonlog.plugin("partitioner", "consistent_random"))
    local seen = {}
    for _ = 1, 200 do seen[pl:partition("t", "", 4)] = true end
    for p = 0, 3 do assert.is_true(seen[p], "partition " .. p) end
  end)
end)
