-- Produce: facts from Kafka's ProduceRequest.json and ProduceResponse.json, clipped to
-- versions 3-9 (3 brings TransactionalId and RecordBatch v2; 9 is the first flexible one).
-- Later versions add CurrentLeader/NodeEndpoints (10+) and topic ids (13+).
-- A request with Acks = 0 gets no response at all.
return {
  key = 0,
  name = "Produce",
  valid = { 3, 9 },
  flexible = 9,
  request = {
    { name = "TransactionalId", type = "string", versions = "3+", nullable = "3+", default = "null" },
    { name = "Acks", type = "int16", versions = "0+" },
    { name = "TimeoutMs", type = "int32", versions = "0+" },
    { name = "TopicData", type = "[]TopicProduceData", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+", map_key = true },
      { name = "PartitionData", type = "[]PartitionProduceData", versions = "0+", fields = {
        { name = "Index", type = "int32", versions = "0+" },
        { name = "Records", type = "records", versions = "0+", nullable = "0+" },
      } },
    } },
  },
  response = {
    { name = "Responses", type = "[]TopicProduceResponse", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+", map_key = true },
      { name = "PartitionResponses", type = "[]PartitionProduceResponse", versions = "0+", fields = {
        { name = "Index", type = "int32", versions = "0+" },
        { name = "ErrorCode", type = "int16", versions = "0+" },
        { name = "BaseOffset", type = "int64", versions = "0+" },
        { name = "LogAppendTimeMs", type = "int64", versions = "2+", default = "-1", ignorable = true },
        { name = "LogStartOffset", type = "int64", versions = "5+", default = "-1", ignorable = true },
        { name = "RecordErrors", type = "[]BatchIndexAndErrorMessage", versions = "8+", ignorable = true, fields = {
          { name = "BatchIndex", type = "int32", versions = "8+" },
          { name = "BatchIndexErrorMessage", type = "string", versions = "8+", nullable = "8+", default = "null" },
        } },
        { name = "ErrorMessage", type = "string", versions = "8+", nullable = "8+", default = "null", ignorable = true },
      } },
    } },
    { name = "ThrottleTimeMs", type = "int32", versions = "1+", default = "0", ignorable = true },
  },
}
