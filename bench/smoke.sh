#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# smoke.sh: do the benchmark tools still work?  Not a measurement: CI runs
# it so that a change to hellod, hello-bench or a script that breaks a
# benchmark shows before someone needs the figures.
#
#   - hello-bench's pacing (-a) holds a rate far below what the reference
#     serves unpaced, and -p reads the server's CPU time;
#   - compare.sh, cost.sh and workers.sh run end to end, briefly, and
#     every server they find answers every request (a missing peer is
#     skipped there).

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
lib_init

fail() {
	echo "smoke: FAIL: $*" >&2
	exit 1
}

start_server ref || fail "epoll-ref did not start"
rate=2000
out=$(timeout 60 "$BENCH" pingpong -P "$SRV_PORT" -c 10 -t 1 -w 0.2 \
    -a "$rate" -p "$SRV_PID" | tail -n 1) || fail "paced run: $out"
free=$(timeout 60 "$BENCH" pingpong -P "$SRV_PORT" -c 10 -t 1 -w 0.2 |
    tail -n 1) || fail "unpaced run: $free"
stop_server "$SRV_PID"
echo "paced:   $out"
echo "unpaced: $free"
paced=$(field rps "$out")
# Loose bounds: the point is that -a paces at all, not how precisely.
awk -v r="$paced" -v t="$rate" 'BEGIN { exit !(r >= 0.75 * t && r <= 1.25 * t) }' ||
	fail "paced at $rate req/s, achieved $paced"
awk -v r="$(field rps "$free")" -v t="$rate" 'BEGIN { exit !(r > 1.5 * t) }' ||
	fail "unpaced no faster than paced: pacing not shown"
# Counted in clock ticks: a server this lightly loaded may read 0.
[[ $(field srv_ns_per_req "$out") =~ ^[0-9]+$ ]] ||
	fail "no server CPU time per request (-p)"

export RUNS=1 DURATION=0.5 WARMUP=0.2
IDLE_CONNS=200 IDLE_HOLD=0.2 SERVERS="ref bev hellod memcached" \
    bash "$here/compare.sh" >"$tmp/compare.out" 2>&1 ||
	{ cat "$tmp/compare.out"; fail "compare.sh"; }
grep '^MEDIAN ' "$tmp/compare.out"
grep -q '^MEDIAN server=hellod .*pp1_srv_ns_per_req=[0-9].*fixed_p99_us=[0-9]' \
    "$tmp/compare.out" || fail "compare.sh: no cost or paced figure for hellod"

ROUNDS=1 SERVERS="ref hellod" bash "$here/cost.sh" >"$tmp/cost.out" 2>&1 ||
	{ cat "$tmp/cost.out"; fail "cost.sh"; }
grep '^COST ' "$tmp/cost.out"
grep -q '^COST server=hellod d1_cost=[0-9.]* d1_rps=[0-9.]* d16_cost=[0-9.]*' \
    "$tmp/cost.out" || fail "cost.sh: no ratio for hellod"

CONNS=10 bash "$here/workers.sh" >"$tmp/workers.out" 2>&1 ||
	{ cat "$tmp/workers.out"; fail "workers.sh"; }
grep '^WORKERS ' "$tmp/workers.out"
# Round robin from worker 0: 10 connections over 2 workers are 5 and 5.
grep -q '^WORKERS config=hellod2 .*dfixed_p99=[0-9].* spread=5/5$' \
    "$tmp/workers.out" || fail "workers.sh: no paced figure or spread"
echo "smoke: PASS"
