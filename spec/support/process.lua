-- Child processes for specs: spawn with redirected output, signal, wait with a deadline, and
-- wait for conditions instead of sleeping. Pure LuaJIT FFI over posix_spawn and waitpid.
local ffi = require "ffi"

ffi.cdef [[
typedef int pid_t;
typedef struct { int __allocated; int __used; void *__actions; int __pad[16]; } ml_spec_file_actions;
int posix_spawn_file_actions_init(ml_spec_file_actions *fa);
int posix_spawn_file_actions_destroy(ml_spec_file_actions *fa);
int posix_spawn_file_actions_addopen(ml_spec_file_actions *fa, int fd, const char *path, int oflag, unsigned mode);
int posix_spawnp(pid_t *pid, const char *file, const ml_spec_file_actions *fa, const void *attrp,
                 char *const argv[], char *const envp[]);
pid_t waitpid(pid_t pid, int *status, int options);
int kill(pid_t pid, int sig);
struct ml_spec_pollfd { int fd; short events; short revents; };
int poll(struct ml_spec_pollfd *fds, unsigned long nfds, int timeout);
int close(int fd);
int setenv(const char *name, const char *value, int overwrite);
char *getenv(const char *name);
extern char **environ;
]]

local C = ffi.C
local M = {}

M.SIGKILL, M.SIGTERM, M.SIGINT, M.SIGSTOP, M.SIGCONT = 9, 15, 2, 19, 18
local O_WRONLY, O_CREAT, O_TRUNC, O_RDONLY = 1, 64, 512, 0
local WNOHANG = 1

function M.sleep_ms(ms)
  C.poll(nil, 0, ms)
end

function M.now_ms()
  local f = io.popen("date +%s%3N")
  local t = tonumber(f:read("*l"))
  f:close()
  return t
end

-- Polls `fn` until it returns a truthy value (returned) or `timeout_s` passes (error with `what`).
function M.wait_for(what, timeout_s, fn, interval_ms)
  local deadline = os.time() + (timeout_s or 10)
  while true do
    local v = fn()
    if v then return v end
    if os.time() > deadline then error("timed out waiting for " .. what, 2) end
    M.sleep_ms(interval_ms or 20)
  end
end

-- The argv that runs a Lua script under LuaJIT in a child; under a sanitizer run the child gets
-- the sanitizer runtime preloaded, as it loads the sanitized libraries through the FFI.
function M.luajit_argv(script, ...)
  local argv = {}
  local preload = os.getenv("MOONLOG_SANITIZER_PRELOAD")
  if preload then argv = { "env", "LD_PRELOAD=" .. preload } end
  argv[#argv + 1] = "luajit"
  argv[#argv + 1] = script
  for _, a in ipairs({ ... }) do argv[#argv + 1] = a end
  return argv
end

-- spawn{argv = {...}, stdout = path, stderr = path, stdin = path}; returns a process object.
function M.spawn(opts)
  local argv = opts.argv
  local cargv = ffi.new("char *[?]", #argv + 1)
  local keep = {}
  for i, a in ipairs(argv) do
    keep[i] = ffi.new("char[?]", #a + 1, a)
    cargv[i - 1] = keep[i]
  end
  cargv[#argv] = nil
  local fa = ffi.new("ml_spec_file_actions")
  C.posix_spawn_file_actions_init(fa)
  if opts.stdin then C.posix_spawn_file_actions_addopen(fa, 0, opts.stdin, O_RDONLY, 0) end
  if opts.stdout then C.posix_spawn_file_actions_addopen(fa, 1, opts.stdout, O_WRONLY + O_CREAT + O_TRUNC, 420) end
  if opts.stderr then C.posix_spawn_file_actions_addopen(fa, 2, opts.stderr, O_WRONLY + O_CREAT + O_TRUNC, 420) end
  local pid = ffi.new("pid_t[1]")
  local rc = C.posix_spawnp(pid, argv[1], fa, nil, cargv, C.environ)
  C.posix_spawn_file_actions_destroy(fa)
  if rc ~= 0 then error("cannot start " .. argv[1] .. ": error " .. rc) end
  local p = { pid = pid[0], argv = argv, stdout = opts.stdout, stderr = opts.stderr }
  return setmetatable(p, { __index = M.proc })
end

M.proc = {}

function M.proc:signal(sig)
  if self.status == nil then C.kill(self.pid, sig) end
end

-- Returns the exit code (or 128+signal) once the process ended, nil if still running.
function M.proc:poll()
  if self.status ~= nil then return self.status end
  local st = ffi.new("int[1]")
  local r = C.waitpid(self.pid, st, WNOHANG)
  if r == self.pid then
    local s = st[0]
    if bit.band(s, 0x7f) == 0 then self.status = bit.rshift(bit.band(s, 0xff00), 8)
    else self.status = 128 + bit.band(s, 0x7f) end
  end
  return self.status
end

function M.proc:wait(timeout_s)
  return M.wait_for(table.concat(self.argv, " ") .. " to exit", timeout_s or 30, function() return self:poll() end)
end

-- SIGTERM, then SIGKILL after `grace_s`; always reaps.
function M.proc:stop(grace_s)
  if self:poll() ~= nil then return self.status end
  self:signal(M.SIGTERM)
  local ok = pcall(function() self:wait(grace_s or 10) end)
  if not ok then
    self:signal(M.SIGKILL)
    self:wait(10)
  end
  return self.status
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- Runs a shell command; returns (exit status was 0, its output with stderr). LuaJIT's popen
-- close() does not report the exit status, so the command reports it on a last line of its own.
function M.sh(cmd)
  local f = io.popen("{ " .. cmd .. "\n} 2>&1; echo \"__moonlog_exit=$?\"")
  local out = f:read("*a")
  f:close()
  local body, code = out:match("^(.*)__moonlog_exit=(%d+)\n?$")
  if not code then return false, out end
  return tonumber(code) == 0, body
end

function M.tmpdir(prefix)
  local f = io.popen("mktemp -d /tmp/" .. (prefix or "moonlog") .. ".XXXXXX")
  local d = f:read("*l")
  f:close()
  return d
end

function M.rmdir(d)
  if d and d:match("^/tmp/") then os.execute("rm -rf '" .. d .. "'") end
end

return M
