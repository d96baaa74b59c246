-- Loaded by busted before every spec file: makes spec/support modules reachable by require.
local root = os.getenv("MOONLOG_ROOT") or "."
package.path = root .. "/spec/support/?.lua;" .. root .. "/core/lua/?.lua;" .. package.path
