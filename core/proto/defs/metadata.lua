-- Metadata: facts from Kafka's MetadataRequest.json and MetadataResponse.json, clipped to
-- versions 0-9 (9 is the first flexible one). Later versions add topic ids (10+).
-- Request topics: in v0 an empty array means "all topics"; from v1 null means "all topics"
-- and empty means "none".
return {
  key = 3,
  name = "Metadata",
  valid = { 0, 9 },
  flexible = 9,
  request = {
    { name = "Topics", type = "[]MetadataRequestTopic", versions = "0+", nullable = "1+", fields = {
      { name = "Name", type = "string", versions = "0+" },
    } },
    { name = "AllowAutoTopicCreation", type = "bool", versions = "4+", default = "true", ignorable = false },
    { name = "IncludeClusterAuthorizedOperations", type = "bool", versions = "8-10" },
    { name = "IncludeTopicAuthorizedOperations", type = "bool", versions = "8+" },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "3+", ignorable = true },
    { name = "Brokers", type = "[]MetadataResponseBroker", versions = "0+", fields = {
      { name = "NodeId", type = "int32", versions = "0+", map_key = true },
      { name = "Host", type = "string", versions = "0+" },
      { name = "Port", type = "int32", versions = "0+" },
      { name = "Rack", type = "string", versions = "1+", nullable = "1+", default = "null", ignorable = true },
    } },
    { name = "ClusterId", type = "string", versions = "2+", nullable = "2+", default = "null", ignorable = true },
    { name = "ControllerId", type = "int32", versions = "1+", default = "-1", ignorable = true },
    { name = "Topics", type = "[]MetadataResponseTopic", versions = "0+", fields = {
      { name = "ErrorCode", type = "int16", versions = "0+" },
      { name = "Name", type = "string", versions = "0+", map_key = true },
      { name = "IsInternal", type = "bool", versions = "1+", default = "false", ignorable = true },
      { name = "Partitions", type = "[]MetadataResponsePartition", versions = "0+", fields = {
        { name = "ErrorCode", type = "int16", versions = "0+" },
        { name = "PartitionIndex", type = "int32", versions = "0+" },
        { name = "LeaderId", type = "int32", versions = "0+" },
        { name = "LeaderEpoch", type = "int32", versions = "7+", default = "-1", ignorable = true },
        { name = "ReplicaNodes", type = "[]int32", versions = "0+" },
        { name = "IsrNodes", type = "[]int32", versions = "0+" },
        { name = "OfflineReplicas", type = "[]int32", versions = "5+", ignorable = true },
      } },
      { name = "TopicAuthorizedOperations", type = "int32", versions = "8+", default = "-2147483648", ignorable = true },
    } },
    { name = "ClusterAuthorizedOperations", type = "int32", versions = "8-10", default = "-2147483648", ignorable = true },
  },
}
