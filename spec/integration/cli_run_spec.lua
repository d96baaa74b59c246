-- `moonlog run script.lua` against a real moonlogd: the three examples/ prototypes produce the
-- expected output topics (and dedup's restart neither loses nor repeats, in assign mode and as
-- group members: restarted, or handing a partition over to another member), a pattern
-- subscription takes a matching topic created after the start, a running script
-- replaced on disk takes the next records without losing its position (and a broken version is
-- reported while the old one goes on), plain scripts exit with their status, and a failing
-- handler exits 1 without committing past the record it failed on.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

describe("moonlog run", function()
  local b, dir, procs

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "2", ["group.initial.rebalance.delay.ms"] = "0" } }
    dir = process.tmpdir("cli-run")
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)
  before_each(function() procs = {} end)
  after_each(function()
    for _, p in ipairs(procs) do p:stop(10) end
  end)

  local n_runs = 0
  -- Starts `moonlog run` in the background; its stderr goes to a file of its own (p.stderr).
  local function start(script, args, opts)
    n_runs = n_runs + 1
    local argv = { client.cli, "run", "--reload-interval-ms", tostring((opts or {}).reload_ms or 100), script }
    for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
    local p = process.spawn { argv = argv, stdout = dir .. "/run" .. n_runs .. ".out",
                              stderr = dir .. "/run" .. n_runs .. ".err" }
    procs[#procs + 1] = p
    return p
  end
  local function stderr_of(p) return process.read_file(p.stderr) or "" end

  -- SIGTERM, and the run must end cleanly: status 0, and under SANITIZE no sanitizer report
  -- (UBSan's does not change the status).
  local function stop_clean(p)
    local st = p:stop(20)
    local err = stderr_of(p)
    assert.are.equal(0, st, err)
    for _, mark in ipairs { "ERROR: AddressSanitizer", "WARNING: ThreadSanitizer", "runtime error:" } do
      assert.is_nil(err:find(mark, 1, true), err)
    end
    return err
  end

  local function produce(topic, recs)
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, ["linger.ms"] = 2, acks = "all" })
    local failed = 0
    for _, r in ipairs(recs) do
      assert(p:send({ topic = topic, key = r[1], value = r[2], partition = r[3] }, function(_, err)
        if err then failed = failed + 1 end
      end))
    end
    assert(p:close())
    assert.are.equal(0, failed)
  end

  -- The records of a topic once there are at least n (the topic may not exist yet).
  local function consume(topic, n)
    local recs
    process.wait_for((n or 0) .. " records in " .. topic, 30, function()
      local ok, r = pcall(client.consume, b.bootstrap, topic)
      if ok then recs = r end
      return ok and #r >= (n or 0)
    end, 100)
    return recs
  end

  local function example(name) return client.root .. "/examples/" .. name end

  it("wordcount: the last record of each word in the output topic is its count", function()
    local lines = { "the cat sat", "The dog sat", "a cat and a dog", "CAT!" }
    local recs = {}
    for i, l in ipairs(lines) do recs[#recs + 1] = { nil, l, i % 2 } end
    produce("wc-in", recs)
    local p = start(example("wordcount.lua"), { "bootstrap=" .. b.bootstrap, "input=wc-in", "output=wc-out",
                                               "partitions=2" })
    local want = { the = 2, cat = 3, sat = 2, dog = 2, a = 2, ["and"] = 1 }
    local last
    process.wait_for("the final counts in wc-out", 30, function()
      last = {}
      for _, r in ipairs(consume("wc-out")) do last[r.key] = tonumber(r.value) end
      for w, n in pairs(want) do if last[w] ~= n then return false end end
      return true
    end, 200)
    stop_clean(p)
    assert.are.same(want, last)
    -- keyed by word: every record of a word is in the partition Java's murmur2 gives it
    for _, r in ipairs(consume("wc-out")) do
      assert.are.equal(moonlog.murmur2_partition(r.key, 2), r.partition)
    end
  end)

  it("filter_forward: matching records transformed into the output; a restart resumes at the commit", function()
    local recs = {}
    for i = 1, 40 do recs[#recs + 1] = { "k" .. i, (i % 2 == 1 and "error " or "info ") .. i } end
    produce("ff-in", recs)
    local args = { "bootstrap=" .. b.bootstrap, "input=ff-in", "output=ff-out", "group=ff", "match=^error" }
    local p = start(example("filter_forward.lua"), args)
    consume("ff-out", 20)
    stop_clean(p)
    recs = {}
    for i = 41, 60 do recs[#recs + 1] = { "k" .. i, (i % 2 == 1 and "error " or "info ") .. i } end
    produce("ff-in", recs)
    p = start(example("filter_forward.lua"), args)
    consume("ff-out", 30)
    -- the restarted member is past the first run's records: wait for its commit of all 60
    local c = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = "ff" })
    process.wait_for("ff's commit of every input record", 30, function()
      local offs = assert(c:committed { { topic = "ff-in", partition = 0 }, { topic = "ff-in", partition = 1 } })
      return tonumber(offs[1]) + tonumber(offs[2]) == 60
    end, 100)
    assert(c:close())
    stop_clean(p)
    local out = consume("ff-out")
    assert.are.equal(30, #out)
    local seen = {}
    for _, r in ipairs(out) do
      local i = tonumber(r.value:match("^ERROR (%d+)$"))
      assert.truthy(i and i % 2 == 1, r.value)
      assert.are.equal("k" .. i, r.key)
      assert.is_nil(seen[i], "forwarded twice: " .. r.value)
      seen[i] = true
    end
  end)

  -- The sum of the store's "n" lines (records handled), its last offset per partition, its
  -- number of "k" lines, and its lines of no known form (two writers' blocks mixed up).
  local function store_summary(path)
    local text = process.read_file(path) or ""
    local handled, ends, ids, bad = 0, {}, 0, {}
    for line in text:gmatch("[^\n]+") do
      local n = line:match("^n (%d+)$")
      local t, p, off = line:match("^o (%S+) (%d+) (%d+)$")
      if n then handled = handled + tonumber(n) end
      if t then ends[t .. "/" .. p] = tonumber(off) end
      if line:match("^k %x*$") then ids = ids + 1
      elseif not (n or t or line == "c") then bad[#bad + 1] = line end
    end
    return handled, ends, ids, bad
  end

  it("dedup (assign mode): first record of each id forwarded once, across a restart that neither loses nor repeats", function()
    local store = dir .. "/dedup.store"
    local args = { "bootstrap=" .. b.bootstrap, "input=dd-in", "output=dd-out", "store=" .. store, "partitions=2" }
    local recs = {}
    for i = 1, 30 do recs[#recs + 1] = { "id" .. (i % 20), "first-" .. i } end -- ids 1..19, 0; 10 repeats
    produce("dd-in", recs)
    local p = start(example("dedup.lua"), args)
    process.wait_for("dedup to handle 30 records", 30, function() return store_summary(store) == 30 end, 100)
    stop_clean(p)
    recs = {}
    for i = 31, 50 do recs[#recs + 1] = { "id" .. (i % 25), "second-" .. i } end -- ids 6..24, 0: 5 new
    produce("dd-in", recs)
    p = start(example("dedup.lua"), args)
    process.wait_for("dedup to handle 50 records", 30, function() return store_summary(store) >= 50 end, 100)
    stop_clean(p)
    local handled, ends, ids = store_summary(store)
    -- exactly the 50 input records, none handled twice after the restart, nothing skipped
    assert.are.equal(50, handled)
    assert.are.equal(25, ids)
    local c = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap })
    assert(c:assign { { topic = "dd-in", partition = 0 }, { topic = "dd-in", partition = 1 } })
    assert(c:seek_to_end())
    for part = 0, 1 do
      assert.are.equal(tonumber(assert(c:position("dd-in", part))), ends["dd-in/" .. part] or 0)
    end
    assert(c:close())
    local out = consume("dd-out", 25)
    assert.are.equal(25, #out)
    local by_id = {}
    for _, r in ipairs(out) do
      assert.is_nil(by_id[r.key], "forwarded twice: " .. r.key)
      by_id[r.key] = r.value
    end
    for i = 0, 24 do
      local first = i < 20 and (i == 0 and 20 or i) or (i + 25 <= 50 and i + 25 or nil)
      local want = first <= 30 and "first-" .. first or "second-" .. first
      assert.are.equal(want, by_id["id" .. i])
    end
  end)

  it("dedup after kill -9: its store holds every input record exactly once; the output lacks none", function()
    local store = dir .. "/dedup-kill.store"
    local args = { "bootstrap=" .. b.bootstrap, "input=dk-in", "output=dk-out", "store=" .. store, "partitions=2" }
    local N, IDS = 20000, 15000
    local recs = {}
    for i = 1, N do recs[#recs + 1] = { "id" .. (i % IDS), "v" .. i } end
    produce("dk-in", recs)
    local p = start(example("dedup.lua"), args)
    process.wait_for("dedup to be under way", 30, function() return store_summary(store) >= 1000 end, 5)
    p:signal(process.SIGKILL)
    p:wait(10)
    local before = store_summary(store)
    assert.is_true(before < N, "killed too late to prove anything: all " .. N .. " records were handled")
    p = start(example("dedup.lua"), args)
    process.wait_for("dedup to handle every record", 60, function() return store_summary(store) >= N end, 100)
    stop_clean(p)
    local handled, _, ids = store_summary(store)
    assert.are.equal(N, handled)
    assert.are.equal(IDS, ids)
    local out = consume("dk-out", IDS)
    local seen, repeats = {}, 0
    for _, r in ipairs(out) do
      if seen[r.key] then repeats = repeats + 1 end
      seen[r.key] = true
    end
    for i = 0, IDS - 1 do assert.truthy(seen["id" .. i], "id" .. i .. " never forwarded") end
    -- only the batch in flight at the kill can be forwarded twice (at most max.poll.records)
    assert.is_true(repeats <= 500, repeats .. " repeats (store had " .. before .. " records before the kill)")
  end)

  -- Dedup as a group member checks the input it handled (the store's "n" sum is every record
  -- exactly once: no record skipped, none handled again after a restart or a handover) and the
  -- output (every id exactly once). Records are keyed (the default partitioner): an id lives in
  -- one partition, which is what dedup needs across members.
  local function keyed(from, to, ids)
    local recs = {}
    for i = from, to do recs[#recs + 1] = { "id" .. (i % ids), "v" .. i } end
    return recs
  end
  local function check_dedup(store, out_topic, n, ids)
    local handled, _, stored_ids, bad = store_summary(store)
    assert.are.same({}, bad)
    assert.are.equal(n, handled)
    assert.are.equal(ids, stored_ids)
    local out = consume(out_topic, ids)
    local seen = {}
    local function where(r) return ("%s (%s at %s[%d]@%s)"):format(r.key, r.value, out_topic, r.partition, tostring(r.offset)) end
    for _, r in ipairs(out) do
      assert.is_nil(seen[r.key], "forwarded twice: " .. (seen[r.key] or "") .. " and " .. where(r))
      seen[r.key] = where(r)
    end
    for i = 0, ids - 1 do assert.truthy(seen["id" .. i], "id" .. i .. " never forwarded") end
    assert.are.equal(ids, #out)
  end
  -- process.wait_for, with the runs' stderr in the error when it times out
  local function wait_runs(what, runs, fn)
    local ok, err = pcall(process.wait_for, what, 30, fn, 50)
    if ok then return end
    for i, r in ipairs(runs) do err = err .. "\n--- run " .. i .. " stderr:\n" .. stderr_of(r) end
    error(err, 2)
  end
  local function count(text, pat)
    local k = 0
    for _ in text:gmatch(pat) do k = k + 1 end
    return k
  end

  it("dedup (group mode): stopped and restarted mid-stream, every input record handled and every id forwarded once", function()
    local store = dir .. "/dedup-group.store"
    local args = { "bootstrap=" .. b.bootstrap, "input=dg-in", "output=dg-out", "store=" .. store, "group=dg" }
    local N1, N, IDS = 12000, 16000, 10000
    produce("dg-in", keyed(1, N1, IDS))
    local p = start(example("dedup.lua"), args)
    process.wait_for("dedup to be under way", 30, function() return store_summary(store) >= 1000 end, 5)
    stop_clean(p)
    local before, ends = store_summary(store)
    assert.is_true(before < N1, "stopped too late to prove anything: all " .. N1 .. " records were handled")
    produce("dg-in", keyed(N1 + 1, N1 + 2000, IDS)) -- while no member runs
    p = start(example("dedup.lua"), args)
    wait_runs("the restarted member's assignment", { p }, function()
      return count(stderr_of(p), "assigned dg%-in%[%d%]") == 2
    end)
    -- each partition the first run handled records of starts at its stored offset
    for part = 0, 1 do
      local off = ends["dg-in/" .. part]
      local line = stderr_of(p):match("assigned dg%-in%[" .. part .. "%] at ([^\n]*)")
      assert.are.equal(off and tostring(off) or "the committed/reset offset", line)
    end
    produce("dg-in", keyed(N1 + 2001, N, IDS)) -- while it runs
    process.wait_for("dedup to handle every record", 60, function() return store_summary(store) >= N end, 100)
    stop_clean(p)
    check_dedup(store, "dg-out", N, IDS)
  end)

  it("dedup (group mode): two members sharing the store, one leaves mid-stream; the other takes its partition at its offset", function()
    local store = dir .. "/dedup-two.store"
    local args = { "bootstrap=" .. b.bootstrap, "input=d2-in", "output=d2-out", "store=" .. store, "group=d2" }
    local N1, N2, N, IDS = 2000, 18000, 22000, 12000
    produce("d2-in", keyed(1, N1, IDS))
    local a = start(example("dedup.lua"), args)
    process.wait_for("member a to handle the first records", 30, function() return store_summary(store) >= N1 end, 50)
    local bm = start(example("dedup.lua"), args)
    -- eager rebalance: a gives both partitions up and gets one back, b gets the other
    wait_runs("the two members' assignment", { a, bm }, function()
      return count(stderr_of(bm), "assigned d2%-in%[%d%]") == 1 and count(stderr_of(a), "assigned d2%-in%[%d%]") == 3
    end)
    local b_part = tonumber(stderr_of(bm):match("assigned d2%-in%[(%d)%]"))
    -- the stream goes on while b leaves: b stops once the members handled 2000 of these records,
    -- and the records after that (of b's partition too) are a's
    local left_at
    for from = N1 + 1, N2, 1000 do
      produce("d2-in", keyed(from, from + 999, IDS))
      if not left_at and store_summary(store) >= N1 + 2000 then
        stop_clean(bm)
        left_at = from + 999
      end
    end
    assert.truthy(left_at and left_at < N2, "b did not leave before the stream's end")
    -- a takes b's partition at the offset b stored
    wait_runs("member a to take b's partition", { a, bm }, function()
      return count(stderr_of(a), "assigned d2%-in%[%d%]") == 5
    end)
    local took
    for off in stderr_of(a):gmatch("assigned d2%-in%[" .. b_part .. "%] at ([^\n]*)") do took = off end
    assert.truthy(tonumber(took), "a took b's partition without b's stored offset: " .. tostring(took))
    -- a handled records of b's partition that b had not
    local c = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap })
    assert(c:assign { { topic = "d2-in", partition = b_part } })
    assert(c:seek_to_end())
    local part_end = tonumber(assert(c:position("d2-in", b_part)))
    assert(c:close())
    assert.is_true(tonumber(took) < part_end, ("a had nothing of b's partition to handle: b handled all %d records "
      .. "of d2-in[%d]"):format(part_end, b_part))
    produce("d2-in", keyed(N2 + 1, N, IDS))
    process.wait_for("dedup to handle every record", 60, function() return store_summary(store) >= N end, 100)
    stop_clean(a)
    check_dedup(store, "d2-out", N, IDS)
  end)

  local function script(name, text)
    local path = dir .. "/" .. name
    client.write_plugin(path, text) -- write + rename, as an editor or a deploy does
    return path
  end

  local function forwarder(tag, broken)
    return ([[
local input, output = ...
return {
  config = { ["bootstrap.servers"] = %q, ["auto.offset.reset"] = "earliest", ["fetch.max.wait.ms"] = 50,
             producer = { ["linger.ms"] = 1 } },
  assign = { { topic = input, partition = 0 }, { topic = input, partition = 1 } },
  on_message = function(msg, ctx)
    assert(ctx.producer:send { topic = output, partition = msg.partition, key = msg.key,
                               value = %q .. ":" .. msg.value })
  end,
}
%s]]):format(b.bootstrap, tag, broken and "this is not Lua" or "")
  end

  it("a replaced script takes the next records, position kept; a broken one is reported and the old one goes on", function()
    local path = script("forward.lua", forwarder("v1"))
    local p
    local next_i = 1
    local function send(n)
      local recs = {}
      for _ = 1, n do
        recs[#recs + 1] = { "k" .. next_i, tostring(next_i) }
        next_i = next_i + 1
      end
      produce("rl-in", recs)
    end
    -- the input topic exists before the consumer starts: an assigned topic that does not exist
    -- yet is only looked up again after metadata.max.age.ms (the consumer's behaviour)
    send(50)
    p = start(path, { "rl-in", "rl-out" })
    consume("rl-out", 50)
    -- the stream goes on while the file is replaced
    send(25)
    script("forward.lua", forwarder("v2"))
    send(25)
    process.wait_for("the reload notice", 20, function()
      return stderr_of(p):find("reloaded, generation 2 handles the next records", 1, true)
    end, 50)
    send(50) -- 101..150: produced after the swap, v2's
    consume("rl-out", 150)
    script("forward.lua", forwarder("v3", true))
    process.wait_for("the failed reload notice", 20, function()
      return stderr_of(p):find("reload failed, generation 2 keeps running:", 1, true)
    end, 50)
    assert.truthy(stderr_of(p):find("forward.lua:11:", 1, true), stderr_of(p))
    send(50) -- 151..200: still v2
    local out = consume("rl-out", 200)
    stop_clean(p)
    out = consume("rl-out")
    assert.are.equal(200, #out)
    local seen, switched = {}, {}
    for _, r in ipairs(out) do -- partition, then offset order
      local tag, i = r.value:match("^(v%d):(%d+)$")
      i = tonumber(i)
      assert.truthy(tag == "v1" or tag == "v2", r.value)
      assert.is_nil(seen[i], "handled twice: " .. i)
      seen[i] = true
      assert.are.equal("k" .. i, r.key)
      if i <= 50 then assert.are.equal("v1", tag, r.value) end
      if i > 100 then assert.are.equal("v2", tag, r.value) end
      -- per partition the switch happens once: no v1 after a v2
      if tag == "v2" then switched[r.partition] = true
      else assert.is_nil(switched[r.partition], "v1 after v2 in partition " .. r.partition) end
    end
    for i = 1, 200 do assert.truthy(seen[i], "record " .. i .. " lost") end
  end)

  it("a plain script runs once with its arguments and the module, and exits with its status", function()
    local path = script("plain.lua", [[
local ffi = require "ffi"
local moonlog = require "moonlog"
print("args", arg[0]:match("plain%.lua$") ~= nil, select("#", ...), ...)
print("linked", moonlog.C == ffi.C)
return 7
]])
    local ok, out = process.sh(client.cli .. " run " .. path .. " one two")
    assert.is_false(ok)
    assert.truthy(out:find("args\ttrue\t2\tone\ttwo", 1, true), out)
    assert.truthy(out:find("linked\ttrue", 1, true), out)
    local ok7 = process.sh(client.cli .. " run " .. path .. " one two; test $? -eq 7")
    assert.is_true(ok7)
  end)

  it("documents itself with --help and refuses a missing script", function()
    local ok, out = process.sh(client.cli .. " run --help")
    assert(ok, out)
    assert.truthy(out:find("usage: moonlog run", 1, true) and out:find("on_message = function(msg, ctx)", 1, true) and
      out:find("examples/README.md", 1, true), out)
    ok, out = process.sh(client.cli .. " run; echo status=$?")
    assert.truthy(out:find("usage: moonlog run", 1, true) and out:find("status=2", 1, true), out)
    ok, out = process.sh(client.cli .. " run --reload-interval-ms x s.lua; echo status=$?")
    assert.truthy(out:find("--reload-interval-ms x: not a number >= 1", 1, true) and out:find("status=2", 1, true), out)
  end)

  it("a plain script that errors exits 1 with its message and traceback", function()
    local path = script("boom.lua", "local function f(x) return x.field end\nf(nil)\n")
    local ok, out = process.sh(client.cli .. " run " .. path .. "; echo status=$?")
    assert.is_true(ok)
    assert.truthy(out:find("boom.lua:1: attempt to index local 'x' (a nil value)", 1, true), out)
    assert.truthy(out:find("stack traceback:", 1, true) and out:find("boom.lua:2: in main chunk", 1, true), out)
    assert.truthy(out:find("status=1", 1, true), out)
    local bad = script("bad.lua", "return { config = {}, on_message = function() end, on_mesage = 1 }\n")
    ok, out = process.sh(client.cli .. " run " .. bad .. "; echo status=$?")
    assert.truthy(out:find("bad.lua: unknown key 'on_mesage' in the returned table", 1, true), out)
    assert.truthy(out:find("status=1", 1, true), out)
  end)

  it("a record the broker refuses ends the run with exit 1, and the batch is not committed", function()
    -- a broker of its own that refuses batches over 1000 bytes (message.max.bytes)
    local small = brokers.start { overrides = { ["message.max.bytes"] = "1000", ["group.initial.rebalance.delay.ms"] = "0" } }
    local ok, err = pcall(function()
      local p0 = assert(moonlog.producer { ["bootstrap.servers"] = small.bootstrap })
      for i = 1, 10 do assert(p0:send_sync { topic = "pf-in", partition = 0, value = i == 6 and "big" or tostring(i) }) end
      assert(p0:close())
      local path = script("produce_fail.lua", ([[
return {
  config = { ["bootstrap.servers"] = %q, ["group.id"] = "pf", ["auto.offset.reset"] = "earliest",
             ["max.poll.records"] = 1, producer = { retries = 0 } },
  topics = { "pf-in" },
  on_message = function(msg, ctx)
    local v = msg.value == "big" and string.rep("x", 5000) or msg.value
    assert(ctx.producer:send { topic = "pf-out", value = v })
  end,
}
]]):format(small.bootstrap))
      local p = start(path)
      local st = p:wait(60)
      local text = stderr_of(p)
      assert.are.equal(1, st, text)
      assert.truthy(text:find("producer: 1 record(s) failed", 1, true), text)
      local c = assert(moonlog.consumer { ["bootstrap.servers"] = small.bootstrap, ["group.id"] = "pf" })
      local offs = assert(c:committed { { topic = "pf-in", partition = 0 } })
      assert(c:close())
      -- one record per poll: the records before the refused one were committed, that one was not
      assert.are.equal(5, tonumber(offs[1]))
    end)
    small:stop()
    assert(ok, err)
  end)

  it("a handler that fails exits 1 and commits nothing past the failing record", function()
    local recs = {}
    for i = 1, 20 do recs[#recs + 1] = { "k" .. i, i == 13 and "boom" or tostring(i), 0 } end
    produce("hf-in", recs)
    local path = script("fail.lua", ([[
return {
  config = { ["bootstrap.servers"] = %q, ["group.id"] = "hf", ["auto.offset.reset"] = "earliest" },
  topics = { "hf-in" },
  on_message = function(msg, ctx)
    if msg.value == "boom" then error("cannot handle " .. msg.value) end
  end,
}
]]):format(b.bootstrap))
    local p = start(path)
    local st = p:wait(30)
    local err = stderr_of(p)
    assert.are.equal(1, st, err)
    assert.truthy(err:find("on_message at hf-in[0]@12: ", 1, true), err)
    assert.truthy(err:find("fail.lua:5: cannot handle boom", 1, true), err)
    local c = assert(moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = "hf" })
    local offs = assert(c:committed { { topic = "hf-in", partition = 0 } })
    assert(c:close())
    assert.are.equal(12, tonumber(offs[1]))
  end)

  it("pattern: a topic created after the start that matches is consumed, one that does not match is not", function()
    produce("pt.1", { { "a", "one" } })
    local path = script("pattern.lua", ([[
return {
  config = { ["bootstrap.servers"] = %q, ["group.id"] = "pt", ["auto.offset.reset"] = "earliest",
             ["metadata.max.age.ms"] = 300, producer = { ["linger.ms"] = 1 } },
  pattern = "pt[.][0-9]+",
  on_message = function(msg, ctx)
    assert(ctx.producer:send { topic = "pt-out", key = msg.key, value = msg.topic .. ":" .. msg.value })
  end,
}
]]):format(b.bootstrap))
    local p = start(path)
    consume("pt-out", 1)
    produce("ptx1", { { "x", "not matching" } })
    produce("pt.22", { { "b", "two" }, { "c", "three" } })
    local out = consume("pt-out", 3)
    stop_clean(p)
    out = consume("pt-out")
    local got = {}
    for _, r in ipairs(out) do got[#got + 1] = r.value end
    table.sort(got)
    assert.are.same({ "pt.1:one", "pt.22:three", "pt.22:two" }, got)
  end)

  it("pattern: refused with a listener table, naming the rebalance.listener rule", function()
    local path = script("pattern_listener.lua", ([[
return { config = { ["bootstrap.servers"] = %q, ["group.id"] = "pl" }, pattern = "a.*",
         listener = { on_partitions_assigned = function() end }, on_message = function() end }
]]):format(b.bootstrap))
    local ok, out = process.sh(client.cli .. " run " .. path .. "; echo status=$?")
    assert.truthy(out:find("pattern_listener.lua: listener is not taken with pattern: a pattern subscription takes no " ..
      "listener table, only the configuration's rebalance.listener plugin", 1, true), out)
    assert.truthy(out:find("status=1", 1, true), out)
  end)
end)
