-- Commits the positions of the revoked partitions synchronously, before the consumer gives them
-- up: with enable.auto.commit=false and an application that processes every record poll returned
-- before polling again, the next owner starts exactly after the last record processed here.
-- A partition without a position yet (nothing read) is left alone. A failed commit raises: the
-- host logs and counts it (listener.errors) and the rebalance goes on.
return {
  api = 1,
  kind = "rebalance_listener",
  on_partitions_revoked = function(consumer, partitions)
    local offsets = {}
    for _, tp in ipairs(partitions) do
      local pos = consumer.position(tp.topic, tp.partition, 0)
      if pos then offsets[#offsets + 1] = { topic = tp.topic, partition = tp.partition, offset = pos } end
    end
    if #offsets == 0 then return end
    local ok, err = consumer.commit_sync(offsets)
    if not ok then error("commit of " .. #offsets .. " revoked partitions failed: " .. err.message) end
    moonlog.count("commits")
    moonlog.count("partitions.committed", #offsets)
  end,
}
