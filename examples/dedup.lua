-- Dedup: forwards the first record of each id (its key, or its value when it has no key) from
-- `input` to `output` and drops the repeats. Its results (the ids seen) and the offsets it
-- processed are kept together in a store file of its own, not in Kafka's committed offsets: each
-- batch appends its new ids ("k <hex id>"), how many records it handled ("n <count>") and the
-- partitions' next offsets ("o <topic> <partition> <offset>"), then a commit line ("c"); a block without
-- its commit line (a crash while writing) is ignored at load. On assignment the consumer seeks
-- to the stored offsets, so a restart neither loses records nor handles one twice.
--
-- With group=NAME it subscribes with a rebalance listener and seeks in on_partitions_assigned;
-- without, it assigns partitions 0..partitions-1 itself and seeks in on_start, before the first poll.
-- The members of one group share one store file (each block is one O_APPEND write, so blocks of
-- two members do not interleave): a partition taken over from another member starts at that
-- member's stored offset, and the ids are read again from the file at each assignment, so the
-- other member's ids count as seen. An id is forwarded once as long as all its records are in
-- one partition (keyed records with the default partitioner); two members handling the same id in
-- two partitions at once could both forward it. The torn-tail cut at start assumes no other
-- member is writing the file at that moment.
--
--   build/moonlog run examples/dedup.lua bootstrap=127.0.0.1:9092 input=orders output=orders-unique \
--       store=/var/lib/dedup/orders.store [group=dedup | partitions=3]
--
-- The output is forwarded (and acknowledged, acks=all) before the batch's block is written: a
-- crash between the two forwards that batch's new ids again after the restart; the store file
-- itself never loses nor repeats. The file is not fsync'd (a process crash loses nothing; a
-- power loss can lose the last blocks).
local run = require "moonlog.run"
local o = run.options(arg, { bootstrap = "127.0.0.1:9092", input = "input", output = "deduped",
                             store = "dedup.store", group = "", partitions = "1" })

local function hex(s) return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) end

-- The store's committed blocks: the ids seen, the next offset of each "topic\0partition", and
-- the length of the file up to the last commit line.
local function load_store(path)
  local seen, offsets, good = {}, {}, 0
  local f = io.open(path, "rb")
  if not f then return seen, offsets, 0, 0 end
  local text = f:read("*a")
  f:close()
  local ids, offs = {}, {}
  for line, next_pos in text:gmatch("([^\n]*)\n()") do
    local id = line:match("^k (%x*)$")
    local t, p, off = line:match("^o (%S+) (%d+) (%d+)$")
    if id then ids[#ids + 1] = id
    elseif t then offs[#offs + 1] = { t, tonumber(p), tonumber(off) }
    elseif line == "c" then
      for _, x in ipairs(ids) do seen[x] = true end
      for _, x in ipairs(offs) do offsets[x[1] .. "\0" .. x[2]] = x[3] end
      ids, offs, good = {}, {}, next_pos - 1
    end
  end
  return seen, offsets, good, #text
end

-- A block torn by a crash is cut off before anything is appended after it.
local function cut_torn_tail(path)
  local _, _, good, size = load_store(path)
  if size == good then return end
  local f = assert(io.open(path, "rb"))
  local text = f:read(good)
  f:close()
  f = assert(io.open(path .. ".tmp", "wb"))
  assert(f:write(text or ""))
  assert(f:close())
  assert(os.rename(path .. ".tmp", path))
end

cut_torn_tail(o.store)

-- The ids seen live in ctx.state.seen (kept across reloads), read from the file when missing.
-- The run's ctx, for the listener (which gets the consumer only): set by on_start, which runs
-- before the first poll and so before any assignment.
local run_ctx

-- Re-read at each assignment: the file, not a copy in memory, is what a reloaded version of this
-- script, this listener (registered by the first version) and the other members of the group
-- agree on.
local function seek_to_stored(consumer, partitions)
  local seen, offsets = load_store(o.store)
  if run_ctx then run_ctx.state.seen = seen end
  for _, tp in ipairs(partitions) do
    local off = offsets[tp.topic .. "\0" .. tp.partition]
    if off then assert(consumer:seek(tp.topic, tp.partition, off)) end
    if run_ctx then
      run_ctx.log("assigned %s[%d] at %s", tp.topic, tp.partition, off and tostring(off) or "the committed/reset offset")
    end
  end
end

local function append_block(ids, nexts, handled)
  local out = {}
  for _, id in ipairs(ids) do out[#out + 1] = "k " .. id end
  out[#out + 1] = "n " .. handled -- records handled by the batch (input records = sum of n)
  for k, off in pairs(nexts) do
    local t, p = k:match("^(.*)%z(%d+)$")
    out[#out + 1] = ("o %s %s %s"):format(t, p, tostring(off):gsub("LL$", ""))
  end
  out[#out + 1] = "c\n"
  local block = table.concat(out, "\n")
  local f = assert(io.open(o.store, "ab"))
  -- unbuffered: the whole block in one write(2) (a full buffer of #block bytes is not that:
  -- glibc ignores the size and writes 4096-byte pieces, which another member's blocks split)
  assert(f:setvbuf("no"))
  assert(f:write(block))
  assert(f:close())
end

local spec = {
  config = { ["bootstrap.servers"] = o.bootstrap, ["auto.offset.reset"] = "earliest",
             ["enable.auto.commit"] = false, producer = { acks = "all", ["linger.ms"] = 5 } },
  on_batch = function(msgs, ctx)
    if not ctx.state.seen then ctx.state.seen = load_store(o.store) end
    local seen = ctx.state.seen
    local new, nexts, failed = {}, {}, nil
    for _, m in ipairs(msgs) do
      local id = hex(m.key or m.value or "")
      if not seen[id] then
        seen[id] = true
        new[#new + 1] = id
        assert(ctx.producer:send({ topic = o.output, key = m.key, value = m.value }, function(_, err)
          if err then failed = err end
        end))
      end
      nexts[m.topic .. "\0" .. m.partition] = m.offset + 1
    end
    assert(ctx.producer:flush())
    if failed then error("forwarding failed: " .. failed.name .. ": " .. failed.message) end
    append_block(new, nexts, #msgs)
  end,
}

if o.group ~= "" then
  spec.config["group.id"] = o.group
  spec.topics = { o.input }
  spec.listener = {
    on_partitions_assigned = seek_to_stored,
    -- nothing to save: every handled batch is already in the store
    on_partitions_revoked = function() end,
    on_partitions_lost = function() end,
  }
  spec.on_start = function(ctx) run_ctx = ctx end
else
  spec.assign = {}
  for p = 0, assert(tonumber(o.partitions), "partitions must be a number") - 1 do
    spec.assign[#spec.assign + 1] = { topic = o.input, partition = p }
  end
  spec.on_start = function(ctx)
    run_ctx = ctx
    seek_to_stored(ctx.consumer, spec.assign)
  end
end

return spec
