-- random: a uniformly random partition for every record (librdkafka's "random").
return {
  api = 1,
  kind = "partitioner",
  partition = function(record, cluster)
    return math.random(0, record.partitions - 1)
  end,
}
