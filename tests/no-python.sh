#!/bin/sh
# SPDX-License-Identifier: ISC
# Stands in for the integration tests when configure did not find python3.
echo "python3 was not found at configure time: the integration tests" >&2
echo "(tests/test_*.py) cannot run.  Install it (Debian: apt-get install" >&2
echo "python3, or ./autogen.sh --deps) and run ./configure again." >&2
exit 99
