-- The broker's frame reader (core/broker/frame_reader.c) over a real socket pair: frames split
-- anywhere, many per read, large ones received directly, size limits, end of stream.
local ffi = require "ffi"
local common = require "ffi_common"
local wire = require "wire"
local lib = common.lib

ffi.cdef [[
typedef struct ml_frame_reader {
  uint8_t *stage; size_t stage_len; size_t stage_pos; uint8_t *frame; size_t frame_size; size_t frame_have;
  int32_t max_size; int drained;
} ml_frame_reader;
void ml_frame_reader_init(ml_frame_reader *r, int32_t max_size);
void ml_frame_reader_free(ml_frame_reader *r);
int ml_frame_next(ml_frame_reader *r, int fd, uint8_t **frame, int64_t *size);
int socketpair(int domain, int type, int protocol, int sv[2]);
void free(void *p);
]]
local C = ffi.C
local READY, AGAIN, EOF, TOO_BIG = 1, 0, -1, -3
local AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK, MSG_NOSIGNAL = 1, 1, 2048, 0x4000

local function pair()
  local sv = ffi.new("int[2]")
  assert(C.socketpair(AF_UNIX, SOCK_STREAM + SOCK_NONBLOCK, 0, sv) == 0)
  return sv[0], sv[1]
end

local function send(fd, s)
  local off = 0
  while off < #s do
    local n = C.send(fd, ffi.cast("const char *", s) + off, #s - off, MSG_NOSIGNAL)
    assert(n > 0, "send")
    off = off + n
  end
end

-- Reads every frame available now (the socket is readable again before each call).
local function drain(r, fd)
  local out = {}
  local frame, size = ffi.new("uint8_t *[1]"), ffi.new("int64_t[1]")
  while true do
    r.drained = 0
    local rc = lib.ml_frame_next(r, fd, frame, size)
    if rc ~= READY then return out, rc, tonumber(size[0]) end
    out[#out + 1] = ffi.string(frame[0], size[0])
    C.free(frame[0])
  end
end

describe("frame reader", function()
  local r, a, b
  before_each(function()
    r = ffi.new("ml_frame_reader")
    lib.ml_frame_reader_init(r, 8 * 1024 * 1024)
    a, b = pair()
  end)
  after_each(function()
    lib.ml_frame_reader_free(r)
    C.close(a)
    C.close(b)
  end)

  it("returns many small frames from one read, and waits on a partial one", function()
    local frames = {}
    for i = 1, 50 do frames[i] = ("request-%d"):format(i) .. string.rep("x", i) end
    local bytes = {}
    for i, f in ipairs(frames) do bytes[i] = wire.i32(#f) .. f end
    local all = table.concat(bytes)
    send(a, all:sub(1, #all - 3))
    local got, rc = drain(r, b)
    assert.are.equal(AGAIN, rc)
    assert.are.equal(49, #got)
    send(a, all:sub(#all - 2))
    local rest = drain(r, b)
    assert.are.same({ frames[50] }, rest)
    for i = 1, 49 do assert.are.equal(frames[i], got[i]) end
  end)

  it("splits at every byte of a frame sequence", function()
    local stream = wire.i32(3) .. "abc" .. wire.i32(0) .. wire.i32(5) .. "hello"
    for cut = 1, #stream - 1 do
      lib.ml_frame_reader_free(r)
      lib.ml_frame_reader_init(r, 1024)
      send(a, stream:sub(1, cut))
      local got1 = drain(r, b)
      send(a, stream:sub(cut + 1))
      local got2 = drain(r, b)
      local all = {}
      for _, f in ipairs(got1) do all[#all + 1] = f end
      for _, f in ipairs(got2) do all[#all + 1] = f end
      assert.are.same({ "abc", "", "hello" }, all, "cut at " .. cut)
    end
  end)

  it("receives a frame larger than the staging buffer whole, between small ones", function()
    local big = {}
    for i = 1, 300000 do big[i] = string.char(i % 251) end
    big = table.concat(big)
    local stream = wire.i32(2) .. "hi" .. wire.i32(#big) .. big .. wire.i32(3) .. "bye"
    -- Fed in uneven pieces, as TCP would deliver them.
    local got, pos, step = {}, 1, 7
    while pos <= #stream do
      send(a, stream:sub(pos, pos + step - 1))
      pos = pos + step
      step = step * 3 % 65521 + 1
      for _, f in ipairs((drain(r, b))) do got[#got + 1] = f end
    end
    assert.are.equal(3, #got)
    assert.are.equal("hi", got[1])
    assert.is_true(got[2] == big, "the large frame is byte-identical")
    assert.are.equal("bye", got[3])
  end)

  it("refuses a size above the limit or negative, and reports the end of the stream", function()
    send(a, wire.i32(8 * 1024 * 1024 + 1))
    local _, rc, size = drain(r, b)
    assert.are.equal(TOO_BIG, rc)
    assert.are.equal(8 * 1024 * 1024 + 1, size)
    lib.ml_frame_reader_free(r)
    lib.ml_frame_reader_init(r, 1024)
    local c, d = pair()
    send(c, wire.i32(-5))
    assert.are.equal(TOO_BIG, select(2, drain(r, d)))
    C.close(c)
    C.close(d)
    lib.ml_frame_reader_free(r)
    lib.ml_frame_reader_init(r, 1024)
    send(a, wire.i32(10) .. "part")
    C.close(a)
    a = pair() -- keep after_each's close harmless
    -- The first wake-up finds the partial frame; the next one the end of the stream.
    local got, rc1 = drain(r, b)
    assert.are.equal(0, #got)
    assert.are.equal(AGAIN, rc1)
    local got2, rc2 = drain(r, b)
    assert.are.equal(0, #got2)
    assert.are.equal(EOF, rc2)
  end)
end)
