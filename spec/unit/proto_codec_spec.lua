-- The generated protocol codecs (core/proto/gen.lua over core/proto/defs/*.lua).
--
-- For every API, request and response, at every supported version: a message with a
-- non-default value in every field present at that version is encoded by the C encoder,
-- compared byte for byte with an independent Lua encoder written here from the same
-- definitions, decoded by the C decoder and compared field by field (fields absent from the
-- version must come back as their defaults). Then known bytes, truncations, garbage and huge
-- counts. The naming contract (ml_<api>_request, ml_<snake type>, snake fields, n_<array>) is
-- restated here, so the spec fails if the generator drifts from it.
local ffi = require "ffi"
local bit = require "bit"
local P = require "proto_ffi"
local lib = P.lib

local NULL = "<NULL>" -- a null string or array in the Lua model of a message

---------------------------------------------------------------------------------------------
-- The definitions' rules, restated
---------------------------------------------------------------------------------------------

local function snake(name)
  local s = name:gsub("(%l)(%u)", "%1_%2"):gsub("(%d)(%u)", "%1_%2"):gsub("(%u)(%u%l)", "%1_%2")
  return s:lower()
end

local function range(s)
  if s == nil or s == "none" then return nil end
  local lo = s:match("^(%d+)%+$")
  if lo then return tonumber(lo), math.huge end
  local a, b = s:match("^(%d+)%-(%d+)$")
  if a then return tonumber(a), tonumber(b) end
  return tonumber(s), tonumber(s)
end

local function within(s, v)
  local lo, hi = range(s)
  return lo ~= nil and v >= lo and v <= hi
end

local function elem_of(f) return f.type:match("^%[%](.+)$") end
local SCALARS = { int8 = true, int16 = true, int32 = true, int64 = true, uint16 = true, bool = true, float64 = true }
local SLICES = { string = true, bytes = true, records = true }

local function kind(t)
  if SCALARS[t] then return "scalar" end
  if SLICES[t] then return "slice" end
  if t == "uuid" then return "uuid" end
  return "struct"
end

local function struct_ctype(t) return "ml_" .. snake(t) end

local function top_ctype(api, side) return "ml_" .. api .. "_" .. side end

local function flexible(def, v) return def.flexible ~= nil and v >= def.flexible end

---------------------------------------------------------------------------------------------
-- Values: defaults, samples, normalization
---------------------------------------------------------------------------------------------

local default_struct

local function default_of(f, t)
  t = t or f.type
  local e = t:match("^%[%](.+)$")
  if e then return f.default == "null" and NULL or {} end
  local k = kind(t)
  if k == "scalar" then
    if t == "bool" then return (f.default == "true") and 1 or 0 end
    if t == "int64" then return ffi.new("int64_t", tonumber(f.default or 0)) end
    return tonumber(f.default or 0)
  elseif k == "slice" then
    if f.default == "null" then return NULL end
    if f.default == nil and t == "records" and f.nullable then return NULL end
    return f.default or ""
  elseif k == "uuid" then
    return string.rep("\0", 16)
  end
  return default_struct(f.fields)
end

function default_struct(fields)
  local t = {}
  for _, f in ipairs(fields) do t[f.name] = default_of(f) end
  return t
end

-- Comparable form: int64 cdata as text, everything else as is.
local function norm(x)
  if type(x) == "cdata" then return tostring(ffi.cast("int64_t", x)) end
  if type(x) == "table" then
    local t = {}
    for k, v in pairs(x) do t[k] = norm(v) end
    return t
  end
  return x
end

local function deep_equal(a, b)
  a, b = norm(a), norm(b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local counter = 0
local function next_n()
  counter = counter + 1
  return counter
end

-- A value different from the field's default. Every fifth string is long enough for a
-- two-byte varint length.
local function sample_scalar(f, t)
  local n = next_n()
  local d = default_of(f, t)
  local v
  if t == "bool" then return d == 1 and 0 or 1 end
  if t == "int8" then v = (n * 7) % 120 + 1
  elseif t == "int16" then v = (n % 2 == 0) and (1000 + n) or -(1000 + n)
  elseif t == "uint16" then v = 40000 + n
  elseif t == "int32" then v = (n % 2 == 0) and (100000 + n * 3) or -(100000 + n * 3)
  elseif t == "float64" then v = n + 0.5
  elseif t == "int64" then
    v = ffi.new("int64_t", n) * 0x100000001LL + 7
    if n % 2 == 1 then v = -v end
    if v == d then v = v + 1 end
    return v
  end
  if v == d then v = v + 1 end
  return v
end

local function sample_slice(t)
  local n = next_n()
  if t == "string" then
    if n % 5 == 0 then return string.rep("long-name-", 20) .. n end
    return "s" .. n
  end
  local b = {}
  for i = 1, (n % 5 == 0) and 300 or 9 do b[i] = string.char((n * 31 + i * 17) % 256) end
  return table.concat(b)
end

local sample_struct

-- variant "full": arrays of two, nullable strings set; "nulls": whatever may be null is null,
-- other arrays hold one element; "empty": arrays and strings empty.
local function sample_value(f, t, v, variant, nullable)
  local e = t:match("^%[%](.+)$")
  if e then
    if variant == "nulls" and nullable then return NULL end
    if variant == "empty" then return {} end
    local list = {}
    for i = 1, variant == "full" and 2 or 1 do list[i] = sample_value(f, e, v, variant, false) end
    return list
  end
  local k = kind(t)
  if k == "scalar" then return sample_scalar(f, t) end
  if k == "slice" then
    if variant == "nulls" and nullable then return NULL end
    if variant == "empty" then return "" end
    return sample_slice(t)
  end
  if k == "uuid" then
    local n = next_n()
    local b = {}
    for i = 1, 16 do b[i] = string.char((n + i * 13) % 256) end
    return table.concat(b)
  end
  return sample_struct(f.fields, v, variant)
end

-- Values for the fields present at `v` (absent ones stay unset: the codec ignores them).
function sample_struct(fields, v, variant)
  local t = {}
  for _, f in ipairs(fields) do
    if within(f.versions, v) then
      t[f.name] = sample_value(f, f.type, v, variant, within(f.nullable, v))
    end
  end
  return t
end

-- What a decoder must return: the sample for fields present at `v`, defaults elsewhere.
local function expected(fields, v, vals)
  local t = {}
  for _, f in ipairs(fields) do
    local x
    if within(f.versions, v) then
      x = vals[f.name]
      if f.fields and elem_of(f) and x ~= NULL then
        local list = {}
        for i, el in ipairs(x) do list[i] = expected(f.fields, v, el) end
        x = list
      elseif f.fields and not elem_of(f) then
        x = expected(f.fields, v, x)
      end
    elseif f.fields and not elem_of(f) then
      x = expected(f.fields, -math.huge, {}) -- a struct absent from the version: all defaults
    else
      x = default_of(f)
    end
    t[snake(f.name)] = norm(x)
  end
  return t
end

---------------------------------------------------------------------------------------------
-- Lua model <-> C structs
---------------------------------------------------------------------------------------------

local to_c

local function set_slice(slot, s, anchors)
  if s == NULL then
    slot.ptr, slot.len = nil, -1
  else
    anchors[#anchors + 1] = s
    slot.ptr, slot.len = ffi.cast("const uint8_t *", s), #s
  end
end

local function elem_ctype(e)
  local k = kind(e)
  if k == "scalar" then
    return ({ int8 = "int8_t", int16 = "int16_t", int32 = "int32_t", int64 = "int64_t",
      uint16 = "uint16_t", bool = "int8_t", float64 = "double" })[e]
  end
  if k == "slice" then return "ml_slice" end
  return struct_ctype(e)
end

local function set_field(f, v, c, name, val, anchors)
  local e = elem_of(f)
  if e then
    if val == NULL then
      c[name], c["n_" .. name] = nil, -1
      return
    end
    local arr = ffi.new(elem_ctype(e) .. "[?]", math.max(#val, 1))
    anchors[#anchors + 1] = arr
    for i, x in ipairs(val) do
      local k = kind(e)
      if k == "struct" then
        lib[struct_ctype(e) .. "_init"](arr + (i - 1))
        to_c(f.fields, v, x, arr[i - 1], anchors)
      elseif k == "slice" then
        set_slice(arr[i - 1], x, anchors)
      else
        arr[i - 1] = x
      end
    end
    c[name], c["n_" .. name] = arr, #val
    return
  end
  local k = kind(f.type)
  if k == "scalar" then
    c[name] = val
  elseif k == "slice" then
    set_slice(c[name], val, anchors)
  elseif k == "uuid" then
    ffi.copy(c[name], val, 16)
  else
    to_c(f.fields, v, val, c[name], anchors)
  end
end

function to_c(fields, v, vals, c, anchors)
  for _, f in ipairs(fields) do
    if within(f.versions, v) then set_field(f, v, c, snake(f.name), vals[f.name], anchors) end
  end
end

local from_c

local function get_value(f, t, x)
  local k = kind(t)
  if k == "scalar" then
    if t == "int64" then return tostring(ffi.cast("int64_t", x)) end
    return tonumber(x)
  elseif k == "slice" then
    if x.len < 0 then return NULL end
    return ffi.string(x.ptr, x.len)
  elseif k == "uuid" then
    return ffi.string(x, 16)
  end
  return from_c(f.fields, x)
end

-- Every field of a decoded struct, present at the version or not.
function from_c(fields, c)
  local t = {}
  for _, f in ipairs(fields) do
    local name = snake(f.name)
    local e = elem_of(f)
    if e then
      local n = c["n_" .. name]
      if n < 0 then
        t[name] = NULL
      else
        local list = {}
        for i = 0, n - 1 do list[i + 1] = get_value(f, e, c[name][i]) end
        t[name] = list
      end
    else
      t[name] = get_value(f, f.type, c[name])
    end
  end
  return t
end

---------------------------------------------------------------------------------------------
-- The reference encoder (Kafka's wire rules, written independently of gen.lua)
---------------------------------------------------------------------------------------------

local function be(x, bytes)
  local u = ffi.cast("uint64_t", ffi.cast("int64_t", x))
  local t = {}
  for i = bytes, 1, -1 do
    t[i] = string.char(tonumber(bit.band(u, 0xff)))
    u = bit.rshift(u, 8)
  end
  return table.concat(t)
end

local function uvarint(n)
  local t = {}
  repeat
    local b = n % 128
    n = math.floor(n / 128)
    t[#t + 1] = string.char(n > 0 and b + 128 or b)
  until n == 0
  return table.concat(t)
end

local function len_prefix(n, flex, wide)
  if flex then return uvarint(n + 1) end
  return be(n, wide and 4 or 2)
end

local enc_struct

local function enc_value(f, t, v, flex, val, out)
  local e = t:match("^%[%](.+)$")
  if e then
    if val == NULL then out[#out + 1] = len_prefix(-1, flex, true) return end
    out[#out + 1] = len_prefix(#val, flex, true)
    for _, x in ipairs(val) do enc_value(f, e, v, flex, x, out) end
    return
  end
  local k = kind(t)
  if k == "scalar" then
    if t == "float64" then
      local u = ffi.new("union { double d; int64_t i; }")
      u.d = val
      out[#out + 1] = be(u.i, 8)
    else
      local size = ({ int8 = 1, bool = 1, int16 = 2, uint16 = 2, int32 = 4, int64 = 8 })[t]
      out[#out + 1] = be(t == "bool" and (val ~= 0 and 1 or 0) or val, size)
    end
  elseif k == "slice" then
    local wide = t ~= "string"
    if val == NULL then out[#out + 1] = len_prefix(-1, flex, wide) return end
    out[#out + 1] = len_prefix(#val, flex, wide) .. val
  elseif k == "uuid" then
    out[#out + 1] = val
  else
    enc_struct(f.fields, v, flex, val, out)
  end
end

function enc_struct(fields, v, flex, vals, out)
  local tagged = {}
  for _, f in ipairs(fields) do
    if within(f.versions, v) then
      if f.tag and within(f.tagged, v) then
        if not deep_equal(vals[f.name], default_of(f)) then tagged[#tagged + 1] = f end
      else
        enc_value(f, f.type, v, flex, vals[f.name], out)
      end
    end
  end
  if not flex then return end
  table.sort(tagged, function(a, b) return a.tag < b.tag end)
  out[#out + 1] = uvarint(#tagged)
  for _, f in ipairs(tagged) do
    local sub = {}
    enc_value(f, f.type, v, flex, vals[f.name], sub)
    local bytes = table.concat(sub)
    out[#out + 1] = uvarint(f.tag) .. uvarint(#bytes) .. bytes
  end
end

local function reference_encode(def, side, v, vals)
  local out = {}
  enc_struct(def[side], v, flexible(def, v), vals, out)
  return table.concat(out)
end

---------------------------------------------------------------------------------------------
-- Driving the C codecs
---------------------------------------------------------------------------------------------

local function c_encode(api, side, v, vals)
  local def = P.defs[api]
  local ct = top_ctype(api, side)
  local c = ffi.new(ct)
  lib[ct .. "_init"](c)
  local anchors = {}
  to_c(def[side], v, vals, c, anchors)
  return P.written(function(w) lib[ct .. "_encode"](w, v, c) end)
end

-- Returns rc, the decoded struct as a Lua table, the bytes consumed and the arena.
local function c_decode(api, side, v, bytes)
  local ct = top_ctype(api, side)
  local r, anchor = P.reader(bytes)
  local out = ffi.new(ct)
  local a = P.arena()
  local rc = lib[ct .. "_decode"](r, v, a, out)
  local _ = anchor
  return rc, rc == 0 and from_c(P.defs[api][side], out) or nil, P.consumed(r), a
end

local function each_case(fn)
  for _, api in ipairs(P.apis) do
    local def = P.defs[api]
    for _, side in ipairs({ "request", "response" }) do
      for v = def.valid[1], def.valid[2] do fn(api, def, side, v) end
    end
  end
end

local function valid_encoding(api, side, v, variant)
  local vals = sample_struct(P.defs[api][side], v, variant or "full")
  return c_encode(api, side, v, vals), vals
end

---------------------------------------------------------------------------------------------

describe("protocol codecs", function()
  it("cover the APIs the broker advertises, with their keys and version ranges", function()
    assert.same({ "api_versions", "create_partitions", "create_topics", "delete_groups", "delete_topics",
      "describe_configs", "describe_groups", "fetch", "find_coordinator", "heartbeat", "join_group", "leave_group",
      "list_groups", "list_offsets", "metadata", "offset_commit", "offset_fetch", "produce", "sync_group" }, P.apis)
    local want = {
      api_versions = { 18, 0, 3, 3 }, metadata = { 3, 0, 9, 9 }, produce = { 0, 3, 9, 9 },
      fetch = { 1, 4, 12, 12 }, list_offsets = { 2, 0, 5, 32767 }, create_topics = { 19, 0, 5, 5 },
      delete_topics = { 20, 0, 4, 4 }, create_partitions = { 37, 0, 2, 2 }, describe_configs = { 32, 0, 4, 4 },
      -- consumer groups (issue 3)
      offset_commit = { 8, 0, 8, 8 }, offset_fetch = { 9, 0, 7, 6 }, find_coordinator = { 10, 0, 3, 3 },
      join_group = { 11, 0, 7, 6 }, heartbeat = { 12, 0, 4, 4 }, leave_group = { 13, 0, 4, 4 },
      sync_group = { 14, 0, 5, 4 }, describe_groups = { 15, 0, 5, 5 }, list_groups = { 16, 0, 4, 3 },
      delete_groups = { 42, 0, 2, 2 },
    }
    for api, w in pairs(want) do
      local up = "ML_API_" .. api:upper()
      assert.same(w, { lib[up .. "_KEY"], lib[up .. "_MIN"], lib[up .. "_MAX"], lib[up .. "_FLEX"] }, api)
      assert.same({ w[1], w[2], w[3] }, { P.defs[api].key, P.defs[api].valid[1], P.defs[api].valid[2] }, api)
    end
  end)

  it("init sets the JSON defaults", function()
    local m = ffi.new("ml_fetch_request")
    lib.ml_fetch_request_init(m)
    assert.equal(-1, m.replica_id)
    assert.equal(0x7fffffff, m.max_bytes)
    assert.equal(-1, m.session_epoch)
    assert.equal(-1, m.cluster_id.len)
    assert.equal(0, m.rack_id.len)
    assert.equal(0, m.n_topics)
    local p = ffi.new("ml_partition_data")
    lib.ml_partition_data_init(p)
    assert.equal(-1LL, p.last_stable_offset)
    assert.equal(-1, p.preferred_read_replica)
    assert.equal(-1, p.current_leader.leader_id)
    assert.equal(-1LL, p.snapshot_id.end_offset)
    local t = ffi.new("ml_metadata_response_topic")
    lib.ml_metadata_response_topic_init(t)
    assert.equal(-2147483648, t.topic_authorized_operations)
    local r = ffi.new("ml_metadata_request")
    lib.ml_metadata_request_init(r)
    assert.equal(1, r.allow_auto_topic_creation)
    local c = ffi.new("ml_create_topics_request")
    lib.ml_create_topics_request_init(c)
    assert.equal(60000, c.timeout_ms)
  end)

  it("init of every struct, top-level and nested, sets every field to its JSON default", function()
    local checked = 0
    local function check(ctype, fields, valid)
      local m = ffi.new(ctype)
      ffi.fill(m, ffi.sizeof(m), 0x5a) -- init must not rely on zeroed memory
      lib[ctype .. "_init"](m)
      assert.same(expected(fields, -math.huge, {}), from_c(fields, m), ctype)
      checked = checked + 1
      for _, f in ipairs(fields) do
        if f.fields then
          local lo, hi = range(f.versions)
          if lo <= valid[2] and hi >= valid[1] then check(struct_ctype(elem_of(f) or f.type), f.fields, valid) end
        end
      end
    end
    for _, api in ipairs(P.apis) do
      local def = P.defs[api]
      check(top_ctype(api, "request"), def.request, def.valid)
      check(top_ctype(api, "response"), def.response, def.valid)
    end
    assert.is_true(checked >= 50)
  end)

  describe("round trip", function()
    each_case(function(api, def, side, v)
      it(string.format("%s %s v%d: C bytes = reference bytes, decode = values", api, side, v), function()
        for _, variant in ipairs({ "full", "nulls", "empty" }) do
          local vals = sample_struct(def[side], v, variant)
          local bytes = c_encode(api, side, v, vals)
          assert.equal(P.hex(reference_encode(def, side, v, vals)), P.hex(bytes), variant)
          local rc, got, used = c_decode(api, side, v, bytes)
          assert.equal(0, rc, variant)
          assert.equal(#bytes, used, variant)
          assert.same(expected(def[side], v, vals), got, variant)
        end
      end)
    end)
  end)

  describe("known bytes", function()
    it("an ApiVersions v0-v2 request body is empty", function()
      for v = 0, 2 do
        local m = ffi.new("ml_api_versions_request")
        lib.ml_api_versions_request_init(m)
        assert.equal("", P.written(function(w) lib.ml_api_versions_request_encode(w, v, m) end))
        local rc, got = c_decode("api_versions", "request", v, "")
        assert.equal(0, rc)
        assert.same({ client_software_name = "", client_software_version = "" }, got)
      end
    end)

    it("an ApiVersions v3 request is two compact strings and an empty tagged section", function()
      local bytes = c_encode("api_versions", "request", 3,
        { ClientSoftwareName = "kcat", ClientSoftwareVersion = "1.7.0" })
      assert.equal("05 6b 63 61 74 06 31 2e 37 2e 30 00", P.hex(bytes))
    end)

    it("an ApiVersions v3 response carries a known tagged field", function()
      local bytes = c_encode("api_versions", "response", 3, {
        ErrorCode = 0, ApiKeys = { { ApiKey = 18, MinVersion = 0, MaxVersion = 3 } }, ThrottleTimeMs = 0,
        SupportedFeatures = {}, FinalizedFeaturesEpoch = ffi.new("int64_t", 5), FinalizedFeatures = {},
        ZkMigrationReady = 0,
      })
      assert.equal("00 00 02 00 12 00 00 00 03 00 00 00 00 00 01 01 08 00 00 00 00 00 00 00 05", P.hex(bytes))
      local rc, got = c_decode("api_versions", "response", 3, bytes)
      assert.equal(0, rc)
      assert.equal("5LL", got.finalized_features_epoch)
    end)

    it("a Metadata v0 request for topic a is 00 00 00 01 00 01 61", function()
      local bytes = c_encode("metadata", "request", 0, { Topics = { { Name = "a" } } })
      assert.equal("00 00 00 01 00 01 61", P.hex(bytes))
      local rc, got = c_decode("metadata", "request", 0, bytes)
      assert.equal(0, rc)
      assert.same({ { name = "a" } }, got.topics)
    end)

    it("a Metadata v9 request uses compact arrays and strings and tagged sections", function()
      local bytes = c_encode("metadata", "request", 9, {
        Topics = { { Name = "a" } }, AllowAutoTopicCreation = 1,
        IncludeClusterAuthorizedOperations = 0, IncludeTopicAuthorizedOperations = 0,
      })
      -- topics: length+1, name: length+1 "a", topic tags; allow; two includes; request tags
      assert.equal("02 02 61 00 01 00 00 00", P.hex(bytes))
    end)

    it("a null topic list (all topics) is -1 in v1 and 0 in v9, and not allowed in v0", function()
      local m = ffi.new("ml_metadata_request")
      lib.ml_metadata_request_init(m)
      m.n_topics = -1
      assert.equal("ff ff ff ff", P.hex(P.written(function(w) lib.ml_metadata_request_encode(w, 1, m) end)))
      assert.equal("00 01 00 00 00", P.hex(P.written(function(w) lib.ml_metadata_request_encode(w, 9, m) end)))
      local rc, got = c_decode("metadata", "request", 1, P.unhex("ff ff ff ff"))
      assert.equal(0, rc)
      assert.equal(NULL, got.topics)
      assert.equal(P.ECORRUPT, (c_decode("metadata", "request", 0, P.unhex("ff ff ff ff"))))
    end)

    it("a Produce v3 request with a null transactional id and null records", function()
      local bytes = c_encode("produce", "request", 3, {
        TransactionalId = NULL, Acks = -1, TimeoutMs = 1500,
        TopicData = { { Name = "t", PartitionData = { { Index = 2, Records = NULL } } } },
      })
      assert.equal("ff ff ff ff 00 00 05 dc 00 00 00 01 00 01 74 00 00 00 01 00 00 00 02 ff ff ff ff", P.hex(bytes))
    end)

    it("skips unknown tags and decodes known ones from their own bounded bytes", function()
      -- Metadata v9 request, then a tagged section with unknown tag 5 (2 bytes)
      local rc, got, used = c_decode("metadata", "request", 9, P.unhex("02 02 61 00 01 00 00 01 05 02 aa bb"))
      assert.equal(0, rc)
      assert.equal(12, used)
      assert.same({ { name = "a" } }, got.topics)
      -- Fetch v12 request: ClusterId (tag 0) claims 4 bytes inside a 1-byte field
      local head = P.unhex("ff ff ff ff 00 00 00 01 00 00 00 01 7f ff ff ff 00 00 00 00 00 ff ff ff ff 01 01 01")
      local ok = head .. P.unhex("01 00 03 03 63 31")
      rc, got = c_decode("fetch", "request", 12, ok)
      assert.equal(0, rc)
      assert.equal("c1", got.cluster_id)
      assert.equal(P.ECORRUPT, (c_decode("fetch", "request", 12, head .. P.unhex("01 00 01 05"))))
    end)

    it("refuses versions outside the supported range", function()
      assert.equal(P.EINVAL, (c_decode("metadata", "request", 10, "")))
      assert.equal(P.EINVAL, (c_decode("produce", "request", 2, "")))
      assert.equal(P.EINVAL, (c_decode("fetch", "response", -1, "")))
    end)
  end)

  describe("malformed input", function()
    it("every truncation of every valid message is an error", function()
      local n = 0
      each_case(function(api, _, side, v)
        local bytes = valid_encoding(api, side, v)
        for len = 0, #bytes - 1 do
          local rc = c_decode(api, side, v, bytes:sub(1, len))
          if rc ~= P.ECORRUPT then
            error(string.format("%s %s v%d: prefix of %d/%d bytes gave %d", api, side, v, len, #bytes, rc))
          end
          n = n + 1
        end
      end)
      assert.is_true(n > 5000)
    end)

    it("negative lengths other than null are errors", function()
      -- Metadata v0 response: brokers count 1, node id, host length -2
      assert.equal(P.ECORRUPT, (c_decode("metadata", "response", 0, P.unhex("00 00 00 01 00 00 00 01 ff fe"))))
      -- ... and a null host (not nullable)
      assert.equal(P.ECORRUPT, (c_decode("metadata", "response", 0, P.unhex("00 00 00 01 00 00 00 01 ff ff"))))
      -- Metadata v1 request: topics count -2
      assert.equal(P.ECORRUPT, (c_decode("metadata", "request", 1, P.unhex("ff ff ff fe"))))
    end)

    it("a huge array count with few bytes left fails before allocating", function()
      local cases = {
        { "metadata", "request", 0, "7f ff ff ff 00 01 61" },
        { "metadata", "request", 9, "80 80 80 80 08 02 61 00 01 00 00 00" }, -- compact 0x7fffffff
        { "metadata", "request", 9, "ff ff ff ff 0f 02 61 00 01 00 00 00" }, -- compact 0xffffffff
        { "delete_topics", "request", 0, "7f ff ff ff 00 01 61 00 00 00 01" },
      }
      for _, c in ipairs(cases) do
        local rc, _, _, a = c_decode(c[1], c[2], c[3], P.unhex(c[4]))
        assert.equal(P.ECORRUPT, rc, c[4])
        assert.equal(0, P.arena_bytes(a), c[4])
      end
      -- nested: Produce v3 response, one topic whose partition count is 0x7fffffff
      local rc, _, _, a = c_decode("produce", "response", 3, P.unhex("00 00 00 01 00 01 74 7f ff ff ff 00 00 00 01"))
      assert.equal(P.ECORRUPT, rc)
      assert.is_true(P.arena_bytes(a) <= 64 * 1024)
      -- nested: ListOffsets v0 response, one topic whose partition count is 0x7fffffff
      rc, _, _, a = c_decode("list_offsets", "response", 0, P.unhex("00 00 00 01 00 01 74 7f ff ff ff"))
      assert.equal(P.ECORRUPT, rc)
      assert.is_true(P.arena_bytes(a) <= 64 * 1024)
      -- int32 array: Metadata v0 response partition replica count 0x7fffffff
      local meta = "00 00 00 00 00 00 00 01 00 00 00 01 74 00 00 00 01 00 00 00 00 00 00 00 00 00 00 7f ff ff ff 00 00 00 01"
      rc, _, _, a = c_decode("metadata", "response", 0, P.unhex(meta))
      assert.equal(P.ECORRUPT, rc)
      assert.is_true(P.arena_bytes(a) <= 64 * 1024)
    end)

    it("2,000 random byte strings decode to an error or success without crashing", function()
      math.randomseed(20240611)
      local cases = {}
      each_case(function(api, _, side, v) cases[#cases + 1] = { api, side, v } end)
      local ok, bad = 0, 0
      for _ = 1, 2000 do
        local len = math.random(0, 48)
        local b = {}
        for i = 1, len do
          -- mostly small bytes, so lengths and counts are often plausible and decoding goes deep
          b[i] = string.char(math.random() < 0.7 and math.random(0, 3) or math.random(0, 255))
        end
        local s = table.concat(b)
        for _, c in ipairs(cases) do
          local rc, _, used, a = c_decode(c[1], c[2], c[3], s)
          if rc == 0 then
            ok = ok + 1
            assert.is_true(used <= #s)
          else
            assert.equal(P.ECORRUPT, rc)
            bad = bad + 1
          end
          assert.is_true(P.arena_bytes(a) <= 4096 + 512 * #s)
        end
      end
      assert.is_true(ok > 0 and bad > 0)
    end)

    it("2,000 mutations of valid messages decode to an error or success without crashing", function()
      math.randomseed(7)
      local msgs = {}
      each_case(function(api, _, side, v) msgs[#msgs + 1] = { api, side, v, (valid_encoding(api, side, v)) } end)
      for i = 1, 2000 do
        local m = msgs[(i - 1) % #msgs + 1]
        local s = m[4]
        if #s > 0 then
          local t = { s:byte(1, -1) }
          for _ = 1, math.random(1, 3) do
            local pos = math.random(1, #t)
            t[pos] = ({ 0x00, 0xff, 0x7f, 0x80, math.random(0, 255) })[math.random(1, 5)]
          end
          s = string.char(unpack(t))
        end
        local rc, _, used, a = c_decode(m[1], m[2], m[3], s)
        assert.is_true(rc == 0 or rc == P.ECORRUPT)
        assert.is_true(used <= #s)
        assert.is_true(P.arena_bytes(a) <= 4096 + 512 * #s)
      end
    end)
  end)
end)
