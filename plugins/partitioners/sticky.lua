-- sticky: Kafka's default for keyless records (KIP-480): every keyless record of a topic goes to
-- one partition until its batch is full, then to another one chosen at random among the
-- available partitions. Keyed records are hashed like the Java client (murmur2).
local key_murmur2_partition = moonlog.key_murmur2_partition
local current = {}
local previous = {}

local function pick(topic, n, cluster, avoid)
  local p = math.random(0, n - 1)
  if n > 1 and p == avoid then p = (p + 1) % n end
  for _ = 1, n do
    if (p ~= avoid or n == 1) and cluster.available(topic, p) then return p end
    p = (p + 1) % n
  end
  return p
end

return {
  api = 1,
  kind = "partitioner",
  partition = function(record, cluster)
    local n = record.partitions
    local keyed = key_murmur2_partition(record)
    if keyed ~= nil then return keyed end
    local p = current[record.topic]
    if p == nil or p >= n then
      p = pick(record.topic, n, cluster, previous[record.topic])
      current[record.topic] = p
    end
    return p
  end,
  -- the batch of `partition` is full: stick to another partition from the next record on
  on_batch_full = function(topic, partition)
    if current[topic] == partition then
      current[topic] = nil
      previous[topic] = partition
    end
  end,
}
