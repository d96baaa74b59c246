-- key_hash: a keyed record goes where the Java client's default partitioner puts it:
-- (murmur2(key) & 0x7fffffff) % partitions, which is also librdkafka's murmur2 and
-- murmur2_random. A record without a key goes to a random partition (as murmur2_random does).
local murmur2_partition = moonlog.murmur2_partition

return {
  api = 1,
  kind = "partitioner",
  partition = function(record, cluster)
    local key = record.key
    if key == nil then return math.random(0, record.partitions - 1) end
    return murmur2_partition(key, record.partitions)
  end,
}
