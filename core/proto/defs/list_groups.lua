-- ListGroups: facts from Kafka's ListGroupsRequest.json and ListGroupsResponse.json, clipped to
-- versions 0-4 (3 is the first flexible one; 5 adds group types). v4 filters by state (an empty
-- filter lists every group) and answers each group's state.
return {
  key = 16,
  name = "ListGroups",
  valid = { 0, 4 },
  flexible = 3,
  request = {
    { name = "StatesFilter", type = "[]string", versions = "4+" },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "1+", ignorable = true },
    { name = "ErrorCode", type = "int16", versions = "0+" },
    { name = "Groups", type = "[]ListedGroup", versions = "0+", fields = {
      { name = "GroupId", type = "string", versions = "0+" },
      { name = "ProtocolType", type = "string", versions = "0+" },
      { name = "GroupState", type = "string", versions = "4+", ignorable = true },
    } },
  },
}
