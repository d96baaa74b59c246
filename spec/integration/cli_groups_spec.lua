-- moonlog groups against moonlogd, as kafka-consumer-groups is used: the lag of a group after
-- `moonlog consume` committed, the members of a live group (a moonlog consumer, and a kcat -G
-- librdkafka consumer whose assignment is decoded from the standard consumer protocol), deletion.
local process = require "process"
local brokers = require "broker"
local client = require "client"

describe("moonlog groups", function()
  local b, dir

  setup(function()
    b = brokers.start { overrides = { ["num.partitions"] = "3", ["group.initial.rebalance.delay.ms"] = "0" } }
    dir = process.tmpdir("cli-groups")
  end)
  teardown(function()
    if b then b:stop() end
    process.rmdir(dir)
  end)

  local function cli(args)
    local ok, out = process.sh(client.cli .. " " .. args:gsub("BOOT", b.bootstrap) .. " 2>" .. dir .. "/err")
    return ok, out, process.read_file(dir .. "/err") or ""
  end

  local function produce(topic, partition, n)
    local l = {}
    for i = 1, n do l[i] = "v" .. partition .. "-" .. i end
    process.write_file(dir .. "/in", table.concat(l, "\n") .. "\n")
    assert(process.sh("kcat -P -b " .. b.bootstrap .. " -t " .. topic .. " -p " .. partition .. " < " .. dir .. "/in"))
  end

  -- The rows of a --describe table under its header, each as a list of columns.
  local function table_rows(out, header)
    local rows, seen = {}, false
    for line in out:gmatch("([^\n]*)\n?") do
      local cols = {}
      for c in line:gmatch("%S+") do cols[#cols + 1] = c end
      if cols[1] == header then seen = true
      elseif seen and #cols > 0 then rows[#rows + 1] = cols end
    end
    assert.truthy(seen, "no header in:\n" .. out)
    return rows
  end

  -- The committed offsets, log ends and lags of `group` by "topic-partition" (nil, the error
  -- when `maybe` and the group is not there yet).
  local function describe(group, maybe)
    local ok, out, err = cli("groups --bootstrap-server BOOT --describe --group " .. group)
    if maybe and not ok and err:find("does not exist", 1, true) then return nil, err end
    assert(ok, err)
    local by = {}
    for _, r in ipairs(table_rows(out, "GROUP")) do
      by[r[2] .. "-" .. r[3]] = { current = r[4], log_end = r[5], lag = r[6], member = r[7], host = r[8], client = r[9] }
    end
    return by, out
  end

  it("--describe shows the committed offsets, log ends and lag after a commit; --list lists the group", function()
    assert(cli("topics --bootstrap-server BOOT --create --topic lag --partitions 2"))
    produce("lag", 0, 6)
    produce("lag", 1, 4)
    local ok, _, err = cli("consume --bootstrap-server BOOT --topic lag --group lg --from-beginning --max-messages 7")
    assert(ok, err)
    local by, out = describe("lg")
    assert.truthy(out:find("Consumer group 'lg' has no active members.", 1, true), out)
    local p0, p1 = by["lag-0"], by["lag-1"]
    assert.are.equal("6", p0.log_end)
    assert.are.equal("4", p1.log_end)
    -- 7 of 10 were printed and committed: whatever the split, the lags add up to 3
    assert.are.equal(7, tonumber(p0.current) + tonumber(p1.current))
    assert.are.equal(6 - tonumber(p0.current), tonumber(p0.lag))
    assert.are.equal(4 - tonumber(p1.current), tonumber(p1.lag))
    assert.are.equal("-", p0.member)
    produce("lag", 1, 5)
    by = describe("lg")
    assert.are.equal("9", by["lag-1"].log_end)
    assert.are.equal(9 - tonumber(by["lag-1"].current), tonumber(by["lag-1"].lag))
    local listed
    ok, listed, err = cli("groups --bootstrap-server BOOT --list")
    assert(ok, err)
    assert.truthy(listed:find("^lg\n") or listed:find("\nlg\n"), listed)
    local all
    ok, all, err = cli("groups --bootstrap-server BOOT --describe --all-groups")
    assert(ok, err)
    assert.truthy(all:find("\nlg +lag +1 +" .. by["lag-1"].current .. " +9 ", 1), all)
  end)

  it("--describe and --members show a live moonlog member and every partition it owns", function()
    assert(cli("topics --bootstrap-server BOOT --create --topic live --partitions 3"))
    for p = 0, 2 do produce("live", p, 2) end
    local out = dir .. "/live.out"
    local p = process.spawn { argv = { client.cli, "consume", "--bootstrap-server", b.bootstrap, "--topic", "live",
      "--group", "lv", "--from-beginning", "--consumer-property", "auto.commit.interval.ms=100" },
      stdout = out, stderr = dir .. "/live.err" }
    local ok, e = pcall(function()
      local by
      process.wait_for("the member to own and commit 3 partitions", 20, function()
        by = describe("lv", true)
        if not by then return false end
        for q = 0, 2 do
          local r = by["live-" .. q]
          if not r or r.member == "-" or r.current ~= "2" then return false end
        end
        return true
      end)
      for q = 0, 2 do
        local r = by["live-" .. q]
        assert.are.equal("0", r.lag)
        assert.are.equal("/127.0.0.1", r.host)
        assert.are.equal("moonlog-console-consumer", r.client)
        assert.are.equal(by["live-0"].member, r.member)
      end
      local okm, members, err = cli("groups --bootstrap-server BOOT --describe --group lv --members --verbose")
      assert(okm, err)
      local rows = table_rows(members, "GROUP")
      assert.are.equal(1, #rows)
      assert.are.same({ "lv", by["live-0"].member, "/127.0.0.1", "moonlog-console-consumer", "3", "live(0,1,2)" },
        rows[1])
      -- a group with a member cannot be deleted
      local okd, _, derr = cli("groups --bootstrap-server BOOT --delete --group lv")
      assert.is_false(okd)
      assert.truthy(derr:find("group 'lv': NON_EMPTY_GROUP", 1, true), derr)
    end)
    p:stop()
    assert(ok, e)
  end)

  it("decodes the assignments of a librdkafka (kcat -G) member", function()
    assert(cli("topics --bootstrap-server BOOT --create --topic rdk --partitions 2"))
    local k = process.spawn { argv = { "kcat", "-b", b.bootstrap, "-G", "kg", "-X", "partition.assignment.strategy=range",
      "-q", "rdk" }, stdout = dir .. "/kcat.out", stderr = dir .. "/kcat.err" }
    local ok, e = pcall(function()
      local rows
      process.wait_for("kcat to own both partitions", 30, function()
        local okm, members = cli("groups --bootstrap-server BOOT --describe --group kg --members --verbose")
        if not okm or not members:find("CONSUMER-ID", 1, true) then return false end
        rows = table_rows(members, "GROUP")
        return #rows == 1 and rows[1][6] == "rdk(0,1)"
      end)
      assert.are.equal("2", rows[1][5])
      assert.are.equal("rdkafka", rows[1][4])
    end)
    k:stop()
    assert(ok, e)
  end)

  it("--delete removes an empty group; unknown groups are named in the error", function()
    assert(cli("topics --bootstrap-server BOOT --create --topic del --partitions 1"))
    produce("del", 0, 2)
    assert(cli("consume --bootstrap-server BOOT --topic del --group dg --from-beginning --max-messages 2"))
    local ok, out, err = cli("groups --bootstrap-server BOOT --delete --group dg")
    assert(ok, err)
    assert.are.equal("Deletion of requested consumer groups ('dg') was successful.\n", out)
    ok, _, err = cli("groups --bootstrap-server BOOT --describe --group dg")
    assert.is_false(ok)
    assert.truthy(err:find("consumer group 'dg' does not exist", 1, true), err)
    ok, _, err = cli("groups --bootstrap-server BOOT --delete --group nosuch")
    assert.is_false(ok)
    assert.truthy(err:find("group 'nosuch': GROUP_ID_NOT_FOUND", 1, true), err)
    ok, _, err = cli("groups --bootstrap-server BOOT --describe")
    assert.is_false(ok)
    assert.truthy(err:find("--group is required", 1, true), err)
  end)
end)
