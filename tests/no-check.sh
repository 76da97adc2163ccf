#!/bin/sh
# SPDX-License-Identifier: ISC
# Stands in for the Check unit suites when configure did not find Check:
# a skip, not a failure, so that "make check" still runs the rest and its
# summary says what did not run.
echo "SKIP: the Check unit suites (tests/check_hellod) were not built:"
echo "configure did not find Check.  Install it (Debian: apt-get install"
echo "check, or ./autogen.sh --test-deps) and run ./configure again."
exit 77
