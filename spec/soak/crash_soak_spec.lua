-- Soak (make soak, not make test): for MOONLOG_SOAK_SECONDS (default 120) a writer produces
-- with acks=1 while the broker is killed with -9 and restarted again and again on the same port
-- and data. After every restart each acknowledged batch must be there, whole, at the offset the
-- broker acknowledged. #soak
local process = require "process"
local brokers = require "broker"
local wire = require "wire"

local SECONDS = tonumber(os.getenv("MOONLOG_SOAK_SECONDS") or "120")

local WRITER = [[
  package.path = %q .. "/spec/support/?.lua;" .. package.path
  local wire = require "wire"
  local process = require "process"
  local out = assert(io.open(%q, "w"))
  out:setvbuf("line")
  local c
  local i = 0
  while true do
    if not c then
      c = wire.connect("127.0.0.1", %d, 5000)
      if not c then process.sleep_ms(20) end
    end
    if c then
      i = i + 1
      local recs = {}
      for j = 1, 5 do recs[j] = { key = i .. "-" .. j, value = string.rep("v", 200) } end
      local ok, e, base = pcall(c.produce, c, "soak", 0, wire.record_batch(recs), 1)
      if not ok then
        c:close()
        c = nil
      elseif e == 0 then
        out:write(i, " ", base, "\n")
      end
      -- About 200 batches a second: the checks below re-read everything after every kill.
      process.sleep_ms(5)
    end
  end
]]

local function acked_batches(path)
  local acked = {}
  for l in io.lines(path) do
    local i, base = l:match("^(%d+) (%d+)$")
    if i then acked[#acked + 1] = { i = tonumber(i), base = tonumber(base) } end
  end
  return acked
end

describe("kill -9 soak #soak", function()
  it("keeps every acknowledged batch through repeated kill -9 and restart", function()
    local b = brokers.start {}
    finally(function() b:stop() end) -- also when an assertion fails first (a second stop is a no-op)
    local c = assert(wire.connect("127.0.0.1", b.port))
    assert.are.equal(0, c:create_topic("soak", 1, { ["segment.bytes"] = "200000" }))
    c:close()
    local acked_log = b.dir .. "/acked.txt"
    local script = b.dir .. "/writer.lua"
    process.write_file(script, WRITER:format(os.getenv("MOONLOG_ROOT") or ".", acked_log, b.port))
    local w = process.spawn { argv = process.luajit_argv(script), stderr = b.dir .. "/writer.err" }
    local deadline = process.now_ms() + SECONDS * 1000
    local kills, seen = 0, 0
    while process.now_ms() < deadline do
      process.wait_for("more acknowledged batches (writer errors: " .. b.dir .. "/writer.err)", 30, function()
        local n = #acked_batches(acked_log)
        return n >= seen + 100 and n
      end, 200)
      b:kill9()
      kills = kills + 1
      local acked = acked_batches(acked_log)
      b:launch()
      local keys, batches = wire.read_partition(b.port, "soak", 0)
      for _, a in ipairs(acked) do
        for j = 1, 5 do
          assert.are.equal(a.i .. "-" .. j, keys[a.base + j - 1], "kill " .. kills .. ", batch " .. a.i)
        end
      end
      for _, bt in ipairs(batches) do assert.are.equal(5, bt.count) end
      seen = #acked
    end
    w:signal(process.SIGKILL)
    w:wait(10)
    b:stop()
    assert.is_true(kills >= 3, "the soak ran long enough to kill the broker several times")
    print(("\nsoak: %d kills, %d acknowledged batches checked after each"):format(kills, seen))
  end)
end)
