# moonlog: one entry point for building, testing, running and benchmarking.
#   make            build build/moonlogd, build/libmoonlog.so, build/libmoonlog.a
#   make deps       install what is missing (Debian packages, the specs' npm packages)
#   make run        deps + build + one broker on 127.0.0.1:9092, data in ./data
#   make test       deps + build + every busted spec under LuaJIT
#   make bench      throughput figures beside the loopback limit (not a test)
#   make soak       long runs kept out of make test (kill -9 under load, MOONLOG_SOAK_SECONDS)
#   make sanitize   make test under SANITIZE=address, then SANITIZE=thread
#   make test SANITIZE=address|thread   the same specs against a sanitized build

SANITIZE ?=
CC ?= cc
B := build$(if $(SANITIZE),/$(SANITIZE))

OPT ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(OPT) -g -fPIC \
               -fvisibility=default -Icore -Icore/include -I$(B)/gen $(shell pkg-config --cflags luajit 2>/dev/null)
ifeq ($(SANITIZE),address)
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
else ifeq ($(SANITIZE),thread)
  SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifneq ($(SANITIZE),)
  $(error SANITIZE must be address or thread, not '$(SANITIZE)')
endif
CFLAGS += $(CFLAGS_BASE) $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
LDLIBS := -levent -lzstd -llz4 -lz -lsnappy -lluajit-5.1 -lpthread -lm

COMMON_SRC  := $(wildcard core/common/*.c)
PROTO_SRC   := $(wildcard core/proto/*.c)
STORAGE_SRC := $(wildcard core/storage/*.c)
BROKER_SRC  := $(filter-out core/broker/main.c,$(wildcard core/broker/*.c))
CLIENT_SRC  := $(wildcard core/client/*.c)
LUA_SRC     := $(wildcard core/lua/*.c)

# Protocol codecs are generated from one definition per API (core/proto/defs/*.lua).
PROTO_DEFS  := $(wildcard core/proto/defs/*.lua)
GEN_C       := $(PROTO_DEFS:core/proto/defs/%.lua=$(B)/gen/proto/%.c)
GEN_H       := $(PROTO_DEFS:core/proto/defs/%.lua=$(B)/gen/proto/%.h)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
LIB_OBJ     := $(call obj,$(COMMON_SRC) $(PROTO_SRC) $(CLIENT_SRC) $(LUA_SRC)) $(GEN_C:.c=.o)
BROKER_OBJ  := $(call obj,$(COMMON_SRC) $(PROTO_SRC) $(STORAGE_SRC) $(BROKER_SRC)) $(GEN_C:.c=.o)

all: $(B)/moonlogd $(B)/libmoonlog.so $(B)/libmoonlog.a $(B)/libmoonlogd.so $(B)/moonlog

# Generated files are not intermediates: make must never delete them after a build.
.SECONDARY: $(GEN_C) $(GEN_H)

$(B)/gen/proto/%.c $(B)/gen/proto/%.h: core/proto/defs/%.lua core/proto/gen.lua
	@mkdir -p $(B)/gen/proto
	luajit core/proto/gen.lua $< $(B)/gen/proto

$(B)/obj/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/gen/proto/%.o: $(B)/gen/proto/%.c $(GEN_H)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libmoonlog.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libmoonlog.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The broker's internals as a shared library, so unit specs reach storage and codecs through FFI.
$(B)/libmoonlogd.so: $(BROKER_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/moonlogd: $(call obj,core/broker/main.c) $(BROKER_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The moonlog command (core/cli), linked with the whole of libmoonlog.a and exporting its symbols:
# `moonlog run` scripts reach the library through LuaJIT's ffi.C, not a libmoonlog.so beside it.
$(B)/moonlog: $(call obj,$(wildcard core/cli/*.c)) $(B)/libmoonlog.a
	$(CC) $(LDFLAGS) -rdynamic -o $@ $(filter %.o,$^) -Wl,--whole-archive $(B)/libmoonlog.a -Wl,--no-whole-archive $(LDLIBS)

# The benchmark's load generator (scripts/loadgen.c): pre-built requests, no client library.
$(B)/loadgen: $(call obj,scripts/loadgen.c core/common/buf.c core/common/crc32c.c)
	$(CC) $(LDFLAGS) -o $@ $^

deps:
	@bash scripts/deps.sh

run: deps all
	@mkdir -p data
	$(B)/moonlogd examples/config/server.properties

test: deps all
	@MOONLOG_BUILD=$(B) SANITIZE=$(SANITIZE) bash scripts/test.sh $(SPEC)

# Long runs kept out of make test: repeated kill -9 under load (MOONLOG_SOAK_SECONDS, default 120).
soak: deps all
	@MOONLOG_BUILD=$(B) SANITIZE=$(SANITIZE) bash scripts/test.sh --tags=soak spec/soak

# Every spec under AddressSanitizer+UBSan, then ThreadSanitizer (run before resolving an issue).
sanitize:
	$(MAKE) test SANITIZE=address
	$(MAKE) test SANITIZE=thread

bench: deps all $(B)/loadgen
	@MOONLOG_BUILD=$(B) bash scripts/bench.sh

clean:
	rm -rf build

.PHONY: all deps run test soak sanitize bench clean
-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
