#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# workers.sh: hellod with one worker and with two against memcached -t 1
# and -t 2, ping-pong on loopback.  Unlike compare.sh nothing is pinned:
# two workers need both CPUs, so the servers and the load share them.  The
# load is two hello-bench processes (each single-threaded) so that it is
# not the one CPU-bound thread that sets the pace; their rates are added
# and of their latencies the worse is shown.
#
# Every run starts all four servers and lets them take turns, in an order
# that rotates from run to run, at each depth and then paced: every server
# at one fixed rate, FIXED_SHARE of the slowest depth-1 rate of that run.
# During hellod's first-depth runs its metrics endpoint gives the spread of
# that run's connections over its workers
# (hellod_worker_connections_accepted_total, read before and after).
#
# Knobs (environment): RUNS=3 DURATION=3 WARMUP=1 CONNS=50 DEPTHS="1 16"
#   FIXED_SHARE=0.8 CONFIGS="hellod1 hellod2 memcached1 memcached2"
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
FIXED_SHARE=${FIXED_SHARE:-0.8}
CONFIGS=${CONFIGS:-hellod1 hellod2 memcached1 memcached2}

check_int RUNS "$RUNS" 1 50
check_number DURATION "$DURATION"
check_number WARMUP "$WARMUP"
check_int CONNS "$CONNS" 2 10000
check_number FIXED_SHARE "$FIXED_SHARE"
awk -v f="$FIXED_SHARE" 'BEGIN { exit !(f <= 1) }' ||
	die "FIXED_SHARE=$FIXED_SHARE: a share of capacity is at most 1"
for d in $DEPTHS; do
	check_int DEPTHS "$d" 1 1024
done
depth1=${DEPTHS%% *}
lib_init
# shellcheck disable=SC2034 # read by lib.sh's start_server
SERVER_CPU="0-$(($(nproc) - 1))"	# every CPU: see above
limit=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 30 }')

configs=()
for c in $CONFIGS; do
	case $c in
	hellod[0-9]*|memcached[0-9]*)
		server_available "${c%%[0-9]*}" && configs+=("$c") ;;
	*)
		die "CONFIGS: \"$c\" is not hellodN or memcachedN" ;;
	esac
done
((${#configs[@]} > 0)) || die "no server to run"

# start_config hellod2: a server of that kind and that many threads; the
# metrics endpoint for hellod.  Sets SRV_PID and SRV_PORT.
start_config() {
	local cfg=$1 n=${1##*[a-z]}
	check_int "$cfg" "$n" 1 1024
	case $cfg in
	hellod*)
		SRV_TAG=$cfg HELLOD_WORKERS=$n HELLOD_METRICS=1 \
		    start_server hellod ;;
	memcached*)
		SRV_TAG=$cfg MEMCACHED_THREADS=$n start_server memcached ;;
	esac
}

# measure CFG PORT DEPTH [RATE]: the two load processes at once, RATE
# split between them if given.  Prints "rps p50_us p99_us": the rates
# added, the worse of the two latencies.
measure() {
	local cfg=$1 port=$2 depth=$3 rate=${4:-} a b
	local -a pace=()
	server_args "${cfg%%[0-9]*}"
	[[ -n $rate ]] && pace=(-a $(((rate + 1) / 2)))
	timeout "$limit" "$BENCH" pingpong -P "$port" -c $((CONNS / 2)) \
	    -d "$depth" -t "$DURATION" -w "$WARMUP" "${pace[@]}" \
	    "${bench_args[@]}" >"$tmp/a.out" 2>&1 &
	a=$!
	timeout "$limit" "$BENCH" pingpong -P "$port" \
	    -c $((CONNS - CONNS / 2)) -d "$depth" -t "$DURATION" \
	    -w "$WARMUP" "${pace[@]}" "${bench_args[@]}" >"$tmp/b.out" 2>&1 &
	b=$!
	wait "$a" || { cat "$tmp/a.out" >&2; return 1; }
	wait "$b" || { cat "$tmp/b.out" >&2; return 1; }
	cat "$tmp/a.out" "$tmp/b.out" | awk '
		/^RESULT / {
			for (i = 2; i <= NF; i++) {
				split($i, kv, "=")
				v[kv[1]] = kv[2]
			}
			n++
			rps += v["rps"]
			if (v["p50_us"] > p50) p50 = v["p50_us"]
			if (v["p99_us"] > p99) p99 = v["p99_us"]
		}
		END {
			if (n != 2) exit 1
			printf "%d %s %s\n", rps, p50, p99
		}'
}

# hellod's accepted connections per worker, from its metrics endpoint:
# "N N ...", worker 0 first.
accepted() {
	local mport
	mport=$(metrics_port "$tmp/$1.log")
	[[ -n $mport ]] || return 1
	# shellcheck disable=SC2016 # $1 is the inner shell's
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
		cat <&3' _ "$mport" | tr -d '\r' | sed -n \
	    's/^hellod_worker_connections_accepted_total{worker="\([0-9]*\)"} \([0-9]*\)$/\1 \2/p' |
	    sort -n | awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 } END { print "" }'
}

# The spread of one run: each worker's share of the connections it
# brought, "25/25".
spread() {
	local before=$1 after=$2
	awk -v b="$before" -v a="$after" 'BEGIN {
		nb = split(b, vb, " ")
		na = split(a, va, " ")
		if (na == 0 || na != nb) exit 1
		for (i = 1; i <= na; i++)
			printf "%s%d", (i > 1 ? "/" : ""), va[i] - vb[i]
		print ""
	}'
}

record() {
	echo "$2" >>"$tmp/results/$1"
}

mkdir -p "$tmp/results"
echo "workers: ${configs[*]}; $CONNS connections from 2 load processes;"
echo "  $(nproc) CPUs shared by servers and load, $(uname -sr);"
echo "  $RUNS runs of ${DURATION}s after ${WARMUP}s warm-up each"

declare -A pids ports
steal0=$(steal_ticks)
t0=$SECONDS
status=0
for ((run = 1; run <= RUNS; run++)); do
	echo "run $run of $RUNS"
	for c in "${configs[@]}"; do
		if start_config "$c"; then
			pids[$c]=$SRV_PID
			ports[$c]=$SRV_PORT
		else
			pids[$c]=
			status=1
		fi
	done
	order=()
	for ((i = 0; i < ${#configs[@]}; i++)); do
		order+=("${configs[(i + run - 1) % ${#configs[@]}]}")
	done
	for d in $DEPTHS fixed; do
		rate=
		if [[ $d == fixed ]]; then
			# FIXED_SHARE of this run's slowest first-depth rate.
			rate=$(for c in "${configs[@]}"; do
				tail -n 1 "$tmp/results/$c.d$depth1.rps" 2>/dev/null
			done | grep -v fail | sort -n | head -n 1)
			[[ -n $rate ]] || continue
			rate=$(awk -v r="$rate" -v f="$FIXED_SHARE" \
			    'BEGIN { printf "%d", r * f }')
			record fixed.rate "$rate"
			echo "  paced at $rate req/s"
		fi
		for c in "${order[@]}"; do
			[[ -n ${pids[$c]} ]] || continue
			before=
			[[ $c == hellod* && $d == "$depth1" ]] &&
				before=$(accepted "$c")
			if out=$(measure "$c" "${ports[$c]}" \
			    "${d/fixed/$depth1}" ${rate:+"$rate"}); then
				read -r rps p50 p99 <<<"$out"
			else
				rps=fail p50=fail p99=fail
				status=1
			fi
			record "$c.d$d.rps" "$rps"
			record "$c.d$d.p50" "$p50"
			record "$c.d$d.p99" "$p99"
			line="  $c d$d: req/s $rps p50 $p50 us p99 $p99 us"
			if [[ -n $before ]] &&
			    sp=$(spread "$before" "$(accepted "$c")"); then
				record "$c.spread" "$sp"
				line="$line, connections per worker $sp"
			fi
			echo "$line"
		done
	done
	for c in "${configs[@]}"; do
		[[ -n ${pids[$c]} ]] && stop_server "${pids[$c]}"
	done
done
steal=$(($(steal_ticks) - steal0))

# The busiest worker's share of a run's connections, the worst run.
busiest() {
	[[ -f $tmp/results/$1.spread ]] || { echo "-"; return; }
	tr '/' ' ' <"$tmp/results/$1.spread" | awk '{
		s = 0; m = 0
		for (i = 1; i <= NF; i++) { s += $i; if ($i > m) m = $i }
		if (s > 0 && m / s > worst) { worst = m / s; w = $0 }
	} END { gsub(" ", "/", w); printf "%s (%.0f%%)", w, 100 * worst }'
}

echo
echo "Median of $RUNS runs; latencies are the worse of the two load"
echo "processes'; paced: every server at one rate, $FIXED_SHARE of the"
echo "slowest d$depth1 rate of the run (median $(median \
    "$tmp/results/fixed.rate") req/s). $((SECONDS - t0))s in all; CPU time"
echo "stolen by the host meanwhile: $(awk -v s="$steal" \
    -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", s / t }')s."
printf '%-26s' ""
for c in "${configs[@]}"; do
	printf ' %14s' "$c"
done
echo
for d in $DEPTHS fixed; do
	for m in rps p50 p99; do
		case $d.$m in
		fixed.rps) label="paced req/s achieved" ;;
		fixed.*) label="paced $m us" ;;
		*.rps) label="ping-pong d$d req/s" ;;
		*) label="ping-pong d$d $m us" ;;
		esac
		printf '%-26s' "$label"
		for c in "${configs[@]}"; do
			printf ' %14s' "$(median "$tmp/results/$c.d$d.$m")"
		done
		echo
	done
done
printf '%-26s' "busiest worker (worst run)"
for c in "${configs[@]}"; do
	printf ' %14s' "$(busiest "$c")"
done
echo

# Ratios run by run (the servers of one run saw much the same machine).
paired() {
	local a=$1 b=$2 f=$3 ratios
	[[ -f $tmp/results/$a.$f && -f $tmp/results/$b.$f ]] || return 0
	ratios=$(paste "$tmp/results/$a.$f" "$tmp/results/$b.$f" | awk '
		$1 != "fail" && $2 != "fail" && $2 > 0 { print $1 / $2 }')
	[[ -n $ratios ]] || return 0
	# shellcheck disable=SC2086 # one ratio a word
	printf '  %-26s %-22s median %.2f  runs%s\n' "$f" "$a/$b" \
	    "$(median <(echo "$ratios"))" "$(printf ' %.2f' $ratios)"
}
echo
echo "Ratios run by run, and their median:"
for d in $DEPTHS; do
	paired hellod2 hellod1 "d$d.rps"
	paired memcached2 memcached1 "d$d.rps"
	paired hellod1 memcached1 "d$d.rps"
	paired hellod2 memcached2 "d$d.rps"
	paired hellod2 memcached2 "d$d.p99"
done
paired hellod1 memcached1 dfixed.p99
paired hellod2 memcached2 dfixed.p99

echo
for c in "${configs[@]}"; do
	line="WORKERS config=$c"
	for d in $DEPTHS fixed; do
		for m in rps p50 p99; do
			line="$line d${d}_$m=$(median "$tmp/results/$c.d$d.$m")"
		done
	done
	[[ -f $tmp/results/$c.spread ]] &&
		line="$line spread=$(tr '\n' ',' <"$tmp/results/$c.spread")"
	echo "${line%,}"
done
exit "$status"
