-- The moonlog Lua module: a consumer in a LuaJIT script. It joins a group, reads every record
-- with the string deserializer (text that is not UTF-8 would be reported, not altered), commits
-- asynchronously with a callback after each batch, and stops when nothing came for 3 s.
--   MOONLOG_ROOT=$PWD luajit -e 'package.path="core/lua/?.lua;"..package.path' examples/consume.lua 127.0.0.1:9092 t
local moonlog = require "moonlog"
local bootstrap, topic = arg[1] or "127.0.0.1:9092", arg[2] or "lua-example"

local c = assert(moonlog.consumer { ["bootstrap.servers"] = bootstrap, ["group.id"] = "lua-example",
                                    ["auto.offset.reset"] = "earliest", ["enable.auto.commit"] = false,
                                    ["key.deserializer"] = "string", ["value.deserializer"] = "string" })
assert(c:subscribe { topic })
local n, committed = 0, 0
for msg in c:messages(3000) do
  n = n + 1
  if n == 1 then print(("first record: %s => %s (partition %d)"):format(msg.key, msg.value, msg.partition)) end
  if n % 10 == 0 then
    assert(c:commit_async(nil, function(err, offsets)
      if err then print("commit failed: " .. err.message) else committed = committed + 1 end
    end))
  end
end
assert(c:commit_sync()) -- the positions; runs the callbacks of the async commits before it
c:close()
print(("read %d records, %d async commits"):format(n, committed))
