-- moonlog perf consume against moonlogd, as kafka-consumer-perf-test is used: it reads exactly
-- --messages records (written by moonlog perf produce) and ends with one line of figures; short
-- of records it says so and exits non-zero.
local process = require "process"
local brokers = require "broker"
local client = require "client"

describe("moonlog perf consume", function()
  local b

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "4", ["group.initial.rebalance.delay.ms"] = "0" } }
    local ok, out = process.sh(client.cli .. " perf produce --bootstrap-server " .. b.bootstrap ..
      " --topic perfc --num-records 50000 --record-size 100 --throughput -1 --producer-property linger.ms=5")
    assert(ok, out)
  end)
  teardown(function()
    if b then b:stop() end
  end)

  local LINE = "^(%d+) records consumed, ([%d.]+) records/sec %(([%d.]+) MB/sec%), ([%d.]+) MB, ([%d.]+) s elapsed, " ..
    "([%d.]+) s to the first record.\n$"

  local function perf(args)
    return process.sh(client.cli .. " perf consume --bootstrap-server " .. b.bootstrap .. " --topic perfc " .. args)
  end

  it("reads exactly --messages records from every partition and prints the final line", function()
    local ok, out = perf("--messages 50000")
    assert(ok, out)
    local n, rps, mbs, mb, secs = out:match(LINE)
    assert.truthy(n, out)
    assert.are.equal("50000", n)
    -- keys are the record numbers ("0".."49999": 238,890 bytes) and values 100 bytes each
    assert.are.equal(string.format("%.2f", (50000 * 100 + 238890) / 1048576), mb)
    assert.is_true(tonumber(secs) > 0 and tonumber(rps) > 0 and tonumber(mbs) > 0)
    ok, out = perf("--messages 1000")
    assert(ok, out)
    assert.are.equal("1000", out:match(LINE))
  end)

  it("as a group member too, and short of records it reports how many came and exits 1", function()
    local ok, out = perf("--messages 20000 --group pc")
    assert(ok, out)
    assert.are.equal("20000", out:match(LINE))
    ok, out = perf("--messages 60000 --timeout-ms 1500")
    assert.is_false(ok)
    assert.truthy(out:find("only 50000 of 60000 records came before 1500 ms without one", 1, true), out)
    assert.truthy(out:find("\n50000 records consumed", 1, true) or out:find("^50000 records consumed"), out)
  end)
end)
