-- moonlog topics against moonlogd (the admin client's CreateTopics, Metadata, CreatePartitions and
-- DeleteTopics), as kafka-topics is used: every change is checked through kcat's view of the
-- cluster as well, and each refusal names the topic and Kafka's error and exits non-zero.
local process = require "process"
local brokers = require "broker"
local client = require "client"

describe("moonlog topics", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "2" } }
    dir = process.tmpdir("cli-topics")
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  -- (exit status 0, stdout, stderr)
  local function topics(args)
    local ok, out = process.sh(client.cli .. " topics --bootstrap-server " .. b.bootstrap .. " " .. args ..
      " 2>" .. dir .. "/err")
    return ok, out, process.read_file(dir .. "/err") or ""
  end

  -- Partition count of a topic as librdkafka sees it in Metadata (kcat -L of every topic: asking
  -- for one would auto-create it), nil when absent.
  local function kcat_partitions(topic)
    local ok, out = process.sh("kcat -L -b " .. b.bootstrap)
    assert(ok, out)
    return tonumber(out:match('topic "' .. topic .. '" with (%d+) partitions'))
  end

  it("creates a topic with partitions and configs, and lists and describes it", function()
    local ok, out, err = topics("--create --topic orders --partitions 3 --replication-factor 1 " ..
      "--config retention.ms=3600000 --config cleanup.policy=delete")
    assert(ok, err)
    assert.are.equal("Created topic orders.\n", out)
    assert.are.equal(3, kcat_partitions("orders"))
    ok, out, err = topics("--list")
    assert(ok, err)
    assert.truthy(out:find("^orders\n") or out:find("\norders\n"), out)
    ok, out, err = topics("--describe --topic orders")
    assert(ok, err)
    assert.truthy(out:find("Topic: orders\tPartitionCount: 3\tReplicationFactor: 1\t" ..
      "Configs: cleanup.policy=delete,retention.ms=3600000\n", 1, true), out)
    for p = 0, 2 do
      assert.truthy(out:find("\tTopic: orders\tPartition: " .. p .. "\tLeader: 0\tReplicas: 0\tIsr: 0\n", 1, true), out)
    end
  end)

  it("uses the broker's num.partitions when --partitions is not given", function()
    local ok, out, err = topics("--create --topic defaults")
    assert(ok, err)
    assert.are.equal("Created topic defaults.\n", out)
    assert.are.equal(2, kcat_partitions("defaults"))
    local out2
    ok, out2, err = topics("--describe --topic defaults")
    assert(ok, err)
    assert.truthy(out2:find("Topic: defaults\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: \n", 1, true), out2)
  end)

  it("refuses an existing topic, a bad partition count and a bad config, naming each", function()
    assert(topics("--create --topic twice --partitions 1"))
    local ok, out, err = topics("--create --topic twice --partitions 1")
    assert.is_false(ok)
    assert.are.equal("", out)
    assert.truthy(err:find("topic 'twice': TOPIC_ALREADY_EXISTS", 1, true), err)
    ok, _, err = topics("--create --topic zero --partitions 0")
    assert.is_false(ok)
    assert.truthy(err:find("topic 'zero': INVALID_PARTITIONS", 1, true), err)
    ok, _, err = topics("--create --topic badcfg --config retention.ms=soon")
    assert.is_false(ok)
    assert.truthy(err:find("topic 'badcfg': INVALID_CONFIG", 1, true) and err:find("retention.ms", 1, true), err)
    assert.is_nil(kcat_partitions("zero"))
    assert.is_nil(kcat_partitions("badcfg"))
    ok, _, err = topics("--create --topic x --partitions many")
    assert.is_false(ok)
    assert.truthy(err:find("--partitions many: not an integer", 1, true), err)
  end)

  it("adds partitions with --alter and refuses to shrink a topic", function()
    assert(topics("--create --topic grow --partitions 2"))
    local ok, _, err = topics("--alter --topic grow --partitions 5")
    assert(ok, err)
    assert.are.equal(5, kcat_partitions("grow"))
    ok, _, err = topics("--alter --topic grow --partitions 3")
    assert.is_false(ok)
    assert.truthy(err:find("topic 'grow': INVALID_PARTITIONS", 1, true), err)
    assert.are.equal(5, kcat_partitions("grow"))
    ok, _, err = topics("--alter --topic grow")
    assert.is_false(ok)
    assert.truthy(err:find("--alter needs --partitions", 1, true), err)
  end)

  it("deletes a topic, and says so for one that does not exist", function()
    assert(topics("--create --topic gone --partitions 1"))
    local ok, _, err = topics("--delete --topic gone")
    assert(ok, err)
    process.wait_for("topic 'gone' to leave the metadata", 10, function() return kcat_partitions("gone") == nil end)
    local out
    ok, out, err = topics("--list")
    assert(ok, err)
    assert.is_nil(out:find("gone", 1, true), out)
    ok, _, err = topics("--delete --topic gone")
    assert.is_false(ok)
    assert.truthy(err:find("topic 'gone': UNKNOWN_TOPIC_OR_PARTITION", 1, true), err)
    ok, _, err = topics("--describe --topic gone")
    assert.is_false(ok)
    assert.truthy(err:find("topic 'gone': UNKNOWN_TOPIC_OR_PARTITION", 1, true), err)
  end)

  it("exits non-zero with a message when no broker answers or the action is missing", function()
    local ok, out = process.sh(client.cli .. " topics --bootstrap-server 127.0.0.1:1 --list")
    assert.is_false(ok)
    assert.truthy(out:find("no broker of bootstrap.servers '127.0.0.1:1' answers", 1, true), out)
    local ok2, _, err = topics("--topic x")
    assert.is_false(ok2)
    assert.truthy(err:find("topics needs one of --create", 1, true), err)
  end)
end)
