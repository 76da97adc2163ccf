#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# cost.sh: each server's CPU time per request against epoll-ref's,
# measured side by side at the same moment.  The server and an epoll-ref
# (the anchor) are pinned to the same CPU and loaded at once, each by a
# hello-bench of its own on the other CPU; each hello-bench reads its
# server's CPU time over the same seconds (-p).  Whatever pace the host
# runs at in those seconds, both servers run at it, so the ratio of their
# costs keeps little of the host's noise, which swings the rates of
# compare.sh's turn-taking runs by a third.  A second epoll-ref against the
# anchor (the A/A control, "ref") shows how fine the method resolves.
#
# Knobs (environment): ROUNDS=7 DURATION=3 WARMUP=1 CONNS=50 DEPTHS="1 16"
#   SERVERS="ref bev hellod memcached"  SERVER_CPU=0 CLIENT_CPU=1
#   HELLOD=../src/hellod BENCH_BIN_DIR (where the tools are)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50}
DEPTHS=${DEPTHS:-1 16}
SERVERS=${SERVERS:-ref bev hellod memcached}

check_int ROUNDS "$ROUNDS" 1 99
check_number DURATION "$DURATION"
check_number WARMUP "$WARMUP"
check_int CONNS "$CONNS" 1 10000
for d in $DEPTHS; do
	check_int DEPTHS "$d" 1 1024
done
lib_init
limit=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 30 }')

servers=()
for s in $SERVERS; do
	server_available "$s" && servers+=("$s")
done
((${#servers[@]} > 0)) || die "no server to run"

# load NAME KIND PORT PID DEPTH: one hello-bench, pinned to the client
# CPU; prints its RESULT line.
load() {
	local name=$1 kind=$2 port=$3 pid=$4 depth=$5 out=$tmp/$1.out
	server_args "$kind"
	timeout "$limit" taskset -c "$CLIENT_CPU" "$BENCH" pingpong \
	    -P "$port" -p "$pid" -c "$CONNS" -d "$depth" -t "$DURATION" \
	    -w "$WARMUP" "${bench_args[@]}" >"$out" 2>&1 ||
		{ cat "$out" >&2; return 1; }
	grep '^RESULT ' "$out" | tail -n 1
}

mkdir -p "$tmp/results"
echo "cost per request against epoll-ref, side by side: ${servers[*]}"
echo "  $ROUNDS rounds of ${DURATION}s after ${WARMUP}s; both servers on CPU" \
    "$SERVER_CPU, their loads on CPU $CLIENT_CPU; $(uname -sr)"
declare -A pids ports
lines=()
steal0=$(steal_ticks)
t0=$SECONDS
status=0
SRV_TAG=anchor start_server ref || die "epoll-ref (the anchor) did not start"
apid=$SRV_PID
aport=$SRV_PORT
for s in "${servers[@]}"; do
	# The A/A control is a second epoll-ref, not the anchor itself.
	if SRV_TAG=$s start_server "$s"; then
		pids[$s]=$SRV_PID
		ports[$s]=$SRV_PORT
	else
		pids[$s]=
		status=1
	fi
done
for ((round = 1; round <= ROUNDS; round++)); do
	for d in $DEPTHS; do
		for s in "${servers[@]}"; do
			[[ -n ${pids[$s]} ]] || continue
			load anchor ref "$aport" "$apid" "$d" >"$tmp/a.res" &
			a=$!
			if ! b_res=$(load "$s" "$s" "${ports[$s]}" \
			    "${pids[$s]}" "$d"); then
				status=1
			fi
			wait "$a" || status=1
			a_res=$(<"$tmp/a.res")
			ac=$(field srv_ns_per_req "$a_res")
			bc=$(field srv_ns_per_req "$b_res")
			ar=$(field rps "$a_res")
			br=$(field rps "$b_res")
			if [[ -z $ac || -z $bc || -z $ar || -z $br ]]; then
				echo "  round $round d$d $s: failed"
				status=1
				continue
			fi
			awk -v a="$ac" -v b="$bc" 'BEGIN { print a / b }' \
			    >>"$tmp/results/$s.d$d.cost"
			awk -v a="$ar" -v b="$br" 'BEGIN { print b / a }' \
			    >>"$tmp/results/$s.d$d.rps"
			printf '  round %d d%-3s %-10s ns/req %6s (ref %6s)  req/s %8s (ref %8s)\n' \
			    "$round" "$d" "$s" "$bc" "$ac" "$br" "$ar"
		done
	done
done
steal=$(($(steal_ticks) - steal0))

echo
echo "epoll-ref's CPU time per request over this server's (above 1: cheaper"
echo "than epoll-ref), median and range of $ROUNDS rounds; \"ref\" is the A/A"
echo "control.  $((SECONDS - t0))s in all; CPU time stolen by the host:" \
    "$(awk -v s="$steal" -v t="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.1f", s / t }')s."
printf '%-12s' ""
for d in $DEPTHS; do
	printf ' %24s' "depth $d"
done
echo
for s in "${servers[@]}"; do
	printf '%-12s' "$s"
	line="COST server=$s"
	for d in $DEPTHS; do
		f=$tmp/results/$s.d$d.cost
		if [[ -s $f ]]; then
			m=$(median "$f")
			cell=$(sort -g "$f" | awk -v m="$m" 'NR == 1 { lo = $1 }
			    { hi = $1 } END { printf "%.3f (%.2f-%.2f)", m, lo, hi }')
			line="$line d${d}_cost=$(printf '%.3f' "$m")"
			line="$line d${d}_rps=$(printf '%.3f' "$(median \
			    "$tmp/results/$s.d$d.rps")")"
		else
			cell=fail
			line="$line d${d}_cost=fail"
		fi
		printf ' %24s' "$cell"
	done
	echo
	lines+=("$line")
done
echo
printf '%s\n' "${lines[@]}"
exit "$status"
