#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The tools the checks run the daemon under leave nothing behind."""

import os
import shlex
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (SANITIZED, WRAPPER, Daemon, Skip, Wrapped, ask, check,
                        main)


def test_valgrind_leaves_no_fifos():
    """Issue 9, item 19: valgrind as "make check-valgrind" runs it
    (VALGRIND_FLAGS, from make) leaves no vgdb-pipe-* FIFOs in $TMPDIR,
    even when it is killed with the daemon, as after a failing test."""
    if WRAPPER:
        raise Skip("already under a wrapper")
    if SANITIZED:
        raise Skip("valgrind and ASan do not mix")
    valgrind = shutil.which(os.environ.get("VALGRIND") or "valgrind")
    if valgrind is None:
        raise Skip("valgrind is not installed")
    if "VALGRIND_FLAGS" not in os.environ:
        raise Skip("VALGRIND_FLAGS unset: run it from make check")
    flags = shlex.split(os.environ["VALGRIND_FLAGS"])
    tmp = tempfile.mkdtemp(prefix="hellod-test-")
    try:
        with Wrapped([valgrind] + flags), \
                Daemon(env=dict(os.environ, TMPDIR=tmp)) as d:
            with d.connect() as s:
                ask(s)
            d.kill(signal.SIGKILL)
            d.proc.wait()
        left = os.listdir(tmp)
        check(not left, "left in TMPDIR: %r" % left)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(globals())
