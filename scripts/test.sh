#!/usr/bin/env bash
# Runs every busted spec under LuaJIT and ends with one summary line 'N passed, N failed'.
# MOONLOG_BUILD names the build directory the specs load binaries from.
set -uo pipefail
cd "$(dirname "$0")/.."
export MOONLOG_BUILD=${MOONLOG_BUILD:-build}
export MOONLOG_ROOT=$PWD
preload=""
case "${SANITIZE:-}" in
    # LuaJIT is not instrumented: the sanitizer runtime must be loaded first into it.
    address) preload=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)
             export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} ;;
    thread) preload=$(gcc -print-file-name=libtsan.so) ;;
esac
log=$(mktemp)
pgfile=$(mktemp)
# The specs stop what they start, but not when the runner itself dies (a crash in a library it
# loaded, a kill): busted runs in a process group of its own, and whatever is left in that group
# (brokers, kcat, node) is stopped when this script ends, however it ends.
stop_group() {
    local g
    g=$(cat "$pgfile" 2>/dev/null)
    [ -z "$g" ] || kill -TERM -- "-$g" 2>/dev/null || true
}
trap 'stop_group; rm -f "$log" "$pgfile"' EXIT
targets=("$@")
# Long runs (spec/soak, tagged #soak) have their own target: make soak.
[ ${#targets[@]} -gt 0 ] || targets=(--exclude-tags=soak spec)
# busted's own launcher runs under the system Lua and re-executes LuaJIT for --lua, which loses
# a preloaded sanitizer runtime on the way: run its runner under LuaJIT directly.
# (tee is not waited for before that: a leftover holding the output open would keep it running.)
setsid -w bash -c 'echo $$ >"$0"; exec env LD_PRELOAD="$1" luajit "$2" --helper=spec/support/helper.lua -o utfTerminal "${@:3}"' \
    "$pgfile" "$preload" "$(command -v busted)" "${targets[@]}" > >(echo "$BASHPID" >"$log.tee"; exec tee "$log") 2>&1
rc=$?
stop_group
# then every line is in the log before it is read (tee ends once nothing holds the output open)
tee_pid=$(cat "$log.tee" 2>/dev/null || true)
for _ in $(seq 200); do [ -n "$tee_pid" ] && kill -0 "$tee_pid" 2>/dev/null || break; sleep 0.05; done
rm -f "$log.tee"
summary=$(grep -aE '^[0-9]+ success' "$log" | tail -n 1)
passed=$(sed -nE 's/^([0-9]+) success.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.* ([0-9]+) failures? \/ ([0-9]+) errors?.*/\1 \2/p' <<<"$summary")
skipped=$(sed -nE 's/.* ([0-9]+) pending.*/\1/p' <<<"$summary")
f=0
for n in $failed; do f=$((f + n)); done
echo
echo "${passed:-0} passed, $f failed, ${skipped:-0} skipped"
[ -n "$summary" ] || rc=1
exit "$rc"
