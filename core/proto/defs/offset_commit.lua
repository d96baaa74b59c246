-- OffsetCommit: facts from Kafka's OffsetCommitRequest.json and OffsetCommitResponse.json,
-- clipped to versions 0-8 (8 is the first flexible one; 9 belongs to the KIP-848 protocol and
-- renames GenerationId to GenerationIdOrMemberEpoch). v1 adds the member and generation and a
-- per-partition commit timestamp, v2-4 a retention time, v6 the leader epoch, v7 the instance id.
-- A generation of -1 with an empty member id commits for a group that only stores offsets.
return {
  key = 8,
  name = "OffsetCommit",
  valid = { 0, 8 },
  flexible = 8,
  request = {
    { name = "GroupId", type = "string", versions = "0+" },
    { name = "GenerationId", type = "int32", versions = "1+", default = "-1", ignorable = true },
    { name = "MemberId", type = "string", versions = "1+", ignorable = true },
    { name = "GroupInstanceId", type = "string", versions = "7+", nullable = "7+", default = "null" },
    { name = "RetentionTimeMs", type = "int64", versions = "2-4", default = "-1", ignorable = true },
    { name = "Topics", type = "[]OffsetCommitRequestTopic", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+" },
      { name = "Partitions", type = "[]OffsetCommitRequestPartition", versions = "0+", fields = {
        { name = "PartitionIndex", type = "int32", versions = "0+" },
        { name = "CommittedOffset", type = "int64", versions = "0+" },
        { name = "CommittedLeaderEpoch", type = "int32", versions = "6+", default = "-1", ignorable = true },
        { name = "CommitTimestamp", type = "int64", versions = "1", default = "-1" },
        { name = "CommittedMetadata", type = "string", versions = "0+", nullable = "0+" },
      } },
    } },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "3+", ignorable = true },
    { name = "Topics", type = "[]OffsetCommitResponseTopic", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+" },
      { name = "Partitions", type = "[]OffsetCommitResponsePartition", versions = "0+", fields = {
        { name = "PartitionIndex", type = "int32", versions = "0+" },
        { name = "ErrorCode", type = "int16", versions = "0+" },
      } },
    } },
  },
}
