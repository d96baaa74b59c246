-- Issue 5's commit-ordering spec: many commit_async calls with growing offsets, interleaved with
-- commit_sync calls, while the coordinator goes away (the broker is stopped) and comes back (started
-- again on the same port and data while a commit_sync is retrying). The callbacks arrive exactly in
-- commit order, and what the broker stored at the end is the LAST offset committed: never an
-- earlier one (an abandoned commit_sync, an async commit that failed) landing after it. Read back
-- with committed(), by a fresh consumer (OffsetFetch), after another restart (rebuilt from
-- __consumer_offsets), and by kcat joining the group (librdkafka starts at the committed offset).
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("commit ordering across a coordinator outage", function()
  local b

  setup(function()
    b = brokers.start { overrides = { ["group.initial.rebalance.delay.ms"] = "0" } }
  end)
  teardown(function() if b then b:stop() end end)

  local TOPIC, GROUP = "order", "g-order"
  local tp = { { topic = TOPIC, partition = 0 } }

  local function consumer()
    return assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = GROUP,
                                     ["enable.auto.commit"] = "false", ["auto.offset.reset"] = "earliest",
                                     ["retry.backoff.ms"] = "50", ["reconnect.backoff.ms"] = "20",
                                     ["request.timeout.ms"] = "5000", ["fetch.max.wait.ms"] = "100" })
  end

  local function committed(c)
    return tonumber(assert(c:committed(tp, 30000))[1])
  end

  it("calls back in commit order and stores the last commit, never an earlier retry", function()
    local file = os.tmpname()
    local lines = {}
    for i = 0, 59 do lines[#lines + 1] = "r" .. i end
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    local ok, msg = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. TOPIC .. " -p 0 < " .. file)
    os.remove(file)
    assert(ok, msg)

    local c = consumer()
    assert(c:assign(tp))
    local order, outcome = {}, {}
    local function async(offset)
      assert(c:commit_async({ { topic = TOPIC, partition = 0, offset = offset } }, function(err, offsets)
        assert.are.equal(1, #offsets)
        order[#order + 1] = tonumber(offsets[1].offset)
        outcome[tonumber(offsets[1].offset)] = err or "ok"
      end))
    end
    local function sync(offset, timeout_ms)
      return c:commit_sync({ { topic = TOPIC, partition = 0, offset = offset } }, timeout_ms)
    end

    -- the coordinator is there
    for i = 1, 10 do async(i) end
    assert(sync(11))
    -- it goes away: async commits fail (never retried), a short commit_sync gives up
    b:stop_process()
    for i = 12, 15 do async(i) end
    local r, err = sync(16, 300)
    assert.is_nil(r)
    assert.are.equal("TIMED_OUT", err.name)
    for i = 17, 20 do async(i) end
    -- it comes back while a commit_sync retries
    b:launch_after(1.5)
    local t0 = process.now_ms()
    assert(sync(21, 30000))
    assert.is_true(process.now_ms() - t0 >= 1000, "commit_sync returned before the broker was back")
    b:wait_listening()
    for i = 22, 50 do async(i) end
    local want = {} -- every commit_async, in the order made
    for i = 1, 50 do
      if i ~= 11 and i ~= 16 and i ~= 21 then want[#want + 1] = i end
    end
    process.wait_for("every callback", 20, function()
      assert(c:poll(50))
      return #order >= #want
    end)
    assert.are.same(want, order)
    for i = 1, 10 do assert.are.equal("ok", outcome[i], i) end
    for i = 12, 15 do -- sent while the broker was down: failed, and reported so
      assert.are_not.equal("ok", outcome[i], i)
      assert.is_true(outcome[i].code ~= 0)
    end
    for i = 22, 50 do assert.are.equal("ok", outcome[i], i) end

    -- what the coordinator holds, and keeps holding: 50
    for _ = 1, 5 do
      assert.are.equal(50, committed(c))
      assert(c:poll(100))
    end
    assert(c:close())
    local fresh = consumer()
    assert.are.equal(50, committed(fresh))
    assert(fresh:close())

    -- what the broker stored: offsets rebuilt from __consumer_offsets after a clean restart
    b:restart()
    fresh = consumer()
    assert.are.equal(50, committed(fresh))
    assert(fresh:close())

    -- librdkafka in the same group starts at the committed offset
    local out = os.tmpname()
    ok, msg = process.sh("kcat -b " .. b.bootstrap .. " -G " .. GROUP .. " -X enable.auto.commit=false -e -q " ..
      "-f '%o\\n' " .. TOPIC .. " > " .. out)
    local offsets = {}
    for line in io.lines(out) do offsets[#offsets + 1] = tonumber(line) end
    os.remove(out)
    assert(ok, msg)
    assert.are.equal(10, #offsets)
    assert.are.equal(50, offsets[1])
    assert.are.equal(59, offsets[10])
  end)
end)
