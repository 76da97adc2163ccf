#!/bin/bash
# SPDX-License-Identifier: ISC
# The Debian package, built and proven in a real systemd ("make check-deb").
#
#   tests/deb/run.sh
#
# 1. Copies the source tree into a scratch directory (git's tracked files,
#    as a fresh clone has them; the whole tree when it is not a git
#    checkout) and runs "dpkg-buildpackage -us -uc -b" there, the package's
#    "make check" included.  As root it builds as the unprivileged user
#    nobody, like a build machine: Rules-Requires-Root: no must hold, and the
#    tests that need root skip themselves.
#    Checks that the .deb holds the documents and the examples
#    (dpkg-deb -c): those of debian/hellod.docs, conf/prometheus.yml and
#    every file of docs/examples/.
# 2. Runs "lintian -I --fail-on error,warning,info" on the .changes.
# 3. Builds the package again with a higher version (dch; no tests, the
#    tree is the same) for the upgrade.
# 4. Boots the container of tests/e2e/run.sh with both packages and the
#    autopkgtests of debian/tests, and runs tests/deb/guest.sh there: dpkg -i,
#    the units, the conffile, the user, the autopkgtests, the upgrade, the
#    switch to socket activation, remove and purge.
#
# Nothing is written beside the source tree: everything happens in a
# scratch directory under $TMPDIR (default /var/tmp), removed at the end
# (HELLOD_DEB_KEEP=1 keeps it).  Exits 0 when all passes; 77 when it cannot
# run here: no dpkg-buildpackage, lintian or dch, or (after the build and
# lintian have passed) not root for the container; 1 otherwise.
#
# Environment: HELLOD_DEB_JOBS (parallel build jobs, default 2), and those
# of tests/e2e/run.sh (HELLOD_E2E_CACHE, HELLOD_E2E_TIMEOUT).

set -euo pipefail

SKIP=77
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
jobs=${HELLOD_DEB_JOBS:-2}

say() { printf 'deb: %s\n' "$*" >&2; }
skip() { say "SKIP: $*"; exit $SKIP; }
die() { say "FAIL: $*"; exit 1; }

[ $# -eq 0 ] || { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 2; }
for tool in dpkg-buildpackage dpkg-parsechangelog lintian dch; do
	command -v "$tool" >/dev/null ||
	    skip "$tool not installed (./autogen.sh --test-deps installs it)"
done
[ -f "$srcdir/debian/control" ] || skip "no debian/ in $srcdir"

pkg=$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -SSource)
v1=$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -SVersion)
v2=$v1+upgrade1
arch=$(dpkg --print-architecture)

scratch=$(mktemp -d "${TMPDIR:-/var/tmp}/hellod-deb.XXXXXX")
chmod 755 "$scratch"
cleanup() {
	if [ -n "${HELLOD_DEB_KEEP:-}" ]; then
		say "scratch directory kept: $scratch"
	else
		rm -rf "$scratch"
	fi
}
trap cleanup EXIT

# Root builds as nobody; anyone else as themselves.  A clean environment
# (no MAKEFLAGS of the calling make, no CFLAGS), as on a build machine.
as_builder() {
	local env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
	    HOME="$scratch/home" TMPDIR="$scratch/tmp"
	    DEBFULLNAME="hellod check-deb" DEBEMAIL="check-deb@localhost")
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=nobody --regid="$(id -g nobody)" \
		    --clear-groups "${env[@]}" "$@"
	else
		"${env[@]}" "$@"
	fi
}

# The source as a fresh clone has it: tracked files only, with their
# working-tree contents.
copy_source() {
	mkdir -p "$1"
	if [ "$(git -C "$srcdir" rev-parse --show-toplevel 2>/dev/null)" = \
	    "$srcdir" ]; then
		(cd "$srcdir" && git ls-files -z |
		    tar --null -T - --ignore-failed-read -cf -) |
		    tar -C "$1" -xf -
	else
		[ ! -e "$srcdir/config.status" ] ||
		    die "$srcdir is configured in place and not a git checkout"
		cp -a "$srcdir/." "$1"
	fi
}

# build DIR LOG DEB_BUILD_OPTIONS
build() {
	local t0=$SECONDS
	if ! (cd "$1" && as_builder DEB_BUILD_OPTIONS="$3" \
	    dpkg-buildpackage -us -uc -b) >"$2" 2>&1; then
		tail -n 150 "$2" >&2
		die "dpkg-buildpackage failed in $1"
	fi
	say "built $(basename "$(dirname "$1")") in $((SECONDS - t0))s"
}

tree1=$scratch/v1/$pkg-$v1
tree2=$scratch/v2/$pkg-$v1
copy_source "$tree1"
mkdir -p "$(dirname "$tree2")" "$scratch/home" "$scratch/tmp"
cp -a "$tree1" "$tree2"
[ "$(id -u)" -ne 0 ] || chown -R nobody: "$scratch"

say "dpkg-buildpackage -us -uc -b of $pkg $v1 (with its make check)"
build "$tree1" "$scratch/build-v1.log" "parallel=$jobs"
deb1=${pkg}_${v1}_$arch.deb
changes=$scratch/v1/${pkg}_${v1}_$arch.changes
[ -f "$scratch/v1/$deb1" ] || die "no $deb1 built"

# The documents, compressed or not (dh_compress decides by size), and the
# examples as they are; each one missing is named.
say "the documents and examples in $deb1"
doc=./usr/share/doc/$pkg
dpkg-deb -c "$scratch/v1/$deb1" | awk '{ print $NF }' >"$scratch/contents"
missing=0
want() {
	local p
	for p in "$@"; do
		grep -qxF "$p" "$scratch/contents" && return 0
	done
	say "not in $deb1: $1"
	missing=$((missing + 1))
}
for f in README.md NEWS PERFORMANCE.md RELIABILITY.md SCALING.md; do
	want "$doc/$f" "$doc/$f.gz"
done
want "$doc/examples/prometheus.yml"
want "$doc/examples/haproxy.cfg"
for f in "$tree1"/docs/examples/*; do
	want "$doc/examples/$(basename "$f")"
done
[ "$missing" -eq 0 ] || die "$missing documents or examples missing"

say "lintian -I --fail-on error,warning,info $(basename "$changes")"
rc=0
as_builder lintian -I --fail-on error,warning,info "$changes" \
    >"$scratch/lintian.log" 2>&1 || rc=$?
sed 's/^/lintian: /' "$scratch/lintian.log" >&2
[ "$rc" -eq 0 ] || die "lintian exited $rc"
[ -s "$scratch/lintian.log" ] || say "lintian: no tags"

say "the same with version $v2, for the upgrade (nocheck)"
(cd "$tree2" && as_builder dch --preserve --newversion "$v2" \
    --distribution unstable --force-distribution \
    "Upgrade test build of make check-deb.") >/dev/null 2>&1 ||
    die "dch failed"
build "$tree2" "$scratch/build-v2.log" "parallel=$jobs nocheck"
deb2=${pkg}_${v2}_$arch.deb
[ -f "$scratch/v2/$deb2" ] || die "no $deb2 built"

# What the guest gets at /mnt/deb.
guest=$scratch/guest
mkdir -p "$guest/debian"
cp "$scratch/v1/$deb1" "$scratch/v2/$deb2" "$guest/"
cp -a "$tree1/debian/tests" "$guest/debian/"
cat >"$guest/env" <<EOF
DEB_V1=/mnt/deb/$deb1
DEB_V2=/mnt/deb/$deb2
V1=$v1
V2=$v2
EOF

rc=0
"$srcdir/tests/e2e/run.sh" --deb "$guest" --guest "$here/guest.sh" || rc=$?
if [ "$rc" -eq $SKIP ]; then
	skip "package built, lintian clean; the guest checks cannot run here"
fi
[ "$rc" -eq 0 ] || die "guest checks failed"
say "PASS"
