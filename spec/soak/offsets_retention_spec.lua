-- offsets.retention.minutes (make soak: its minimum is one minute): the offsets of a group with no
-- members are dropped once that old, and stay dropped after a restart (tombstones written). #soak
local process = require "process"
local brokers = require "broker"
local wire = require "wire"

-- OffsetCommit v2 without a member (generation -1): the "simple consumer" commit.
local function commit(c, group, topic, offset)
  local body = wire.str(group) .. wire.i32(-1) .. wire.str("") .. wire.i64(-1)
    .. wire.array({ topic }, function(t)
      return wire.str(t) .. wire.array({ 0 }, function(p) return wire.i32(p) .. wire.i64(offset) .. wire.str("") end)
    end)
  local r = wire.reader(c:request(8, 2, body))
  local res = r:array(function(x) return { x:str(), x:array(function(p) return { p:i32(), p:i16() } end) } end)
  return res[1][2][1][2]
end

-- OffsetFetch v1 of partition 0: the committed offset (-1 when none).
local function fetch(c, group, topic)
  local body = wire.str(group) .. wire.array({ topic }, function(t)
    return wire.str(t) .. wire.array({ 0 }, wire.i32)
  end)
  local r = wire.reader(c:request(9, 1, body))
  local res = r:array(function(x)
    return { x:str(), x:array(function(p) return { p:i32(), p:i64(), p:str(), p:i16() } end) }
  end)
  return res[1][2][1][2]
end

describe("offsets retention #soak", function()
  it("drops the offsets of an empty group after offsets.retention.minutes, for good", function()
    local b = brokers.start { overrides = { ["offsets.retention.minutes"] = "1",
      ["offsets.retention.check.interval.ms"] = "1000", ["offsets.topic.num.partitions"] = "1" } }
    finally(function() b:stop() end) -- also when an assertion fails first
    local c = assert(wire.connect("127.0.0.1", b.port))
    assert.are.equal(0, c:create_topic("kept", 1))
    assert.are.equal(0, (wire.reader(c:request(10, 0, wire.str("old-group"))):i16()))
    assert.are.equal(0, commit(c, "old-group", "kept", 42))
    assert.are.equal(42, fetch(c, "old-group", "kept"))
    c:close()
    process.wait_for("the offsets to expire", 90, function()
      local c2 = assert(wire.connect("127.0.0.1", b.port))
      local v = fetch(c2, "old-group", "kept")
      c2:close()
      return v == -1
    end, 1000)
    assert.truthy(b:log_text():find("old-group: offsets expired", 1, true))
    b:restart()
    local c3 = assert(wire.connect("127.0.0.1", b.port))
    assert.are.equal(-1, fetch(c3, "old-group", "kept"))
    c3:close()
  end)
end)
