-- Rebalance listeners against a real moonlogd: callbacks run inside poll on the application's
-- thread, revoked before the partitions are given up (a commit there lands first), assigned
-- before the first fetch (a seek there decides it), lost when the membership went away; the
-- rebalance.listener plugin and its hot reload; faulty listeners.
local ffi = require "ffi"
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

-- by their own names, as every other user in this LuaJIT state (moonlog.run) declares them
pcall(ffi.cdef, "struct timespec { long tv_sec; long tv_nsec; };")
pcall(ffi.cdef, "int clock_gettime(int, struct timespec *);")
local ts = ffi.new("struct timespec")
local function wall_ms()
  ffi.C.clock_gettime(0, ts)
  return tonumber(ts.tv_sec) * 1000 + math.floor(tonumber(ts.tv_nsec) / 1e6)
end

-- The C API: moonlog_consumer_subscribe_with_listener from a C program compiled here.
local C_PROGRAM = [[
#include <stdio.h>
#include <string.h>
#include "moonlog/consumer.h"

static int refused, first[6] = {-1, -1, -1, -1, -1, -1};

static void assigned(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, void *opaque) {
    moonlog_error e;
    const moonlog_consumer_record *r;
    int32_t k;
    if (moonlog_consumer_poll(c, 0, &r, &k, &e) == MOONLOG_ERR_INVALID_ARG) refused++;
    for (int i = 0; i < n; i++) moonlog_consumer_seek(c, tps[i].topic, tps[i].partition, 10, &e);
    printf("assigned %d (%s)\n", n, (const char *)opaque);
}

static void revoked(moonlog_consumer *c, const moonlog_topic_partition *tps, int n, void *opaque) {
    (void)tps;
    moonlog_error e;
    int rc = moonlog_consumer_commit_sync(c, NULL, 0, 10000, &e);
    printf("revoked %d (%s), commit %d\n", n, (const char *)opaque, rc);
}

static moonlog_consumer *open_consumer(const char *servers, moonlog_error *e) {
    moonlog_consumer_config *cfg = moonlog_consumer_config_new();
    moonlog_consumer *c = NULL;
    if (moonlog_consumer_config_set(cfg, "bootstrap.servers", servers, e) == 0 &&
        moonlog_consumer_config_set(cfg, "group.id", "g-capi", e) == 0 &&
        moonlog_consumer_config_set(cfg, "enable.auto.commit", "false", e) == 0 &&
        moonlog_consumer_config_set(cfg, "auto.offset.reset", "earliest", e) == 0)
        moonlog_consumer_new(cfg, &c, e);
    moonlog_consumer_config_free(cfg);
    return c;
}

int main(int argc, char **argv) {
    (void)argc;
    moonlog_error e;
    memset(&e, 0, sizeof e);
    moonlog_consumer *c = open_consumer(argv[1], &e);
    if (!c) return 2;
    const char *topics[] = {"capi"};
    moonlog_rebalance_listener l = {revoked, assigned, NULL, "c"};
    if (moonlog_consumer_subscribe_with_listener(c, topics, 1, &l, &e) != 0) return 3;
    int total = 0;
    for (int i = 0; i < 600 && total < 60; i++) {
        const moonlog_consumer_record *r;
        int32_t n;
        if (moonlog_consumer_poll(c, 100, &r, &n, &e) != 0) return 4;
        for (int j = 0; j < n; j++)
            if (first[r[j].partition] < 0) first[r[j].partition] = (int)r[j].offset;
        total += n;
    }
    printf("read %d, first %d %d %d, poll refused %d\n", total, first[0], first[1], first[2], refused);
    printf("rebalances %lld\n", (long long)moonlog_consumer_counter(c, "rebalances"));
    if (moonlog_consumer_close(c, &e) != 0) return 5;
    c = open_consumer(argv[1], &e);
    moonlog_topic_partition tps[3] = {{"capi", 0}, {"capi", 1}, {"capi", 2}};
    int64_t offs[3];
    if (!c || moonlog_consumer_committed(c, tps, 3, offs, 10000, &e) != 0) return 6;
    printf("committed %lld %lld %lld\n", (long long)offs[0], (long long)offs[1], (long long)offs[2]);
    return moonlog_consumer_close(c, &e);
}
]]

describe("rebalance listeners against moonlogd", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "6", ["group.initial.rebalance.delay.ms"] = "0",
                                      ["group.min.session.timeout.ms"] = "500" } }
    dir = process.tmpdir("rebalance-spec")
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  local function config(group, extra)
    local cfg = {
      ["bootstrap.servers"] = b.bootstrap, ["group.id"] = group, ["auto.offset.reset"] = "earliest",
      ["fetch.max.wait.ms"] = "100", ["heartbeat.interval.ms"] = "200", ["session.timeout.ms"] = "6000",
    }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return cfg
  end

  -- what a test started, stopped after it whatever happened
  local started = {}
  after_each(function()
    for i = #started, 1, -1 do started[i]() end
    started = {}
  end)

  local function consumer(group, extra)
    local c = assert(moonlog.consumer(config(group, extra)))
    started[#started + 1] = function() c:close() end
    return c
  end

  -- n keyed records (kcat's partitioner spreads them), or n into one partition
  local function produce(topic, n, partition)
    local file = dir .. "/produce.txt"
    local lines = {}
    for i = 1, n do lines[#lines + 1] = "k" .. i .. "\tv" .. i end
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    local ok, msg = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -K '\t' -z lz4 " ..
      (partition and ("-p " .. partition) or "") .. " < " .. file)
    assert(ok, msg)
  end

  local function count_lines(s) return select(2, s:gsub("\n", "")) end

  it("with commit_on_revoke, a member leaving in the middle of 100,000 records causes no loss and no duplicate across the group", function()
    local N = 100000
    produce("big", N)
    local extra = { ["enable.auto.commit"] = "false", ["rebalance.listener"] = "commit_on_revoke" }
    local c1, c2 = consumer("g-big", extra), consumer("g-big", extra)
    assert(c1:subscribe { "big" })
    assert(c2:subscribe { "big" })
    local seen, count, by, dup = {}, 0, { 0, 0 }, nil
    local function drain(c, who)
      for _, r in ipairs(assert(c:poll(20))) do -- "processing" is counting: done before the next poll
        local id = r.partition * 1e9 + tonumber(r.offset)
        if seen[id] then dup = dup or (r.partition .. ":" .. tostring(r.offset)) end
        seen[id] = true
        count = count + 1
        by[who] = by[who] + 1
      end
    end
    process.wait_for("both members reading, half of the records", 120, function()
      drain(c1, 1)
      drain(c2, 2)
      return by[1] > 0 and by[2] > 0 and count >= N / 2
    end, 1)
    assert.is_nil(dup, "read twice")
    assert(c1:close()) -- revoked commits what c1 processed, then it leaves: c2 takes every partition
    process.wait_for("all " .. N .. " records", 120, function()
      drain(c2, 2)
      return count >= N
    end, 1)
    for _ = 1, 20 do drain(c2, 2) end -- anything read twice would come now
    assert.is_nil(dup, "read twice")
    assert.are.equal(N, count)
    assert.are.equal(6, #assert(c2:assignment()))
    -- every offset of every partition, once: nothing lost
    local per = {}
    for id in pairs(seen) do
      local p = math.floor(id / 1e9)
      per[p] = (per[p] or 0) + 1
    end
    local total = 0
    for p = 0, 5 do
      for o = 0, (per[p] or 0) - 1 do assert.is_true(seen[p * 1e9 + o], p .. ":" .. o .. " missing") end
      total = total + (per[p] or 0)
    end
    assert.are.equal(N, total)
    assert.is_true(c2:counter("rebalances") >= 2)
    assert.are.equal(0, c2:counter("listener.errors"))
  end)

  it("with auto commit and a crash, duplicates happen only within the uncommitted window (asserted by counting), never a loss", function()
    local N, INTERVAL = 20000, 1000
    produce("crash", N)
    local log = dir .. "/child.log"
    local script = dir .. "/child.lua"
    -- the child consumes slowly and writes "<ms> <partition> <offset>" for every record before it
    -- polls again: what it committed (auto commit, at poll) was written before
    process.write_file(script, ([[
      package.path = %q .. "/core/lua/?.lua;" .. package.path
      local ffi = require "ffi"
      ffi.cdef "struct ts { long s; long ns; }; int clock_gettime(int, struct ts *); int poll(void *, unsigned long, int);"
      local t = ffi.new("struct ts")
      local function now() ffi.C.clock_gettime(0, t); return tonumber(t.s) * 1000 + math.floor(tonumber(t.ns) / 1e6) end
      local moonlog = require "moonlog"
      local c = assert(moonlog.consumer { ["bootstrap.servers"] = %q, ["group.id"] = "g-crash",
        ["auto.offset.reset"] = "earliest", ["enable.auto.commit"] = "true", ["auto.commit.interval.ms"] = "%d",
        ["max.poll.records"] = "50", ["fetch.max.wait.ms"] = "100", ["heartbeat.interval.ms"] = "200",
        ["session.timeout.ms"] = "1500" })
      assert(c:subscribe { "crash" })
      local out = assert(io.open(%q, "w"))
      while true do
        local recs = assert(c:poll(100))
        local ms = now()
        for _, r in ipairs(recs) do out:write(ms, " ", r.partition, " ", tonumber(r.offset), "\n") end
        out:flush()
        ffi.C.poll(nil, 0, 20)
      end
    ]]):format(client.root, b.bootstrap, INTERVAL, log))
    local child = process.spawn { argv = process.luajit_argv(script), stderr = dir .. "/child.err" }
    started[#started + 1] = function() child:stop() end
    process.wait_for("the child to consume a third (stderr " .. dir .. "/child.err)", 60, function()
      assert.is_nil(child:poll(), process.read_file(dir .. "/child.err"))
      return count_lines(process.read_file(log) or "") >= N / 3
    end, 50)
    local killed_at = wall_ms()
    child:signal(process.SIGKILL)
    child:wait(10)
    -- what the child consumed, and when
    local consumed, last = {}, {}
    for line in io.lines(log) do
      local ms, p, o = line:match("^(%d+) (%d+) (%d+)$")
      if ms then
        p, o = tonumber(p), tonumber(o)
        consumed[p * 1e9 + o] = tonumber(ms)
        last[p] = math.max(last[p] or -1, o)
      end
    end
    -- what it had committed (nothing can commit for the group now)
    local probe = consumer("g-crash")
    local tps = {}
    for p = 0, 5 do tps[#tps + 1] = { topic = "crash", partition = p } end
    local committed = assert(probe:committed(tps))
    probe:close()
    -- a new member takes the group over once the child's session expired
    local c = consumer("g-crash", { ["session.timeout.ms"] = "1500" })
    assert(c:subscribe { "crash" })
    local seen, dups, count, first = {}, {}, 0, {}
    process.wait_for("the rest of the records", 120, function()
      for _, r in ipairs(assert(c:poll(50))) do
        local id = r.partition * 1e9 + tonumber(r.offset)
        assert.is_nil(seen[id], "the new member read " .. r.partition .. ":" .. tostring(r.offset) .. " twice")
        seen[id] = true
        first[r.partition] = first[r.partition] or tonumber(r.offset)
        if consumed[id] then dups[#dups + 1] = id end
        count = count + 1
      end
      local all = 0
      for id in pairs(consumed) do if not seen[id] then all = all + 1 end end
      return all + count >= N
    end, 1)
    -- never a loss: every record read by one or the other
    for p = 0, 5 do
      local n = 0
      for id in pairs(seen) do if math.floor(id / 1e9) == p then n = n + 1 end end
      for id in pairs(consumed) do if math.floor(id / 1e9) == p and not seen[id] then n = n + 1 end end
      local hw = 0
      for id in pairs(seen) do if math.floor(id / 1e9) == p then hw = math.max(hw, id - p * 1e9 + 1) end end
      for id in pairs(consumed) do if math.floor(id / 1e9) == p then hw = math.max(hw, id - p * 1e9 + 1) end end
      assert.are.equal(hw, n, "partition " .. p .. " has a gap")
    end
    -- the new member started exactly at the committed offsets: the duplicates are the child's
    -- records after its last auto commit, no more
    local expected = 0
    for p = 0, 5 do
      local from = committed[p + 1] >= 0 and tonumber(committed[p + 1]) or 0
      if first[p] then assert.are.equal(from, first[p], "partition " .. p .. " starts at its committed offset") end
      if last[p] and last[p] >= from then expected = expected + (last[p] - from + 1) end
    end
    assert.are.equal(expected, #dups)
    -- and they were all consumed within the last auto.commit.interval.ms before the kill (plus the
    -- commit's own round trip, at most one more interval when the last commit was still in flight)
    local window = 0
    for _, ms in pairs(consumed) do if ms >= killed_at - 2 * INTERVAL then window = window + 1 end end
    for _, id in ipairs(dups) do
      assert.is_true(consumed[id] >= killed_at - 2 * INTERVAL,
        "duplicate " .. id .. " consumed " .. (killed_at - consumed[id]) .. " ms before the kill")
    end
    assert.is_true(#dups <= window, #dups .. " duplicates, " .. window .. " records in the window")
    print(("\n  crash: %d consumed by the child, %d read again (%d in the last 2 x %d ms before the kill)"):format(
      (function() local n = 0 for _ in pairs(consumed) do n = n + 1 end return n end)(), #dups, window, INTERVAL))
  end)

  it("seek in on_partitions_assigned to offsets stored in a file: consumption resumes exactly there", function()
    for p = 0, 5 do produce("resume", 150, p) end
    local file = dir .. "/offsets.txt"
    local want = { [0] = 17, [1] = 0, [2] = 101, [3] = 5, [4] = 33, [5] = 2 }
    local lines = {}
    for p = 0, 5 do lines[#lines + 1] = p .. " " .. want[p] end
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    -- latest: without the seek nothing would be read
    local c = consumer("g-resume", { ["auto.offset.reset"] = "latest", ["enable.auto.commit"] = "false" })
    local assigned, fetched_before = 0, nil
    assert(c:subscribe({ "resume" }, {
      on_partitions_assigned = function(consumer, partitions)
        assigned = assigned + #partitions
        fetched_before = fetched_before or consumer:counter("fetches.sent") -- nothing before the seek
        local stored = {}
        for line in io.lines(file) do
          local p, o = line:match("^(%d+) (%d+)$")
          stored[tonumber(p)] = tonumber(o)
        end
        for _, tp in ipairs(partitions) do assert(consumer:seek(tp.topic, tp.partition, stored[tp.partition])) end
      end,
    }))
    -- joined without a poll (nothing to revoke first); the positions resolve (latest), but
    -- nothing is fetched while on_partitions_assigned waits for the next poll
    process.wait_for("the assignment, without polling", 30, function() return #assert(c:assignment()) == 6 end)
    for p = 0, 5 do assert(c:position("resume", p, 30000)) end
    local t0 = wall_ms()
    while wall_ms() - t0 < 300 do
      assert.are.equal(0, c:counter("fetches.sent"), "fetched before on_partitions_assigned ran")
      process.sleep_ms(20)
    end
    local next_off, count, total = {}, {}, 0
    for p = 0, 5 do total = total + 150 - want[p] end
    local n = 0
    process.wait_for(total .. " records", 60, function()
      for _, r in ipairs(assert(c:poll(50))) do
        local o = tonumber(r.offset)
        assert.are.equal(next_off[r.partition] or want[r.partition], o, "partition " .. r.partition)
        next_off[r.partition] = o + 1
        count[r.partition] = (count[r.partition] or 0) + 1
        n = n + 1
      end
      return n >= total
    end, 1)
    assert.are.equal(6, assigned)
    assert.are.equal(0, fetched_before)
    for p = 0, 5 do
      local hw = next_off[p] or want[p]
      assert.are.equal(hw - want[p], count[p] or 0)
    end
    assert.are.equal(900, (function() local s = 0 for p = 0, 5 do s = s + (next_off[p] or 0) end return s end)())
  end)

  it("a commit inside on_partitions_revoked lands before the partition is given to another member", function()
    produce("handover", 600)
    -- heartbeats as often as retry.backoff.ms: the commit must still get through while they are
    -- answered REBALANCE_IN_PROGRESS
    local extra = { ["enable.auto.commit"] = "false", ["max.poll.records"] = "37", ["heartbeat.interval.ms"] = "100" }
    local a, bm = consumer("g-handover", extra), consumer("g-handover", extra)
    local events, revoked_at = {}, {}
    assert(a:subscribe({ "handover" }, {
      on_partitions_revoked = function(consumer, partitions)
        local offs = {}
        for _, tp in ipairs(partitions) do
          local pos = consumer:position(tp.topic, tp.partition, 0)
          if pos then
            offs[#offs + 1] = { topic = tp.topic, partition = tp.partition, offset = pos }
            revoked_at[tp.partition] = tonumber(pos)
          end
        end
        local ok, err = consumer:commit_sync(offs)
        if not ok then error("commit_sync: " .. err.message) end
        events[#events + 1] = "a committed " .. #offs
      end,
    }))
    -- a alone reads some records of every partition
    local read = {}
    process.wait_for("a to read from all six partitions", 60, function()
      for _, r in ipairs(assert(a:poll(50))) do read[r.partition] = tonumber(r.offset) end
      local n = 0
      for _ in pairs(read) do n = n + 1 end
      return n == 6
    end, 1)
    local seen_committed = {}
    assert(bm:subscribe({ "handover" }, {
      on_partitions_assigned = function(consumer, partitions)
        if #partitions == 0 then return end
        local offs = assert(consumer:committed(partitions))
        for i, tp in ipairs(partitions) do seen_committed[tp.partition] = tonumber(offs[i]) end
        events[#events + 1] = "b assigned " .. #partitions
      end,
    }))
    local first, produced = {}, false
    local ok_wait, why = pcall(process.wait_for, "b to read its share", 60, function()
      if not produced and #events >= 2 then -- b has records to read even where a had read everything
        produce("handover", 600)
        produced = true
      end
      for _, r in ipairs(assert(a:poll(20))) do read[r.partition] = tonumber(r.offset) end
      for _, r in ipairs(assert(bm:poll(20))) do first[r.partition] = first[r.partition] or tonumber(r.offset) end
      local n = 0
      for _ in pairs(first) do n = n + 1 end
      return n == 3
    end, 1)
    if not ok_wait then
      local parts = {}
      for p in pairs(first) do parts[#parts + 1] = p end
      error(why .. ": events " .. table.concat(events, ", ") .. "; a owns " .. #a:assignment() .. ", b owns " ..
        #bm:assignment() .. ", b read from " .. table.concat(parts, ",") .. "; positions " .. (function()
          local o = {}
          for _, tp in ipairs(bm:assignment()) do
            local pos, e = bm:position(tp.topic, tp.partition, 0)
            o[#o + 1] = tp.partition .. "=" .. tostring(pos or e.message) .. "/" .. tostring(read[tp.partition])
          end
          return table.concat(o, " ")
        end)())
    end
    local committed_at, assigned_at
    for i, e in ipairs(events) do
      if e == "a committed 6" then committed_at = committed_at or i end
      if e == "b assigned 3" then assigned_at = assigned_at or i end
    end
    assert.is_truthy(committed_at, table.concat(events, ", "))
    assert.is_truthy(assigned_at, table.concat(events, ", "))
    assert.is_true(committed_at < assigned_at, table.concat(events, ", "))
    for p, off in pairs(first) do
      assert.are.equal(read[p] + 1, revoked_at[p], "a's position of " .. p .. " is after what it read")
      assert.are.equal(revoked_at[p], seen_committed[p], "b sees a's commit of " .. p .. " when assigned")
      assert.are.equal(revoked_at[p], off, "b starts " .. p .. " where a stopped")
    end
  end)

  it("a listener that raises does not break the consumer (plugin and Lua), and poll is refused inside one", function()
    produce("faulty", 300)
    local path = dir .. "/faulty.lua"
    client.write_plugin(path, [[
      return { api = 1, kind = "rebalance_listener",
        on_partitions_assigned = function(consumer, partitions)
          if #partitions > 0 then error("no thanks: " .. #partitions .. " partitions") end
        end }
    ]])
    local c = consumer("g-faulty", { ["rebalance.listener"] = path })
    assert(c:subscribe { "faulty" })
    local n = 0
    process.wait_for("every record despite the listener", 60, function()
      n = n + #assert(c:poll(50))
      return n >= 300
    end, 1)
    assert.are.equal(300, n)
    assert.is_true(c:counter("listener.errors") >= 1)
    -- a Lua listener that raises, and one that calls poll
    local c2 = consumer("g-faulty-lua")
    local poll_err
    assert(c2:subscribe({ "faulty" }, {
      on_partitions_assigned = function(consumer, partitions)
        local ok, err = consumer:poll(0)
        poll_err = poll_err or (not ok and err)
        if #partitions > 0 then error("raised on purpose") end
      end,
    }))
    n = 0
    process.wait_for("every record despite the Lua listener", 60, function()
      n = n + #assert(c2:poll(50))
      return n >= 300
    end, 1)
    assert.are.equal(300, n)
    assert.is_true(c2:listener_errors() >= 1)
    assert.are.equal("INVALID_ARG", poll_err.name)
    assert.matches("poll cannot be called inside a rebalance listener", poll_err.message, 1, true)
  end)

  it("on_partitions_lost when the member was dropped for not polling, and no revoked for those", function()
    produce("lost", 60)
    local calls = {}
    local c1 = consumer("g-lost", { ["max.poll.interval.ms"] = "1500" })
    local c2 = consumer("g-lost")
    assert(c1:subscribe({ "lost" }, {
      on_partitions_revoked = function(_, ps) calls[#calls + 1] = "revoked " .. #ps end,
      on_partitions_assigned = function(_, ps) calls[#calls + 1] = "assigned " .. #ps end,
      on_partitions_lost = function(_, ps) calls[#calls + 1] = "lost " .. #ps end,
    }))
    assert(c2:subscribe { "lost" })
    process.wait_for("a balanced assignment", 60, function()
      assert(c1:poll(50))
      assert(c2:poll(50))
      return #assert(c1:assignment()) == 3 and #assert(c2:assignment()) == 3
    end, 1)
    calls = {}
    process.wait_for("c2 to own every partition", 60, function() -- c1 stops polling
      assert(c2:poll(50))
      return #assert(c2:assignment()) == 6
    end, 1)
    assert.are.same({}, calls) -- nothing runs outside poll
    assert(c1:poll(0))
    assert.are.same({ "lost 3" }, calls)
  end)

  it("hot-reloads the rebalance.listener plugin while the consumer runs; a broken version is refused", function()
    produce("reload", 60)
    local path, out = dir .. "/reloading.lua", dir .. "/reloading.out"
    local function version(v)
      return ([[
        local function note(what)
          return function(consumer, partitions)
            local f = assert(io.open(%q, "a"))
            f:write("%s ", what, " ", #partitions, " ", moonlog.config["group.id"], "\n")
            f:close()
          end
        end
        return { api = 1, kind = "rebalance_listener",
          on_partitions_revoked = note("revoked"), on_partitions_assigned = note("assigned") }
      ]]):format(out, v)
    end
    client.write_plugin(path, version("v1"))
    local extra = { ["rebalance.listener"] = path, ["plugin.unsafe"] = "true", ["plugin.reload.interval.ms"] = "100" }
    local c = consumer("g-reload", extra)
    assert(c:subscribe { "reload" })
    process.wait_for("v1 assigned", 60, function()
      assert(c:poll(50))
      return (process.read_file(out) or ""):find("v1 assigned 6 g-reload", 1, true) -- moonlog.config too
    end, 1)
    client.write_plugin(path, version("v2"))
    process.wait_for("the reload", 30, function()
      assert(c:poll(50))
      return c:counter("listener.reloads") == 1
    end, 1)
    -- a second member: c revokes and is assigned again, by v2
    local c2 = consumer("g-reload")
    assert(c2:subscribe { "reload" })
    process.wait_for("v2 revoked and assigned", 60, function()
      assert(c:poll(50))
      assert(c2:poll(50))
      local t = process.read_file(out) or ""
      return t:find("v2 revoked 6", 1, true) and t:find("v2 assigned 3", 1, true)
    end, 1)
    client.write_plugin(path, "return { api = 1, kind = 'rebalance_listener', on_partitions_revoked = ")
    process.wait_for("the refusal", 30, function()
      assert(c:poll(50))
      return c:counter("listener.reload.failures") == 1
    end, 1)
    c2:close()
    process.wait_for("v2 still running", 60, function()
      assert(c:poll(50))
      return (process.read_file(out) or ""):find("v2 assigned 6", 1, true)
    end, 1)
    assert.are.equal(1, c:counter("listener.reloads"))
    assert.is_nil((process.read_file(out) or ""):match("v1 revoked"))
  end)

  it("C API: subscribe_with_listener calls back inside poll, seeks apply, close runs revoked", function()
    for p = 0, 2 do produce("capi", 30, p) end
    local lib = client.root .. "/" .. client.build
    local san = ({ address = "-fsanitize=address,undefined", thread = "-fsanitize=thread" })[os.getenv("SANITIZE") or ""]
    process.write_file(dir .. "/capi.c", C_PROGRAM)
    local ok, out = process.sh(("cc -std=c11 -D_GNU_SOURCE %s -I%s/core/include -o %s/capi %s/capi.c -L%s " ..
      "-Wl,-rpath,%s -lmoonlog && %s/capi %s"):format(san or "", client.root, dir, dir, lib, lib, dir, b.bootstrap))
    assert(ok, out)
    assert.matches("assigned 6 (c)", out, 1, true) -- the broker's num.partitions: 3 of them stay empty
    assert.matches("read 60, first 10 10 10, poll refused 1", out, 1, true)
    assert.matches("revoked 6 (c), commit 0", out, 1, true)
    assert.matches("committed 30 30 30", out, 1, true)
  end)
end)
