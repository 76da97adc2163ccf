#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# workers.sh: hellod with one worker against hellod with two, ping-pong on
# loopback.  Unlike compare.sh nothing is pinned: two workers need both
# CPUs, so the server and the load share them.  The load is two hello-bench
# processes (each single-threaded) so that it is not the one CPU-bound
# thread that sets the pace; their rates are added.
#
# Knobs (environment): RUNS=3 DURATION=3 WARMUP=1 CONNS=50 DEPTHS="1 16"
#   HELLOD=../src/hellod BENCH_BIN_DIR (where hello-bench is)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50}
DEPTHS=${DEPTHS:-1 16}

check_int RUNS "$RUNS" 1 50
check_number DURATION "$DURATION"
check_number WARMUP "$WARMUP"
check_int CONNS "$CONNS" 2 10000
for d in $DEPTHS; do
	check_int DEPTHS "$d" 1 1024
done
lib_init
[[ -x $HELLOD ]] || die "no hellod at $HELLOD"
SERVER_CPU="0-$(($(nproc) - 1))"	# every CPU: see above
limit=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 30 }')

# One measurement: the two load processes' rates added up.
measure() {
	local port=$1 depth=$2 a b ra rb
	timeout "$limit" "$BENCH" pingpong -P "$port" -c $((CONNS / 2)) \
	    -d "$depth" -t "$DURATION" -w "$WARMUP" >"$tmp/a.out" 2>&1 &
	a=$!
	timeout "$limit" "$BENCH" pingpong -P "$port" -c $((CONNS - CONNS / 2)) \
	    -d "$depth" -t "$DURATION" -w "$WARMUP" >"$tmp/b.out" 2>&1 &
	b=$!
	wait "$a" || { cat "$tmp/a.out" >&2; return 1; }
	wait "$b" || { cat "$tmp/b.out" >&2; return 1; }
	ra=$(tail -n 1 "$tmp/a.out" | sed -n 's/.* rps=\([0-9]*\).*/\1/p')
	rb=$(tail -n 1 "$tmp/b.out" | sed -n 's/.* rps=\([0-9]*\).*/\1/p')
	[[ -n $ra && -n $rb ]] || return 1
	echo $((ra + rb))
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

declare -A result
for w in 1 2; do
	HELLOD_WORKERS=$w
	start_server hellod || die "hellod did not start"
	for d in $DEPTHS; do
		for ((r = 0; r < RUNS; r++)); do
			measure "$SRV_PORT" "$d" || die "a run failed"
		done >"$tmp/runs"
		result[$w,$d]=$(median <"$tmp/runs")
		echo "  workers=$w depth=$d runs: $(tr '\n' ' ' <"$tmp/runs")"
	done
	stop_server "$SRV_PID"
done

echo
echo "hellod, 1 vs 2 workers: $CONNS connections from 2 load processes,"
echo "$(nproc) CPUs shared by server and load; median of $RUNS runs of ${DURATION}s"
printf '%-22s %14s %14s %8s\n' "" "1 worker" "2 workers" "ratio"
line="WORKERS"
for d in $DEPTHS; do
	ratio=$(awk -v a="${result[1,$d]}" -v b="${result[2,$d]}" \
	    'BEGIN { printf "%.2f", b / a }')
	printf '%-22s %14s %14s %8s\n' "ping-pong d$d req/s" \
	    "${result[1,$d]}" "${result[2,$d]}" "$ratio"
	line="$line d${d}_w1=${result[1,$d]} d${d}_w2=${result[2,$d]} d${d}_ratio=$ratio"
done
echo "$line"
