-- The partition log: offsets assigned on append, fetch ranges, lookups by offset and timestamp
-- across segments, roll by size and by age, LogAppendTime, flush policy, restart, and the log
-- manager's topics (names with '-', persisted configs, restart, deletion while a range is held).
local ffi = require "ffi"
local st = require "storage_ffi"
local lib = st.lib

pcall(ffi.cdef, "int dup(int fd);")
pcall(ffi.cdef, "int close(int fd);")

describe("partition_log", function()
  local root, pl
  local e = st.common.err()

  before_each(function() root = st.tmpdir() end)
  after_each(function()
    if pl ~= nil then st.close_log(pl) end
    pl = nil
    st.rmdir(root)
  end)

  it("parses partition directory names at the last '-'", function()
    local topic, p = ffi.new("char[256]"), ffi.new("int32_t[1]")
    assert.equal(0, lib.ml_partition_dir_parse("my-topic-name-12", topic, 256, p))
    assert.equal("my-topic-name", ffi.string(topic))
    assert.equal(12, p[0])
    assert.equal(st.EINVAL, lib.ml_partition_dir_parse("topic-x", topic, 256, p))
    assert.equal(st.EINVAL, lib.ml_partition_dir_parse("-3", topic, 256, p))
    assert.equal(st.EINVAL, lib.ml_partition_dir_parse("nodash", topic, 256, p))
  end)

  it("assigns offsets from the log end and reads the batches back", function()
    pl = assert(st.open_log(root .. "/t-0", st.config()))
    assert.equal(0, tonumber(lib.ml_partition_log_end_offset(pl)))
    local b1, b2 = st.simple_batch(3, 1000), st.simple_batch(2, 1001)
    local info = assert(st.append(pl, b1, 5000))
    assert.equal(0, tonumber(info.base_offset))
    assert.equal(2, tonumber(info.last_offset))
    assert.equal(-1, tonumber(info.log_append_time))
    -- two batches in one append (a Produce request's records field)
    info = assert(st.append(pl, b2 .. b1, 5000))
    assert.equal(3, tonumber(info.base_offset))
    assert.equal(7, tonumber(info.last_offset))
    assert.equal(2, info.n_batches)
    assert.equal(8, tonumber(lib.ml_partition_log_end_offset(pl)))
    local data, r = st.read(pl, 0)
    local got = st.batches(data)
    assert.same({ 0, 3, 5 }, { got[1].base_offset, got[2].base_offset, got[3].base_offset })
    assert.equal(0, tonumber(r.position))
    -- a fetch inside a batch starts at that batch
    data, r = st.read(pl, 4)
    got = st.batches(data)
    assert.equal(3, got[1].base_offset)
    assert.equal(#b1, tonumber(r.position))
    assert.equal("k1", st.records(data:sub(1, got[1].size))[1].key)
    -- at the log end: nothing; past it or before the start: out of range
    data = st.read(pl, 8)
    assert.equal("", data)
    local _, rc = st.read(pl, 9)
    assert.equal(st.ERANGE, rc)
    _, rc = st.read(pl, -1)
    assert.equal(st.ERANGE, rc)
  end)

  it("rejects a corrupted batch or a trailing partial one without appending anything", function()
    pl = assert(st.open_log(root .. "/t-0", st.config()))
    local b = st.simple_batch(2, 1000)
    local bad = b:sub(1, #b - 1) .. string.char(bit.bxor(b:byte(#b), 0xff))
    local info, rc, msg = st.append(pl, b .. bad)
    assert.is_nil(info)
    assert.equal(st.ECORRUPT, rc)
    assert.matches("CRC", msg)
    info, rc = st.append(pl, b .. b:sub(1, 70))
    assert.is_nil(info)
    assert.equal(st.ECORRUPT, rc)
    assert.equal(0, tonumber(lib.ml_partition_log_end_offset(pl)))
    assert.equal(0, tonumber(lib.ml_partition_log_size(pl)))
    st.close_log(pl)
    pl = assert(st.open_log(root .. "/t-0", st.config({ ["max.message.bytes"] = 500 })))
    info, rc = st.append(pl, st.simple_batch(1, 1, 100) .. st.simple_batch(1, 1, 600))
    assert.is_nil(info)
    assert.equal(st.ETOOBIG, rc)
    assert.equal(0, tonumber(lib.ml_partition_log_end_offset(pl)))
  end)

  it("returns whole batches within max_bytes, and the whole first batch even when larger", function()
    pl = assert(st.open_log(root .. "/t-0", st.config()))
    local big = st.simple_batch(1, 1000, 5000)
    local small = st.simple_batch(1, 1000, 10)
    st.append(pl, big)
    st.append(pl, small)
    st.append(pl, small)
    local data = st.read(pl, 0, 100)
    assert.equal(#big, #data)
    data = st.read(pl, 0, #big + #small + 5)
    assert.equal(#big + #small, #data)
    data = st.read(pl, 1, 1)
    assert.equal(#small, #data)
  end)

  it("rolls by size and looks offsets up across segments and index entries", function()
    pl = assert(st.open_log(root .. "/t-0", st.config({ ["segment.bytes"] = 1000, ["index.interval.bytes"] = 100 })))
    local b = st.simple_batch(2, 1000, 20) -- ~130 bytes: 7 per segment
    for _ = 1, 40 do assert(st.append(pl, b)) end
    local nseg = lib.ml_partition_log_segment_count(pl)
    assert.is_true(nseg >= 5, "segments " .. nseg)
    for i = 0, nseg - 1 do
      assert.is_true(tonumber(lib.ml_partition_log_segment_size(pl, i)) <= 1000)
      local base = tonumber(lib.ml_partition_log_segment_base(pl, i))
      assert.is_true(st.exists(root .. "/t-0/" .. st.seg_name(base, ".log")))
    end
    assert.equal(80, tonumber(lib.ml_partition_log_end_offset(pl)))
    for off = 0, 79 do
      local data, r = st.read(pl, off, 1)
      local h = st.batches(data)[1]
      assert.is_true(h.base_offset <= off and off <= h.last_offset, "offset " .. off)
      assert.equal(off - off % 2, h.base_offset)
      assert.is_true(tonumber(r.segment_base) <= off)
    end
  end)

  it("rolls by age measured from the first batch's timestamp", function()
    pl = assert(st.open_log(root .. "/t-0", st.config({ ["segment.ms"] = 1000 })))
    st.append(pl, st.simple_batch(1, 10000), 10000)
    st.append(pl, st.simple_batch(1, 10900), 10900)
    assert.equal(1, lib.ml_partition_log_segment_count(pl))
    st.append(pl, st.simple_batch(1, 11001), 11001)
    assert.equal(2, lib.ml_partition_log_segment_count(pl))
    assert.equal(2, tonumber(lib.ml_partition_log_segment_base(pl, 1)))
  end)

  it("finds offsets by timestamp, inside batches, before and after the log", function()
    pl = assert(st.open_log(root .. "/t-0", st.config({ ["segment.bytes"] = 600, ["index.interval.bytes"] = 50 })))
    -- batch i (1..30): records at ts 100*i and 100*i+50
    for i = 1, 30 do
      st.append(pl, st.batch({ { value = "a", ts = 100 * i }, { value = "b", ts = 100 * i + 50 } }, 100 * i))
    end
    assert.is_true(lib.ml_partition_log_segment_count(pl) > 3)
    local off, ts = ffi.new("int64_t[1]"), ffi.new("int64_t[1]")
    local function at(t)
      local rc = lib.ml_partition_log_offset_for_timestamp(pl, t, off, ts, e)
      return rc, tonumber(off[0]), tonumber(ts[0])
    end
    assert.same({ 0, 0, 100 }, { at(0) })
    assert.same({ 0, 0, 100 }, { at(100) })
    assert.same({ 0, 1, 150 }, { at(101) })
    assert.same({ 0, 2, 200 }, { at(151) })
    assert.same({ 0, 31, 1650 }, { at(1620) })
    assert.same({ 0, 59, 3050 }, { at(3050) })
    assert.equal(st.ENOENT, (at(3051)))
  end)

  it("stamps LogAppendTime when the topic asks for it", function()
    pl = assert(st.open_log(root .. "/t-0", st.config({ ["message.timestamp.type"] = "LogAppendTime" })))
    local info = assert(st.append(pl, st.simple_batch(2, 1000), 777777))
    assert.equal(777777, tonumber(info.log_append_time))
    local data = st.read(pl, 0)
    local h = st.batches(data)[1] -- parsing checks the recomputed CRC
    assert.equal(777777, h.max_timestamp)
    assert.equal(8, bit.band(h.attributes, 8))
  end)

  it("stamps the leader epoch and flushes per flush.messages, advancing the recovery point", function()
    pl = assert(st.open_log(root .. "/t-0", st.config({ ["flush.messages"] = 3 })))
    lib.ml_partition_log_set_leader_epoch(pl, 5)
    st.append(pl, st.simple_batch(2, 1000))
    assert.equal(0, tonumber(lib.ml_partition_log_recovery_point(pl)))
    st.append(pl, st.simple_batch(2, 1000))
    assert.equal(4, tonumber(lib.ml_partition_log_recovery_point(pl)))
    assert.equal(5, st.batches(st.read(pl, 0))[1].leader_epoch)
  end)

  it("truncates to an offset across segments, dropping the batch that holds it", function()
    pl = assert(st.open_log(root .. "/t-0", st.config({ ["segment.bytes"] = 600, ["index.interval.bytes"] = 100 })))
    for i = 1, 30 do st.append(pl, st.batch({ { key = "a" .. i, ts = i }, { key = "b" .. i, ts = i } })) end
    local nseg = lib.ml_partition_log_segment_count(pl)
    assert.is_true(nseg >= 4)
    local b1 = tonumber(lib.ml_partition_log_segment_base(pl, 1))
    local b2 = tonumber(lib.ml_partition_log_segment_base(pl, 2))
    st.check(lib.ml_partition_log_truncate_to(pl, b1 + 3, e), e) -- inside the 2nd batch of segment 1
    assert.equal(2, lib.ml_partition_log_segment_count(pl))
    assert.equal(b1 + 2, tonumber(lib.ml_partition_log_end_offset(pl)))
    assert.is_false(st.exists(root .. "/t-0/" .. st.seg_name(b2, ".log")))
    local info = assert(st.append(pl, st.batch({ { key = "new", ts = 99 } })))
    assert.equal(b1 + 2, tonumber(info.base_offset))
    assert.equal("new", st.records(st.read(pl, b1 + 2, 1))[1].key)
    assert.equal("a1", st.records(st.read(pl, 0, 1))[1].key)
    st.check(lib.ml_partition_log_truncate_to(pl, 0, e), e)
    assert.equal(0, tonumber(lib.ml_partition_log_end_offset(pl)))
    assert.equal(1, lib.ml_partition_log_segment_count(pl))
    assert.equal(0, tonumber(lib.ml_partition_log_size(pl)))
  end)

  it("keeps everything across close and reopen", function()
    local cfg = st.config({ ["segment.bytes"] = 700, ["index.interval.bytes"] = 100 })
    pl = assert(st.open_log(root .. "/a-b-c-3", cfg))
    assert.equal("a-b-c", ffi.string(lib.ml_partition_log_topic(pl)))
    assert.equal(3, lib.ml_partition_log_partition(pl))
    for i = 1, 25 do st.append(pl, st.batch({ { key = "k" .. i, value = "v" .. i, ts = 1000 + i } })) end
    local before = st.read(pl, 0, 1e6)
    local nseg = lib.ml_partition_log_segment_count(pl)
    st.close_log(pl)
    pl = assert(st.open_log(root .. "/a-b-c-3", cfg))
    assert.equal(nseg, lib.ml_partition_log_segment_count(pl))
    assert.equal(25, tonumber(lib.ml_partition_log_end_offset(pl)))
    assert.equal(before, (st.read(pl, 0, 1e6)))
    for off = 0, 24 do
      assert.equal("k" .. off + 1, st.records(st.read(pl, off, 1))[1].key)
    end
    local info = assert(st.append(pl, st.simple_batch(1, 5000)))
    assert.equal(25, tonumber(info.base_offset))
  end)
end)

describe("log_manager", function()
  local root
  local e = st.common.err()
  before_each(function() root = st.tmpdir() end)
  after_each(function() st.rmdir(root) end)

  local function open(dirs, defaults)
    local arr = ffi.new("const char *[?]", #dirs, dirs)
    local pp = ffi.new("ml_log_manager *[1]")
    st.check(lib.ml_log_manager_open(arr, #dirs, defaults or st.config(), 0, pp, e), e)
    return pp[0]
  end

  local function create(lm, topic, n, cfg)
    local names, values = {}, {}
    for k, v in pairs(cfg or {}) do names[#names + 1] = k; values[#values + 1] = v end
    local cn = ffi.new("const char *[?]", #names + 1, names)
    local cv = ffi.new("const char *[?]", #values + 1, values)
    return lib.ml_log_manager_create_topic(lm, topic, n, cn, cv, #names, 0, e)
  end

  it("creates topics (with '-' in names), persists configs and reloads them after restart", function()
    local lm = open({ root .. "/d1", root .. "/d2" })
    st.check(create(lm, "orders-eu-west", 3, { ["retention.ms"] = "1234", ["cleanup.policy"] = "compact" }), e)
    st.check(create(lm, "plain", 1), e)
    assert.equal(st.EEXIST, create(lm, "plain", 1))
    assert.equal(st.EINVAL, create(lm, "bad/name", 1))
    assert.equal(st.EINVAL, create(lm, "x", 1, { ["retention.ms"] = "soon" }))
    assert.is_nil(lib.ml_log_manager_get(lm, "x", 0) ~= nil and true or nil)
    local pl = lib.ml_log_manager_get(lm, "orders-eu-west", 2)
    assert.is_true(pl ~= nil)
    st.append(pl, st.simple_batch(4, 1000))
    -- partitions spread over the two dirs
    local n1 = 0
    for p = 0, 2 do
      if st.exists(root .. "/d1/orders-eu-west-" .. p .. "/00000000000000000000.log") then n1 = n1 + 1 end
    end
    assert.is_true(n1 >= 1 and n1 <= 2, "partitions in d1: " .. n1)
    st.check(lib.ml_log_manager_close(lm, 0, e), e)
    assert.is_true(lib.ml_clean_shutdown_exists(root .. "/d1") == 1)

    lm = open({ root .. "/d1", root .. "/d2" })
    assert.equal(0, lib.ml_clean_shutdown_exists(root .. "/d1")) -- removed once loaded
    assert.equal(2, lib.ml_log_manager_topic_count(lm))
    assert.equal(3, lib.ml_log_manager_partition_count(lm, "orders-eu-west"))
    assert.equal(-1, lib.ml_log_manager_partition_count(lm, "orders-eu"))
    local cfg = lib.ml_log_manager_topic_config(lm, "orders-eu-west")
    assert.equal(1234, tonumber(cfg.retention_ms))
    assert.equal(2, cfg.cleanup_policy)
    assert.equal(604800000, tonumber(lib.ml_log_manager_topic_config(lm, "plain").retention_ms))
    pl = lib.ml_log_manager_get(lm, "orders-eu-west", 2)
    assert.equal(4, tonumber(lib.ml_partition_log_end_offset(pl)))
    -- checkpoints list every partition with its recovery point
    local cp1 = st.read_file(root .. "/d1/recovery-point-offset-checkpoint")
    local cp2 = st.read_file(root .. "/d2/recovery-point-offset-checkpoint")
    assert.matches("^0\n", cp1)
    assert.truthy((cp1 .. cp2):find("orders%-eu%-west 2 4\n"))
    st.check(lib.ml_log_manager_close(lm, 0, e), e)
  end)

  it("keeps 1,000 mostly empty partitions small in resident memory", function()
    local function rss_kb()
      for l in io.lines("/proc/self/status") do
        local v = l:match("^VmRSS:%s+(%d+)")
        if v then return tonumber(v) end
      end
    end
    local before = rss_kb()
    local lm = open({ root .. "/d1" })
    for i = 1, 100 do st.check(create(lm, "many-" .. i, 10), e) end
    st.append(lib.ml_log_manager_get(lm, "many-7", 3), st.simple_batch(5, 1000))
    st.check(lib.ml_log_manager_close(lm, 0, e), e)
    lm = open({ root .. "/d1" })
    for i = 1, 100 do
      for p = 0, 9 do assert(st.read(lib.ml_log_manager_get(lm, "many-" .. i, p), 0)) end
    end
    local grown = rss_kb() - before
    local leo = tonumber(lib.ml_partition_log_end_offset(lib.ml_log_manager_get(lm, "many-7", 3)))
    st.check(lib.ml_log_manager_close(lm, 0, e), e)
    assert.equal(5, leo)
    -- (sanitizer builds inflate every allocation: the budget only holds for a normal build)
    if (os.getenv("SANITIZE") or "") == "" then
      assert.is_true(grown < 16 * 1024, "RSS grew by " .. grown .. " kB")
    end
  end)

  it("alters configs, adds partitions and deletes topics while a read range stays usable", function()
    local lm = open({ root .. "/d1" })
    st.check(create(lm, "t", 1), e)
    local names = ffi.new("const char *[1]", { "retention.bytes" })
    local values = ffi.new("const char *[1]", { "5000" })
    st.check(lib.ml_log_manager_alter_topic_config(lm, "t", names, values, 1, e), e)
    assert.equal(5000, tonumber(lib.ml_log_manager_topic_config(lm, "t").retention_bytes))
    local nm, vl = ffi.new("const char *[1]"), ffi.new("const char *[1]")
    assert.equal(0, lib.ml_log_manager_topic_override(lm, "t", 0, nm, vl))
    assert.equal("retention.bytes", ffi.string(nm[0]))
    st.check(lib.ml_log_manager_add_partitions(lm, "t", 3, 0, e), e)
    assert.equal(3, lib.ml_log_manager_partition_count(lm, "t"))
    assert.equal(st.EINVAL, lib.ml_log_manager_add_partitions(lm, "t", 2, 0, e))

    local pl = lib.ml_log_manager_get(lm, "t", 0)
    local b = st.simple_batch(3, 1000)
    st.append(pl, b)
    local r = ffi.new("ml_log_read_range")
    st.check(lib.ml_partition_log_read(pl, 0, 1e6, r, e), e)
    local fd = ffi.C.dup(r.fd) -- what the broker does before sendfile
    st.check(lib.ml_log_manager_delete_topic(lm, "t", e), e)
    assert.equal(-1, lib.ml_log_manager_partition_count(lm, "t"))
    assert.is_false(st.exists(root .. "/d1/t-0"))
    assert.is_false(st.exists(root .. "/d1/topic-configs/t.properties"))
    local buf = ffi.new("uint8_t[?]", r.length)
    assert.equal(tonumber(r.length), tonumber(ffi.C.pread(fd, buf, r.length, r.position)))
    assert.equal(3, st.batches(ffi.string(buf, r.length))[1].count)
    ffi.C.close(fd)
    st.check(lib.ml_log_manager_close(lm, 0, e), e)
    lm = open({ root .. "/d1" })
    assert.equal(0, lib.ml_log_manager_topic_count(lm))
    st.check(lib.ml_log_manager_close(lm, 0, e), e)
  end)
end)
