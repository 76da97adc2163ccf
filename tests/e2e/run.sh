#!/bin/bash
# SPDX-License-Identifier: ISC
# End-to-end test of hellod under a real systemd.
#
#   tests/e2e/run.sh [--builddir DIR | --stage DIR | --deb DIR --guest FILE]
#
# Installs hellod with "make install DESTDIR=<staging>" from a build
# directory (default: the current directory when it holds a configured
# build, else a build of this source tree configured here with
# --prefix=/usr --sysconfdir=/etc), boots a Debian bookworm container with
# systemd-nspawn, and runs tests/e2e/guest.sh inside it (see there for the
# checks).  With --stage, DIR is an already installed tree.  With --deb,
# nothing is installed from a build: DIR (the packages and what else the
# guest needs) is bound at /mnt/deb and the guest script FILE, run instead
# of guest.sh, installs them itself (tests/deb/run.sh, "make check-deb").
#
# The rootfs is built once with debootstrap (from the machine's own apt
# mirror) and cached under /var/tmp/hellod-e2e; every boot runs on a
# throw-away overlay of it (--volatile=overlay), so reruns take seconds.
# Exits 0 when every check passes, 77 when it cannot run here (not root,
# no debootstrap or systemd-nspawn), 1 otherwise.  Nothing is left running:
# the container lives in its own PID namespace under "timeout".
#
# Environment: HELLOD_E2E_CACHE (default /var/tmp/hellod-e2e),
# HELLOD_E2E_TIMEOUT (seconds for the whole boot, default 300),
# HELLOD_E2E_KEEP=1 keeps the run directory (journal, logs) even on success.

set -euo pipefail

SKIP=77
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
cache=${HELLOD_E2E_CACHE:-/var/tmp/hellod-e2e}
limit=${HELLOD_E2E_TIMEOUT:-300}
# Bump when the package list or the rootfs preparation changes.
rootfs_version=1
rootfs=$cache/rootfs-v$rootfs_version
packages=systemd,systemd-sysv,dbus,libevent-2.1-7,libevent-core-2.1-7,telnet,procps

say() { printf 'e2e: %s\n' "$*" >&2; }
skip() { say "SKIP: $*"; exit $SKIP; }
die() { say "FAIL: $*"; exit 1; }

builddir=''
stage=''
debdir=''
guest=$here/guest.sh
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=${2:?}; shift 2 ;;
	--stage) stage=${2:?}; shift 2 ;;
	--deb) debdir=$(cd "${2:?}" && pwd); shift 2 ;;
	--guest) guest=$(cd "$(dirname "${2:?}")" && pwd)/$(basename "$2"); shift 2 ;;
	-h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--builddir DIR | --stage DIR |" \
	    "--deb DIR --guest FILE]" >&2; exit 2 ;;
	esac
done

[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
for tool in debootstrap systemd-nspawn unshare timeout flock apt-get; do
	command -v "$tool" >/dev/null || skip "$tool not installed"
done
[ -d /sys/fs/cgroup ] || skip "no cgroup file system"

# The mirror this machine's apt uses for bookworm, read at run time.
mirror() {
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	apt-get indextargets --format '$(RELEASE) $(REPO_URI)' \
	    'Identifier: Packages' 2>/dev/null |
	    awk '$1 == "bookworm" { print $2; exit }'
}

# Build the cached rootfs once; concurrent runs wait on the lock.
prepare_rootfs() {
	local tmp=$rootfs.tmp url
	mkdir -p "$cache"
	exec 9>"$cache/lock"
	flock -w 600 9 || die "cannot lock $cache"
	if [ -e "$rootfs/.hellod-e2e-ready" ]; then
		exec 9>&-
		return
	fi
	url=$(mirror)
	[ -n "$url" ] || skip "no bookworm mirror in the apt sources"
	say "building the rootfs in $rootfs from $url (once; about a minute)"
	if [ ! -e "$tmp/.debootstrap-done" ]; then
		rm -rf "$tmp"
		timeout 900 debootstrap --variant=minbase \
		    --include="$packages" bookworm "$tmp" "$url" \
		    >"$cache/debootstrap.log" 2>&1 ||
		    die "debootstrap failed, see $cache/debootstrap.log"
		touch "$tmp/.debootstrap-done"
	fi
	# An empty machine-id (not "uninitialized") and no first-boot
	# questions, or boot stops early; nothing to log in to.
	: >"$tmp/etc/machine-id"
	for unit in systemd-firstboot.service console-getty.service \
	    getty@.service serial-getty@.service systemd-timesyncd.service \
	    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
	    fstrim.timer; do
		ln -sf /dev/null "$tmp/etc/systemd/system/$unit"
	done
	touch "$tmp/.hellod-e2e-ready"
	mv "$tmp" "$rootfs"
	exec 9>&-
}

# Install hellod into $stage from a build directory.
install_stage() {
	if [ -z "$builddir" ]; then
		if [ -f Makefile ] && grep -q '^PACKAGE = hellod' Makefile; then
			builddir=$PWD
		else
			builddir=$cache/build
			say "configuring a build of $srcdir in $builddir"
			mkdir -p "$builddir"
			(cd "$builddir" && { [ -f Makefile ] ||
			    "$srcdir/configure" --prefix=/usr --sysconfdir=/etc \
			    >configure.log 2>&1; }) ||
			    die "configure failed, see $builddir/configure.log"
		fi
	fi
	say "make install DESTDIR=$stage from $builddir"
	if ! make -s -C "$builddir" >"$work/make.log" 2>&1 ||
	    ! make -s -C "$builddir" install DESTDIR="$stage" \
	    >>"$work/make.log" 2>&1; then
		cat "$work/make.log" >&2
		die "make install failed"
	fi
}

work=$(mktemp -d "${TMPDIR:-/var/tmp}/hellod-e2e-run.XXXXXX")
cgroups=()
cleanup() {
	local rc=$? cg
	for cg in "${cgroups[@]}"; do	# nspawn made payload/, supervisor/
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	if [ "$rc" -eq 0 ] && [ -z "${HELLOD_E2E_KEEP:-}" ]; then
		rm -rf "$work"
	else
		say "run directory kept: $work"
	fi
}
trap cleanup EXIT

mkdir -p "$work/results" "$work/journal"
binds=(--bind-ro="$(dirname "$guest"):/mnt/e2e"
    --bind-ro="$here/guestlib.sh:/mnt/guestlib.sh")
[ -z "$debdir" ] || binds+=(--bind-ro="$debdir:/mnt/deb")

# The "make install" tree, unless the guest installs packages (--deb); the
# block is left unindented so that it reads as before.
if [ -z "$debdir" ]; then
if [ -n "$stage" ]; then
	stage=$(cd "$stage" && pwd)
else
	stage=$work/stage
	install_stage
fi
binds+=(--bind-ro="$stage:/mnt/stage")

# What was installed where: the guest copies the tree to / and learns the
# paths from here.
bin=$(cd "$stage" && find . -path '*bin/hellod' -type f | head -n1)
conf=$(cd "$stage" && find . -name hellod.conf -type f | head -n1)
service=$(cd "$stage" && find . -name hellod.service -type f | head -n1)
socket=$(cd "$stage" && find . -name hellod.socket -type f | head -n1)
for f in bin conf service socket; do
	[ -n "${!f}" ] || die "make install put no $f in $stage"
done
cat >"$work/results/paths" <<EOF
HELLOD_BIN=${bin#.}
HELLOD_CONF=${conf#.}
HELLOD_SERVICE=${service#.}
HELLOD_SOCKET=${socket#.}
EOF
fi

# The unit that runs the checks once the guest has booted; its exit status
# becomes the container's, and so nspawn's.
cat >"$work/hellod-e2e.service" <<EOF
[Unit]
Description=hellod end-to-end checks
After=multi-user.target
SuccessAction=exit
FailureAction=exit

[Service]
Type=oneshot
ExecStart=/bin/bash /mnt/e2e/$(basename "$guest")
StandardOutput=append:/mnt/results/guest.log
StandardError=inherit
TimeoutStartSec=infinity
EOF

prepare_rootfs

# A cgroup of its own in every hierarchy nspawn looks at: with
# --keep-unit it runs the container in the caller's cgroup.
for hier in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
	if [ -e "$hier/cgroup.procs" ] && [ -w "$hier" ]; then
		cg=$hier/hellod-e2e.$$
		mkdir -p "$cg" && cgroups+=("$cg")
	fi
done

say "booting the container (at most ${limit}s)"
start=$(date +%s)
set +e
(
	for cg in "${cgroups[@]}"; do
		echo "$BASHPID" >"$cg/cgroup.procs"
	done
	# unshare's PID namespace: when timeout kills nspawn, the guest's
	# systemd dies with it instead of living on as an orphan.
	exec unshare --pid --fork --kill-child --mount-proc \
	    timeout -k 10 "$limit" \
	    systemd-nspawn --quiet --directory="$rootfs" --volatile=overlay \
	    --boot --register=no --keep-unit --private-network \
	    --console=pipe \
	    "${binds[@]}" \
	    --bind="$work/results:/mnt/results" \
	    --bind="$work/journal:/var/log/journal" \
	    --bind-ro="$work/hellod-e2e.service:/etc/systemd/system/hellod-e2e.service" \
	    systemd.wants=hellod-e2e.service
) </dev/null >"$work/console.log" 2>&1
rc=$?
set -e
elapsed=$(($(date +%s) - start))

[ -f "$work/results/guest.log" ] && cat "$work/results/guest.log"
if [ "$rc" -ne 0 ]; then
	say "container exited $rc after ${elapsed}s; its console:"
	tail -n 40 "$work/console.log" >&2
	if command -v journalctl >/dev/null; then
		say "guest journal (hellod units):"
		journalctl -q -D "$work/journal" --no-pager \
		    -u hellod.service -u hellod.socket -u hellod-e2e.service \
		    2>/dev/null | tail -n 60 >&2 || true
	fi
	[ "$rc" -eq 124 ] && die "timed out after ${limit}s"
	die "end-to-end checks failed"
fi
grep -q '^PASS all$' "$work/results/guest.log" ||
    die "the guest exited 0 without finishing its checks"
say "PASS in ${elapsed}s"
