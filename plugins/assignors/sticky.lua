-- sticky: a balanced assignment that keeps every partition with its previous owner where it can
-- (eager, like Java's StickyAssignor: every member gives up its partitions before the rebalance
-- and gets back most of them).
--
-- A member's previous assignment travels in its subscription's user data, in the layout of Java's
-- StickyAssignor (STICKY_ASSIGNOR_USER_DATA_V1: [topic: string, partitions: [int32]] then the
-- generation: int32), so a moonlog leader reads a Java member's and a Java StickyAssignor leader
-- reads a moonlog member's; members without user data count their subscription's owned
-- partitions (ConsumerProtocolSubscription v1+) instead. When two members claim one partition,
-- the claim of the higher generation wins. The result is balanced (no member that could take a
-- partition has two fewer than its owner) but not computed by Java's algorithm: a moonlog and a
-- Java leader may pick different, equally valid, sticky assignments. librdkafka only has
-- cooperative-sticky, a different protocol.

local function be32(n)
  n = n % 4294967296
  return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

local function encode(assignment, generation)
  local topics = {}
  for t in pairs(assignment) do topics[#topics + 1] = t end
  table.sort(topics)
  local out = { be32(#topics) }
  for _, t in ipairs(topics) do
    out[#out + 1] = string.char(math.floor(#t / 256), #t % 256) .. t .. be32(#assignment[t])
    for _, p in ipairs(assignment[t]) do out[#out + 1] = be32(p) end
  end
  out[#out + 1] = be32(generation)
  return table.concat(out)
end

-- {topic -> {p}}, generation (nil for V0 data); nil when the bytes are not sticky user data.
local function decode(s)
  local pos = 1
  local function i32()
    if pos + 3 > #s then error("short") end
    local a, b, c, d = s:byte(pos, pos + 3)
    pos = pos + 4
    local v = ((a * 256 + b) * 256 + c) * 256 + d
    return v >= 2147483648 and v - 4294967296 or v
  end
  local ok, res = pcall(function()
    local out = {}
    for _ = 1, i32() do
      if pos + 1 > #s then error("short") end
      local hi, lo = s:byte(pos, pos + 1)
      local len = hi * 256 + lo
      local t = s:sub(pos + 2, pos + 1 + len)
      if #t ~= len then error("short") end
      pos = pos + 2 + len
      local ps = {}
      for i = 1, i32() do ps[i] = i32() end
      out[t] = ps
    end
    local gen = (pos + 3 <= #s) and i32() or nil
    return { out, gen }
  end)
  if ok then return res[1], res[2] end
  return nil
end

return {
  api = 1,
  kind = "assignor",
  name = "sticky",

  user_data = function(topics, assignment, generation)
    return encode(assignment, generation)
  end,

  assign = function(members, cluster)
    local result, count, order = {}, {}, {}
    local eligible = {} -- "topic\0p" -> members that may own it, in member order
    local all = {}      -- every partition: { topic =, p =, key = }
    local subscribed = {}
    for i, m in ipairs(members) do
      order[m.member_id] = i
      result[m.member_id] = {}
      count[m.member_id] = 0
      subscribed[m.member_id] = {}
      for _, t in ipairs(m.topics) do subscribed[m.member_id][t] = true end
    end
    local topics, seen = {}, {}
    for _, m in ipairs(members) do
      for _, t in ipairs(m.topics) do
        if not seen[t] then seen[t] = true; topics[#topics + 1] = t end
      end
    end
    table.sort(topics)
    for _, t in ipairs(topics) do
      for p = 0, (cluster.partition_count(t) or 0) - 1 do
        local key = t .. "\0" .. p
        all[#all + 1] = { topic = t, p = p, key = key }
        eligible[key] = {}
        for _, m in ipairs(members) do
          if subscribed[m.member_id][t] then table.insert(eligible[key], m.member_id) end
        end
      end
    end

    -- previous owners: the claim of the highest generation wins
    local owner, claim_gen = {}, {}
    for _, m in ipairs(members) do
      local prev, gen = nil, m.generation or -1
      if m.user_data then prev, gen = decode(m.user_data) end
      if prev and gen == nil then gen = -1 end
      if not prev or next(prev) == nil then prev = m.owned or {} end
      for t, ps in pairs(prev) do
        for _, p in ipairs(ps) do
          local key = t .. "\0" .. p
          if eligible[key] and subscribed[m.member_id][t] then
            local cur = owner[key]
            if cur == nil or gen > claim_gen[key] or (gen == claim_gen[key] and order[m.member_id] < order[cur]) then
              owner[key] = m.member_id
              claim_gen[key] = gen
            end
          end
        end
      end
    end
    for _, x in ipairs(all) do
      if owner[x.key] then count[owner[x.key]] = count[owner[x.key]] + 1 end
    end

    -- the rest: partitions with the fewest candidates first, each to its least loaded candidate
    local free = {}
    for _, x in ipairs(all) do if not owner[x.key] and #eligible[x.key] > 0 then free[#free + 1] = x end end
    table.sort(free, function(a, b)
      local na, nb = #eligible[a.key], #eligible[b.key]
      if na ~= nb then return na < nb end
      if a.topic ~= b.topic then return a.topic < b.topic end
      return a.p < b.p
    end)
    local function least(key, but)
      local best
      for _, id in ipairs(eligible[key]) do
        if id ~= but and (best == nil or count[id] < count[best]) then best = id end
      end
      return best
    end
    for _, x in ipairs(free) do
      local id = least(x.key)
      owner[x.key] = id
      count[id] = count[id] + 1
    end

    -- balance: move a partition only while its owner has two more than a member that may take it
    local moved = true
    while moved do
      moved = false
      for i = #all, 1, -1 do
        local x = all[i]
        local from = owner[x.key]
        if from then
          local to = least(x.key, from)
          if to and count[to] + 1 < count[from] then
            owner[x.key] = to
            count[from] = count[from] - 1
            count[to] = count[to] + 1
            moved = true
          end
        end
      end
    end

    for _, x in ipairs(all) do
      local id = owner[x.key]
      if id then
        result[id][x.topic] = result[id][x.topic] or {}
        table.insert(result[id][x.topic], x.p)
      end
    end
    return result
  end,
}
