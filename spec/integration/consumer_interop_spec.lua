-- moonlog consumers share a group with librdkafka's (kcat -G): the standard consumer protocol
-- encodings let either side lead, and the Lua range and roundrobin assignors agree with
-- librdkafka's of the same name. Each case forces the leader: the coordinator keeps the first
-- member as leader, so whoever joins first leads every later rebalance.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer group with kcat", function()
  local b

  setup(function() b = brokers.start { overrides = { ["num.partitions"] = "12" } } end)
  teardown(function() if b then b:stop() end end)

  local function case(strategy, leader)
    local group, topic = "g-" .. strategy .. "-" .. leader, "inter-" .. strategy .. "-" .. leader
    local dir = process.tmpdir("interop")
    local out = dir .. "/kcat.out"
    -- the topic exists before anyone subscribes
    assert(process.sh("echo warm | kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -p 11"))
    local k
    local cs = {}
    finally(function()
      for _, c in ipairs(cs) do c:close() end
      if k then k:stop(5) end
      process.rmdir(dir)
    end)
    local function start_kcat()
      k = process.spawn { argv = { "kcat", "-G", group, "-b", b.bootstrap, "-X",
        "partition.assignment.strategy=" .. strategy, "-X", "auto.offset.reset=earliest", "-X",
        "heartbeat.interval.ms=200", "-X", "session.timeout.ms=6000", "-f", "%p %o %s\n", "-u", topic },
        stdout = out, stderr = out .. ".err" }
    end
    local function start_moonlog(i)
      cs[i] = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = group,
        ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = "100", ["heartbeat.interval.ms"] = "200",
        ["session.timeout.ms"] = "6000", ["partition.assignment.strategy"] = strategy })
      assert(cs[i]:subscribe { topic })
    end
    local seen, owner = {}, {}
    local function drain()
      for i = 1, #cs do
        for _, r in ipairs(assert(cs[i]:poll(20))) do
          assert.is_nil(seen[r.value], r.value .. " read twice")
          seen[r.value] = "moonlog" .. i
        end
      end
    end
    if leader == "kcat" then
      start_kcat()
      process.wait_for("kcat alone in the group", 30, function()
        return (process.read_file(out .. ".err") or ""):find("assigned:", 1, true) ~= nil
      end, 100)
      for i = 1, 3 do start_moonlog(i) end
    else
      start_moonlog(1)
      process.wait_for("the first moonlog consumer alone in the group", 30, function()
        drain()
        return #assert(cs[1]:assignment()) == 12
      end, 1)
      for i = 2, 3 do start_moonlog(i) end
      start_kcat()
    end
    local function kcat_lines()
      local lines = {}
      for line in (process.read_file(out) or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
      return lines
    end
    process.wait_for("four members with three partitions each", 40, function()
      drain()
      for i = 1, 3 do if #assert(cs[i]:assignment()) ~= 3 then return false end end
      return true
    end, 1)
    -- who computed the assignment
    local led = 0
    for i = 1, 3 do led = led + cs[i]:counter("assignments.computed") end
    if leader == "kcat" then
      assert.are.equal(0, led)
    else
      assert.is_true(cs[1]:counter("assignments.computed") >= 2)
      assert.are.equal(0, cs[2]:counter("assignments.computed") + cs[3]:counter("assignments.computed"))
    end
    for i = 1, 3 do assert.are.equal(0, cs[i]:counter("assignor.failures")) end
    local N = 1200
    local file = dir .. "/in"
    local lines = {}
    for i = 1, N do lines[#lines + 1] = "k" .. i .. "\tv" .. i end
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    assert(process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -K '\t' < " .. file))
    local function total()
      local n = 0
      for v in pairs(seen) do if v ~= "warm" then n = n + 1 end end
      for _, l in ipairs(kcat_lines()) do if not l:match(" warm$") then n = n + 1 end end
      return n
    end
    process.wait_for(N .. " records across the group", 30, function()
      drain()
      return total() >= N
    end, 1)
    process.sleep_ms(500)
    drain()
    local mine = {}
    for i = 1, 3 do
      mine[i] = {}
      for _, tp in ipairs(cs[i]:assignment()) do
        assert.is_nil(owner[tp.partition], "partition " .. tp.partition .. " owned twice")
        owner[tp.partition] = "moonlog" .. i
        mine[i][#mine[i] + 1] = tp.partition
      end
      table.sort(mine[i])
    end
    local kcat_parts = {}
    for _, l in ipairs(kcat_lines()) do
      local p, v = l:match("^(%d+) %d+ (.*)$")
      p = tonumber(p)
      assert.is_true(owner[p] == nil or owner[p] == "kcat", "partition " .. p .. " read by kcat and owned by " ..
        tostring(owner[p]))
      if owner[p] == nil then kcat_parts[#kcat_parts + 1] = p end
      owner[p] = "kcat"
      if v ~= "warm" then
        assert.is_nil(seen[v], v .. " read twice")
        seen[v] = "kcat"
      end
    end
    local n = 0
    for v in pairs(seen) do if v ~= "warm" then n = n + 1 end end
    for i = 1, N do assert.is_not_nil(seen["v" .. i], "v" .. i .. " not read") end
    assert.are.equal(N, n)
    for p = 0, 11 do assert.is_not_nil(owner[p], "partition " .. p .. " has no owner") end
    assert.are.equal(3, #kcat_parts, "kcat should own three partitions")
    -- the shape of each strategy: range gives contiguous runs, roundrobin every fourth partition
    for i = 1, 3 do
      local m = mine[i]
      if strategy == "range" then
        assert.are.same({ m[1], m[1] + 1, m[1] + 2 }, m)
      else
        assert.are.same({ m[1], m[1] + 4, m[1] + 8 }, m)
      end
    end
    for i = 1, 3 do assert(cs[i]:close()) end
    cs = {}
  end

  for _, strategy in ipairs({ "range", "roundrobin" }) do
    for _, leader in ipairs({ "moonlog", "kcat" }) do
      it(("three moonlog consumers and one kcat -G %s consumer split 12 partitions and read every record once, %s leading")
        :format(strategy, leader), function() case(strategy, leader) end)
    end
  end
end)
