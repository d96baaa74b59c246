-- range: what Java's RangeAssignor and librdkafka's "range" compute. Per topic, the members
-- subscribed to it in order (static members first, by group.instance.id, then the others by
-- member id: Java's rule) each get a contiguous range of partitions: n / m each, and the first
-- n % m members one more. Topics are independent of each other, so with several topics the first
-- members get the extra partitions of every one of them.
local function before(a, b)
  local ia, ib = a.group_instance_id, b.group_instance_id
  if ia and ib then return ia < ib end
  if ia or ib then return ia ~= nil end
  return a.member_id < b.member_id
end

return {
  api = 1,
  kind = "assignor",
  name = "range",
  assign = function(members, cluster)
    local result, by_topic = {}, {}
    for _, m in ipairs(members) do
      result[m.member_id] = {}
      for _, t in ipairs(m.topics) do
        by_topic[t] = by_topic[t] or {}
        table.insert(by_topic[t], m)
      end
    end
    for topic, subs in pairs(by_topic) do
      local n = cluster.partition_count(topic)
      if n and n > 0 then
        table.sort(subs, before)
        local per, extra = math.floor(n / #subs), n % #subs
        for i, m in ipairs(subs) do
          local start = per * (i - 1) + math.min(i - 1, extra)
          local len = per + ((i <= extra) and 1 or 0)
          if len > 0 then
            local ps = {}
            for p = start, start + len - 1 do ps[#ps + 1] = p end
            result[m.member_id][topic] = ps
          end
        end
      end
    end
    return result
  end,
}
