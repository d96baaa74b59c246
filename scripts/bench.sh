#!/usr/bin/env bash
# make bench: the broker's own cost beside the machine's limits, all measured in one run.
# Prints median figures over ROUNDS rounds (the machine is shared and noisy) and the ratios:
#   - loopback TCP bandwidth (iperf3): the network limit for both directions;
#   - buffered file writes (dd into the log dir's filesystem): the limit of any durable ingest;
#   - moonlogd with the pre-built load generator (scripts/loadgen.c): produce and fetch, a fresh
#     broker each round (the page cache absorbs a round's writes, as it does for bursts);
#   - kcat (librdkafka) producing and consuming through the same broker, as a client reference;
#   - consumer groups (scripts/group_bench.lua): a 10-member rebalance and OffsetCommit throughput;
#   - the producer: moonlog perf produce beside kcat;
#   - the consumer: moonlog perf consume beside kcat -C (scripts/bench_consume.sh);
#   - the partitioners: the built-in beside each shipped Lua partitioner, in pairs of runs
#     (records/s and CPU seconds) and in instructions per record (callgrind), which this
#     machine's noise cannot blur (scripts/bench_partitioners.sh).
# MOONLOG_BENCH=broker|produce|consume|partitioners runs that section alone (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${MOONLOG_BUILD:-build}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
KCAT_RECORDS=${KCAT_RECORDS:-500000}
BENCH=${MOONLOG_BENCH:-all}
want() { [ "$BENCH" = all ] || [ "$BENCH" = "$1" ]; }
dir=$(mktemp -d /tmp/moonlog-bench.XXXXXX)
pids=()
tmpfs_dirs=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$dir" "${tmpfs_dirs[@]}"
}
trap cleanup EXIT

# tmpfs_dir NAME: sets $td to a new directory on tmpfs (under $dir when there is none), removed at
# the end. The brokers that the clients' sections produce to keep their logs there: those
# sections compare clients, and on disk the kernel's writeback throttled whichever run crossed its
# dirty limit (moonlog against kcat at 1 KiB: 0.64-0.72 with the logs on disk, 0.95-1.09 on tmpfs,
# within the hour).
tmpfs_dir() {
    td=$(mktemp -d "/dev/shm/moonlog-bench-$1.XXXXXX" 2>/dev/null) || { td="$dir/$1-logs"; mkdir -p "$td"; }
    tmpfs_dirs+=("$td")
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -nE "s|.*$1=([0-9.]+).*|\1|p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }'; }
now() { date +%s.%N; }

# Starts a broker with its logs under $1 (more arguments go to moonlogd); sets $hp to its address and appends its pid to pids.
start_broker() {
    local data=$1 log=$1/broker.log
    shift
    mkdir -p "$data"
    "$B/moonlogd" --override listeners=PLAINTEXT://127.0.0.1:0 --override "log.dirs=$data/logs" "$@" 2>"$log" &
    pids+=($!)
    for _ in $(seq 200); do grep -q "listening on" "$log" && break; sleep 0.05; done
    hp=127.0.0.1:$(sed -nE 's/.*listening on [^ ]*:([0-9]+).*/\1/p' "$log" | head -n 1)
}

if want broker; then
# Loopback TCP bandwidth: iperf3 against itself on a free port.
iport=$(( 20000 + RANDOM % 20000 ))
loop=(); ddw=()
for r in $(seq "$ROUNDS"); do
    iperf3 -s -1 -p "$iport" >/dev/null 2>&1 & ip=$!
    sleep 0.3
    bps=$(iperf3 -c 127.0.0.1 -p "$iport" -t "$SECS" -J | sed -nE 's/.*"bits_per_second":[[:space:]]*([0-9.e+]+).*/\1/p' | tail -n 1)
    wait "$ip" || true
    loop+=("$(awk -v b="$bps" 'BEGIN {printf "%.1f", b / 8 / 1e6}')")
    # Buffered writes of 2 GB into the log dir's filesystem, as the broker does them (no fsync).
    t0=$(now); dd if=/dev/zero of="$dir/dd.bin" bs=1M count=2000 status=none; t1=$(now); rm -f "$dir/dd.bin"
    ddw+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", 2000 * 1048576 / (b - a) / 1e6}')")
done
loop_mbs=$(printf '%s\n' "${loop[@]}" | median)
dd_mbs=$(printf '%s\n' "${ddw[@]}" | median)

# Produce then fetch, each round against a fresh broker with empty logs: a round writes a few GB,
# and a longer-lived data set would measure the disk's writeback (the dd figure) rather than the
# broker. Fetch reads back what the round produced.
prod=(); fetchr=(); prec=(); p99=()
for r in $(seq "$ROUNDS"); do
    start_broker "$dir/round$r"
    "$B/loadgen" create "$hp" bench 4
    line=$("$B/loadgen" produce "$hp" bench 4 "$SECS" 4)
    prod+=("$(field MB/s <<<"$line")"); prec+=("$(field records/s <<<"$line")"); p99+=("$(field p99_ms <<<"$line")")
    line=$("$B/loadgen" fetch "$hp" bench 4 "$SECS")
    fetchr+=("$(field MB/s <<<"$line")")
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
    rm -rf "$dir/round$r"
done
prod_mbs=$(printf '%s\n' "${prod[@]}" | median)
fetch_mbs=$(printf '%s\n' "${fetchr[@]}" | median)
prod_rps=$(printf '%s\n' "${prec[@]}" | median)
prod_p99=$(printf '%s\n' "${p99[@]}" | median)

fi

tmpfs_dir clients
start_broker "$dir/clients" --override "log.dirs=$td"
cl_hp=$hp
cl_pid=${pids[-1]}

if want broker; then
# kcat through the same broker: KCAT_RECORDS records of 100 bytes in, then all of them out.
awk -v n="$KCAT_RECORDS" 'BEGIN { v = sprintf("%0100d", 0); for (i = 0; i < n; i++) print v }' >"$dir/records.txt"
bytes=$(( KCAT_RECORDS * 100 ))
kp=(); kc=()
for r in $(seq "$ROUNDS"); do
    t0=$(now)
    kcat -P -b "$cl_hp" -t "kcat$r" -X linger.ms=5 -X batch.num.messages=10000 <"$dir/records.txt"
    t1=$(now)
    kcat -C -b "$cl_hp" -t "kcat$r" -o beginning -e -q >/dev/null
    t2=$(now)
    kp+=("$(awk -v a="$t0" -v b="$t1" -v n="$bytes" 'BEGIN {printf "%.1f", n / (b - a) / 1e6}')")
    kc+=("$(awk -v a="$t1" -v b="$t2" -v n="$bytes" 'BEGIN {printf "%.1f", n / (b - a) / 1e6}')")
done
kp_mbs=$(printf '%s\n' "${kp[@]}" | median)
kc_mbs=$(printf '%s\n' "${kc[@]}" | median)

# Consumer groups: a 10-member rebalance (join to Stable) and OffsetCommit requests/s, own broker.
reb=(); cps=()
for r in $(seq "$ROUNDS"); do
    line=$(MOONLOG_ROOT=$PWD MOONLOG_BUILD=$B luajit scripts/group_bench.lua 3000)
    reb+=("$(field rebalance_ms <<<"$line")"); cps+=("$(field commits_per_s <<<"$line")")
done
reb_ms=$(printf '%s\n' "${reb[@]}" | median)
cps_med=$(printf '%s\n' "${cps[@]}" | median)

fi

if want produce; then
# Producer (issue 4): moonlog perf produce beside kcat on the same broker, records/s. Both batch
# alike: linger.ms=5 and librdkafka's default batch size (1,000,000 bytes; the Java default of
# 16 KiB would hold 16 records of 1 KiB per batch).
perf_rps() { # topic records size acks [more moonlog perf options]
    local t=$1 n=$2 size=$3 acks=$4
    shift 4
    "$B/moonlog" perf produce --bootstrap-server "$cl_hp" --topic "$t" --num-records "$n" --record-size "$size" \
        --throughput -1 --producer-property "acks=$acks" --producer-property linger.ms=5 \
        --producer-property batch.size=1000000 "$@" 2>/dev/null | sed -nE 's|.* ([0-9.]+) records/sec.*|\1|p' | tail -n 1
}
kcat_rps() { # topic file records acks [kcat options]
    local t=$1 f=$2 n=$3 acks=$4
    shift 4
    local t0 t1
    t0=$(now); kcat -P -b "$cl_hp" -t "$t" -X "acks=$acks" -X linger.ms=5 -X batch.num.messages=10000 "$@" <"$f"; t1=$(now)
    awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN {printf "%.0f", n / (b - a)}'
}
P_SMALL=${P_SMALL:-1000000}
P_LARGE=${P_LARGE:-300000}
awk -v n="$P_SMALL" 'BEGIN { v = sprintf("%0100d", 0); for (i = 0; i < n; i++) print v }' >"$dir/small.txt"
awk -v n="$P_LARGE" 'BEGIN { v = sprintf("%01024d", 0); for (i = 0; i < n; i++) print v }' >"$dir/large.txt"
declare -A pr
pcases="m100a1 m100all m100lz4 m1k1 m1kall k100a1 k100all k100lz4 k1k1 k1kall"
for c in $pcases; do pr[$c]=""; done
for r in $(seq "$ROUNDS"); do
    pr[m100a1]+=" $(perf_rps p "$P_SMALL" 100 1)"
    pr[m100all]+=" $(perf_rps p "$P_SMALL" 100 all)"
    pr[m100lz4]+=" $(perf_rps p "$P_SMALL" 100 1 --producer-property compression.type=lz4)"
    pr[m1k1]+=" $(perf_rps p "$P_LARGE" 1024 1)"
    pr[m1kall]+=" $(perf_rps p "$P_LARGE" 1024 all)"
    pr[k100a1]+=" $(kcat_rps k "$dir/small.txt" "$P_SMALL" 1)"
    pr[k100all]+=" $(kcat_rps k "$dir/small.txt" "$P_SMALL" all)"
    pr[k100lz4]+=" $(kcat_rps k "$dir/small.txt" "$P_SMALL" 1 -z lz4)"
    pr[k1k1]+=" $(kcat_rps k "$dir/large.txt" "$P_LARGE" 1)"
    pr[k1kall]+=" $(kcat_rps k "$dir/large.txt" "$P_LARGE" all)"
done
pmed() { tr ' ' '\n' <<<"${pr[$1]}" | grep -v '^$' | median; }

fi

if want broker; then
# Resident memory with 1,000 more partitions.
"$B/loadgen" create "$cl_hp" wide 1000
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$cl_pid/status")

printf '\n%-52s %10s %18s\n' "figure (median of $ROUNDS rounds)" "value" "ratio"
printf '%-52s %10s %18s\n' "loopback TCP (iperf3), MB/s" "$loop_mbs" "1.00 (loopback)"
printf '%-52s %10s %18s\n' "sustained file writes (dd 2 GB, log dir's fs), MB/s" "$dd_mbs" "$(ratio "$dd_mbs" "$loop_mbs") (loopback)"
printf '%-52s %10s %18s\n' "produce ingest, MB/s (acks=1, 1 MiB requests)" "$prod_mbs" "$(ratio "$prod_mbs" "$loop_mbs") (loopback)"
printf '%-52s %10s %18s\n' "  same, against sustained file writes (dd)" "" "$(ratio "$prod_mbs" "$dd_mbs") (dd)"
printf '%-52s %10s %18s\n' "produce ingest, records/s (100-byte records)" "$prod_rps" ""
printf '%-52s %10s %18s\n' "produce request p99, ms" "$prod_p99" ""
printf '%-52s %10s %18s\n' "fetch, MB/s (sendfile, 8 MiB responses)" "$fetch_mbs" "$(ratio "$fetch_mbs" "$loop_mbs") (loopback)"
printf '%-52s %10s %18s\n' "kcat -P through moonlogd, MB/s" "$kp_mbs" "$(ratio "$prod_mbs" "$kp_mbs") (loadgen/kcat)"
printf '%-52s %10s %18s\n' "kcat -C through moonlogd, MB/s" "$kc_mbs" "$(ratio "$fetch_mbs" "$kc_mbs") (loadgen/kcat)"
printf '%-52s %10s %18s\n' "broker RSS with 1,000 partitions, MiB" "$(awk -v k="$rss_kb" 'BEGIN{printf "%.1f", k/1024}')" "goal < 64"
printf '%-52s %10s %18s\n' "10-member rebalance, ms (initial delay 3000 ms)" "$reb_ms" "goal <= 3050"
printf '%-52s %10s %18s\n' "OffsetCommit from one client, commits/s" "$cps_med" "goal >= 50000"
fi
if want produce; then
echo
printf '%-52s %10s %10s %8s\n' "producer, records/s (median)" "moonlog" "kcat" "ratio"
for c in "100 B, acks=1:m100a1:k100a1" "100 B, acks=all:m100all:k100all" "100 B, acks=1, lz4:m100lz4:k100lz4" \
         "1 KiB, acks=1:m1k1:k1k1" "1 KiB, acks=all:m1kall:k1kall"; do
    IFS=: read -r label m k <<<"$c"
    printf '%-52s %10s %10s %8s\n' "$label" "$(pmed "$m")" "$(pmed "$k")" "$(ratio "$(pmed "$m")" "$(pmed "$k")")"
done
echo "goals: ingest >= 0.60 and fetch >= 0.90 of loopback; producer >= 1,000,000 records/s of 100 B (acks=1, none"
echo "or lz4) and at least kcat's rate"
fi

if want consume; then source scripts/bench_consume.sh; fi
if want partitioners; then source scripts/bench_partitioners.sh; fi
