-- Faults: a plugin failing every tenth record; the broker stopped mid-stream and started again
-- (max.in.flight=1 keeps every record once and in order); retries exhausted; close(timeout)
-- against a stopped broker.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("producer faults", function()
  local dir
  setup(function() dir = process.tmpdir("faults") end)
  teardown(function() process.rmdir(dir) end)

  it("a plugin failing every tenth record fails exactly those, with its error", function()
    local b = brokers.start { overrides = { ["num.partitions"] = "2" } }
    finally(function() b:stop() end) -- also when an assertion fails first
    local path = dir .. "/tenth.lua"
    -- by the record's key, not by a count of calls: the records of a thread's staging list may be
    -- partitioned by the I/O thread (its own Lua state) when they waited, so counts are per state
    client.write_plugin(path, [[
return {
  api = 1, kind = "partitioner",
  partition = function(record, cluster)
    local n = tonumber(record.key)
    if n % 10 == 0 then
      error("refusing record " .. n)
    end
    return n % record.partitions
  end,
}
]])
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = path })
    -- send() accepts every record: the partitioner runs later, on the staged list, and its error
    -- reaches the record's callback (as a Java partitioner's exception does)
    local failed, delivered = {}, 0
    for i = 1, 1000 do
      assert(p:send({ topic = "tenth", key = tostring(i), value = tostring(i) }, function(md, err)
        if err then failed[#failed + 1] = { i = i, err = err, partition = md.partition }
        else delivered = delivered + 1 end
      end))
    end
    assert(p:close())
    assert.are.equal(100, #failed)
    assert.are.equal(900, delivered)
    table.sort(failed, function(x, y) return x.i < y.i end)
    for k, f in ipairs(failed) do
      assert.are.equal(10 * k, f.i)
      assert.are.equal("PARTITIONER", f.err.name)
      assert.are.equal(-1, f.partition)
      assert.truthy(f.err.message:find("tenth.lua:6: refusing record " .. f.i, 1, true), f.err.message)
    end
    assert.are.equal(100, p:counter("plugin.errors"))
    assert.are.equal(100, p:counter("records.failed"))
    assert.are.equal(900, p:counter("records.sent"))
    local got = {}
    for _, r in ipairs(client.consume(b.bootstrap, "tenth", 900)) do got[tonumber(r.value)] = (got[tonumber(r.value)] or 0) + 1 end
    for i = 1, 1000 do
      if i % 10 == 0 then assert.is_nil(got[i], "record " .. i) else assert.are.equal(1, got[i], "record " .. i) end
    end
  end)

  it("a partitioner error reaches send_sync's result and a fire-and-forget record fails alone", function()
    local b = brokers.start { overrides = { ["num.partitions"] = "2" } }
    finally(function() b:stop() end) -- also when an assertion fails first
    local path = dir .. "/picky.lua"
    client.write_plugin(path, [[
return {
  api = 1, kind = "partitioner",
  partition = function(record, cluster)
    if record.key == "bad" then error("no partition for bad") end
    if record.key == "seven" then return 7 end
    return 1
  end,
}
]])
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = path })
    local md, err = p:send_sync { topic = "picky", key = "bad", value = "x" }
    assert.is_nil(md)
    assert.are.equal("PARTITIONER", err.name)
    assert.truthy(err.message:find("picky.lua:4: no partition for bad", 1, true), err.message)
    md, err = p:send_sync { topic = "picky", key = "seven", value = "x" }
    assert.is_nil(md)
    assert.truthy(err.message:find("partition returned 7, not a partition of picky (0..1)", 1, true), err.message)
    assert(p:send { topic = "picky", key = "bad", value = "lost" }) -- fire-and-forget: counted, not sent
    assert.are.equal(1, assert(p:send_sync { topic = "picky", key = "good", value = "kept" }).partition)
    assert(p:close())
    assert.are.equal(3, p:counter("plugin.errors"))
    assert.are.equal(3, p:counter("records.failed"))
    local got = client.consume(b.bootstrap, "picky", 1)
    assert.are.equal(1, #got)
    assert.are.equal("kept", got[1].value)
  end)

  it("the broker stopped mid-stream and started again: every record once and in order (max.in.flight=1)", function()
    local b = brokers.start { overrides = { ["num.partitions"] = "1" } }
    finally(function() b:stop() end) -- also when an assertion fails first
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, ["max.in.flight.requests.per.connection"] = "1",
                                        ["linger.ms"] = "1", ["batch.size"] = "2000", ["retry.backoff.ms"] = "20",
                                        ["reconnect.backoff.ms"] = "20", ["request.timeout.ms"] = "3000" })
    local N, order, errors = 20000, {}, {}
    local function cb(i) return function(md, err)
      if err then errors[#errors + 1] = err.name .. ": " .. err.message else order[#order + 1] = i end
    end end
    for i = 1, N / 2 do assert(p:send({ topic = "ordered", value = tostring(i) }, cb(i))) end
    client.wait(p, "some records acknowledged", function() return #order >= 1000 end)
    b:stop_process()
    for i = N / 2 + 1, N do assert(p:send({ topic = "ordered", value = tostring(i) }, cb(i))) end
    client.wait(p, "the producer to notice the stop", function()
      return p:counter("records.retried") > 0 or #order == N / 2
    end)
    b:launch()
    assert(p:flush())
    io.stderr:write("[ordered] retried batches: ", p:counter("records.retried"), "\n")
    assert(p:close())
    assert.are.same({}, errors)
    assert.are.equal(N, #order)
    for k = 1, N do assert.are.equal(k, order[k]) end
    local recs = client.consume(b.bootstrap, "ordered", N)
    assert.are.equal(N, #recs)
    for k = 1, N do assert.are.equal(tostring(k), recs[k].value) end
  end)

  it("with retries exhausted every undelivered record gets its error in the callback", function()
    local b = brokers.start { overrides = { ["num.partitions"] = "1" } }
    finally(function() b:stop() end) -- also when an assertion fails first
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, retries = "0",
                                        ["delivery.timeout.ms"] = "1500", ["request.timeout.ms"] = "1000",
                                        ["linger.ms"] = "0", ["reconnect.backoff.ms"] = "20" })
    assert(p:send_sync { topic = "exhausted", value = "first" })
    b:stop_process()
    local ok_n, errs = 0, {}
    for i = 1, 200 do
      assert(p:send({ topic = "exhausted", value = tostring(i) }, function(md, err)
        if err then errs[#errs + 1] = err else ok_n = ok_n + 1 end
      end))
    end
    client.wait(p, "every record completed", function() return ok_n + #errs == 200 end)
    assert.are.equal(0, ok_n)
    for _, e in ipairs(errs) do
      assert.truthy(e.name == "NETWORK_EXCEPTION" or e.name == "TIMED_OUT", e.name)
      assert.truthy(e.message:find("exhausted", 1, true) or e.message:find("delivery.timeout.ms", 1, true), e.message)
    end
    assert(p:close())
  end)

  it("a full buffer.memory blocks send() for max.block.ms, then fails with BUFFER_EXHAUSTED", function()
    local b = brokers.start { overrides = { ["num.partitions"] = "1" } }
    finally(function() b:stop() end) -- also when an assertion fails first
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, ["buffer.memory"] = "2048",
                                        ["max.block.ms"] = "300", ["reconnect.backoff.ms"] = "20" })
    assert(p:send_sync { topic = "full", value = "first" })
    b:stop_process()
    local accepted, err = 0, nil
    for i = 1, 100 do
      local ok, e = p:send { topic = "full", value = ("v"):rep(200) }
      if not ok then err = e break end
      accepted = accepted + 1
    end
    assert.is_true(accepted >= 3 and accepted < 100, "accepted " .. accepted)
    assert.are.equal("BUFFER_EXHAUSTED", err.name)
    assert.truthy(err.message:find("buffer.memory (2048 bytes) stayed full for max.block.ms (300 ms)", 1, true), err.message)
    local ok, cerr = p:close(200)
    assert.is_nil(ok)
    assert.are.equal("TIMED_OUT", cerr.name)
  end)

  it("close(timeout) against a stopped broker returns by the deadline and fails what is left", function()
    local b = brokers.start { overrides = { ["num.partitions"] = "1" } }
    finally(function() b:stop() end) -- also when an assertion fails first
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, ["linger.ms"] = "0",
                                        ["reconnect.backoff.ms"] = "20" })
    assert(p:send_sync { topic = "closing", value = "first" })
    b:stop_process()
    local errs = {}
    for i = 1, 100 do
      assert(p:send({ topic = "closing", value = tostring(i) }, function(md, err) errs[#errs + 1] = err end))
    end
    local t0 = process.now_ms()
    local ok, err = p:close(500)
    local took = process.now_ms() - t0
    assert.is_nil(ok)
    assert.are.equal("TIMED_OUT", err.name)
    assert.is_true(took < 2000, "close took " .. took .. " ms")
    assert.are.equal(100, #errs)
    for _, e in ipairs(errs) do assert.are.equal("TIMED_OUT", e.name) end
  end)
end)
