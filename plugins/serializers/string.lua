-- string: UTF-8 text (Kafka's StringSerializer and StringDeserializer). Numbers and booleans are
-- written as text; bytes that are not valid UTF-8 fail the record, both ways (Java's
-- StringDeserializer would replace them with U+FFFD: here the consumer reports the record instead
-- of altering it, and the application can seek past it).
local byte, find = string.byte, string.find

local function valid_utf8(s)
  if not find(s, "[\128-\255]") then return true end
  local i, n = 1, #s
  while i <= n do
    local c = byte(s, i)
    local len
    if c < 0x80 then len = 1
    elseif c >= 0xc2 and c <= 0xdf then len = 2
    elseif c >= 0xe0 and c <= 0xef then len = 3
    elseif c >= 0xf0 and c <= 0xf4 then len = 4
    else return false end
    for j = i + 1, i + len - 1 do
      local cc = byte(s, j)
      if cc == nil or cc < 0x80 or cc > 0xbf then return false end
    end
    i = i + len
  end
  return true
end

return {
  api = 1,
  kind = "serializer",
  serialize = function(topic, value, headers)
    if value == nil then return nil end
    local t = type(value)
    if t == "number" or t == "boolean" then return tostring(value) end
    if t ~= "string" then error("string serializer: cannot serialize a " .. t) end
    if not valid_utf8(value) then error("string serializer: value is not valid UTF-8") end
    return value
  end,
  deserialize = function(topic, bytes, headers)
    if bytes ~= nil and not valid_utf8(bytes) then error("string deserializer: value is not valid UTF-8") end
    return bytes
  end,
}
