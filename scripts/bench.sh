#!/usr/bin/env bash
# make bench: the broker's own cost beside the machine's loopback limit, measured in one run.
# Prints median figures over ROUNDS rounds (the machine is shared and noisy) and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${MOONLOG_BUILD:-build}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
dir=$(mktemp -d /tmp/moonlog-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -nE "s/.*$1=([0-9.]+).*/\1/p"; }

# Loopback TCP bandwidth: iperf3 against itself on a free port.
iport=$(( 20000 + RANDOM % 20000 ))
loop=()
for r in $(seq "$ROUNDS"); do
    iperf3 -s -1 -p "$iport" >/dev/null 2>&1 & ip=$!
    sleep 0.3
    bps=$(iperf3 -c 127.0.0.1 -p "$iport" -t "$SECS" -J | sed -nE 's/.*"bits_per_second":[[:space:]]*([0-9.e+]+).*/\1/p' | tail -n 1)
    wait "$ip" || true
    loop+=("$(awk -v b="$bps" 'BEGIN {printf "%.1f", b / 8 / 1e6}')")
done
loop_mbs=$(printf '%s\n' "${loop[@]}" | median)

"$B/moonlogd" --override listeners=PLAINTEXT://127.0.0.1:0 --override "log.dirs=$dir/data" 2>"$dir/broker.log" &
pids+=($!)
for _ in $(seq 200); do grep -q "listening on" "$dir/broker.log" && break; sleep 0.05; done
port=$(sed -nE 's/.*listening on [^ ]*:([0-9]+).*/\1/p' "$dir/broker.log" | head -n 1)
hp=127.0.0.1:$port
"$B/loadgen" create "$hp" bench 4

prod=(); fetchr=(); prec=(); p99=()
for r in $(seq "$ROUNDS"); do
    line=$("$B/loadgen" produce "$hp" bench 4 "$SECS" 4)
    prod+=("$(field MB/s <<<"$line")"); prec+=("$(field records/s <<<"$line")"); p99+=("$(field p99_ms <<<"$line")")
    line=$("$B/loadgen" fetch "$hp" bench 4 "$SECS")
    fetchr+=("$(field MB/s <<<"$line")")
done
prod_mbs=$(printf '%s\n' "${prod[@]}" | median)
fetch_mbs=$(printf '%s\n' "${fetchr[@]}" | median)
prod_rps=$(printf '%s\n' "${prec[@]}" | median)
prod_p99=$(printf '%s\n' "${p99[@]}" | median)

# Resident memory with 1,000 partitions, each holding one small batch.
"$B/loadgen" create "$hp" wide 1000
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/${pids[0]}/status")

printf '\n%-40s %12s %12s\n' "figure (median of $ROUNDS rounds)" "value" "ratio"
printf '%-40s %12s %12s\n' "loopback TCP (iperf3), MB/s" "$loop_mbs" "1.00"
printf '%-40s %12s %12s\n' "produce ingest, MB/s (acks=1, 1 MiB)" "$prod_mbs" "$(awk -v a="$prod_mbs" -v b="$loop_mbs" 'BEGIN{printf "%.2f", a/b}')"
printf '%-40s %12s %12s\n' "produce ingest, records/s" "$prod_rps" ""
printf '%-40s %12s %12s\n' "produce request p99, ms" "$prod_p99" ""
printf '%-40s %12s %12s\n' "fetch, MB/s (8 MiB responses)" "$fetch_mbs" "$(awk -v a="$fetch_mbs" -v b="$loop_mbs" 'BEGIN{printf "%.2f", a/b}')"
printf '%-40s %12s %12s\n' "broker RSS with 1,000 partitions, MiB" "$(awk -v k="$rss_kb" 'BEGIN{printf "%.1f", k/1024}')" "goal < 64"
echo "goals: ingest >= 0.60 and fetch >= 0.90 of loopback"
