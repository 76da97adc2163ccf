#!/bin/sh
# SPDX-License-Identifier: ISC
# Stands in for the integration tests when configure did not find python3:
# a skip, not a failure, and the summary of "make check" says so.
echo "SKIP: the integration tests (tests/test_*.py) need python3, which"
echo "configure did not find.  Install it (Debian: apt-get install python3,"
echo "or ./autogen.sh --test-deps) and run ./configure again."
exit 77
