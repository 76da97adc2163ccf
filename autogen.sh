#!/bin/sh
# SPDX-License-Identifier: ISC
# Bootstrap the build system (autoreconf).  First, on Debian:
#   --deps       install what building and running hellod needs;
#   --test-deps  install that, and what the whole test suite needs.
# Packages are installed without their recommendations, and with sudo when
# not root.  A daemon that a test package brings (haproxy, prometheus,
# memcached) is neither started nor enabled when this script is what
# installs it.
set -e

# Build: a C toolchain, autotools and pkg-config, libevent.
BUILD_DEPS="build-essential autoconf automake pkg-config libevent-dev"

# Tests: Check (unit suites); python3 (integration tests); telnet,
# iproute2 and util-linux (namespaces, setpriv); strace (the system calls
# of a connection, test_core_readsize.py); valgrind; clang with its
# fuzzer runtime; cppcheck, clang-tidy, mandoc and man-db (make lint);
# systemd's socket activator, debootstrap and systemd-container (make
# check-e2e); haproxy (make check-lb); prometheus (promtool, and a server
# that scrapes); debhelper, dpkg-dev, lintian and devscripts for dch (make
# check-deb: no fakeroot, it builds with Rules-Requires-Root: no);
# memcached, the peer of the benchmarks (make -C bench smoke).
TEST_DEPS="check python3 telnet iproute2 util-linux strace valgrind clang \
libclang-rt-14-dev cppcheck clang-tidy mandoc man-db systemd \
systemd-container debootstrap debhelper dpkg-dev lintian devscripts haproxy \
prometheus memcached"

# The services of TEST_DEPS: installed to be run by the tests, by hand.
TEST_SERVICES="haproxy prometheus memcached"

SUDO=
install_deps() {
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq &&
	    $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# policy-rc.d(8): 101 tells the maintainer scripts not to start a service.
# Left alone when the administrator has one of their own.
install_test_deps() {
	policy=/usr/sbin/policy-rc.d
	new=
	for svc in $TEST_SERVICES; do
		dpkg-query -W -f='${Status}\n' "$svc" 2>/dev/null |
		    grep -q 'ok installed' || new="$new $svc"
	done
	ours=
	if [ ! -e $policy ]; then
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee $policy >/dev/null
		$SUDO chmod 755 $policy
		ours=1
	fi
	# shellcheck disable=SC2086
	install_deps $BUILD_DEPS $TEST_DEPS || rc=$?
	[ -z "$ours" ] || $SUDO rm -f $policy
	[ "${rc:-0}" -eq 0 ] || exit "$rc"
	for svc in $new; do
		$SUDO deb-systemd-helper disable "$svc.service" >/dev/null 2>&1 ||
		    true
	done
}

case "$1" in
--deps)
	shift
	# shellcheck disable=SC2086
	install_deps $BUILD_DEPS
	;;
--test-deps)
	shift
	install_test_deps
	;;
-h|--help)
	echo "usage: $0 [--deps | --test-deps]"
	exit 0
	;;
"")
	;;
*)
	echo "usage: $0 [--deps | --test-deps]" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")"
autoreconf -fi
