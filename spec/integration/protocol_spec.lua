-- The protocol traps that break real clients (../shared/DESIGN.md, "Kafka protocol"), each
-- checked byte by byte against a real moonlogd over a raw socket.
local brokers = require "broker"
local wire = require "wire"
local process = require "process"

local function fetch_v11_body(topic, partition, offset, max_wait, min_bytes)
  return wire.i32(-1) .. wire.i32(max_wait or 0) .. wire.i32(min_bytes or 0) .. wire.i32(50 * 1024 * 1024)
    .. wire.i8(1) .. wire.i32(0) .. wire.i32(-1)
    .. wire.array({ topic }, function(t)
      return wire.str(t) .. wire.array({ partition }, function(p)
        return wire.i32(p) .. wire.i32(-1) .. wire.i64(offset) .. wire.i64(-1) .. wire.i32(1024 * 1024)
      end)
    end)
    .. wire.array({}, nil) .. wire.str("")
end

local function parse_fetch_v11(rest)
  local r = wire.reader(rest)
  local out = { throttle = r:i32(), err = r:i16(), session = r:i32() }
  out.topics = r:array(function(t)
    return { name = t:str(), parts = t:array(function(p)
      return { index = p:i32(), err = p:i16(), hw = p:i64(), lso = p:i64(), log_start = p:i64(),
        aborted = p:array(function(a) return { a:i64(), a:i64() } end),
        preferred = p:i32(), records = p:bytes() }
    end) }
  end)
  return out
end

-- Counts the record batches in a records blob (whole batches only).
local function count_batches(records)
  local n, pos = 0, 1
  while pos + 12 <= #records do
    local len = wire.reader(records:sub(pos + 8, pos + 11)):i32()
    if pos + 12 + len - 1 > #records then break end
    n = n + 1
    pos = pos + 12 + len
  end
  return n
end

local function list_offsets_v1(c, topic, partition, ts)
  local body = wire.i32(-1) .. wire.array({ topic }, function(t)
    return wire.str(t) .. wire.array({ partition }, function(p) return wire.i32(p) .. wire.i64(ts) end)
  end)
  local r = wire.reader(c:request(2, 1, body))
  local topics = r:array(function(t)
    return { t:str(), t:array(function(p) return { index = p:i32(), err = p:i16(), ts = p:i64(), offset = p:i64() } end) }
  end)
  return topics[1][2][1]
end

describe("protocol traps", function()
  local b, c
  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "1" } }
    c = assert(wire.connect("127.0.0.1", b.port))
  end)
  teardown(function()
    if c then c:close() end
    if b then b:stop() end
  end)

  it("answers ApiVersions v3 (flexible request) with response header v0", function()
    local body = wire.uvarint(#"spec" + 1) .. "spec" .. wire.uvarint(#"1.0" + 1) .. "1.0" .. "\0"
    local rest = c:request(18, 3, body, true)
    -- No tagged-field byte after the correlation id: the body starts with error_code 0.
    local r = wire.reader(rest)
    assert.are.equal(0, r:i16())
    local n = r:u(1) - 1
    assert.are.equal(19, n) -- the nine of issue 2 and the ten group APIs
    local seen = {}
    for _ = 1, n do
      local key, min, max = r:i16(), r:i16(), r:i16()
      assert.are.equal(0, r:u(1)) -- each entry's tagged fields
      seen[key] = { min, max }
    end
    assert.are.same({ 3, 9 }, seen[0])
    assert.are.same({ 4, 12 }, seen[1])
    assert.are.same({ 0, 5 }, seen[2])
    assert.are.same({ 0, 9 }, seen[3])
    assert.are.same({ 0, 3 }, seen[18])
    assert.are.same({ 0, 5 }, seen[19])
    assert.are.same({ 0, 4 }, seen[20])
    assert.are.same({ 0, 4 }, seen[32])
    assert.are.same({ 0, 2 }, seen[37])
  end)

  it("uses response header v1 (tagged fields) for a flexible Metadata v9 and advertises itself", function()
    -- topics [], allow_auto_topic_creation, include cluster ops, include topic ops, tagged fields
    local body = wire.uvarint(1) .. "\1\0\0\0"
    local rest = c:request(3, 9, body, true)
    local r = wire.reader(rest)
    assert.are.equal(0, r:u(1), "response header v1 tagged fields")
    assert.are.equal(0, r:i32())          -- throttle
    assert.are.equal(2, r:u(1))           -- one broker (compact array)
    assert.are.equal(0, r:i32())          -- node id
    local hlen = r:u(1) - 1
    assert.are.equal("127.0.0.1", rest:sub(r.pos, r.pos + hlen - 1))
    r.pos = r.pos + hlen
    assert.are.equal(b.port, r:i32())
  end)

  it("answers an unknown topic in Metadata v4 without auto-creation with UNKNOWN_TOPIC_OR_PARTITION", function()
    local body = wire.array({ "never-created" }, wire.str) .. "\0"
    local r = wire.reader(c:request(3, 4, body))
    r:i32()
    r:array(function(x) return { x:i32(), x:str(), x:i32(), x:str() } end)
    r:str()
    r:i32()
    local topics = r:array(function(x) return { err = x:i16(), name = x:str() } end)
    assert.are.equal(3, topics[1].err)
    assert.are.equal("never-created", topics[1].name)
  end)

  it("sets last_stable_offset to the high watermark, no aborted transactions, preferred replica -1", function()
    assert.are.equal(0, c:create_topic("lso", 1))
    for i = 1, 3 do
      local err = c:produce("lso", 0, wire.record_batch({ { key = "k" .. i, value = "v" .. i } }))
      assert.are.equal(0, err)
    end
    local f = parse_fetch_v11(c:request(1, 11, fetch_v11_body("lso", 0, 0)))
    local p = f.topics[1].parts[1]
    assert.are.equal(0, f.err)
    assert.are.equal(0, f.session)
    assert.are.equal(0, p.err)
    assert.are.equal(3, p.hw)
    assert.are.equal(3, p.lso)
    assert.are.equal(0, p.log_start)
    assert.are.equal(0, #p.aborted)
    assert.are.equal(-1, p.preferred)
    assert.are.equal(3, count_batches(p.records))
  end)

  it("keeps responses in request order behind a long-poll Fetch, and wakes it on append", function()
    assert.are.equal(0, c:create_topic("order", 1))
    local t0 = process.now_ms()
    local fetch_corr = c:send_request(1, 11, fetch_v11_body("order", 0, 0, 10000, 1))
    local meta_corr = c:send_request(3, 4, wire.array({ "order" }, wire.str) .. "\0")
    -- The Metadata is ready at once but must wait for the Fetch: nothing arrives yet.
    c.timeout = 300
    assert.is_nil((c:recv_response()))
    c.timeout = 10000
    local other = assert(wire.connect("127.0.0.1", b.port))
    assert.are.equal(0, (other:produce("order", 0, wire.record_batch({ { key = "a", value = "b" } }))))
    other:close()
    local corr1, rest1 = c:recv_response()
    local corr2 = c:recv_response()
    assert.are.equal(fetch_corr, corr1)
    assert.are.equal(meta_corr, corr2)
    local p = parse_fetch_v11(rest1).topics[1].parts[1]
    assert.are.equal(1, count_batches(p.records))
    assert.is_true(process.now_ms() - t0 < 5000, "the fetch was answered by the append, not by max_wait_ms")
  end)

  it("answers a long-poll Fetch with no data when max_wait_ms expires", function()
    assert.are.equal(0, c:create_topic("idle", 1))
    local f = parse_fetch_v11(c:request(1, 11, fetch_v11_body("idle", 0, 0, 200, 1)))
    assert.are.equal(0, f.topics[1].parts[1].err)
    assert.are.equal(0, #f.topics[1].parts[1].records)
  end)

  it("sends no response at all for acks=0, and the next request is answered in turn", function()
    assert.are.equal(0, c:create_topic("acks0", 1))
    c:produce("acks0", 0, wire.record_batch({ { key = "x", value = "y" } }), 0)
    local corr = c:send_request(18, 0, "")
    local got = c:recv_response()
    assert.are.equal(corr, got)
    local p = list_offsets_v1(c, "acks0", 0, -1)
    assert.are.equal(1, p.offset)
  end)

  it("rejects a batch with a bad CRC with CORRUPT_MESSAGE and stores nothing", function()
    assert.are.equal(0, c:create_topic("crc", 1))
    local batch = wire.record_batch({ { key = "k", value = "value" } })
    local bad = batch:sub(1, #batch - 1) .. string.char((batch:byte(#batch) + 1) % 256)
    assert.are.equal(2, (c:produce("crc", 0, bad)))
    assert.are.equal(0, list_offsets_v1(c, "crc", 0, -1).offset)
    assert.are.equal(0, (c:produce("crc", 0, batch)))
    assert.are.equal(1, list_offsets_v1(c, "crc", 0, -1).offset)
  end)

  it("rejects acks=2 with INVALID_REQUIRED_ACKS", function()
    assert.are.equal(0, c:create_topic("acks2", 1))
    assert.are.equal(21, (c:produce("acks2", 0, wire.record_batch({ { value = "v" } }), 2)))
  end)

  it("enforces max.message.bytes with MESSAGE_TOO_LARGE, and acks=all against min.insync.replicas", function()
    assert.are.equal(0, c:create_topic("small", 1, { ["max.message.bytes"] = "1000" }))
    local big = wire.record_batch({ { key = "k", value = string.rep("x", 2000) } })
    assert.are.equal(10, (c:produce("small", 0, big)))
    assert.are.equal(0, list_offsets_v1(c, "small", 0, -1).offset)
    assert.are.equal(0, (c:produce("small", 0, wire.record_batch({ { value = "fits" } }), -1)))
    assert.are.equal(0, c:create_topic("isr2", 1, { ["min.insync.replicas"] = "2" }))
    assert.are.equal(19, (c:produce("isr2", 0, wire.record_batch({ { value = "v" } }), -1)))
    assert.are.equal(0, (c:produce("isr2", 0, wire.record_batch({ { value = "v" } }), 1)))
  end)

  it("marks __consumer_offsets internal in Metadata and refuses client appends to it", function()
    local r = wire.reader(c:request(10, 0, wire.str("some-group"))) -- FindCoordinator creates it
    assert.are.equal(0, r:i16())
    r = wire.reader(c:request(3, 1, wire.array({ "__consumer_offsets" }, wire.str)))
    r:array(function(x) return { x:i32(), x:str(), x:i32(), x:str() } end)
    r:i32()
    local t = r:array(function(x)
      return { err = x:i16(), name = x:str(), internal = x:i8(), parts = x:array(function(p)
        return { p:i16(), p:i32(), p:i32(), p:array(p.i32), p:array(p.i32) }
      end) }
    end)[1]
    assert.are.equal(0, t.err)
    assert.are.equal(1, t.internal)
    assert.are.equal(17, (c:produce("__consumer_offsets", 0, wire.record_batch({ { key = "k", value = "v" } }))))
  end)

  it("answers a fetch past the log end with OFFSET_OUT_OF_RANGE", function()
    assert.are.equal(0, c:create_topic("oor", 1))
    local f = parse_fetch_v11(c:request(1, 11, fetch_v11_body("oor", 0, 42)))
    assert.are.equal(1, f.topics[1].parts[1].err)
  end)

  it("answers ListOffsets earliest, latest and by timestamp", function()
    assert.are.equal(0, c:create_topic("times", 1))
    local base = 1700000000000
    for i = 0, 4 do
      assert.are.equal(0, (c:produce("times", 0, wire.record_batch({ { value = "v" .. i, ts = base + i * 1000 } }, base + i * 1000))))
    end
    assert.are.equal(0, list_offsets_v1(c, "times", 0, -2).offset)
    assert.are.equal(5, list_offsets_v1(c, "times", 0, -1).offset)
    local p = list_offsets_v1(c, "times", 0, base + 2500)
    assert.are.equal(3, p.offset)
    assert.are.equal(base + 3000, p.ts)
    assert.are.equal(-1, list_offsets_v1(c, "times", 0, base + 99999).offset)
    assert.are.equal(3, list_offsets_v1(c, "nope", 0, -1).err)
  end)
end)

describe("admin APIs", function()
  local b, c
  setup(function()
    b = brokers.start { overrides = { ["auto.create.topics.enable"] = "false" } }
    c = assert(wire.connect("127.0.0.1", b.port))
  end)
  teardown(function()
    if c then c:close() end
    if b then b:stop() end
  end)

  -- CreateTopics v1: {name, partitions, rf, configs}, validate_only; returns {err, message}.
  local function create(name, partitions, rf, configs, validate_only)
    local cfg = {}
    for k, v in pairs(configs or {}) do cfg[#cfg + 1] = { k, v } end
    local body = wire.array({ name }, function(n)
      return wire.str(n) .. wire.i32(partitions) .. wire.i16(rf) .. wire.array({}, nil)
        .. wire.array(cfg, function(x) return wire.str(x[1]) .. wire.str(x[2]) end)
    end) .. wire.i32(10000) .. wire.i8(validate_only and 1 or 0)
    local r = wire.reader(c:request(19, 1, body))
    local res = r:array(function(x) return { name = x:str(), err = x:i16(), msg = x:str() } end)
    return res[1].err, res[1].msg
  end

  local function partitions_of(topic)
    local r = wire.reader(c:request(3, 1, wire.array({ topic }, wire.str)))
    r:array(function(x) return { x:i32(), x:str(), x:i32(), x:str() } end)
    r:i32()
    local t = r:array(function(x)
      return { err = x:i16(), name = x:str(), internal = x:i8(), parts = x:array(function(p)
        return { p:i16(), p:i32(), p:i32(), p:array(p.i32), p:array(p.i32) }
      end) }
    end)
    return t[1].err, t[1].parts and #t[1].parts
  end

  it("does not create topics from Metadata when auto.create.topics.enable=false", function()
    assert.are.equal(3, (partitions_of("absent")))
  end)

  it("validates CreateTopics: replication factor, partitions, name, configs, duplicates", function()
    local err, msg = create("rf3", 1, 3)
    assert.are.equal(38, err)
    assert.truthy(msg:find("replication factor", 1, true))
    assert.are.equal(37, (create("zero", 0, 1)))
    assert.are.equal(37, (create("too-many", 100001, 1)))
    assert.are.equal(17, (create("bad/name", 1, 1)))
    err, msg = create("badcfg", 1, 1, { ["retention.ms"] = "soon" })
    assert.are.equal(40, err)
    assert.truthy(msg:find("retention.ms", 1, true), msg)
    assert.are.equal(40, (create("unknowncfg", 1, 1, { ["no.such.config"] = "1" })))
    assert.are.equal(0, (create("dry", 2, 1, nil, true)))
    assert.are.equal(3, (partitions_of("dry")), "validate_only created nothing")
    assert.are.equal(0, (create("real", 2, 1, { ["retention.ms"] = "60000" })))
    assert.are.same({ 0, 2 }, { partitions_of("real") })
    assert.are.equal(36, (create("real", 2, 1)))
  end)

  it("grows a topic with CreatePartitions and refuses to shrink it", function()
    assert.are.equal(0, (create("grow", 1, 1)))
    local function grow(topic, count)
      local body = wire.array({ topic }, function(t) return wire.str(t) .. wire.i32(count) .. wire.i32(-1) end)
        .. wire.i32(10000) .. wire.i8(0)
      local r = wire.reader(c:request(37, 0, body))
      r:i32()
      local res = r:array(function(x) return { x:str(), x:i16(), x:str() } end)
      return res[1][2]
    end
    assert.are.equal(0, grow("grow", 4))
    assert.are.same({ 0, 4 }, { partitions_of("grow") })
    assert.are.equal(37, grow("grow", 2))
    assert.are.equal(3, grow("missing", 2))
  end)

  it("describes a topic's configs, overrides marked as topic configs", function()
    assert.are.equal(0, (create("described", 1, 1, { ["retention.ms"] = "123456" })))
    local body = wire.array({ "described" }, function(n)
      return wire.i8(2) .. wire.str(n) .. wire.array({ "retention.ms", "segment.bytes" }, wire.str)
    end) .. wire.i8(0)
    local r = wire.reader(c:request(32, 1, body))
    r:i32()
    local res = r:array(function(x)
      return { err = x:i16(), msg = x:str(), type = x:i8(), name = x:str(), configs = x:array(function(e)
        return { name = e:str(), value = e:str(), ro = e:i8(), source = e:i8(), sensitive = e:i8(),
          synonyms = e:array(function(s) return { s:str(), s:str(), s:i8() } end) }
      end) }
    end)
    assert.are.equal(0, res[1].err)
    local by = {}
    for _, e in ipairs(res[1].configs) do by[e.name] = e end
    assert.are.equal("123456", by["retention.ms"].value)
    assert.are.equal(1, by["retention.ms"].source)
    assert.are.equal("1073741824", by["segment.bytes"].value)
    assert.are.equal(5, by["segment.bytes"].source)
    assert.is_nil(by["cleanup.policy"], "only the keys asked for")
  end)

  it("deletes a topic and its files", function()
    assert.are.equal(0, (create("doomed", 2, 1)))
    local function delete(name)
      local r = wire.reader(c:request(20, 1, wire.array({ name }, wire.str) .. wire.i32(10000)))
      r:i32()
      return r:array(function(x) return { x:str(), x:i16() } end)[1][2]
    end
    assert.are.equal(0, delete("doomed"))
    assert.are.equal(3, (partitions_of("doomed")))
    assert.is_nil(process.read_file(b.dir .. "/data/doomed-0/00000000000000000000.log"))
    assert.are.equal(3, delete("doomed"))
  end)
end)

describe("idle connections", function()
  local b
  setup(function() b = brokers.start { overrides = { ["connections.max.idle.ms"] = "300" } } end)
  teardown(function() if b then b:stop() end end)

  it("closes a connection idle for connections.max.idle.ms, keeps one waiting on a long poll", function()
    local idle = assert(wire.connect("127.0.0.1", b.port))
    local busy = assert(wire.connect("127.0.0.1", b.port))
    assert.are.equal(0, busy:create_topic("idle-t", 1))
    local corr = busy:send_request(1, 11, fetch_v11_body("idle-t", 0, 0, 1500, 1))
    assert.is_true(idle:closed_by_peer(3000))
    local got = busy:recv_response()
    assert.are.equal(corr, got, "the long-poll fetch was answered, not cut")
    idle:close()
    busy:close()
    assert.truthy(b:log_text():find("idle for connections.max.idle.ms", 1, true))
  end)
end)
