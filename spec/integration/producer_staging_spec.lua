-- With a partitioner plugin, send() stages records and they are partitioned a list at a time
-- (core/client/staging.c). What that must not change: an idle application's records still go
-- out, one thread's order per partition holds across staged and explicit-partition records,
-- on_batch_full still moves a sticky plugin, every record's bytes arrive as sent, plugin.timeout.ms fails only the looping record,
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

  it("sends a staged record byte for byte: null and empty keys and values, headers, long varints", function()
    -- the plugin checks what it sees of each record against the record's own "expect" header
    -- (a record is encoded once when staged; the plugin's view and the batch both read that copy)
    local path = plugin("seen", [[
      local function show(r)
        local s = r.key == nil and "nil" or ("k" .. #r.key .. ":" .. r.key:sub(1, 3))
        local expect
        for _, h in ipairs(r.headers or {}) do
          if h.key == "expect" then expect = h.value
          else s = s .. "|" .. h.key .. "=" .. (h.value == nil and "NULL" or (#h.value .. ":" .. h.value:sub(1, 3))) end
        end
        return s .. "|" .. r.key_size .. "|" .. r.value_size, expect
      end
      return { api = 1, kind = "partitioner", partition = function(r)
        local s, expect = show(r)
        if s ~= expect then error("saw " .. s .. " expected " .. tostring(expect)) end
        return 1
      end }]])
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = path, ["linger.ms"] = "5" })
    local long_k, long_v, long_h = ("x"):rep(300), ("y"):rep(20000), ("z"):rep(200)
    local cases = {
      { key = "k1", value = "v1", headers = { { "a", "1" }, { "b", nil }, { "c", "" } }, seen = "k2:k1|a=1:1|b=NULL|c=0:|2|2" },
      { value = "v2", seen = "nil|-1|2" },
      { key = "", seen = "k0:|0|-1" },
      { key = long_k, value = long_v, headers = { { "long", long_h } }, seen = "k300:xxx|long=200:zzz|300|20000" },
      { key = "k5", value = "", headers = { { "", "e" } }, seen = "k2:k5|=1:e|2|0" },
    }
    local N, done = 60, 0
    for i = 1, N do
      local c = cases[(i - 1) % #cases + 1]
      local hs = { { "expect", c.seen } }
      for _, h in ipairs(c.headers or {}) do hs[#hs + 1] = { h[1], h[2] } end
      assert(p:send({ topic = "bytes", key = c.key, value = c.value, headers = hs }, function(md, err)
        assert(not err, err and err.message)
        assert.are.equal(1, md.partition)
        done = done + 1
      end))
    end
    assert(p:flush())
    assert.are.equal(N, done)
    assert(p:close())
    local cons = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["auto.offset.reset"] = "earliest",
      ["fetch.max.wait.ms"] = "50" })
    assert(cons:assign { { topic = "bytes", partition = 1 } })
    local got = {}
    process.wait_for(N .. " records", 20, function()
      for _, r in ipairs(assert(cons:poll(100))) do got[#got + 1] = r end
      return #got >= N
    end, 1)
    assert(cons:close())
    for i = 1, N do
      local c, r = cases[(i - 1) % #cases + 1], got[i]
      assert.are.equal(i - 1, tonumber(r.offset))
      assert.are.equal(c.key, r.key, "key of record " .. i)
      assert.are.equal(c.value, r.value, "value of record " .. i)
      assert.are.equal(#(c.headers or {}) + 1, #r.headers, "headers of record " .. i)
      assert.are.same({ key = "expect", value = c.seen }, r.headers[1])
      for k, h in ipairs(c.headers or {}) do
        assert.are.equal(h[1], r.headers[k + 1].key)
        assert.are.equal(h[2], r.headers[k + 1].value, "header " .. k .. " of record " .. i)
      end
    end
  end)

  it("gives each record's own sizes and timestamp when read, and pairs(record) lists only topic and partitions", function()
    -- key_size, value_size and timestamp are read from the staged record when the plugin asks
    -- (HOOKS.md): each record of a list must see its own, not the previous record's
    local path = plugin("fields", [[
      return { api = 1, kind = "partitioner", partition = function(r)
        local listed = {}
        for k in pairs(r) do listed[#listed + 1] = k end
        table.sort(listed)
        local want = tonumber(r.key)
        if table.concat(listed, ",") ~= "partitions,topic" then error("pairs listed " .. table.concat(listed, ",")) end
        if r.timestamp ~= 1700000000000 + want then error("timestamp " .. tostring(r.timestamp)) end
        if r.value_size ~= want or r.key_size ~= #r.key then error("sizes " .. r.value_size .. " " .. r.key_size) end
        if r.topic ~= "fields" or r.partitions ~= 3 then error("topic " .. r.topic .. " " .. r.partitions) end
        return want % 3
      end }]])
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = path, ["linger.ms"] = "5" })
    local N, placed = 300, {}
    for i = 1, N do
      assert(p:send({ topic = "fields", key = tostring(i), value = ("v"):rep(i), timestamp = 1700000000000 + i },
        function(md, err)
          assert(not err, err and err.message)
          placed[i] = md.partition
        end))
    end
    assert(p:close())
    for i = 1, N do assert.are.equal(i % 3, placed[i], "record " .. i) end
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
