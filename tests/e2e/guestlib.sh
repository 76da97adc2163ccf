# SPDX-License-Identifier: ISC
# guestlib.sh: what the guest scripts of "make check-e2e" (tests/e2e/
# guest.sh) and "make check-deb" (tests/deb/guest.sh) share, sourced from
# /mnt/guestlib.sh inside the nspawn guest: TAP output, bounded polling,
# and one client.
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

prop() { systemctl show -P "$2" "$1"; }
active() { [ "$(systemctl is-active "$1")" = active ]; }
