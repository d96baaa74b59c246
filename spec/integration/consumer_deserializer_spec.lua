-- key.deserializer / value.deserializer against a real moonlogd: records produced by kcat are
-- read back through the shipped serializer plugins' deserialize; a record a deserializer fails
-- on is reported by poll (partition, offset, plugin, line) with the position left AT it, the
-- records around it are not lost, and a seek past it goes on; hot reload; configuration errors.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer deserializers against moonlogd", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "2" } }
    dir = process.tmpdir("deser-spec")
  end)
  teardown(function()
    if b then b:stop() end
    if dir then process.rmdir(dir) end
  end)

  local function consumer(extra)
    local cfg = { ["bootstrap.servers"] = b.bootstrap, ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = "100" }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(moonlog.consumer(cfg))
  end

  local function int32be(n)
    if n < 0 then n = n + 4294967296 end
    return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  end

  -- One record per value (kcat -P with files: each file is one message, bytes as they are).
  local function kcat_files(topic, partition, values)
    local files = {}
    for i, v in ipairs(values) do
      files[i] = dir .. "/" .. topic .. "-" .. partition .. "-" .. i
      process.write_file(files[i], v)
    end
    local ok, msg = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -p " .. partition .. " " ..
      table.concat(files, " "))
    assert(ok, msg)
  end

  local function read(c, n)
    local got = {}
    process.wait_for(n .. " records", 20, function()
      for _, r in ipairs(assert(c:poll(100))) do got[#got + 1] = r end
      return #got >= n
    end, 1)
    return got
  end

  it("gives integer values as numbers and string keys as text, in order", function()
    local ints = { 0, 1, -7, 2147483647, -2147483648, 300 }
    local values = {}
    for i, n in ipairs(ints) do values[i] = int32be(n) end
    kcat_files("ints", 0, values)
    local c = consumer { ["value.deserializer"] = "integer" }
    assert(c:assign { { topic = "ints", partition = 0 } })
    local got = read(c, #ints)
    for i, r in ipairs(got) do
      assert.are.equal("number", type(r.value))
      assert.are.equal(ints[i], r.value)
      assert.are.equal(i - 1, tonumber(r.offset))
    end
    assert(c:close())

    local file = dir .. "/text"
    process.write_file(file, 'k1:{"a": 1}\nk2:[true, null]\nk3: "s" \n')
    local ok, msg = process.sh("kcat -P -b " .. b.bootstrap .. " -t text -p 1 -K: < " .. file)
    assert(ok, msg)
    c = consumer { ["key.deserializer"] = "string", ["value.deserializer"] = "json" }
    assert(c:assign { { topic = "text", partition = 1 } })
    got = read(c, 3)
    assert.are.same({ "k1", "k2", "k3" }, { got[1].key, got[2].key, got[3].key })
    assert.are.same({ '{"a": 1}', "[true, null]", '"s"' }, { got[1].value, got[2].value, got[3].value })
    assert(c:close())
  end)

  it("reports a record it cannot deserialize, keeps the position at it, loses nothing else", function()
    local p0 = { int32be(0), int32be(1), int32be(2), "bad", int32be(4), int32be(5) }
    local p1 = {}
    for i = 1, 10 do p1[i] = int32be(100 + i) end
    kcat_files("mixed", 0, p0)
    kcat_files("mixed", 1, p1)
    local c = consumer { ["value.deserializer"] = "integer" }
    assert(c:assign { { topic = "mixed", partition = 0 }, { topic = "mixed", partition = 1 } })
    local got, err = { [0] = {}, [1] = {} }, nil
    process.wait_for("the deserialization error", 20, function()
      local recs, e = c:poll(100)
      if not recs then
        err = e
        return true
      end
      for _, r in ipairs(recs) do table.insert(got[r.partition], r.value) end
    end, 1)
    assert.are.equal("DESERIALIZATION", err.name)
    assert.are.equal("mixed", err.topic)
    assert.are.equal(0, err.partition)
    assert.are.equal(3, tonumber(err.offset))
    assert.truthy(err.message:find("mixed-0 at offset 3: value.deserializer: serializer integer: deserialize failed: ",
      1, true), err.message)
    assert.truthy(err.message:find("integer.lua:%d+: integer deserializer: 3 bytes, not 4"), err.message)
    assert.are.same({ 0, 1, 2 }, got[0])
    assert.are.equal(3, tonumber(assert(c:position("mixed", 0))))
    -- partition 1 is not held up by partition 0's bad record
    process.wait_for("partition 1's records", 20, function()
      local recs = c:poll(100)
      for _, r in ipairs(recs or {}) do table.insert(got[r.partition], r.value) end
      return #got[1] == 10
    end, 1)
    local want1 = {}
    for i = 1, 10 do want1[i] = 100 + i end
    assert.are.same(want1, got[1])
    assert.are.same({ 0, 1, 2 }, got[0])
    -- every poll that reaches the record fails the same way until the application seeks past it
    local again
    process.wait_for("the error again", 20, function()
      local recs, e = c:poll(100)
      assert.are.same({}, recs or {})
      again = e
      return e
    end, 1)
    assert.are.equal(3, tonumber(again.offset))
    assert.are.equal(3, tonumber(assert(c:position("mixed", 0))))
    assert(c:seek("mixed", 0, 4))
    local rest = read(c, 2)
    assert.are.same({ 4, 5 }, { rest[1].value, rest[2].value })
    assert.are.same({ 4, 5 }, { tonumber(rest[1].offset), tonumber(rest[2].offset) })
    assert.is_true(c:counter("plugin.errors") >= 2) -- counted at every attempt on the bad record
    assert(c:close())
  end)

  it("reloads a changed deserializer between polls, and keeps the running one when the new one is broken", function()
    local path = dir .. "/live_deser.lua"
    local function version(tag)
      return ([[
return {
  api = 1,
  kind = "serializer",
  serialize = function(topic, value) return value end,
  deserialize = function(topic, bytes) return "%s:" .. bytes end,
}
]]):format(tag)
    end
    client.write_plugin(path, version("v1"))
    local function produce(from, to)
      local values = {}
      for i = from, to do values[#values + 1] = "r" .. i end
      kcat_files("live", 0, values)
    end
    produce(1, 3) -- the topic exists before the consumer asks for it
    local c = consumer { ["value.deserializer"] = path, ["plugin.reload.interval.ms"] = "50" }
    assert(c:assign { { topic = "live", partition = 0 } })
    local function batch(from, to)
      if from > 1 then produce(from, to) end
      local got = {}
      for i, r in ipairs(read(c, to - from + 1)) do got[i] = r.value end
      return got
    end
    assert.are.same({ "v1:r1", "v1:r2", "v1:r3" }, batch(1, 3))
    client.write_plugin(path, version("v2"))
    process.wait_for("the reload", 10, function()
      assert.are.same({}, assert(c:poll(20)))
      return c:counter("plugin.reloads") == 1
    end)
    assert.are.same({ "v2:r4", "v2:r5", "v2:r6" }, batch(4, 6))
    client.write_plugin(path, "return { api = 1, kind = 'serializer', serialize = \n")
    process.wait_for("the refused reload", 10, function()
      assert.are.same({}, assert(c:poll(20)))
      return c:counter("plugin.reload.failures") == 1
    end)
    assert.are.same({ "v2:r7", "v2:r8" }, batch(7, 8))
    assert.are.equal(1, c:counter("plugin.reloads"))
    assert(c:close())
  end)

  it("fails to create a consumer with a deserializer that does not exist or cannot deserialize", function()
    local cfg = { ["bootstrap.servers"] = b.bootstrap }
    cfg["value.deserializer"] = "no_such_one"
    local c, err = moonlog.consumer(cfg)
    assert.is_nil(c)
    assert.are.equal("INVALID_CONFIG", err.name)
    assert.truthy(err.message:find("value.deserializer: serializer 'no_such_one': no such plugin", 1, true), err.message)
    local path = dir .. "/one_way.lua"
    client.write_plugin(path, 'return { api = 1, kind = "serializer", serialize = function(t, v) return v end }\n')
    cfg["value.deserializer"] = nil
    cfg["key.deserializer"] = path
    c, err = moonlog.consumer(cfg)
    assert.is_nil(c)
    assert.truthy(err.message:find("key.deserializer: serializer " .. path .. " (" .. path ..
      ") defines no deserialize function", 1, true), err.message)
    path = dir .. "/broken.lua"
    client.write_plugin(path, 'return { api = 1, kind = "serializer", serialize = function(t, v) return v end,\n')
    cfg["key.deserializer"] = path
    c, err = moonlog.consumer(cfg)
    assert.is_nil(c)
    assert.truthy(err.message:find("key.deserializer: serializer .*broken.lua:%d+:"), err.message)
    cfg["key.deserializer"] = ""
    c, err = moonlog.consumer(cfg)
    assert.is_nil(c)
    assert.truthy(err.message:find("key.deserializer: '' is empty", 1, true), err.message)
  end)
end)
