-- DeleteTopics: facts from Kafka's DeleteTopicsRequest.json and DeleteTopicsResponse.json,
-- clipped to versions 0-4 (4 is the first flexible one). Later versions add ErrorMessage
-- (5+) and replace TopicNames by Topics with ids (6+).
return {
  key = 20,
  name = "DeleteTopics",
  valid = { 0, 4 },
  flexible = 4,
  request = {
    { name = "TopicNames", type = "[]string", versions = "0-5", ignorable = true },
    { name = "TimeoutMs", type = "int32", versions = "0+" },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "1+", ignorable = true },
    { name = "Responses", type = "[]DeletableTopicResult", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+", map_key = true },
      { name = "ErrorCode", type = "int16", versions = "0+" },
    } },
  },
}
