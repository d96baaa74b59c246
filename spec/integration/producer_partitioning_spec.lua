-- Keyed records land where other clients put them: the key_hash partitioner (and the built-in
-- default) against kcat/librdkafka with -X partitioner=murmur2_random (the Java client's choice).
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("key_hash against kcat's murmur2_random", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "7" } }
    dir = process.tmpdir("partitioning")
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  local keys = {}
  for i = 1, 300 do keys[i] = "key-" .. i .. ("x"):rep(i % 13) end

  local function placement(topic)
    local where = {}
    for _, r in ipairs(client.consume(b.bootstrap, topic, #keys)) do where[r.key] = r.partition end
    return where
  end

  it("puts every key in the partition kcat chooses with murmur2_random (key_hash and the built-in)", function()
    local lines = {}
    for i, k in ipairs(keys) do lines[i] = k .. ":" .. i end
    process.write_file(dir .. "/in.txt", table.concat(lines, "\n") .. "\n")
    local ok, out = process.sh("kcat -P -b " .. b.bootstrap .. " -t by-kcat -K: -X partitioner=murmur2_random < " ..
      dir .. "/in.txt")
    assert(ok, out)
    local kcat = placement("by-kcat")

    for _, name in ipairs({ "key_hash", "default" }) do
      local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = name })
      for i, k in ipairs(keys) do assert(p:send { topic = "by-" .. name, key = k, value = tostring(i) }) end
      assert(p:close())
      local ours = placement("by-" .. name)
      for _, k in ipairs(keys) do
        assert.are.equal(kcat[k], ours[k], name .. ": key " .. k)
      end
    end
  end)

  it("consistent_random puts every key where kcat's default partitioner (librdkafka's) does", function()
    local lines = {}
    for i, k in ipairs(keys) do lines[i] = k .. ":" .. i end
    process.write_file(dir .. "/in2.txt", table.concat(lines, "\n") .. "\n")
    local ok, out = process.sh("kcat -P -b " .. b.bootstrap .. " -t by-kcat-default -K: < " .. dir .. "/in2.txt")
    assert(ok, out)
    local kcat = placement("by-kcat-default")
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = "consistent_random" })
    for i, k in ipairs(keys) do assert(p:send { topic = "by-consistent", key = k, value = tostring(i) }) end
    assert(p:close())
    local ours = placement("by-consistent")
    local differs = 0
    for _, k in ipairs(keys) do
      assert.are.equal(kcat[k], ours[k], "key " .. k)
      if kcat[k] ~= moonlog.murmur2_partition(k, 7) then differs = differs + 1 end
    end
    assert.is_true(differs > 100) -- the two placements really differ
  end)
end)
