-- Filter and forward: records of `input` whose value matches `match` (a Lua pattern) go to
-- `output` with the same key, the value upper-cased and a `source` header naming where they came
-- from (topic/partition/offset); the others are dropped. A member of group `group`: several
-- instances share the partitions, and a restart resumes at the committed offsets. moonlog run
-- flushes the producer before each commit, so a record is forwarded at least once, never lost.
--
--   build/moonlog run examples/filter_forward.lua bootstrap=127.0.0.1:9092 input=events output=alerts \
--       group=filter-forward match=error
local run = require "moonlog.run"
local o = run.options(arg, { bootstrap = "127.0.0.1:9092", input = "events", output = "forwarded",
                             group = "filter-forward", match = "." })

return {
  config = { ["bootstrap.servers"] = o.bootstrap, ["group.id"] = o.group, ["auto.offset.reset"] = "earliest",
             ["enable.auto.commit"] = false, producer = { acks = "all", ["linger.ms"] = 5 } },
  topics = { o.input },
  commit = "batch",
  on_message = function(msg, ctx)
    local v = msg.value
    if not v or not v:find(o.match) then return end
    assert(ctx.producer:send { topic = o.output, key = msg.key, value = v:upper(),
      headers = { { "source", ("%s/%d/%s"):format(msg.topic, msg.partition, tostring(msg.offset):gsub("LL$", "")) } } })
  end,
}
