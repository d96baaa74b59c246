-- ListOffsets: facts from Kafka's ListOffsetsRequest.json and ListOffsetsResponse.json,
-- clipped to versions 0-5 (none flexible: that starts at 6).
-- v0 asks for up to MaxNumOffsets offsets and answers OldStyleOffsets; v1+ one offset.
return {
  key = 2,
  name = "ListOffsets",
  valid = { 0, 5 },
  flexible = nil,
  request = {
    { name = "ReplicaId", type = "int32", versions = "0+" },
    { name = "IsolationLevel", type = "int8", versions = "2+" },
    { name = "Topics", type = "[]ListOffsetsTopic", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+" },
      { name = "Partitions", type = "[]ListOffsetsPartition", versions = "0+", fields = {
        { name = "PartitionIndex", type = "int32", versions = "0+" },
        { name = "CurrentLeaderEpoch", type = "int32", versions = "4+", default = "-1", ignorable = true },
        { name = "Timestamp", type = "int64", versions = "0+" },
        { name = "MaxNumOffsets", type = "int32", versions = "0", default = "1" },
      } },
    } },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "2+", ignorable = true },
    { name = "Topics", type = "[]ListOffsetsTopicResponse", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+" },
      { name = "Partitions", type = "[]ListOffsetsPartitionResponse", versions = "0+", fields = {
        { name = "PartitionIndex", type = "int32", versions = "0+" },
        { name = "ErrorCode", type = "int16", versions = "0+" },
        { name = "OldStyleOffsets", type = "[]int64", versions = "0", ignorable = false },
        { name = "Timestamp", type = "int64", versions = "1+", default = "-1", ignorable = false },
        { name = "Offset", type = "int64", versions = "1+", default = "-1", ignorable = false },
        { name = "LeaderEpoch", type = "int32", versions = "4+", default = "-1" },
      } },
    } },
  },
}
