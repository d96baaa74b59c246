-- libmoonlog consumers in a group against a real moonlogd: subscribe, JoinGroup/SyncGroup with
-- the range assignor plugin (the default strategy), heartbeats from the I/O thread, LeaveGroup at close.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer group against moonlogd", function()
  local b

  setup(function() b = brokers.start { overrides = { ["num.partitions"] = "6" } } end)
  teardown(function() if b then b:stop() end end)

  local function consumer(group, extra)
    local cfg = {
      ["bootstrap.servers"] = b.bootstrap, ["group.id"] = group, ["auto.offset.reset"] = "earliest",
      ["fetch.max.wait.ms"] = "100", ["heartbeat.interval.ms"] = "200", ["session.timeout.ms"] = "6000",
    }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(moonlog.consumer(cfg))
  end

  local function produce(topic, n)
    local file = os.tmpname()
    local lines = {}
    for i = 1, n do lines[#lines + 1] = "k" .. i .. "\tv" .. i end
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    local ok, msg = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -K '\t' < " .. file)
    os.remove(file)
    assert(ok, msg)
  end

  it("two consumers share a 6-partition topic and together read every record once", function()
    local N = 3000
    produce("shared", N)
    local c1, c2 = consumer("g-shared"), consumer("g-shared")
    assert(c1:subscribe { "shared" })
    assert(c2:subscribe { "shared" })
    local seen, count, by = {}, 0, { 0, 0 }
    local function drain(c, who)
      for _, r in ipairs(assert(c:poll(50))) do
        local id = r.partition .. ":" .. tostring(r.offset)
        assert.is_nil(seen[id], "record " .. id .. " read twice")
        seen[id] = r.value
        count = count + 1
        by[who] = by[who] + 1
      end
    end
    -- both members in one generation, each with 3 partitions
    process.wait_for("a balanced assignment", 30, function()
      drain(c1, 1)
      drain(c2, 2)
      local a1, a2 = assert(c1:assignment()), assert(c2:assignment())
      return #a1 == 3 and #a2 == 3
    end, 1)
    process.wait_for(N .. " records", 30, function()
      drain(c1, 1)
      drain(c2, 2)
      return count >= N
    end, 1)
    local a1, a2 = c1:assignment(), c2:assignment()
    local owned = {}
    for _, tp in ipairs(a1) do owned[tp.partition] = 1 end
    for _, tp in ipairs(a2) do
      assert.is_nil(owned[tp.partition], "partition " .. tp.partition .. " owned twice")
      owned[tp.partition] = 2
    end
    for p = 0, 5 do assert.is_not_nil(owned[p], "partition " .. p .. " not owned") end
    assert.are.equal(N, count)
    local values = {}
    for _, v in pairs(seen) do values[v] = true end
    for i = 1, N do assert.is_true(values["v" .. i], "v" .. i .. " missing") end
    assert(c1:close())
    -- c1 left: c2 gets all six partitions at its next rebalance
    process.wait_for("c2 to own every partition", 30, function()
      drain(c2, 2)
      return #assert(c2:assignment()) == 6
    end, 1)
    assert.are.equal(N, count) -- committed positions: nothing read again
    assert(c2:close())
  end)

  it("leaves the group when poll is not called for max.poll.interval.ms, and rejoins at the next poll", function()
    produce("slow", 60)
    local c1 = consumer("g-slow", { ["max.poll.interval.ms"] = "1500" })
    local c2 = consumer("g-slow")
    assert(c1:subscribe { "slow" })
    assert(c2:subscribe { "slow" })
    process.wait_for("a balanced assignment", 30, function()
      assert(c1:poll(50))
      assert(c2:poll(50))
      return #assert(c1:assignment()) == 3 and #assert(c2:assignment()) == 3
    end, 1)
    -- c1 stops polling: after 1.5 s it leaves and c2 takes every partition
    process.wait_for("c2 to own every partition", 30, function()
      assert(c2:poll(50))
      return #assert(c2:assignment()) == 6
    end, 1)
    assert.are.equal(0, #assert(c1:assignment()))
    process.wait_for("c1 back in the group", 30, function()
      assert(c1:poll(50))
      assert(c2:poll(50))
      return #assert(c1:assignment()) == 3 and #assert(c2:assignment()) == 3
    end, 1)
    assert(c1:close())
    assert(c2:close())
  end)

  it("refuses subscribe without group.id and assign while subscribed", function()
    local c = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap })
    local ok, err = c:subscribe { "x" }
    assert.is_nil(ok)
    assert.matches("group.id", err.message, 1, true)
    assert(c:close())
    c = consumer("g-refuse")
    assert(c:subscribe { "x" })
    ok, err = c:assign { { topic = "x", partition = 0 } }
    assert.is_nil(ok)
    assert.matches("subscribed", err.message, 1, true)
    assert(c:close())
  end)
end)
