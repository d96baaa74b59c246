-- SyncGroup: facts from Kafka's SyncGroupRequest.json and SyncGroupResponse.json, versions 0-5
-- (4 is the first flexible one). v3 adds group.instance.id; v5 carries the protocol type and
-- name both ways (KIP-559), checked against the group's.
return {
  key = 14,
  name = "SyncGroup",
  valid = { 0, 5 },
  flexible = 4,
  request = {
    { name = "GroupId", type = "string", versions = "0+" },
    { name = "GenerationId", type = "int32", versions = "0+" },
    { name = "MemberId", type = "string", versions = "0+" },
    { name = "GroupInstanceId", type = "string", versions = "3+", nullable = "3+", default = "null" },
    { name = "ProtocolType", type = "string", versions = "5+", nullable = "5+", default = "null", ignorable = true },
    { name = "ProtocolName", type = "string", versions = "5+", nullable = "5+", default = "null", ignorable = true },
    { name = "Assignments", type = "[]SyncGroupRequestAssignment", versions = "0+", fields = {
      { name = "MemberId", type = "string", versions = "0+" },
      { name = "Assignment", type = "bytes", versions = "0+" },
    } },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "1+", ignorable = true },
    { name = "ErrorCode", type = "int16", versions = "0+" },
    { name = "ProtocolType", type = "string", versions = "5+", nullable = "5+", default = "null", ignorable = true },
    { name = "ProtocolName", type = "string", versions = "5+", nullable = "5+", default = "null", ignorable = true },
    { name = "Assignment", type = "bytes", versions = "0+" },
  },
}
