-- Rebalance listener plugins (kind rebalance_listener, plugins/rebalance/) through the hook API,
-- without a broker: a consumer in assign mode (nothing to connect to) is what their `consumer`
-- table reaches.
local process = require "process"
local client = require "client"
local moonlog = client.moonlog

describe("rebalance_listener plugins", function()
  local dir, c
  setup(function() dir = process.tmpdir("rebalance-plugins") end)
  teardown(function() process.rmdir(dir) end)
  before_each(function()
    c = assert(moonlog.consumer { ["bootstrap.servers"] = "127.0.0.1:1", ["auto.offset.reset"] = "earliest" })
    assert(c:assign { { topic = "t", partition = 0 }, { topic = "t", partition = 1 } })
  end)
  after_each(function() c:close() end)

  local function write(name, text)
    local path = dir .. "/" .. name .. ".lua"
    client.write_plugin(path, text)
    return path
  end

  it("are checked at load: at least one function, and functions only", function()
    local pl, err = moonlog.plugin("rebalance_listener", write("none", 'return { api = 1, kind = "rebalance_listener" }'))
    assert.is_nil(pl)
    assert.matches("must define at least one of on_partitions_revoked, on_partitions_assigned, on_partitions_lost",
      err.message, 1, true)
    pl, err = moonlog.plugin("rebalance_listener", write("bad",
      'return { api = 1, kind = "rebalance_listener", on_partitions_lost = 3 }'))
    assert.is_nil(pl)
    assert.matches("must define on_partitions_lost as a function", err.message, 1, true)
    pl, err = moonlog.plugin("rebalance_listener", write("wrongkind",
      'return { api = 1, kind = "partitioner", partition = function() return 0 end }'))
    assert.is_nil(pl)
    assert.matches("kind is 'partitioner', expected 'rebalance_listener'", err.message, 1, true)
  end)

  it("reach the consumer: seek and position, assignment, and an undefined function is not called", function()
    local pl = assert(moonlog.plugin("rebalance_listener", write("seeker", [[
      return { api = 1, kind = "rebalance_listener",
        on_partitions_assigned = function(consumer, partitions)
          local a = consumer.assignment()
          moonlog.count("assigned.seen", #a)
          for _, tp in ipairs(partitions) do assert(consumer.seek(tp.topic, tp.partition, 100 + tp.partition)) end
          local pos = assert(consumer.position("t", 1))
          moonlog.count("position", pos)
          local ok, err = consumer.seek("t", 9, 1)
          assert(not ok and err.name == "NOT_ASSIGNED", "seek of an unassigned partition")
        end }
    ]])))
    assert(pl:rebalance("on_partitions_assigned", c, { { topic = "t", partition = 0 }, { topic = "t", partition = 1 } }))
    assert.are.equal(100, tonumber(c:position("t", 0, 0)))
    assert.are.equal(101, tonumber(c:position("t", 1, 0)))
    assert.are.equal(2, pl:counter("assigned.seen"))
    assert.are.equal(101, pl:counter("position"))
    assert(pl:rebalance("on_partitions_lost", c, { { topic = "t", partition = 0 } }))
    assert.are.equal(1, pl:counter("calls"))
  end)

  it("a listener that raises returns LISTENER naming its file and line, and is counted", function()
    local path = write("raises", [[
      return { api = 1, kind = "rebalance_listener",
        on_partitions_revoked = function(consumer, partitions)
          error("refusing " .. #partitions .. " partitions")
        end }
    ]])
    local pl = assert(moonlog.plugin("rebalance_listener", path))
    local ok, err = pl:rebalance("on_partitions_revoked", c, { { topic = "t", partition = 0 } })
    assert.is_nil(ok)
    assert.are.equal("LISTENER", err.name)
    assert.matches(path .. ":3: refusing 1 partitions", err.message, 1, true)
    assert.are.equal(1, pl:counter("errors"))
    ok, err = pl:rebalance("on_partitions_wrong", c, {})
    assert.is_nil(ok)
    assert.matches("not a rebalance_listener function", err.message, 1, true)
  end)

  it("commit_on_revoke skips partitions without a position and raises when the commit fails", function()
    local pl = assert(moonlog.plugin("rebalance_listener", "commit_on_revoke"))
    assert.matches("plugins/rebalance/commit_on_revoke.lua$", pl:path())
    -- no position yet anywhere (resets pending, no broker): nothing to commit
    assert(pl:rebalance("on_partitions_revoked", c, { { topic = "t", partition = 0 }, { topic = "t", partition = 1 } }))
    assert.are.equal(0, pl:counter("commits"))
    -- a position, but no group.id: the consumer refuses the commit, and the plugin says so
    assert(c:seek("t", 1, 7))
    local ok, err = pl:rebalance("on_partitions_revoked", c, { { topic = "t", partition = 0 }, { topic = "t", partition = 1 } })
    assert.is_nil(ok)
    assert.matches("commit of 1 revoked partitions failed: commits need group.id", err.message, 1, true)
  end)

  it("seek_to_committed asks the group and raises without one; log_only counts each call", function()
    local pl = assert(moonlog.plugin("rebalance_listener", "seek_to_committed"))
    assert(pl:rebalance("on_partitions_assigned", c, {}))
    local ok, err = pl:rebalance("on_partitions_assigned", c, { { topic = "t", partition = 0 } })
    assert.is_nil(ok)
    assert.matches("committed offsets of 1 partitions: commits need group.id", err.message, 1, true)
    local log = assert(moonlog.plugin("rebalance_listener", "log_only"))
    assert(log:rebalance("on_partitions_assigned", c, { { topic = "t", partition = 0 } }))
    assert(log:rebalance("on_partitions_revoked", c, { { topic = "t", partition = 0 } }))
    assert(log:rebalance("on_partitions_lost", c, {}))
    assert.are.equal(1, log:counter("assigned"))
    assert.are.equal(1, log:counter("revoked"))
    assert.are.equal(1, log:counter("lost"))
  end)
end)
