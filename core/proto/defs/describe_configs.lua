-- DescribeConfigs: facts from Kafka's DescribeConfigsRequest.json and
-- DescribeConfigsResponse.json, versions 0-4 (4 is the first flexible one).
-- v0 answers IsDefault; v1+ answers ConfigSource (-1 placeholder when absent) and synonyms.
return {
  key = 32,
  name = "DescribeConfigs",
  valid = { 0, 4 },
  flexible = 4,
  request = {
    { name = "Resources", type = "[]DescribeConfigsResource", versions = "0+", fields = {
      { name = "ResourceType", type = "int8", versions = "0+" },
      { name = "ResourceName", type = "string", versions = "0+" },
      { name = "ConfigurationKeys", type = "[]string", versions = "0+", nullable = "0+" },
    } },
    { name = "IncludeSynonyms", type = "bool", versions = "1+", default = "false", ignorable = false },
    { name = "IncludeDocumentation", type = "bool", versions = "3+", default = "false", ignorable = false },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "0+" },
    { name = "Results", type = "[]DescribeConfigsResult", versions = "0+", fields = {
      { name = "ErrorCode", type = "int16", versions = "0+" },
      { name = "ErrorMessage", type = "string", versions = "0+", nullable = "0+" },
      { name = "ResourceType", type = "int8", versions = "0+" },
      { name = "ResourceName", type = "string", versions = "0+" },
      { name = "Configs", type = "[]DescribeConfigsResourceResult", versions = "0+", fields = {
        { name = "Name", type = "string", versions = "0+" },
        { name = "Value", type = "string", versions = "0+", nullable = "0+" },
        { name = "ReadOnly", type = "bool", versions = "0+" },
        { name = "IsDefault", type = "bool", versions = "0" },
        { name = "ConfigSource", type = "int8", versions = "1+", default = "-1", ignorable = true },
        { name = "IsSensitive", type = "bool", versions = "0+" },
        { name = "Synonyms", type = "[]DescribeConfigsSynonym", versions = "1+", ignorable = true, fields = {
          { name = "Name", type = "string", versions = "1+" },
          { name = "Value", type = "string", versions = "1+", nullable = "0+" },
          { name = "Source", type = "int8", versions = "1+" },
        } },
        { name = "ConfigType", type = "int8", versions = "3+", default = "0", ignorable = true },
        { name = "Documentation", type = "string", versions = "3+", nullable = "0+", ignorable = true },
      } },
    } },
  },
}
