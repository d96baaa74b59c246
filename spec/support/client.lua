-- Shared by the client and plugin specs: the moonlog Lua module (over the libmoonlog.so of
-- MOONLOG_BUILD), plugin files written to a temporary directory, and reading topics back with kcat.
local process = require "process"
local moonlog = require "moonlog"

local M = { moonlog = moonlog }
M.root = os.getenv("MOONLOG_ROOT") or "."
M.build = os.getenv("MOONLOG_BUILD") or "build"
M.cli = M.root .. "/" .. M.build .. "/moonlog"

-- Builds the C program `src` (a path under the tree) into `exe` against libmoonlog.a of
-- MOONLOG_BUILD, with the sanitizer of that build, as an application would link it; returns
-- what process.sh returns.
function M.build_c(src, exe)
  local san = ({ address = "-fsanitize=address,undefined", thread = "-fsanitize=thread" })[os.getenv("SANITIZE") or ""] or ""
  return process.sh(("cd %s && cc -std=c11 -Wall -Wextra -Werror %s -Icore/include %s %s/libmoonlog.a " ..
    "-levent -lzstd -llz4 -lz -lsnappy -lluajit-5.1 -lpthread -lm -o %s"):format(M.root, san, src, M.build, exe))
end

-- Writes a plugin file atomically (write then rename), as an editor or a deploy would.
function M.write_plugin(path, text)
  process.write_file(path .. ".tmp", text)
  assert(os.rename(path .. ".tmp", path))
end

-- Every record of a topic as { partition =, offset =, key =, value = }, in partition/offset order.
function M.consume(bootstrap, topic, expect)
  local out = os.tmpname()
  local function read()
    local ok, msg = process.sh("kcat -C -b " .. bootstrap .. " -t " .. topic ..
      " -e -q -f '%p\\t%o\\t%k\\t%s\\n' > " .. out)
    assert(ok, msg)
    local recs = {}
    for line in io.lines(out) do
      local p, o, k, v = line:match("^(%d+)\t(%d+)\t(.-)\t(.*)$")
      if p then recs[#recs + 1] = { partition = tonumber(p), offset = tonumber(o), key = k, value = v } end
    end
    return recs
  end
  local recs = read()
  if expect then
    process.wait_for(expect .. " records in " .. topic, 30, function()
      if #recs >= expect then return true end
      recs = read()
      return #recs >= expect
    end)
  end
  os.remove(out)
  return recs
end

-- Polls the producer (runs callbacks) until `fn` is true.
function M.wait(p, what, fn, timeout_s)
  return process.wait_for(what, timeout_s or 30, function()
    p:poll()
    return fn()
  end, 5)
end

return M
