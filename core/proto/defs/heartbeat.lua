-- Heartbeat: facts from Kafka's HeartbeatRequest.json and HeartbeatResponse.json, versions 0-4
-- (4 is the first flexible one; v3 adds group.instance.id).
return {
  key = 12,
  name = "Heartbeat",
  valid = { 0, 4 },
  flexible = 4,
  request = {
    { name = "GroupId", type = "string", versions = "0+" },
    { name = "GenerationId", type = "int32", versions = "0+" },
    { name = "MemberId", type = "string", versions = "0+" },
    { name = "GroupInstanceId", type = "string", versions = "3+", nullable = "3+", default = "null" },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "1+", ignorable = true },
    { name = "ErrorCode", type = "int16", versions = "0+" },
  },
}
