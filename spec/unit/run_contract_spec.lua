-- The table a `moonlog run` script returns (core/lua/moonlog/run.lua, examples/README.md): what
-- is accepted, and that each refusal names the key; and the name=value arguments of the examples.
local run = require "moonlog.run"

describe("moonlog run: the returned table", function()
  local function h() end
  local base = function(extra)
    local t = { config = { ["bootstrap.servers"] = "127.0.0.1:9" }, on_message = h }
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end

  it("accepts each documented form", function()
    assert.truthy(run.validate(base()))
    assert.truthy(run.validate(base { topics = { "a", "b" }, commit = "batch", on_start = h, on_stop = h }))
    assert.truthy(run.validate(base { assign = { { topic = "a", partition = 0 } } }))
    assert.truthy(run.validate(base { topics = { "a" }, listener = { on_partitions_assigned = h } }))
    assert.truthy(run.validate(base { pattern = "orders[.][0-9]+", commit = "batch" }))
    assert.truthy(run.validate { config = { producer = { acks = "all" } }, on_batch = h })
  end)

  local refusals = {
    { "not a table", 42, "returned a number, not a table" },
    { "an unknown key", base { on_mesage = h }, "unknown key 'on_mesage' in the returned table (known: assign, " },
    { "no handler", { config = {} }, "needs one handler: on_message or on_batch" },
    { "two handlers", base { on_batch = h }, "needs one handler: on_message or on_batch (not both)" },
    { "a handler that is not a function", base { on_message = "x" }, "on_message must be a function, not a string" },
    { "no config", { on_message = h }, "config must be a table of consumer properties" },
    { "a producer config that is not a table", base { config = { producer = "x" } }, "config.producer must be a table" },
    { "topics and assign", base { topics = { "a" }, assign = { { topic = "a", partition = 0 } } }, "not more" },
    { "topics and pattern", base { topics = { "a" }, pattern = "a.*" }, "give one of topics (subscribe), pattern" },
    { "pattern and assign", base { pattern = "a.*", assign = { { topic = "a", partition = 0 } } }, "not more" },
    { "empty topics", base { topics = {} }, "topics must be a non-empty list of topic names" },
    { "a topics string", base { topics = "^a.*" }, "topics must be a non-empty list of topic names (for a pattern, give pattern = \"...\")" },
    { "an empty pattern", base { pattern = "" }, "pattern must be a non-empty string" },
    { "a pattern that is not a string", base { pattern = { "a" } }, "pattern must be a non-empty string" },
    { "a listener with a pattern", base { pattern = "a.*", listener = {} },
      "listener is not taken with pattern: a pattern subscription takes no listener table, only the configuration's rebalance.listener" },
    { "a bad assign entry", base { assign = { { topic = "a" } } }, "assign must be a non-empty list of { topic" },
    { "a listener without topics", base { listener = {} }, "listener needs topics" },
    { "a bad commit mode", base { commit = "sometimes" }, "commit must be \"batch\"" },
  }
  for _, case in ipairs(refusals) do
    it("refuses " .. case[1] .. ", naming it", function()
      local t, err = run.validate(case[2])
      assert.is_nil(t)
      assert.truthy(err:find(case[3], 1, true), err)
    end)
  end
end)

describe("moonlog run: name=value arguments", function()
  it("takes arguments over defaults, and refuses what it does not know", function()
    local o = run.options({ "input=lines", "match=a=b" }, { input = "x", output = "y", match = "." })
    assert.are.same({ input = "lines", output = "y", match = "a=b" }, o)
    local ok, err = pcall(run.options, { "inptu=lines" }, { input = "x", output = "y" })
    assert.is_false(ok)
    assert.truthy(err:find("argument 'inptu=lines': unknown name 'inptu' (known: input, output)", 1, true), err)
    ok, err = pcall(run.options, { "lines" }, { input = "x" })
    assert.truthy(err:find("argument 1 'lines': expected name=value", 1, true), err)
  end)

  it("falls back to $MOONLOG_<NAME>", function()
    local ffi = require "ffi"
    pcall(ffi.cdef, "int setenv(const char *name, const char *value, int overwrite); int unsetenv(const char *name);")
    ffi.C.setenv("MOONLOG_RUN_SPEC_TOPIC", "from-env", 1)
    local o = run.options({}, { run_spec_topic = "default" })
    ffi.C.unsetenv("MOONLOG_RUN_SPEC_TOPIC")
    assert.are.equal("from-env", o.run_spec_topic)
    assert.are.equal("default", run.options({}, { run_spec_topic = "default" }).run_spec_topic)
  end)
end)
