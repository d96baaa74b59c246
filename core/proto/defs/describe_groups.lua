-- DescribeGroups: facts from Kafka's DescribeGroupsRequest.json and DescribeGroupsResponse.json,
-- clipped to versions 0-5 (5 is the first flexible one; 6 adds an error message). v3 adds
-- authorized operations, v4 the members' group.instance.id. Member metadata and assignments
-- are filled in only while the group is Stable.
return {
  key = 15,
  name = "DescribeGroups",
  valid = { 0, 5 },
  flexible = 5,
  request = {
    { name = "Groups", type = "[]string", versions = "0+" },
    { name = "IncludeAuthorizedOperations", type = "bool", versions = "3+", default = "false", ignorable = true },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "1+", ignorable = true },
    { name = "Groups", type = "[]DescribedGroup", versions = "0+", fields = {
      { name = "ErrorCode", type = "int16", versions = "0+" },
      { name = "GroupId", type = "string", versions = "0+" },
      { name = "GroupState", type = "string", versions = "0+" },
      { name = "ProtocolType", type = "string", versions = "0+" },
      { name = "ProtocolData", type = "string", versions = "0+" },
      { name = "Members", type = "[]DescribedGroupMember", versions = "0+", fields = {
        { name = "MemberId", type = "string", versions = "0+" },
        { name = "GroupInstanceId", type = "string", versions = "4+", nullable = "4+", default = "null", ignorable = true },
        { name = "ClientId", type = "string", versions = "0+" },
        { name = "ClientHost", type = "string", versions = "0+" },
        { name = "MemberMetadata", type = "bytes", versions = "0+" },
        { name = "MemberAssignment", type = "bytes", versions = "0+" },
      } },
      { name = "AuthorizedOperations", type = "int32", versions = "3+", default = "-2147483648" },
    } },
  },
}
