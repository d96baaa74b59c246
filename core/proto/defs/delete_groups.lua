-- DeleteGroups: facts from Kafka's DeleteGroupsRequest.json and DeleteGroupsResponse.json,
-- clipped to versions 0-2 (2 is the first flexible one; 3 adds an error message). Only an empty
-- group can be deleted (NON_EMPTY_GROUP otherwise); its offsets go with it.
return {
  key = 42,
  name = "DeleteGroups",
  valid = { 0, 2 },
  flexible = 2,
  request = {
    { name = "GroupsNames", type = "[]string", versions = "0+" },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "0+" },
    { name = "Results", type = "[]DeletableGroupResult", versions = "0+", fields = {
      { name = "GroupId", type = "string", versions = "0+", map_key = true },
      { name = "ErrorCode", type = "int16", versions = "0+" },
    } },
  },
}
