-- pause/resume/paused against a real moonlogd: a paused partition is neither fetched nor
-- returned by poll, its position does not move, what was fetched for it before the pause comes
-- after resume (nothing lost, nothing twice); pausing a partition not assigned is refused; giving
-- a partition up (assign without it, a group rebalance) forgets its pause.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer pause/resume against moonlogd", function()
  local b

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "2", ["group.initial.rebalance.delay.ms"] = "0" } }
  end)
  teardown(function() if b then b:stop() end end)

  local function produce(topic, partition, from, to)
    local file = os.tmpname()
    local lines = {}
    for i = from, to do lines[#lines + 1] = partition .. ":" .. i end
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    local ok, msg = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -p " .. partition .. " < " .. file)
    os.remove(file)
    assert(ok, msg)
  end

  it("with two partitions: only the other one flows while one is paused, all of it after resume", function()
    produce("pz", 0, 0, 49)
    produce("pz", 1, 0, 49)
    local c = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["auto.offset.reset"] = "earliest",
                                        ["fetch.max.wait.ms"] = "100", ["max.poll.records"] = "10" })
    local p0, p1 = { topic = "pz", partition = 0 }, { topic = "pz", partition = 1 }
    assert(c:assign { p0, p1 })
    local got = { [0] = {}, [1] = {} }
    local function take(recs)
      for _, r in ipairs(recs) do table.insert(got[r.partition], r.value) end
    end
    -- both flow; stop as soon as partition 1 has given something (more of it is fetched already)
    process.wait_for("records of partition 1", 20, function()
      take(assert(c:poll(100)))
      return #got[1] > 0
    end, 1)
    assert(c:pause { p1 })
    assert.are.same({ p1 }, c:paused())
    local at = tonumber(assert(c:position("pz", 1)))
    assert.are.equal(#got[1], at)
    local fetches_p1 = #got[1]
    -- partition 0 is read to its end, more of it is produced and read too; partition 1 gives nothing
    produce("pz", 0, 50, 99)
    produce("pz", 1, 50, 59)
    process.wait_for("all of partition 0", 20, function()
      take(assert(c:poll(100)))
      return #got[0] == 100
    end, 1)
    for _ = 1, 5 do take(assert(c:poll(100))) end
    assert.are.equal(fetches_p1, #got[1])
    assert.are.equal(at, tonumber(assert(c:position("pz", 1))))
    assert(c:resume { p1 })
    assert.are.same({}, c:paused())
    process.wait_for("all of partition 1", 20, function()
      take(assert(c:poll(100)))
      return #got[1] >= 60
    end, 1)
    for _ = 1, 3 do take(assert(c:poll(50))) end
    local want0, want1 = {}, {}
    for i = 0, 99 do want0[i + 1] = "0:" .. i end
    for i = 0, 59 do want1[i + 1] = "1:" .. i end
    assert.are.same(want0, got[0])
    assert.are.same(want1, got[1])
    assert(c:close())
  end)

  it("refuses to pause a partition not assigned, and an assignment without it forgets the pause", function()
    produce("pq", 0, 0, 9)
    local c = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["auto.offset.reset"] = "earliest",
                                        ["fetch.max.wait.ms"] = "100" })
    local p0, p1 = { topic = "pq", partition = 0 }, { topic = "pq", partition = 1 }
    assert(c:assign { p0 })
    local ok, err = c:pause { p0, p1 }
    assert.is_nil(ok)
    assert.are.equal("NOT_ASSIGNED", err.name)
    assert.truthy(err.message:find("pq-1 is not assigned", 1, true), err.message)
    assert.are.same({}, c:paused()) -- all or nothing
    assert(c:pause { p0 })
    assert(c:assign { p0, p1 }) -- kept: still paused
    assert.are.same({ p0 }, c:paused())
    assert(c:assign { p1 })     -- given up: the pause goes with it
    assert(c:assign { p0 })
    assert.are.same({}, c:paused())
    local n = 0
    process.wait_for("pq-0 after the pause was dropped", 20, function()
      n = n + #assert(c:poll(100))
      return n == 10
    end, 1)
    assert(c:close())
  end)

  it("a group rebalance forgets the pause of the partitions it revokes", function()
    produce("pg", 0, 0, 9)
    produce("pg", 1, 0, 9)
    local function member()
      return assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = "g-pause",
                                       ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = "100",
                                       ["heartbeat.interval.ms"] = "200" })
    end
    local c1 = member()
    assert(c1:subscribe { "pg" })
    local n1 = 0
    process.wait_for("c1 to own both partitions", 30, function()
      n1 = n1 + #assert(c1:poll(50))
      return #assert(c1:assignment()) == 2
    end, 1)
    assert(c1:pause(c1:assignment()))
    assert.are.equal(2, #c1:paused())
    local c2 = member()
    assert(c2:subscribe { "pg" })
    local got = {}
    local function drain(c)
      for _, r in ipairs(assert(c:poll(50))) do got[#got + 1] = r.partition .. ":" .. r.value end
    end
    process.wait_for("one partition each", 30, function()
      drain(c1)
      drain(c2)
      return #assert(c1:assignment()) == 1 and #assert(c2:assignment()) == 1
    end, 1)
    assert.are.same({}, c1:paused()) -- eager: everything was revoked, nothing stays paused
    assert.are.same({}, c2:paused())
    process.wait_for("every record of both partitions", 30, function()
      drain(c1)
      drain(c2)
      return n1 + #got >= 20
    end, 1)
    assert(c1:close())
    assert(c2:close())
  end)
end)
