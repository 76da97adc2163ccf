#!/bin/sh
# Bootstrap the build system.  With --deps, first install the Debian packages
# that building and testing hellod need.
set -e

DEPS="build-essential autoconf automake libtool pkg-config libevent-dev \
check libsystemd-dev python3 telnet socat valgrind clang cppcheck clang-tidy \
mandoc man-db systemd-container debootstrap libclang-rt-14-dev"

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
