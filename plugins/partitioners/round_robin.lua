-- round_robin: every record to the next partition in turn, keyed or not (Kafka's
-- RoundRobinPartitioner). The counter is per topic and per thread: each thread calling send()
-- has its own copy of this plugin (HOOKS.md), so with several threads the turns interleave.
local counters = {}

return {
  api = 1,
  kind = "partitioner",
  partition = function(record, cluster)
    local n = record.partitions
    local i = (counters[record.topic] or -1) + 1
    counters[record.topic] = i
    return i % n
  end,
}
