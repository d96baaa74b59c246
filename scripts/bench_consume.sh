# The consume section of make bench (issue 5), sourced by scripts/bench.sh (its helpers: B, dir,
# pids, start_broker, median, ratio, now); MOONLOG_BENCH=consume make bench runs it alone.
# CONSUME_RECORDS (default 10,000,000) records of 100 bytes, no key, go into a fresh broker once
# (kcat -P: the value-only records both readers then move byte for byte), then ROUNDS rounds read
# them all, interleaved: moonlog perf consume (default consumer settings, every partition
# assigned) and kcat -C -e -o beginning -q. Both are timed by this script from process start to
# exit, so records/s = N / elapsed for each; moonlog's own final line (from consumer creation to
# the Nth record) is shown beside it.
CONSUME_RECORDS=${CONSUME_RECORDS:-10000000}
CONSUME_PARTITIONS=${CONSUME_PARTITIONS:-4}
start_broker "$dir/consume"
consume_hp=$hp
"$B/moonlog" topics --bootstrap-server "$consume_hp" --create --topic cbench --partitions "$CONSUME_PARTITIONS" >/dev/null
t0=$(now)
awk -v n="$CONSUME_RECORDS" 'BEGIN { v = sprintf("%0100d", 0); for (i = 0; i < n; i++) print v }' |
    kcat -P -b "$consume_hp" -t cbench -X linger.ms=5 -X batch.num.messages=10000
t1=$(now)
cload_rps=$(awk -v a="$t0" -v b="$t1" -v n="$CONSUME_RECORDS" 'BEGIN {printf "%.0f", n / (b - a)}')
cm=(); cmo=(); ck=()
for r in $(seq "$ROUNDS"); do
    t0=$(now)
    line=$("$B/moonlog" perf consume --bootstrap-server "$consume_hp" --topic cbench --messages "$CONSUME_RECORDS")
    t1=$(now)
    kcat -C -b "$consume_hp" -t cbench -e -o beginning -q >/dev/null
    t2=$(now)
    cm+=("$(awk -v a="$t0" -v b="$t1" -v n="$CONSUME_RECORDS" 'BEGIN {printf "%.0f", n / (b - a)}')")
    cmo+=("$(sed -nE 's|.* ([0-9.]+) records/sec.*|\1|p' <<<"$line")")
    ck+=("$(awk -v a="$t1" -v b="$t2" -v n="$CONSUME_RECORDS" 'BEGIN {printf "%.0f", n / (b - a)}')")
    echo "consume round $r: moonlog ${cm[-1]} records/s (own line: $line), kcat ${ck[-1]} records/s" >&2
done
cm_med=$(printf '%s\n' "${cm[@]}" | median)
cmo_med=$(printf '%s\n' "${cmo[@]}" | median)
ck_med=$(printf '%s\n' "${ck[@]}" | median)
mbs() { awk -v r="$1" 'BEGIN {printf "%.1f", r * 100 / 1e6}'; }
echo
printf '%-52s %12s %10s %8s\n' "consumer, $CONSUME_RECORDS x 100 B, $CONSUME_PARTITIONS partitions (median of $ROUNDS)" "records/s" "MB/s" "ratio"
printf '%-52s %12s %10s %8s\n' "moonlog perf consume (process start to exit)" "$cm_med" "$(mbs "$cm_med")" "$(ratio "$cm_med" "$ck_med")"
printf '%-52s %12s %10s %8s\n' "  its own line (consumer created to Nth record)" "$(printf '%.0f' "$cmo_med")" "$(mbs "$cmo_med")" ""
printf '%-52s %12s %10s %8s\n' "kcat -C -e -o beginning -q (process start to exit)" "$ck_med" "$(mbs "$ck_med")" "1.00"
printf '%-52s %12s\n' "loading them with kcat -P, records/s" "$cload_rps"
echo "goal: moonlog perf consume >= 2,000,000 records/s of 100 B and at least kcat's rate"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
