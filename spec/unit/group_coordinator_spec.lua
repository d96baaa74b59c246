-- The group coordinator's state machine (core/broker/group_coordinator.c), driven over raw
-- sockets against a real moonlogd with short timeouts: MEMBER_ID_REQUIRED, generations, the
-- leader's member list, joins during a rebalance, session and rebalance timeouts, LeaveGroup,
-- static membership, the errors of stale or unknown members, DeleteGroups, and a restart that
-- keeps committed offsets and group metadata.
local brokers = require "broker"
local wire = require "wire"
local process = require "process"

local JOIN, SYNC, HEARTBEAT, LEAVE, COMMIT, FETCH, DESCRIBE, LIST, DELETE, FIND = 11, 14, 12, 13, 8, 9, 15, 16, 42, 10
local E = { NONE = 0, ILLEGAL_GENERATION = 22, INCONSISTENT_GROUP_PROTOCOL = 23, INVALID_GROUP_ID = 24,
  UNKNOWN_MEMBER_ID = 25, INVALID_SESSION_TIMEOUT = 26, REBALANCE_IN_PROGRESS = 27, NON_EMPTY_GROUP = 68,
  GROUP_ID_NOT_FOUND = 69, MEMBER_ID_REQUIRED = 79, FENCED_INSTANCE_ID = 82 }

-- JoinGroup v5 (member id required from v4; instance id from v5).
local function join_body(o)
  return wire.str(o.group) .. wire.i32(o.session or 1000) .. wire.i32(o.rebalance or 1000) .. wire.str(o.member or "")
    .. wire.str(o.instance) .. wire.str(o.ptype or "consumer")
    .. wire.array(o.protocols or { { "range", o.meta or "m" } }, function(p) return wire.str(p[1]) .. wire.bytes(p[2]) end)
end

local function parse_join(rest)
  local r = wire.reader(rest)
  local out = { throttle = r:i32(), err = r:i16(), generation = r:i32(), protocol = r:str(), leader = r:str(),
    member = r:str() }
  out.members = r:array(function(m) return { id = m:str(), instance = m:str(), meta = m:bytes() } end)
  return out
end

local Member = {}
Member.__index = Member

local function member(b, group, opts)
  local m = setmetatable(opts or {}, Member)
  m.group = group
  m.c = assert(wire.connect("127.0.0.1", b.port))
  m.member = m.member or ""
  return m
end

function Member:send_join()
  self.pending = self.c:send_request(JOIN, 5, join_body(self))
end

function Member:recv_join()
  local corr, rest = self.c:recv_response()
  assert(corr == self.pending, "JoinGroup answer (" .. tostring(rest) .. ")")
  local j = parse_join(rest)
  if j.err == E.NONE or j.err == E.MEMBER_ID_REQUIRED then self.member = j.member end
  if j.err == E.NONE then self.generation = j.generation end
  self.last_join = j
  return j
end

function Member:join()
  self:send_join()
  return self:recv_join()
end

-- First JoinGroup (MEMBER_ID_REQUIRED) then the real one, sent without waiting.
function Member:start_join()
  local j = self:join()
  assert(j.err == E.MEMBER_ID_REQUIRED or self.instance, "first join: " .. j.err)
  if self.instance then return j end
  self:send_join()
end

function Member:send_sync(assignments)
  local body = wire.str(self.group) .. wire.i32(self.generation or -1) .. wire.str(self.member) .. wire.str(self.instance)
    .. wire.array(assignments or {}, function(a) return wire.str(a[1]) .. wire.bytes(a[2]) end)
  self.pending = self.c:send_request(SYNC, 3, body)
end

function Member:recv_sync()
  local corr, rest = self.c:recv_response()
  assert(corr == self.pending, "SyncGroup answer")
  local r = wire.reader(rest)
  r:i32()
  return r:i16(), r:bytes()
end

function Member:sync(assignments)
  self:send_sync(assignments)
  return self:recv_sync()
end

function Member:heartbeat(generation)
  local body = wire.str(self.group) .. wire.i32(generation or self.generation or -1) .. wire.str(self.member)
    .. wire.str(self.instance)
  local r = wire.reader(self.c:request(HEARTBEAT, 3, body))
  r:i32()
  return r:i16()
end

function Member:leave()
  local body = wire.str(self.group) .. wire.array({ 1 }, function() return wire.str(self.member) .. wire.str(self.instance) end)
  local r = wire.reader(self.c:request(LEAVE, 3, body))
  r:i32()
  local top = r:i16()
  local members = r:array(function(x) return { x:str(), x:str(), x:i16() } end)
  return top, members[1][3]
end

-- OffsetCommit v7 of {topic, partition, offset} triples; returns the partitions' error codes.
function Member:commit(offsets, generation, member_id)
  local body = wire.str(self.group) .. wire.i32(generation or self.generation or -1) .. wire.str(member_id or self.member)
    .. wire.str(self.instance) .. wire.array(offsets, function(o)
      return wire.str(o[1]) .. wire.array({ o }, function(p)
        return wire.i32(p[2]) .. wire.i64(p[3]) .. wire.i32(-1) .. wire.str(p[4] or "meta")
      end)
    end)
  local r = wire.reader(self.c:request(COMMIT, 7, body))
  r:i32()
  local errs = {}
  r:array(function(t)
    t:str()
    t:array(function(p) p:i32(); errs[#errs + 1] = p:i16() end)
  end)
  return errs
end

function Member:close() self.c:close() end

local function conn(b) return assert(wire.connect("127.0.0.1", b.port)) end

-- OffsetFetch v5 of one topic's partitions: {partition = {offset, metadata, err}}, top-level error.
local function fetch_offsets(c, group, topic, partitions)
  local topics = topic and { topic } or nil
  local body = wire.str(group) .. (topics and wire.array(topics, function(t)
    return wire.str(t) .. wire.array(partitions, wire.i32)
  end) or wire.i32(-1))
  local r = wire.reader(c:request(FETCH, 5, body))
  r:i32()
  local out = {}
  r:array(function(t)
    local name = t:str()
    t:array(function(p)
      local idx, off, _, md, err = p:i32(), p:i64(), p:i32(), p:str(), p:i16()
      out[name .. "/" .. idx] = { off, md, err }
    end)
  end)
  return out, r:i16()
end

-- DescribeGroups v4: {err, state, protocol_type, protocol, members = {{id, instance, client, host, meta, assignment}}}.
local function describe_group(c, group)
  local r = wire.reader(c:request(DESCRIBE, 4, wire.array({ group }, wire.str) .. wire.i8(0)))
  r:i32()
  local groups = r:array(function(g)
    local d = { err = g:i16(), id = g:str(), state = g:str(), ptype = g:str(), protocol = g:str() }
    d.members = g:array(function(m)
      return { id = m:str(), instance = m:str(), client = m:str(), host = m:str(), meta = m:bytes(), assignment = m:bytes() }
    end)
    g:i32()
    return d
  end)
  return groups[1]
end

-- ListGroups v2 (v3+ are flexible): {group = protocol type}.
local function list_groups(c)
  local r = wire.reader(c:request(LIST, 2, ""))
  r:i32()
  local err = r:i16()
  local out = {}
  r:array(function(g) out[g:str()] = g:str() end)
  return out, err
end

local function delete_group(c, group)
  local r = wire.reader(c:request(DELETE, 1, wire.array({ group }, wire.str)))
  r:i32()
  return r:array(function(x) return { x:str(), x:i16() } end)[1][2]
end

describe("group coordinator", function()
  local b
  setup(function()
    b = brokers.start { overrides = { ["group.initial.rebalance.delay.ms"] = "100",
      ["group.min.session.timeout.ms"] = "100", ["offsets.topic.num.partitions"] = "3", ["num.partitions"] = "2" } }
  end)
  teardown(function() if b then b:stop() end end)

  it("finds itself as the coordinator of any group", function()
    local c = conn(b)
    local r = wire.reader(c:request(FIND, 2, wire.str("g") .. wire.i8(0)))
    r:i32()
    assert.are.equal(0, r:i16())
    r:str()
    assert.are.same({ 0, "127.0.0.1", b.port }, { r:i32(), r:str(), r:i32() })
    c:close()
  end)

  it("answers flexible versions (FindCoordinator v3, ListGroups v4) with tagged response headers", function()
    local function cstr(x) return wire.uvarint(#x + 1) .. x end
    local function read_cstr(r) local n = r:u(1) - 1; local x = r.s:sub(r.pos, r.pos + n - 1); r.pos = r.pos + n; return x end
    local c = conn(b)
    local r = wire.reader(c:request(FIND, 3, cstr("flex") .. wire.i8(0) .. "\0", true))
    assert.are.equal(0, r:u(1), "response header tags")
    r:i32()
    assert.are.equal(0, r:i16())
    assert.are.equal(0, r:u(1), "null error message")
    assert.are.same({ 0, "127.0.0.1", b.port }, { r:i32(), read_cstr(r), r:i32() })
    r = wire.reader(c:request(LIST, 4, wire.uvarint(2) .. cstr("Stable") .. "\0", true))
    assert.are.equal(0, r:u(1))
    r:i32()
    assert.are.equal(0, r:i16())
    local n = r:u(1) - 1
    local states = {}
    for _ = 1, n do
      local id, ptype, state = read_cstr(r), read_cstr(r), read_cstr(r)
      assert.are.equal(0, r:u(1))
      states[id] = { ptype, state }
    end
    for _, st in pairs(states) do assert.are.equal("Stable", st[2]) end
    c:close()
  end)

  it("answers a first v4+ JoinGroup MEMBER_ID_REQUIRED, then makes the member leader of generation 1", function()
    local m = member(b, "solo", { meta = "sub-a" })
    local j = m:join()
    assert.are.equal(E.MEMBER_ID_REQUIRED, j.err)
    assert.truthy(j.member:match("^moonlog%-spec%-"), j.member)
    j = m:join()
    assert.are.equal(E.NONE, j.err)
    assert.are.equal(1, j.generation)
    assert.are.equal("range", j.protocol)
    assert.are.equal(m.member, j.leader)
    assert.are.same({ { id = m.member, instance = nil, meta = "sub-a" } }, j.members)
    assert.are.equal("CompletingRebalance", describe_group(conn(b), "solo").state)
    local err, assignment = m:sync({ { m.member, "all-yours" } })
    assert.are.equal(E.NONE, err)
    assert.are.equal("all-yours", assignment)
    local d = describe_group(conn(b), "solo")
    assert.are.equal("Stable", d.state)
    assert.are.equal("range", d.protocol)
    assert.are.equal("all-yours", d.members[1].assignment)
    assert.are.equal("/127.0.0.1", d.members[1].host)
    assert.are.equal(E.NONE, m:heartbeat())
    m:close()
  end)

  it("rebalances when a member joins a Stable group: the old member rejoins during the rebalance", function()
    local a = member(b, "pair", { meta = "a" })
    a:start_join()
    assert.are.equal(E.NONE, a:recv_join().err)
    assert.are.equal(E.NONE, (a:sync({ { a.member, "a0" } })))
    local bm = member(b, "pair", { meta = "b" })
    bm:start_join() -- parked: the group waits for a to rejoin
    assert.are.equal(E.REBALANCE_IN_PROGRESS, a:heartbeat())
    local ja = a:join()
    local jb = bm:recv_join()
    assert.are.same({ E.NONE, E.NONE }, { ja.err, jb.err })
    assert.are.same({ 2, 2 }, { ja.generation, jb.generation })
    assert.are.equal(a.member, ja.leader)
    assert.are.equal(2, #ja.members, "the leader gets every member")
    assert.are.equal(0, #jb.members, "a follower gets none")
    -- The follower's SyncGroup waits for the leader's assignment.
    bm:send_sync()
    local err, got = a:sync({ { a.member, "a1" }, { bm.member, "b1" } })
    assert.are.same({ E.NONE, "a1" }, { err, got })
    assert.are.same({ E.NONE, "b1" }, { bm:recv_sync() })
    a:close()
    bm:close()
  end)

  it("refuses stale and unknown members with Kafka's errors and commits nothing for them", function()
    local a = member(b, "strict")
    a:start_join()
    a:recv_join()
    local c = conn(b)
    -- CompletingRebalance: the generation is right but the assignment is not there yet.
    assert.are.same({ E.REBALANCE_IN_PROGRESS }, a:commit({ { "t", 0, 5 } }))
    a:sync({ { a.member, "x" } })
    assert.are.equal(E.ILLEGAL_GENERATION, a:heartbeat(a.generation + 7))
    assert.are.same({ E.ILLEGAL_GENERATION }, a:commit({ { "t", 0, 5 } }, a.generation - 1))
    assert.are.same({ E.UNKNOWN_MEMBER_ID }, a:commit({ { "t", 0, 5 } }, a.generation, "nobody"))
    local nobody = member(b, "strict", { member = "nobody", generation = a.generation })
    assert.are.equal(E.UNKNOWN_MEMBER_ID, nobody:heartbeat())
    assert.are.equal(E.UNKNOWN_MEMBER_ID, nobody:join().err)
    assert.are.same({ -1, "", 0 }, fetch_offsets(c, "strict", "t", { 0 })["t/0"], "nothing committed")
    assert.are.same({ E.NONE }, a:commit({ { "t", 0, 5, "five" } }))
    assert.are.same({ 5, "five", 0 }, fetch_offsets(c, "strict", "t", { 0 })["t/0"])
    a:close()
    nobody:close()
    c:close()
  end)

  it("answers bad joins with errors and stays up", function()
    local m = member(b, "")
    assert.are.equal(E.INVALID_GROUP_ID, m:join().err)
    m.group = "odd"
    m.session = 10
    assert.are.equal(E.INVALID_SESSION_TIMEOUT, m:join().err)
    m.session = 1000
    local a = member(b, "typed")
    a:start_join()
    assert.are.equal(E.NONE, a:recv_join().err)
    m.group, m.ptype = "typed", "connect"
    assert.are.equal(E.INCONSISTENT_GROUP_PROTOCOL, m:join().err)
    -- A truncated JoinGroup closes that connection only.
    m.c:send_request(JOIN, 5, wire.str("typed") .. wire.i32(1000))
    assert.is_true(m.c:closed_by_peer(2000))
    assert.are.equal(E.NONE, (a:sync({ { a.member, "z" } })))
    a:close()
  end)

  it("removes a member whose session expires and rebalances the others", function()
    local a = member(b, "expiring", { session = 300 })
    local s = member(b, "expiring", { session = 300 })
    a:start_join()
    s:start_join()
    local ja, js = a:recv_join(), s:recv_join()
    assert.are.same({ E.NONE, E.NONE }, { ja.err, js.err })
    local leader = ja.leader == a.member and a or s
    s:send_sync()
    if leader == a then a:sync({}) s:recv_sync() else a:send_sync() s:recv_sync() a:recv_sync() end
    -- s falls silent; a keeps heart-beating until told to rejoin.
    process.wait_for("a rebalance after s's session timeout", 5, function()
      return a:heartbeat() == E.REBALANCE_IN_PROGRESS
    end, 50)
    local j = a:join()
    assert.are.equal(E.NONE, j.err)
    assert.are.equal(js.generation + 1, j.generation)
    assert.are.equal(1, #j.members)
    assert.are.equal(a.member, j.leader)
    assert.are.equal(E.UNKNOWN_MEMBER_ID, s:heartbeat())
    assert.truthy(b:log_text():find("session timeout expired", 1, true))
    a:close()
    s:close()
  end)

  it("completes a rebalance without the members that do not rejoin within the rebalance timeout", function()
    local a = member(b, "slow", { session = 2000, rebalance = 400 })
    local s = member(b, "slow", { session = 2000, rebalance = 400 })
    a:start_join()
    s:start_join()
    a:recv_join()
    s:recv_join()
    -- a changes its subscription: a rebalance that s never joins.
    a.meta = "new-subscription"
    a:send_join()
    assert.are.equal(E.REBALANCE_IN_PROGRESS, s:heartbeat())
    local t0 = process.now_ms()
    local j = a:recv_join()
    assert.are.equal(E.NONE, j.err)
    assert.are.equal(1, #j.members)
    assert.is_true(process.now_ms() - t0 >= 250, "waited for the rebalance timeout")
    assert.are.equal(E.UNKNOWN_MEMBER_ID, s:heartbeat())
    a:close()
    s:close()
  end)

  it("waits for a member id it handed out, until that member's session timeout", function()
    local a = member(b, "pending", { session = 5000, rebalance = 5000, meta = "a1" })
    a:start_join()
    a:recv_join()
    a:sync({ { a.member, "a" } })
    local p = member(b, "pending", { session = 400 })
    assert.are.equal(E.MEMBER_ID_REQUIRED, p:join().err) -- and never comes back
    a.meta = "a2"
    local t0 = process.now_ms()
    local j = a:join()
    local waited = process.now_ms() - t0
    assert.are.equal(E.NONE, j.err)
    assert.are.equal(1, #j.members)
    assert.is_true(waited >= 300 and waited < 4000, "waited " .. waited .. " ms for the pending member")
    a:close()
    p:close()
  end)

  it("rebalances at once when a member leaves", function()
    local a = member(b, "leaving")
    local s = member(b, "leaving")
    a:start_join()
    s:start_join()
    a:recv_join()
    s:recv_join()
    assert.are.same({ E.NONE, E.NONE }, { s:leave() })
    assert.are.equal(E.REBALANCE_IN_PROGRESS, a:heartbeat())
    local j = a:join()
    assert.are.equal(E.NONE, j.err)
    assert.are.equal(1, #j.members)
    local _, err = s:leave()
    assert.are.equal(E.UNKNOWN_MEMBER_ID, err)
    a:close()
    s:close()
  end)

  it("lets a static member come back without a rebalance and fences its old member id", function()
    local leader = member(b, "static", { instance = "leader-1" })
    local st = member(b, "static", { instance = "worker-1", meta = "w" })
    leader:send_join()
    st:send_join()
    local jl, js = leader:recv_join(), st:recv_join()
    assert.are.same({ E.NONE, E.NONE }, { jl.err, js.err })
    local lead, other = leader, st
    if jl.leader ~= leader.member then lead, other = st, leader end
    other:send_sync()
    lead:sync({ { leader.member, "L" }, { st.member, "W" } })
    other:recv_sync()
    local generation = st.generation
    -- The worker restarts: same instance id, no member id, same subscription.
    local again = member(b, "static", { instance = "worker-1", meta = "w" })
    local j = again:join()
    assert.are.equal(E.NONE, j.err)
    assert.are.equal(generation, j.generation, "no new generation")
    assert.are_not.equal(st.member, again.member)
    local err, assignment = again:sync()
    assert.are.same({ E.NONE, "W" }, { err, assignment })
    assert.are.equal(E.FENCED_INSTANCE_ID, st:heartbeat())
    assert.are.equal(E.NONE, leader:heartbeat())
    assert.are.equal("Stable", describe_group(conn(b), "static").state)
    leader:close()
    st:close()
    again:close()
  end)

  it("hands leadership to a member that rejoined when the static leader did not", function()
    local l = member(b, "static-lead", { instance = "L", rebalance = 300, session = 3000 })
    local w = member(b, "static-lead", { instance = "W", rebalance = 300, session = 3000, meta = "w1" })
    l:send_join()
    local jl = l:recv_join()
    assert.are.equal(l.member, jl.leader)
    l:sync({ { l.member, "l" } })
    w:send_join() -- a new static member: the group rebalances, l rejoins
    local ja = l:join()
    local jw = w:recv_join()
    assert.are.same({ E.NONE, E.NONE, l.member }, { ja.err, jw.err, ja.leader })
    w:send_sync()
    l:sync({ { l.member, "l" }, { w.member, "w" } })
    w:recv_sync()
    -- w changes its subscription; the leader l never rejoins within the rebalance timeout.
    w.meta = "w2"
    local j = w:join()
    assert.are.equal(E.NONE, j.err)
    assert.are.equal(w.member, j.leader, "the member that rejoined leads")
    assert.are.equal(2, #j.members, "the static leader keeps its place")
    l:close()
    w:close()
  end)

  it("stores offsets for a group without members, lists and deletes groups", function()
    local c = conn(b)
    local simple = member(b, "offsets-only")
    assert.are.same({ E.NONE }, simple:commit({ { "topic-x", 1, 42, "md" } }, -1, ""))
    local got, top = fetch_offsets(c, "offsets-only", "topic-x", { 0, 1 })
    assert.are.equal(0, top)
    assert.are.same({ -1, "", 0 }, got["topic-x/0"])
    assert.are.same({ 42, "md", 0 }, got["topic-x/1"])
    local all = fetch_offsets(c, "offsets-only", nil)
    assert.are.same({ 42, "md", 0 }, all["topic-x/1"], "a null topic list fetches every offset")
    assert.are.same({ -1, "", 0 }, fetch_offsets(c, "never-seen", "topic-x", { 1 })["topic-x/1"])
    local busy = member(b, "busy", { session = 5000 })
    busy:start_join()
    busy:recv_join()
    local groups = list_groups(c)
    assert.are.equal("", groups["offsets-only"])
    assert.are.equal("consumer", groups["busy"])
    assert.are.equal("Empty", describe_group(c, "offsets-only").state)
    assert.are.equal(E.NON_EMPTY_GROUP, delete_group(c, "busy"))
    busy:close()
    assert.are.equal(E.NONE, delete_group(c, "offsets-only"))
    assert.are.equal(E.GROUP_ID_NOT_FOUND, delete_group(c, "offsets-only"))
    assert.are.same({ -1, "", 0 }, fetch_offsets(c, "offsets-only", "topic-x", { 1 })["topic-x/1"])
    assert.are.equal("Dead", describe_group(c, "offsets-only").state)
    simple:close()
    c:close()
  end)

  it("survives 3,000 mutated and truncated group requests, then still coordinates", function()
    math.randomseed(7)
    local valid = {
      { JOIN, 5, join_body { group = "fuzzed", member = "", instance = "i" } },
      { SYNC, 3, wire.str("fuzzed") .. wire.i32(1) .. wire.str("m") .. wire.str(nil)
        .. wire.array({ 1 }, function() return wire.str("m") .. wire.bytes("a") end) },
      { HEARTBEAT, 3, wire.str("fuzzed") .. wire.i32(1) .. wire.str("m") .. wire.str(nil) },
      { LEAVE, 3, wire.str("fuzzed") .. wire.array({ 1 }, function() return wire.str("m") .. wire.str("i") end) },
      { COMMIT, 7, wire.str("fuzzed") .. wire.i32(1) .. wire.str("m") .. wire.str(nil) .. wire.array({ 1 }, function()
        return wire.str("t") .. wire.array({ 1 }, function() return wire.i32(0) .. wire.i64(5) .. wire.i32(-1) .. wire.str("") end)
      end) },
      { FETCH, 5, wire.str("fuzzed") .. wire.i32(-1) },
      { DESCRIBE, 4, wire.array({ "fuzzed" }, wire.str) .. wire.i8(0) },
      { DELETE, 1, wire.array({ "fuzzed" }, wire.str) },
      { FIND, 2, wire.str("fuzzed") .. wire.i8(0) },
    }
    local c = conn(b)
    for _ = 1, 3000 do
      local v = valid[math.random(#valid)]
      local body = v[3]
      local t = {}
      for i = 1, #body do t[i] = body:sub(i, i) end
      for _ = 1, math.random(3) do
        local i = math.random(#t)
        t[i] = string.char(math.random(0, 255))
      end
      body = table.concat(t):sub(1, math.random(#body))
      if not c:send_raw("") or not pcall(c.send_request, c, v[1], v[2], body) then
        c:close()
        c = conn(b)
      end
    end
    c:close()
    -- The fuzzed group may hold members with any session timeout now; a new group works as ever.
    local a = member(b, "after-fuzz", { meta = "x" })
    a:start_join()
    local j = a:recv_join()
    assert.are.equal(E.NONE, j.err)
    assert.are.equal(E.NONE, (a:sync({ { a.member, "ok" } })))
    a:close()
  end)

  it("keeps committed offsets and group metadata across a broker restart", function()
    local a = member(b, "durable", { meta = "sub" })
    a:start_join()
    a:recv_join()
    a:sync({ { a.member, "mine" } })
    assert.are.same({ E.NONE, E.NONE }, a:commit({ { "t", 0, 100 }, { "t", 1, 200 } }))
    assert.are.same({ E.NONE }, a:commit({ { "t", 0, 150, "later" } }))
    local simple = member(b, "durable-simple")
    assert.are.same({ E.NONE }, simple:commit({ { "u", 0, 7 } }, -1, ""))
    local c = conn(b)
    assert.are.equal(E.NONE, delete_group(c, "durable-simple"))
    a:close()
    simple:close()
    c:close()
    b:restart()
    c = conn(b)
    local got = fetch_offsets(c, "durable", "t", { 0, 1 })
    assert.are.same({ 150, "later", 0 }, got["t/0"])
    assert.are.same({ 200, "meta", 0 }, got["t/1"])
    local d = describe_group(c, "durable")
    assert.are.equal("Stable", d.state)
    assert.are.equal("consumer", d.ptype)
    assert.are.equal(a.member, d.members[1].id)
    assert.are.equal("mine", d.members[1].assignment)
    -- The member carries on with its generation after the restart.
    local back = member(b, "durable", { member = a.member, generation = a.generation })
    assert.are.equal(E.NONE, back:heartbeat())
    assert.are.equal("Dead", describe_group(c, "durable-simple").state, "a deleted group stays deleted")
    back:close()
    c:close()
  end)
end)
