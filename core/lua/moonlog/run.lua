-- moonlog.run: what `moonlog run script.lua [args]` does (core/cli/run.c prepares the state and
-- calls main). The script runs once; when it returns a handler table, this module owns the
-- consume loop: it creates the consumer (and a producer on request), polls, calls the handler,
-- flushes the producer before the positions can be committed, watches the script file and swaps
-- in a changed version's handlers between two polls, keeping the consumer and its position.
-- The contract is written in examples/README.md.
local ffi = require "ffi"
local moonlog = require "moonlog"

local M = {}

local KNOWN = { config = true, topics = true, pattern = true, assign = true, listener = true, on_message = true, on_batch = true,
                on_start = true, on_stop = true, commit = true }

local function say(fmt, ...)
  io.stderr:write("moonlog run: ", fmt:format(...), "\n")
  io.stderr:flush()
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

local function traceback(e)
  return debug.traceback(tostring(e), 1)
end

-- Compiles `src` and runs it in a fresh environment (globals of one version never leak into the
-- next) with the script's arguments as `arg` and `...`. Returns true, first result | false, err.
local function run_chunk(path, src, args)
  local chunk, err = loadstring(src, "@" .. path)
  if not chunk then return false, err end
  local env = setmetatable({ arg = args }, { __index = _G })
  setfenv(chunk, env)
  return xpcall(chunk, traceback, unpack(args, 1, args.n or #args))
end

local function is_list_of(t, check)
  if type(t) ~= "table" or #t == 0 then return false end
  for i = 1, #t do if not check(t[i]) then return false end end
  return true
end

-- Checks a returned table against the contract; returns it or nil, message naming the key.
function M.validate(t)
  if type(t) ~= "table" then return nil, "returned a " .. type(t) .. ", not a table" end
  for k in pairs(t) do
    if not KNOWN[k] then
      local names = {}
      for n in pairs(KNOWN) do names[#names + 1] = n end
      table.sort(names)
      return nil, ("unknown key '%s' in the returned table (known: %s)"):format(tostring(k), table.concat(names, ", "))
    end
  end
  local function fn_or_nil(k)
    return t[k] == nil or type(t[k]) == "function" or nil, k .. " must be a function, not a " .. type(t[k])
  end
  for _, k in ipairs { "on_message", "on_batch", "on_start", "on_stop" } do
    local ok, err = fn_or_nil(k)
    if not ok then return nil, err end
  end
  if (t.on_message == nil) == (t.on_batch == nil) then
    return nil, "the returned table needs one handler: on_message or on_batch (not both)"
  end
  if type(t.config) ~= "table" then return nil, "config must be a table of consumer properties" end
  if t.config.producer ~= nil and type(t.config.producer) ~= "table" then
    return nil, "config.producer must be a table of producer properties"
  end
  local n_sources = (t.topics ~= nil and 1 or 0) + (t.pattern ~= nil and 1 or 0) + (t.assign ~= nil and 1 or 0)
  if n_sources > 1 then return nil, "give one of topics (subscribe), pattern (subscribe by pattern) or assign, not more" end
  if type(t.topics) == "string" then
    return nil, "topics must be a non-empty list of topic names (for a pattern, give pattern = \"...\")"
  end
  if t.topics ~= nil and not is_list_of(t.topics, function(x) return type(x) == "string" end) then
    return nil, "topics must be a non-empty list of topic names"
  end
  if t.pattern ~= nil and (type(t.pattern) ~= "string" or t.pattern == "") then
    return nil, "pattern must be a non-empty string (a POSIX extended regular expression matching whole topic names)"
  end
  if t.assign ~= nil and not is_list_of(t.assign, function(x)
      return type(x) == "table" and type(x.topic) == "string" and type(x.partition) == "number" end) then
    return nil, "assign must be a non-empty list of { topic = name, partition = number }"
  end
  if t.listener ~= nil then
    if t.pattern ~= nil then
      -- consumer:subscribe{ pattern = } takes no listener table (the module refuses one)
      return nil, "listener is not taken with pattern: a pattern subscription takes no listener table, only the "
        .. "configuration's rebalance.listener plugin (config[\"rebalance.listener\"]); give topics for a listener"
    end
    if t.topics == nil then return nil, "listener needs topics (it is called on group rebalances)" end
    if type(t.listener) ~= "table" then return nil, "listener must be a table of on_partitions_* functions" end
  end
  if t.commit ~= nil and t.commit ~= "batch" and t.commit ~= "auto" then
    return nil, "commit must be \"batch\" (commit_sync after each batch) or \"auto\" (as config says)"
  end
  return t
end

-- options(arg, defaults) -> table: `name=value` arguments, else $MOONLOG_<NAME> (upper case,
-- dots as underscores), else the default. An argument that is not name=value, or a name not in
-- defaults, is an error naming it.
function M.options(args, defaults)
  local o = {}
  for k, v in pairs(defaults) do
    local env = os.getenv("MOONLOG_" .. k:upper():gsub("[^%w]", "_"))
    o[k] = env ~= nil and env or v
  end
  for i = 1, #(args or {}) do
    local k, v = args[i]:match("^([%w_.%-]+)=(.*)$")
    if not k then error(("argument %d '%s': expected name=value"):format(i, args[i]), 2) end
    if defaults[k] == nil then
      local names = {}
      for n in pairs(defaults) do names[#names + 1] = n end
      table.sort(names)
      error(("argument '%s': unknown name '%s' (known: %s)"):format(args[i], k, table.concat(names, ", ")), 2)
    end
    o[k] = v
  end
  return o
end

-- ---- the loop -------------------------------------------------------------------------------

local Run = {}
Run.__index = Run

local function errtext(err)
  if type(err) == "table" then return (err.name or "?") .. ": " .. (err.message or "") end
  return tostring(err)
end

function Run:open(spec)
  local ccfg = {}
  for k, v in pairs(spec.config) do if k ~= "producer" then ccfg[k] = v end end
  local c, err = moonlog.consumer(ccfg)
  if not c then return nil, "consumer: " .. errtext(err) end
  self.ctx.consumer = c
  if spec.config.producer then
    local pcfg = {}
    for k, v in pairs(spec.config.producer) do pcfg[k] = v end
    pcfg["bootstrap.servers"] = pcfg["bootstrap.servers"] or ccfg["bootstrap.servers"]
    local p, perr = moonlog.producer(pcfg)
    if not p then return nil, "producer: " .. errtext(perr) end
    self.ctx.producer = p
  end
  local ok
  if spec.topics then
    if spec.listener then
      -- subscribe(topics, listener) is the rebalance-listener form of the module; one whose
      -- subscribe takes no listener would drop it silently, so say so instead
      local info = debug.getinfo(c.subscribe, "u")
      if info.nparams and info.nparams < 3 and not info.isvararg then
        return nil, "listener: this moonlog module's consumer:subscribe takes no rebalance listener"
      end
      ok, err = c:subscribe(spec.topics, spec.listener)
    else
      ok, err = c:subscribe(spec.topics)
    end
    if not ok then return nil, "subscribe: " .. errtext(err) end
  elseif spec.pattern then
    ok, err = c:subscribe { pattern = spec.pattern }
    if not ok then return nil, "subscribe: " .. errtext(err) end
  elseif spec.assign then
    ok, err = c:assign(spec.assign)
    if not ok then return nil, "assign: " .. errtext(err) end
  end
  return true
end

-- Loads a changed script file: a valid version replaces the handlers, a broken one is reported
-- once and the running one goes on.
function Run:check_reload()
  local src = read_file(self.path)
  if not src or src == self.src or src == self.failed_src then return end
  local ok, t = run_chunk(self.path, src, self.args)
  local spec, err
  if ok then spec, err = M.validate(t) else err = t end
  if not spec then
    self.failed_src = src
    say("%s: reload failed, generation %d keeps running: %s", self.path, self.ctx.generation, err)
    return
  end
  self.src, self.failed_src, self.spec = src, nil, spec
  self.ctx.generation = self.ctx.generation + 1
  say("%s: reloaded, generation %d handles the next records", self.path, self.ctx.generation)
end

local function key_of(msg) return msg.topic .. "\0" .. msg.partition end

local function offset_text(off) return (tostring(off):gsub("U?LL$", "")) end

-- The first offset of each partition in msgs[from..]: where a failed batch must start again.
local function first_offsets(msgs, from)
  local firsts, list = {}, {}
  for i = from, #msgs do
    local m = msgs[i]
    local k = key_of(m)
    if not firsts[k] then
      firsts[k] = true
      list[#list + 1] = { topic = m.topic, partition = m.partition, offset = m.offset }
    end
  end
  return list
end

-- Runs the handler over one poll's records. Returns true, or false and the records not handled
-- (from the failing one on), which the caller rewinds to.
function Run:handle(msgs)
  local spec, ctx = self.spec, self.ctx
  if spec.on_batch then
    local ok, err = xpcall(spec.on_batch, traceback, msgs, ctx)
    if not ok then return false, first_offsets(msgs, 1), "on_batch: " .. tostring(err) end
  else
    local on_message = spec.on_message
    for i = 1, #msgs do
      local ok, err = xpcall(on_message, traceback, msgs[i], ctx)
      if not ok then
        local m = msgs[i]
        return false, first_offsets(msgs, i),
          ("on_message at %s[%d]@%s: %s"):format(m.topic, m.partition, offset_text(m.offset), tostring(err))
      end
    end
  end
  return true
end

-- Waits for the producer's records of this batch: only then may the consumer's positions (and
-- so its commits) move past the records that produced them.
function Run:flush_producer()
  local p = self.ctx.producer
  if not p then return true end
  local ok, err = p:flush()
  if not ok then return nil, "producer flush: " .. errtext(err) end
  local failed = p:counter("records.failed") or 0
  if failed > self.failed_records then
    local n = failed - self.failed_records
    self.failed_records = failed
    return nil, ("producer: %d record(s) failed"):format(n)
  end
  return true
end

-- Puts the positions back to the first record not handled, so the close-time commit (and the
-- next run) starts there: a failure never commits past a record.
function Run:rewind(list)
  for _, x in ipairs(list or {}) do
    local ok, err = self.ctx.consumer:seek(x.topic, x.partition, x.offset)
    if not ok then say("seek %s[%d] back to %s: %s", x.topic, x.partition, offset_text(x.offset), errtext(err)) end
  end
end

function Run:step()
  local c = self.ctx.consumer
  local msgs, err = c:poll(self.poll_ms)
  if not msgs then
    if err.retriable then
      say("poll: %s (retrying)", errtext(err))
      return true
    end
    return nil, "poll: " .. errtext(err)
  end
  if #msgs == 0 then return true end
  local ok, rest, herr = self:handle(msgs)
  if not ok then
    self:rewind(rest)
    return nil, self.path .. ": " .. herr
  end
  local fok, ferr = self:flush_producer()
  if not fok then
    self:rewind(first_offsets(msgs, 1))
    return nil, ferr
  end
  if self.spec.commit == "batch" then
    local cok, cerr = c:commit_sync()
    if not cok then return nil, "commit: " .. errtext(cerr) end
  end
  return true
end

function Run:loop(opts)
  local reload_ms = opts.reload_interval_ms or 1000
  self.poll_ms = reload_ms > 0 and math.min(200, reload_ms) or 200
  local next_check = reload_ms > 0 and M.now_ms() + reload_ms or math.huge
  while not self.stopped do
    local sig = opts.stop_requested and opts.stop_requested()
    if sig then break end
    if M.now_ms() >= next_check then
      self:check_reload()
      next_check = M.now_ms() + reload_ms
    end
    local ok, err = self:step()
    if not ok then return nil, err end
  end
  return true
end

function Run:finish(status, failure)
  local ctx, spec = self.ctx, self.spec
  if spec.on_stop and self.started then
    local ok, err = xpcall(spec.on_stop, traceback, ctx)
    if not ok then
      say("%s: on_stop: %s", self.path, tostring(err))
      status = 1
    end
  end
  if failure then say("%s", failure) end
  if ctx.producer then
    local ok, err = ctx.producer:close()
    if not ok then say("producer close: %s", errtext(err)); status = 1 end
  end
  if ctx.consumer then
    local ok, err = ctx.consumer:close()
    if not ok then say("consumer close: %s", errtext(err)); status = 1 end
  end
  return status
end

-- struct timespec by its own name: a program that declared clock_gettime already (pcall) used it too
pcall(ffi.cdef, "struct timespec { long tv_sec; long tv_nsec; };")
pcall(ffi.cdef, "int clock_gettime(int, struct timespec *);")
local ts = ffi.new("struct timespec")
function M.now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + math.floor(tonumber(ts.tv_nsec) / 1e6)
end

-- Owns the loop for a validated table. Returns the exit status.
function M.serve(path, src, spec, args, opts)
  local self = setmetatable({ path = path, src = src, spec = spec, args = args, failed_records = 0,
                              ctx = { args = args, state = {}, script = path, generation = 1 } }, Run)
  self.ctx.stop = function() self.stopped = true end
  self.ctx.log = function(fmt, ...) say("%s: " .. fmt, path, ...) end
  if opts.trap_signals then opts.trap_signals() end
  local ok, err = self:open(spec)
  if not ok then return self:finish(1, err) end
  if spec.on_start then
    local sok, serr = xpcall(spec.on_start, traceback, self.ctx)
    if not sok then return self:finish(1, path .. ": on_start: " .. tostring(serr)) end
  end
  self.started = true
  ok, err = self:loop(opts)
  return self:finish(ok and 0 or 1, err)
end

-- main(path, opts) -> exit status. opts: reload_interval_ms (0: no reload), trap_signals(),
-- stop_requested() (both from core/cli/run.c).
function M.main(path, opts)
  opts = opts or {}
  local args = {}
  for i, a in pairs(_G.arg or {}) do args[i] = a end
  args.n = #args
  local src, rerr = read_file(path)
  if not src then
    say("%s", rerr)
    return 1
  end
  local ok, t = run_chunk(path, src, args)
  if not ok then
    say("%s", t)
    return 1
  end
  if t == nil or t == true then return 0 end
  if t == false then return 1 end
  if type(t) == "number" then return math.floor(t) end
  local spec, err = M.validate(t)
  if not spec then
    say("%s: %s", path, err)
    return 1
  end
  return M.serve(path, src, spec, args, opts)
end

return M
