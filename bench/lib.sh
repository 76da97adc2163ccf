# SPDX-License-Identifier: ISC
# shellcheck shell=bash
# Shared by compare.sh and syscalls.sh (sourced, not run): find the tools,
# start each server on loopback on a free port pinned to one CPU, and stop
# every server we started, by PID, whatever happens.
#
# Callers set $here (the script's directory) before sourcing.

SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
HELLOD=${HELLOD:-$here/../src/hellod}
HELLOD_WORKERS=${HELLOD_WORKERS:-1}
MEMCACHED_THREADS=${MEMCACHED_THREADS:-1}
# Two servers of one kind side by side (workers.sh) need a log and a
# config each: start_server names them after SRV_TAG when it is set.
SRV_TAG=${SRV_TAG:-}
# Idle connections: sizes the servers' connection limits as well.
IDLE_CONNS=${IDLE_CONNS:-10000}
START_TIMEOUT=50	# tenths of a second to wait for a server to listen
STOP_TIMEOUT=50		# tenths of a second between SIGTERM and SIGKILL

tmp=
started_pids=

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

note() {
	echo "${0##*/}: $*" >&2
}

# An environment knob must be a plain positive number: catch typos early.
check_number() {
	local name=$1 value=$2
	[[ $value =~ ^[0-9]{1,6}([.][0-9]{1,6})?$ ]] ||
		die "$name=\"$value\" is not a number"
	awk -v v="$value" 'BEGIN { exit !(v > 0) }' ||
		die "$name=\"$value\" must be above 0"
}

check_int() {
	local name=$1 value=$2 min=$3 max=$4
	if ! [[ $value =~ ^[0-9]{1,9}$ ]] ||
	    ((10#$value < min || 10#$value > max)); then
		die "$name=\"$value\" is not an integer in $min..$max"
	fi
}

# Time stolen from this VM by its host, in ticks: a noisy neighbour makes
# every figure lower, so the scripts report it next to their results.
steal_ticks() {
	awk '$1 == "cpu" { print $9 + 0 }' /proc/stat
}

lib_cleanup() {
	local pid
	for pid in $started_pids; do
		stop_server "$pid"
	done
	[[ -n $tmp && -d $tmp ]] && rm -rf -- "$tmp"
}

lib_init() {
	command -v taskset >/dev/null || die "taskset not found (util-linux)"
	command -v timeout >/dev/null || die "timeout not found (coreutils)"
	command -v ss >/dev/null || die "ss not found (iproute2)"
	check_int SERVER_CPU "$SERVER_CPU" 0 4095
	check_int CLIENT_CPU "$CLIENT_CPU" 0 4095
	check_int IDLE_CONNS "$IDLE_CONNS" 1 1000000
	check_int HELLOD_WORKERS "$HELLOD_WORKERS" 1 1024
	check_int MEMCACHED_THREADS "$MEMCACHED_THREADS" 1 1024
	if (($(nproc) < 2)); then
		note "fewer than 2 CPUs: server and load share CPU 0"
		SERVER_CPU=0
		CLIENT_CPU=0
	fi

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/hello-bench.XXXXXX") ||
		die "mktemp failed"
	trap lib_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	# The servers inherit this: 10,000 idle connections need the room.
	ulimit -n "$(ulimit -Hn)" 2>/dev/null ||
		note "could not raise the descriptor limit"
	find_tools
}

# hello-bench, epoll-ref and bev-ref: from $BENCH_BIN_DIR, the current
# directory (a VPATH build), or next to the script; else build them into
# $tmp.  bev-ref needs libevent's headers (pkg-config): without them it is
# left out, and so is the "bev" server.
find_tools() {
	local dir cc flags=(-std=gnu11 -O2 -Wall -Wextra) ev
	BENCH=''
	EPOLL_REF=''
	# shellcheck disable=SC2034 # used by the sourcing script
	BEV_REF=''
	for dir in ${BENCH_BIN_DIR:-} "$PWD" "$here"; do
		if [[ -x $dir/hello-bench && -x $dir/epoll-ref ]]; then
			# shellcheck disable=SC2034 # used by the sourcing script
			BENCH=$dir/hello-bench
			EPOLL_REF=$dir/epoll-ref
			[[ -x $dir/bev-ref ]] && BEV_REF=$dir/bev-ref
			break
		fi
	done
	cc=${CC:-cc}
	if [[ -z $BENCH ]]; then
		note "building hello-bench and epoll-ref with $cc"
		$cc "${flags[@]}" -o "$tmp/hello-bench" "$here/hello-bench.c" \
		    -lm || die "cannot build hello-bench"
		$cc "${flags[@]}" -o "$tmp/epoll-ref" "$here/epoll-ref.c" ||
			die "cannot build epoll-ref"
		BENCH=$tmp/hello-bench
		EPOLL_REF=$tmp/epoll-ref
	fi
	[[ -n $BEV_REF ]] && return
	ev=$(pkg-config --cflags --libs libevent 2>/dev/null) || return 0
	note "building bev-ref with $cc"
	# shellcheck disable=SC2086 # pkg-config's words, split on purpose
	if $cc "${flags[@]}" -o "$tmp/bev-ref" "$here/bev-ref.c" $ev; then
		BEV_REF=$tmp/bev-ref
	else
		note "cannot build bev-ref"
	fi
}

# A port below the ephemeral range, so no client socket can hold it.
free_port() {
	local i port
	for ((i = 0; i < 100; i++)); do
		port=$((10000 + RANDOM % 22000))
		if [[ -z $(ss -Htln "sport = :$port") ]]; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# Wait for "listening on 127.0.0.1:PORT" in a log; print PORT.
wait_port_line() {
	local log=$1 pid=$2 i port
	for ((i = 0; i < START_TIMEOUT; i++)); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
		    "$log" 2>/dev/null | head -n 1)
		if [[ -n $port ]]; then
			echo "$port"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Wait until someone listens on 127.0.0.1:PORT and pid is still alive.
wait_listen() {
	local port=$1 pid=$2 i
	for ((i = 0; i < START_TIMEOUT; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if [[ -n $(ss -Htln "src 127.0.0.1 and sport = :$port") ]]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Is this server runnable here? Prints why not on stderr.
server_available() {
	case $1 in
	ref)
		return 0 ;;
	bev)
		if [[ -z $BEV_REF ]]; then
			note "bev skipped: bev-ref needs libevent-dev"
			return 1
		fi ;;
	hellod)
		if [[ ! -x $HELLOD ]]; then
			note "hellod skipped: $HELLOD not built yet"
			return 1
		fi ;;
	redis)
		if ! command -v redis-server >/dev/null; then
			note "redis skipped: apt-get install -y redis-server"
			return 1
		fi ;;
	memcached)
		if ! command -v memcached >/dev/null; then
			note "memcached skipped: apt-get install -y memcached"
			return 1
		fi ;;
	*)
		note "unknown server \"$1\" skipped"
		return 1 ;;
	esac
	return 0
}

# median [FILE]: the median of the numbers in FILE (or on standard input),
# one a line, "fail" lines left out; "fail" if none is left.
median() {
	grep -v '^fail$' "${1:-/dev/stdin}" 2>/dev/null | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "fail"; exit }
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# field NAME LINE: the value of NAME=VALUE in a hello-bench RESULT line.
field() {
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}

# The port of hellod's metrics endpoint, from its log; empty if none.
metrics_port() {
	sed -n 's|.*metrics: serving http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p' \
	    "$1" | head -n 1
}

# The request and expected reply hello-bench uses for each server.
# shellcheck disable=SC2034 # bench_args is read by the sourcing script
server_args() {
	case $1 in
	ref|bev)
		bench_args=() ;;
	hellod)
		# A template's replies differ by connection: its fixed start.
		bench_args=()
		[[ -z ${HELLOD_MESSAGE:-} ]] ||
			bench_args=(-R "${HELLOD_MESSAGE%%\%*}") ;;
	redis)
		bench_args=(-q PING -r +PONG -C) ;;
	memcached)
		# The version string varies between releases.
		bench_args=(-q version -R "VERSION " -C) ;;
	esac
}

# A config file for hellod; "workers" only if this hellod knows it.
hellod_config() {
	local conf=$tmp/${SRV_TAG:-hellod}.conf
	{
		echo "# written by ${0##*/}"
		echo "port = 0"
		echo "bind = 127.0.0.1"
		echo "max_connections = $((IDLE_CONNS + 1000))"
		echo "idle_timeout = 0"
		echo "log_level = notice"
		# HELLOD_MESSAGE: another message, a template perhaps.
		if [[ -n ${HELLOD_MESSAGE:-} ]]; then
			echo "message = \"$HELLOD_MESSAGE\""
		fi
		# compare.sh's SCRAPE_MS: an endpoint for its scraper;
		# workers.sh's HELLOD_METRICS: the spread over workers.
		if ((${SCRAPE_MS:-0} > 0 || ${HELLOD_METRICS:-0} > 0)); then
			echo "metrics_listen = 127.0.0.1:0"
		fi
	} >"$conf"
	if ! timeout 10 "$HELLOD" -t -c "$conf" >"$tmp/hellod-t.log" 2>&1; then
		note "hellod rejects its benchmark config:"
		cat "$tmp/hellod-t.log" >&2
		return 1
	fi
	echo "workers = $HELLOD_WORKERS" >>"$conf"
	if ! timeout 10 "$HELLOD" -t -c "$conf" >/dev/null 2>&1; then
		sed -i '$d' "$conf"
		((HELLOD_WORKERS == 1)) ||
			note "hellod has no \"workers\" key: running one loop"
	fi
	echo "$conf"
}

# start_server NAME: start it pinned to $SERVER_CPU on a free loopback
# port; sets SRV_PID and SRV_PORT. Returns 1 (with the log) on failure.
start_server() {
	local name=$1 log=$tmp/${SRV_TAG:-$1}.log conf try bin user=()
	SRV_PID=
	SRV_PORT=
	for ((try = 0; try < 3; try++)); do
		: >"$log"
		case $name in
		ref|bev)
			bin=$EPOLL_REF
			[[ $name == bev ]] && bin=$BEV_REF
			taskset -c "$SERVER_CPU" "$bin" 0 2>"$log" &
			SRV_PID=$!
			started_pids="$started_pids $SRV_PID"
			SRV_PORT=$(wait_port_line "$log" "$SRV_PID") ;;
		hellod)
			conf=$(hellod_config) || return 1
			taskset -c "$SERVER_CPU" "$HELLOD" -c "$conf" \
			    2>"$log" &
			SRV_PID=$!
			started_pids="$started_pids $SRV_PID"
			SRV_PORT=$(wait_port_line "$log" "$SRV_PID") ;;
		redis)
			SRV_PORT=$(free_port) || return 1
			taskset -c "$SERVER_CPU" redis-server --port "$SRV_PORT" \
			    --bind 127.0.0.1 --save '' --appendonly no \
			    --protected-mode no \
			    --maxclients $((IDLE_CONNS + 1000)) \
			    --daemonize no --logfile "$log" &
			SRV_PID=$!
			started_pids="$started_pids $SRV_PID"
			wait_listen "$SRV_PORT" "$SRV_PID" || SRV_PORT= ;;
		memcached)
			SRV_PORT=$(free_port) || return 1
			# memcached refuses to run as root without a user.
			((EUID == 0)) && user=(-u nobody)
			taskset -c "$SERVER_CPU" memcached \
			    -t "$MEMCACHED_THREADS" -l 127.0.0.1 \
			    -p "$SRV_PORT" -U 0 -c $((IDLE_CONNS + 1000)) \
			    "${user[@]}" 2>"$log" &
			SRV_PID=$!
			started_pids="$started_pids $SRV_PID"
			wait_listen "$SRV_PORT" "$SRV_PID" || SRV_PORT= ;;
		esac
		[[ -n $SRV_PORT ]] && return 0
		stop_server "$SRV_PID"
	done
	note "$name did not start; its log:"
	tail -n 20 "$log" >&2
	return 1
}

# SIGTERM, wait a bounded time, then SIGKILL; only a PID we started.
stop_server() {
	local pid=$1 i rest=
	[[ -n $pid ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < STOP_TIMEOUT; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			note "pid $pid ignored SIGTERM: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	for i in $started_pids; do
		[[ $i == "$pid" ]] || rest="$rest $i"
	done
	started_pids=$rest
}
