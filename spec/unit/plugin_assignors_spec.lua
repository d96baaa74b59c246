-- The shipped assignors (plugins/assignors/) and the host's checks of an assignor's result,
-- called through the hook API on the bytes of the group protocol, as a consumer leading a group
-- calls them, without a broker. Expected outputs are those of Java's RangeAssignor and
-- RoundRobinAssignor for the same members (from their documentation and tests).
local process = require "process"
local client = require "client"
local proto = require "consumer_protocol"
local moonlog = client.moonlog

-- members: array of { id, topics, instance = nil, user_data = nil, owned = nil }
local function run(pl, members, partitions)
  local ms = {}
  for i, m in ipairs(members) do
    ms[i] = { member_id = m[1], group_instance_id = m.instance,
              metadata = proto.subscription { topics = m[2], user_data = m.user_data, owned = m.owned } }
  end
  local res, err = pl:assign(ms, partitions)
  if not res then return nil, err end
  local out = {}
  for id, bytes in pairs(res) do
    local tp = proto.decode_assignment(bytes)
    local list = {}
    local topics = {}
    for t in pairs(tp) do topics[#topics + 1] = t end
    table.sort(topics)
    for _, t in ipairs(topics) do for _, p in ipairs(tp[t]) do list[#list + 1] = t .. "-" .. p end end
    out[id] = list
  end
  return out, nil, res
end

local function counts_of(out)
  local c = {}
  for id, list in pairs(out) do c[id] = #list end
  return c
end

local function owners(out)
  local o = {}
  for id, list in pairs(out) do for _, tp in ipairs(list) do
    assert.is_nil(o[tp], tp .. " assigned twice")
    o[tp] = id
  end end
  return o
end

describe("assignor range", function()
  local pl = assert(moonlog.plugin("assignor", "range"))

  it("is named range and needs no user data", function()
    assert.are.equal("range", pl:assignor_name())
    local sub = proto.decode_subscription(assert(pl:subscription({ "a", "b" })))
    assert.are.same({ "a", "b" }, sub.topics)
    assert.is_nil(sub.user_data)
    assert.are.equal(1, sub.version)
    assert.are.same({}, sub.owned)
  end)

  it("gives each member a contiguous range per topic, the first members one more (Java's RangeAssignorTest)", function()
    local out = assert(run(pl, { { "consumer1", { "t1", "t2" } }, { "consumer2", { "t1", "t2" } } },
      { t1 = 3, t2 = 3 }))
    assert.are.same({ "t1-0", "t1-1", "t2-0", "t2-1" }, out.consumer1)
    assert.are.same({ "t1-2", "t2-2" }, out.consumer2)
    -- testMultipleConsumersMixedTopics
    out = assert(run(pl, { { "consumer1", { "t1" } }, { "consumer2", { "t1", "t2" } }, { "consumer3", { "t1" } } },
      { t1 = 3, t2 = 2 }))
    assert.are.same({ "t1-0" }, out.consumer1)
    assert.are.same({ "t1-1", "t2-0", "t2-1" }, out.consumer2)
    assert.are.same({ "t1-2" }, out.consumer3)
  end)

  it("orders members by member id, whatever order the coordinator lists them in", function()
    local out = assert(run(pl, { { "c", { "t" } }, { "a", { "t" } }, { "b", { "t" } } }, { t = 7 }))
    assert.are.same({ "t-0", "t-1", "t-2" }, out.a)
    assert.are.same({ "t-3", "t-4" }, out.b)
    assert.are.same({ "t-5", "t-6" }, out.c)
  end)

  it("orders static members by group.instance.id, before dynamic ones (Java's MemberInfo order)", function()
    local out = assert(run(pl, { { "a", { "t" }, instance = "i2" }, { "b", { "t" }, instance = "i1" },
      { "0-dynamic", { "t" } } }, { t = 4 }))
    assert.are.same({ "t-0", "t-1" }, out.b)
    assert.are.same({ "t-2" }, out.a)
    assert.are.same({ "t-3" }, out["0-dynamic"])
  end)

  it("gives members an empty assignment when there are more members than partitions", function()
    local out = assert(run(pl, { { "a", { "t" } }, { "b", { "t" } }, { "c", { "t" } } }, { t = 2 }))
    assert.are.same({ "t-0" }, out.a)
    assert.are.same({ "t-1" }, out.b)
    assert.are.same({}, out.c)
  end)

  it("skips a topic without metadata", function()
    local out = assert(run(pl, { { "a", { "t", "gone" } } }, { t = 2 }))
    assert.are.same({ "t-0", "t-1" }, out.a)
  end)
end)

describe("assignor roundrobin", function()
  local pl = assert(moonlog.plugin("assignor", "roundrobin"))

  it("deals every partition in turn (the examples of Java's RoundRobinAssignor)", function()
    assert.are.equal("roundrobin", pl:assignor_name())
    local out = assert(run(pl, { { "C1", { "t0", "t1" } }, { "C0", { "t0", "t1" } } }, { t0 = 3, t1 = 3 }))
    assert.are.same({ "t0-0", "t0-2", "t1-1" }, out.C0)
    assert.are.same({ "t0-1", "t1-0", "t1-2" }, out.C1)
    out = assert(run(pl, { { "C0", { "t0" } }, { "C1", { "t0", "t1" } }, { "C2", { "t0", "t1", "t2" } } },
      { t0 = 1, t1 = 2, t2 = 3 }))
    assert.are.same({ "t0-0" }, out.C0)
    assert.are.same({ "t1-0" }, out.C1)
    assert.are.same({ "t1-1", "t2-0", "t2-1", "t2-2" }, out.C2)
  end)

  it("splits 12 partitions over four members three each, in member order", function()
    local out = assert(run(pl, { { "m4", { "t" } }, { "m2", { "t" } }, { "m3", { "t" } }, { "m1", { "t" } } },
      { t = 12 }))
    assert.are.same({ "t-0", "t-4", "t-8" }, out.m1)
    assert.are.same({ "t-1", "t-5", "t-9" }, out.m2)
    assert.are.same({ "t-3", "t-7", "t-11" }, out.m4)
  end)
end)

describe("assignor sticky", function()
  local pl = assert(moonlog.plugin("assignor", "sticky"))
  local function member(id, topics, last, gen)
    local assignment = last and proto.assignment(last) or nil
    local sub = proto.decode_subscription(assert(pl:subscription(topics, assignment, gen)))
    return { id, topics, user_data = sub.user_data }
  end
  local function as_tp(list)
    local tp = {}
    for _, x in ipairs(list) do
      local t, p = x:match("^(.*)-(%d+)$")
      tp[t] = tp[t] or {}
      table.insert(tp[t], tonumber(p))
    end
    return tp
  end

  it("writes its previous assignment as Java's StickyAssignor user data (V1: assignment, generation)", function()
    local ud = member("a", { "t" }, { t = { 1, 4 } }, 7).user_data
    -- [1 topic] "t" [2 partitions] 1 4, generation 7
    assert.are.equal("\0\0\0\1" .. "\0\1t" .. "\0\0\0\2" .. "\0\0\0\1" .. "\0\0\0\4" .. "\0\0\0\7", ud)
    assert.are.equal("\0\0\0\0" .. "\255\255\255\255", member("a", { "t" }).user_data)
  end)

  it("balances a first assignment", function()
    local out = assert(run(pl, { member("a", { "t" }), member("b", { "t" }), member("c", { "t" }) }, { t = 12 }))
    assert.are.same({ a = 4, b = 4, c = 4 }, counts_of(out))
    owners(out)
  end)

  it("keeps partitions with their owners when a member joins, and moves only what balance needs", function()
    local first = assert(run(pl, { member("a", { "t" }), member("b", { "t" }), member("c", { "t" }) }, { t = 12 }))
    local before = owners(first)
    local out = assert(run(pl, { member("a", { "t" }, as_tp(first.a), 1), member("b", { "t" }, as_tp(first.b), 1),
      member("c", { "t" }, as_tp(first.c), 1), member("d", { "t" }) }, { t = 12 }))
    assert.are.same({ a = 3, b = 3, c = 3, d = 3 }, counts_of(out))
    local moved = 0
    for tp, id in pairs(owners(out)) do if before[tp] ~= id then moved = moved + 1 end end
    assert.are.equal(3, moved)
  end)

  it("keeps the others' partitions when a member leaves", function()
    local first = assert(run(pl, { member("a", { "t" }), member("b", { "t" }), member("c", { "t" }) }, { t = 9 }))
    local out = assert(run(pl, { member("a", { "t" }, as_tp(first.a), 1), member("b", { "t" }, as_tp(first.b), 1) },
      { t = 9 }))
    for _, tp in ipairs(first.a) do assert.are.equal("a", owners(out)[tp]) end
    for _, tp in ipairs(first.b) do assert.are.equal("b", owners(out)[tp]) end
    local c = counts_of(out)
    assert.is_true(math.abs(c.a - c.b) <= 1)
  end)

  it("reads a Java member's user data, and a stale claim loses to the newer generation", function()
    -- b says it had t-0..t-2 in generation 3, a says it had t-0 in generation 2 (stale)
    local java_b = "\0\0\0\1" .. "\0\1t" .. "\0\0\0\3" .. "\0\0\0\0\0\0\0\1\0\0\0\2" .. "\0\0\0\3"
    local stale_a = "\0\0\0\1" .. "\0\1t" .. "\0\0\0\1" .. "\0\0\0\0" .. "\0\0\0\2"
    local out = assert(run(pl, { { "a", { "t" }, user_data = stale_a }, { "b", { "t" }, user_data = java_b } },
      { t = 4 }))
    local o = owners(out)
    assert.are.equal("b", o["t-0"]) -- a's claim is older
    for _, tp in ipairs(out.b) do assert.truthy(({ ["t-0"] = 1, ["t-1"] = 1, ["t-2"] = 1 })[tp], tp) end
    assert.are.same({ a = 2, b = 2 }, counts_of(out))
  end)

  it("counts owned partitions of the subscription (v1) when there is no user data", function()
    local out = assert(run(pl, { { "a", { "t" }, owned = { t = { 2, 3 } } }, { "b", { "t" }, owned = { t = { 0, 1 } } } },
      { t = 4 }))
    assert.are.same({ "t-2", "t-3" }, out.a)
    assert.are.same({ "t-0", "t-1" }, out.b)
  end)

  it("gives a partition only to members subscribed to its topic", function()
    local out = assert(run(pl, { member("a", { "x", "y" }), member("b", { "y" }) }, { x = 3, y = 3 }))
    for _, tp in ipairs(out.b) do assert.truthy(tp:match("^y%-")) end
    assert.are.equal(6, #out.a + #out.b)
  end)
end)

describe("the host's checks of an assignor", function()
  local dir
  setup(function() dir = process.tmpdir("assignors") end)
  teardown(function() process.rmdir(dir) end)

  local function plugin(file, body, name)
    local path = dir .. "/" .. file
    client.write_plugin(path, ("return {\n  api = 1,\n  kind = \"assignor\",\n  name = %q,\n  assign = function(members, cluster)\n%s\n  end,\n}\n")
      :format(name or "bad", body))
    return moonlog.plugin("assignor", path)
  end
  local two = { { "m1", { "t" } }, { "m2", { "t" } } }

  it("refuses an assignor without a name or assign", function()
    local path = dir .. "/noname.lua"
    client.write_plugin(path, "return { api = 1, kind = 'assignor', assign = function() return {} end }\n")
    local pl, err = moonlog.plugin("assignor", path)
    assert.is_nil(pl)
    assert.truthy(err.message:find("noname.lua: an assignor must define name as a string", 1, true), err.message)
    client.write_plugin(path, "return { api = 1, kind = 'assignor', name = 'x' }\n")
    pl, err = moonlog.plugin("assignor", path)
    assert.is_nil(pl)
    assert.truthy(err.message:find("must define assign as a function", 1, true), err.message)
  end)

  local cases = {
    { "twice.lua", "    return { m1 = { t = { 0, 1 } }, m2 = { t = { 1 } } }", "gave t-1 to both m" },
    { "unknown.lua", "    return { m1 = { t = { 0 } }, ghost = { t = { 1 } } }", "gave partitions to 'ghost', not a member" },
    { "range.lua", "    return { m1 = { t = { 0, 4 } } }", "gave member m1 partition 4 of t, which has partitions 0..3" },
    { "unsub.lua", "    return { m1 = { other = { 0 } } }", "gave member m1 topic other, which is not a known topic" },
    { "type.lua", "    return 42", "returned a number, not {member_id -> {topic -> {partitions}}}" },
    { "frac.lua", "    return { m1 = { t = { 0.5 } } }", "gave member m1 partition 0.5 of t" },
  }
  for _, c in ipairs(cases) do
    it("fails a result that " .. c[3]:gsub("%%", "") .. ", naming the plugin, file and line", function()
      local pl = assert(plugin(c[1], c[2]))
      local res, err = run(pl, two, { t = 4 })
      assert.is_nil(res)
      assert.are.equal("ASSIGNOR", err.name)
      assert.truthy(err.message:find("assignor " .. dir .. "/" .. c[1], 1, true), err.message)
      assert.truthy(err.message:find("assign (line 5)", 1, true), err.message)
      assert.truthy(err.message:find(c[3], 1, true), err.message)
      assert.are.equal(1, pl:counter("errors"))
    end)
  end

  it("fails an assignment to a member not subscribed to the topic", function()
    local pl = assert(plugin("notsub.lua", "    return { m2 = { t = { 0 } } }"))
    local res, err = run(pl, { { "m1", { "t" } }, { "m2", { "u" } } }, { t = 2, u = 2 })
    assert.is_nil(res)
    assert.truthy(err.message:find("gave member m2 topic t, which it is not subscribed to", 1, true), err.message)
  end)

  it("reports an error raised by assign with its line", function()
    local pl = assert(plugin("raise.lua", "    error('no assignment today')"))
    local res, err = run(pl, two, { t = 4 })
    assert.is_nil(res)
    assert.truthy(err.message:find("raise.lua:6: no assignment today", 1, true), err.message)
  end)

  it("shows members in member id order with their subscription, user data, owned partitions and the cluster",
    function()
      local pl = assert(plugin("echo.lua", [[
    local seen = {}
    for i, m in ipairs(members) do
      seen[i] = m.member_id .. "/" .. (m.group_instance_id or "-") .. "/" .. table.concat(m.topics, "+") .. "/" ..
        (m.user_data or "nil") .. "/" .. table.concat(m.owned.t or {}, "+") .. "/" .. cluster.partition_count("t")
    end
    if table.concat(seen, ",") ~= "a/i-a/t/ud/1/3,b/-/t+u/nil//3" then error(table.concat(seen, ",")) end
    return { a = { t = { 0, 1 } }, b = { u = { 0 }, t = { 2 } } }]]))
      local out = assert(run(pl, { { "b", { "t", "u" } }, { "a", { "t" }, instance = "i-a", user_data = "ud",
        owned = { t = { 1 } } } }, { t = 3, u = 1 }))
      assert.are.same({ "t-0", "t-1" }, out.a)
      assert.are.same({ "t-2", "u-0" }, out.b)
    end)

  it("hands on_assignment the member's partitions and the assignment's user data", function()
    local path = dir .. "/onassign.lua"
    client.write_plugin(path, [[
local got
return { api = 1, kind = "assignor", name = "probe",
  assign = function() return {} end,
  on_assignment = function(assignment, user_data)
    got = table.concat(assignment.t or {}, ",") .. "|" .. tostring(user_data)
  end,
  user_data = function(topics, assignment, generation) return got end,
}
]])
    local pl = assert(moonlog.plugin("assignor", path))
    assert(pl:on_assignment(proto.assignment({ t = { 3, 5 } }, "hello")))
    local sub = proto.decode_subscription(assert(pl:subscription({ "t" })))
    assert.are.equal("3,5|hello", sub.user_data)
  end)
end)
