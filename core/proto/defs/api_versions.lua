-- ApiVersions: facts from Kafka's ApiVersionsRequest.json and ApiVersionsResponse.json
-- (apache/kafka clients/src/main/resources/common/message), clipped to versions 0-3.
-- Versions 0-2 of the request have no fields; 3 is the first flexible version.
-- The response header is v0 for every version, flexible ones included (see proto/header.h).
return {
  key = 18,
  name = "ApiVersions",
  valid = { 0, 3 },
  flexible = 3,
  request = {
    { name = "ClientSoftwareName", type = "string", versions = "3+", ignorable = true },
    { name = "ClientSoftwareVersion", type = "string", versions = "3+", ignorable = true },
  },
  response = {
    { name = "ErrorCode", type = "int16", versions = "0+" },
    { name = "ApiKeys", type = "[]ApiVersion", versions = "0+", fields = {
      { name = "ApiKey", type = "int16", versions = "0+", map_key = true },
      { name = "MinVersion", type = "int16", versions = "0+" },
      { name = "MaxVersion", type = "int16", versions = "0+" },
    } },
    { name = "ThrottleTimeMs", type = "int32", versions = "1+", ignorable = true },
    { name = "SupportedFeatures", type = "[]SupportedFeatureKey", versions = "3+",
      tag = 0, tagged = "3+", ignorable = true, fields = {
      { name = "Name", type = "string", versions = "3+", map_key = true },
      { name = "MinVersion", type = "int16", versions = "3+" },
      { name = "MaxVersion", type = "int16", versions = "3+" },
    } },
    { name = "FinalizedFeaturesEpoch", type = "int64", versions = "3+",
      tag = 1, tagged = "3+", default = "-1", ignorable = true },
    { name = "FinalizedFeatures", type = "[]FinalizedFeatureKey", versions = "3+",
      tag = 2, tagged = "3+", ignorable = true, fields = {
      { name = "Name", type = "string", versions = "3+", map_key = true },
      { name = "MaxVersionLevel", type = "int16", versions = "3+" },
      { name = "MinVersionLevel", type = "int16", versions = "3+" },
    } },
    { name = "ZkMigrationReady", type = "bool", versions = "3+",
      tag = 3, tagged = "3+", default = "false", ignorable = true },
  },
}
