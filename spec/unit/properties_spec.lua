-- The Java .properties reader (core/common/properties.c) and its typed value parsers.
local ffi = require "ffi"
local c = require "common_ffi"
local lib = c.lib

-- Parses text; returns { {key, value, line}, ... } plus a get(key) function, or nil, rc, message.
local function parse(text, name)
  local pp, e = ffi.new("ml_props *[1]"), c.common.err()
  local rc = lib.ml_props_parse(text, #text, name or "test.properties", pp, e)
  if rc ~= 0 then return nil, rc, ffi.string(e.msg) end
  local p = ffi.gc(pp[0], lib.ml_props_free)
  local list = {}
  for i = 0, lib.ml_props_count(p) - 1 do
    list[#list + 1] = { ffi.string(lib.ml_props_key(p, i)), ffi.string(lib.ml_props_value(p, i)), lib.ml_props_line(p, i) }
  end
  local function get(key)
    local v = lib.ml_props_get(p, key)
    return v ~= nil and ffi.string(v) or nil
  end
  return list, get, p
end

describe("properties syntax", function()
  it("reads key=value, key: value and key value, trimming blanks around them", function()
    local list = parse("a=1\nb: 2\nc 3\n  d  =  4  \n\te\t:\t5\t\nf\t6\ng =\nh\ni:=x\nj  = = y\n")
    assert.same({
      { "a", "1", 1 }, { "b", "2", 2 }, { "c", "3", 3 }, { "d", "4", 4 }, { "e", "5", 5 }, { "f", "6", 6 },
      { "g", "", 7 }, { "h", "", 8 }, { "i", "=x", 9 }, { "j", "= y", 10 },
    }, list)
  end)

  it("keeps blanks and separators inside a value", function()
    local _, get = parse("listeners = PLAINTEXT://host:9092\nmsg=a = b : c  d\nurl: http://x/y?z=1\n")
    assert.equal("PLAINTEXT://host:9092", get("listeners"))
    assert.equal("a = b : c  d", get("msg"))
    assert.equal("http://x/y?z=1", get("url"))
  end)

  it("skips # and ! comments and blank lines, counting their lines", function()
    local list = parse("# comment\n! other comment\n\n   \n  # indented comment\nk=v\n\t\n#k=no\nk2 = v2 # not a comment\n")
    assert.same({ { "k", "v", 6 }, { "k2", "v2 # not a comment", 9 } }, list)
  end)

  it("does not continue a comment ending with a backslash", function()
    local list = parse("# comment \\\nk=v\n")
    assert.same({ { "k", "v", 2 } }, list)
  end)

  it("joins continued lines, dropping the next line's leading blanks, with the first line's number", function()
    local list = parse("a=1\nlog.dirs=/d1,\\\n         /d2,\\\n   /d3\nb=2\n")
    assert.same({ { "a", "1", 1 }, { "log.dirs", "/d1,/d2,/d3", 2 }, { "b", "2", 5 } }, list)
  end)

  it("continues only after an odd number of backslashes", function()
    local list = parse("a=x\\\\\nb=y\\\\\\\nz\n")
    assert.same({ { "a", "x\\", 1 }, { "b", "y\\z", 2 } }, list)
  end)

  it("continues a key and a line whose continuation starts with # or is empty", function()
    local list = parse("lo\\\n  ng.key = va\\\n#lue\nk=\\\n\nn=1\n")
    assert.same({ { "long.key", "va#lue", 1 }, { "k", "", 4 }, { "n", "1", 6 } }, list)
  end)

  it("decodes \\t \\n \\r \\f \\\\ \\uXXXX and escaped separators", function()
    local _, get = parse(
      "tab=a\\tb\nnl=a\\nb\ncr=a\\rb\nff=a\\fb\nbs=a\\\\b\nu=caf\\u00e9 \\u20AC\nq=\\q\\=\\:\\#\\!\n" ..
      "key\\ with\\ blanks = v\nk\\=eq=1\nk\\:colon:2\nemoji=\\uD83D\\uDE00\nlone=\\uD83D!\ntrail=a\\ \n")
    assert.equal("a\tb", get("tab"))
    assert.equal("a\nb", get("nl"))
    assert.equal("a\rb", get("cr"))
    assert.equal("a\fb", get("ff"))
    assert.equal("a\\b", get("bs"))
    assert.equal("caf\195\169 \226\130\172", get("u"))
    assert.equal("q=:#!", get("q"))
    assert.equal("v", get("key with blanks"))
    assert.equal("1", get("k=eq"))
    assert.equal("2", get("k:colon"))
    assert.equal("\240\159\152\128", get("emoji"))
    assert.equal("\239\191\189!", get("lone"))
    assert.equal("a ", get("trail")) -- an escaped blank stays
  end)

  it("refuses a malformed \\u escape, naming the file and line", function()
    local list, rc, msg = parse("a=1\n\nb=\\u12G4\n", "server.properties")
    assert.is_nil(list)
    assert.equal(c.EINVAL, rc)
    assert.equal("server.properties:3: malformed \\uXXXX escape", msg)
    list, rc = parse("a=\\u12")
    assert.equal(c.EINVAL, rc)
  end)

  it("reads \\r\\n and \\r line ends and a last line without one", function()
    local list = parse("a=1\r\nb=2\rc=3\r\n\r\nd=\\\r\n  4\re=5")
    assert.same({ { "a", "1", 1 }, { "b", "2", 2 }, { "c", "3", 3 }, { "d", "4", 5 }, { "e", "5", 7 } }, list)
  end)

  it("drops a backslash at the very end of the text", function()
    assert.same({ { "a", "b", 1 } }, (parse("a=b\\")))
  end)

  it("gives the later of two settings of a key, at the first one's place", function()
    local list, get = parse("a=1\nb=2\na=3\n")
    assert.same({ { "a", "3", 3 }, { "b", "2", 2 } }, list)
    assert.equal("3", get("a"))
    assert.is_nil(get("c"))
  end)

  it("reads an empty text and one of only comments", function()
    assert.same({}, (parse("")))
    assert.same({}, (parse("# nothing\n\n! here")))
  end)

  it("refuses a NUL byte", function()
    local list, rc, msg = parse("a=1\nb=x\0y\n")
    assert.is_nil(list)
    assert.equal(c.EINVAL, rc)
    assert.matches(":2:", msg)
  end)
end)

describe("properties sets", function()
  it("can be built and changed by a program (line 0), later set wins", function()
    local p = ffi.gc(lib.ml_props_new("cli"), lib.ml_props_free)
    assert.equal("cli", ffi.string(lib.ml_props_name(p)))
    assert.equal(0, lib.ml_props_set(p, "k", "v1"))
    assert.equal(0, lib.ml_props_set_line(p, "j", "w", 12))
    assert.equal(0, lib.ml_props_set(p, "k", "v2"))
    assert.equal(2, lib.ml_props_count(p))
    assert.equal("v2", ffi.string(lib.ml_props_get(p, "k")))
    assert.equal(0, lib.ml_props_line(p, 0))
    assert.equal(12, lib.ml_props_line(p, 1))
    assert.is_true(lib.ml_props_key(p, 2) == nil)
  end)

  it("loads a file, naming it in messages, and fails with ML_EIO on a missing one", function()
    local dir = c.tmpdir()
    local path = dir .. "/server.properties"
    c.write_file(path, "# broker\nbroker.id=3\nlog.dirs = /a, /b\n")
    local pp, e = ffi.new("ml_props *[1]"), c.common.err()
    c.check(lib.ml_props_load(path, pp, e), e)
    local p = ffi.gc(pp[0], lib.ml_props_free)
    assert.equal(path, ffi.string(lib.ml_props_name(p)))
    assert.equal("3", ffi.string(lib.ml_props_get(p, "broker.id")))
    assert.equal("/a, /b", ffi.string(lib.ml_props_get(p, "log.dirs")))
    assert.equal(3, lib.ml_props_line(p, 1))
    local rc = lib.ml_props_load(dir .. "/missing.properties", pp, e)
    assert.equal(c.EIO, rc)
    assert.matches("missing.properties", ffi.string(e.msg))
    c.rmdir(dir)
  end)

  it("loads a file larger than its read buffer", function()
    local dir = c.tmpdir()
    local lines = {}
    for i = 1, 5000 do lines[i] = "key." .. i .. " = value number " .. i end
    c.write_file(dir .. "/big.properties", table.concat(lines, "\n"))
    local pp, e = ffi.new("ml_props *[1]"), c.common.err()
    c.check(lib.ml_props_load(dir .. "/big.properties", pp, e), e)
    local p = ffi.gc(pp[0], lib.ml_props_free)
    assert.equal(5000, lib.ml_props_count(p))
    assert.equal("value number 4321", ffi.string(lib.ml_props_get(p, "key.4321")))
    assert.equal(4321, lib.ml_props_line(p, 4320))
    c.rmdir(dir)
  end)
end)

describe("typed values", function()
  local out = ffi.new("int64_t[1]")
  local function int(s, min, max)
    local rc = lib.ml_parse_int64(s, min or -9223372036854775807LL - 1, max or 9223372036854775807LL, out)
    if rc ~= 0 then return nil, rc end
    return out[0]
  end

  it("parses integers with an optional sign", function()
    assert.equal(0LL, int("0"))
    assert.equal(42LL, int("+42"))
    assert.equal(-1LL, int("-1"))
    assert.equal(9223372036854775807LL, int("9223372036854775807"))
    assert.equal(-9223372036854775807LL - 1, int("-9223372036854775808"))
  end)

  it("refuses what is not an integer with ML_EINVAL", function()
    for _, s in ipairs({ "", " 1", "1 ", "abc", "1.5", "0x10", "1e3", "-", "+", "12a", "--1" }) do
      local v, rc = int(s)
      assert.is_nil(v, s)
      assert.equal(c.EINVAL, rc, s)
    end
  end)

  it("refuses integers out of range with ML_ERANGE", function()
    assert.same({ nil, c.ERANGE }, { int("13", 14, 100) })
    assert.same({ nil, c.ERANGE }, { int("101", 14, 100) })
    assert.equal(14LL, int("14", 14, 100))
    assert.same({ nil, c.ERANGE }, { int("9223372036854775808") })
    assert.same({ nil, c.ERANGE }, { int("-9223372036854775809") })
  end)

  it("parses booleans as Kafka does (true/false, any case)", function()
    local b = ffi.new("int[1]")
    for s, want in pairs({ ["true"] = 1, ["TRUE"] = 1, ["True"] = 1, ["false"] = 0, ["FaLsE"] = 0 }) do
      assert.equal(0, lib.ml_parse_bool(s, b))
      assert.equal(want, b[0])
    end
    for _, s in ipairs({ "yes", "1", "0", "", "true ", "t" }) do
      assert.equal(c.EINVAL, lib.ml_parse_bool(s, b), s)
    end
  end)
end)
