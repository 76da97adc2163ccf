# SPDX-License-Identifier: ISC
# guestlib.sh: what the guest scripts of "make check-e2e" (tests/e2e/
# guest.sh) and "make check-deb" (tests/deb/guest.sh) share, sourced from
# /mnt/guestlib.sh inside the nspawn guest: TAP output, bounded polling,
# one client, and a stream of them that counts how each ended.
# shellcheck shell=bash disable=SC2034,SC2317,SC2016

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# A failure after which the later checks would only fail too.
require() {
	local what=$1
	shift
	if "$@"; then
		ok "$what"
	else
		not_ok "$what"
		echo "# journal of hellod:"
		journalctl -u hellod -u hellod.socket --no-pager -n 40 |
		    sed 's/^/#   /'
		exit 1
	fi
}
note() { echo "# $*"; }

# Poll a condition until a deadline: wait_for SECONDS COMMAND...
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# One client: connect, send a line, read the reply, all within 5 s.
# hello PORT [REPLY]
hello() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
	    printf "hi\n" >&3 && IFS= read -r line <&3 &&
	    [ "$line" = "$2" ]' hello "$1" "${2:-Hello World}" 2>/dev/null
}
refused() {
	! timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' refused "$1" \
	    2>/dev/null
}

# One client as hello does it, and how it ended: ok, refused (connect),
# reset (a read or write), timeout, or other (EOF, a wrong reply).  REPLY
# is a pattern ("Hello *" takes a message that changes midway).
# probe PORT [REPLY]
probe() {
	local out rc=0
	out=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	    printf "hi\n" >&3 || exit 1
	    IFS= read -r line <&3 || exit 1
	    [[ $line == $2 ]]' probe "$1" "${2:-Hello World}" 2>&1) || rc=$?
	case $rc:$out in
	0:*) echo ok ;;
	*refused*) echo refused ;;
	*reset*) echo reset ;;
	124:*) echo timeout ;;
	*) echo other ;;
	esac
}

# A stream of sequential clients in the background (each: connect, send a
# line, read the reply, close), paced to at most RATE a second and at most
# MAX of them, until stream_stop.  stream_served N: N answered so far;
# stream_more N: wait for N more.
# stream_stop sets stream_total, stream_ok, stream_refused, stream_reset
# and stream_other (timeouts included), and stream_secs.
# stream_start PORT RATE MAX [REPLY]
stream_start() {
	stream_dir=$(mktemp -d)
	stream_t0=$SECONDS
	(
		ok=0 refused=0 reset=0 other=0 i=0
		pause=$(awk -v r="$2" 'BEGIN { printf "%.3f", 1 / r }')
		while [ ! -e "$stream_dir/stop" ] && [ "$i" -lt "$3" ]; do
			case $(probe "$1" "${4:-Hello World}") in
			ok) ok=$((ok + 1)) ;;
			refused) refused=$((refused + 1)) ;;
			reset) reset=$((reset + 1)) ;;
			*) other=$((other + 1)) ;;
			esac
			i=$((i + 1))
			echo "$i $ok $refused $reset $other" >"$stream_dir/count.tmp"
			mv "$stream_dir/count.tmp" "$stream_dir/count"
			sleep "$pause"
		done
	) &
	stream_pid=$!
}
stream_served() { [ -e "$stream_dir/count" ] &&
    [ "$(cut -d' ' -f2 "$stream_dir/count")" -ge "$1" ]; }
# Wait until N more have been answered than now.
stream_more() {
	local now=0
	[ ! -e "$stream_dir/count" ] || now=$(cut -d' ' -f2 "$stream_dir/count")
	wait_for 20 stream_served $((now + $1))
}
stream_stop() {
	touch "$stream_dir/stop"
	wait "$stream_pid"
	stream_secs=$((SECONDS - stream_t0))
	read -r stream_total stream_ok stream_refused stream_reset \
	    stream_other <"$stream_dir/count"
	rm -rf "$stream_dir"
}

prop() { systemctl show -P "$2" "$1"; }
active() { [ "$(systemctl is-active "$1")" = active ]; }
