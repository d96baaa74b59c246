-- string: UTF-8 text (Kafka's StringSerializer and StringDeserializer). Numbers and booleans are
-- written as text; bytes that are not valid UTF-8 fail the record, both ways (Java's
-- StringDeserializer would replace them with U+FFFD: here the consumer reports the record instead
-- of altering it, and the application can seek past it).
-- moonlog.utf8_valid is the host's C check (RFC 3629: no overlong forms, no surrogates): on 100
-- ASCII bytes it cost ~50 ns here, where a Lua pattern scan of them cost ~1.4 us.
local valid_utf8 = moonlog.utf8_valid

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
