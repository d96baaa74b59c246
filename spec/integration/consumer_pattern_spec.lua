-- Subscription to a pattern against a real moonlogd: the topics whose whole name matches a POSIX
-- extended regular expression, found again every metadata.max.age.ms, so a topic created after
-- subscribing is consumed; internal topics never match.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer subscribe to a pattern", function()
  local b

  setup(function() b = brokers.start { overrides = { ["num.partitions"] = "2" } } end)
  teardown(function() if b then b:stop() end end)

  local function produce(topic, values)
    local ok, msg = process.sh("printf '" .. table.concat(values, "\\n") .. "\\n' | kcat -P -b " .. b.bootstrap ..
      " -t " .. topic)
    assert(ok, msg)
  end

  local function consumer(group)
    return assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = group,
      ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = "100", ["heartbeat.interval.ms"] = "200",
      ["session.timeout.ms"] = "6000", ["metadata.max.age.ms"] = "300" })
  end

  it("consumes the matching topics, and a matching topic created after subscribing", function()
    produce("pat-1", { "a1", "a2" })
    produce("other", { "o1" })
    produce("xpat-1", { "x1" })   -- the whole name must match
    produce("pat-one", { "p1" })
    local c = consumer("g-pat")
    finally(function() c:close() end)
    assert(c:subscribe { pattern = "pat-[0-9]+" })
    local seen = {}
    local function drain()
      for _, r in ipairs(assert(c:poll(20))) do
        assert.is_nil(seen[r.value], r.value .. " read twice")
        seen[r.value] = r.topic
      end
    end
    process.wait_for("pat-1's records", 30, function()
      drain()
      return seen.a1 and seen.a2
    end, 1)
    produce("pat-22", { "b1", "b2", "b3" })
    process.wait_for("the records of pat-22, created after subscribing", 30, function()
      drain()
      return seen.b1 and seen.b2 and seen.b3
    end, 1)
    process.sleep_ms(400)
    drain()
    assert.is_nil(seen.o1)
    assert.is_nil(seen.x1)
    assert.is_nil(seen.p1)
    local topics = {}
    for _, tp in ipairs(assert(c:assignment())) do topics[tp.topic] = (topics[tp.topic] or 0) + 1 end
    assert.are.same({ ["pat-1"] = 2, ["pat-22"] = 2 }, topics)
    -- subscribing to topics replaces the pattern
    assert(c:subscribe { "other" })
    process.wait_for("only other now", 30, function()
      drain()
      local only = true
      for _, tp in ipairs(assert(c:assignment())) do only = only and tp.topic == "other" end
      return only and #assert(c:assignment()) == 2 and seen.o1
    end, 1)
  end)

  it("never matches __consumer_offsets", function()
    -- the first spec's group committed: the internal topic exists and Metadata lists it
    local ok, listing = process.sh("kcat -L -b " .. b.bootstrap)
    assert(ok, listing)
    assert.truthy(listing:find("__consumer_offsets", 1, true), listing)
    local c = consumer("g-all")
    finally(function() c:close() end)
    assert(c:subscribe { pattern = ".*" })
    process.wait_for("every topic", 30, function()
      assert(c:poll(20))
      local topics = {}
      for _, tp in ipairs(assert(c:assignment())) do topics[tp.topic] = true end
      assert.is_nil(topics.__consumer_offsets)
      return topics["pat-1"] and topics.other
    end, 1)
    local n = 0
    for _, tp in ipairs(assert(c:assignment())) do
      assert.are_not.equal("__consumer_offsets", tp.topic)
      n = n + 1
    end
    assert.is_true(n >= 8)
  end)

  it("refuses a pattern that does not compile, naming it", function()
    local c = consumer("g-bad")
    finally(function() c:close() end)
    local ok, err = c:subscribe { pattern = "pat-(" }
    assert.is_nil(ok)
    assert.are.equal("INVALID_ARG", err.name)
    assert.truthy(err.message:find("pattern 'pat-(' is not a POSIX extended regular expression", 1, true), err.message)
  end)
end)
