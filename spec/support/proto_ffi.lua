-- FFI access to the protocol codecs: the generated declarations of every API
-- (<build>/gen/proto/<api>_cdef.lua, written by core/proto/gen.lua next to the C it declares),
-- the request/response headers (core/proto/header.h), the definitions themselves
-- (core/proto/defs/<api>.lua) and small helpers for readers, writers and arenas.
local ffi = require "ffi"
local common = require "ffi_common"

local M = { common = common }

local function list_defs()
  local names = {}
  local p = assert(io.popen('ls -1 "' .. common.root .. '/core/proto/defs"'))
  for name in p:lines() do
    local api = name:match("^([%w_]+)%.lua$")
    if api then names[#names + 1] = api end
  end
  p:close()
  table.sort(names)
  return names
end

M.apis = list_defs()
M.defs = {}
for _, api in ipairs(M.apis) do
  M.defs[api] = dofile(common.root .. "/core/proto/defs/" .. api .. ".lua")
  local cdef = common.root .. "/" .. common.build .. "/gen/proto/" .. api .. "_cdef.lua"
  local f = io.open(cdef) or error(cdef .. " is missing: build first (make build/libmoonlog.so)")
  f:close()
  ffi.cdef(dofile(cdef))
end

ffi.cdef [[
typedef struct ml_request_header { int16_t api_key; int16_t api_version; int32_t correlation_id; ml_slice client_id; } ml_request_header;
int ml_request_header_decode(ml_reader *r, int flexible, ml_request_header *h);
void ml_request_header_encode(ml_writer *w, int flexible, const ml_request_header *h);
void ml_response_header_encode(ml_writer *w, int flexible, int32_t correlation_id);
int ml_response_header_decode(ml_reader *r, int flexible, int32_t *correlation_id);
struct ml_spec_arena_block { struct ml_spec_arena_block *next; size_t used; size_t cap; };
]]

-- The codecs are in both libraries; libmoonlogd.so is preferred (as every unit spec uses it),
-- libmoonlog.so (common + proto + client, no broker) serves while the broker does not build.
local function has_codecs(lib)
  return pcall(function() return lib.ml_metadata_request_decode end)
end
local override = os.getenv("MOONLOG_PROTO_LIB")
if override then
  M.lib = ffi.load(override)
elseif has_codecs(common.lib) then
  M.lib = common.lib
else
  M.lib = ffi.load(common.root .. "/" .. common.build .. "/libmoonlog.so")
end
assert(has_codecs(M.lib), "no protocol codecs in the loaded library")

M.ECORRUPT, M.ENOMEM, M.EINVAL = -4, -3, -1

-- A reader over a Lua string; the string is kept alive by the returned anchor.
function M.reader(s)
  local buf = ffi.new("uint8_t[?]", math.max(#s, 1))
  ffi.copy(buf, s, #s)
  local r = ffi.new("ml_reader")
  r.start, r.p, r["end"], r.err = buf, buf, buf + #s, 0
  return r, buf
end

function M.consumed(r)
  return tonumber(r.p - r.start)
end

-- Runs `fn(w)` on a fresh writer and returns what it wrote as a Lua string.
function M.written(fn)
  local w = ffi.new("ml_writer")
  common.lib.ml_writer_init(w, 0)
  fn(w)
  assert(w.err == 0, "writer failed")
  local s = ffi.string(w.data, w.len)
  common.lib.ml_writer_free(w)
  return s
end

-- An arena freed when collected.
function M.arena()
  local a = ffi.new("ml_arena")
  common.lib.ml_arena_init(a, 0)
  return ffi.gc(a, common.lib.ml_arena_free)
end

-- Total bytes of the arena's blocks (what a decode made it allocate).
function M.arena_bytes(a)
  local n = 0
  local b = ffi.cast("struct ml_spec_arena_block *", a.head)
  while b ~= nil do
    n = n + tonumber(b.cap)
    b = b.next
  end
  return n
end

function M.hex(s)
  return (s:gsub(".", function(c) return string.format("%02x ", c:byte()) end):gsub(" $", ""))
end

function M.unhex(h)
  return (h:gsub("%s", ""):gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

return M
