-- libmoonlog's consumer with a group.id against a real moonlogd: commits (sync, async, auto,
-- explicit offsets) reach the group coordinator, committed() reads them back, and a consumer
-- reopened in the same group resumes after the last commit; auto.offset.reset applies only to
-- partitions without a committed offset.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer commits against moonlogd", function()
  local b

  setup(function() b = brokers.start { overrides = { ["num.partitions"] = "2" } } end)
  teardown(function() if b then b:stop() end end)

  local function consumer(extra)
    local cfg = { ["bootstrap.servers"] = b.bootstrap, ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = "100" }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(moonlog.consumer(cfg))
  end

  local function produce(topic, partition, from, to)
    local file = os.tmpname()
    local lines = {}
    for i = from, to do lines[#lines + 1] = "v" .. i end
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    local ok, msg = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -p " .. partition .. " < " .. file)
    os.remove(file)
    assert(ok, msg)
  end

  local function read(c, n)
    local got = {}
    process.wait_for(n .. " records", 20, function()
      for _, r in ipairs(assert(c:poll(100))) do got[#got + 1] = r end
      return #got >= n
    end, 1)
    return got
  end

  it("commits, closes, and a consumer reopened in the group resumes after the commit", function()
    produce("resume", 0, 0, 99)
    local c = consumer { ["group.id"] = "g-resume", ["enable.auto.commit"] = "false", ["max.poll.records"] = "40" }
    assert(c:assign { { topic = "resume", partition = 0 } })
    local got = read(c, 40)
    assert.are.equal(40, #got)
    assert.are.equal(40, tonumber(assert(c:position("resume", 0))))
    assert(c:commit_sync { { topic = "resume", partition = 0, offset = 40 } })
    local offs = assert(c:committed { { topic = "resume", partition = 0 }, { topic = "resume", partition = 1 } })
    assert.are.equal(40, tonumber(offs[1]))
    assert.are.equal(-1, tonumber(offs[2]))
    assert(c:close())

    c = consumer { ["group.id"] = "g-resume", ["enable.auto.commit"] = "false" }
    assert(c:assign { { topic = "resume", partition = 0 } })
    assert.are.equal(40, tonumber(assert(c:position("resume", 0))))
    got = read(c, 60)
    assert.are.equal(40, tonumber(got[1].offset))
    assert.are.equal("v40", got[1].value)
    assert(c:commit_sync()) -- the positions: 100
    assert.are.equal(100, tonumber(assert(c:committed { { topic = "resume", partition = 0 } })[1]))
    assert(c:close())
  end)

  it("auto commit: close commits the positions, and other groups start from auto.offset.reset", function()
    produce("auto", 1, 0, 29)
    local c = consumer { ["group.id"] = "g-auto" }
    assert(c:assign { { topic = "auto", partition = 1 } })
    assert.are.equal(30, #read(c, 30))
    assert(c:close())
    c = consumer { ["group.id"] = "g-auto", ["auto.offset.reset"] = "none" }
    assert(c:assign { { topic = "auto", partition = 1 } })
    assert.are.equal(30, tonumber(assert(c:position("auto", 1))))
    assert(c:close())
    c = consumer { ["group.id"] = "g-other", ["auto.offset.reset"] = "latest" }
    assert(c:assign { { topic = "auto", partition = 1 } })
    assert.are.equal(30, tonumber(assert(c:position("auto", 1))))
    assert(c:close())
    c = consumer { ["group.id"] = "g-none", ["auto.offset.reset"] = "none" }
    assert(c:assign { { topic = "auto", partition = 1 } })
    local recs, err
    process.wait_for("NO_OFFSET", 10, function()
      recs, err = c:poll(100)
      return recs == nil
    end)
    assert.are.equal("NO_OFFSET", err.name)
    assert(c:close())
  end)

  it("commit_async commits in order", function()
    produce("async", 0, 0, 9)
    local c = consumer { ["group.id"] = "g-async", ["enable.auto.commit"] = "false" }
    assert(c:assign { { topic = "async", partition = 0 } })
    for i = 1, 10 do assert(c:commit_async { { topic = "async", partition = 0, offset = i } }) end
    assert(c:commit_sync { { topic = "async", partition = 0, offset = 7 } })
    assert.are.equal(7, tonumber(assert(c:committed { { topic = "async", partition = 0 } })[1]))
    assert(c:close())
  end)

  it("commit_async calls back in commit order inside a later poll, commit_sync, committed or close", function()
    produce("async-cb", 0, 0, 19)
    local c = consumer { ["group.id"] = "g-async-cb", ["enable.auto.commit"] = "false" }
    assert(c:assign { { topic = "async-cb", partition = 0 } })
    local calls = {}
    local function cb(tag)
      return function(err, offsets) calls[#calls + 1] = { tag = tag, err = err, offsets = offsets } end
    end
    for i = 1, 5 do assert(c:commit_async({ { topic = "async-cb", partition = 0, offset = i } }, cb(i))) end
    assert.are.equal(0, #calls) -- never from inside commit_async
    assert(c:commit_async { { topic = "async-cb", partition = 0, offset = 6 } }) -- no callback: skipped in order
    assert(c:commit_sync { { topic = "async-cb", partition = 0, offset = 7 } })
    assert.are.equal(5, #calls)
    for i, call in ipairs(calls) do
      assert.are.equal(i, call.tag)
      assert.is_nil(call.err)
      assert.are.same({ { topic = "async-cb", partition = 0, offset = call.offsets[1].offset } }, call.offsets)
      assert.are.equal(i, tonumber(call.offsets[1].offset))
    end
    -- the positions (no list): reported with the offsets that were committed, in a later poll
    local got = read(c, 20)
    assert.are.equal(20, #got)
    assert(c:commit_async(nil, cb("positions")))
    process.wait_for("the positions' callback", 10, function()
      assert(c:poll(50))
      return #calls == 6
    end)
    assert.are.equal("positions", calls[6].tag)
    assert.is_nil(calls[6].err)
    assert.are.equal(20, tonumber(calls[6].offsets[1].offset))
    assert.are.equal(20, tonumber(assert(c:committed { { topic = "async-cb", partition = 0 } })[1]))
    -- committed() delivers too, and close delivers what is still outstanding
    assert(c:commit_async({ { topic = "async-cb", partition = 0, offset = 15 } }, cb("before committed")))
    assert.are.equal(15, tonumber(assert(c:committed { { topic = "async-cb", partition = 0 } })[1]))
    assert.are.equal("before committed", calls[7].tag)
    assert(c:commit_async({ { topic = "async-cb", partition = 0, offset = 18 } }, cb("before close")))
    assert(c:close())
    assert.are.equal(8, #calls)
    assert.are.equal("before close", calls[8].tag)
    assert.is_nil(calls[8].err)
    c = consumer { ["group.id"] = "g-async-cb" }
    assert.are.equal(18, tonumber(assert(c:committed { { topic = "async-cb", partition = 0 } })[1]))
    assert(c:close())
  end)

  it("close reports, in order, the commit_async calls the coordinator never answered", function()
    produce("unanswered", 0, 0, 4)
    local c = consumer { ["group.id"] = "g-unanswered", ["enable.auto.commit"] = "false",
                         ["request.timeout.ms"] = "1000" }
    assert(c:assign { { topic = "unanswered", partition = 0 } })
    assert(c:commit_sync { { topic = "unanswered", partition = 0, offset = 1 } })
    local calls = {}
    b.proc:signal(process.SIGSTOP) -- the coordinator stops answering (its socket still accepts)
    local ok, err = pcall(function()
      for i = 2, 4 do
        assert(c:commit_async({ { topic = "unanswered", partition = 0, offset = i } }, function(e, offsets)
          calls[#calls + 1] = { offset = tonumber(offsets[1].offset), err = e }
        end))
      end
      assert(c:close())
    end)
    b.proc:signal(process.SIGCONT)
    assert(ok, err)
    assert.are.same({ 2, 3, 4 }, { calls[1].offset, calls[2].offset, calls[3].offset })
    assert.are.equal(3, #calls)
    for _, call in ipairs(calls) do assert.is_not_nil(call.err) end
    -- the one in flight timed out; those never sent are CLOSED
    assert.are.equal("CLOSED", calls[3].err.name)
    assert.truthy(calls[3].err.message:find("closed before the coordinator answered", 1, true), calls[3].err.message)
  end)

  it("refuses commits without group.id", function()
    local c = consumer()
    local ok, err = c:commit_sync()
    assert.is_nil(ok)
    assert.matches("group.id", err.message, 1, true)
    assert(c:close())
  end)
end)
