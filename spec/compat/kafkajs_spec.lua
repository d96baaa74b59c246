-- kafkajs 2.2.4 (from spec/compat/package-lock.json) against a real moonlogd: the admin client
-- creates a 3-partition topic, the producer sends keyed records with headers (acks=all), and
-- kcat reads every one of them back; kafkajs' own consumer (a consumer group) reads them too.
local process = require "process"
local brokers = require "broker"

local function json_field(line, name)
  return tonumber(line:match('"' .. name .. '":(%-?%d+)'))
end

describe("kafkajs", function()
  local b
  setup(function() b = brokers.start { overrides = { ["group.initial.rebalance.delay.ms"] = "300" } } end)
  teardown(function() if b then b:stop() end end)

  it("creates a topic, produces 3,000 records to 3 partitions, and kcat reads them all back", function()
    local root = os.getenv("MOONLOG_ROOT") or "."
    local ok, out = process.sh("cd " .. root .. "/spec/compat && node kafkajs_basic.js " .. b.bootstrap
      .. " jsonly 3000 2>&1")
    assert.is_true(ok, out)
    local line = out:match("{.*}")
    assert.truthy(line, out)
    assert.are.equal(3, json_field(line, "partitions"))
    assert.are.equal(3000, json_field(line, "consumed"))
    assert.are.equal(0, json_field(line, "duplicates"))
    assert.are.equal(3, json_field(line, "partitions_seen"))
    assert.truthy(line:find('"created":true', 1, true), line)
    local ok2, got = process.sh("kcat -C -b " .. b.bootstrap .. " -t jsonly -o beginning -e -q -f '%p %k %s %h\\n'")
    assert.is_true(ok2, got)
    local n, parts, bad = 0, {}, 0
    for p, k, v, h in got:gmatch("(%d+) key%-(%d+) value%-(%d+) n=(%d+)\n") do
      n = n + 1
      parts[p] = true
      if k ~= v or k ~= h then bad = bad + 1 end
    end
    assert.are.equal(3000, n)
    assert.are.equal(0, bad)
    assert.is_true(parts["0"] and parts["1"] and parts["2"], "records went to every partition")
  end)
end)
