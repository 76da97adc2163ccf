#!/bin/bash
# SPDX-License-Identifier: ISC
# The checks of the Debian package, run inside the container booted by
# tests/e2e/run.sh --deb (from tests/deb/run.sh), as hellod-e2e.service.
# /mnt/deb holds the package twice (DEB_V1, DEB_V2 with a higher version),
# debian/tests of the source and "env" naming them.  Prints TAP-like
# "ok N - ..." lines, then "PASS all"; exits non-zero on the first failure
# that makes the rest meaningless, or at the end.
#
# Every wait is bounded: "timeout" around each command that could block,
# wait_for (a deadline) around every condition that takes a moment.

# Functions called through check/wait_for look unreachable to shellcheck;
# the bash -c scripts are single-quoted on purpose.
# shellcheck disable=SC2317,SC2016

set -uo pipefail
export SYSTEMD_PAGER='' SYSTEMD_COLORS=0 LC_ALL=C.UTF-8
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC1091
. /mnt/deb/env			# DEB_V1, DEB_V2, V1, V2

# shellcheck disable=SC1091
. /mnt/guestlib.sh		# ok, check, require, wait_for, hello, ...

inactive() { [ "$(systemctl is-active "$1")" = inactive ]; }
enabled() { [ "$(systemctl is-enabled "$1" 2>/dev/null)" = "$2" ]; }
status() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' hellod 2>/dev/null)" = "$1" ]; }
version() { [ "$(dpkg-query -W -f='${Version}' hellod)" = "$1" ]; }
has_user() { getent passwd hellod >/dev/null; }
has_group() { getent group hellod >/dev/null; }
running() { pgrep -x hellod >/dev/null; }
# A MainPID other than PID, and not 0 (no main process).
restarted_since() {
	local now
	now=$(prop hellod.service MainPID)
	[ "$now" != "$1" ] && [ "$now" != 0 ]
}
# Run a command within SECONDS, its output shown as comments; its status.
# logged SECONDS COMMAND...
logged() {
	local out rc=0
	out=$(timeout "$1" "${@:2}" </dev/null 2>&1) || rc=$?
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/#   | /'
	return "$rc"
}

# 1. dpkg -i: enabled, started, answering; the socket shipped, not enabled.
require "dpkg -i hellod $V1" logged 300 dpkg -i "$DEB_V1"
check "hellod $V1 is installed" status "ii "
check "the hellod user exists" has_user
check "... a system account without a login shell" eval \
    '[ "$(id -u hellod)" -lt 1000 ] &&
    [ "$(getent passwd hellod | cut -d: -f7 | xargs basename)" = nologin ]'
check "the hellod group exists" has_group
for f in /usr/sbin/hellod /etc/hellod.conf \
    /lib/systemd/system/hellod.service /lib/systemd/system/hellod.socket \
    /usr/share/man/man8/hellod.8.gz /usr/share/man/man5/hellod.conf.5.gz \
    /usr/share/doc/hellod/README.Debian /usr/share/doc/hellod/copyright \
    /usr/share/doc/hellod/examples/haproxy.cfg \
    /usr/lib/sysusers.d/hellod.conf; do
	check "$f is installed" test -f "$f"
done
check "/etc/hellod.conf is a conffile" eval \
    'dpkg-query -W -f="\${Conffiles}\n" hellod | grep -q "^ /etc/hellod.conf "'
check "hellod.service is enabled" enabled hellod.service enabled
require "hellod.service is active once dpkg -i returns" active hellod.service
# No retry: postinst's start returns after READY=1, sent once listening.
check "port 5000 answers Hello World right after dpkg -i" hello 5000
check "hellod.socket is not enabled" enabled hellod.socket disabled
check "hellod.socket is not active" inactive hellod.socket
# DynamicUser= takes the static account of the unit's name when there is
# one: the service runs as hellod (README.Debian), still not as root.
check "hellod.service runs as the hellod account (DynamicUser=yes)" eval \
    '[ "$(prop hellod.service DynamicUser)" = yes ] &&
    [ "$(ps -o user= -p "$(prop hellod.service MainPID)")" = hellod ]'

# 2. The autopkgtests of debian/tests/control, run as autopkgtest would on
# this test bed (the package installed, a container, root): from the source
# tree's top, with AUTOPKGTEST_TMP, and output on stderr failing a test
# unless it has allow-stderr.  Only what hellod's control uses is known.
# field NAME: the value of NAME in $stanza, continuation lines joined.
field() {
	printf '%s\n' "$stanza" | awk -v f="$1" '
	    /^#/ { next }
	    /^[^ \t]/ { on = 0 }
	    on { v = v " " $0 }
	    tolower($0) ~ "^" tolower(f) ":" {
		sub(/^[^:]*:[ \t]*/, ""); v = $0; on = 1 }
	    END { print v }'
}
run_autopkgtests() {
	local control=/mnt/deb/debian/tests/control stanza tests restr deps
	local t r d dir rc
	while IFS= read -r -d '' stanza; do
		tests=$(field Tests | tr -s ', ' ' ')
		restr=$(field Restrictions | tr -s ', ' ' ')
		deps=$(field Depends | tr ',' '\n' |
		    sed 's/^[ \t]*//; s/[ \t(].*//' | grep -v '^@$' || true)
		if [ -z "$tests" ] || [ -n "$(field Test-Command)" ]; then
			not_ok "autopkgtest stanza with Tests: (and no Test-Command:)"
			continue
		fi
		for r in $restr; do
			case $r in
			needs-root|isolation-container|allow-stderr) ;;
			*) not_ok "autopkgtest $tests: Restrictions: $r not supported here"
			    continue 2 ;;
			esac
		done
		for d in $deps; do
			dpkg-query -W "$d" >/dev/null 2>&1 && continue
			not_ok "autopkgtest $tests: Depends: $d is not installed"
			continue 2
		done
		for t in $tests; do
			dir=$(mktemp -d)
			rc=0
			mkdir "$dir/tmp" "$dir/artifacts"
			(cd /mnt/deb && AUTOPKGTEST_TMP=$dir/tmp \
			    AUTOPKGTEST_ARTIFACTS=$dir/artifacts \
			    timeout 300 "debian/tests/$t") \
			    >"$dir/stdout" 2>"$dir/stderr" || rc=$?
			sed 's/^/#   | /' "$dir/stdout"
			sed 's/^/#   stderr| /' "$dir/stderr"
			if [ "$rc" -ne 0 ]; then
				not_ok "autopkgtest $t exits 0 (it exited $rc)"
			elif [ -s "$dir/stderr" ] &&
			    ! grep -qw allow-stderr <<<"$restr"; then
				not_ok "autopkgtest $t writes nothing on stderr"
			else
				ok "autopkgtest $t (Restrictions: $restr)"
			fi
			rm -rf "$dir"
		done
	done < <(awk -v RS= -v ORS='\0' '{ print }' "$control")
}
run_autopkgtests
check "the autopkgtests leave hellod.service active" active hellod.service
check "... and /etc/hellod.conf as shipped" \
    cmp -s /etc/hellod.conf <(dpkg-deb --fsys-tarfile "$DEB_V1" |
    tar -xOf - ./etc/hellod.conf)

# 3. The hellod user, outside systemd: a root start with -d and
# "user = hellod" drops to it.  hellod writes its pidfile before the
# switch, as root, so it goes in a directory of root's (README.Debian): one
# of hellod's is refused.
install -d -o hellod -g hellod /run/hellod
cat >/tmp/hellod-d.conf <<'EOF'
port = 7000
user = hellod
pidfile = /run/hellod/hellod.pid
EOF
check "hellod -d refuses a pidfile in a directory of hellod's" eval \
    '! logged 30 /usr/sbin/hellod -d -c /tmp/hellod-d.conf &&
    refused 7000 && test ! -e /run/hellod/hellod.pid'
sed -i 's|^pidfile = .*|pidfile = /run/hellod-d.pid|' /tmp/hellod-d.conf
check "hellod -d with user = hellod starts as root" \
    logged 30 /usr/sbin/hellod -d -c /tmp/hellod-d.conf
dpid=$(cat /run/hellod-d.pid 2>/dev/null)
require "... and writes its pidfile" test "${dpid:-0}" -gt 1
check "... answers on port 7000" hello 7000
check "... runs as hellod" eval '[ "$(ps -o user= -p "$dpid")" = hellod ]'
kill "$dpid"
check "... stops on SIGTERM" wait_for 20 eval '! kill -0 "$dpid" 2>/dev/null'
# hellod(8): the hellod user cannot remove root's file from /run.
check "... and leaves its pidfile behind in /run" test -f /run/hellod-d.pid
rm -rf /run/hellod /run/hellod-d.pid /tmp/hellod-d.conf

# 4. Upgrade: the admin's edit survives, the service restarts and reads it.
sed -i 's/^#message = .*/message = "Hello Upgrade"/' /etc/hellod.conf
check "the edit is in /etc/hellod.conf" \
    grep -qx 'message = "Hello Upgrade"' /etc/hellod.conf
pid=$(prop hellod.service MainPID)
# Clients all through the upgrade: the old hellod's socket waits in
# systemd's fd store while postinst restarts the service, and the new one
# takes it back; none may be refused or reset.  The message changes
# midway (the edit above is read by the new hellod).
stream_start 5000 50 3000 "Hello *"
wait_for 20 stream_served 20
require "apt-get install ./$(basename "$DEB_V2") (upgrade to $V2)" \
    logged 300 apt-get install -y "$DEB_V2"
stream_more 20
stream_stop
# shellcheck disable=SC2154 # the figures stream_stop sets
note "upgrade under clients: $stream_total connections in" \
    "${stream_secs}s: $stream_ok answered, $stream_refused refused," \
    "$stream_reset reset, $stream_other other"
check "no client refused during the upgrade" [ "$stream_refused" = 0 ]
check "no client reset during the upgrade" [ "$stream_reset" = 0 ]
check "every client answered during the upgrade" \
    [ "$stream_ok" = "$stream_total" ]
check "the new hellod took its sockets from the fd store" eval \
    'journalctl -u hellod -o cat --no-pager |
    grep -q "listening on .*:5000 (kept in systemd.s fd store)"'

check "hellod $V2 is installed" version "$V2"
check "the edit of /etc/hellod.conf survived" \
    grep -qx 'message = "Hello Upgrade"' /etc/hellod.conf
check "no .dpkg-new/.dpkg-dist/.dpkg-old beside it" \
    eval '! ls /etc/hellod.conf.* 2>/dev/null | grep -q .'
check "hellod.service was restarted (new MainPID)" restarted_since "$pid"
check "hellod.service is active" active hellod.service
check "the restarted daemon answers with the edited message" \
    hello 5000 "Hello Upgrade"
check "hellod.service is still enabled" enabled hellod.service enabled
check "hellod.socket is still not enabled" enabled hellod.socket disabled
check "hellod.socket is still not active" inactive hellod.socket

# 5. Socket activation as README.Debian and hellod(8) say; an upgrade keeps
# it; and back.
check "switch: systemctl disable --now hellod.service" \
    logged 60 systemctl disable --now hellod.service
check "switch: systemctl enable --now hellod.socket" \
    logged 60 systemctl enable --now hellod.socket
check "hellod.service is not running before the first client" \
    inactive hellod.service
check "the first client on 5000 starts hellod through the socket" \
    hello 5000 "Hello Upgrade"
check "hellod.service is active after it" wait_for 10 active hellod.service
pid=$(prop hellod.service MainPID)
require "dpkg -i hellod $V2 again (an upgrade with the socket in use)" \
    logged 300 dpkg -i "$DEB_V2"
check "hellod.socket is still enabled" enabled hellod.socket enabled
check "hellod.socket is still active" active hellod.socket
check "hellod.service is still disabled" enabled hellod.service disabled
check "hellod.service was restarted behind the socket" restarted_since "$pid"
check "port 5000 answers through the socket after the upgrade" \
    hello 5000 "Hello Upgrade"
check "back: systemctl disable --now hellod.socket hellod.service" \
    logged 60 systemctl disable --now hellod.socket hellod.service
check "back: systemctl enable --now hellod.service" \
    logged 60 systemctl enable --now hellod.service
check "hellod.service is enabled and active again" \
    eval 'enabled hellod.service enabled && active hellod.service'
check "hellod.socket is disabled and inactive again" \
    eval 'enabled hellod.socket disabled && inactive hellod.socket'
check "port 5000 answers from hellod.service" hello 5000 "Hello Upgrade"

# 6. apt remove: stopped, the conffile and the user kept.
require "apt-get remove hellod" logged 300 apt-get remove -y hellod
check "hellod is removed, its configuration kept (rc)" status "rc "
check "hellod.service is stopped" eval '! active hellod.service'
check "no hellod process is left" eval '! running'
check "port 5000 is closed" refused 5000
check "/usr/sbin/hellod is gone" test ! -e /usr/sbin/hellod
check "/etc/hellod.conf is kept, with the edit" \
    grep -qx 'message = "Hello Upgrade"' /etc/hellod.conf
check "the hellod user is kept" has_user

# 7. apt purge: the conffile, the user and the unit state go.
require "apt-get purge hellod" logged 300 apt-get purge -y hellod
check "dpkg no longer knows hellod" eval '! status "rc " && ! status "ii "'
check "/etc/hellod.conf is gone" test ! -e /etc/hellod.conf
check "the hellod user is gone" eval '! has_user'
check "the hellod group is gone" eval '! has_group'
check "no hellod unit links are left in /etc/systemd/system" \
    eval '[ -z "$(find /etc/systemd/system -name "hellod*" \
    ! -name hellod-e2e.service -print)" ]'
check "no deb-systemd-helper state of hellod is left" \
    eval '! find /var/lib/systemd/deb-systemd-helper-enabled \
    /var/lib/systemd/deb-systemd-helper-masked -name "*hellod*" \
    2>/dev/null | grep -q .'

# 8. A hellod account made before the package stays on purge; and removal
# stops hellod.socket and the service it started.
useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --comment "the admin's own" hellod
require "dpkg -i hellod $V2 with a hellod account already there" \
    logged 300 dpkg -i "$DEB_V2"
check "hellod.service is active and answers" \
    eval 'active hellod.service && hello 5000'
check "the account is the admin's, unchanged" \
    eval '[ "$(getent passwd hellod | cut -d: -f5)" = "the admin'"'"'s own" ]'
logged 60 systemctl disable --now hellod.service
logged 60 systemctl enable --now hellod.socket
check "with hellod.socket, the first client starts hellod.service" \
    eval 'hello 5000 && active hellod.service'
require "apt-get remove hellod (socket in use)" \
    logged 300 apt-get remove -y hellod
check "hellod.socket is stopped" eval '! active hellod.socket'
check "hellod.service is stopped" eval '! active hellod.service'
check "no hellod process is left" eval '! running'
check "port 5000 is closed" refused 5000
require "apt-get purge hellod" logged 300 apt-get purge -y hellod
check "the admin's hellod account is still there after the purge" has_user
check "no hellod unit links are left in /etc/systemd/system" \
    eval '[ -z "$(find /etc/systemd/system -name "hellod*" \
    ! -name hellod-e2e.service -print)" ]'
userdel hellod

check "nothing of hellod left running" eval '! running && refused 5000'

# 9. Purge while a "hellod -d" started by hand still runs as the hellod
# user: userdel refuses (exit 8), and the purge must not fail on it; it
# warns and keeps the account.
require "dpkg -i hellod $V2 (for a purge with hellod running)" \
    logged 300 dpkg -i "$DEB_V2"
logged 60 systemctl disable --now hellod.service
cat >/tmp/hellod-purge.conf <<'EOF'
port = 7001
user = hellod
pidfile = /run/hellod-purge.pid
EOF
require "hellod -d with user = hellod, started by hand" \
    logged 30 /usr/sbin/hellod -d -c /tmp/hellod-purge.conf
hpid=$(cat /run/hellod-purge.pid 2>/dev/null)
require "... runs as hellod" \
    eval '[ "$(ps -o user= -p "${hpid:-0}")" = hellod ]'
purge_rc=0
purge_out=$(timeout 300 apt-get purge -y hellod </dev/null 2>&1) || purge_rc=$?
printf '%s\n' "$purge_out" | sed 's/^/#   | /'
check "apt-get purge succeeds while a process runs as hellod" \
    test "$purge_rc" = 0
check "... says the account is kept" \
    grep -q "warning: .*hellod.*kept" <<<"$purge_out"
check "... and keeps it" has_user
check "dpkg no longer knows hellod" eval '! status "rc " && ! status "ii "'
kill "$hpid"
check "the hellod started by hand stops on SIGTERM" \
    wait_for 20 eval '! kill -0 "$hpid" 2>/dev/null'
rm -f /run/hellod-purge.pid /tmp/hellod-purge.conf
userdel hellod
check "nothing of hellod left running after the purge" \
    eval '! running && refused 7001'

if [ "$failed" = 0 ]; then
	echo "PASS all"
fi
exit "$failed"
