-- Kafka's checkpoint file format: "0", the count, then "topic partition offset" lines.
local ffi = require "ffi"
local st = require "storage_ffi"
local lib = st.lib

describe("checkpoint", function()
  local root
  local e = st.common.err()
  before_each(function() root = st.tmpdir() end)
  after_each(function() st.rmdir(root) end)

  local function write(path, list)
    local arr = ffi.new("ml_checkpoint_entry[?]", #list + 1)
    for i, t in ipairs(list) do
      ffi.copy(arr[i - 1].topic, t[1])
      arr[i - 1].partition = t[2]
      arr[i - 1].offset = t[3]
    end
    return lib.ml_checkpoint_write(path, arr, #list, e)
  end

  local function read(path)
    local pp, n = ffi.new("ml_checkpoint_entry *[1]"), ffi.new("int[1]")
    local rc = lib.ml_checkpoint_read(path, pp, n, e)
    if rc ~= 0 then return nil, rc end
    local out = {}
    for i = 0, n[0] - 1 do out[#out + 1] = { ffi.string(pp[0][i].topic), pp[0][i].partition, tonumber(pp[0][i].offset) } end
    lib.ml_checkpoint_free(pp[0])
    return out
  end

  it("writes Kafka's format and reads it back", function()
    local path = root .. "/recovery-point-offset-checkpoint"
    local list = { { "orders", 0, 42 }, { "my-topic-with-dashes", 12, 9007199254740 }, { "__consumer_offsets", 49, 0 } }
    st.check(write(path, list), e)
    assert.equal("0\n3\norders 0 42\nmy-topic-with-dashes 12 9007199254740\n__consumer_offsets 49 0\n", st.read_file(path))
    assert.same(list, read(path))
    assert.is_false(st.exists(path .. ".tmp"))
    -- replaced whole on rewrite
    st.check(write(path, { { "x", 1, 2 } }), e)
    assert.same({ { "x", 1, 2 } }, read(path))
  end)

  it("reads a file written by Kafka and finds entries", function()
    local path = root .. "/log-start-offset-checkpoint"
    st.write_file(path, "0\n2\nfoo 0 10\nfoo-bar 3 77\n")
    local pp, n = ffi.new("ml_checkpoint_entry *[1]"), ffi.new("int[1]")
    st.check(lib.ml_checkpoint_read(path, pp, n, e), e)
    assert.equal(2, n[0])
    assert.equal(77, tonumber(lib.ml_checkpoint_find(pp[0], n[0], "foo-bar", 3, -1)))
    assert.equal(-1, tonumber(lib.ml_checkpoint_find(pp[0], n[0], "foo", 3, -1)))
    lib.ml_checkpoint_free(pp[0])
  end)

  it("treats a missing file as empty and rejects malformed ones", function()
    assert.same({}, read(root .. "/nothing"))
    st.write_file(root .. "/bad1", "1\n1\nfoo 0 1\n")
    assert.equal(st.ECORRUPT, select(2, read(root .. "/bad1")))
    st.write_file(root .. "/bad2", "0\n3\nfoo 0 1\n")
    assert.equal(st.ECORRUPT, select(2, read(root .. "/bad2")))
    assert.matches("entry 2 of 3", ffi.string(e.msg))
  end)
end)
