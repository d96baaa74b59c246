-- Hot reload under load: while 200,000 records are produced, the partitioner file is replaced
-- (round_robin -> everything to partition 0). Records after the swap follow the new plugin; all
-- records come back exactly once. Then a syntax error is written: reported and counted, the
-- running plugin stays, nothing is lost.
local process = require "process"
local brokers = require "broker"
local client = require "client"
local moonlog = client.moonlog

local N = 200000

describe("hot reload of a partitioner under load", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "3" } }
    dir = process.tmpdir("reload")
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  it("swaps between records, loses nothing, and refuses a broken version", function()
    local path = dir .. "/live_partitioner.lua"
    client.write_plugin(path, process.read_file(client.root .. "/plugins/partitioners/round_robin.lua"))
    local p = assert(moonlog.producer { ["bootstrap.servers"] = b.bootstrap, partitioner = path,
                                        ["plugin.reload.interval.ms"] = "20", ["linger.ms"] = "5" })
    local gen_of, part_of, failed = {}, {}, 0
    local function cb(i)
      return function(md, err)
        if err then failed = failed + 1 return end
        gen_of[i], part_of[i] = md.generation, md.partition
      end
    end
    local i = 0
    local function send_until(n)
      while i < n do
        i = i + 1
        assert(p:send({ topic = "reload", value = tostring(i) }, cb(i)))
      end
    end
    send_until(N / 4)
    client.write_plugin(path, [[
return { api = 1, kind = "partitioner", partition = function(record, cluster) return 0 end }
]])
    -- keep producing while the I/O thread notices the change
    while p:counter("plugin.reloads") < 1 and i < N / 2 do send_until(i + 100) end
    assert.are.equal(1, p:counter("plugin.reloads"))
    send_until(3 * N / 4)
    client.write_plugin(path, "return { api = 1, kind = 'partitioner', partition = function(r) return 0 +\n")
    while p:counter("plugin.reload.failures") < 1 and i < N do send_until(i + 100) end
    assert.are.equal(1, p:counter("plugin.reload.failures"))
    send_until(N)
    assert(p:flush())
    assert.are.equal(0, failed)
    assert(p:close())

    -- generations only move forward in send order; generation 2 puts everything on partition 0
    local swap
    for k = 1, N do
      assert.is_not_nil(gen_of[k], "record " .. k .. " has no report")
      if gen_of[k] == 2 then
        swap = swap or k
        assert.are.equal(0, part_of[k])
      else
        assert.are.equal(1, gen_of[k])
        assert.is_nil(swap, "record " .. k .. " of generation 1 after the swap at " .. tostring(swap))
      end
    end
    -- the records still waiting in the sending thread's list (at most 64) when the file changed
    -- are partitioned by whichever load is current when the list is: a reload acts between lists
    assert.is_true(swap > N / 4 - 64 and swap <= N / 2 + 100, "swap at " .. tostring(swap))
    -- before the swap round_robin used every partition
    local used = {}
    for k = 1, swap - 1 do used[part_of[k]] = true end
    assert.is_true(used[0] and used[1] and used[2])

    local seen, count = {}, 0
    for _, r in ipairs(client.consume(b.bootstrap, "reload", N)) do
      local v = tonumber(r.value)
      assert.is_nil(seen[v], "record " .. r.value .. " twice")
      seen[v] = true
      count = count + 1
    end
    assert.are.equal(N, count)
  end)
end)
