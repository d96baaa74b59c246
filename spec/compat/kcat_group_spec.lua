-- kcat's balanced consumer (kcat -G, librdkafka 2.0.2) against moonlogd's group coordinator:
-- three members share a 6-partition topic (every partition owned by one member, every record
-- consumed once); a member stopped with SIGTERM commits, leaves at once and its partitions move
-- in the next rebalance, resumed at the committed offsets (still every record once); a member
-- killed with -9 is dropped after its session timeout.
local process = require "process"
local brokers = require "broker"

local TOPIC, GROUP, N = "grouped", "kcat-three", 30000
local SESSION_MS = 3000

-- Reads a member's output ("partition offset value" lines) into {count, parts = {p = {offsets}}}.
local function read_output(path)
  local text = process.read_file(path) or ""
  local out = { count = 0, parts = {}, values = {} }
  for p, o, v in text:gmatch("(%d+) (%d+) ([^\n]*)\n") do
    out.count = out.count + 1
    out.parts[p] = out.parts[p] or {}
    out.parts[p][#out.parts[p] + 1] = tonumber(o)
    out.values[#out.values + 1] = v
  end
  return out
end

local function produce(b, dir, from, to)
  local path = dir .. "/in-" .. from .. ".txt"
  local t = {}
  for i = from, to do t[#t + 1] = "k" .. i .. ":v" .. i end
  process.write_file(path, table.concat(t, "\n") .. "\n")
  local ok, out = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. TOPIC .. " -K: < " .. path)
  assert(ok, out)
end

describe("kcat -G against moonlogd", function()
  local b, dir
  local members = {}

  local function start_member(i)
    local m = { out = dir .. "/member" .. i .. ".out", err = dir .. "/member" .. i .. ".err" }
    m.proc = process.spawn {
      -- auto.offset.reset, not -o: kcat applies -o to every assignment, ignoring committed offsets.
      argv = { "kcat", "-b", b.bootstrap, "-G", GROUP, "-X", "auto.offset.reset=earliest", "-u", "-f", "%p %o %s\n",
        "-X", "session.timeout.ms=" .. SESSION_MS, "-X", "heartbeat.interval.ms=300",
        "-X", "auto.commit.interval.ms=200", "-X", "partition.assignment.strategy=roundrobin", TOPIC },
      stdout = m.out, stderr = m.err,
    }
    members[i] = m
    return m
  end

  -- Every value consumed by the given members, counted.
  local function seen(list)
    local n, values = 0, {}
    for _, i in ipairs(list) do
      local o = read_output(members[i].out)
      n = n + o.count
      for _, v in ipairs(o.values) do values[v] = (values[v] or 0) + 1 end
    end
    return n, values
  end

  local function wait_all_consumed(list, from, to, timeout)
    process.wait_for("records " .. from .. ".." .. to .. " consumed by members " .. table.concat(list, ","), timeout,
      function()
        local _, values = seen(list)
        for i = from, to do
          if not values["v" .. i] then return false end
        end
        return true
      end, 200)
  end

  setup(function()
    dir = process.tmpdir("kcat-group")
    b = brokers.start { overrides = {
      ["num.partitions"] = "6", ["group.initial.rebalance.delay.ms"] = "1500",
      ["group.min.session.timeout.ms"] = "1000", ["offsets.topic.num.partitions"] = "5" } }
    produce(b, dir, 1, N)
  end)

  teardown(function()
    for _, m in pairs(members) do m.proc:stop(5) end
    if b then b:stop() end
    process.rmdir(dir)
  end)

  it("shares 6 partitions among three members and consumes 30,000 records exactly once", function()
    for i = 1, 3 do start_member(i) end
    wait_all_consumed({ 1, 2, 3 }, 1, N, 60)
    local n, values = seen({ 1, 2, 3 })
    assert.are.equal(N, n, "no record consumed twice")
    local dups = 0
    for _, c in pairs(values) do if c > 1 then dups = dups + 1 end end
    assert.are.equal(0, dups)
    local owner = {}
    for i = 1, 3 do
      for p in pairs(read_output(members[i].out).parts) do
        assert.is_nil(owner[p], "partition " .. p .. " consumed by members " .. tostring(owner[p]) .. " and " .. i)
        owner[p] = i
      end
    end
    local used = {}
    for p = 0, 5 do
      assert.truthy(owner[tostring(p)], "partition " .. p .. " has an owner")
      used[owner[tostring(p)]] = true
    end
    assert.is_true(used[1] and used[2] and used[3], "each member owns partitions")
  end)

  it("moves the partitions of a member stopped with SIGTERM in the next rebalance", function()
    local before = {}
    for i = 1, 3 do before[i] = read_output(members[i].out).parts end
    members[1].proc:stop(10)
    local t0 = process.now_ms()
    produce(b, dir, N + 1, N + 3000)
    wait_all_consumed({ 2, 3 }, N + 1, N + 3000, 30)
    -- A LeaveGroup rebalances at once: well before a session timeout would have.
    assert.is_true(process.now_ms() - t0 < 15000)
    assert.truthy(b:log_text():find("left the group", 1, true))
    local n, values = seen({ 2, 3 })
    local dups = 0
    for _, c in pairs(values) do if c > 1 then dups = dups + 1 end end
    assert.are.equal(0, dups, "no record read twice: the stopped member committed before leaving")
    assert.are.equal(N + 3000, n + read_output(members[1].out).count)
    for p, old in pairs(before[1]) do
      local moved = false
      for i = 2, 3 do
        local offsets = read_output(members[i].out).parts[p] or {}
        local had = #(before[i][p] or {})
        if #offsets > had then
          moved = true
          -- The new owner starts right after the last record the stopped member read.
          assert.are.equal(old[#old] + 1, offsets[had + 1], "partition " .. p .. " resumes at its committed offset")
        end
      end
      assert.is_true(moved, "partition " .. p .. " of the stopped member is consumed by another one")
    end
  end)

  it("moves the partitions of a member killed with -9 after its session timeout", function()
    members[2].proc:signal(process.SIGKILL)
    members[2].proc:wait(10)
    local t0 = process.now_ms()
    produce(b, dir, N + 3001, N + 6000)
    wait_all_consumed({ 3 }, N + 3001, N + 6000, 60)
    assert.truthy(b:log_text():find("session timeout expired", 1, true))
    assert.is_true(process.now_ms() - t0 >= SESSION_MS - 500, "not before the session timeout")
    local parts = read_output(members[3].out).parts
    for p = 0, 5 do assert.truthy(parts[tostring(p)], "member 3 consumes partition " .. p) end
  end)
end)
