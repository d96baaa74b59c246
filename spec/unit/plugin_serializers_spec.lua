-- The shipped serializers (plugins/serializers/) through the hook API, without a broker.
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
