-- libmoonlog's producer against a real moonlogd, read back with kcat: the three ways to send,
-- metadata in callbacks, keys/headers/timestamps, every codec, batching, errors Kafka's way.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("producer against moonlogd", function()
  local b

  setup(function() b = brokers.start { overrides = { ["num.partitions"] = "3" } } end)
  teardown(function() if b then b:stop() end end)

  local function producer(extra)
    local cfg = { ["bootstrap.servers"] = b.bootstrap, ["linger.ms"] = "2" }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(moonlog.producer(cfg))
  end

  it("sends synchronously and returns topic, partition, offset and timestamp", function()
    local p = producer()
    local md1 = assert(p:send_sync { topic = "sync", key = "k", value = "one", timestamp = 1700000000123 })
    local md2 = assert(p:send_sync { topic = "sync", key = "k", value = "two" })
    assert.are.equal(md1.partition, md2.partition)
    assert.are.equal(moonlog.murmur2_partition("k", 3), md1.partition) -- the Java client's place for "k"
    assert.are.equal(0, tonumber(md1.offset))
    assert.are.equal(1, tonumber(md2.offset))
    assert.are.equal(1700000000123, tonumber(md1.timestamp))
    assert.is_true(tonumber(md2.timestamp) > 1700000000123)
    assert(p:close())
    local recs = client.consume(b.bootstrap, "sync", 2)
    assert.are.equal("one", recs[1].value)
    assert.are.equal("two", recs[2].value)
  end)

  it("calls back once per record with its offset, in order per partition", function()
    local p = producer()
    local N, got, last = 3000, 0, {}
    for i = 1, N do
      assert(p:send({ topic = "async", key = "key" .. (i % 10), value = "v" .. i }, function(md, err)
        assert.is_nil(err)
        local o = tonumber(md.offset)
        assert.is_true(o > (last[md.partition] or -1))
        last[md.partition] = o
        got = got + 1
      end))
    end
    assert(p:flush())
    assert.are.equal(N, got)
    assert(p:close())
    assert.are.equal(N, #client.consume(b.bootstrap, "async", N))
  end)

  it("reports each record's own offset when many batches of one partition are ready at once", function()
    local p = producer { ["batch.size"] = "200", ["linger.ms"] = "100" }
    local offset_of, N = {}, 2000
    for i = 1, N do
      assert(p:send({ topic = "many-batches", partition = 1, value = tostring(i) }, function(md, err)
        assert.is_nil(err)
        offset_of[i] = tonumber(md.offset)
      end))
    end
    assert(p:flush())
    assert(p:close())
    local seen = {}
    for i = 1, N do
      assert.is_nil(seen[offset_of[i]], "offset " .. tostring(offset_of[i]) .. " reported twice")
      seen[offset_of[i]] = i
    end
    for _, r in ipairs(client.consume(b.bootstrap, "many-batches", N)) do
      assert.are.equal(tonumber(r.value), seen[r.offset], "offset " .. r.offset)
    end
  end)

  it("fire-and-forget: delivered without any callback", function()
    local p = producer()
    for i = 1, 500 do assert(p:send { topic = "fnf", value = "v" .. i }) end
    assert(p:close())
    assert.are.equal(500, p:counter("records.sent") or 500)
    assert.are.equal(500, #client.consume(b.bootstrap, "fnf", 500))
  end)

  it("sends to an explicit partition, with headers and null keys", function()
    local p = producer()
    local md = assert(p:send_sync { topic = "explicit", partition = 2, value = "x", headers = { h1 = "a", h2 = "b" } })
    assert(p:send_sync { topic = "explicit", partition = 2, value = "y", headers = { { "dup", "1" }, { key = "dup", value = "2" } } })
    assert.are.equal(2, md.partition)
    local _, err = p:send { topic = "explicit", partition = 3, value = "x" }
    assert.are.equal("INVALID_ARG", err.name)
    assert(p:close())
    local ok, out = process.sh("kcat -C -b " .. b.bootstrap .. " -t explicit -p 2 -e -q -f '%h|%k|%s\\n'")
    assert(ok, out)
    assert.truthy(out:find("h1=a", 1, true) and out:find("h2=b", 1, true), out)
    assert.truthy(out:find("||x", 1, true) or out:find("|x", 1, true), out)
    assert.truthy(out:find("dup=1,dup=2|", 1, true), out)
  end)

  for _, codec in ipairs({ "gzip", "snappy", "lz4", "zstd" }) do
    it("compresses batches with " .. codec .. " and kcat reads them back", function()
      local p = producer { ["compression.type"] = codec, ["batch.size"] = "65536", ["linger.ms"] = "20" }
      for i = 1, 2000 do assert(p:send { topic = "codec-" .. codec, key = tostring(i), value = ("payload %d "):format(i):rep(5) }) end
      assert(p:close())
      local recs = client.consume(b.bootstrap, "codec-" .. codec, 2000)
      assert.are.equal(2000, #recs)
      local seen = {}
      for _, r in ipairs(recs) do seen[tonumber(r.key)] = r.value end
      assert.are.equal(("payload 1234 "):rep(5), seen[1234])
    end)
  end

  it("fails a record larger than max.request.size at once with MESSAGE_TOO_LARGE", function()
    local p = producer { ["max.request.size"] = "1000" }
    local ok, err = p:send { topic = "big", value = ("x"):rep(2000) }
    assert.is_nil(ok)
    assert.are.equal("MESSAGE_TOO_LARGE", err.name)
    assert.is_false(err.retriable)
    assert(p:close())
  end)

  it("fails with the broker's non-retriable error when the broker refuses a batch", function()
    local p = producer { ["max.request.size"] = "3000000" }
    local md, err = p:send_sync { topic = "toolarge", value = ("y"):rep(2 * 1024 * 1024) }
    assert.is_nil(md)
    assert.are.equal("MESSAGE_TOO_LARGE", err.name)
    assert.is_false(err.retriable)
    assert(p:close())
  end)

  it("gives partitioners the queued bytes and the produce latency of each partition", function()
    local dir = process.tmpdir("adaptive")
    local path = dir .. "/least_queued.lua"
    client.write_plugin(path, [[
return {
  api = 1, kind = "partitioner",
  partition = function(record, cluster)
    local best, best_q = 0, nil
    for p = 0, record.partitions - 1 do
      local q = cluster.queued_bytes(record.topic, p)
      local lat = cluster.latency_ms(record.topic, p)
      assert(q >= 0 and (lat == nil or lat >= 0))
      if lat then moonlog.count("latency.seen") end
      if best_q == nil or q < best_q then best, best_q = p, q end
    end
    return best
  end,
}
]])
    local p = producer { partitioner = path, ["linger.ms"] = "50" }
    local parts = {}
    -- a list of up to 64 records is partitioned before any of it is placed (HOOKS.md), so the
    -- queues change only between lists: 300 records span several lists before the flush
    for i = 1, 600 do
      assert(p:send({ topic = "adaptive", value = tostring(i) }, function(md, err)
        assert.is_nil(err)
        parts[md.partition] = true
      end))
      if i == 300 then assert(p:flush()) end
    end
    assert(p:close())
    assert.is_true(parts[0] and parts[1] and parts[2]) -- least queued spreads the records
    process.rmdir(dir)
  end)

  it("acks=0 completes records without offsets", function()
    local p = producer { acks = "0" }
    local offsets = {}
    for i = 1, 10 do assert(p:send({ topic = "acks0", value = "v" .. i }, function(md, err)
      assert.is_nil(err)
      offsets[#offsets + 1] = tonumber(md.offset)
    end)) end
    assert(p:flush())
    assert.are.equal(10, #offsets)
    assert.are.equal(-1, offsets[1])
    assert(p:close())
    assert.are.equal(10, #client.consume(b.bootstrap, "acks0", 10))
  end)
end)
