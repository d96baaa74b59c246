-- The consumer's iterator (for msg in c:messages(timeout_ms) do ... end) against moonlogd: every
-- record once and in order across several polls, the end after a poll that got nothing in time,
-- and a poll error raised with its name.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer:messages()", function()
  local b

  setup(function() b = brokers.start { overrides = { ["num.partitions"] = "1" } } end)
  teardown(function() if b then b:stop() end end)

  local function consumer(extra)
    local cfg = { ["bootstrap.servers"] = b.bootstrap, ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = "50" }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(moonlog.consumer(cfg))
  end

  it("returns every record once, in offset order, over polls of max.poll.records, then ends", function()
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, ["linger.ms"] = 1 })
    for i = 0, 249 do assert(p:send { topic = "iter", key = "k" .. i, value = "v" .. i }) end
    assert(p:close())
    local c = consumer { ["max.poll.records"] = "7" }
    assert(c:assign { { topic = "iter", partition = 0 } })
    local n = 0
    -- a first poll may come back empty before the fetch answered: wait until records flow
    process.wait_for("the first records", 20, function()
      for msg in c:messages(2000) do
        assert.are.equal(n, tonumber(msg.offset))
        assert.are.equal("v" .. n, msg.value)
        n = n + 1
      end
      return n > 0
    end)
    assert.are.equal(250, n)
    assert.are.equal(250, tonumber(assert(c:position("iter", 0))))
    -- ended by a poll of 2000 ms that got nothing: the next loop picks up new records
    p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap })
    assert(p:send_sync { topic = "iter", value = "late" })
    assert(p:close())
    local late
    for msg in c:messages(2000) do late = msg end
    assert.are.equal("late", late.value)
    assert.are.equal(250, tonumber(late.offset))
    assert(c:close())
  end)

  it("raises a poll error with its name", function()
    local c = consumer { ["auto.offset.reset"] = "none" }
    assert(c:assign { { topic = "iter", partition = 0 } })
    local ok, err = pcall(function() for _ in c:messages(5000) do end end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("poll: NO_OFFSET", 1, true), tostring(err))
    assert(c:close())
  end)

  it("raises poll's error table: a record that fails to deserialize, with its offset", function()
    local file = os.tmpname()
    process.write_file(file, '{"ok": 1}\nnot json\n{"ok": 3}\n')
    local ok, msg = process.sh("kcat -P -b " .. b.bootstrap .. " -t iter-bad -p 0 < " .. file)
    os.remove(file)
    assert(ok, msg)
    local c = consumer { ["value.deserializer"] = "json", ["max.poll.records"] = "7" }
    assert(c:assign { { topic = "iter-bad", partition = 0 } })
    local got = {}
    local err
    ok, err = pcall(function()
      for m in c:messages(2000) do got[#got + 1] = m.value end
    end)
    assert.is_false(ok)
    assert.are.equal("DESERIALIZATION", err.name)
    assert.are.equal(1, tonumber(err.offset))
    assert.truthy(tostring(err):find("poll: DESERIALIZATION", 1, true), tostring(err))
    assert.are.same({ '{"ok": 1}' }, got)
    assert(c:close())
  end)
end)
