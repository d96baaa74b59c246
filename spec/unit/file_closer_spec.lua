-- The background closer (core/storage/file_closer.c): descriptors handed over are closed off the
-- caller's thread, every one of them, and drain waits for that.
local ffi = require "ffi"
local common = require "ffi_common"
local lib = common.lib

ffi.cdef [[
void ml_file_closer_close(int fd);
void ml_file_closer_drain(void);
int open(const char *path, int flags, ...);
int fcntl(int fd, int cmd, ...);
int unlink(const char *path);
]]
local O_RDWR, O_CREAT, F_GETFD = 2, 64, 1

describe("file closer", function()
  it("closes every descriptor handed over, and drain waits for them", function()
    local path = os.tmpname()
    local fds = {}
    for i = 1, 200 do
      fds[i] = ffi.C.open(path, O_RDWR + O_CREAT, ffi.new("int", 420))
      assert.is_true(fds[i] >= 0)
    end
    ffi.C.unlink(path)
    for _, fd in ipairs(fds) do lib.ml_file_closer_close(fd) end
    lib.ml_file_closer_drain()
    for _, fd in ipairs(fds) do
      assert.are.equal(-1, ffi.C.fcntl(fd, F_GETFD), "fd " .. fd .. " is closed")
    end
  end)

  it("ignores a negative descriptor", function()
    lib.ml_file_closer_close(-1)
    lib.ml_file_closer_drain()
  end)
end)
