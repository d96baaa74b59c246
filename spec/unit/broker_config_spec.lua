-- The broker's configuration (core/broker/broker_config.c): Kafka's keys and defaults, the file
-- and --override precedence, validation messages, listeners, DescribeConfigs and --help-config.
local ffi = require "ffi"
local c = require "common_ffi"
local lib = c.lib

local dir
local MS_HOUR, MS_DAY = 3600000, 86400000

local function new_config()
  local cfg = ffi.gc(ffi.new("ml_broker_config[1]"), function(p) lib.ml_broker_config_free(p) end)
  lib.ml_broker_config_init(cfg)
  return cfg
end

-- Loads `text` as a file (nil: no file) and the overrides; returns the config, what was logged and
-- the file's path, or nil, rc, message, logged, path.
local function load(text, overrides)
  local path
  if text then
    path = dir .. "/server.properties"
    c.write_file(path, text)
  end
  overrides = overrides or {}
  local arr = ffi.new("const char *[?]", #overrides + 1)
  for i, o in ipairs(overrides) do arr[i - 1] = o end
  local cfg, e = new_config(), c.common.err()
  local logged, rc = c.capture_stderr(function() return lib.ml_broker_config_load(cfg, path, #overrides, arr, e) end)
  if rc ~= 0 then return nil, rc, ffi.string(e.msg), logged, path end
  return cfg, logged, path
end

local function dirs(cfg)
  local out = {}
  for i = 0, cfg[0].n_log_dirs - 1 do out[#out + 1] = ffi.string(cfg[0].log_dirs[i]) end
  return out
end

-- DescribeConfigs: { key = { value, is_default } } and the keys in order.
local function describe_all(cfg)
  local value, is_default = ffi.new("char[1024]"), ffi.new("int[1]")
  local map, order = {}, {}
  local i = 0
  while true do
    local key = lib.ml_broker_config_describe(cfg, i, value, 1024, is_default)
    if key == nil then break end
    key = ffi.string(key)
    map[key] = { ffi.string(value), is_default[0] == 1 }
    order[#order + 1] = key
    i = i + 1
  end
  return map, order
end

before_each(function() dir = c.tmpdir() end)
after_each(function() c.rmdir(dir) end)

describe("broker config defaults", function()
  it("are Kafka's, with the documented exceptions", function()
    local cfg = new_config()[0]
    assert.equal(0, cfg.broker_id)
    assert.equal("127.0.0.1", ffi.string(cfg.listener_host))
    assert.equal(9092, cfg.listener_port)
    assert.equal("127.0.0.1", ffi.string(cfg.advertised_host))
    assert.equal(0, cfg.advertised_port)
    assert.equal(1, cfg.n_log_dirs)
    assert.equal("/tmp/kafka-logs", ffi.string(cfg.log_dirs[0]))
    assert.equal(1, cfg.num_partitions)
    assert.equal(1, cfg.default_replication_factor)
    assert.equal(1, cfg.auto_create_topics_enable)
    assert.equal(1, cfg.delete_topic_enable)
    assert.equal(104857600, cfg.socket_request_max_bytes)
    assert.equal(1048588, cfg.message_max_bytes)
    assert.equal(300000, tonumber(cfg.log_retention_check_interval_ms))
    assert.equal(1000, tonumber(cfg.log_flush_scheduler_interval_ms))
    assert.equal(60000, tonumber(cfg.log_flush_offset_checkpoint_interval_ms))
    assert.equal(3000, tonumber(cfg.group_initial_rebalance_delay_ms))
    assert.equal(50, cfg.offsets_topic_num_partitions)
    assert.equal(1, cfg.offsets_topic_replication_factor)
    assert.equal(10080, tonumber(cfg.offsets_retention_minutes))
    assert.equal(600000, tonumber(cfg.connections_max_idle_ms))
    assert.equal(1, cfg.log_level) -- ML_LOG_INFO
    local t = cfg.log_defaults
    assert.equal(1073741824, tonumber(t.segment_bytes))
    assert.equal(7 * MS_DAY, tonumber(t.segment_ms))
    assert.equal(7 * MS_DAY, tonumber(t.retention_ms))
    assert.equal(-1, tonumber(t.retention_bytes))
    assert.equal(1048588, t.max_message_bytes)
    assert.equal(4096, t.index_interval_bytes)
    assert.equal(10485760, t.segment_index_bytes)
    assert.equal(-1, tonumber(t.compression_type)) -- producer
  end)

  it("stay as they are when there is no file and no override", function()
    local cfg, logged = load(nil, {})
    assert.equal(1, cfg[0].num_partitions)
    assert.equal(9092, cfg[0].listener_port)
    assert.equal("", logged)
  end)
end)

describe("broker config loading", function()
  it("reads the example server.properties without a warning", function()
    local cfg, e = new_config(), c.common.err()
    local root = c.common.root
    local logged, rc = c.capture_stderr(function()
      return lib.ml_broker_config_load(cfg, root .. "/examples/config/server.properties", 0, nil, e)
    end)
    assert.equal(0, rc, ffi.string(e.msg))
    assert.equal("", logged)
    assert.equal("127.0.0.1", ffi.string(cfg[0].listener_host))
    assert.equal(9092, cfg[0].listener_port)
    assert.same({ "data" }, dirs(cfg))
    assert.equal(1, cfg[0].num_partitions)
    -- every other key of the example is at its default
    for key, v in pairs(describe_all(cfg)) do
      if key ~= "log.dirs" and key ~= "log.dir" then assert.is_true(v[2], key .. " = " .. v[1]) end
    end
  end)

  it("applies overrides after the file, the later override winning", function()
    local cfg = load("num.partitions=3\nbroker.id=7\n", { "num.partitions=5", "delete.topic.enable = false",
                                                          "num.partitions=6" })
    assert.equal(6, cfg[0].num_partitions)
    assert.equal(7, cfg[0].broker_id)
    assert.equal(0, cfg[0].delete_topic_enable)
  end)

  it("does not complain about a bad file value that an override replaces", function()
    local cfg = load("num.partitions=lots\n", { "num.partitions=2" })
    assert.equal(2, cfg[0].num_partitions)
  end)

  it("works with overrides only", function()
    local cfg = load(nil, { "listeners=PLAINTEXT://127.0.0.1:0", "log.dirs=/tmp/x" })
    assert.equal(0, cfg[0].listener_port)
    assert.same({ "/tmp/x" }, dirs(cfg))
  end)

  it("lets log.retention.ms win over minutes over hours, wherever each is given", function()
    local cfg = load("log.retention.hours=1\n")
    assert.equal(MS_HOUR, tonumber(cfg[0].log_defaults.retention_ms))
    cfg = load("log.retention.minutes=2\nlog.retention.hours=1\n")
    assert.equal(120000, tonumber(cfg[0].log_defaults.retention_ms))
    cfg = load("log.retention.ms=500\n", { "log.retention.hours=1", "log.retention.minutes=3" })
    assert.equal(500, tonumber(cfg[0].log_defaults.retention_ms))
    cfg = load("log.retention.hours=1\n", { "log.retention.ms=-1" })
    assert.equal(-1, tonumber(cfg[0].log_defaults.retention_ms))
    cfg = load("log.retention.hours=-1\n")
    assert.equal(-1, tonumber(cfg[0].log_defaults.retention_ms))
    cfg = load("log.retention.ms=-5\n") -- any negative is "forever", as in Kafka
    assert.equal(-1, tonumber(cfg[0].log_defaults.retention_ms))
    cfg = load("log.retention.hours=2147483647\n")
    assert.equal(2147483647 * MS_HOUR, tonumber(cfg[0].log_defaults.retention_ms))
  end)

  it("lets log.roll.ms win over log.roll.hours", function()
    assert.equal(2 * MS_HOUR, tonumber(load("log.roll.hours=2\n")[0].log_defaults.segment_ms))
    assert.equal(1000, tonumber(load("log.roll.ms=1000\nlog.roll.hours=2\n")[0].log_defaults.segment_ms))
  end)

  it("lets log.dirs win over log.dir, splitting and trimming the list", function()
    assert.same({ "/x" }, dirs(load("log.dir=/x\n")))
    assert.same({ "/a", "/b", "/c" }, dirs(load("log.dir=/x\nlog.dirs= /a, /b,,/c ,\n")))
    assert.same({ "/a" }, dirs(load("log.dirs=/a\nlog.dir=/x\n")))
  end)

  it("maps the log.* keys to the topic defaults", function()
    local cfg = load(table.concat({
      "log.segment.bytes=1024", "log.retention.bytes=5000", "log.index.interval.bytes=100",
      "log.index.size.max.bytes=8192", "log.flush.interval.messages=10", "log.flush.interval.ms=250",
      "log.message.timestamp.type=LogAppendTime", "log.cleanup.policy=delete,compact", "message.max.bytes=2000",
      "min.insync.replicas=2", "compression.type=zstd", "unclean.leader.election.enable=TRUE",
    }, "\n"))
    local t = cfg[0].log_defaults
    assert.equal(1024, tonumber(t.segment_bytes))
    assert.equal(5000, tonumber(t.retention_bytes))
    assert.equal(100, t.index_interval_bytes)
    assert.equal(8192, t.segment_index_bytes)
    assert.equal(10, tonumber(t.flush_messages))
    assert.equal(250, tonumber(t.flush_ms))
    assert.equal(1, t.message_timestamp_type)
    assert.equal(3, t.cleanup_policy)
    assert.equal(2000, t.max_message_bytes)
    assert.equal(2000, cfg[0].message_max_bytes)
    assert.equal(2, t.min_insync_replicas)
    assert.equal(4, t.compression_type)
    assert.equal(1, t.unclean_leader_election)
  end)

  it("reads the other broker keys and log.level", function()
    local cfg = load(table.concat({
      "broker.id=12", "default.replication.factor=3", "auto.create.topics.enable=false",
      "socket.request.max.bytes=1000", "log.retention.check.interval.ms=10", "log.flush.scheduler.interval.ms=20",
      "log.flush.offset.checkpoint.interval.ms=30", "group.initial.rebalance.delay.ms=0",
      "offsets.topic.num.partitions=3", "offsets.topic.replication.factor=2", "offsets.retention.minutes=60",
      "connections.max.idle.ms=-1", "log.level=DEBUG",
    }, "\n"))[0]
    assert.equal(12, cfg.broker_id)
    assert.equal(3, cfg.default_replication_factor)
    assert.equal(0, cfg.auto_create_topics_enable)
    assert.equal(1000, cfg.socket_request_max_bytes)
    assert.equal(10, tonumber(cfg.log_retention_check_interval_ms))
    assert.equal(20, tonumber(cfg.log_flush_scheduler_interval_ms))
    assert.equal(30, tonumber(cfg.log_flush_offset_checkpoint_interval_ms))
    assert.equal(0, tonumber(cfg.group_initial_rebalance_delay_ms))
    assert.equal(3, cfg.offsets_topic_num_partitions)
    assert.equal(2, cfg.offsets_topic_replication_factor)
    assert.equal(60, tonumber(cfg.offsets_retention_minutes))
    assert.equal(-1, tonumber(cfg.connections_max_idle_ms))
    assert.equal(0, cfg.log_level) -- ML_LOG_DEBUG
    assert.equal(3, load("log.level=error\n")[0].log_level)
    assert.equal(2, load("log.level=warn\n")[0].log_level)
  end)

  it("accepts Kafka's keys that mean nothing here with a warning naming each and where it is", function()
    local cfg, logged, path = load("broker.id=1\nzookeeper.connect=localhost:2181\nnum.network.threads=3\n",
                                   { "ssl.keystore.location=/x" })
    assert.equal(1, cfg[0].broker_id)
    assert.matches(path .. ":2: Kafka broker config 'zookeeper.connect' has no effect in moonlog; ignored", logged, 1, true)
    assert.matches(path .. ":3: Kafka broker config 'num.network.threads' has no effect in moonlog; ignored", logged, 1,
                   true)
    assert.matches("--override: Kafka broker config 'ssl.keystore.location' has no effect", logged, 1, true)
    assert.matches("WARN", logged)
  end)
end)

describe("broker config errors", function()
  -- Each bad value, alone on line 3 of a file; the message must be "path:3: key: reason".
  local cases = {
    { "log.segment.bytes=abc", "log.segment.bytes: 'abc' is not an integer" },
    { "log.retention.hour=1", "log.retention.hour: unknown broker config key" },
    { "log.segment.bytes=13", "log.segment.bytes: '13' is out of range: it must be at least 14" },
    { "log.segment.bytes=2147483648", "log.segment.bytes: '2147483648' is out of range: it must be at least 14" },
    { "num.partitions=0", "num.partitions: '0' is out of range: it must be at least 1" },
    { "broker.id=-1", "broker.id: '-1' is out of range: it must be at least 0" },
    { "default.replication.factor=40000", "default.replication.factor: '40000' is out of range: it must be between 1 and 32767" },
    { "socket.request.max.bytes=1.5", "socket.request.max.bytes: '1.5' is not an integer" },
    { "auto.create.topics.enable=yes", "auto.create.topics.enable: 'yes' is not true or false" },
    { "unclean.leader.election.enable=1", "unclean.leader.election.enable: '1' is not true or false" },
    { "log.message.timestamp.type=Now", "log.message.timestamp.type: 'Now' is not one of CreateTime or LogAppendTime" },
    { "log.cleanup.policy=forever", "log.cleanup.policy: 'forever' is not one of delete, compact or delete,compact" },
    { "compression.type=brotli", "compression.type: 'brotli' is not one of producer, uncompressed, gzip, snappy, lz4 or zstd" },
    { "log.level=verbose", "log.level: 'verbose' is not one of error, warn, info or debug" },
    { "log.retention.ms=0", "log.retention.ms: '0' is not allowed: it must be -1 (never) or at least 1" },
    { "log.retention.hours=0", "log.retention.hours: '0' is not allowed" },
    { "log.retention.hours=2147483648", "log.retention.hours: '2147483648' is out of range (32-bit integer)" },
    { "log.flush.interval.messages=0", "log.flush.interval.messages: '0' is not allowed" },
    { "log.roll.hours=0", "log.roll.hours: '0' is out of range: it must be at least 1" },
    { "log.index.size.max.bytes=100", "log.index.size.max.bytes: '100' is out of range: it must be at least 4096" },
    { "log.dirs= , ", "log.dirs: ',' names no directory" },
    { "log.retention.check.interval.ms=0", "log.retention.check.interval.ms: '0' is out of range: it must be at least 1" },
    { "listeners=SSL://host:9093", "listeners: 'SSL://host:9093' is not PLAINTEXT://host:port (the only protocol supported)" },
    { "listeners=PLAINTEXT://host", "listeners: 'PLAINTEXT://host' is not PLAINTEXT://host:port" },
    { "listeners=host:9092", "listeners: 'host:9092' is not PLAINTEXT://host:port" },
    { "listeners=PLAINTEXT://host:65536", "listeners: 'PLAINTEXT://host:65536': the port must be between 0 and 65535" },
    { "listeners=PLAINTEXT://host:-1", "listeners: 'PLAINTEXT://host:-1': the port must be between 0 and 65535" },
    { "listeners=PLAINTEXT://host:http", "listeners: 'PLAINTEXT://host:http': the port is not a number" },
    { "listeners=PLAINTEXT://a:1,PLAINTEXT://b:2", "listeners: 'PLAINTEXT://a:1,PLAINTEXT://b:2': only one listener is supported" },
    { "listeners=PLAINTEXT://::1:9092", "listeners: 'PLAINTEXT://::1:9092' is not PLAINTEXT://host:port" },
    { "advertised.listeners=PLAINTEXT://0.0.0.0:9092",
      "advertised.listeners: 'PLAINTEXT://0.0.0.0:9092': 0.0.0.0 is not an address clients can connect to" },
  }
  for _, case in ipairs(cases) do
    it("names file, line and key: " .. case[1], function()
      local cfg, rc, msg, _, path = load("# broker\nbroker.id=1\n" .. case[1] .. "\ndelete.topic.enable=true\n")
      assert.is_nil(cfg)
      assert.equal(c.EINVAL, rc)
      local want = path .. ":3: " .. case[2]
      assert.equal(want, msg:sub(1, #want))
    end)
  end

  it("says --override for a bad override value", function()
    local cfg, rc, msg = load("num.partitions=2\n", { "num.partitions=x" })
    assert.is_nil(cfg)
    assert.equal(c.EINVAL, rc)
    assert.equal("--override num.partitions: 'x' is not an integer", msg)
  end)

  it("refuses an unknown key given as an override", function()
    local cfg, rc, msg = load(nil, { "some.plugin.key=x" })
    assert.is_nil(cfg)
    assert.equal(c.EINVAL, rc)
    local want = "--override some.plugin.key: unknown broker config key"
    assert.equal(want, msg:sub(1, #want))
  end)

  it("refuses a malformed override", function()
    for _, o in ipairs({ "justakey", "=value", "  =value" }) do
      local cfg, rc, msg = load(nil, { o })
      assert.is_nil(cfg)
      assert.equal(c.EINVAL, rc)
      assert.equal("--override '" .. o .. "': expected key=value", msg)
    end
  end)

  it("fails with ML_EIO when the file cannot be read", function()
    local cfg, e = new_config(), c.common.err()
    local rc = lib.ml_broker_config_load(cfg, dir .. "/nope.properties", 0, nil, e)
    assert.equal(c.EIO, rc)
    assert.matches("nope.properties", ffi.string(e.msg))
  end)

  it("reports a malformed escape with the file's line", function()
    local cfg, rc, msg, _, path = load("a=1\nlog.dirs=\\u00zz\n")
    assert.is_nil(cfg)
    assert.equal(c.EINVAL, rc)
    assert.equal(path .. ":2: malformed \\uXXXX escape", msg)
  end)
end)

describe("broker config listeners", function()
  local function listen(value, advertised)
    local o = { "listeners=" .. value }
    if advertised then o[2] = "advertised.listeners=" .. advertised end
    local cfg = assert(load(nil, o))[0]
    return ffi.string(cfg.listener_host), cfg.listener_port, ffi.string(cfg.advertised_host), cfg.advertised_port
  end

  it("parses host and port, port 0 picking a free port", function()
    assert.same({ "127.0.0.1", 0, "127.0.0.1", 0 }, { listen("PLAINTEXT://127.0.0.1:0") })
    assert.same({ "broker1", 19092, "broker1", 0 }, { listen("PLAINTEXT://broker1:19092") })
    assert.same({ "localhost", 65535, "localhost", 0 }, { listen("plaintext://localhost:65535") })
  end)

  it("binds every address for an empty host or 0.0.0.0, advertising 127.0.0.1", function()
    assert.same({ "", 9092, "127.0.0.1", 0 }, { listen("PLAINTEXT://:9092") })
    assert.same({ "0.0.0.0", 9092, "127.0.0.1", 0 }, { listen("PLAINTEXT://0.0.0.0:9092") })
  end)

  it("reads an IPv6 host in brackets", function()
    assert.same({ "::1", 9092, "::1", 0 }, { listen("PLAINTEXT://[::1]:9092") })
  end)

  it("takes advertised.listeners, an empty host there meaning the listener's", function()
    assert.same({ "0.0.0.0", 9092, "kafka.example", 29092 },
                { listen("PLAINTEXT://0.0.0.0:9092", "PLAINTEXT://kafka.example:29092") })
    assert.same({ "10.1.2.3", 9092, "10.1.2.3", 9999 }, { listen("PLAINTEXT://10.1.2.3:9092", "PLAINTEXT://:9999") })
    assert.same({ "10.1.2.3", 0, "h", 0 }, { listen("PLAINTEXT://10.1.2.3:0", "PLAINTEXT://h:0") })
  end)
end)

describe("broker config describe and help", function()
  it("lists every key once, all at their defaults in a fresh config", function()
    local map, order = describe_all(new_config())
    assert.is_true(#order >= 30)
    local seen = {}
    for _, k in ipairs(order) do
      assert.is_nil(seen[k], k)
      seen[k] = true
      assert.is_true(map[k][2], k .. " is not at its default")
    end
    assert.same({ "0", true }, map["broker.id"])
    assert.same({ "PLAINTEXT://127.0.0.1:9092", true }, map["listeners"])
    assert.same({ "PLAINTEXT://127.0.0.1:9092", true }, map["advertised.listeners"])
    assert.same({ "/tmp/kafka-logs", true }, map["log.dirs"])
    assert.same({ "1073741824", true }, map["log.segment.bytes"])
    assert.same({ "168", true }, map["log.retention.hours"])
    assert.same({ "10080", true }, map["log.retention.minutes"])
    assert.same({ "604800000", true }, map["log.retention.ms"])
    assert.same({ "168", true }, map["log.roll.hours"])
    assert.same({ "-1", true }, map["log.retention.bytes"])
    assert.same({ "CreateTime", true }, map["log.message.timestamp.type"])
    assert.same({ "delete", true }, map["log.cleanup.policy"])
    assert.same({ "producer", true }, map["compression.type"])
    assert.same({ "false", true }, map["unclean.leader.election.enable"])
    assert.same({ "true", true }, map["auto.create.topics.enable"])
    assert.same({ "1048588", true }, map["message.max.bytes"])
    assert.same({ "info", true }, map["log.level"])
    assert.same({ "1000", true }, map["log.flush.scheduler.interval.ms"])
  end)

  it("shows loaded values and which ones differ from the default", function()
    local cfg = load("num.partitions=3\nlog.retention.ms=3600000\nlog.dirs=a,b\nlisteners=PLAINTEXT://0.0.0.0:9093\n" ..
                     "log.cleanup.policy=compact,delete\nlog.level=warn\nnum.partitions=1\n")
    local map = describe_all(cfg)
    assert.same({ "1", true }, map["num.partitions"]) -- set, but to the default
    assert.same({ "3600000", false }, map["log.retention.ms"])
    assert.same({ "1", false }, map["log.retention.hours"])
    assert.same({ "60", false }, map["log.retention.minutes"])
    assert.same({ "a,b", false }, map["log.dirs"])
    assert.same({ "PLAINTEXT://0.0.0.0:9093", false }, map["listeners"])
    assert.same({ "PLAINTEXT://127.0.0.1:9093", false }, map["advertised.listeners"])
    assert.same({ "delete,compact", false }, map["log.cleanup.policy"])
    assert.same({ "warn", false }, map["log.level"])
    cfg = load("log.retention.hours=-1\nlisteners=PLAINTEXT://[::1]:1\n")
    map = describe_all(cfg)
    assert.same({ "-1", false }, map["log.retention.ms"])
    assert.same({ "-1", false }, map["log.retention.hours"])
    assert.same({ "PLAINTEXT://[::1]:1", false }, map["listeners"])
  end)

  it("returns NULL past the last key and for a negative index", function()
    local value = ffi.new("char[64]")
    local _, order = describe_all(new_config())
    assert.is_true(lib.ml_broker_config_describe(new_config(), #order, value, 64, nil) == nil)
    assert.is_true(lib.ml_broker_config_describe(new_config(), -1, value, 64, nil) == nil)
    assert.equal("broker.id", ffi.string(lib.ml_broker_config_describe(new_config(), 0, value, 64, nil)))
  end)

  it("prints a Markdown table with one row per key and its default", function()
    local path = dir .. "/help.md"
    local f = ffi.C.fopen(path, "w")
    lib.ml_broker_config_print_markdown(f)
    ffi.C.fclose(f)
    local text = c.read_file(path)
    local lines = {}
    for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal("| key | default | meaning |", lines[1])
    assert.equal("|---|---|---|", lines[2])
    local map, order = describe_all(new_config())
    assert.equal(#order + 2, #lines)
    for i, key in ipairs(order) do
      local k, d, meaning = lines[i + 2]:match("^| `([^`]+)` | `([^`]*)` | (.+) |$")
      assert.equal(key, k)
      assert.equal(map[key][1], d)
      assert.is_true(#meaning > 10, key)
    end
  end)
end)
