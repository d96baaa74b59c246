-- Static membership (KIP-345) against a real moonlogd: a consumer with group.instance.id joins
-- with JoinGroup v5+, does not leave the group at close, and a restart with the same id within
-- session.timeout.ms gets its partitions back without a rebalance of the others.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer group.instance.id", function()
  local b

  setup(function() b = brokers.start { overrides = { ["num.partitions"] = "4" } } end)
  teardown(function() if b then b:stop() end end)

  local function consumer(group, instance)
    local c = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = group,
      ["group.instance.id"] = instance, ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = "100",
      ["heartbeat.interval.ms"] = "200", ["session.timeout.ms"] = "10000" })
    assert(c:subscribe { "st" })
    return c
  end

  local function parts(c)
    local out = {}
    for _, tp in ipairs(assert(c:assignment())) do out[#out + 1] = tp.partition end
    table.sort(out)
    return table.concat(out, ",")
  end

  local function generations(group)
    local n = 0
    for _ in b:log_text():gmatch("group " .. group:gsub("%-", "%%-") .. ": generation %d+ with") do n = n + 1 end
    return n
  end

  it("is checked as Kafka checks it", function()
    for _, bad in ipairs({ "", "has space", ("x"):rep(250), "slash/no" }) do
      local c, err = moonlog.consumer { ["bootstrap.servers"] = "127.0.0.1:1", ["group.id"] = "g",
        ["group.instance.id"] = bad }
      assert.is_nil(c)
      assert.truthy(err.message:find("group.instance.id", 1, true), err.message)
    end
    local c, err = moonlog.consumer { ["bootstrap.servers"] = "127.0.0.1:1", ["group.instance.id"] = "a" }
    assert.is_nil(c)
    assert.truthy(err.message:find("needs group.id", 1, true), err.message)
  end)

  it("a restarted static member gets its partitions back without a rebalance of the others", function()
    assert(process.sh("echo x | kcat -P -b " .. b.bootstrap .. " -t st -p 0"))
    local a, bb = consumer("g-static", "member-a"), nil
    finally(function()
      if a then a:close() end
      if bb then bb:close() end
    end)
    process.wait_for("a alone", 30, function()
      assert(a:poll(10))
      return parts(a) == "0,1,2,3"
    end, 50)
    bb = consumer("g-static", "member-b")
    process.wait_for("two static members with two partitions each", 30, function()
      assert(a:poll(10))
      assert(bb:poll(10))
      return #parts(a) == 3 and #parts(bb) == 3
    end, 50)
    local a_parts, b_parts = parts(a), parts(bb)
    -- range orders static members by group.instance.id
    assert.are.equal("0,1", a_parts)
    assert.are.equal("2,3", b_parts)
    local gens = generations("g-static")
    assert.is_true(gens >= 2, "the broker logged " .. gens .. " generations")
    -- b, a follower, restarts (a leader's return makes the coordinator rebalance, as Kafka's
    -- before KIP-814 does, so that the leader learns the subscriptions)
    assert(bb:close())
    bb = nil
    -- no LeaveGroup: the group keeps b's membership (no new generation), a keeps its partitions
    for _ = 1, 10 do
      assert(a:poll(50))
      assert.are.equal(a_parts, parts(a))
    end
    assert.are.equal(gens, generations("g-static"))
    bb = consumer("g-static", "member-b")
    process.wait_for("the restarted b has its partitions back", 30, function()
      assert(a:poll(10))
      assert(bb:poll(10))
      return parts(bb) == b_parts
    end, 50)
    process.sleep_ms(500)
    assert(a:poll(10))
    assert.are.equal(a_parts, parts(a))
    assert.are.equal(gens, generations("g-static"))
    -- a dynamic member's close leaves at once: the coordinator rebalances
    local d = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = "g-static",
      ["auto.offset.reset"] = "earliest", ["heartbeat.interval.ms"] = "200", ["session.timeout.ms"] = "10000" })
    assert(d:subscribe { "st" })
    process.wait_for("a dynamic third member", 30, function()
      assert(a:poll(10))
      assert(bb:poll(10))
      assert(d:poll(10))
      return #assert(d:assignment()) > 0
    end, 50)
    local with_d = generations("g-static")
    assert(d:close())
    process.wait_for("the group without the dynamic member (sooner than session.timeout.ms)", 5, function()
      assert(a:poll(10))
      assert(bb:poll(10))
      return generations("g-static") > with_d
    end, 50)
  end)
end)
