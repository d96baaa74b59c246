# The partitioner section of make bench (issue 4's "a Lua partitioner costs <= 5% against the same
# algorithm built in"), sourced by scripts/bench.sh (its helpers: B, dir, start_broker, ratio);
# MOONLOG_BENCH=partitioners make bench runs it alone.
# Wall-clock records/s on this shared 2-core machine swing by 2x between identical runs, far more
# than 5%, so this section counts instructions instead: valgrind --tool=callgrind runs
# `moonlog perf produce` of CG_RECORDS (default 200,000) records of 100 bytes, once with the
# built-in partitioner and once with each shipped Lua partitioner, against one broker. Per record
# it prints the instructions of the thread that calls send() (where a partitioner runs) and of
# the whole client (its I/O thread partitions the lists an idle application left), and each
# Lua case against the built-in. Counts move by about 1% with batch and timer timing.
CG_RECORDS=${CG_RECORDS:-200000}
start_broker "$dir/callgrind"
cg_hp=$hp
# cg_run NAME [perf produce options]: sets cg_send and cg_all (instructions per record)
cg_run() {
    local name=$1 out="$dir/callgrind/$1"
    shift
    mkdir -p "$out"
    valgrind --tool=callgrind --separate-threads=yes --smc-check=all-non-file \
        --callgrind-out-file="$out/cg.%p" "$B/moonlog" perf produce --bootstrap-server "$cg_hp" \
        --topic "cg-$name" --num-records "$CG_RECORDS" --record-size 100 --throughput -1 \
        --producer-property acks=1 --producer-property linger.ms=5 --producer-property batch.size=1000000 \
        "$@" >/dev/null 2>"$out/valgrind.log"
    local total=0 send=0 f n
    for f in "$out"/cg.*; do
        n=$(sed -nE 's/^summary: ([0-9]+)$/\1/p' "$f")
        total=$((total + ${n:-0}))
        # the sending thread is the one whose profile has the producer's send in it
        if grep -q "moonlog_producer_send$" "$f"; then send=$((send + ${n:-0})); fi
    done
    cg_send=$((send / CG_RECORDS))
    cg_all=$((total / CG_RECORDS))
}
echo
echo "partitioners: instructions per record (callgrind), moonlog perf produce of $CG_RECORDS records of 100 B, acks=1"
printf '%-36s %14s %14s %10s %10s\n' "partitioner" "send thread" "all threads" "send/bi" "all/bi"
cg_run builtin
bi_send=$cg_send
bi_all=$cg_all
printf '%-36s %14s %14s %10s %10s\n' "built-in (sticky, murmur2 for keys)" "$bi_send" "$bi_all" "1.00" "1.00"
for p in round_robin random key_hash sticky consistent_random; do
    cg_run "$p" --partitioner "$p"
    printf '%-36s %14s %14s %10s %10s\n' "$p (Lua)" "$cg_send" "$cg_all" "$(ratio "$cg_send" "$bi_send")" \
        "$(ratio "$cg_all" "$bi_all")"
done
echo "goal: a Lua partitioner costs <= 5% against the same algorithm built in (sticky is the built-in's own)"
