-- A custom partitioner (hook API v1, see core/lua/HOOKS.md): records carrying a "region" header
-- go to that region's partition (eu -> 0, us -> 1, ap -> 2, modulo the partition count); the
-- others are placed by key like the Java client, or spread at random when they have no key.
--   moonlog produce --topic t --partitioner examples/region_partitioner.lua ...
local regions = { eu = 0, us = 1, ap = 2 }

return {
  api = 1,
  kind = "partitioner",
  partition = function(record, cluster)
    if record.headers then
      for _, h in ipairs(record.headers) do
        if h.key == "region" and regions[h.value] then return regions[h.value] % record.partitions end
      end
    end
    if record.key ~= nil then return moonlog.murmur2_partition(record.key, record.partitions) end
    return math.random(0, record.partitions - 1)
  end,
}
