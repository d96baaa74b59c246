-- The moonlog Lua module declares libmoonlog's public API by hand (ffi.cdef in
-- core/lua/moonlog.lua). This spec fails when those declarations drift from the C headers
-- (core/include/moonlog/*.h): every exported function must be declared, and every public
-- struct must have the same size and field offsets as the C compiler gives it.
local ffi = require "ffi"
local process = require "process"
local client = require "client"
local moonlog = client.moonlog

local headers = { "producer.h", "plugin.h", "consumer.h" }

local function read_headers()
  local text = {}
  for _, h in ipairs(headers) do
    text[#text + 1] = assert(process.read_file(client.root .. "/core/include/moonlog/" .. h))
  end
  -- drop comments
  return (table.concat(text, "\n"):gsub("/%*.-%*/", ""):gsub("//[^\n]*", ""))
end

describe("the Lua module's FFI declarations", function()
  local src = read_headers()

  it("declare every function of the public headers", function()
    local n = 0
    for name in src:gmatch("[%w_%*]+%s+%**(moonlog_[%w_]+)%s*%(") do
      n = n + 1
      local ok = pcall(function() return moonlog.C[name] end)
      assert.is_true(ok, name .. " is not declared in core/lua/moonlog.lua")
    end
    assert.is_true(n > 20, "found only " .. n .. " functions")
  end)

  it("lay out every public struct as the C compiler does", function()
    local structs = {}
    for name, body in src:gmatch("typedef struct (moonlog_[%w_]+) (%b{})") do
      local fields = {}
      for decl in body:sub(2, -2):gmatch("([^;]+);") do
        local f = decl:gsub("%b[]", ""):match("([%w_]+)%s*$")
        if f then fields[#fields + 1] = f end
      end
      structs[#structs + 1] = { name = name, fields = fields }
    end
    assert.is_true(#structs >= 6, "found only " .. #structs .. " structs")
    local dir = process.tmpdir("ffi-drift")
    local c = { "#include <stddef.h>", "#include <stdio.h>", '#include "moonlog/plugin.h"',
      '#include "moonlog/consumer.h"', "int main(void) {" }
    for _, s in ipairs(structs) do
      c[#c + 1] = ('printf("%s size %%zu\\n", sizeof(%s));'):format(s.name, s.name)
      for _, f in ipairs(s.fields) do
        c[#c + 1] = ('printf("%s.%s %%zu\\n", offsetof(%s, %s));'):format(s.name, f, s.name, f)
      end
    end
    c[#c + 1] = "return 0; }"
    process.write_file(dir .. "/layout.c", table.concat(c, "\n"))
    local ok, out = process.sh(("cc -std=c11 -I%s/core/include -o %s/layout %s/layout.c && %s/layout"):format(
      client.root, dir, dir, dir))
    process.rmdir(dir)
    assert(ok, out)
    for line in out:gmatch("[^\n]+") do
      local s, what, v = line:match("^(moonlog_[%w_]+)([%.%w_ ]+) (%d+)$")
      v = tonumber(v)
      if what == " size" then
        assert.are.equal(v, ffi.sizeof(s), "sizeof(" .. s .. ")")
      else
        local f = what:sub(2)
        assert.are.equal(v, ffi.offsetof(s, f), "offsetof(" .. s .. ", " .. f .. ")")
      end
    end
  end)
end)
