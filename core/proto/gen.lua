-- Kafka protocol codec generator.
--
--   luajit core/proto/gen.lua core/proto/defs/<api>.lua <outdir>
--
-- reads one API definition (a Lua table transcribing Kafka's <Name>Request.json and
-- <Name>Response.json, see core/proto/defs/) and writes:
--   <outdir>/<api>.h         structs, version macros, init/decode/encode prototypes
--   <outdir>/<api>.c         the codecs
--   <outdir>/<api>_cdef.lua  the same declarations as a string for LuaJIT's ffi.cdef
--
-- Why generated: hand-written version checks are where Kafka clients' parse bugs came from
-- (STYLE.md, "Protocol codecs"). Every version gate, compact/flexible switch and tagged field
-- below comes from the definition, never from a hand-written special case.
--
-- Naming contract (other code is written against it):
--   ML_API_<API>_KEY/_MIN/_MAX/_FLEX       (_FLEX = 32767 when no version in range is flexible)
--   ml_<api>_request, ml_<api>_response    top-level structs
--   ml_<snake of JSON struct type>         nested structs (ml_metadata_response_topic)
--   fields: snake_case of the JSON name; arrays as `T *name; int32_t n_name;` (n = -1: null)
--   ml_<type>_init for every struct, ml_<api>_{request,response}_{decode,encode}.

local USAGE = "usage: luajit core/proto/gen.lua <defs/api.lua> <outdir>"

---------------------------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------------------------

local function fail(fmt, ...)
  io.stderr:write("gen.lua: ", string.format(fmt, ...), "\n")
  os.exit(1)
end

-- "ThrottleTimeMs" -> "throttle_time_ms", "timeoutMs" -> "timeout_ms", "ABCDef" -> "abc_def".
local function snake(name)
  local s = name:gsub("(%l)(%u)", "%1_%2"):gsub("(%d)(%u)", "%1_%2"):gsub("(%u)(%u%l)", "%1_%2")
  return s:lower()
end

local function basename(path)
  return (path:match("([^/]+)%.lua$") or fail("%s: not a .lua file", path))
end

local function dirname(path)
  return path:match("^(.*)/[^/]+$") or "."
end

-- Output buffer with indentation, so emitters read like the C they produce.
local function buffer()
  local b = { lines = {}, depth = 0 }
  function b:line(fmt, ...)
    local text = select("#", ...) > 0 and string.format(fmt, ...) or fmt
    self.lines[#self.lines + 1] = text == "" and "" or string.rep("    ", self.depth) .. text
  end
  function b:open(fmt, ...) self:line(fmt, ...); self.depth = self.depth + 1 end
  function b:close(text) self.depth = self.depth - 1; self:line(text or "}") end
  function b:text() return table.concat(self.lines, "\n") .. "\n" end
  return b
end

local function write_file(path, text)
  local f = io.open(path, "wb") or fail("cannot write %s", path)
  f:write(text)
  f:close()
end

---------------------------------------------------------------------------------------------
-- Versions: "0+", "3", "7-12", "none" -> {lo, hi} (nil for none), clipped to what we support.
---------------------------------------------------------------------------------------------

local NO_MAX = 32767

local function parse_range(s, what)
  if s == nil or s == "none" then return nil end
  s = tostring(s)
  local lo = s:match("^(%d+)%+$")
  if lo then return { lo = tonumber(lo), hi = NO_MAX } end
  local a, b = s:match("^(%d+)%-(%d+)$")
  if a then return { lo = tonumber(a), hi = tonumber(b) } end
  local v = s:match("^(%d+)$")
  if v then return { lo = tonumber(v), hi = tonumber(v) } end
  fail("%s: bad version range '%s'", what, s)
end

local function intersect(a, b)
  if not a or not b then return nil end
  local lo, hi = math.max(a.lo, b.lo), math.min(a.hi, b.hi)
  if lo > hi then return nil end
  return { lo = lo, hi = hi }
end

local function covers(outer, inner)
  return outer.lo <= inner.lo and outer.hi >= inner.hi
end

-- C condition for "version in r", given that the code already runs only for versions in
-- `ctx`: conditions that are always true there are left out (no dead tests, no warnings).
local function version_cond(r, ctx)
  local parts = {}
  if r.lo > ctx.lo then parts[#parts + 1] = string.format("version >= %d", r.lo) end
  if r.hi < ctx.hi then parts[#parts + 1] = string.format("version <= %d", r.hi) end
  if #parts == 0 then return nil end
  return table.concat(parts, " && ")
end

-- A C expression that is 1 when the field may be null at `version`.
local function nullable_expr(f)
  local n = f.nullable and intersect(f.nullable, f.range)
  if not n then return "0" end
  -- The field is read or written only inside its own range.
  local cond = version_cond(n, f.range)
  return cond and "(" .. cond .. ")" or "1"
end

---------------------------------------------------------------------------------------------
-- Types
---------------------------------------------------------------------------------------------

-- Scalars: C type, reader, writer, smallest encoded size.
local SCALARS = {
  int8 = { c = "int8_t", size = 1 },
  int16 = { c = "int16_t", size = 2 },
  int32 = { c = "int32_t", size = 4 },
  int64 = { c = "int64_t", size = 8 },
  uint16 = { c = "uint16_t", size = 2 },
  bool = { c = "int8_t", size = 1 },
  float64 = { c = "double", size = 8 },
}
-- Variable-length types held as ml_slice (len -1 = null).
local SLICES = { string = true, bytes = true, records = true }

local C_KEYWORDS = {}
for w in ([[auto break case char const continue default do double else enum extern float for goto
  if inline int long register restrict return short signed sizeof static struct switch typedef
  union unsigned void volatile while _Bool _Complex _Imaginary]]):gmatch("%S+") do
  C_KEYWORDS[w] = true
end

---------------------------------------------------------------------------------------------
-- Model: the definition turned into structs and fields, clipped to the supported versions.
---------------------------------------------------------------------------------------------

-- Turns a defs default (JSON keeps them as strings: "-1", "0x7fffffff", "true", "null") into
-- a Lua value: number, boolean, string, or false for "null" (only meaningful when nullable).
local function parse_default(f, d, what)
  if d == nil then return nil end
  if f.kind == "scalar" then
    if f.type == "bool" then
      if d == true or d == "true" then return true end
      if d == false or d == "false" then return false end
      fail("%s: bad bool default %s", what, tostring(d))
    end
    local n = tonumber(d)
    if not n then fail("%s: bad numeric default %s", what, tostring(d)) end
    return n
  elseif f.kind == "slice" then
    if d == "null" then return "null" end
    return tostring(d)
  elseif f.kind == "array" then
    if d == "null" then return "null" end
    fail("%s: arrays take no default but null", what)
  end
  fail("%s: type %s takes no default", what, f.type)
end

local Model = {}
Model.__index = Model

-- `api` is the defs file basename; `taken` maps nested JSON type names defined by earlier
-- defs files (alphabetical order) to their file, so a clash gets this file's prefix instead.
function Model.new(def, api, taken)
  local m = setmetatable({ def = def, api = api, taken = taken, structs = {}, by_type = {} }, Model)
  m.valid = { lo = def.valid[1], hi = def.valid[2] }
  if type(m.valid.lo) ~= "number" or type(m.valid.hi) ~= "number" or m.valid.lo > m.valid.hi then
    fail("%s: valid must be {min, max}", api)
  end
  -- First flexible version in range; NO_MAX (32767) when every supported version is older.
  m.flex = def.flexible or NO_MAX
  if m.flex > m.valid.hi then m.flex = NO_MAX end
  m.upper = api:upper()
  return m
end

function Model:struct_cname(json_type)
  if self.taken[json_type] then
    -- An earlier defs file (self.taken[json_type]) already defines ml_<snake>: both headers are
    -- included together by the broker, so this file's type takes its basename as a prefix.
    return "ml_" .. self.api .. "_" .. snake(json_type)
  end
  return "ml_" .. snake(json_type)
end

-- Normalizes one field (recursing into nested structs); returns nil when the field exists in
-- no version inside `ctx` (the range of its parent).
function Model:field(raw, ctx, where)
  local what = where .. "." .. tostring(raw.name)
  if type(raw.name) ~= "string" or type(raw.type) ~= "string" then fail("%s: needs name and type", what) end
  local range = intersect(parse_range(raw.versions, what), ctx)
  if not range then return nil end
  local f = {
    name = raw.name, cname = snake(raw.name), type = raw.type, range = range,
    nullable = parse_range(raw.nullable, what), tag = raw.tag, ignorable = raw.ignorable,
  }
  if C_KEYWORDS[f.cname] then fail("%s: field name '%s' is reserved in generated C", what, f.cname) end
  local elem = raw.type:match("^%[%](.+)$")
  local base = elem or raw.type
  if elem then
    f.kind = "array"
  elseif SCALARS[base] then
    f.kind = "scalar"
  elseif SLICES[base] then
    f.kind = "slice"
  elseif base == "uuid" then
    f.kind = "uuid"
  else
    f.kind = "struct"
  end
  f.elem = base
  if SCALARS[base] or SLICES[base] or base == "uuid" then
    if raw.fields then fail("%s: a %s has no fields", what, base) end
    f.elem_kind = SCALARS[base] and "scalar" or SLICES[base] and "slice" or "uuid"
  else
    if not raw.fields then fail("%s: struct type %s needs fields", what, base) end
    if not base:match("^%u%w*$") then fail("%s: unknown type %s", what, raw.type) end
    f.elem_kind = "struct"
    f.struct = self:struct(base, self:struct_cname(base), raw.fields, range, what)
  end
  if elem == "uuid" then fail("%s: arrays of uuid are not supported", what) end
  if f.nullable and not (f.kind == "slice" or f.kind == "array") then
    fail("%s: only strings, bytes and arrays can be nullable", what)
  end
  if raw.tagged ~= nil or raw.tag ~= nil then
    local tagged = intersect(parse_range(raw.tagged, what), ctx)
    if type(raw.tag) ~= "number" or not tagged then fail("%s: tagged fields need tag and tagged", what) end
    -- Kafka's definitions tag a field in every version it exists; supporting a field that is
    -- tagged in some versions and positional in others would be dead code here.
    if tagged.lo ~= range.lo or tagged.hi ~= range.hi then fail("%s: tagged must equal versions", what) end
    if tagged.lo < self.flex then fail("%s: tagged in a non-flexible version", what) end
    f.tagged = tagged
  end
  f.default = parse_default(f, raw.default, what)
  if f.default == nil and f.elem == "records" and f.nullable then
    f.default = "null" -- as Kafka's generator does for records (bytes default to empty)
  end
  if f.default == "null" and not (f.nullable and intersect(f.nullable, range)) then
    fail("%s: default null on a field that is never nullable", what)
  end
  return f
end

-- Builds the struct for a JSON type name, named `cname`; fields are clipped to `ctx`.
function Model:struct(json_type, cname, raw_fields, ctx, where)
  if self.by_type[cname] then
    fail("%s: nested type %s is defined twice in this file (would collide as %s)", where, json_type, cname)
  end
  local s = { json = json_type, cname = cname, short = cname:sub(4), range = ctx, fields = {}, tagged = {} }
  self.by_type[cname] = s
  local seen = {}
  for _, raw in ipairs(raw_fields) do
    local f = self:field(raw, ctx, where .. "." .. json_type)
    if f then
      for _, n in ipairs({ f.cname, f.kind == "array" and "n_" .. f.cname or nil }) do
        if seen[n] then fail("%s.%s: member %s defined twice", where, json_type, n) end
        seen[n] = true
      end
      s.fields[#s.fields + 1] = f
      if f.tagged then s.tagged[#s.tagged + 1] = f end
    end
  end
  table.sort(s.tagged, function(a, b) return a.tag < b.tag end)
  for i = 2, #s.tagged do
    if s.tagged[i].tag == s.tagged[i - 1].tag then fail("%s.%s: tag %d used twice", where, json_type, s.tagged[i].tag) end
  end
  self.structs[#self.structs + 1] = s -- children were appended first: definition order
  return s
end

function Model:build()
  local def = self.def
  self.top = {}
  for _, side in ipairs({ "request", "response" }) do
    if type(def[side]) ~= "table" then fail("%s: missing %s fields", self.api, side) end
    -- Top-level structs are named after the file (ml_metadata_request), not the JSON type.
    local name = def.name .. (side == "request" and "Request" or "Response")
    local s = self:struct(name, "ml_" .. self.api .. "_" .. side, def[side], self.valid, self.api)
    s.top, s.side = true, side
    self.top[side] = s
  end
  self:mark_is_default()
  return self
end

-- Tagged struct fields are written only when they differ from their defaults, which takes an
-- is_default_<struct> helper for them and for the structs inside them.
function Model:mark_is_default()
  local function mark(s)
    s.needs_is_default = true
    for _, f in ipairs(s.fields) do
      if f.kind == "struct" then mark(f.struct) end
    end
  end
  for _, s in ipairs(self.structs) do
    for _, f in ipairs(s.tagged) do
      if f.kind == "struct" then mark(f.struct) end
    end
  end
end

-- Smallest encoded size of one struct at `version` (for the absurd-count check on arrays).
function Model:min_size(s, version)
  local flex = version >= self.flex
  local n = flex and 1 or 0 -- the tagged-field section's count
  for _, f in ipairs(s.fields) do
    if not f.tagged and version >= f.range.lo and version <= f.range.hi then
      n = n + self:min_field_size(f, version, flex)
    end
  end
  return n
end

function Model:min_field_size(f, version, flex)
  if f.kind == "array" then return flex and 1 or 4 end
  if f.kind == "slice" then return flex and 1 or (f.elem == "string" and 2 or 4) end
  if f.kind == "uuid" then return 16 end
  if f.kind == "scalar" then return SCALARS[f.elem].size end
  return self:min_size(f.struct, version)
end

-- Smallest encoded size of an element of array field `f` over all versions it exists in.
function Model:min_elem_size(f)
  local best
  for v = f.range.lo, math.min(f.range.hi, self.valid.hi) do
    local n
    if f.elem_kind == "struct" then
      n = self:min_size(f.struct, v)
    else
      n = self:min_field_size({ kind = f.elem_kind, elem = f.elem }, v, v >= self.flex)
    end
    best = best and math.min(best, n) or n
  end
  if best < 1 then
    -- An element of no bytes would let a tiny message claim billions of elements.
    fail("%s: elements of %s can be empty; the count check needs at least one byte", self.api, f.name)
  end
  return best
end

---------------------------------------------------------------------------------------------
-- C declarations (shared by the header and the FFI cdef)
---------------------------------------------------------------------------------------------

local function elem_ctype(f)
  if f.elem_kind == "scalar" then return SCALARS[f.elem].c end
  if f.elem_kind == "slice" then return "ml_slice" end
  if f.elem_kind == "uuid" then return "uint8_t" end
  return f.struct.cname
end

local function range_text(r, valid)
  if r.hi >= valid.hi then return r.lo .. "+" end
  if r.lo == r.hi then return tostring(r.lo) end
  return r.lo .. "-" .. r.hi
end

local function field_comment(m, f)
  local t = { "v" .. range_text(f.range, m.valid) }
  local n = f.nullable and intersect(f.nullable, f.range)
  if n then t[#t + 1] = "nullable v" .. range_text(n, m.valid) end
  if f.tagged then t[#t + 1] = "tag " .. f.tag end
  if f.default ~= nil then t[#t + 1] = "default " .. tostring(f.default == "" and '""' or f.default) end
  if f.elem == "records" then t[#t + 1] = "record batches" end
  return table.concat(t, ", ")
end

-- Member declarations of a struct: {decl, comment} pairs.
local function members(m, s)
  local out = {}
  for _, f in ipairs(s.fields) do
    local c = field_comment(m, f)
    if f.kind == "array" then
      out[#out + 1] = { string.format("%s *%s;", elem_ctype(f), f.cname), c }
      local n = f.nullable and intersect(f.nullable, f.range)
      out[#out + 1] = { string.format("int32_t n_%s;", f.cname), n and "count, -1 = null" or "count" }
    elseif f.kind == "uuid" then
      out[#out + 1] = { string.format("uint8_t %s[16];", f.cname), c }
    else
      out[#out + 1] = { string.format("%s %s;", elem_ctype(f), f.cname), c }
    end
  end
  if #out == 0 then
    -- C forbids empty structs; no version in range has a field here.
    out[1] = { "char unused_;", "no field in any supported version" }
  end
  return out
end

local function prototypes(s)
  local t = { string.format("void %s_init(%s *m);", s.cname, s.cname) }
  if s.top then
    t[#t + 1] = string.format("int %s_decode(ml_reader *r, int16_t version, ml_arena *a, %s *out);", s.cname, s.cname)
    t[#t + 1] = string.format("void %s_encode(ml_writer *w, int16_t version, const %s *in);", s.cname, s.cname)
  end
  return t
end

local function emit_header(m)
  local b = buffer()
  local guard = "ML_PROTO_" .. m.upper .. "_H"
  b:line("/* %s (API key %d), versions %d-%d: generated by core/proto/gen.lua from", m.def.name, m.def.key, m.valid.lo, m.valid.hi)
  b:line(" * core/proto/defs/%s.lua. Do not edit; change the definition instead.", m.api)
  b:line(" *")
  b:line(" * decode: returns 0, ML_ECORRUPT (short or malformed input, a null where the version allows")
  b:line(" * none), ML_ENOMEM (arena exhausted) or ML_EINVAL (version outside MIN..MAX). Slices point")
  b:line(" * into the reader's bytes and arrays into the arena: keep both alive while `out` is used.")
  b:line(" * Fields absent from `version` hold their defaults (as set by _init).")
  b:line(" * encode: writes the fields present in `version` (the caller checks it is in range); a null")
  b:line(" * where the version allows none is written as empty. Failure to grow shows in w->err. */")
  b:line("#ifndef %s", guard)
  b:line("#define %s", guard)
  b:line("")
  b:line("#include <stdint.h>")
  b:line("")
  b:line('#include "common/arena.h"')
  b:line('#include "common/buf.h"')
  b:line("")
  b:line("#define ML_API_%s_KEY %d", m.upper, m.def.key)
  b:line("#define ML_API_%s_MIN %d", m.upper, m.valid.lo)
  b:line("#define ML_API_%s_MAX %d", m.upper, m.valid.hi)
  b:line("#define ML_API_%s_FLEX %d%s", m.upper, m.flex, m.flex == NO_MAX and " /* no flexible version */" or "")
  for _, s in ipairs(m.structs) do
    b:line("")
    b:open("typedef struct %s {", s.cname)
    local decls = members(m, s)
    local width = 0
    for _, d in ipairs(decls) do width = math.max(width, #d[1]) end
    for _, d in ipairs(decls) do
      b:line("%s%s /* %s */", d[1], string.rep(" ", width - #d[1]), d[2])
    end
    b:close("} " .. s.cname .. ";")
  end
  b:line("")
  for _, s in ipairs(m.structs) do
    for _, p in ipairs(prototypes(s)) do b:line("%s", p) end
  end
  b:line("")
  b:line("#endif")
  return b:text()
end

-- The FFI module: typedefs and prototypes as in the header, constants as an enum (ffi.cdef
-- has no #define). ml_slice, ml_reader, ml_writer and ml_arena come from ffi_common.lua.
local function emit_cdef(m)
  local t = {}
  t[#t + 1] = string.format("enum { ML_API_%s_KEY = %d, ML_API_%s_MIN = %d, ML_API_%s_MAX = %d, ML_API_%s_FLEX = %d };",
    m.upper, m.def.key, m.upper, m.valid.lo, m.upper, m.valid.hi, m.upper, m.flex)
  for _, s in ipairs(m.structs) do
    local decls = {}
    for _, d in ipairs(members(m, s)) do decls[#decls + 1] = d[1] end
    t[#t + 1] = string.format("typedef struct %s { %s } %s;", s.cname, table.concat(decls, " "), s.cname)
  end
  for _, s in ipairs(m.structs) do
    for _, p in ipairs(prototypes(s)) do t[#t + 1] = p end
  end
  return "-- Generated by core/proto/gen.lua from core/proto/defs/" .. m.api .. ".lua: do not edit.\n" ..
    "return [[\n" .. table.concat(t, "\n") .. "\n]]\n"
end

---------------------------------------------------------------------------------------------
-- C code: defaults and init
---------------------------------------------------------------------------------------------

local function c_number(f, n)
  local t = f.elem
  if t == "float64" then return string.format("%.17g", n) end
  if n ~= math.floor(n) then fail("%s: non-integer default %s", f.name, tostring(n)) end
  if t == "int64" then
    if n == -9223372036854775808 then return "INT64_MIN" end
    return string.format("INT64_C(%.0f)", n)
  end
  if t == "int32" and n == -2147483648 then return "INT32_MIN" end
  return string.format("%.0f", n)
end

local function c_string_literal(s)
  return '"' .. s:gsub('[\\"]', "\\%0"):gsub("[^%g ]", function(c) return string.format("\\%03o", c:byte()) end) .. '"'
end

-- Statements setting `dst` (an lvalue) to the field's default.
local function emit_default(b, f, dst)
  if f.kind == "array" then
    b:line("%s = NULL;", dst:gsub("([%w_]+)$", "%1"))
    b:line("%s = %d;", dst:gsub("([%w_]+)$", "n_%1"), f.default == "null" and -1 or 0)
  elseif f.kind == "slice" then
    if f.default == "null" then
      b:line("%s.ptr = NULL;", dst)
      b:line("%s.len = -1;", dst)
    else
      local s = f.default or ""
      b:line("%s.ptr = (const uint8_t *)%s;", dst, c_string_literal(s))
      b:line("%s.len = %d;", dst, #s)
    end
  elseif f.kind == "scalar" then
    if f.default ~= nil and f.default ~= false and f.default ~= 0 then
      b:line("%s = %s;", dst, f.default == true and "1" or c_number(f, f.default))
    end
  elseif f.kind == "struct" then
    b:line("%s_init(&%s);", f.struct.cname, dst)
  end -- uuid: zero, as memset left it
end

local function emit_init(b, s)
  b:open("void %s_init(%s *m) {", s.cname, s.cname)
  b:line("memset(m, 0, sizeof *m);")
  for _, f in ipairs(s.fields) do emit_default(b, f, "m->" .. f.cname) end
  b:close()
end

-- A C expression true when `src` (an lvalue of field f) differs from the field's default:
-- tagged fields are written only then, as Kafka's generated code does.
local function differs_expr(f, src)
  if f.kind == "array" then
    return string.format("%s != %d", src:gsub("([%w_]+)$", "n_%1"), f.default == "null" and -1 or 0)
  elseif f.kind == "slice" then
    if f.default == "null" then return src .. ".len >= 0" end
    local d = f.default or ""
    if d == "" then return src .. ".len != 0" end
    return string.format("(%s.len != %d || memcmp(%s.ptr, %s, %d) != 0)", src, #d, src, c_string_literal(d), #d)
  elseif f.kind == "uuid" then
    return string.format("!ml_proto_uuid_is_zero(%s)", src)
  elseif f.kind == "struct" then
    return string.format("!is_default_%s(&%s)", f.struct.short, src)
  end
  local d = f.default
  if d == true then d = 1 elseif d == false or d == nil then d = 0 end
  return string.format("%s != %s", src, c_number(f, d))
end

local function emit_is_default(b, s)
  b:open("static int is_default_%s(const %s *m) {", s.short, s.cname)
  local terms = {}
  for _, f in ipairs(s.fields) do terms[#terms + 1] = "!(" .. differs_expr(f, "m->" .. f.cname) .. ")" end
  b:line("return %s;", #terms > 0 and table.concat(terms, " && ") or "1")
  b:close()
end

---------------------------------------------------------------------------------------------
-- C code: decode
---------------------------------------------------------------------------------------------

local READERS = {
  int8 = "ml_read_i8(r)", int16 = "ml_read_i16(r)", int32 = "ml_read_i32(r)", int64 = "ml_read_i64(r)",
  uint16 = "(uint16_t)ml_read_i16(r)", bool = "(int8_t)(ml_read_i8(r) != 0)", float64 = "ml_read_f64(r)",
}

-- Statements reading one value of element kind `kind` into `dst`, from reader `r`.
-- `in_block`: the statements already sit in a block of their own (no extra braces needed).
local function emit_read_value(b, m, f, kind, dst, nullable, in_block)
  if kind == "scalar" then
    b:line("%s = %s;", dst, READERS[f.elem])
  elseif kind == "slice" then
    b:line("%s = ml_proto_read_%s(r, flex, %s);", dst, f.elem == "string" and "string" or "bytes", nullable)
  elseif kind == "uuid" then
    b:line("ml_proto_read_uuid(r, %s);", dst)
  else
    if not in_block then b:open("{") end
    b:line("int rc = dec_%s(r, version, flex, a, &%s);", f.struct.short, dst)
    b:line("if (rc) return rc;")
    if not in_block then b:close() end
  end
end

local function emit_read_field(b, m, f, dst, in_block)
  local nullable = nullable_expr(f)
  if f.kind ~= "array" then return emit_read_value(b, m, f, f.kind, dst, nullable, in_block) end
  local arr, n = dst, dst:gsub("([%w_]+)$", "n_%1")
  if not in_block then b:open("{") end
  -- The count is checked against the bytes left before anything is allocated.
  b:line("int32_t n = ml_proto_read_array_len(r, flex, %s, %d);", nullable, m:min_elem_size(f))
  b:line("%s = n;", n)
  b:open("if (n > 0) {")
  local ctype = elem_ctype(f)
  b:line("%s = ml_arena_alloc(a, (size_t)n * sizeof(%s));", arr, ctype)
  b:line("if (!%s) return ML_ENOMEM;", arr)
  b:open("for (int32_t i = 0; i < n && !r->err; i++) {")
  local elem_null = f.elem_kind == "slice" and "0" or nullable
  emit_read_value(b, m, f, f.elem_kind, arr .. "[i]", elem_null, true)
  b:close()
  b:close()
  if not in_block then b:close() end
end

-- The tagged-field section: known tags of this version are decoded from a reader bounded to
-- the field's size, every other tag is skipped.
local function emit_read_tagged(b, m, s)
  if #s.tagged == 0 then
    b:line("if (flex) ml_skip_tagged_fields(r);")
    return
  end
  b:open("if (flex) {")
  b:line("uint32_t ntags = ml_read_uvarint(r);")
  b:open("for (uint32_t t = 0; t < ntags && !r->err; t++) {")
  b:line("uint32_t tag = ml_read_uvarint(r);")
  b:line("ml_reader field;")
  b:line("if (!ml_proto_read_tagged_field(r, &field)) break;")
  b:open("switch (tag) {")
  for _, f in ipairs(s.tagged) do
    b:open("case %d: {", f.tag)
    local cond = version_cond(f.tagged, s.range)
    if cond then b:open("if (%s) {", cond) end
    b:line("ml_reader *outer = r;")
    b:line("r = &field;")
    emit_read_field(b, m, f, "out->" .. f.cname, true)
    b:line("r = outer;")
    b:line("if (field.err) r->err = 1;")
    if cond then b:close() end
    b:line("break;")
    b:close()
  end
  b:line("default:")
  b:line("    break;")
  b:close()
  b:close()
  b:close()
end

local function emit_decoder(b, m, s)
  b:open("static int dec_%s(ml_reader *r, int16_t version, int flex, ml_arena *a, %s *out) {", s.short, s.cname)
  b:line("(void)version;")
  b:line("(void)a;")
  b:line("%s_init(out);", s.cname)
  for _, f in ipairs(s.fields) do
    if not f.tagged then
      local cond = version_cond(f.range, s.range)
      if cond then b:open("if (%s) {", cond) end
      emit_read_field(b, m, f, "out->" .. f.cname, cond ~= nil)
      if cond then b:close() end
    end
  end
  emit_read_tagged(b, m, s)
  b:line("return 0;")
  b:close()
end

---------------------------------------------------------------------------------------------
-- C code: encode
---------------------------------------------------------------------------------------------

local WRITERS = {
  int8 = "ml_write_i8(w, %s);", int16 = "ml_write_i16(w, %s);", int32 = "ml_write_i32(w, %s);",
  int64 = "ml_write_i64(w, %s);", uint16 = "ml_write_i16(w, (int16_t)%s);",
  bool = "ml_write_i8(w, %s ? 1 : 0);", float64 = "ml_write_f64(w, %s);",
}

local function emit_write_value(b, f, kind, src, nullable)
  if kind == "scalar" then
    b:line(WRITERS[f.elem], src)
  elseif kind == "slice" then
    b:line("ml_proto_write_%s(w, flex, %s, %s);", f.elem == "string" and "string" or "bytes", nullable, src)
  elseif kind == "uuid" then
    b:line("ml_write_raw(w, %s, 16);", src)
  else
    b:line("enc_%s(w, version, flex, &%s);", f.struct.short, src)
  end
end

local function emit_write_field(b, f, src)
  local nullable = nullable_expr(f)
  if f.kind ~= "array" then return emit_write_value(b, f, f.kind, src, nullable) end
  local n = src:gsub("([%w_]+)$", "n_%1")
  b:line("ml_proto_write_array_len(w, flex, %s, %s);", nullable, n)
  b:open("for (int32_t i = 0; i < %s; i++) {", n)
  emit_write_value(b, f, f.elem_kind, src .. "[i]", f.elem_kind == "slice" and "0" or nullable)
  b:close()
end

-- Tagged fields go out in tag order, each only when it differs from its default; each value
-- is encoded into a scratch writer first because its size prefix comes before it.
local function emit_write_tagged(b, s)
  if #s.tagged == 0 then
    b:line("if (flex) ml_write_uvarint(w, 0);")
    return
  end
  b:open("if (flex) {")
  local present = {}
  for i, f in ipairs(s.tagged) do
    local terms = {}
    local cond = version_cond(f.tagged, s.range)
    if cond then terms[#terms + 1] = cond end
    terms[#terms + 1] = differs_expr(f, "in->" .. f.cname)
    present[i] = table.concat(terms, " && ")
    b:line("int has%d = %s;", i, present[i])
  end
  local sum = {}
  for i = 1, #s.tagged do sum[#sum + 1] = "has" .. i end
  b:line("ml_write_uvarint(w, (uint32_t)(%s));", table.concat(sum, " + "))
  for i, f in ipairs(s.tagged) do
    b:open("if (has%d) {", i)
    b:line("ml_writer field;")
    b:line("ml_writer_init(&field, 0);")
    b:line("ml_writer *outer = w;")
    b:line("w = &field;")
    emit_write_field(b, f, "in->" .. f.cname)
    b:line("w = outer;")
    b:line("ml_proto_write_tagged_field(w, %d, &field);", f.tag)
    b:close()
  end
  b:close()
end

local function emit_encoder(b, s)
  b:open("static void enc_%s(ml_writer *w, int16_t version, int flex, const %s *in) {", s.short, s.cname)
  b:line("(void)version;")
  b:line("(void)in;")
  for _, f in ipairs(s.fields) do
    if not f.tagged then
      local cond = version_cond(f.range, s.range)
      if cond then b:open("if (%s) {", cond) end
      emit_write_field(b, f, "in->" .. f.cname)
      if cond then b:close() end
    end
  end
  emit_write_tagged(b, s)
  b:close()
end

local function emit_public(b, m, s)
  b:open("int %s_decode(ml_reader *r, int16_t version, ml_arena *a, %s *out) {", s.cname, s.cname)
  b:line("if (version < ML_API_%s_MIN || version > ML_API_%s_MAX) return ML_EINVAL;", m.upper, m.upper)
  b:line("int rc = dec_%s(r, version, version >= ML_API_%s_FLEX, a, out);", s.short, m.upper)
  b:line("if (rc) return rc;")
  b:line("return r->err ? ML_ECORRUPT : 0;")
  b:close()
  b:line("")
  b:open("void %s_encode(ml_writer *w, int16_t version, const %s *in) {", s.cname, s.cname)
  b:line("enc_%s(w, version, version >= ML_API_%s_FLEX, in);", s.short, m.upper)
  b:close()
end

local function emit_source(m)
  local b = buffer()
  b:line("/* Generated by core/proto/gen.lua from core/proto/defs/%s.lua. Do not edit. */", m.api)
  b:line('#include "proto/%s.h"', m.api)
  b:line("")
  b:line("#include <string.h>")
  b:line("")
  b:line('#include "common/error.h"')
  b:line('#include "proto/tagged.h"')
  b:line("")
  for _, s in ipairs(m.structs) do
    emit_init(b, s)
    b:line("")
  end
  for _, s in ipairs(m.structs) do
    if s.needs_is_default then
      emit_is_default(b, s)
      b:line("")
    end
  end
  for _, s in ipairs(m.structs) do
    b:line("static int dec_%s(ml_reader *r, int16_t version, int flex, ml_arena *a, %s *out);", s.short, s.cname)
  end
  b:line("")
  for _, s in ipairs(m.structs) do
    emit_decoder(b, m, s)
    b:line("")
  end
  for _, s in ipairs(m.structs) do
    emit_encoder(b, s)
    b:line("")
  end
  emit_public(b, m, m.top.request)
  b:line("")
  emit_public(b, m, m.top.response)
  return b:text()
end

---------------------------------------------------------------------------------------------
-- Cross-file names: nested types defined by alphabetically earlier defs files.
---------------------------------------------------------------------------------------------

local function load_def(path)
  local chunk, err = loadfile(path)
  if not chunk then fail("%s", err) end
  local ok, def = pcall(chunk)
  if not ok or type(def) ~= "table" then fail("%s: must return a table (%s)", path, tostring(def)) end
  for _, k in ipairs({ "key", "name", "valid", "request", "response" }) do
    if def[k] == nil then fail("%s: missing '%s'", path, k) end
  end
  return def
end

local function collect_types(fields, out)
  for _, f in ipairs(fields) do
    if f.fields then
      out[f.type:match("^%[%](.+)$") or f.type] = true
      collect_types(f.fields, out)
    end
  end
end

-- Each generated file is built on its own by make, so the clash check re-reads the other
-- definitions. An earlier file keeps the plain name; when a new file sorting earlier adds a
-- clash, the later one changes name on its next generation (make regenerates it when its own
-- definition or this generator changes).
local function earlier_types(path, api)
  local taken = {}
  local dir = dirname(path)
  local p = io.popen('ls -1 "' .. dir .. '" 2>/dev/null')
  local files = {}
  if p then
    for name in p:lines() do
      if name:match("%.lua$") then files[#files + 1] = name end
    end
    p:close()
  end
  table.sort(files)
  for _, name in ipairs(files) do
    local other = name:gsub("%.lua$", "")
    if other >= api then break end
    local def = load_def(dir .. "/" .. name)
    local types = {}
    collect_types(def.request, types)
    collect_types(def.response, types)
    for t in pairs(types) do taken[t] = other end
  end
  return taken
end

---------------------------------------------------------------------------------------------

local function main(def_path, outdir)
  if not def_path or not outdir then fail("%s", USAGE) end
  local api = basename(def_path)
  if not api:match("^[a-z][a-z0-9_]*$") then fail("%s: file name must be lower snake case", def_path) end
  local def = load_def(def_path)
  local m = Model.new(def, api, earlier_types(def_path, api)):build()
  write_file(outdir .. "/" .. api .. ".h", emit_header(m))
  write_file(outdir .. "/" .. api .. ".c", emit_source(m))
  write_file(outdir .. "/" .. api .. "_cdef.lua", emit_cdef(m))
end

main(...)
