-- The examples/ programs run against moonlogd: the C producer (compiled here against
-- libmoonlog.a), the Lua module script and the custom partitioner they use.
local process = require "process"
local brokers = require "broker"
local client = require "client"

describe("examples", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "3" } }
    dir = process.tmpdir("examples")
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  it("examples/producer.c builds against libmoonlog.a and delivers every record", function()
    local exe = dir .. "/producer"
    local ok, out = client.build_c("examples/producer.c", exe)
    assert(ok, out)
    ok, out = process.sh(exe .. " " .. b.bootstrap .. " c-example 500 " .. client.root .. "/examples/region_partitioner.lua")
    assert(ok, out)
    assert.truthy(out:find("first record: partition %d offset 0"), out)
    assert.truthy(out:find("delivered 500, failed 0", 1, true), out)
    assert.are.equal(502, #client.consume(b.bootstrap, "c-example", 502))
  end)

  it("examples/produce.lua sends through the Lua module with the region partitioner", function()
    -- a plain luajit cannot load a sanitized library: the script uses the plain build then
    local env = os.getenv("SANITIZE") and os.getenv("SANITIZE") ~= "" and "MOONLOG_BUILD=build " or ""
    local ok, out = process.sh(("cd %s && " .. env .. "luajit -e 'package.path=\"core/lua/?.lua;\"..package.path' " ..
      "examples/produce.lua %s lua-example"):format(client.root, b.bootstrap))
    assert(ok, out)
    assert.truthy(out:find("first record: partition 1, offset 0", 1, true), out) -- region us
    assert.truthy(out:find("delivered 100", 1, true), out)
  end)
end)
