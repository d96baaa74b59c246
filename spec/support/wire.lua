-- A minimal Kafka wire client for specs that need exact control over the bytes: raw frames,
-- garbage, hand-built Produce requests with known batches. Plain LuaJIT FFI sockets, loopback only.
local ffi = require "ffi"
local bit = require "bit"
local common = require "ffi_common"
require "process" -- declares poll, close and struct ml_spec_pollfd

ffi.cdef [[
struct ml_spec_sockaddr_in { uint16_t sin_family; uint16_t sin_port; uint32_t sin_addr; uint8_t zero[8]; };
int socket(int domain, int type, int protocol);
int connect(int fd, const struct ml_spec_sockaddr_in *addr, uint32_t len);
long send(int fd, const void *buf, size_t len, int flags);
long recv(int fd, void *buf, size_t len, int flags);
uint16_t htons(uint16_t v);
int inet_pton(int af, const char *src, void *dst);
]]

local C = ffi.C
local M = {}
local AF_INET, SOCK_STREAM, MSG_NOSIGNAL, POLLIN, POLLOUT = 2, 1, 0x4000, 1, 4

-- Big-endian encoders over Lua strings.
local function be(n, bytes)
  local t = {}
  for i = bytes, 1, -1 do
    t[i] = string.char(n % 256)
    n = math.floor(n / 256)
  end
  return table.concat(t)
end

function M.i8(n) return be(n % 0x100, 1) end
function M.i16(n) return be(n % 0x10000, 2) end
function M.i32(n) return be(n % 0x100000000, 4) end
function M.i64(n)
  local v = ffi.cast("uint64_t", ffi.new("int64_t", n))
  local hi = tonumber(bit.rshift(v, 32))
  local lo = tonumber(bit.band(v, 0xffffffffULL))
  return be(hi, 4) .. be(lo, 4)
end
function M.str(s) if s == nil then return M.i16(-1) end return M.i16(#s) .. s end
function M.bytes(s) if s == nil then return M.i32(-1) end return M.i32(#s) .. s end
function M.array(items, enc)
  local t = { M.i32(#items) }
  for _, it in ipairs(items) do t[#t + 1] = enc(it) end
  return table.concat(t)
end

function M.uvarint(n)
  local t = {}
  repeat
    local b = n % 128
    n = math.floor(n / 128)
    if n > 0 then b = b + 128 end
    t[#t + 1] = string.char(b)
  until n == 0
  return table.concat(t)
end
function M.varint(n)
  if n >= 0 then return M.uvarint(n * 2) end
  return M.uvarint(-n * 2 - 1)
end

-- Decoders: a cursor over a string.
local Reader = {}
Reader.__index = Reader
function M.reader(s) return setmetatable({ s = s, pos = 1 }, Reader) end
function Reader:u(n)
  local v = 0
  for i = 0, n - 1 do v = v * 256 + self.s:byte(self.pos + i) end
  self.pos = self.pos + n
  return v
end
function Reader:i16() local v = self:u(2) if v >= 0x8000 then v = v - 0x10000 end return v end
function Reader:i32() local v = self:u(4) if v >= 0x80000000 then v = v - 0x100000000 end return v end
function Reader:i64()
  local hi, lo = self:u(4), self:u(4)
  local v = ffi.cast("int64_t", bit.bor(bit.lshift(ffi.cast("uint64_t", hi), 32), lo))
  return tonumber(v)
end
function Reader:i8() local v = self:u(1) if v >= 0x80 then v = v - 0x100 end return v end
function Reader:str()
  local n = self:i16()
  if n < 0 then return nil end
  local v = self.s:sub(self.pos, self.pos + n - 1)
  self.pos = self.pos + n
  return v
end
function Reader:bytes()
  local n = self:i32()
  if n < 0 then return nil end
  local v = self.s:sub(self.pos, self.pos + n - 1)
  self.pos = self.pos + n
  return v
end
function Reader:array(dec)
  local n = self:i32()
  if n < 0 then return nil end
  local t = {}
  for i = 1, n do t[i] = dec(self) end
  return t
end

-- RecordBatch v2, uncompressed: records = { {key=, value=, headers={{k,v}}, ts=} }.
function M.record_batch(records, base_ts, attributes)
  base_ts = base_ts or os.time() * 1000
  local recs = {}
  local max_ts = base_ts
  for i, r in ipairs(records) do
    local ts = r.ts or base_ts
    if ts > max_ts then max_ts = ts end
    local hdrs = { M.varint(#(r.headers or {})) }
    for _, h in ipairs(r.headers or {}) do
      hdrs[#hdrs + 1] = M.varint(#h[1]) .. h[1] .. (h[2] and (M.varint(#h[2]) .. h[2]) or M.varint(-1))
    end
    local body = "\0" .. M.varint(ts - base_ts) .. M.varint(i - 1)
      .. (r.key and (M.varint(#r.key) .. r.key) or M.varint(-1))
      .. (r.value and (M.varint(#r.value) .. r.value) or M.varint(-1))
      .. table.concat(hdrs)
    recs[#recs + 1] = M.varint(#body) .. body
  end
  local after_crc = M.i16(attributes or 0) .. M.i32(#records - 1) .. M.i64(base_ts) .. M.i64(max_ts)
    .. M.i64(-1) .. M.i16(-1) .. M.i32(-1) .. M.i32(#records) .. table.concat(recs)
  local crc = common.lib.ml_crc32c(0, after_crc, #after_crc)
  local tail = M.i32(0) .. M.i8(2) .. M.i32(tonumber(crc)) .. after_crc
  return M.i64(0) .. M.i32(#tail) .. tail
end

local Conn = {}
Conn.__index = Conn

function M.connect(host, port, timeout_ms)
  local fd = C.socket(AF_INET, SOCK_STREAM, 0)
  assert(fd >= 0, "socket() failed")
  local addr = ffi.new("struct ml_spec_sockaddr_in")
  addr.sin_family = AF_INET
  addr.sin_port = C.htons(port)
  C.inet_pton(AF_INET, host, ffi.cast("void *", ffi.cast("char *", addr) + 4))
  if C.connect(fd, addr, ffi.sizeof(addr)) ~= 0 then
    C.close(fd)
    return nil, "connect failed"
  end
  return setmetatable({ fd = fd, corr = 0, timeout = timeout_ms or 10000 }, Conn)
end

-- Sends raw bytes; returns false once the peer has closed.
function Conn:send_raw(s)
  local off = 0
  while off < #s do
    local n = C.send(self.fd, ffi.cast("const char *", s) + off, #s - off, MSG_NOSIGNAL)
    if n <= 0 then return false end
    off = off + n
  end
  return true
end

-- Reads exactly n bytes or returns nil (closed or timed out).
function Conn:recv_exact(n)
  local buf = ffi.new("uint8_t[?]", math.max(n, 1))
  local got = 0
  local pfd = ffi.new("struct ml_spec_pollfd")
  pfd.fd, pfd.events = self.fd, POLLIN
  while got < n do
    if C.poll(pfd, 1, self.timeout) <= 0 then return nil, "timeout" end
    local r = C.recv(self.fd, buf + got, n - got, 0)
    if r <= 0 then return nil, "closed" end
    got = got + tonumber(r)
  end
  return ffi.string(buf, n)
end

-- True when the broker closed the connection (reads EOF within timeout_ms).
function Conn:closed_by_peer(timeout_ms)
  local pfd = ffi.new("struct ml_spec_pollfd")
  pfd.fd, pfd.events = self.fd, POLLIN
  if C.poll(pfd, 1, timeout_ms or 2000) <= 0 then return false end
  local buf = ffi.new("uint8_t[4096]")
  while true do
    local r = C.recv(self.fd, buf, 4096, 0)
    if r <= 0 then return true end
    if C.poll(pfd, 1, timeout_ms or 2000) <= 0 then return false end
  end
end

function Conn:close()
  if self.fd then C.close(self.fd) end
  self.fd = nil
end

-- Sends a request with header v1 (or v2 when flexible) and returns its correlation id.
function Conn:send_request(api_key, version, body, flexible, client_id)
  self.corr = self.corr + 1
  local hdr = M.i16(api_key) .. M.i16(version) .. M.i32(self.corr) .. M.str(client_id or "moonlog-spec")
  if flexible then hdr = hdr .. "\0" end
  local frame = hdr .. body
  assert(self:send_raw(M.i32(#frame) .. frame), "send failed")
  return self.corr
end

-- Reads one response frame; returns correlation id and the rest (header tags, body).
function Conn:recv_response()
  local size, err = self:recv_exact(4)
  if not size then return nil, err end
  local n = M.reader(size):i32()
  local frame, err2 = self:recv_exact(n)
  if not frame then return nil, err2 end
  local r = M.reader(frame)
  local corr = r:i32()
  return corr, frame:sub(5)
end

function Conn:request(api_key, version, body, flexible)
  local corr = self:send_request(api_key, version, body, flexible)
  local got, rest = self:recv_response()
  assert(got == corr, "response correlation id " .. tostring(got) .. " ~= " .. corr .. " (" .. tostring(rest) .. ")")
  return rest
end

-- Produce v3 of one batch to one partition; returns error code, base offset (acks ~= 0).
function Conn:produce(topic, partition, batch, acks)
  local body = M.str(nil) .. M.i16(acks or 1) .. M.i32(30000)
    .. M.array({ topic }, function(t)
      return M.str(t) .. M.array({ partition }, function(p) return M.i32(p) .. M.bytes(batch) end)
    end)
  if acks == 0 then
    self:send_request(0, 3, body)
    return 0
  end
  local r = M.reader(self:request(0, 3, body))
  local res = r:array(function(rr)
    local name = rr:str()
    local parts = rr:array(function(pr)
      return { index = pr:i32(), err = pr:i16(), base_offset = pr:i64(), log_append_time = pr:i64() }
    end)
    return { name = name, parts = parts }
  end)
  local p = res[1].parts[1]
  return p.err, p.base_offset, p.log_append_time
end

-- CreateTopics v0: {name=, partitions=, rf=, configs={k=v}}; returns the error code.
function Conn:create_topic(name, partitions, configs)
  local cfg = {}
  for k, v in pairs(configs or {}) do cfg[#cfg + 1] = { k, v } end
  local body = M.array({ name }, function(n)
    return M.str(n) .. M.i32(partitions or 1) .. M.i16(1) .. M.array({}, nil)
      .. M.array(cfg, function(c) return M.str(c[1]) .. M.str(c[2]) end)
  end) .. M.i32(10000)
  local r = M.reader(self:request(19, 0, body))
  local res = r:array(function(rr) return { name = rr:str(), err = rr:i16() } end)
  return res[1].err
end

-- Reads a whole partition with Fetch v4 and returns {offset -> key}, the batch base offsets in
-- order, and the high watermark.
function M.read_partition(port, topic, partition)
  local c = assert(M.connect("127.0.0.1", port))
  local keys, batches, offset, hw = {}, {}, 0, nil
  while true do
    local body = M.i32(-1) .. M.i32(100) .. M.i32(1) .. M.i32(4 * 1024 * 1024) .. M.i8(0)
      .. M.array({ topic }, function(t)
        return M.str(t) .. M.array({ partition }, function(p)
          return M.i32(p) .. M.i64(offset) .. M.i32(1024 * 1024)
        end)
      end)
    local r = M.reader(c:request(1, 4, body))
    r:i32() -- throttle
    assert(r:i32() == 1)
    r:str()
    assert(r:i32() == 1)
    r:i32()
    local err = r:i16()
    assert(err == 0, "fetch error " .. err)
    hw = r:i64()
    r:i64()
    r:array(function(x) x:i64() x:i64() end)
    local records = r:bytes() or ""
    local pos = 1
    local progressed = false
    while pos + 61 <= #records + 1 do
      local br = M.reader(records:sub(pos))
      local base = br:i64()
      local len = br:i32()
      if pos + 12 + len > #records + 1 then break end
      br.pos = 58
      local count = br:i32()
      batches[#batches + 1] = { base = base, count = count }
      -- Uncompressed records: walk them for their keys.
      local rr = M.reader(records:sub(pos + 61, pos + 12 + len - 1))
      local function varint()
        local v, shift = 0, 0
        repeat
          local byte = rr:u(1)
          v = v + bit.band(byte, 0x7f) * 2 ^ shift
          shift = shift + 7
        until byte < 128
        if v % 2 == 1 then return -(v + 1) / 2 end
        return v / 2
      end
      for _ = 1, count do
        varint() -- length
        rr:u(1)
        varint() -- ts delta
        local od = varint()
        local kl = varint()
        local key = rr.s:sub(rr.pos, rr.pos + kl - 1)
        rr.pos = rr.pos + kl
        local vl = varint()
        rr.pos = rr.pos + math.max(vl, 0)
        local nh = varint()
        assert(nh == 0, "records with headers")
        keys[base + od] = key
      end
      offset = base + count
      progressed = true
      pos = pos + 12 + len
    end
    if not progressed or offset >= hw then break end
  end
  c:close()
  return keys, batches, hw
end

return M
