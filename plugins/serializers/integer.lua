-- integer: a 32-bit signed integer as 4 big-endian bytes (Kafka's IntegerSerializer). The value
-- is a number or its decimal text ("42", "-7"); anything else, or a value outside
-- -2147483648..2147483647, fails the record.
local char, byte, band, rshift = string.char, string.byte, bit.band, bit.rshift

return {
  api = 1,
  kind = "serializer",
  serialize = function(topic, value, headers)
    if value == nil then return nil end
    local n = value
    if type(value) == "string" then
      if not value:match("^%s*[-+]?%d+%s*$") then
        error("integer serializer: '" .. value:sub(1, 40) .. "' is not an integer")
      end
      n = tonumber(value)
    end
    if type(n) ~= "number" or n ~= math.floor(n) or n < -2147483648 or n > 2147483647 then
      error("integer serializer: " .. tostring(value) .. " is not a 32-bit integer")
    end
    if n < 0 then n = n + 4294967296 end
    local hi = math.floor(n / 65536)
    local lo = n % 65536
    return char(rshift(hi, 8), band(hi, 255), rshift(lo, 8), band(lo, 255))
  end,
  deserialize = function(topic, bytes, headers)
    if bytes == nil then return nil end
    if #bytes ~= 4 then error("integer deserializer: " .. #bytes .. " bytes, not 4") end
    local a, b, c, d = byte(bytes, 1, 4)
    local n = ((a * 256 + b) * 256 + c) * 256 + d
    if n >= 2147483648 then n = n - 4294967296 end
    return n
  end,
}
