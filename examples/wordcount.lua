-- Word count: lines from `input`, `word -> count` records into `output`, keyed by the word.
-- Each batch emits the new count of every word it saw, so the last record of a key is that
-- word's count (a changelog, as a Kafka Streams count() writes). One instance reads every
-- partition of `input` from the beginning, without a group: the counts are rebuilt at each
-- start and the latest record per word stays right. They live in ctx.state, so editing this
-- file while it runs keeps them.
--
--   build/moonlog run examples/wordcount.lua bootstrap=127.0.0.1:9092 input=lines output=word-counts partitions=1
-- (or $MOONLOG_BOOTSTRAP, $MOONLOG_INPUT, $MOONLOG_OUTPUT, $MOONLOG_PARTITIONS)
local run = require "moonlog.run"
local o = run.options(arg, { bootstrap = "127.0.0.1:9092", input = "lines", output = "word-counts", partitions = "1" })

local assign = {}
for p = 0, assert(tonumber(o.partitions), "partitions must be a number") - 1 do
  assign[#assign + 1] = { topic = o.input, partition = p }
end

return {
  config = { ["bootstrap.servers"] = o.bootstrap, ["auto.offset.reset"] = "earliest",
             producer = { acks = "all", ["linger.ms"] = 5 } },
  assign = assign,
  on_batch = function(msgs, ctx)
    local counts = ctx.state.counts or {}
    ctx.state.counts = counts
    local touched, order = {}, {}
    for _, m in ipairs(msgs) do
      for word in (m.value or ""):lower():gmatch("%w+") do
        counts[word] = (counts[word] or 0) + 1
        if not touched[word] then touched[word] = true; order[#order + 1] = word end
      end
    end
    for _, word in ipairs(order) do
      assert(ctx.producer:send { topic = o.output, key = word, value = tostring(counts[word]) })
    end
  end,
}
