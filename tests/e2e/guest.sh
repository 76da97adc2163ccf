#!/bin/bash
# SPDX-License-Identifier: ISC
# The checks run inside the container booted by tests/e2e/run.sh, as the
# unit hellod-e2e.service, with the "make install" tree at /mnt/stage.
# Prints TAP-like "ok N - ..." lines, then "PASS all"; exits non-zero on
# the first failure that makes the rest meaningless, or at the end.
#
# Every wait is bounded: "timeout" around each command that could block,
# wait_for (a deadline) around every condition that takes a moment.

# Functions called through check/wait_for look unreachable to shellcheck;
# the bash -c scripts are single-quoted on purpose.
# shellcheck disable=SC2317,SC2016

set -uo pipefail
export SYSTEMD_PAGER='' SYSTEMD_COLORS=0 LC_ALL=C.UTF-8
# shellcheck disable=SC1091
. /mnt/results/paths		# HELLOD_BIN, HELLOD_CONF, HELLOD_SERVICE, ...

# shellcheck disable=SC1091
. /mnt/guestlib.sh		# ok, check, require, wait_for, hello, ...

# A real telnet session.  Its stdin is a FIFO held open until the reply has
# been read: telnet quits at EOF on stdin, maybe before the reply arrives.
telnet_hello() {
	local dir rc pid
	dir=$(mktemp -d)
	mkfifo "$dir/in"
	timeout 20 telnet 127.0.0.1 "$1" <"$dir/in" >"$dir/out" 2>&1 &
	pid=$!
	exec 4>"$dir/in"
	printf 'hello\n' >&4
	wait_for 10 grep -q '^Hello World' "$dir/out"
	rc=$?
	exec 4>&-
	wait "$pid"
	sed 's/^/#   telnet| /' "$dir/out"
	rm -rf "$dir"
	return "$rc"
}

restarted_since() { [ "$(prop hellod MainPID)" != "$1" ] &&
    [ "$(prop hellod MainPID)" != 0 ]; }
journal_has() {	# journal_has PRIORITY-RANGE REGEX
	journalctl -u hellod --no-pager -o cat -p "$1" | grep -Eq "$2"
}
set_conf() { printf '%s\n' "$@" >"$HELLOD_CONF"; }
# systemd refuses a sixth start within 10 s (StartLimitBurst=5), and
# these tests restart on purpose, faster on a quiet machine: each restart
# clears the count first.
restart_hellod() {
	systemctl reset-failed hellod
	timeout 60 systemctl restart hellod
}
# restarts_under_stream PORT WHAT: three restarts while a stream of
# clients (50 a second, at most 3000) connects to PORT, each restart once
# 20 more have been answered; notes the stream's figures (stream_stop's
# variables, for the caller's checks) and checks the restarts succeeded.
restarts_under_stream() {
	local i ok=1
	stream_start "$1" 50 3000
	wait_for 20 stream_served 20
	for i in 1 2 3; do
		restart_hellod || ok=0
		wait_for 20 stream_served $((20 + 20 * i)) || ok=0
	done
	stream_stop
	# shellcheck disable=SC2154 # the figures stream_stop sets
	note "$2, 3 restarts: $stream_total connections in" \
	    "${stream_secs}s: $stream_ok answered, $stream_refused refused," \
	    "$stream_reset reset, $stream_other other"
	check "3 restarts under a stream of clients succeed" [ "$ok" = 1 ]
}

note "hellod installed at $HELLOD_BIN, configuration $HELLOD_CONF"
# As "make install" would have put it; /lib and friends are symlinks here.
tar -C /mnt/stage -cf - . | tar -C / -xf - --keep-directory-symlink || exit 1
systemctl daemon-reload
require "hellod -V runs in the guest" timeout 5 "$HELLOD_BIN" -V

# 1. Start, READY=1, telnet.
require "systemctl start hellod succeeds" timeout 30 systemctl start hellod
require "hellod is active" active hellod
# No retry here: with Type=notify, start returns only after READY=1, and
# hellod sends that only once every listener is live.
check "port 5000 answers as soon as start returns (READY=1 after listen)" \
    hello 5000
check "Type=notify" [ "$(prop hellod Type)" = notify ]
check "STATUS= says where it listens" \
    grep -q 'listening on .*:5000' <<<"$(prop hellod StatusText)"
check "a telnet session on port 5000 gets Hello World" telnet_hello 5000
pid=$(prop hellod MainPID)

# 2. Reload to another port.
set_conf "port = 6000"
check "systemctl reload hellod succeeds" timeout 30 systemctl reload hellod
check "port 6000 answers after the reload" wait_for 10 hello 6000
check "port 5000 no longer answers" refused 5000
check "same process after the reload" [ "$(prop hellod MainPID)" = "$pid" ]

# 3. A broken configuration never reaches the daemon.
set_conf "port = 6000" "bogus = 1"
check "systemctl reload with a broken configuration fails" \
    eval '! timeout 30 systemctl reload hellod 2>/dev/null'
check "journalctl -u hellod says why (file:line: message)" \
    wait_for 10 journal_has debug "hellod\.conf:2: .*bogus"
# The "hellod -t" of ExecReload= gives its errors error
# priority under journald, so the failed reload shows at warning and above
# (the daemon itself has not read the file: this line is the check's).
check "journalctl -p warning lists the failed check's file:line: error" \
    wait_for 10 journal_has warning "hellod\.conf:2: .*bogus"
check "hellod is still active" active hellod
check "port 6000 still answers" hello 6000
check "same process after the failed reload" \
    [ "$(prop hellod MainPID)" = "$pid" ]
# A HUP that bypasses the check: the daemon's own transactional reload.
systemctl kill -s HUP --kill-whom=main hellod
check "a HUP with the broken file logs 'reload failed' at priority err" \
    wait_for 10 journal_has err..err "reload failed, keeping the running"
check "... and port 6000 still answers" hello 6000

# 4. Journal priorities: "<N>" prefixes understood, none left in the text.
check "'listening on' is logged at notice" \
    journal_has notice..notice "^listening on .*:6000$"
check "no 'listening on' line at info or debug" \
    eval '! journal_has info..debug "listening on"'
check "config errors are logged at err" journal_has err..err "bogus"
check "no raw <N> prefix reaches the journal" \
    eval '! journalctl -u hellod -o cat --no-pager | grep -q "^<[0-7]>"'

# 5. Stop: inactive, not failed.
set_conf "port = 6000"
check "systemctl stop hellod succeeds" timeout 60 systemctl stop hellod
check "hellod is inactive after stop" \
    [ "$(systemctl is-active hellod)" = inactive ]
stopped_cleanly() { [ "$(prop hellod Result)" = success ] &&
    [ "$(prop hellod ExecMainStatus)" = 0 ]; }
check "stop is a success (exit 0), not a failure" stopped_cleanly

# 6a. Restarts without the socket unit: hellod.service alone, its socket
# kept in systemd's fd store while it restarts, so the kernel queues the
# clients meanwhile and none is refused or reset.
require "systemctl start hellod (no hellod.socket)" \
    timeout 30 systemctl start hellod
check "hellod.socket is not active" eval '! active hellod.socket'
check "FileDescriptorStoreMax=64" \
    [ "$(prop hellod FileDescriptorStoreMax)" = 64 ]
# One socket per address of "bind" (every address here: IPv4 and IPv6).
nstore() { prop hellod NFileDescriptorStore; }
check "hellod put its sockets into the fd store" \
    wait_for 10 eval '[ "$(nstore)" -ge 1 ]'
stored=$(nstore)
note "sockets in the fd store: $stored"
pid=$(prop hellod MainPID)
restarts_under_stream 6000 "fd store"
check "a new process serves after the restarts" restarted_since "$pid"
check "no client refused across the restarts" [ "$stream_refused" = 0 ]
check "no client reset across the restarts" [ "$stream_reset" = 0 ]
check "every client answered across the restarts" \
    [ "$stream_ok" = "$stream_total" ]
check "the restarted hellod took its socket from the store" \
    journal_has notice "listening on .*:6000 \(kept in systemd's fd store\)"
check "the store holds as many sockets as before" [ "$(nstore)" = "$stored" ]
# A reload to another port: the old socket leaves the store, the new one
# is in it, and a restart keeps it.
set_conf "port = 6001"
check "reload to port 6001" timeout 30 systemctl reload hellod
check "port 6001 answers" wait_for 10 hello 6001
check "the store holds the new sockets only" \
    wait_for 10 eval '[ "$(nstore)" = "$stored" ]'
check "port 6000 is closed after the reload" refused 6000
check "systemctl restart hellod" restart_hellod
check "port 6001 answers after the restart" hello 6001
check "... from the stored socket" \
    journal_has notice "listening on .*:6001 \(kept in systemd's fd store\)"
check "port 6000 stays closed" refused 6000
set_conf "port = 6000"
check "a restart with the port moved back drops the stored 6001" \
    restart_hellod
check "... port 6000 answers" hello 6000
check "... port 6001 is closed" refused 6001
check "... the journal says so" journal_has notice \
    "6001: not in the configuration any more; closed and dropped"
check "systemctl stop hellod" timeout 60 systemctl stop hellod
check "stop empties the store: port 6000 is closed" wait_for 10 refused 6000

# 6. Socket activation.
require "systemctl start hellod.socket succeeds" \
    timeout 30 systemctl start hellod.socket
check "hellod.service is not running before the first client" \
    eval '! active hellod'
check "the first client on 5000 starts hellod and gets Hello World" \
    hello 5000
check "hellod.service is active after the first client" \
    wait_for 10 active hellod
check "hellod logs that port/bind are not used" \
    wait_for 10 journal_has debug "port and bind settings are not used"
check "port 6000 from hellod.conf is not used" refused 6000

# Restarts under a stream of clients: the socket stays open in systemd, so
# no connection may be refused (clients wait in its backlog).
restarts_under_stream 5000 "hellod.socket"
check "no client failed during the restarts" \
    [ "$stream_ok" = "$stream_total" ]
check "nothing stored with hellod.socket" \
    [ "$(prop hellod NFileDescriptorStore)" = 0 ]
timeout 60 systemctl stop hellod.socket hellod

# 7. Watchdog: a frozen daemon is killed and restarted.  WatchdogSec
# shortened by a drop-in so the test takes seconds, not the shipped 30 s.
mkdir -p /run/systemd/system/hellod.service.d
printf '[Service]\nWatchdogSec=2s\n' \
    >/run/systemd/system/hellod.service.d/e2e-watchdog.conf
systemctl daemon-reload
require "hellod starts with WatchdogSec=2s" timeout 30 systemctl start hellod
pid=$(prop hellod MainPID)
check "port 6000 answers before the freeze" hello 6000
# systemd stamps every WATCHDOG=1 it receives: two new stamps, two pings.
stamp=$(prop hellod WatchdogTimestampMonotonic)
new_ping() {
	local now
	now=$(prop hellod WatchdogTimestampMonotonic)
	[ "$now" != "$stamp" ] && stamp=$now
}
check "hellod sends WATCHDOG=1 on its own (two pings seen)" \
    eval 'wait_for 10 new_ping && wait_for 10 new_ping'
kill -STOP "$pid"
restarted() { active hellod && [ "$(prop hellod MainPID)" != "$pid" ] &&
    [ "$(prop hellod MainPID)" != 0 ]; }
check "SIGSTOP'd hellod is restarted by the watchdog" wait_for 30 restarted
check "systemd logged the watchdog timeout" \
    eval 'journalctl -u hellod -o cat --no-pager | grep -q "Watchdog timeout"'
check "the restarted hellod answers" wait_for 10 hello 6000
kill -CONT "$pid" 2>/dev/null
rm -rf /run/systemd/system/hellod.service.d
systemctl daemon-reload
timeout 60 systemctl stop hellod

# 8. A port below 1024: refused as shipped, fine with the documented
# drop-in (hellod.service comments, hellod(8)).
set_conf "port = 80"
check "port 80 as shipped: start fails (no capability)" \
    eval '! timeout 30 systemctl start hellod 2>/dev/null'
check "... with 'Permission denied' in the journal" \
    wait_for 10 journal_has debug "Permission denied"
systemctl reset-failed hellod
mkdir -p /run/systemd/system/hellod.service.d
printf '[Service]\n%s\n%s\n%s\n' \
    CapabilityBoundingSet=CAP_NET_BIND_SERVICE \
    AmbientCapabilities=CAP_NET_BIND_SERVICE PrivateUsers=no \
    >/run/systemd/system/hellod.service.d/e2e-port80.conf
systemctl daemon-reload
check "port 80 with the capability drop-in: start succeeds" \
    timeout 30 systemctl start hellod
check "port 80 answers" hello 80
timeout 60 systemctl stop hellod
rm -rf /run/systemd/system/hellod.service.d
systemctl daemon-reload
set_conf "port = 6000"

# 9. Hardening score, as systemd computes it here.
score=$(systemd-analyze security hellod.service --no-pager 2>/dev/null |
    sed -n 's/.*Overall exposure level for hellod.service: \([0-9.]*\).*/\1/p')
note "systemd-analyze security hellod: ${score:-?}"
check "systemd-analyze security hellod <= 1.0" \
    awk -v s="${score:-99}" 'BEGIN { exit !(s <= 1.0) }'

check "nothing of hellod left running" \
    eval '! active hellod && ! active hellod.socket'

if [ "$failed" = 0 ]; then
	echo "PASS all"
fi
exit "$failed"
