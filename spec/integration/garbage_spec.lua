-- Bad input never takes the broker down: random and truncated frames on several connections,
-- oversized frames and unknown APIs close only the offending connection, with a log line.
local process = require "process"
local brokers = require "broker"
local wire = require "wire"

describe("garbage on the wire", function()
  local b
  setup(function() b = brokers.start {} end)
  teardown(function() if b then b:stop() end end)

  local function api_versions_ok()
    local c = assert(wire.connect("127.0.0.1", b.port))
    local r = wire.reader(c:request(18, 0, ""))
    c:close()
    return r:i16() == 0
  end

  it("closes a connection whose frame exceeds socket.request.max.bytes and logs why", function()
    local c = assert(wire.connect("127.0.0.1", b.port))
    c:send_raw(wire.i32(200 * 1024 * 1024))
    assert.is_true(c:closed_by_peer(5000))
    c:close()
    assert.truthy(b:log_text():find("socket.request.max.bytes", 1, true))
    assert.is_true(api_versions_ok())
  end)

  it("closes a connection that sends an unknown API key", function()
    local c = assert(wire.connect("127.0.0.1", b.port))
    c:send_request(9999, 0, "")
    assert.is_true(c:closed_by_peer(5000))
    c:close()
    assert.truthy(b:log_text():find("unknown API key 9999", 1, true))
  end)

  it("answers an unsupported ApiVersions version with UNSUPPORTED_VERSION and the supported list", function()
    local c = assert(wire.connect("127.0.0.1", b.port))
    local r = wire.reader(c:request(18, 99, ""))
    c:close()
    assert.are.equal(35, r:i16())
    local apis = r:array(function(x) return { x:i16(), x:i16(), x:i16() } end)
    local found
    for _, a in ipairs(apis) do if a[1] == 18 then found = a end end
    assert.are.same({ 18, 0, 3 }, found)
  end)

  it("survives 10,000 random and truncated frames over several connections", function()
    math.randomseed(42)
    local valid = {
      wire.i16(18) .. wire.i16(3) .. wire.i32(1) .. wire.str("x") .. "\0" .. "\3ab\3cd\0",
      wire.i16(3) .. wire.i16(4) .. wire.i32(1) .. wire.str("x") .. wire.array({ "t" }, wire.str) .. "\1",
      wire.i16(0) .. wire.i16(3) .. wire.i32(1) .. wire.str("x") .. wire.str(nil) .. wire.i16(1) .. wire.i32(100)
        .. wire.array({ "t" }, function(t) return wire.str(t) .. wire.array({ 0 }, function(p)
          return wire.i32(p) .. wire.bytes(wire.record_batch({ { key = "k", value = "v" } }))
        end) end),
      wire.i16(1) .. wire.i16(11) .. wire.i32(1) .. wire.str("x") .. string.rep("\0", 40),
    }
    local sent = 0
    for conn_no = 1, 20 do
      local c = assert(wire.connect("127.0.0.1", b.port))
      for _ = 1, 500 do
        local frame
        local kind = math.random(3)
        if kind == 1 then
          local t = {}
          for k = 1, math.random(0, 300) do t[k] = string.char(math.random(0, 255)) end
          frame = table.concat(t)
        elseif kind == 2 then
          local v = valid[math.random(#valid)]
          frame = v:sub(1, math.random(0, #v - 1))
        else
          local v = valid[math.random(#valid)]
          local pos = math.random(1, #v)
          frame = v:sub(1, pos - 1) .. string.char(math.random(0, 255)) .. v:sub(pos + 1)
        end
        sent = sent + 1
        if not c:send_raw(wire.i32(#frame) .. frame) then
          c:close()
          c = assert(wire.connect("127.0.0.1", b.port))
        end
      end
      c:close()
    end
    assert.are.equal(10000, sent)
    assert.is_nil(b.proc:poll(), "the broker is still running")
    assert.is_true(api_versions_ok())
    -- And a real client still works.
    local ok, out = process.sh("printf 'a:b\\n' | kcat -P -b " .. b.bootstrap .. " -t after-garbage -K: && kcat -C -b "
      .. b.bootstrap .. " -t after-garbage -o beginning -e -q -f '%k=%s\\n'")
    assert.is_true(ok, out)
    assert.are.equal("a=b\n", out)
  end)
end)
