-- Request and response headers (core/proto/header.c): v1 against v2, v0 against v1, exact
-- bytes, tagged sections skipped, truncations and bad lengths refused.
local ffi = require "ffi"
local P = require "proto_ffi"
local lib = P.lib

local function request_header(key, version, corr, client)
  local h = ffi.new("ml_request_header")
  h.api_key, h.api_version, h.correlation_id = key, version, corr
  if client == nil then
    h.client_id.ptr, h.client_id.len = nil, -1
  else
    h.client_id.ptr, h.client_id.len = ffi.cast("const uint8_t *", client), #client
  end
  return h, client
end

local function encode_request(flexible, ...)
  local h, anchor = request_header(...)
  local s = P.written(function(w) lib.ml_request_header_encode(w, flexible, h) end)
  local _ = anchor
  return s
end

local function decode_request(flexible, bytes)
  local r, anchor = P.reader(bytes)
  local h = ffi.new("ml_request_header")
  local rc = lib.ml_request_header_decode(r, flexible, h)
  local client = h.client_id.len >= 0 and ffi.string(h.client_id.ptr, h.client_id.len) or nil
  local _ = anchor
  return rc, h, client, P.consumed(r)
end

local function decode_response(flexible, bytes)
  local r, anchor = P.reader(bytes)
  local corr = ffi.new("int32_t[1]")
  local rc = lib.ml_response_header_decode(r, flexible, corr)
  local _ = anchor
  return rc, corr[0], P.consumed(r)
end

describe("request header", function()
  it("v1 is key, version, correlation id and an int16-length client id", function()
    assert.equal("00 03 00 09 00 00 00 07 00 01 63", P.hex(encode_request(0, 3, 9, 7, "c")))
  end)

  it("v2 adds an empty tagged section and keeps the client id non-compact", function()
    assert.equal("00 03 00 09 00 00 00 07 00 01 63 00", P.hex(encode_request(1, 3, 9, 7, "c")))
  end)

  it("a null client id is -1 in both", function()
    assert.equal("00 12 00 03 7f ff ff ff ff ff", P.hex(encode_request(0, 18, 3, 0x7fffffff, nil)))
    assert.equal("00 12 00 03 7f ff ff ff ff ff 00", P.hex(encode_request(1, 18, 3, 0x7fffffff, nil)))
  end)

  it("decodes what it encodes, in both versions", function()
    for flexible = 0, 1 do
      local bytes = encode_request(flexible, 1, 12, -5, "consumer-1")
      local rc, h, client, used = decode_request(flexible, bytes)
      assert.equal(0, rc)
      assert.same({ 1, 12, -5, "consumer-1", #bytes }, { h.api_key, h.api_version, h.correlation_id, client, used })
    end
    local rc, _, client = decode_request(0, encode_request(0, 3, 0, 1, nil))
    assert.equal(0, rc)
    assert.is_nil(client)
  end)

  it("v2 skips tagged fields it does not know", function()
    local bytes = P.unhex("00 03 00 09 00 00 00 07 00 01 63 02 00 01 aa 05 03 01 02 03")
    local rc, h, client, used = decode_request(1, bytes)
    assert.equal(0, rc)
    assert.same({ 3, 9, 7, "c", #bytes }, { h.api_key, h.api_version, h.correlation_id, client, used })
    -- the same bytes read as v1 stop after the client id
    rc, _, _, used = decode_request(0, bytes)
    assert.equal(0, rc)
    assert.equal(11, used)
  end)

  it("refuses every truncation and bad lengths", function()
    for flexible = 0, 1 do
      local bytes = encode_request(flexible, 3, 9, 7, "client")
      for len = 0, #bytes - 1 do
        assert.equal(P.ECORRUPT, (decode_request(flexible, bytes:sub(1, len))), "prefix " .. len)
      end
    end
    assert.equal(P.ECORRUPT, (decode_request(0, P.unhex("00 03 00 09 00 00 00 07 ff fe"))))
    assert.equal(P.ECORRUPT, (decode_request(0, P.unhex("00 03 00 09 00 00 00 07 00 05 61 62"))))
    -- a tagged field whose size runs past the end
    assert.equal(P.ECORRUPT, (decode_request(1, P.unhex("00 03 00 09 00 00 00 07 00 01 63 01 00 05 aa"))))
  end)
end)

describe("response header", function()
  it("v0 is the correlation id, v1 adds an empty tagged section", function()
    assert.equal("00 00 00 07", P.hex(P.written(function(w) lib.ml_response_header_encode(w, 0, 7) end)))
    assert.equal("00 00 00 07 00", P.hex(P.written(function(w) lib.ml_response_header_encode(w, 1, 7) end)))
    assert.equal("ff ff ff fe", P.hex(P.written(function(w) lib.ml_response_header_encode(w, 0, -2) end)))
  end)

  it("decodes both, skipping unknown tagged fields in v1", function()
    assert.same({ 0, 7, 4 }, { decode_response(0, P.unhex("00 00 00 07")) })
    assert.same({ 0, 7, 5 }, { decode_response(1, P.unhex("00 00 00 07 00")) })
    assert.same({ 0, 7, 9 }, { decode_response(1, P.unhex("00 00 00 07 01 02 02 aa bb")) })
  end)

  it("refuses truncations", function()
    for len = 0, 3 do
      assert.equal(P.ECORRUPT, (decode_response(0, P.unhex("00 00 00 07"):sub(1, len))))
    end
    for len = 0, 4 do
      assert.equal(P.ECORRUPT, (decode_response(1, P.unhex("00 00 00 07 00"):sub(1, len))))
    end
    assert.equal(P.ECORRUPT, (decode_response(1, P.unhex("00 00 00 07 01 02 05 aa"))))
  end)

  it("an ApiVersions v3 response goes behind a v0 header: the client reads the error first", function()
    -- The documented trap (proto/header.h): flexible body, header v0.
    local m = ffi.new("ml_api_versions_response")
    lib.ml_api_versions_response_init(m)
    m.error_code = 35 -- UNSUPPORTED_VERSION
    local frame = P.written(function(w)
      lib.ml_response_header_encode(w, 0, 9)
      lib.ml_api_versions_response_encode(w, 3, m)
    end)
    assert.equal("00 00 00 09 00 23", P.hex(frame:sub(1, 6)))
  end)
end)
