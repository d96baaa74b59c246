-- The examples of core/lua/HOOKS.md (blocks starting with "-- example: <kind>") are real
-- plugins: each is loaded by the host and called as the producer calls it.
local process = require "process"
local client = require "client"
local moonlog = client.moonlog

local doc = assert(process.read_file(client.root .. "/core/lua/HOOKS.md"))
local examples = {}
for block in doc:gmatch("```lua\n(.-)```") do
  local kind = block:match("^%-%- example: (%S+)")
  if kind then examples[kind] = block end
end

describe("HOOKS.md examples", function()
  local dir
  setup(function() dir = process.tmpdir("hooks-doc") end)
  teardown(function() process.rmdir(dir) end)

  local function load(kind, opts)
    assert.is_string(examples[kind], "no example for " .. kind)
    local path = dir .. "/" .. kind .. ".lua"
    client.write_plugin(path, examples[kind])
    return assert(moonlog.plugin(kind, path, opts))
  end

  it("has one example of each kind", function()
    assert.is_string(examples.partitioner)
    assert.is_string(examples.serializer)
    assert.is_string(examples.retry_policy)
    assert.is_string(examples.assignor)
    assert.is_string(examples.rebalance_listener)
  end)

  it("partitioner: murmur2 for keys, sticky until the batch is full", function()
    local pl = load("partitioner")
    assert.are.equal(moonlog.murmur2_partition("foobar", 6), pl:partition("t", "foobar", 6))
    local p = pl:partition("t", nil, 6)
    for _ = 1, 20 do assert.are.equal(p, pl:partition("t", nil, 6)) end
    pl:batch_full("t", p)
    local seen = {}
    for _ = 1, 50 do
      pl:batch_full("t", pl:partition("t", nil, 6))
      seen[pl:partition("t", nil, 6)] = true
    end
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.is_true(n > 1)
  end)

  it("serializer: upper-cases, refuses empty values with its line", function()
    local s = load("serializer")
    assert.are.equal("HELLO", s:serialize("t", "hello"))
    local v, err = s:serialize("t", "")
    assert.is_nil(v)
    assert.truthy(err.message:find("serializer.lua:9: empty values are not allowed on t", 1, true), err.message)
  end)

  it("serializer: deserializes to lower case, and counts to numbers", function()
    local s = load("serializer")
    assert.are.equal("hello", s:deserialize("t", "HELLO"))
    assert.are.equal(12, s:deserialize("t", s:serialize("t", "12 items")))
    assert.is_nil((s:deserialize("t", nil)))
  end)

  it("assignor: every partition to the first member, in the standard encodings", function()
    local proto = require "consumer_protocol"
    local a = load("assignor")
    assert.are.equal("first_takes_all", a:assignor_name())
    local members = {}
    for i, id in ipairs({ "m2", "m1" }) do
      members[i] = { member_id = id, metadata = assert(a:subscription({ "t" })) }
    end
    local res = assert(a:assign(members, { t = 3 }))
    assert.are.same({ t = { 0, 1, 2 } }, (proto.decode_assignment(res.m1)))
    assert.are.same({}, (proto.decode_assignment(res.m2)))
  end)

  it("retry_policy: linear, five attempts, never NOT_ENOUGH_REPLICAS", function()
    local r = load("retry_policy")
    assert.are.equal(50, r:retry(1, 6, 10))
    assert.are.equal(250, r:retry(5, 6, 10))
    assert.is_false(r:retry(6, 6, 10))
    assert.is_false(r:retry(1, 19, 10))
  end)

  it("rebalance_listener: seeks assigned partitions to the configured offsets, commits revoked ones", function()
    local l = load("rebalance_listener", { config = { ["start.t-1"] = "42" } })
    -- a consumer in assign mode, nothing to connect to: seek and position need no broker
    local c = assert(moonlog.consumer { ["bootstrap.servers"] = "127.0.0.1:1" })
    assert(c:assign { { topic = "t", partition = 0 }, { topic = "t", partition = 1 } })
    assert(l:rebalance("on_partitions_assigned", c, { { topic = "t", partition = 0 }, { topic = "t", partition = 1 } }))
    assert.are.equal(42, tonumber(c:position("t", 1, 0)))
    assert.is_nil(c:position("t", 0, 0)) -- not configured: its reset is still pending
    -- the revoked commit reaches the consumer, which refuses it without group.id
    local ok, err = l:rebalance("on_partitions_revoked", c, { { topic = "t", partition = 1 } })
    assert.is_nil(ok)
    assert.matches("commit failed: commits need group.id", err.message, 1, true)
    c:close()
  end)
end)
