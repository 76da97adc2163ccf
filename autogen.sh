#!/bin/sh
# SPDX-License-Identifier: ISC
# Bootstrap the build system.  With --deps, first install the Debian packages
# that building and testing hellod need.
set -e

# Build: toolchain, autotools, libevent, Check.  Tests: python3, telnet,
# iproute2 and util-linux (namespaces), valgrind, clang with its fuzzer
# runtime, cppcheck, clang-tidy, mandoc and man-db (lint), systemd's
# socket activator plus debootstrap and nspawn for the end-to-end test,
# haproxy for "make check-lb", prometheus for the metrics tests (promtool,
# and a server that scrapes).
# The Debian package (make check-deb): debhelper, dpkg-dev, lintian, and
# devscripts for dch; no fakeroot, as it builds with Rules-Requires-Root: no.
DEPS="build-essential autoconf automake libtool pkg-config libevent-dev \
check python3 telnet iproute2 util-linux valgrind clang \
libclang-rt-14-dev cppcheck clang-tidy mandoc man-db systemd \
systemd-container debootstrap debhelper dpkg-dev lintian devscripts haproxy \
prometheus"

if [ "$1" = "--deps" ]; then
	shift
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $DEPS >/dev/null
fi

cd "$(dirname "$0")"
autoreconf -fi
