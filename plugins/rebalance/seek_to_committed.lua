-- Seeks every assigned partition to the group's committed offset before its first fetch (the
-- partitions without one start where auto.offset.reset says). The consumer does the same by
-- itself for new partitions; this makes it explicit and also overrides a seek made earlier.
return {
  api = 1,
  kind = "rebalance_listener",
  on_partitions_assigned = function(consumer, partitions)
    if #partitions == 0 then return end
    local offsets, err = consumer.committed(partitions)
    if not offsets then error("committed offsets of " .. #partitions .. " partitions: " .. err.message) end
    for i, tp in ipairs(partitions) do
      if offsets[i] >= 0 then
        local ok, e = consumer.seek(tp.topic, tp.partition, offsets[i])
        if not ok then error("seek " .. tp.topic .. "-" .. tp.partition .. ": " .. e.message) end
        moonlog.count("seeks")
      end
    end
  end,
}
