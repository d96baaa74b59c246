-- The moonlog Lua module: a producer in a LuaJIT script.
--   MOONLOG_ROOT=$PWD luajit -e 'package.path="core/lua/?.lua;"..package.path' examples/produce.lua 127.0.0.1:9092 t
local moonlog = require "moonlog"
local bootstrap, topic = arg[1] or "127.0.0.1:9092", arg[2] or "lua-example"

local p = assert(moonlog.producer { ["bootstrap.servers"] = bootstrap, ["linger.ms"] = 5,
                                    partitioner = "examples/region_partitioner.lua" })
local md = assert(p:send_sync { topic = topic, key = "first", value = "hello", headers = { region = "us" } })
print(("first record: partition %d, offset %d"):format(md.partition, tonumber(md.offset)))
local delivered = 0
for i = 1, 100 do
  assert(p:send({ topic = topic, key = "k" .. i, value = "v" .. i }, function(md, err)
    if err then print("failed: " .. err.message) else delivered = delivered + 1 end
  end))
end
assert(p:close())
print(("delivered %d"):format(delivered))
