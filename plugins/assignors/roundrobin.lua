-- roundrobin: what Java's RoundRobinAssignor and librdkafka's "roundrobin" compute. Every
-- partition of every subscribed topic, topics in name order and partitions in number order, goes
-- to the next member in turn (members in Java's order: static ones first by group.instance.id,
-- then the others by member id), skipping members not subscribed to its topic.
local function before(a, b)
  local ia, ib = a.group_instance_id, b.group_instance_id
  if ia and ib then return ia < ib end
  if ia or ib then return ia ~= nil end
  return a.member_id < b.member_id
end

return {
  api = 1,
  kind = "assignor",
  name = "roundrobin",
  assign = function(members, cluster)
    local order, result, topics, seen = {}, {}, {}, {}
    for i, m in ipairs(members) do
      order[i] = m
      result[m.member_id] = {}
      m.subscribed = {}
      for _, t in ipairs(m.topics) do
        m.subscribed[t] = true
        if not seen[t] then
          seen[t] = true
          topics[#topics + 1] = t
        end
      end
    end
    if #order == 0 then return result end
    table.sort(order, before)
    table.sort(topics)
    local next_member = 1
    for _, topic in ipairs(topics) do
      local n = cluster.partition_count(topic) or 0
      for p = 0, n - 1 do
        while not order[next_member].subscribed[topic] do next_member = next_member % #order + 1 end
        local mine = result[order[next_member].member_id]
        mine[topic] = mine[topic] or {}
        table.insert(mine[topic], p)
        next_member = next_member % #order + 1
      end
    end
    return result
  end,
}
