#!/bin/sh
# SPDX-License-Identifier: ISC
# Stands in for the unit tests when configure did not find Check.
echo "the Check unit-test framework was not found at configure time." >&2
echo "install it (Debian: apt-get install check, or ./autogen.sh --deps)" >&2
echo "and run ./configure again." >&2
exit 99
