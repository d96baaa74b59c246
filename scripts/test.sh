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
trap 'rm -f "$log"' EXIT
targets=("$@")
# Long runs (spec/soak, tagged #soak) have their own target: make soak.
[ ${#targets[@]} -gt 0 ] || targets=(--exclude-tags=soak spec)
# busted's own launcher runs under the system Lua and re-executes LuaJIT for --lua, which loses
# a preloaded sanitizer runtime on the way: run its runner under LuaJIT directly.
LD_PRELOAD=$preload luajit "$(command -v busted)" --helper=spec/support/helper.lua -o utfTerminal "${targets[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
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
