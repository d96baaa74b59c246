-- kafkajs 2.2.4 consumer groups against moonlogd (spec/compat/kafkajs_group.js): a consumer that
-- stops and starts again resumes right after its last committed offset, and two groups reading
-- one topic each receive every record (publish-subscribe).
local process = require "process"
local brokers = require "broker"

local root = os.getenv("MOONLOG_ROOT") or "."
local TOPIC, N = "js-groups", 900

local function parse(out)
  local line = out:match("({\"seen\".*})")
  assert(line, out)
  local seen = {}
  for p, o, v in line:gmatch("%[(%d+),(%d+),\"([^\"]*)\"%]") do
    seen[#seen + 1] = { p = tonumber(p), o = tonumber(o), v = v }
  end
  local committed = {}
  for p, o in line:match("\"committed\":{(.-)}"):gmatch("\"(%d+)\":(%-?%d+)") do committed[tonumber(p)] = tonumber(o) end
  return seen, committed
end

local function run(b, group, count)
  local ok, out = process.sh("cd " .. root .. "/spec/compat && node kafkajs_group.js " .. b.bootstrap .. " " .. TOPIC
    .. " " .. group .. " " .. count)
  assert(ok, out)
  return parse(out)
end

describe("kafkajs consumer groups against moonlogd", function()
  local b, dir
  setup(function()
    dir = process.tmpdir("kafkajs-group")
    b = brokers.start { overrides = { ["num.partitions"] = "3", ["group.initial.rebalance.delay.ms"] = "300",
      ["offsets.topic.num.partitions"] = "3" } }
    local t = {}
    for i = 1, N do t[#t + 1] = "key" .. i .. ":value" .. i end
    process.write_file(dir .. "/in.txt", table.concat(t, "\n") .. "\n")
    local ok, out = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. TOPIC .. " -K: < " .. dir .. "/in.txt")
    assert(ok, out)
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  it("resumes after the last committed offset when a stopped consumer starts again", function()
    local seen1, committed1 = run(b, "resume", 400)
    assert.are.equal(400, #seen1)
    -- What was processed is what was committed.
    local last = {}
    for _, r in ipairs(seen1) do last[r.p] = math.max(last[r.p] or -1, r.o) end
    for p = 0, 2 do
      if last[p] then assert.are.equal(last[p] + 1, committed1[p], "partition " .. p) end
    end
    local seen2 = run(b, "resume", N - 400)
    local first = {}
    for _, r in ipairs(seen2) do first[r.p] = math.min(first[r.p] or math.huge, r.o) end
    for p, o in pairs(first) do
      local c = committed1[p] or -1
      assert.are.equal(c < 0 and 0 or c, o, "partition " .. p .. " resumes at its committed offset")
    end
    local count = {}
    for _, r in ipairs(seen1) do count[r.v] = (count[r.v] or 0) + 1 end
    for _, r in ipairs(seen2) do count[r.v] = (count[r.v] or 0) + 1 end
    for i = 1, N do assert.are.equal(1, count["value" .. i], "value" .. i .. " read once over both runs") end
  end)

  it("delivers every record to each of two groups reading the same topic", function()
    local procs = {}
    for _, g in ipairs({ "pubsub-a", "pubsub-b" }) do
      procs[g] = process.spawn { argv = { "node", root .. "/spec/compat/kafkajs_group.js", b.bootstrap, TOPIC, g,
        tostring(N) }, stdout = dir .. "/" .. g .. ".out", stderr = dir .. "/" .. g .. ".err" }
    end
    for g, p in pairs(procs) do
      local st = p:wait(90)
      assert.are.equal(0, st, process.read_file(dir .. "/" .. g .. ".err"))
      local seen = parse(process.read_file(dir .. "/" .. g .. ".out"))
      local values = {}
      for _, r in ipairs(seen) do values[r.v] = true end
      for i = 1, N do assert.truthy(values["value" .. i], g .. " got value" .. i) end
    end
  end)
end)
