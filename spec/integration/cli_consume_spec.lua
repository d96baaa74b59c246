-- moonlog consume against moonlogd, as Kafka's console consumer is used: without a group it
-- assigns every partition (from the end, or the log start with --from-beginning), with one it
-- subscribes and commits; records written by kcat (librdkafka) come out in Kafka's console format.
local process = require "process"
local brokers = require "broker"
local client = require "client"

describe("moonlog consume", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "3", ["group.initial.rebalance.delay.ms"] = "0" } }
    dir = process.tmpdir("cli-consume")
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  -- (exit status 0, stdout, stderr)
  local function consume(args)
    local ok, out = process.sh(client.cli .. " consume --bootstrap-server " .. b.bootstrap .. " " .. args ..
      " 2>" .. dir .. "/err")
    return ok, out, process.read_file(dir .. "/err") or ""
  end

  -- kcat -P of "key:value" lines into one partition, with extra kcat options (headers).
  local function produce(topic, partition, lines, opts)
    process.write_file(dir .. "/in", table.concat(lines, "\n") .. "\n")
    local ok, out = process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -p " .. partition ..
      " -K: " .. (opts or "") .. " < " .. dir .. "/in")
    assert(ok, out)
  end

  local function lines(s)
    local t = {}
    for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
    return t
  end

  local function create(topic, partitions)
    local ok, out = process.sh(client.cli .. " topics --bootstrap-server " .. b.bootstrap .. " --create --topic " ..
      topic .. " --partitions " .. partitions)
    assert(ok, out)
  end

  it("prints every partition from the beginning with Kafka's formatter properties, up to --max-messages", function()
    create("fmt", 2)
    produce("fmt", 0, { "k1:v1", "k2:v2" }, "-H h1=x -H h2=y")
    produce("fmt", 1, { "k3:v3" })
    local ok, out, err = consume("--topic fmt --from-beginning --max-messages 3 --property print.key=true " ..
      "--property print.partition=true --property print.offset=true --property print.timestamp=true " ..
      "--property print.headers=true --property key.separator=' | '")
    assert(ok, err)
    local got = lines(out)
    assert.are.equal(3, #got, out)
    table.sort(got, function(x, y) return x:gsub("^CreateTime:%d+", "") < y:gsub("^CreateTime:%d+", "") end)
    local patterns = {
      "^CreateTime:%d+ | Partition:0 | Offset:0 | h1:x,h2:y | k1 | v1$",
      "^CreateTime:%d+ | Partition:0 | Offset:1 | h1:x,h2:y | k2 | v2$",
      "^CreateTime:%d+ | Partition:1 | Offset:0 | NO_HEADERS | k3 | v3$",
    }
    for i, p in ipairs(patterns) do assert.truthy(got[i]:find(p), got[i]) end
    assert.truthy(err:find("Processed a total of 3 messages", 1, true), err)
  end)

  it("prints values only by default, and null for a null key", function()
    create("plain", 1)
    process.write_file(dir .. "/in", "a\nb\n")
    assert(process.sh("kcat -P -b " .. b.bootstrap .. " -t plain -p 0 < " .. dir .. "/in"))
    local ok, out, err = consume("--topic plain --from-beginning --max-messages 2")
    assert(ok, err)
    assert.are.equal("a\nb\n", out)
    ok, out, err = consume("--topic plain --from-beginning --max-messages 1 --property print.key=true")
    assert(ok, err)
    assert.are.equal("null\ta\n", out)
  end)

  it("starts at the end without --from-beginning, and at --offset of one --partition", function()
    create("ends", 3)
    produce("ends", 1, { "a:0", "b:1", "c:2", "d:3" })
    local ok, out, err = consume("--topic ends --timeout-ms 1500")
    assert(ok, err)
    assert.are.equal("", out)
    assert.truthy(err:find("Processed a total of 0 messages", 1, true), err)
    ok, out, err = consume("--topic ends --partition 1 --offset 2 --timeout-ms 1500 --property print.offset=true")
    assert(ok, err)
    assert.are.equal("Offset:2\t2\nOffset:3\t3\n", out)
  end)

  it("with --group: commits what it printed, so the next run goes on from there, nothing twice", function()
    create("grp", 3)
    for p = 0, 2 do
      local l = {}
      for i = 1, 5 do l[i] = "k" .. p .. "-" .. i .. ":" .. p .. "-" .. i end
      produce("grp", p, l)
    end
    local ok, out, err = consume("--topic grp --group cg --from-beginning --max-messages 4")
    assert(ok, err)
    local first = lines(out)
    assert.are.equal(4, #first, out)
    ok, out, err = consume("--topic grp --group cg --from-beginning --timeout-ms 4000")
    assert(ok, err)
    local seen, n = {}, 0
    for _, v in ipairs(first) do seen[v] = true; n = n + 1 end
    for _, v in ipairs(lines(out)) do
      assert.is_nil(seen[v], v .. " printed twice")
      seen[v] = true
      n = n + 1
    end
    assert.are.equal(15, n)
  end)

  it("closes cleanly on SIGTERM, committing its positions", function()
    create("sig", 2)
    produce("sig", 0, { "a:1", "b:2", "c:3" })
    produce("sig", 1, { "d:4", "e:5" })
    local out = dir .. "/sig.out"
    local p = process.spawn { argv = { client.cli, "consume", "--bootstrap-server", b.bootstrap, "--topic", "sig",
      "--group", "sg", "--from-beginning" }, stdout = out, stderr = dir .. "/sig.err" }
    local ok, e = pcall(function()
      process.wait_for("5 records printed", 20, function()
        return #lines(process.read_file(out) or "") == 5
      end)
      p:signal(process.SIGTERM)
      assert.are.equal(0, p:wait(20))
    end)
    p:stop()
    assert(ok, e)
    assert.truthy((process.read_file(dir .. "/sig.err") or ""):find("Processed a total of 5 messages", 1, true))
    local ok2, again, err = consume("--topic sig --group sg --from-beginning --timeout-ms 3000")
    assert(ok2, err)
    assert.are.equal("", again)
  end)

  it("refuses an unknown topic, formatter property or consumer property by name", function()
    local ok, _, err = consume("--topic nothere --from-beginning")
    assert.is_false(ok)
    assert.truthy(err:find("topic 'nothere': UNKNOWN_TOPIC_OR_PARTITION", 1, true), err)
    ok, _, err = consume("--topic plain --from-beginnin")
    assert.is_false(ok)
    assert.truthy(err:find("unknown option --from-beginnin", 1, true), err)
    ok, _, err = consume("--topic plain --property print.color=true")
    assert.is_false(ok)
    assert.truthy(err:find("--property print.color: unknown", 1, true), err)
    ok, _, err = consume("--topic plain --consumer-property fetch.max.wait=3")
    assert.is_false(ok)
    assert.truthy(err:find("fetch.max.wait", 1, true), err)
    process.write_file(dir .. "/c.properties", "# consumer\nmax.poll.records=0\n")
    ok, _, err = consume("--topic plain --consumer.config " .. dir .. "/c.properties")
    assert.is_false(ok)
    assert.truthy(err:find(dir .. "/c.properties:2: max.poll.records", 1, true), err)
  end)
end)
