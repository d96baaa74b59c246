-- The plugin host (core/lua/plugin.c, contract in core/lua/HOOKS.md): loading and checking,
-- the sandbox, errors naming the plugin and the line, bad return values, time limits, helpers,
-- and hot reload (a changed file is checked in a scratch state; only a valid one replaces).
local process = require "process"
local client = require "client"
local moonlog = client.moonlog

local dir
setup(function() dir = process.tmpdir("plugin-host") end)
teardown(function() process.rmdir(dir) end)

local function plugin_file(name, text)
  local path = dir .. "/" .. name .. ".lua"
  client.write_plugin(path, text)
  return path
end

local function partitioner(body)
  return "return { api = 1, kind = 'partitioner',\n  partition = function(record, cluster)\n" .. body .. "\n  end }\n"
end

describe("loading", function()
  it("refuses a plugin written for another hook API version, naming both versions", function()
    local pl, err = moonlog.plugin("partitioner", plugin_file("v2", "return { api = 2, kind = 'partitioner', partition = function() return 0 end }"))
    assert.is_nil(pl)
    assert.truthy(err.message:find("v2.lua: written for hook API 2, this host supports API 1", 1, true), err.message)
  end)

  it("refuses the wrong kind, a missing function, a non-table, a syntax error (with its line)", function()
    local cases = {
      { "return { api = 1, kind = 'serializer', serialize = function() end }", "kind is 'serializer', expected 'partitioner'" },
      { "return { api = 1, kind = 'partitioner' }", "a partitioner must define partition as a function" },
      { "return 42", "does not return a table" },
      { "return { api = 1 kind = 'partitioner' }", "syntax.lua:1:" },
      { "return { kind = 'partitioner', partition = function() return 0 end }", "has no 'api' number" },
    }
    for i, c in ipairs(cases) do
      local pl, err = moonlog.plugin("partitioner", plugin_file(i == 4 and "syntax" or ("bad" .. i), c[1]))
      assert.is_nil(pl)
      assert.are.equal("INVALID_CONFIG", err.name)
      assert.truthy(err.message:find(c[2], 1, true), err.message)
    end
  end)

  it("refuses precompiled bytecode", function()
    local bc = string.dump(loadstring("return { api = 1, kind = 'partitioner', partition = function() return 0 end }"))
    local path = dir .. "/bytecode.lua"
    process.write_file(path, bc)
    local pl, err = moonlog.plugin("partitioner", path)
    assert.is_nil(pl)
    assert.truthy(err.message:find("bytecode", 1, true), err.message)
  end)

  it("names an unknown plugin and where it looked", function()
    local pl, err = moonlog.plugin("partitioner", "no_such_thing")
    assert.is_nil(pl)
    assert.truthy(err.message:find("partitioners/no_such_thing.lua", 1, true), err.message)
  end)
end)

describe("calls", function()
  it("fail the record with the plugin's error, its file and line", function()
    local path = plugin_file("raises", partitioner("    if record.key == 'bad' then error('no partition for ' .. record.key) end\n    return 0"))
    local pl = assert(moonlog.plugin("partitioner", path))
    assert.are.equal(0, pl:partition("t", "good", 3))
    local p, err = pl:partition("t", "bad", 3)
    assert.is_nil(p)
    assert.are.equal("PARTITIONER", err.name)
    assert.truthy(err.message:find("raises.lua:3: no partition for bad", 1, true), err.message)
    assert.are.equal(0, pl:partition("t", "good", 3)) -- and the plugin goes on
    assert.are.equal(1, pl:counter("errors"))
  end)

  it("refuse a partition out of range or of the wrong type", function()
    for _, ret in ipairs({ "return 3", "return -1", "return 1.5", "return 'zero'", "return nil" }) do
      local pl = assert(moonlog.plugin("partitioner", plugin_file("ret", partitioner(ret))))
      local p, err = pl:partition("t", "k", 3)
      assert.is_nil(p, ret)
      assert.truthy(err.message:find("partition returned", 1, true), err.message)
    end
  end)

  it("see the record: topic, key, value size, partition count", function()
    local pl = assert(moonlog.plugin("partitioner", plugin_file("sees", partitioner(
      "    assert(record.topic == 'orders' and record.key == 'k1' and record.value_size == 77)\n" ..
      "    assert(record.partitions == 9 and cluster.partition_count('orders') == 9)\n" ..
      "    assert(cluster.available('orders', 8) and not cluster.available('orders', 9))\n" ..
      "    assert(cluster.queued_bytes('orders', 1) == 0 and cluster.latency_ms('orders', 1) == nil)\n    return 8"))))
    assert.are.equal(8, pl:partition("orders", "k1", 9, 77))
  end)
end)

describe("the sandbox", function()
  it("gives no io, os.execute, require, loadfile, load, dofile, debug unless plugin.unsafe", function()
    for _, expr in ipairs({ "io.open('/etc/passwd')", "os.execute('true')", "require('ffi')", "loadfile('/etc/passwd')",
                            "loadstring('return 1')", "dofile('/etc/passwd')", "debug.getinfo(1)", "os.exit(1)",
                            "(getmetatable('') or {}).__index.upper", "string.dump(print)" }) do
      local pl = assert(moonlog.plugin("partitioner", plugin_file("sb", partitioner("    local _ = " .. expr .. "\n    return 0"))))
      local p, err = pl:partition("t", nil, 1)
      assert.is_nil(p, expr)
      assert.truthy(err.message:find("sb.lua:3:", 1, true), expr .. ": " .. err.message)
    end
  end)

  it("keeps string, table, math, bit, os.time and the helpers", function()
    local pl = assert(moonlog.plugin("partitioner", plugin_file("allowed", partitioner(
      "    local t = { string.upper('a'), table.concat({ 'b' }), math.floor(1.5), bit.band(3, 1), os.time() }\n" ..
      "    assert(moonlog.api == 1 and moonlog.crc32('123456789') == 0xcbf43926)\n" ..
      "    assert(moonlog.fnv1a('a') == 0xe40c292c and moonlog.murmur2('21') == -973932308)\n" ..
      "    assert(moonlog.now_ms() > 1.6e12 and moonlog.monotonic_ms() > 0)\n" ..
      "    moonlog.count('seen', 2)\n    moonlog.log('debug', 'not shown at the default level')\n    return #t - 5"))))
    assert.are.equal(0, pl:partition("t", nil, 1))
    assert.are.equal(2, pl:counter("seen"))
  end)

  it("opens everything with plugin.unsafe", function()
    local pl = assert(moonlog.plugin("partitioner", plugin_file("unsafe", partitioner(
      "    local f = io.open('/etc/hostname') if f then f:close() end\n    return require('ffi') and 0")), { unsafe = true }))
    assert.are.equal(0, pl:partition("t", nil, 1))
  end)
end)

describe("plugin.timeout.ms", function()
  it("stops a plugin that loops forever and fails only that call", function()
    local pl = assert(moonlog.plugin("partitioner", plugin_file("loops", partitioner(
      "    if record.key == 'loop' then while true do end end\n    return 0")), { timeout_ms = 100 }))
    local t0 = os.clock()
    local p, err = pl:partition("t", "loop", 1)
    assert.is_nil(p)
    assert.are.equal("PLUGIN_TIMEOUT", err.name)
    assert.truthy(err.message:find("loops.lua:3: ran longer than plugin.timeout.ms (100 ms)", 1, true), err.message)
    assert.is_true(os.clock() - t0 < 2)
    assert.are.equal(0, pl:partition("t", "fine", 1))
    assert.are.equal(1, pl:counter("timeouts"))
  end)
end)

describe("hot reload", function()
  it("sees a changed file at once through inotify (the interval check is only a fallback)", function()
    local path = plugin_file("watched", partitioner("    return 0"))
    local p = assert(moonlog.producer { ["bootstrap.servers"] = "127.0.0.1:1", partitioner = path,
                                        ["plugin.reload.interval.ms"] = "600000" })
    client.write_plugin(path, partitioner("    return 1"))
    process.wait_for("the reload", 10, function() return p:counter("plugin.reloads") == 1 end)
    process.write_file(path, partitioner("    return ) 1")) -- written in place this time
    process.wait_for("the refused reload", 10, function() return p:counter("plugin.reload.failures") == 1 end)
    assert.are.equal(1, p:counter("plugin.reloads"))
    assert(p:close())
  end)

  it("installs a valid new version and keeps the old one when the new one is invalid", function()
    local path = plugin_file("live", partitioner("    return 1"))
    local pl = assert(moonlog.plugin("partitioner", path))
    assert.are.equal(1, pl:partition("t", nil, 3))
    assert.is_false(pl:reload_check()) -- unchanged
    client.write_plugin(path, partitioner("    return 2"))
    assert.is_true(pl:reload_check())
    assert.are.equal(2, pl:generation())
    assert.are.equal(2, pl:partition("t", nil, 3))
    client.write_plugin(path, partitioner("    return 0 +"))
    local ok, err = pl:reload_check()
    assert.is_nil(ok)
    assert.truthy(err.message:find("live.lua:4:", 1, true), err.message)
    assert.are.equal(2, pl:generation())
    assert.are.equal(2, pl:partition("t", nil, 3))
    assert.are.equal(1, pl:counter("reload.failures"))
    assert.is_false(pl:reload_check()) -- reported once, not at every check
    client.write_plugin(path, "return { api = 3, kind = 'partitioner', partition = function() return 0 end }")
    assert.is_nil((pl:reload_check()))
    assert.are.equal(2, pl:partition("t", nil, 3))
  end)
end)
