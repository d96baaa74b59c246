-- OffsetFetch: facts from Kafka's OffsetFetchRequest.json and OffsetFetchResponse.json, clipped
-- to versions 0-7 (6 is the first flexible one; 8+ fetch several groups at once). From v2 a
-- null topic list asks for every committed offset of the group and the response carries a
-- top-level error; v5 adds the leader epoch, v7 RequireStable.
return {
  key = 9,
  name = "OffsetFetch",
  valid = { 0, 7 },
  flexible = 6,
  request = {
    { name = "GroupId", type = "string", versions = "0-7" },
    { name = "Topics", type = "[]OffsetFetchRequestTopic", versions = "0-7", nullable = "2-7", fields = {
      { name = "Name", type = "string", versions = "0-7" },
      { name = "PartitionIndexes", type = "[]int32", versions = "0-7" },
    } },
    { name = "RequireStable", type = "bool", versions = "7+", default = "false" },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "3+", ignorable = true },
    { name = "Topics", type = "[]OffsetFetchResponseTopic", versions = "0-7", fields = {
      { name = "Name", type = "string", versions = "0-7" },
      { name = "Partitions", type = "[]OffsetFetchResponsePartition", versions = "0-7", fields = {
        { name = "PartitionIndex", type = "int32", versions = "0-7" },
        { name = "CommittedOffset", type = "int64", versions = "0-7" },
        { name = "CommittedLeaderEpoch", type = "int32", versions = "5-7", default = "-1", ignorable = true },
        { name = "Metadata", type = "string", versions = "0-7", nullable = "0-7" },
        { name = "ErrorCode", type = "int16", versions = "0-7" },
      } },
    } },
    { name = "ErrorCode", type = "int16", versions = "2-7", default = "0", ignorable = true },
  },
}
