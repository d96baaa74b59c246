-- LeaveGroup: facts from Kafka's LeaveGroupRequest.json and LeaveGroupResponse.json, versions
-- 0-4 (4 is the first flexible one). Up to v2 one member leaves; from v3 a batch of member
-- identities (member id and/or group.instance.id), each answered with its own error.
return {
  key = 13,
  name = "LeaveGroup",
  valid = { 0, 4 },
  flexible = 4,
  request = {
    { name = "GroupId", type = "string", versions = "0+" },
    { name = "MemberId", type = "string", versions = "0-2" },
    { name = "Members", type = "[]MemberIdentity", versions = "3+", fields = {
      { name = "MemberId", type = "string", versions = "3+" },
      { name = "GroupInstanceId", type = "string", versions = "3+", nullable = "3+", default = "null" },
    } },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "1+", ignorable = true },
    { name = "ErrorCode", type = "int16", versions = "0+" },
    { name = "Members", type = "[]MemberResponse", versions = "3+", fields = {
      { name = "MemberId", type = "string", versions = "3+" },
      { name = "GroupInstanceId", type = "string", versions = "3+", nullable = "3+" },
      { name = "ErrorCode", type = "int16", versions = "3+" },
    } },
  },
}
