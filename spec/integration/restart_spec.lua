-- Durability across restarts: a clean stop keeps everything; a kill -9 in the middle of a
-- produce stream (acks=1) loses no acknowledged record and leaves no batch half present.
local process = require "process"
local brokers = require "broker"
local wire = require "wire"

local read_all = wire.read_partition

describe("broker restart", function()
  it("keeps topics, records and offsets over a clean stop and start", function()
    local b = brokers.start {}
    finally(function() b:stop() end) -- also when an assertion fails first
    local c = assert(wire.connect("127.0.0.1", b.port))
    assert.are.equal(0, c:create_topic("durable", 2, { ["segment.bytes"] = "20000" }))
    for i = 1, 200 do
      local recs = {}
      for j = 1, 10 do recs[j] = { key = ("k%d-%d"):format(i, j), value = string.rep("x", 50) } end
      local e = c:produce("durable", i % 2, wire.record_batch(recs), 1)
      assert.are.equal(0, e)
    end
    c:close()
    local before0 = read_all(b.port, "durable", 0)
    b:restart()
    assert.truthy(b:log_text():find("listening on"))
    local after0, _, hw0 = read_all(b.port, "durable", 0)
    local _, _, hw1 = read_all(b.port, "durable", 1)
    assert.are.equal(1000, hw0)
    assert.are.equal(1000, hw1)
    assert.are.same(before0, after0)
  end)

  it("loses no acknowledged record when killed with -9 during acks=1 produce", function()
    local b = brokers.start {}
    finally(function() b:stop() end) -- also when an assertion fails first
    local c = assert(wire.connect("127.0.0.1", b.port))
    assert.are.equal(0, c:create_topic("crashy", 1, { ["segment.bytes"] = "100000" }))
    c:close()
    -- A writer in a child process keeps producing and logs each acknowledged base offset;
    -- we kill the broker while it is mid-stream.
    local acked_log = b.dir .. "/acked.txt"
    local script = b.dir .. "/writer.lua"
    process.write_file(script, ([[
      package.path = %q .. "/spec/support/?.lua;" .. package.path
      local wire = require "wire"
      local c = assert(wire.connect("127.0.0.1", %d))
      local out = assert(io.open(%q, "w"))
      out:setvbuf("line")
      for i = 1, 1000000 do
        local recs = {}
        for j = 1, 20 do recs[j] = { key = i .. "-" .. j, value = string.rep("v", 100) } end
        local ok, e, base = pcall(c.produce, c, "crashy", 0, wire.record_batch(recs), 1)
        if not ok then break end
        if e == 0 then out:write(i, " ", base, "\n") end
      end
    ]]):format(os.getenv("MOONLOG_ROOT") or ".", b.port, acked_log))
    local w = process.spawn { argv = process.luajit_argv(script), stderr = b.dir .. "/writer.err" }
    process.wait_for("some acknowledged batches (writer errors: " .. b.dir .. "/writer.err)", 20, function()
      local t = process.read_file(acked_log) or ""
      local n = select(2, t:gsub("\n", ""))
      return n >= 300
    end)
    b:kill9()
    w:wait(20)
    local acked = {}
    for l in io.lines(acked_log) do
      local i, base = l:match("^(%d+) (%d+)$")
      acked[#acked + 1] = { i = tonumber(i), base = tonumber(base) }
    end
    assert.is_true(#acked >= 300)
    b:launch()
    assert.truthy(b:log_text():find("recover"), "the unclean stop is noticed and the log recovered")
    local keys, batches = read_all(b.port, "crashy", 0)
    for _, a in ipairs(acked) do
      for j = 1, 20 do
        assert.are.equal(a.i .. "-" .. j, keys[a.base + j - 1])
      end
    end
    for _, bt in ipairs(batches) do
      assert.are.equal(20, bt.count) -- no batch is half present
      for j = 0, 19 do assert.truthy(keys[bt.base + j]) end
    end
  end)
end)
