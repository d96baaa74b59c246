-- consistent_random: librdkafka's default partitioner (kcat, confluent-kafka-python/go, ...):
-- a keyed record goes to crc32(key) % partitions (zlib's CRC-32), a keyless one to a random
-- partition. Use it to place keys where a librdkafka producer with default settings puts them.
-- key_crc32_partition hashes the record's key bytes without making a Lua string of them.
local key_crc32_partition = moonlog.key_crc32_partition

return {
  api = 1,
  kind = "partitioner",
  partition = function(record, cluster)
    if record.key_size <= 0 then return math.random(0, record.partitions - 1) end -- null or empty
    return key_crc32_partition(record)
  end,
}
