-- Loaded by busted before every spec file: makes spec/support modules reachable by require.
local root = os.getenv("MOONLOG_ROOT") or "."
package.path = root .. "/spec/support/?.lua;" .. root .. "/core/lua/?.lua;" .. package.path

-- Sanitizer runs preload the sanitizer runtime into LuaJIT (scripts/test.sh). Child processes
-- must not inherit it: a sanitized moonlogd links its own runtime, and sh, kcat, gzip or node
-- would only be slowed down or made noisy by it.
-- LuaJIT children that load the sanitized libraries get it back (process.luajit_argv).
local ffi = require "ffi"
ffi.cdef "int unsetenv(const char *name); int setenv(const char *name, const char *value, int overwrite);"
local preload = os.getenv("LD_PRELOAD")
if preload and preload ~= "" then ffi.C.setenv("MOONLOG_SANITIZER_PRELOAD", preload, 1) end
ffi.C.unsetenv("LD_PRELOAD")
