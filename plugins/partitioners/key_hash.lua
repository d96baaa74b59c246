-- key_hash: a keyed record goes where the Java client's default partitioner puts it:
-- (murmur2(key) & 0x7fffffff) % partitions, which is also librdkafka's murmur2 and
-- murmur2_random. A record without a key goes to a random partition (as murmur2_random does).
-- key_murmur2_partition hashes the record's key bytes without making a Lua string of them.
local key_murmur2_partition = moonlog.key_murmur2_partition

return {
  api = 1,
  kind = "partitioner",
  partition = function(record, cluster)
    local p = key_murmur2_partition(record)
    if p == nil then return math.random(0, record.partitions - 1) end
    return p
  end,
}
