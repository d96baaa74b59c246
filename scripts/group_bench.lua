-- make bench, consumer groups (issue 3): a 10-member rebalance (join to all members Stable) and
-- OffsetCommit throughput from one client. Starts its own moonlogd; prints one line of key=value.
--   MOONLOG_ROOT=. MOONLOG_BUILD=build luajit scripts/group_bench.lua [initial_delay_ms]
local root = os.getenv("MOONLOG_ROOT") or "."
package.path = root .. "/spec/support/?.lua;" .. package.path
local brokers = require "broker"
local wire = require "wire"
local ffi = require "ffi"
ffi.cdef "struct ml_bench_ts { long tv_sec; long tv_nsec; }; int clock_gettime(int, struct ml_bench_ts *);"
local function now()
  local t = ffi.new("struct ml_bench_ts")
  ffi.C.clock_gettime(1, t)
  return tonumber(t.tv_sec) * 1000 + tonumber(t.tv_nsec) / 1e6
end

local delay = tonumber(arg[1] or "300")
local b = brokers.start { overrides = { ["group.initial.rebalance.delay.ms"] = tostring(delay),
  ["offsets.topic.num.partitions"] = "1" } }

-- JoinGroup v5: group, session and rebalance timeouts, member id, instance id, protocol type, protocols.
local function join_body(group, member)
  return wire.str(group) .. wire.i32(10000) .. wire.i32(10000) .. wire.str(member) .. wire.str(nil)
    .. wire.str("consumer") .. wire.array({ 1 }, function() return wire.str("range") .. wire.bytes("meta") end)
end

local function rebalance()
  local cs, ids = {}, {}
  for i = 1, 10 do cs[i] = assert(wire.connect("127.0.0.1", b.port)) end
  -- Member ids first (MEMBER_ID_REQUIRED), then all ten join at once.
  for i = 1, 10 do
    local r = wire.reader(cs[i]:request(11, 5, join_body("bench", "")))
    r:i32(); r:i16(); r:i32(); r:str(); r:str()
    ids[i] = r:str()
  end
  local t0 = now()
  for i = 1, 10 do cs[i]:send_request(11, 5, join_body("bench", ids[i])) end
  local gen, leader
  for i = 1, 10 do
    local _, rest = cs[i]:recv_response()
    local r = wire.reader(rest)
    r:i32()
    assert(r:i16() == 0, "join failed")
    gen = r:i32()
    r:str()
    leader = r:str()
  end
  for i = 1, 10 do
    local asg = ids[i] == leader and wire.array(ids, function(id) return wire.str(id) .. wire.bytes("a") end)
      or wire.i32(0)
    cs[i]:send_request(14, 3, wire.str("bench") .. wire.i32(gen) .. wire.str(ids[i]) .. wire.str(nil) .. asg)
  end
  for i = 1, 10 do
    local _, rest = cs[i]:recv_response()
    local r = wire.reader(rest)
    r:i32()
    assert(r:i16() == 0, "sync failed")
  end
  local t1 = now()
  for i = 1, 10 do cs[i]:close() end
  return t1 - t0
end

-- OffsetCommit v7 of one partition, 1,000 requests pipelined at a time on one connection.
local function commits()
  local c = assert(wire.connect("127.0.0.1", b.port))
  local body = wire.str("commits") .. wire.i32(-1) .. wire.str("") .. wire.str(nil)
    .. wire.array({ 1 }, function() return wire.str("t") .. wire.array({ 1 }, function()
      return wire.i32(0) .. wire.i64(12345) .. wire.i32(-1) .. wire.str("") end) end)
  local frame = wire.i16(8) .. wire.i16(7) .. wire.i32(1) .. wire.str("bench") .. body
  frame = wire.i32(#frame) .. frame
  c:send_raw(frame)
  local size = wire.reader(c:recv_exact(4)):i32()
  c:recv_exact(size)
  local per, n = 1000, 200000
  local chunk = string.rep(frame, per)
  local t0 = now()
  for _ = 1, n / per do
    assert(c:send_raw(chunk))
    assert(c:recv_exact((size + 4) * per))
  end
  local t1 = now()
  c:close()
  return n / ((t1 - t0) / 1000)
end

local ok, err = pcall(function()
  local ms = rebalance()
  local cps = commits()
  print(("rebalance_ms=%.1f delay_ms=%d commits_per_s=%.0f"):format(ms, delay, cps))
end)
b:stop()
if not ok then error(err) end
