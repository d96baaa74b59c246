-- With a partitioner plugin, send() stages records and they are partitioned a list at a time
-- (core/client/staging.c). What that must not change: an idle application's records still go
-- out, one thread's order per partition holds across staged and explicit-partition records,
-- on_batch_full still moves a sticky plugin, plugin.timeout.ms fails only the looping record,
-- and many threads sending at once lose and duplicate nothing.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("producer staging (partitioner plugin)", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "3" } }
    dir = process.tmpdir("staging")
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  local function plugin(name, text)
    local path = dir .. "/" .. name .. ".lua"
    client.write_plugin(path, text)
    return path
  end

  it("partitions a record the application never flushes (the I/O thread takes the waiting list)", function()
    local path = plugin("two", "return { api = 1, kind = 'partitioner', partition = function(r) return 2 end }")
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = path, ["linger.ms"] = "5" })
    local got
    assert(p:send({ topic = "idle", key = "k", value = "alone" }, function(md, err) got = { md = md, err = err } end))
    -- no flush, no further send: only the I/O thread can partition and send it
    client.wait(p, "the lone record acknowledged", function() return got ~= nil end)
    assert.is_nil(got.err)
    assert.are.equal(2, got.md.partition)
    assert.are.equal(1, got.md.generation)
    assert(p:close())
    assert.are.equal("alone", client.consume(b.bootstrap, "idle", 1)[1].value)
  end)

  it("keeps one thread's order in a partition across staged and explicit-partition records", function()
    local path = plugin("zero", "return { api = 1, kind = 'partitioner', partition = function(r) return 0 end }")
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = path, ["linger.ms"] = "1" })
    local N, offsets = 1500, {}
    for i = 1, N do
      local rec = { topic = "mixed", value = tostring(i) }
      if i % 3 == 0 then
        rec.partition = 0 -- explicit: must not overtake the staged ones before it,
        -- even while the I/O thread partitions them (a list waits 1 ms at most): wait about that long
        if i % 2 == 0 then
          local t = os.clock() + 0.0008 + (i % 7) * 0.0001
          while os.clock() < t do end
        end
      end
      assert(p:send(rec, function(md, err)
        assert(not err, err and err.message)
        offsets[i] = tonumber(md.offset)
      end))
    end
    assert(p:close())
    for i = 1, N do assert.are.equal(i - 1, offsets[i], "record " .. i) end
    local recs = client.consume(b.bootstrap, "mixed", N)
    table.sort(recs, function(x, y) return x.offset < y.offset end)
    for i, r in ipairs(recs) do assert.are.equal(tostring(i), r.value) end
  end)

  it("calls on_batch_full so a sticky plugin moves on", function()
    local path = plugin("stick", [[
local current = 0
return {
  api = 1, kind = "partitioner",
  partition = function(r) return current end,
  on_batch_full = function(topic, p) if p == current then current = (current + 1) % 3 end end,
}
]])
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = path,
                                        ["batch.size"] = "2000", ["linger.ms"] = "50" })
    local N, parts = 3000, {}
    for i = 1, N do
      assert(p:send({ topic = "sticky-moves", value = string.rep("v", 90) }, function(md, err)
        assert(not err, err and err.message)
        parts[md.partition] = (parts[md.partition] or 0) + 1
      end))
    end
    assert(p:close())
    -- 3000 records of ~100 bytes in batches of 2000 bytes: the plugin went round all partitions
    for q = 0, 2 do assert.is_true((parts[q] or 0) > 0, "partition " .. q) end
    assert.are.equal(N, (parts[0] or 0) + (parts[1] or 0) + (parts[2] or 0))
  end)

  it("fails only the record whose partitioner call runs past plugin.timeout.ms", function()
    local path = plugin("loops", [[
return {
  api = 1, kind = "partitioner",
  partition = function(r)
    if r.key == "loop" then while true do end end
    return 1
  end,
}
]])
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = path,
                                        ["plugin.timeout.ms"] = "100" })
    local results = {}
    for i, k in ipairs({ "a", "b", "loop", "c", "d" }) do
      assert(p:send({ topic = "timed", key = k, value = k }, function(md, err) results[i] = err or md end))
    end
    assert(p:close())
    assert.are.equal("PLUGIN_TIMEOUT", results[3].name)
    assert.truthy(results[3].message:find("loops.lua:4: ran longer than plugin.timeout.ms (100 ms)", 1, true),
      results[3].message)
    for _, i in ipairs({ 1, 2, 4, 5 }) do assert.are.equal(1, results[i].partition, "record " .. i) end
    assert.are.equal(1, p:counter("plugin.timeouts"))
    assert.are.equal(4, #client.consume(b.bootstrap, "timed", 4))
  end)

  it("perf produce with eight threads and round_robin: every record once, spread over the partitions", function()
    local N = 60000
    local ok, out = process.sh(client.cli .. " perf produce --bootstrap-server " .. b.bootstrap ..
      " --topic staged8 --num-records " .. N .. " --record-size 50 --throughput -1 --threads 8 --partitioner round_robin")
    assert(ok, out)
    assert.truthy(out:find(N .. " records sent", 1, true), out)
    local seen, count, per = {}, 0, {}
    for _, r in ipairs(client.consume(b.bootstrap, "staged8", N)) do
      assert.is_nil(seen[r.key], "key " .. r.key .. " twice")
      seen[r.key] = true
      count = count + 1
      per[r.partition] = (per[r.partition] or 0) + 1
    end
    assert.are.equal(N, count)
    -- round_robin counts per Lua state (each sending thread's, and the I/O thread's): close to even
    for q = 0, 2 do assert.is_true((per[q] or 0) > N / 6, "partition " .. q .. ": " .. tostring(per[q])) end
  end)
end)
