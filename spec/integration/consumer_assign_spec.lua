-- libmoonlog's consumer in assign mode against a real moonlogd: records produced by kcat with
-- every codec read back exactly (keys, values, headers, offsets, timestamps), seek to an offset,
-- to the beginning and to the end, auto.offset.reset, configuration errors.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer (assign) against moonlogd", function()
  local b

  setup(function() b = brokers.start { overrides = { ["num.partitions"] = "3" } } end)
  teardown(function() if b then b:stop() end end)

  local function consumer(extra)
    local cfg = { ["bootstrap.servers"] = b.bootstrap, ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = "100" }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(moonlog.consumer(cfg))
  end

  -- Produces "key<i>\tvalue<i>" lines with kcat into one partition.
  local function kcat_produce(topic, partition, from, to, codec, extra)
    local file = os.tmpname()
    local lines = {}
    for i = from, to do lines[#lines + 1] = "key" .. i .. "\tvalue-" .. i .. string.rep("x", i % 50) end
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    local ok, msg = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -p " .. partition ..
      " -K '\t' -z " .. (codec or "none") .. " " .. (extra or "") .. " < " .. file)
    os.remove(file)
    assert(ok, msg)
  end

  -- Polls until `n` records came (or the time is up); returns them in order.
  local function read(c, n, timeout_s)
    local got = {}
    process.wait_for(n .. " records", timeout_s or 20, function()
      local recs = assert(c:poll(100))
      for _, r in ipairs(recs) do got[#got + 1] = r end
      return #got >= n
    end, 1)
    return got
  end

  for _, codec in ipairs { "none", "gzip", "snappy", "lz4", "zstd" } do
    it("reads back exactly what kcat produced with " .. codec, function()
      local topic = "codec-" .. codec
      kcat_produce(topic, 1, 0, 499, codec)
      local c = consumer { ["max.poll.records"] = "77" }
      assert(c:assign { { topic = topic, partition = 1 } })
      local got = read(c, 500)
      assert.are.equal(500, #got)
      for i, r in ipairs(got) do
        local k = i - 1
        assert.are.equal(topic, r.topic)
        assert.are.equal(1, r.partition)
        assert.are.equal(k, tonumber(r.offset))
        assert.are.equal("key" .. k, r.key)
        assert.are.equal("value-" .. k .. string.rep("x", k % 50), r.value)
        assert.are.equal("CreateTime", r.timestamp_type)
        assert.is_true(tonumber(r.timestamp) > 1600000000000)
      end
      assert.are.same({}, assert(c:poll(200))) -- nothing more
      assert.are.equal(500, tonumber(assert(c:position(topic, 1))))
      assert(c:close())
    end)
  end

  it("returns headers, null keys and the LogAppendTime of a topic stamped by the broker", function()
    kcat_produce("headers", 0, 0, 2, "none", "-H h1=v1 -H h2=")
    local ok, msg = process.sh("printf 'nokey\\n' | kcat -P -b " .. b.bootstrap .. " -t headers -p 0")
    assert(ok, msg)
    local c = consumer()
    assert(c:assign { { topic = "headers", partition = 0 } })
    local got = read(c, 4)
    assert.are.equal(2, #got[1].headers)
    assert.are.equal("h1", got[1].headers[1].key)
    assert.are.equal("v1", got[1].headers[1].value)
    assert.are.equal("h2", got[1].headers[2].key)
    assert.are.equal("nokey", got[4].value)
    assert.is_nil(got[4].key)
    assert(c:close())
  end)

  it("seeks to an offset, to the end and to the beginning", function()
    kcat_produce("seek", 2, 0, 299, "lz4")
    local c = consumer()
    assert(c:assign { { topic = "seek", partition = 2 } })
    local first = read(c, 10)
    assert.are.equal(0, tonumber(first[1].offset))
    assert(c:seek("seek", 2, 250))
    assert.are.equal(250, tonumber(assert(c:position("seek", 2))))
    local got = read(c, 50)
    assert.are.equal(250, tonumber(got[1].offset))
    assert.are.equal("key250", got[1].key)
    assert.are.equal(299, tonumber(got[50].offset))
    assert(c:seek_to_end())
    assert.are.equal(300, tonumber(assert(c:position("seek", 2))))
    assert.are.same({}, assert(c:poll(300)))
    kcat_produce("seek", 2, 300, 304, "gzip")
    got = read(c, 5)
    assert.are.equal(300, tonumber(got[1].offset))
    assert.are.equal("key304", got[5].key)
    assert(c:seek_to_beginning { { topic = "seek", partition = 2 } })
    assert.are.equal(0, tonumber(assert(c:position("seek", 2))))
    got = read(c, 305)
    assert.are.equal(0, tonumber(got[1].offset))
    assert.are.equal(304, tonumber(got[305].offset))
    assert(c:close())
  end)

  it("starts at the end with auto.offset.reset=latest and refuses with none", function()
    kcat_produce("reset", 0, 0, 9, "none")
    local c = consumer { ["auto.offset.reset"] = "latest" }
    assert(c:assign { { topic = "reset", partition = 0 } })
    assert.are.equal(10, tonumber(assert(c:position("reset", 0))))
    assert(c:close())
    c = consumer { ["auto.offset.reset"] = "none" }
    assert(c:assign { { topic = "reset", partition = 0 } })
    local recs, err = c:poll(100)
    assert.is_nil(recs)
    assert.are.equal("NO_OFFSET", err.name)
    assert(c:seek("reset", 0, 7))
    local got = read(c, 3)
    assert.are.equal(7, tonumber(got[1].offset))
    assert(c:close())
  end)

  it("reports a partition that does not exist", function()
    kcat_produce("small", 0, 0, 0, "none")
    local c = consumer()
    assert(c:assign { { topic = "small", partition = 7 } })
    local err
    process.wait_for("an error", 10, function()
      local recs, e = c:poll(100)
      err = e
      return recs == nil
    end)
    assert.are.equal("UNKNOWN_TOPIC_OR_PARTITION", err.name)
    local _, e2 = c:seek("other", 0, 1)
    assert.are.equal("NOT_ASSIGNED", e2.name)
    assert(c:close())
  end)

  it("fetches a partition assigned later at once, not at the next metadata.max.age.ms", function()
    kcat_produce("later", 0, 0, 9)
    kcat_produce("later", 2, 0, 9)
    local c = consumer { ["metadata.max.age.ms"] = "600000" }
    assert(c:assign { { topic = "later", partition = 0 } })
    assert.are.equal(10, #read(c, 10))
    assert(c:assign { { topic = "later", partition = 0 }, { topic = "later", partition = 2 } })
    local got = read(c, 10, 10)
    assert.are.equal(2, got[1].partition)
    assert.are.equal(10, #got)
    assert(c:close())
  end)

  it("names the key and the value of a bad configuration", function()
    local _, err = moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["no.such.key"] = "1" }
    assert.are.equal("INVALID_CONFIG", err.name)
    assert.matches("no.such.key", err.message, 1, true)
    _, err = moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["auto.offset.reset"] = "smallest" }
    assert.matches("auto.offset.reset: 'smallest' is not one of earliest, latest, none", err.message, 1, true)
    _, err = moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["max.poll.records"] = "0" }
    assert.matches("max.poll.records", err.message, 1, true)
    _, err = moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["isolation.level"] = "read_committed" }
    assert.matches("not supported yet", err.message, 1, true)
    _, err = moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["heartbeat.interval.ms"] = "50000" }
    assert.matches("session.timeout.ms", err.message, 1, true)
    _, err = moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = "" }
    assert.matches("group.id", err.message, 1, true)
    _, err = moonlog.consumer { ["auto.offset.reset"] = "earliest" }
    assert.matches("bootstrap.servers", err.message, 1, true)
  end)
end)
