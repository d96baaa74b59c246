-- CreateTopics: facts from Kafka's CreateTopicsRequest.json and CreateTopicsResponse.json,
-- clipped to versions 0-5 (5 is the first flexible one and returns topic configs).
-- Later versions add topic ids to the response (7+).
-- (Kafka spells the request's config type "CreateableTopicConfig"; kept as is.)
return {
  key = 19,
  name = "CreateTopics",
  valid = { 0, 5 },
  flexible = 5,
  request = {
    { name = "Topics", type = "[]CreatableTopic", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+", map_key = true },
      { name = "NumPartitions", type = "int32", versions = "0+" },
      { name = "ReplicationFactor", type = "int16", versions = "0+" },
      { name = "Assignments", type = "[]CreatableReplicaAssignment", versions = "0+", fields = {
        { name = "PartitionIndex", type = "int32", versions = "0+", map_key = true },
        { name = "BrokerIds", type = "[]int32", versions = "0+" },
      } },
      { name = "Configs", type = "[]CreateableTopicConfig", versions = "0+", fields = {
        { name = "Name", type = "string", versions = "0+", map_key = true },
        { name = "Value", type = "string", versions = "0+", nullable = "0+" },
      } },
    } },
    { name = "timeoutMs", type = "int32", versions = "0+", default = "60000" },
    { name = "validateOnly", type = "bool", versions = "1+", default = "false", ignorable = false },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "2+", ignorable = true },
    { name = "Topics", type = "[]CreatableTopicResult", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+", map_key = true },
      { name = "ErrorCode", type = "int16", versions = "0+" },
      { name = "ErrorMessage", type = "string", versions = "1+", nullable = "0+", ignorable = true },
      { name = "TopicConfigErrorCode", type = "int16", versions = "5+", tag = 0, tagged = "5+", ignorable = true },
      { name = "NumPartitions", type = "int32", versions = "5+", default = "-1", ignorable = true },
      { name = "ReplicationFactor", type = "int16", versions = "5+", default = "-1", ignorable = true },
      { name = "Configs", type = "[]CreatableTopicConfigs", versions = "5+", nullable = "5+", ignorable = true, fields = {
        { name = "Name", type = "string", versions = "5+" },
        { name = "Value", type = "string", versions = "5+", nullable = "5+" },
        { name = "ReadOnly", type = "bool", versions = "5+" },
        { name = "ConfigSource", type = "int8", versions = "5+", default = "-1", ignorable = true },
        { name = "IsSensitive", type = "bool", versions = "5+" },
      } },
    } },
  },
}
