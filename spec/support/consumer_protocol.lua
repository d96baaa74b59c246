-- The consumer protocol's encodings (ConsumerProtocolSubscription, ConsumerProtocolAssignment),
-- written for the specs from Kafka's JSON definitions, independently of the library's C codec:
-- specs build what a Java or librdkafka member would send and read what moonlog sends back.
local M = {}

local function i16(n) return string.char(bit.band(bit.rshift(n, 8), 255), bit.band(n, 255)) end
local function i32(n) return string.char(bit.band(bit.rshift(n, 24), 255), bit.band(bit.rshift(n, 16), 255),
  bit.band(bit.rshift(n, 8), 255), bit.band(n, 255)) end
local function str(s) return i16(#s) .. s end
local function bytes(s) if s == nil then return i32(-1) end return i32(#s) .. s end

local function topic_partitions(tp)
  local names = {}
  for t in pairs(tp or {}) do names[#names + 1] = t end
  table.sort(names)
  local out = { i32(#names) }
  for _, t in ipairs(names) do
    out[#out + 1] = str(t) .. i32(#tp[t])
    for _, p in ipairs(tp[t]) do out[#out + 1] = i32(p) end
  end
  return table.concat(out)
end

-- { topics = {...}, user_data = bytes|nil, owned = {topic -> {p}}, generation = n, version = 0..2 }
function M.subscription(s)
  local v = s.version or 1
  local out = { i16(v), i32(#s.topics) }
  for _, t in ipairs(s.topics) do out[#out + 1] = str(t) end
  out[#out + 1] = bytes(s.user_data)
  if v >= 1 then out[#out + 1] = topic_partitions(s.owned) end
  if v >= 2 then out[#out + 1] = i32(s.generation or -1) end
  return table.concat(out)
end

function M.assignment(tp, user_data) return i16(0) .. topic_partitions(tp) .. bytes(user_data) end

local Reader = {}
Reader.__index = Reader
local function reader(s) return setmetatable({ s = s, pos = 1 }, Reader) end
function Reader:i16()
  local a, b = self.s:byte(self.pos, self.pos + 1)
  assert(b, "short read at " .. self.pos)
  self.pos = self.pos + 2
  local v = a * 256 + b
  return v >= 32768 and v - 65536 or v
end
function Reader:i32()
  local a, b, c, d = self.s:byte(self.pos, self.pos + 3)
  assert(d, "short read at " .. self.pos)
  self.pos = self.pos + 4
  return bit.tobit(((a * 256 + b) * 256 + c) * 256 + d)
end
function Reader:str()
  local n = self:i16()
  local s = self.s:sub(self.pos, self.pos + n - 1)
  self.pos = self.pos + n
  return s
end
function Reader:bytes()
  local n = self:i32()
  if n < 0 then return nil end
  local s = self.s:sub(self.pos, self.pos + n - 1)
  self.pos = self.pos + n
  return s
end
function Reader:left() return #self.s - self.pos + 1 end
function Reader:topic_partitions()
  local out = {}
  for _ = 1, self:i32() do
    local t = self:str()
    out[t] = {}
    for i = 1, self:i32() do out[t][i] = self:i32() end
  end
  return out
end

function M.decode_subscription(s)
  local r = reader(s)
  local out = { version = r:i16(), topics = {} }
  for i = 1, r:i32() do out.topics[i] = r:str() end
  out.user_data = r:bytes()
  if out.version >= 1 then out.owned = r:topic_partitions() end
  assert(r:left() == 0 or out.version >= 2, "trailing bytes")
  return out
end

-- {topic -> {p}}, user_data
function M.decode_assignment(s)
  if #s == 0 then return {}, nil end
  local r = reader(s)
  r:i16()
  local tp = r:topic_partitions()
  local ud = r:bytes()
  assert(r:left() == 0, "trailing bytes")
  return tp, ud
end

return M
