-- Producer configuration: Kafka's property names, a clear error for an unknown key or a bad
-- value, checks between keys at creation. No broker is needed: nothing connects before a send.
local client = require "client"
local moonlog = client.moonlog

local function producer(extra)
  local cfg = { ["bootstrap.servers"] = "127.0.0.1:1" }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return moonlog.producer(cfg)
end

describe("producer configuration", function()
  it("accepts every documented key with a good value", function()
    local p = assert(producer {
      ["client.id"] = "me", acks = "all", retries = "3", ["retry.backoff.ms"] = "10", ["retry.backoff.max.ms"] = "20",
      ["delivery.timeout.ms"] = "60000", ["request.timeout.ms"] = "5000", ["batch.size"] = "1000",
      ["linger.ms"] = "0", ["buffer.memory"] = "1048576", ["max.block.ms"] = "100", ["max.request.size"] = "100000",
      ["max.in.flight.requests.per.connection"] = "1", ["compression.type"] = "zstd",
      ["key.serializer"] = "string", ["value.serializer"] = "json", partitioner = "key_hash",
      ["retry.policy"] = "exponential_jitter", ["send.buffer.bytes"] = "-1", ["receive.buffer.bytes"] = "65536",
      ["metadata.max.age.ms"] = "1000", ["reconnect.backoff.ms"] = "10", ["plugin.unsafe"] = "false",
      ["plugin.timeout.ms"] = "100", ["plugin.reload.interval.ms"] = "0",
    })
    assert(p:close())
  end)

  it("names an unknown key", function()
    local p, err = producer { ["linger.msec"] = "5" }
    assert.is_nil(p)
    assert.are.equal("INVALID_CONFIG", err.name)
    assert.are.equal("linger.msec: unknown producer property", err.message)
  end)

  it("says which Kafka keys are known but not supported", function()
    local _, err = producer { ["enable.idempotence"] = "true" }
    assert.truthy(err.message:find("does not support", 1, true))
  end)

  it("names the key, the value and what is allowed for a bad value", function()
    local cases = {
      { "acks", "2", "acks: '2' is not one of 0, 1, all, -1" },
      { "linger.ms", "soon", "linger.ms: 'soon' is not an integer" },
      { "batch.size", "-5", "batch.size: '-5' is outside 0..2147483647" },
      { "compression.type", "brotli", "compression.type: 'brotli' is not one of none, gzip, snappy, lz4, zstd" },
      { "bootstrap.servers", "localhost", "bootstrap.servers: 'localhost' is not host:port with a port 1..65535" },
      { "plugin.unsafe", "yes", "plugin.unsafe: 'yes' is not true or false" },
      { "max.in.flight.requests.per.connection", "0", "outside 1..2147483647" },
    }
    for _, c in ipairs(cases) do
      local p, err = producer { [c[1]] = c[2] }
      assert.is_nil(p, c[1])
      assert.truthy(err.message:find(c[3], 1, true), err.message)
    end
  end)

  it("checks keys against each other", function()
    local _, err = producer { ["delivery.timeout.ms"] = "1000", ["request.timeout.ms"] = "5000" }
    assert.truthy(err.message:find("delivery.timeout.ms: 1000 must be >= linger.ms + request.timeout.ms", 1, true), err.message)
    _, err = moonlog.producer {}
    assert.truthy(err.message:find("bootstrap.servers: required", 1, true))
  end)

  it("names the plugin key when a plugin cannot be loaded", function()
    local _, err = producer { partitioner = "nope" }
    assert.truthy(err.message:find("^partitioner: partitioner 'nope': no such plugin"), err.message)
    _, err = producer { ["value.serializer"] = "/nonexistent/x.lua" }
    assert.truthy(err.message:find("^value.serializer:"), err.message)
  end)

  it("fails a send to an unreachable cluster after max.block.ms, naming the topic", function()
    local p = assert(producer { ["max.block.ms"] = "200" })
    local ok, err = p:send { topic = "nowhere", value = "x" }
    assert.is_nil(ok)
    assert.are.equal("UNKNOWN_TOPIC", err.name)
    assert.truthy(err.message:find("topic nowhere not present in metadata after max.block.ms (200 ms)", 1, true))
    assert(p:close())
  end)
end)
