#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# compare.sh: benchmark hellod against the raw-epoll reference (epoll-ref),
# the floor of hellod's own shape (bev-ref: an evconnlistener and a
# bufferevent read callback, nothing else), redis-server (inline PING) and
# memcached -t 1 ("version"), all on loopback, server pinned to one CPU and
# hello-bench to another. Prints the median of several runs per scenario
# and each server's ratio to the reference, then the ratios run by run.
# Besides the rates: the server's CPU time per request at depth 1 and 16,
# and every server's latency at one fixed rate (FIXED_SHARE of the slowest
# server's depth-1 rate in the same run).
# Starts every server itself and stops each by PID on exit.
#
# Knobs (environment):
#   RUNS=3            runs per scenario; the median is reported
#   DURATION=3        measured seconds per ping-pong and connrate run
#   WARMUP=1          warm-up seconds before each measured run
#   IDLE_CONNS=10000  connections held open by the idle scenario
#   IDLE_HOLD=2       seconds the idle connections are held
#   CONNRATE_CONC=8   concurrent connects in the connrate scenario
#   SERVERS="ref bev hellod redis memcached"
#   SERVER_CPU=0 CLIENT_CPU=1
#   HELLOD=../src/hellod (relative to this script)  HELLOD_WORKERS=1
#   BENCH_BIN_DIR     where hello-bench, epoll-ref and bev-ref are (else
#                     found or built)
#   SCRAPE_MS=0       > 0: while hellod is measured, scrape its metrics
#                     endpoint (metrics_listen) every SCRAPE_MS ms, from
#                     CLIENT_CPU, as a Prometheus would (keep-alive)
#   HELLOD_MESSAGE    hellod's message, e.g. a template ("Hello %a:%p");
#                     its replies are checked up to its first "%"
#   FIXED_SHARE=0.8   the paced scenario's rate, as a share of the slowest
#                     server's depth-1 rate in the same run
#   SCENARIOS="idle pp1 pp16 fixed connrate"  which to run ("fixed" needs
#                     pp1); "pp1 pp16" with many short runs gives the
#                     steadiest ratios of rate and cost

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-1}
IDLE_HOLD=${IDLE_HOLD:-2}
CONNRATE_CONC=${CONNRATE_CONC:-8}
SERVERS=${SERVERS:-ref bev hellod redis memcached}
SCRAPE_MS=${SCRAPE_MS:-0}
FIXED_SHARE=${FIXED_SHARE:-0.8}

check_int RUNS "$RUNS" 1 99
check_number DURATION "$DURATION"
check_number WARMUP "$WARMUP"
check_number IDLE_HOLD "$IDLE_HOLD"
check_int CONNRATE_CONC "$CONNRATE_CONC" 1 10000
check_int SCRAPE_MS "$SCRAPE_MS" 0 60000
check_number FIXED_SHARE "$FIXED_SHARE"
awk -v f="$FIXED_SHARE" 'BEGIN { exit !(f <= 1) }' ||
	die "FIXED_SHARE=$FIXED_SHARE: a share of capacity is at most 1"
awk -v d="$DURATION" -v w="$WARMUP" -v h="$IDLE_HOLD" \
    'BEGIN { exit !(d <= 600 && w <= 600 && h <= 600) }' ||
	die "DURATION, WARMUP and IDLE_HOLD are capped at 600 s"

lib_init

# Scenario, hello-bench arguments, metric names taken from its RESULT line.
# "fixed" is paced (-a): it needs this run's pp1 rates, so it comes after.
all_scenarios="idle pp1 pp16 fixed connrate"
scenarios=()
for scen in $all_scenarios; do
	[[ " ${SCENARIOS:-$all_scenarios} " == *" $scen "* ]] &&
		scenarios+=("$scen")
done
for scen in ${SCENARIOS:-}; do
	[[ " $all_scenarios " == *" $scen "* ]] ||
		die "SCENARIOS: no scenario \"$scen\" ($all_scenarios)"
done
((${#scenarios[@]} > 0)) || die "SCENARIOS: none to run"
[[ " ${scenarios[*]} " != *" fixed "* || " ${scenarios[*]} " == *" pp1 "* ]] ||
	die "SCENARIOS: fixed needs pp1 (its rate is a share of pp1's)"
declare -A scen_args=(
	[pp1]="pingpong -c 50 -d 1 -t $DURATION -w $WARMUP"
	[pp16]="pingpong -c 50 -d 16 -t $DURATION -w $WARMUP"
	[fixed]="pingpong -c 50 -d 1 -t $DURATION -w $WARMUP"
	[connrate]="connrate -c $CONNRATE_CONC -t $DURATION -w $WARMUP"
	[idle]="idle -c $IDLE_CONNS -H $IDLE_HOLD"
)
declare -A scen_metrics=(
	[pp1]="rps p99_us srv_ns_per_req"
	[pp16]="rps p99_us srv_ns_per_req"
	[fixed]="rps p50_us p99_us"
	[connrate]="cps"
	[idle]="rss_per_conn"
)
fixed_rate=0

servers=()
for s in $SERVERS; do
	server_available "$s" && servers+=("$s")
done
((${#servers[@]} > 0)) || die "no server to run"

# Bound each hello-bench run even if it misbehaves.
run_limit=$(awk -v d="$DURATION" -v w="$WARMUP" -v h="$IDLE_HOLD" \
    'BEGIN { printf "%d", d + w + h + 90 }')

mkdir -p "$tmp/results"

# One hello-bench run; appends each metric (or "fail") to results files.
run_bench() {
	local server=$1 scen=$2 port=$3 pid=$4 out=$tmp/out rc m v line
	local -a args
	read -r -a args <<<"${scen_args[$scen]}"
	server_args "$server"
	# The server's PID: its RSS (idle) or its CPU time (ping-pong).
	[[ $scen == idle || $scen == pp* ]] && args+=(-p "$pid")
	[[ $scen == fixed ]] && args+=(-a "$fixed_rate")
	timeout -k 5 "$run_limit" taskset -c "$CLIENT_CPU" "$BENCH" \
	    "${args[@]}" "${bench_args[@]}" -P "$port" >"$out" 2>&1
	rc=$?
	line=$(grep '^RESULT ' "$out" | tail -n 1)
	for m in ${scen_metrics[$scen]}; do
		v=$(field "$m" "$line")
		if ((rc != 0)) || [[ -z $v ]]; then
			v=fail
		fi
		echo "$v" >>"$tmp/results/$server.$scen.$m"
	done
	if ((rc != 0)); then
		note "$server $scen failed (exit $rc):"
		tail -n 8 "$out" >&2
	fi
	printf '  %-10s %-9s %s\n' "$server" "$scen" "${line#RESULT }"
}

# SCRAPE_MS: poll hellod's /metrics during its own runs only (the metrics
# thread shares the server's CPU: scraping while another server runs
# would slow that one).  Bounded in time; stopped by PID; each run appends
# "answered failed" to $tmp/scrapes.
SCRAPER_PID=
start_scraper() {
	local port
	port=$(metrics_port "$tmp/hellod.log")
	if [[ -z $port ]]; then
		note "hellod serves no metrics: not scraping"
		return 1
	fi
	taskset -c "$CLIENT_CPU" python3 - "$port" "$SCRAPE_MS" \
	    "$tmp/scrapes" "$run_limit" <<'EOF' &
import http.client, signal, sys, time
port, ms, out, limit = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], \
    float(sys.argv[4])
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
ok = bad = 0
conn = None
deadline = time.monotonic() + limit
while not stop and time.monotonic() < deadline:
    t = time.monotonic()
    try:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        if r.status == 200 and b"hellod_requests_total" in r.read():
            ok += 1
        else:
            bad += 1
    except (OSError, http.client.HTTPException):
        bad += 1
        if conn is not None:
            conn.close()
        conn = None
    time.sleep(max(0.0, ms / 1000 - (time.monotonic() - t)))
with open(out, "a") as f:
    f.write("%d %d\n" % (ok, bad))
EOF
	SCRAPER_PID=$!
	started_pids="$started_pids $SCRAPER_PID"
}

stop_scraper() {
	[[ -n $SCRAPER_PID ]] && stop_server "$SCRAPER_PID"
	SCRAPER_PID=
}

# The paced rate of this run: FIXED_SHARE of the slowest depth-1 rate
# just measured, so that every server gets the same load and none is
# saturated by it; 0 if no server has one.
set_fixed_rate() {
	local s v min=
	for s in "${servers[@]}"; do
		v=$(tail -n 1 "$tmp/results/$s.pp1.rps" 2>/dev/null)
		[[ -n $v && $v != fail ]] || continue
		if [[ -z $min ]] || ((v < min)); then
			min=$v
		fi
	done
	fixed_rate=$(awk -v m="${min:-0}" -v f="$FIXED_SHARE" \
	    'BEGIN { printf "%d", m * f }')
}

echo "hello-bench comparison: ${servers[*]}"
echo "  $RUNS runs; ping-pong/connrate ${DURATION}s after ${WARMUP}s" \
    "warm-up; idle $IDLE_CONNS conns held ${IDLE_HOLD}s"
echo "  server on CPU $SERVER_CPU, hello-bench on CPU $CLIENT_CPU;" \
    "$(nproc) CPUs, $(uname -sr)"
((SCRAPE_MS > 0)) &&
	echo "  hellod's /metrics scraped every ${SCRAPE_MS} ms during its runs"

# Fresh servers every run, idle first so its RSS growth is measured on an
# unused process; servers take turns within each scenario, in an order
# that rotates, so that drift in the machine's state (TIME_WAIT, caches)
# hits them all alike.
declare -A pids ports
steal0=$(steal_ticks)
t0=$SECONDS
for ((run = 1; run <= RUNS; run++)); do
	echo "run $run of $RUNS"
	for s in "${servers[@]}"; do
		if start_server "$s"; then
			pids[$s]=$SRV_PID
			ports[$s]=$SRV_PORT
		else
			pids[$s]=
		fi
	done
	# Who goes first rotates from run to run.
	order=()
	for ((i = 0; i < ${#servers[@]}; i++)); do
		order+=("${servers[(i + run - 1) % ${#servers[@]}]}")
	done
	for scen in "${scenarios[@]}"; do
		if [[ $scen == fixed ]]; then
			set_fixed_rate
			echo "  fixed rate: $fixed_rate req/s"
		fi
		for s in "${order[@]}"; do
			if [[ -z ${pids[$s]} || ($scen == fixed &&
			    $fixed_rate == 0) ]]; then
				for m in ${scen_metrics[$scen]}; do
					echo fail >>"$tmp/results/$s.$scen.$m"
				done
				continue
			fi
			if ((SCRAPE_MS > 0)) && [[ $s == hellod ]]; then
				start_scraper
			fi
			run_bench "$s" "$scen" "${ports[$s]}" "${pids[$s]}"
			stop_scraper
		done
	done
	for s in "${servers[@]}"; do
		[[ -n ${pids[$s]} ]] && stop_server "${pids[$s]}"
	done
done

steal=$(($(steal_ticks) - steal0))
elapsed=$((SECONDS - t0))

# The table: one row per metric, one column per server, each figure with
# its ratio to the reference.
rows=(
	"pp1 rps|ping-pong c50 d1   req/s"
	"pp1 p99_us|ping-pong c50 d1   p99 us"
	"pp1 srv_ns_per_req|ping-pong d1 CPU ns/req"
	"pp16 rps|ping-pong c50 d16  req/s"
	"pp16 p99_us|ping-pong c50 d16  p99 us"
	"pp16 srv_ns_per_req|ping-pong d16 CPU ns/req"
	"fixed p50_us|paced d1 p50 us"
	"fixed p99_us|paced d1 p99 us"
	"fixed rps|paced d1 req/s achieved"
	"connrate cps|connrate c$CONNRATE_CONC        conn/s"
	"idle rss_per_conn|idle $IDLE_CONNS RSS/conn B"
)
echo
echo "Median of $RUNS runs; (x) = ratio to ref (rates: higher is better;"
echo "latency and RSS: lower is better), but for CPU ns/req (x) = ref's"
echo "cost / this server's (higher is better: 1.00 costs what ref does)."
echo "Paced: every server at one rate, $FIXED_SHARE of the slowest d1 rate"
echo "of the run. ${elapsed}s in all; CPU time stolen by the host"
echo "meanwhile: $(awk -v s="$steal" -v t="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.1f", s / t }')s (noisy if it is not near 0)."
printf '%-30s' ""
for s in "${servers[@]}"; do
	printf ' %18s' "$s"
done
echo
# Only the rows of the scenarios that ran.
ran=()
for row in "${rows[@]}"; do
	key=${row%%|*}
	[[ " ${scenarios[*]} " == *" ${key% *} "* ]] && ran+=("$row")
done
rows=("${ran[@]}")
for row in "${rows[@]}"; do
	key=${row%%|*}
	label=${row#*|}
	scen=${key% *}
	m=${key#* }
	printf '%-30s' "$label"
	refv=$(median "$tmp/results/ref.$scen.$m")
	for s in "${servers[@]}"; do
		v=$(median "$tmp/results/$s.$scen.$m")
		if [[ $v == fail ]]; then
			cell=fail
		elif [[ $refv == fail ]] ||
		    ! awk -v r="$refv" 'BEGIN { exit !(r > 0) }'; then
			cell=$v
		elif [[ $m == srv_ns_per_req ]]; then
			cell=$(awk -v v="$v" -v r="$refv" \
			    'BEGIN { printf "%s (%.2f)", v, (v > 0 ? r / v : 0) }')
		else
			cell=$(awk -v v="$v" -v r="$refv" \
			    'BEGIN { printf "%s (%.2f)", v, v / r }')
		fi
		printf ' %18s' "$cell"
	done
	echo
done

# Ratios run by run: the servers of one run take turns within seconds of
# each other, so a pair from one run shares the machine's state, which on
# a shared VM can swing a server's rate by half from one run to the next.
# The median of the pairs is the steadier figure; bev-ref is the floor of
# hellod's shape, so hellod/bev is what hellod adds to it.
# paired A B SCEN METRIC: A's figure over B's, run by run; for a cost
# (srv_ns_per_req) B's over A's, so that above 1 is A doing better.
paired() {
	local a=$1 b=$2 scen=$3 m=$4 ratios inv=0
	[[ -f $tmp/results/$a.$scen.$m && -f $tmp/results/$b.$scen.$m ]] ||
		return 0
	[[ $m == srv_ns_per_req ]] && inv=1
	ratios=$(paste "$tmp/results/$a.$scen.$m" \
	    "$tmp/results/$b.$scen.$m" | awk -v inv="$inv" '
		$1 != "fail" && $2 != "fail" && $1 > 0 && $2 > 0 {
			print inv ? $2 / $1 : $1 / $2 }')
	[[ -n $ratios ]] || return 0
	# shellcheck disable=SC2086 # one ratio a word
	printf '  %-9s %-16s median %.2f  runs%s\n' "$scen" "$a/$b" \
	    "$(median <(echo "$ratios"))" "$(printf ' %.2f' $ratios)"
}
# Each server against the reference; hellod against the shape's floor.
pairs=()
for s in "${servers[@]}"; do
	[[ $s == ref ]] || pairs+=("$s ref")
done
pairs+=("hellod bev")
echo
echo "req/s ratios run by run, and their median:"
for scen in pp1 pp16; do
	for p in "${pairs[@]}"; do
		# shellcheck disable=SC2086 # two words: the pair
		paired $p "$scen" rps
	done
done
echo
echo "CPU time per request, the other's over this one's (above 1: cheaper),"
echo "run by run, and their median:"
for scen in pp1 pp16; do
	for p in "${pairs[@]}"; do
		# shellcheck disable=SC2086 # two words: the pair
		paired $p "$scen" srv_ns_per_req
	done
done

if ((SCRAPE_MS > 0)); then
	echo
	awk '{ ok += $1; bad += $2 } END {
		printf "Scraper: %d scrapes answered, %d failed, one every %s ms\n",
		    ok, bad, ms }' ms="$SCRAPE_MS" "$tmp/scrapes" 2>/dev/null ||
		echo "Scraper: no scrape recorded"
fi

# The same medians, one machine-readable line per server.
echo
status=0
for s in "${servers[@]}"; do
	line="MEDIAN server=$s"
	for row in "${rows[@]}"; do
		key=${row%%|*}
		v=$(median "$tmp/results/$s.${key% *}.${key#* }")
		[[ $v == fail ]] && status=1
		line="$line ${key% *}_${key#* }=$v"
	done
	if grep -qx fail "$tmp/results/$s".* 2>/dev/null; then
		status=1
		line="$line failed_runs=$(cat "$tmp/results/$s".* |
		    grep -cx fail)"
	fi
	echo "$line"
done
exit "$status"
