-- consistent_random: librdkafka's default partitioner (kcat, confluent-kafka-python/go, ...):
-- a keyed record goes to crc32(key) % partitions (zlib's CRC-32), a keyless one to a random
-- partition. Use it to place keys where a librdkafka producer with default settings puts them.
local crc32_partition = moonlog.crc32_partition

return {
  api = 1,
  kind = "partitioner",
  partition = function(record, cluster)
    local key = record.key
    if key == nil or key == "" then return math.random(0, record.partitions - 1) end
    return crc32_partition(key, record.partitions)
  end,
}
