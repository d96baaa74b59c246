-- A consumer is used from one thread: a C program (compiled here against libmoonlog) calls a
-- consumer from a second thread and must be refused with WRONG_THREAD, leaving the consumer
-- usable from its own thread.
local process = require "process"
local brokers = require "broker"
local client = require "client"

local PROGRAM = [[
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "moonlog/consumer.h"

static moonlog_consumer *c;
static void *other(void *arg) {
    moonlog_error *e = arg;
    const moonlog_consumer_record *recs;
    int32_t n;
    moonlog_consumer_poll(c, 0, &recs, &n, e);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    moonlog_error e;
    memset(&e, 0, sizeof e);
    moonlog_consumer_config *cfg = moonlog_consumer_config_new();
    if (moonlog_consumer_config_set(cfg, "bootstrap.servers", argv[1], &e) != 0) return 2;
    if (moonlog_consumer_new(cfg, &c, &e) != 0) return 3;
    moonlog_consumer_config_free(cfg);
    moonlog_topic_partition tp = {"threads", 0};
    if (moonlog_consumer_assign(c, &tp, 1, &e) != 0) return 4;
    moonlog_error oe;
    memset(&oe, 0, sizeof oe);
    pthread_t t;
    pthread_create(&t, NULL, other, &oe);
    pthread_join(t, NULL);
    printf("other: %d %s\n", oe.code, oe.name);
    const moonlog_consumer_record *recs;
    int32_t n;
    int rc = moonlog_consumer_poll(c, 0, &recs, &n, &e);
    printf("owner: %d\n", rc);
    return moonlog_consumer_close(c, &e);
}
]]

describe("consumer threads", function()
  local b

  setup(function() b = brokers.start() end)
  teardown(function() if b then b:stop() end end)

  it("refuses a call from a second thread with WRONG_THREAD", function()
    -- the topic exists first: otherwise the owner's poll races the metadata answer
    -- (UNKNOWN_TOPIC_OR_PARTITION once it came, which is not what this spec is about)
    local made, msg = process.sh("echo x | kcat -P -b " .. b.bootstrap .. " -t threads")
    assert(made, msg)
    local dir = process.tmpdir("consumer-threads")
    process.write_file(dir .. "/threads.c", PROGRAM)
    local lib = client.root .. "/" .. client.build
    local san = ({ address = "-fsanitize=address,undefined", thread = "-fsanitize=thread" })[os.getenv("SANITIZE") or ""]
    local ok, out = process.sh(("cc -std=c11 -D_GNU_SOURCE %s -I%s/core/include -o %s/threads %s/threads.c -L%s " ..
      "-Wl,-rpath,%s -lmoonlog -lpthread && %s/threads %s"):format(san or "", client.root, dir, dir, lib, lib, dir,
      b.bootstrap))
    process.rmdir(dir)
    assert(ok, out)
    assert.matches("other: %-120 WRONG_THREAD", out)
    assert.matches("owner: 0", out)
  end)
end)
