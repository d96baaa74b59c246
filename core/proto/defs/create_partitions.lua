-- CreatePartitions: facts from Kafka's CreatePartitionsRequest.json and
-- CreatePartitionsResponse.json, clipped to versions 0-2 (2 is the first flexible one).
return {
  key = 37,
  name = "CreatePartitions",
  valid = { 0, 2 },
  flexible = 2,
  request = {
    { name = "Topics", type = "[]CreatePartitionsTopic", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+", map_key = true },
      { name = "Count", type = "int32", versions = "0+" },
      { name = "Assignments", type = "[]CreatePartitionsAssignment", versions = "0+", nullable = "0+", fields = {
        { name = "BrokerIds", type = "[]int32", versions = "0+" },
      } },
    } },
    { name = "TimeoutMs", type = "int32", versions = "0+" },
    { name = "ValidateOnly", type = "bool", versions = "0+" },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "0+" },
    { name = "Results", type = "[]CreatePartitionsTopicResult", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+" },
      { name = "ErrorCode", type = "int16", versions = "0+" },
      { name = "ErrorMessage", type = "string", versions = "0+", nullable = "0+", default = "null" },
    } },
  },
}
