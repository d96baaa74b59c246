-- Assignor plugins in a running group against a real moonlogd: partition.assignment.strategy
-- picks them (names, paths, Java class names; bad values refused at creation), a new version of
-- the file is used from the next rebalance on, a broken one is reported while the old one keeps
-- running, and an assignment that breaks the rules is never sent: the group waits until a
-- fixed version assigns it.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

local function assignor(body, name)
  return ([[
return {
  api = 1,
  kind = "assignor",
  name = %q,
  assign = function(members, cluster)
    local result = {}
    for _, m in ipairs(members) do result[m.member_id] = {} end
%s
    return result
  end,
}
]]):format(name or "custom", body)
end

-- every partition of t to the first member
local FIRST = [[
    local ps = {}
    for p = 0, cluster.partition_count("t") - 1 do ps[#ps + 1] = p end
    result[members[1].member_id].t = ps]]
-- partition p to member p % #members
local SPREAD = [[
    for p = 0, cluster.partition_count("t") - 1 do
      local id = members[p % #members + 1].member_id
      result[id].t = result[id].t or {}
      table.insert(result[id].t, p)
    end]]
-- every partition to every member: valid with one member only
local EVERYONE = [[
    for _, m in ipairs(members) do
      result[m.member_id].t = {}
      for p = 0, cluster.partition_count("t") - 1 do table.insert(result[m.member_id].t, p) end
    end]]

describe("consumer partition.assignment.strategy", function()
  local function config(extra)
    local cfg = { ["bootstrap.servers"] = "127.0.0.1:1", ["group.id"] = "g" }
    for k, v in pairs(extra) do cfg[k] = v end
    return cfg
  end

  it("accepts names, paths and Java's class names, in a list", function()
    local c = assert(moonlog.consumer(config { ["partition.assignment.strategy"] =
      "org.apache.kafka.clients.consumer.RoundRobinAssignor, range ,sticky" }))
    assert(c:close())
  end)

  it("refuses what it cannot load or offer, naming the key", function()
    local dir = process.tmpdir("strategy")
    finally(function() process.rmdir(dir) end)
    local cases = {
      { "nosuch", "partition.assignment.strategy: assignor 'nosuch': no such plugin" },
      { "cooperative-sticky", "moonlog rebalances eagerly" },
      { "org.apache.kafka.clients.consumer.CooperativeStickyAssignor", "moonlog rebalances eagerly" },
      { "org.apache.kafka.clients.consumer.MyAssignor", "names a Java class other than" },
      { "range,,roundrobin", "has an empty entry" },
      { "range,org.apache.kafka.clients.consumer.RangeAssignor", "names an assignor twice" },
    }
    client.write_plugin(dir .. "/also_range.lua", assignor(FIRST, "range"))
    cases[#cases + 1] = { "range," .. dir .. "/also_range.lua", "both declare the name 'range'" }
    client.write_plugin(dir .. "/broken.lua", "return { api = 1, kind = 'assignor', name = 'b',\n assign = 3 }\n")
    cases[#cases + 1] = { dir .. "/broken.lua", "broken.lua: a assignor must define assign as a function" }
    for _, case in ipairs(cases) do
      local c, err = moonlog.consumer(config { ["partition.assignment.strategy"] = case[1] })
      assert.is_nil(c, case[1])
      assert.are.equal("INVALID_CONFIG", err.name)
      assert.truthy(err.message:find(case[2], 1, true), err.message)
      assert.truthy(err.message:find("partition.assignment.strategy", 1, true), err.message)
    end
  end)
end)

describe("consumer assignor plugins in a group", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "4" } }
    dir = process.tmpdir("assignor-group")
  end)
  teardown(function()
    if b then b:stop() end
    if dir then process.rmdir(dir) end
  end)

  local function consumer(group, path)
    local c = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = group,
      ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = "100", ["heartbeat.interval.ms"] = "200",
      ["session.timeout.ms"] = "6000", ["partition.assignment.strategy"] = path,
      ["plugin.reload.interval.ms"] = "100" })
    assert(c:subscribe { "t" })
    return c
  end

  local function sizes(cs)
    local n = {}
    for i, c in ipairs(cs) do
      assert(c:poll(10))
      n[i] = #assert(c:assignment())
    end
    table.sort(n)
    return table.concat(n, ",")
  end

  it("uses a new version of the file from the next rebalance on, and keeps the old one when the new is broken",
    function()
      assert(process.sh("echo x | kcat -P -b " .. b.bootstrap .. " -t t -p 0"))
      local path = dir .. "/mine.lua"
      client.write_plugin(path, assignor(FIRST))
      local cs = {}
      finally(function() for _, c in ipairs(cs) do c:close() end end)
      cs[1] = consumer("g-reload", path)
      process.wait_for("the first member alone", 30, function() return sizes(cs) == "4" end, 50)
      cs[2] = consumer("g-reload", path)
      process.wait_for("version 1: everything to the first member", 30, function() return sizes(cs) == "0,4" end, 50)
      assert.are.equal(0, cs[1]:counter("plugin.reloads"))
      client.write_plugin(path, assignor(SPREAD))
      process.wait_for("the leader sees version 2", 10, function() return cs[1]:counter("plugin.reloads") >= 1 end, 50)
      -- still version 1's assignment: a reload waits for the next rebalance
      assert.are.equal("0,4", sizes(cs))
      client.write_plugin(path, "return { api = 1, kind = 'assignor', name = 'custom',\n  assign = function( end }\n")
      process.wait_for("the broken version 3 reported", 10, function()
        return cs[1]:counter("plugin.reload.failures") >= 1
      end, 50)
      -- (a consumer created now would refuse the broken file: the third one loads a good copy)
      client.write_plugin(dir .. "/copy.lua", assignor(SPREAD))
      cs[3] = consumer("g-reload", dir .. "/copy.lua")
      process.wait_for("version 2 spreads 4 partitions over 3 members", 30, function()
        return sizes(cs) == "1,1,2"
      end, 50)
      assert.are.equal(0, cs[1]:counter("assignor.failures"))
      assert.is_true(cs[1]:counter("assignments.computed") >= 3)
    end)

  it("sticky: members that stay keep their partitions when one joins (their last assignment in the user data)",
    function()
      assert(process.sh("echo x | kcat -P -b " .. b.bootstrap .. " -t t -p 0"))
      local cs = {}
      finally(function() for _, c in ipairs(cs) do c:close() end end)
      local function owned(c)
        local o = {}
        for _, tp in ipairs(assert(c:assignment())) do o[tp.partition] = true end
        return o
      end
      cs[1] = consumer("g-sticky", "sticky")
      cs[2] = consumer("g-sticky", "sticky")
      process.wait_for("two members, two partitions each", 30, function() return sizes(cs) == "2,2" end, 50)
      local before = { owned(cs[1]), owned(cs[2]) }
      cs[3] = consumer("g-sticky", "sticky")
      process.wait_for("three members", 30, function() return sizes(cs) == "1,1,2" end, 50)
      -- each of the first two kept what it still has room for: only one partition moved
      for i = 1, 2 do
        for p in pairs(owned(cs[i])) do assert.is_true(before[i][p], "member " .. i .. " got partition " .. p) end
      end
    end)

  it("never sends an assignment that gives a partition twice: the group waits for a fixed version", function()
    local path = dir .. "/everyone.lua"
    client.write_plugin(path, assignor(EVERYONE))
    local cs = {}
    finally(function() for _, c in ipairs(cs) do c:close() end end)
    cs[1] = consumer("g-bad", path)
    process.wait_for("one member: everything is valid", 30, function() return sizes(cs) == "4" end, 50)
    cs[2] = consumer("g-bad", path)
    process.wait_for("the leader refuses its plugin's result", 30, function()
      return cs[1]:counter("assignor.failures") >= 2
    end, 50)
    assert.are.equal("0,0", sizes(cs))
    assert.is_true(cs[1]:counter("plugin.errors") >= 2)
    client.write_plugin(path, assignor(SPREAD))
    process.wait_for("the fixed version assigns the group", 30, function() return sizes(cs) == "2,2" end, 50)
    assert.are.equal(0, cs[2]:counter("assignor.failures"))
  end)
end)
