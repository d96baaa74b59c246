-- Loaded by busted before every spec file: makes spec/support modules reachable by require.
local root = os.getenv("MOONLOG_ROOT") or "."
package.path = root .. "/spec/support/?.lua;" .. root .. "/core/lua/?.lua;" .. package.path

-- Sanitizer runs preload the sanitizer runtime into LuaJIT (scripts/test.sh). Child processes
-- must not inherit it: a sanitized moonlogd links its own runtime, and sh, kcat, gzip or node
-- would only be slowed down or made noisy by it.
local ffi = require "ffi"
ffi.cdef "int unsetenv(const char *name);"
ffi.C.unsetenv("LD_PRELOAD")
