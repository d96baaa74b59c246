-- The moonlog command's produce side against moonlogd: `moonlog produce` (lines of stdin, like
-- Kafka's console producer) and `moonlog perf produce` (like kafka-producer-perf-test), which
-- also proves eight threads sending through one producer deliver every record exactly once.
local process = require "process"
local brokers = require "broker"
local client = require "client"

describe("moonlog command", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "4" } }
    dir = process.tmpdir("cli")
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  local function run(args, stdin)
    local cmd = client.cli .. " " .. args
    if stdin then
      process.write_file(dir .. "/stdin", stdin)
      cmd = cmd .. " < " .. dir .. "/stdin"
    end
    return process.sh(cmd)
  end

  it("produce: one record per line, keys parsed with key.separator, placed as the Java client would", function()
    local ok, out = run("produce --bootstrap-server " .. b.bootstrap .. " --topic lines" ..
      " --property parse.key=true --property key.separator=: --producer-property linger.ms=1", "a:one\nb:two\nc:three:3\n")
    assert(ok, out)
    local recs = client.consume(b.bootstrap, "lines", 3)
    local by_key = {}
    for _, r in ipairs(recs) do by_key[r.key] = r end
    assert.are.equal("three:3", by_key.c.value)
    assert.are.equal(client.moonlog.murmur2_partition("a", 4), by_key.a.partition)
  end)

  it("produce: plugins by name, and a clear error for a bad value", function()
    local ok, out = run("produce --bootstrap-server " .. b.bootstrap .. " --topic ints --value-serializer integer" ..
      " --partitioner round_robin", "1\n2\nnot-a-number\n")
    assert.is_false(ok)
    assert.truthy(out:find("SERIALIZATION", 1, true) and out:find("'not-a-number' is not an integer", 1, true), out)
    assert.truthy(out:find("1 record(s) not delivered", 1, true), out)
    local okc, raw = process.sh("kcat -C -b " .. b.bootstrap .. " -t ints -e -q -f '%s' | od -An -tx1 | tr -s ' \\n' ' '")
    assert(okc, raw)
    assert.truthy(raw:find("00 00 00 01", 1, true) and raw:find("00 00 00 02", 1, true), raw)
  end)

  it("refuses an unknown option or producer property by name", function()
    local ok, out = run("produce --bootstrap-server " .. b.bootstrap .. " --topic x --producer-property lingerms=5", "")
    assert.is_false(ok)
    assert.truthy(out:find("lingerms: unknown producer property", 1, true), out)
  end)

  it("perf produce: eight threads, every record delivered once, and a final line with percentiles", function()
    local N = 80000
    local ok, out = run("perf produce --bootstrap-server " .. b.bootstrap .. " --topic perf8 --num-records " .. N ..
      " --record-size 100 --throughput -1 --threads 8 --producer-property acks=all --print-every-ms 1000")
    assert(ok, out)
    assert.truthy(out:find("^" .. N .. " records sent, [%d.]+ records/sec %([%d.]+ MB/sec%), [%d.]+ ms avg latency, " ..
      "[%d.]+ ms max latency, [%d.]+ ms 50th, [%d.]+ ms 95th, [%d.]+ ms 99th, [%d.]+ ms 99.9th.\n$") or
      out:find("\n" .. N .. " records sent, .* ms 99.9th.\n$"), out)
    local seen, count = {}, 0
    for _, r in ipairs(client.consume(b.bootstrap, "perf8", N)) do
      assert.is_nil(seen[r.key], "key " .. r.key .. " twice")
      seen[r.key] = true
      count = count + 1
    end
    assert.are.equal(N, count)
    for i = 0, N - 1 do assert.is_true(seen[tostring(i)], "key " .. i) end -- each record's index, as text
  end)

  it("perf produce --keys none: records without a key, as kafka-producer-perf-test sends them", function()
    local ok, out = run("perf produce --bootstrap-server " .. b.bootstrap .. " --topic perfnull --num-records 500" ..
      " --record-size 10 --throughput -1 --keys none --partitioner sticky")
    assert(ok, out)
    local okc, keys = process.sh("kcat -C -b " .. b.bootstrap .. " -t perfnull -e -q -Z -f '%k\\n'")
    assert(okc, keys)
    local n = 0
    for k in keys:gmatch("[^\n]+") do
      assert.are.equal("NULL", k) -- kcat -Z prints a null key as NULL, an empty one as nothing
      n = n + 1
    end
    assert.are.equal(500, n)
    local bad_ok, bad = run("perf produce --bootstrap-server " .. b.bootstrap .. " --topic perfnull --num-records 1" ..
      " --record-size 10 --throughput -1 --keys random")
    assert.is_false(bad_ok)
    assert.truthy(bad:find("--keys random: known are index and none", 1, true), bad)
  end)
end)
