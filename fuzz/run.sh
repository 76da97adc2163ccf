#!/bin/sh
# SPDX-License-Identifier: ISC
# Fuzz every target for a bounded time; fail on any crash, leak, timeout or
# sanitizer report.
#
#   fuzz/run.sh SECONDS [TARGET...]	(config frame proxy; default all)
#
# Builds with clang and --enable-fuzzing in its own build directory
# ($FUZZ_BUILDDIR, default build-fuzz/ in the source tree; reused when
# already configured).  The seed corpus in fuzz/corpus/ is read, never
# written: new inputs go to a temporary corpus, and crashers to a temporary
# directory that is printed, so they can be replayed
# (fuzz/replay_NAME FILE, or fuzz/fuzz_NAME FILE) and, once fixed, copied
# into fuzz/corpus/NAME/ as regression tests.
set -eu

usage() {
	echo "usage: $0 SECONDS [config|frame|proxy ...]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
secs=$1
shift
case $secs in
''|*[!0-9]*) usage ;;
esac
targets=${*:-config frame proxy}

top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILDDIR:-$top/build-fuzz}
jobs=${FUZZ_JOBS:-2}

if [ -f "$top/config.status" ]; then
	echo "$0: $top is configured in place; a separate build needs" \
	    "\"make distclean\" there first" >&2
	exit 1
fi
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)

mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ ! -f "$build/config.status" ]; then
	echo "== configure in $build (CC=clang --enable-fuzzing)"
	(cd "$build" && "$top/configure" CC=clang --enable-fuzzing \
	    >configure.out 2>&1) || {
		tail -n 30 "$build/configure.out" >&2
		exit 1
	}
fi
progs=
for t in $targets; do
	[ -f "$top/fuzz/fuzz_$t.c" ] || usage
	progs="$progs fuzz/fuzz_$t"
done
echo "== build$progs"
# shellcheck disable=SC2086
make -C "$build" -j"$jobs" $progs >"$build/make-fuzz.out" 2>&1 || {
	tail -n 40 "$build/make-fuzz.out" >&2
	exit 1
}

# A small ASan quarantine: with the default one, a target that mallocs
# a buffer per read grows past 1 GB in a minute.  Leaks are failures.
ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32:detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

out=$(mktemp -d "${TMPDIR:-/tmp}/hellod-fuzz.XXXXXX")
status=0
for t in $targets; do
	mkdir -p "$out/corpus-$t"
	echo "== fuzz_$t for ${secs}s (crashers: $out/$t-*)"
	# -max_total_time bounds the fuzzing; timeout bounds everything else
	# (loading the corpus, a hang libFuzzer's own -timeout misses).
	rc=0
	timeout -k 10 $((secs + 60)) "$build/fuzz/fuzz_$t" \
	    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix="$out/$t-" \
	    "$out/corpus-$t" "$top/fuzz/corpus/$t" \
	    >"$out/$t.log" 2>&1 || rc=$?
	grep -E '^(#[0-9]+ +DONE|Done|stat::number_of_executed_units)' \
	    "$out/$t.log" | tail -n 2 || true
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: fuzz_$t exited with $rc; its log ends:" >&2
		tail -n 60 "$out/$t.log" >&2
		status=1
	fi
done

found=$(find "$out" -maxdepth 1 -type f \( -name '*-crash-*' \
    -o -name '*-leak-*' -o -name '*-timeout-*' -o -name '*-oom-*' \) |
    sort)
if [ -n "$found" ]; then
	echo "FAIL: inputs that break a target:" >&2
	for f in $found; do
		echo "--- $f" >&2
		od -A d -c "$f" | head -n 20 >&2
	done
	status=1
fi
if [ "$status" -eq 0 ]; then
	# Nothing to look at: leave nothing behind.  A failure keeps it all.
	echo "== fuzzing passed"
	rm -rf "$out"
else
	echo "== logs, new corpus and crashers kept in $out" >&2
fi
exit "$status"
