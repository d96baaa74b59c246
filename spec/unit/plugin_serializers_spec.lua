-- The shipped serializers (plugins/serializers/) through the hook API, without a broker.
local process = require "process"
local client = require "client"
local moonlog = client.moonlog

describe("serializer bytes", function()
  it("passes bytes and nil through unchanged", function()
    local s = assert(moonlog.plugin("serializer", "bytes"))
    assert.are.equal("a\0b\255", s:serialize("t", "a\0b\255"))
    assert.is_nil((s:serialize("t", nil)))
  end)
end)

describe("serializer string", function()
  it("accepts UTF-8 text and refuses other bytes, naming the plugin and the line", function()
    local s = assert(moonlog.plugin("serializer", "string"))
    assert.are.equal("héllo ✓", s:serialize("t", "héllo ✓"))
    local v, err = s:serialize("t", "bad \255 byte")
    assert.is_nil(v)
    assert.are.equal("SERIALIZATION", err.name)
    assert.truthy(err.message:find("serializer string", 1, true), err.message)
    assert.truthy(err.message:find("string.lua:%d+: string serializer: value is not valid UTF%-8"), err.message)
  end)
end)

describe("serializer string and moonlog.utf8_valid (RFC 3629)", function()
  it("accepts every well-formed sequence and refuses overlong forms, surrogates, beyond U+10FFFF, cut ones", function()
    local s = assert(moonlog.plugin("serializer", "string"))
    local good = { "", "plain", "\127", "\194\128", "\223\191", "\224\160\128", "\237\159\191", "\238\128\128",
      "\239\191\191", "\240\144\128\128", "\244\143\191\191", "a\226\156\147b" }
    local bad = { "\128", "\191", "\192\175", "\193\191", "\224\159\191", "\237\160\128", "\237\191\191",
      "\240\143\191\191", "\244\144\128\128", "\245\128\128\128", "\255", "\226\156", "a\240\144\128",
      "\226\40\147" }
    for _, v in ipairs(good) do
      assert.are.equal(v, s:serialize("t", v), v)
      assert.are.equal(v, s:deserialize("t", v), v)
    end
    for _, v in ipairs(bad) do
      assert.is_nil((s:serialize("t", v)), v)
      local r, err = s:deserialize("t", v)
      assert.is_nil(r, v)
      assert.are.equal("DESERIALIZATION", err.name)
    end
  end)
end)

describe("serializer integer", function()
  it("writes 4 big-endian bytes like Kafka's IntegerSerializer", function()
    local s = assert(moonlog.plugin("serializer", "integer"))
    assert.are.equal("\0\0\0\42", s:serialize("t", "42"))
    assert.are.equal("\255\255\255\255", s:serialize("t", "-1"))
    assert.are.equal("\127\255\255\255", s:serialize("t", "2147483647"))
    assert.are.equal("\128\0\0\0", s:serialize("t", "-2147483648"))
    assert.are.equal("\0\1\0\0", s:serialize("t", 65536))
  end)

  it("fails on text that is not a 32-bit integer", function()
    local s = assert(moonlog.plugin("serializer", "integer"))
    for _, bad in ipairs({ "x", "1.5", "2147483648", "", "12abc" }) do
      local v, err = s:serialize("t", bad)
      assert.is_nil(v, bad)
      assert.are.equal("SERIALIZATION", err.name)
    end
  end)
end)

describe("serializer json", function()
  it("checks JSON text and sends it without the surrounding blanks", function()
    local s = assert(moonlog.plugin("serializer", "json"))
    assert.are.equal('{"a": [1, 2.5e3, {"b": null}], "c": "\\u00e9\\n"}',
      s:serialize("t", '  {"a": [1, 2.5e3, {"b": null}], "c": "\\u00e9\\n"}\n'))
    assert.are.equal("42", s:serialize("t", "42"))
    assert.are.equal("[]", s:serialize("t", "[]"))
  end)

  it("refuses what is not one JSON document", function()
    local s = assert(moonlog.plugin("serializer", "json"))
    for _, bad in ipairs({ "{", "{'a': 1}", "[1,]", "tru", "{} {}", '"unterminated', "{1: 2}" }) do
      local v, err = s:serialize("t", bad)
      assert.is_nil(v, bad)
      assert.truthy(err.message:find("json serializer: not JSON", 1, true), err.message)
    end
  end)
end)

-- deserialize, as the consumer calls it in poll (key.deserializer / value.deserializer)
describe("deserializers", function()
  it("bytes and string give the bytes back; string refuses what is not UTF-8, naming its line", function()
    local b = assert(moonlog.plugin("serializer", "bytes"))
    assert.are.equal("a\0b\255", b:deserialize("t", "a\0b\255"))
    assert.is_nil((b:deserialize("t", nil)))
    local s = assert(moonlog.plugin("serializer", "string"))
    assert.are.equal("héllo ✓", s:deserialize("t", "héllo ✓"))
    assert.are.equal("", s:deserialize("t", ""))
    assert.is_nil((s:deserialize("t", nil)))
    local v, err = s:deserialize("t", "bad \192\128 overlong")
    assert.is_nil(v)
    assert.are.equal("DESERIALIZATION", err.name)
    assert.truthy(err.message:find("serializer string: deserialize failed: .*string.lua:%d+: string deserializer: "
      .. "value is not valid UTF%-8"), err.message)
  end)

  it("integer reads 4 big-endian bytes into a number, as Kafka's IntegerDeserializer", function()
    local s = assert(moonlog.plugin("serializer", "integer"))
    assert.are.equal(42, s:deserialize("t", "\0\0\0\42"))
    assert.are.equal(-1, s:deserialize("t", "\255\255\255\255"))
    assert.are.equal(2147483647, s:deserialize("t", "\127\255\255\255"))
    assert.are.equal(-2147483648, s:deserialize("t", "\128\0\0\0"))
    assert.are.equal(65536, s:deserialize("t", "\0\1\0\0"))
    assert.is_nil((s:deserialize("t", nil)))
    for _, n in ipairs({ 0, 1, -7, 123456789, -2147483648 }) do
      assert.are.equal(n, s:deserialize("t", s:serialize("t", n)))
    end
    for _, bad in ipairs({ "", "\0\0\0", "\0\0\0\0\0" }) do
      local v, err = s:deserialize("t", bad)
      assert.is_nil(v, #bad)
      assert.are.equal("DESERIALIZATION", err.name)
      assert.truthy(err.message:find("integer.lua:%d+: integer deserializer: " .. #bad .. " bytes, not 4"), err.message)
    end
  end)

  it("json checks the document and gives it as text", function()
    local s = assert(moonlog.plugin("serializer", "json"))
    assert.are.equal('{"a": [1, {"b": null}]}', s:deserialize("t", ' {"a": [1, {"b": null}]}\n'))
    assert.are.equal("true", s:deserialize("t", "true"))
    assert.is_nil((s:deserialize("t", nil)))
    for _, bad in ipairs({ "{", "[1,]", "{} {}", "" }) do
      local v, err = s:deserialize("t", bad)
      assert.is_nil(v, bad)
      assert.truthy(err.message:find("json deserializer: not JSON", 1, true), err.message)
    end
  end)

  it("refuses a result that cannot leave the plugin's state, and keeps numbers and booleans typed", function()
    local dir = process.tmpdir("deser")
    local path = dir .. "/typed.lua"
    client.write_plugin(path, [[
return {
  api = 1,
  kind = "serializer",
  serialize = function(topic, value) return value end,
  deserialize = function(topic, bytes)
    if bytes == "table" then return { 1 } end
    if bytes == "yes" then return true end
    if bytes == "pi" then return 3.141592653589793 end
    if bytes == "big" then return 2^53 - 1 end
    return bytes
  end,
}
]])
    local s = assert(moonlog.plugin("serializer", path))
    local v, err = s:deserialize("t", "table")
    process.rmdir(dir)
    assert.is_nil(v)
    assert.are.equal("DESERIALIZATION", err.name)
    assert.truthy(err.message:find("deserialize returned a table, not a string, number, boolean or nil", 1, true),
      err.message)
    assert.is_true(s:deserialize("t", "yes"))
    assert.are.equal(3.141592653589793, s:deserialize("t", "pi"))
    assert.are.equal(2^53 - 1, s:deserialize("t", "big"))
    assert.are.equal("other", s:deserialize("t", "other"))
  end)
end)
