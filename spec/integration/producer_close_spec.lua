-- close() while delivery callbacks send through a partitioner plugin (spec/support/callback_sends.c,
-- compiled here against libmoonlog.a, sanitized like the build under test). Such a send runs
-- on the I/O thread, stages its record without p->mu and counts it pending before it reads
-- `closing` (core/client/staging.c): close() must either refuse it or deliver it, and every
-- record it accepted gets exactly one callback.
local process = require "process"
local brokers = require "broker"
local client = require "client"

describe("producer close", function()
  local b, dir, exe

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "3" } }
    dir = process.tmpdir("close")
    exe = dir .. "/callback_sends"
    local ok, out = client.build_c("spec/support/callback_sends.c", exe)
    assert(ok, out)
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  local function counts(out)
    local t = {}
    for k, v in out:gmatch("(%a+) (%d+)") do t[k] = tonumber(v) end
    return t
  end

  for _, partitioner in ipairs { "sticky", "key_hash" } do
    it("completes every record a callback sent while close ran, or refuses it (" .. partitioner .. ")", function()
      local topic = "close-" .. partitioner
      -- by path: the harness lives outside the tree, where the shipped plugins are not looked for
      local path = client.root .. "/plugins/partitioners/" .. partitioner .. ".lua"
      local ok, out = process.sh(("%s %s %s %s 20000"):format(exe, b.bootstrap, topic, path))
      assert(ok, out)
      local c = counts(out)
      assert.are.equal(c.accepted, c.completed, out)
      assert.are.equal(0, c.other, out)
      assert.are.equal(0, c.failed, out)
      assert.is_true(c.accepted > 20000, "some callbacks sent before close began: " .. out)
      assert.is_true(c.refused > 0, "some sent once it had: " .. out)
      -- what the broker holds is what was acknowledged: nothing accepted went missing
      assert.are.equal(c.delivered, #client.consume(b.bootstrap, topic, c.delivered), out)
    end)
  end
end)
