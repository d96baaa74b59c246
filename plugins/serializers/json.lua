-- json: JSON text. A value given as a string must be one JSON document (it is checked and sent
-- as given, without the surrounding blanks); a Lua table, number, boolean is encoded (arrays are
-- tables with keys 1..n; an empty table is encoded as {}). Anything else fails the record.
-- deserialize decodes nothing: it checks the bytes are one JSON document and returns them as
-- text (a table could not leave the plugin's state: see HOOKS.md); anything else fails the record.
local find, sub, byte, format, concat = string.find, string.sub, string.byte, string.format, table.concat

local check_value

local function skip(s, i)
  return (find(s, "[^ \t\r\n]", i)) or #s + 1
end

local function check_string(s, i) -- s[i] == '"'
  i = i + 1
  while true do
    local j = find(s, '["\\%c]', i)
    if not j then return nil, "unterminated string" end
    local c = sub(s, j, j)
    if c == '"' then return j + 1 end
    if c ~= "\\" then return nil, "control character in a string" end
    local e = sub(s, j + 1, j + 1)
    if e == "u" then
      if not find(s, "^%x%x%x%x", j + 2) then return nil, "bad \\u escape" end
      i = j + 6
    elseif find(e, '^["\\/bfnrt]') then
      i = j + 2
    else
      return nil, "bad escape \\" .. e
    end
  end
end

local function check_list(s, i, close, member)
  i = skip(s, i + 1)
  if sub(s, i, i) == close then return i + 1 end
  while true do
    local err
    if member then
      if sub(s, i, i) ~= '"' then return nil, "object key is not a string" end
      i, err = check_string(s, i)
      if not i then return nil, err end
      i = skip(s, i)
      if sub(s, i, i) ~= ":" then return nil, "':' expected" end
      i = skip(s, i + 1)
    end
    i, err = check_value(s, i)
    if not i then return nil, err end
    i = skip(s, i)
    local c = sub(s, i, i)
    if c == close then return i + 1 end
    if c ~= "," then return nil, "',' or '" .. close .. "' expected" end
    i = skip(s, i + 1)
  end
end

function check_value(s, i)
  local c = sub(s, i, i)
  if c == "{" then return check_list(s, i, "}", true) end
  if c == "[" then return check_list(s, i, "]", false) end
  if c == '"' then return check_string(s, i) end
  local _, e = find(s, "^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  if e then return e + 1 end
  for _, lit in ipairs({ "true", "false", "null" }) do
    if sub(s, i, i + #lit - 1) == lit then return i + #lit end
  end
  return nil, "unexpected " .. (c == "" and "end" or "'" .. c .. "'")
end

local function check(s, who)
  local i = skip(s, 1)
  local j, err = check_value(s, i)
  if j then
    local k = skip(s, j)
    if k <= #s then j, err = nil, "text after the document" else return sub(s, i, j - 1) end
  end
  error("json " .. who .. ": not JSON (" .. err .. ")")
end

local encode
local function encode_string(v)
  return '"' .. v:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return named[c] or format("\\u%04x", byte(c))
  end) .. '"'
end

function encode(v, depth)
  local t = type(v)
  if depth > 100 then error("json serializer: nesting deeper than 100") end
  if t == "string" then return encode_string(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("json serializer: " .. tostring(v) .. " has no JSON form") end
    if v == math.floor(v) and math.abs(v) < 2^53 then return format("%d", v) end
    return format("%.17g", v)
  end
  if t == "boolean" then return tostring(v) end
  if t ~= "table" then error("json serializer: cannot encode a " .. t) end
  local n = #v
  local out = {}
  if n > 0 then
    for i = 1, n do out[i] = encode(v[i], depth + 1) end
    return "[" .. concat(out, ",") .. "]"
  end
  for k, x in pairs(v) do out[#out + 1] = encode_string(tostring(k)) .. ":" .. encode(x, depth + 1) end
  table.sort(out)
  return "{" .. concat(out, ",") .. "}"
end

return {
  api = 1,
  kind = "serializer",
  serialize = function(topic, value, headers)
    if value == nil then return nil end
    if type(value) == "string" then return check(value, "serializer") end
    return encode(value, 0)
  end,
  deserialize = function(topic, bytes, headers)
    if bytes == nil then return nil end
    return check(bytes, "deserializer")
  end,
}
