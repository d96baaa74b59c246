-- Logs every rebalance callback with its partitions (info level) and counts them: revoked,
-- assigned, lost. It changes nothing.
local function names(partitions)
  local out = {}
  for i, tp in ipairs(partitions) do out[i] = tp.topic .. "-" .. tp.partition end
  return #out > 0 and table.concat(out, ",") or "(none)"
end

local function logger(what)
  return function(consumer, partitions)
    moonlog.count(what)
    moonlog.log("info", what .. ": " .. names(partitions))
  end
end

return {
  api = 1,
  kind = "rebalance_listener",
  on_partitions_revoked = logger("revoked"),
  on_partitions_assigned = logger("assigned"),
  on_partitions_lost = logger("lost"),
}
