-- JoinGroup: facts from Kafka's JoinGroupRequest.json and JoinGroupResponse.json, clipped to
-- versions 0-7 (6 is the first flexible one). Later versions add Reason (8+) and
-- SkipAssignment (9+). From v4 a member without an id is answered MEMBER_ID_REQUIRED with one;
-- v5 adds group.instance.id (static membership); v7 sends back the protocol type.
-- RebalanceTimeoutMs is absent in v0: the session timeout stands in for it.
return {
  key = 11,
  name = "JoinGroup",
  valid = { 0, 7 },
  flexible = 6,
  request = {
    { name = "GroupId", type = "string", versions = "0+" },
    { name = "SessionTimeoutMs", type = "int32", versions = "0+" },
    { name = "RebalanceTimeoutMs", type = "int32", versions = "1+", default = "-1", ignorable = true },
    { name = "MemberId", type = "string", versions = "0+" },
    { name = "GroupInstanceId", type = "string", versions = "5+", nullable = "5+", default = "null" },
    { name = "ProtocolType", type = "string", versions = "0+" },
    { name = "Protocols", type = "[]JoinGroupRequestProtocol", versions = "0+", fields = {
      { name = "Name", type = "string", versions = "0+", map_key = true },
      { name = "Metadata", type = "bytes", versions = "0+" },
    } },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "2+", ignorable = true },
    { name = "ErrorCode", type = "int16", versions = "0+" },
    { name = "GenerationId", type = "int32", versions = "0+", default = "-1" },
    { name = "ProtocolType", type = "string", versions = "7+", nullable = "7+", default = "null", ignorable = true },
    { name = "ProtocolName", type = "string", versions = "0+", nullable = "7+" },
    { name = "Leader", type = "string", versions = "0+" },
    { name = "MemberId", type = "string", versions = "0+" },
    { name = "Members", type = "[]JoinGroupResponseMember", versions = "0+", fields = {
      { name = "MemberId", type = "string", versions = "0+" },
      { name = "GroupInstanceId", type = "string", versions = "5+", nullable = "5+", default = "null", ignorable = true },
      { name = "Metadata", type = "bytes", versions = "0+" },
    } },
  },
}
