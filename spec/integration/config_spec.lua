-- moonlogd's command line: a bad value or an unknown key stops it at once with a message naming
-- the key (and the file and line), and a non-zero exit; --help-config lists every key.
local process = require "process"
local brokers = require "broker"

local function run(args)
  local dir = process.tmpdir("moonlogd-config")
  local ok, out = process.sh(brokers.moonlogd .. " " .. args .. " --override log.dirs=" .. dir
    .. "/data --override listeners=PLAINTEXT://127.0.0.1:0 2>&1 </dev/null & pid=$!; "
    .. "for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done; "
    .. "if kill -0 $pid 2>/dev/null; then kill $pid; echo STILL-RUNNING; fi; wait $pid")
  process.rmdir(dir)
  return ok, out
end

describe("moonlogd configuration errors", function()
  it("exits non-zero naming file, line and key for a bad value", function()
    local dir = process.tmpdir("moonlogd-props")
    process.write_file(dir .. "/server.properties", "broker.id=0\n# comment\nlog.segment.bytes=abc\n")
    local ok, out = run(dir .. "/server.properties")
    process.rmdir(dir)
    assert.is_false(ok, out)
    assert.truthy(out:find(dir .. "/server.properties:3: log.segment.bytes: 'abc' is not an integer", 1, true), out)
    assert.is_nil(out:find("STILL-RUNNING", 1, true))
  end)

  it("exits non-zero for an unknown key (a typo must not fall back to a default)", function()
    local ok, out = run("--override log.retention.hour=1")
    assert.is_false(ok, out)
    assert.truthy(out:find("log.retention.hour: unknown broker config key", 1, true), out)
  end)

  it("starts with a Kafka key that has no effect here, and says so", function()
    local b = brokers.start { overrides = { ["zookeeper.connect"] = "localhost:2181" } }
    local log = b:log_text()
    b:stop()
    assert.truthy(log:find("'zookeeper.connect' has no effect in moonlog", 1, true), log)
  end)

  it("lists every key with its default in --help-config", function()
    local ok, out = process.sh(brokers.moonlogd .. " --help-config")
    assert.is_true(ok, out)
    for _, key in ipairs { "broker.id", "listeners", "advertised.listeners", "log.dirs", "num.partitions",
      "auto.create.topics.enable", "log.segment.bytes", "log.roll.ms", "log.index.interval.bytes",
      "log.retention.hours", "log.retention.ms", "log.retention.bytes", "log.retention.check.interval.ms",
      "log.flush.interval.messages", "log.flush.interval.ms", "message.max.bytes", "socket.request.max.bytes" } do
      assert.truthy(out:find("| `" .. key .. "` |", 1, true), key)
    end
  end)
end)
