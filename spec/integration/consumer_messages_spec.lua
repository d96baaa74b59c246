-- The Lua module's iterator over messages: `for msg in consumer:messages(timeout_ms)` gives every
-- record once, in order, ends when a poll of timeout_ms brings nothing, and raises poll's error.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer:messages()", function()
  local b

  setup(function() b = brokers.start() end)
  teardown(function() if b then b:stop() end end)

  local function produce(topic, lines)
    local file = os.tmpname()
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    local ok, msg = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -p 0 < " .. file)
    os.remove(file)
    assert(ok, msg)
  end

  local function consumer(extra)
    local cfg = { ["bootstrap.servers"] = b.bootstrap, ["auto.offset.reset"] = "earliest",
                  ["fetch.max.wait.ms"] = "100", ["max.poll.records"] = "7" }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(moonlog.consumer(cfg))
  end

  it("gives every record once, in order, and ends when nothing comes for the timeout", function()
    local lines = {}
    for i = 0, 24 do lines[#lines + 1] = "m" .. i end
    produce("iter", lines)
    local c = consumer()
    assert(c:assign { { topic = "iter", partition = 0 } })
    assert.are.equal(0, tonumber(assert(c:position("iter", 0))))
    local got = {}
    for msg in c:messages(2000) do got[#got + 1] = msg.value .. "@" .. tonumber(msg.offset) end
    local want = {}
    for i = 0, 24 do want[#want + 1] = "m" .. i .. "@" .. i end
    assert.are.same(want, got)
    assert.are.equal(25, tonumber(assert(c:position("iter", 0))))
    assert(c:close())
  end)

  it("raises poll's error", function()
    produce("iter-bad", { '{"ok": 1}', "not json", '{"ok": 3}' })
    local c = consumer { ["value.deserializer"] = "json" }
    assert(c:assign { { topic = "iter-bad", partition = 0 } })
    local got = {}
    local ok, err = pcall(function()
      for msg in c:messages(2000) do got[#got + 1] = msg.value end
    end)
    assert.is_false(ok)
    assert.are.equal("DESERIALIZATION", err.name)
    assert.are.equal(1, tonumber(err.offset))
    assert.are.same({ '{"ok": 1}' }, got)
    assert(c:close())
  end)
end)
