-- kcat (librdkafka 2.0.2) against a real moonlogd: topic creation, produce with every codec,
-- consume back byte-identical, metadata listing, and the three ways to pick a start offset.
local process = require "process"
local brokers = require "broker"
local wire = require "wire"

local N = tonumber(os.getenv("MOONLOG_KCAT_RECORDS") or "100000")

local function kcat(args, stdin_path, out_path)
  local cmd = "kcat " .. args
  if stdin_path then cmd = cmd .. " < " .. stdin_path end
  if out_path then cmd = cmd .. " > " .. out_path end
  local ok, out = process.sh(cmd)
  assert(ok, "kcat " .. args .. " failed: " .. out)
  return out
end

local function lines(path)
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

describe("kcat against moonlogd", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "3" } }
    dir = process.tmpdir("kcat-spec")
  end)

  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  it("auto-creates a topic on first produce and lists it with kcat -L", function()
    process.write_file(dir .. "/one.txt", "k:v\n")
    kcat("-P -b " .. b.bootstrap .. " -t auto-created -K:", dir .. "/one.txt")
    local meta = kcat("-L -J -b " .. b.bootstrap)
    assert.truthy(meta:find('"topic":"auto%-created"'), meta)
    -- Everything after this topic's name up to the next topic (or the end).
    local parts = meta:match('"topic":"auto%-created","partitions":(.*)')
    parts = parts and (parts:match('^(.-)"topic":') or parts)
    local n = 0
    for _ in (parts or ""):gmatch('"partition":') do n = n + 1 end
    assert.are.equal(3, n)
    assert.truthy(meta:find('"name":"127.0.0.1:' .. b.port .. '"', 1, true) or meta:find('127.0.0.1', 1, true))
  end)

  it("creates a topic with CreateTopics and refuses to create it twice", function()
    local c = assert(wire.connect("127.0.0.1", b.port))
    assert.are.equal(0, c:create_topic("made-by-create", 5))
    assert.are.equal(36, c:create_topic("made-by-create", 5)) -- TOPIC_ALREADY_EXISTS
    c:close()
    local meta = kcat("-L -J -b " .. b.bootstrap .. " -t made-by-create")
    local n = 0
    for _ in meta:gmatch('"partition":') do n = n + 1 end
    assert.are.equal(5, n)
  end)

  for _, codec in ipairs { "none", "gzip", "snappy", "lz4", "zstd" } do
    it("round-trips " .. N .. " keyed records compressed with " .. codec, function()
      local topic = "codec-" .. codec
      local input = dir .. "/" .. codec .. ".in"
      local f = assert(io.open(input, "w"))
      local expect = {}
      for i = 1, N do
        -- Values of varied length and content, so compression has something to do.
        local v = ("value-%d-"):format(i) .. string.rep(string.char(97 + i % 26), i % 200)
        local line = ("key-%07d:%s"):format(i, v)
        f:write(line, "\n")
        expect[i] = line
      end
      f:close()
      local t0 = os.time() * 1000
      kcat("-P -b " .. b.bootstrap .. " -t " .. topic .. " -K: -z " .. codec ..
           " -H origin=kcat-spec -X linger.ms=20", input)
      local t1 = os.time() * 1000 + 1000
      local out = dir .. "/" .. codec .. ".out"
      kcat("-C -b " .. b.bootstrap .. " -t " .. topic .. " -o beginning -e -q -f '%p\\t%o\\t%T\\t%h\\t%k:%s\\n'",
           nil, out)
      local got, next_offset = {}, {}
      for _, l in ipairs(lines(out)) do
        local p, o, ts, h, rec = l:match("^(%d+)\t(%d+)\t(%d+)\t([^\t]*)\t(.*)$")
        assert.truthy(p, "unparsable line: " .. l)
        p, o, ts = tonumber(p), tonumber(o), tonumber(ts)
        assert.are.equal(next_offset[p] or 0, o) -- offsets dense from 0 in each partition
        next_offset[p] = o + 1
        assert.is_true(ts >= t0 - 1000 and ts <= t1, "timestamp " .. ts .. " outside the produce window")
        assert.are.equal("origin=kcat-spec", h)
        got[#got + 1] = rec
      end
      table.sort(got)
      assert.are.equal(N, #got)
      for i = 1, N do
        if got[i] ~= expect[i] then
          error(("record %d differs: %q vs %q"):format(i, got[i], expect[i]))
        end
      end
      local used = 0
      for _ in pairs(next_offset) do used = used + 1 end
      assert.are.equal(3, used)
    end)
  end

  it("keeps CreateTime as sent and stamps LogAppendTime topics with the broker's time", function()
    local c = assert(wire.connect("127.0.0.1", b.port))
    assert.are.equal(0, c:create_topic("ts-create", 1, { ["message.timestamp.type"] = "CreateTime" }))
    assert.are.equal(0, c:create_topic("ts-append", 1, { ["message.timestamp.type"] = "LogAppendTime" }))
    local old = 1000000000000 -- 2001-09-09
    local batch = wire.record_batch({ { key = "a", value = "1" }, { key = "b", value = "2", ts = old + 5 } }, old)
    local e1 = c:produce("ts-create", 0, batch, 1)
    local e2, _, append_time = c:produce("ts-append", 0, batch, 1)
    c:close()
    assert.are.equal(0, e1)
    assert.are.equal(0, e2)
    assert.is_true(append_time > old + 1e9, "LogAppendTime must be returned to the producer")
    local fmt = " -o beginning -e -q -f '%o %T %k\\n'"
    local created = kcat("-C -b " .. b.bootstrap .. " -t ts-create" .. fmt)
    assert.are.equal("0 " .. old .. " a\n1 " .. (old + 5) .. " b\n", created)
    local appended = kcat("-C -b " .. b.bootstrap .. " -t ts-append" .. fmt)
    for o, ts in appended:gmatch("(%d) (%d+) %a\n") do
      assert.are.equal(append_time, tonumber(ts), "offset " .. o)
    end
  end)

  describe("start offsets", function()
    local base_ts = 1600000000000
    setup(function()
      local c = assert(wire.connect("127.0.0.1", b.port))
      assert.are.equal(0, c:create_topic("positions", 1))
      -- 100 batches of 10 records; batch i has timestamps base_ts + i*1000 + j.
      for i = 0, 99 do
        local recs = {}
        for j = 0, 9 do recs[#recs + 1] = { key = tostring(i * 10 + j), value = "v", ts = base_ts + i * 1000 + j } end
        assert.are.equal(0, (c:produce("positions", 0, wire.record_batch(recs, base_ts + i * 1000), 1)))
      end
      c:close()
    end)

    local function offsets(o)
      local out = kcat("-C -b " .. b.bootstrap .. " -t positions -p 0 -o " .. o .. " -e -q -f '%o\\n'")
      local t = {}
      for n in out:gmatch("(%d+)\n") do t[#t + 1] = tonumber(n) end
      return t
    end

    it("consumes from an absolute offset", function()
      local t = offsets("537")
      assert.are.equal(537, t[1])
      assert.are.equal(999, t[#t])
      assert.are.equal(463, #t)
    end)

    it("consumes from a timestamp through the time index", function()
      local t = offsets("s@" .. (base_ts + 42 * 1000 + 5))
      assert.are.equal(425, t[1])
      assert.are.equal(575, #t)
    end)

    it("consumes the last records relative to the end", function()
      local t = offsets("-10")
      assert.are.same({ 990, 991, 992, 993, 994, 995, 996, 997, 998, 999 }, t)
    end)
  end)
end)
