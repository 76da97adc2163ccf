#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# syscalls.sh: system calls the server makes per request, under hello-bench
# ping-pong load on loopback (server on one CPU, load on the other).
#
# The total comes from "perf stat -e raw_syscalls:sys_enter -p PID", which
# costs the server almost nothing; when perf cannot read tracepoints here,
# from "strace -c -f". A per-call breakdown comes from a second, shorter
# pass under "strace -c -f" (strace slows the server down, but the count of
# calls per request stays what it is).
#
# Knobs (environment):
#   SERVERS="ref bev hellod redis memcached"  DEPTHS="1 16"  CONNS=50
#   DURATION=3        seconds of load per measurement
#   BREAKDOWN=1       0: skip the strace per-call pass
#   SERVER_CPU=0 CLIENT_CPU=1 HELLOD=../src/hellod HELLOD_WORKERS=1
#   BENCH_BIN_DIR     where hello-bench, epoll-ref and bev-ref are

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

SERVERS=${SERVERS:-ref bev hellod redis memcached}
DEPTHS=${DEPTHS:-1 16}
CONNS=${CONNS:-50}
DURATION=${DURATION:-3}
BREAKDOWN=${BREAKDOWN:-1}
IDLE_CONNS=${IDLE_CONNS:-100}	# only sizes the servers' limits here

check_number DURATION "$DURATION"
check_int CONNS "$CONNS" 1 10000
for d in $DEPTHS; do
	check_int DEPTHS "$d" 1 1024
done
awk -v d="$DURATION" 'BEGIN { exit !(d <= 600) }' ||
	die "DURATION is capped at 600 s"

lib_init

run_limit=$(awk -v d="$DURATION" 'BEGIN { printf "%d", d + 60 }')

if timeout 10 perf stat -e raw_syscalls:sys_enter -o /dev/null true \
    >/dev/null 2>&1; then
	method=perf
elif command -v strace >/dev/null; then
	method=strace
	note "perf cannot count syscalls here: using strace -c for totals"
else
	die "neither perf nor strace works (apt-get install -y strace)"
fi
if ((BREAKDOWN)) && ! command -v strace >/dev/null; then
	note "no strace: no per-call breakdown (apt-get install -y strace)"
	BREAKDOWN=0
fi

# Run the load once against port; print the requests it completed.
load() {
	local port=$1 depth=$2 out=$tmp/bench.out
	server_args "$server"
	if ! timeout -k 5 "$run_limit" taskset -c "$CLIENT_CPU" "$BENCH" \
	    pingpong -c "$CONNS" -d "$depth" -t "$DURATION" -w 0 \
	    "${bench_args[@]}" -P "$port" >"$out" 2>&1; then
		note "$server: hello-bench failed:"
		tail -n 5 "$out" >&2
		return 1
	fi
	sed -n 's/^RESULT .* requests=\([0-9]*\) .*/\1/p' "$out"
}

# Attach a counter to pid, run the load, detach; the counter's output is
# in $tmp/count.out. Prints the requests completed.
counted_load() {
	local how=$1 pid=$2 port=$3 depth=$4 cpid requests rc=0
	: >"$tmp/count.out"
	if [[ $how == perf ]]; then
		timeout -k 5 "$run_limit" perf stat -x, \
		    -e raw_syscalls:sys_enter -p "$pid" \
		    -o "$tmp/count.out" &
	else
		timeout -k 5 "$run_limit" strace -c -f -q -p "$pid" \
		    -o "$tmp/count.out" &
	fi
	cpid=$!
	sleep 0.5	# let it attach before the first request
	requests=$(load "$port" "$depth") || rc=1
	kill -INT "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	echo "$requests"
	return "$rc"
}

total_calls() {
	if [[ $1 == perf ]]; then
		awk -F, '$3 ~ /raw_syscalls:sys_enter/ { print $1; exit }' \
		    "$tmp/count.out"
	else
		awk '$NF == "total" { print $(NF - 2); exit }' \
		    "$tmp/count.out"
	fi
}

echo "syscalls per request, ping-pong $CONNS connections, ${DURATION}s;" \
    "server on CPU $SERVER_CPU, load on CPU $CLIENT_CPU; counted by $method"
status=0
for server in $SERVERS; do
	server_available "$server" || continue
	if ! start_server "$server"; then
		status=1
		continue
	fi
	pid=$SRV_PID
	port=$SRV_PORT
	# A short warm-up so one-time allocation is not counted.
	load "$port" 1 >/dev/null || status=1
	for depth in $DEPTHS; do
		if ! requests=$(counted_load "$method" "$pid" "$port" \
		    "$depth") || [[ -z $requests || $requests == 0 ]]; then
			note "$server depth $depth: no figure"
			status=1
			continue
		fi
		calls=$(total_calls "$method")
		if [[ -z $calls ]]; then
			note "$server depth $depth: counter gave no total"
			status=1
			continue
		fi
		awk -v s="$server" -v d="$depth" -v c="$calls" -v r="$requests" \
		    'BEGIN { printf "%-10s depth %-3d %12d syscalls %11d " \
		    "requests %6.3f per request\n", s, d, c, r, c / r }'
		echo "SYSCALLS server=$server depth=$depth calls=$calls" \
		    "requests=$requests per_request=$(awk -v c="$calls" \
		    -v r="$requests" 'BEGIN { printf "%.3f", c / r }')"

		((BREAKDOWN)) || continue
		if ! requests=$(counted_load strace "$pid" "$port" \
		    "$depth") || [[ -z $requests || $requests == 0 ]]; then
			status=1
			continue
		fi
		# strace -c: "% time seconds usecs/call calls [errors] name".
		awk -v r="$requests" '
			/^[ -]*[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+/ &&
			    $NF != "total" {
				printf "    %-16s %7.3f per request", $NF, $4 / r
				if (NF == 6)
					printf " (%d failed)", $5
				printf "\n"
			}' "$tmp/count.out"
	done
	stop_server "$pid"
done
exit "$status"
