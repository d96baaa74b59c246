-- moonlog consumers share a group with librdkafka's (kcat -G, range assignor): the standard
-- consumer protocol encodings let either side lead, and every partition has one owner.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("consumer group with kcat", function()
  local b

  setup(function() b = brokers.start { overrides = { ["num.partitions"] = "12" } } end)
  teardown(function() if b then b:stop() end end)

  it("three moonlog consumers and one kcat -G range consumer split 12 partitions and read every record once", function()
    local dir = process.tmpdir("interop")
    local out = dir .. "/kcat.out"
    -- the topic exists before anyone subscribes
    assert(process.sh("echo warm | kcat -P -b " .. b.bootstrap .. " -t inter -p 11"))
    local k = process.spawn { argv = { "kcat", "-G", "g-inter", "-b", b.bootstrap, "-X",
      "partition.assignment.strategy=range", "-X", "auto.offset.reset=earliest", "-X", "heartbeat.interval.ms=200",
      "-X", "session.timeout.ms=6000", "-f", "%p %o %s\n", "-q", "-u", "inter" }, stdout = out, stderr = out .. ".err" }
    local cs = {}
    finally(function()
      for _, c in ipairs(cs) do c:close() end
      k:stop(5)
      process.rmdir(dir)
    end)
    for i = 1, 3 do
      cs[i] = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = "g-inter",
        ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = "100", ["heartbeat.interval.ms"] = "200",
        ["session.timeout.ms"] = "6000" })
      assert(cs[i]:subscribe { "inter" })
    end
    local seen, owner = {}, {}
    local function drain()
      for i = 1, 3 do
        for _, r in ipairs(assert(cs[i]:poll(20))) do
          assert.is_nil(seen[r.value], r.value .. " read twice")
          seen[r.value] = "moonlog" .. i
        end
      end
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
    local N = 1200
    local file = dir .. "/in"
    local lines = {}
    for i = 1, N do lines[#lines + 1] = "k" .. i .. "\tv" .. i end
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    assert(process.sh("kcat -P -b " .. b.bootstrap .. " -t inter -K '\t' < " .. file))
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
    for i = 1, 3 do
      for _, tp in ipairs(cs[i]:assignment()) do
        assert.is_nil(owner[tp.partition], "partition " .. tp.partition .. " owned twice")
        owner[tp.partition] = "moonlog" .. i
      end
    end
    for _, l in ipairs(kcat_lines()) do
      local p, v = l:match("^(%d+) %d+ (.*)$")
      p = tonumber(p)
      assert.is_true(owner[p] == nil or owner[p] == "kcat", "partition " .. p .. " read by kcat and owned by " ..
        tostring(owner[p]))
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
    local kcat_parts = 0
    for p = 0, 11 do if owner[p] == "kcat" then kcat_parts = kcat_parts + 1 end end
    assert.is_true(kcat_parts > 0, "kcat read nothing")
    for i = 1, 3 do assert(cs[i]:close()) end
  end)
end)
