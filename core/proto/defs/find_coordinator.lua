-- FindCoordinator: facts from Kafka's FindCoordinatorRequest.json and FindCoordinatorResponse.json,
-- clipped to versions 0-3 (3 is the first flexible one). Version 4 batches keys (KIP-699).
-- KeyType: 0 = group, 1 = transaction.
return {
  key = 10,
  name = "FindCoordinator",
  valid = { 0, 3 },
  flexible = 3,
  request = {
    { name = "Key", type = "string", versions = "0-3" },
    { name = "KeyType", type = "int8", versions = "1+", default = "0", ignorable = false },
  },
  response = {
    { name = "ThrottleTimeMs", type = "int32", versions = "1+", ignorable = true },
    { name = "ErrorCode", type = "int16", versions = "0-3" },
    { name = "ErrorMessage", type = "string", versions = "1-3", nullable = "1-3", ignorable = true },
    { name = "NodeId", type = "int32", versions = "0-3" },
    { name = "Host", type = "string", versions = "0-3" },
    { name = "Port", type = "int32", versions = "0-3" },
  },
}
