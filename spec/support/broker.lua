-- Starts real moonlogd processes for specs: a temporary data directory, a free loopback port
-- (the broker binds port 0 and logs the port it got), and a clean stop.
local process = require "process"

local M = {}
local root = os.getenv("MOONLOG_ROOT") or "."
local build = os.getenv("MOONLOG_BUILD") or "build"
M.moonlogd = root .. "/" .. build .. "/moonlogd"

local Broker = {}
Broker.__index = Broker

-- start{overrides = {["num.partitions"] = "3", ...}, dir = existing data dir (restart)}
function M.start(opts)
  opts = opts or {}
  local b = setmetatable({}, Broker)
  b.dir = opts.dir or process.tmpdir("moonlogd")
  b.owns_dir = opts.dir == nil
  b.port = opts.port or 0
  b.overrides = opts.overrides or {}
  b.log = b.dir .. "/moonlogd." .. os.time() .. "." .. math.random(1e6) .. ".log"
  b:launch()
  return b
end

function Broker:argv()
  local argv = { M.moonlogd,
    "--override", "listeners=PLAINTEXT://127.0.0.1:" .. self.port,
    "--override", "log.dirs=" .. self.dir .. "/data" }
  for k, v in pairs(self.overrides) do
    argv[#argv + 1] = "--override"
    argv[#argv + 1] = k .. "=" .. v
  end
  return argv
end

function Broker:launch()
  self.proc = process.spawn { argv = self:argv(), stdout = self.log .. ".out", stderr = self.log }
  self:wait_listening()
end

-- After stop_process(): starts the broker again on the same port and data `delay_s` seconds
-- from now, without waiting, so that a spec can be blocked in a client call (retrying) while the
-- broker is away; wait_listening() then waits for it (the shell execs into moonlogd).
function Broker:launch_after(delay_s)
  local argv = { "sh", "-c", 'sleep "$0" && exec "$@"', tostring(delay_s) }
  for _, a in ipairs(self:argv()) do argv[#argv + 1] = a end
  self.proc = process.spawn { argv = argv, stdout = self.log .. ".out", stderr = self.log }
end

function Broker:wait_listening()
  local port = process.wait_for("moonlogd to listen (log " .. self.log .. ")", 20, function()
    local st = self.proc:poll()
    if st ~= nil then
      error("moonlogd exited with " .. st .. ": " .. (process.read_file(self.log) or ""))
    end
    local text = process.read_file(self.log) or ""
    return text:match("listening on [^%s]*:(%d+)")
  end)
  self.port = tonumber(port)
  self.bootstrap = "127.0.0.1:" .. self.port
end

function Broker:log_text()
  return process.read_file(self.log) or ""
end

-- Clean stop (SIGTERM) and start again on the same port and data.
function Broker:restart()
  self:stop_process()
  self:launch()
end

function Broker:kill9()
  self.proc:signal(process.SIGKILL)
  self.proc:wait(10)
  self:check_sanitizers()
end

-- Under SANITIZE=address|thread a sanitizer report in the broker's log fails the spec that
-- started it, even when the client side saw nothing wrong.
local SANITIZER_MARKS = { "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
  "runtime error:" }

function Broker:check_sanitizers()
  local text = self:log_text()
  for _, mark in ipairs(SANITIZER_MARKS) do
    local at = text:find(mark, 1, true)
    if at then error("moonlogd sanitizer report in " .. self.log .. ":\n" .. text:sub(at, at + 2000), 2) end
  end
end

function Broker:stop_process()
  local st = self.proc:stop(20)
  self:check_sanitizers()
  return st
end

function Broker:stop()
  local st = self:stop_process()
  if self.owns_dir and os.getenv("MOONLOG_KEEP") == nil then process.rmdir(self.dir) end
  return st
end

return M
