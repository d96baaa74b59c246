-- examples/consume.lua runs against a real moonlogd through the Lua module.
local process = require "process"
local brokers = require "broker"
local client = require "client"

describe("consumer examples", function()
  local b

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "2", ["group.initial.rebalance.delay.ms"] = "0" } }
  end)
  teardown(function() if b then b:stop() end end)

  it("examples/consume.lua reads a topic in a group and commits", function()
    local file = os.tmpname()
    local lines = {}
    for i = 1, 50 do lines[#lines + 1] = "k" .. i .. ":v" .. i end
    process.write_file(file, table.concat(lines, "\n") .. "\n")
    local ok, out = process.sh("kcat -P -b " .. b.bootstrap .. " -t lua-example -K: -p 0 < " .. file)
    os.remove(file)
    assert(ok, out)
    -- a plain luajit cannot load a sanitized library: the script uses the plain build then
    local env = os.getenv("SANITIZE") and os.getenv("SANITIZE") ~= "" and "MOONLOG_BUILD=build " or ""
    ok, out = process.sh(("cd %s && " .. env .. "luajit -e 'package.path=\"core/lua/?.lua;\"..package.path' " ..
      "examples/consume.lua %s lua-example"):format(client.root, b.bootstrap))
    assert(ok, out)
    assert.truthy(out:find("first record: k1 => v1 (partition 0)", 1, true), out)
    assert.truthy(out:find("read 50 records, 5 async commits", 1, true), out)
    local c = assert(client.moonlog.consumer { ["bootstrap.servers"] = b.bootstrap, ["group.id"] = "lua-example" })
    assert.are.equal(50, tonumber(assert(c:committed { { topic = "lua-example", partition = 0 } })[1]))
    assert(c:close())
  end)
end)
