#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The idle timeout is measured on the monotonic clock: a wall clock that
steps back (NTP, an admin's "date -s") must not switch it off.  The daemon
runs with tests/clockshift.so preloaded, whose wall clock runs backwards
from the start; an idle client must still be closed."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (TIMEOUT, Daemon, Skip, ask, check, main, recv_all)

SHIM = os.environ.get("CLOCKSHIFT", "")


def shifted_env():
    if not SHIM or not os.path.exists(SHIM):
        raise Skip("clockshift.so not built (CLOCKSHIFT=%r)" % SHIM)
    env = dict(os.environ)
    env["LD_PRELOAD"] = (SHIM + " " + env.get("LD_PRELOAD", "")).strip()
    # An ASan build wants its runtime first; the shim only wraps libc.
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                           ":verify_asan_link_order=0").lstrip(":")
    return env


def test_shim_runs_the_wall_clock_backwards():
    """The shim works, or the test below could pass for the wrong reason:
    a process under it sees time go back."""
    import subprocess
    out = subprocess.run(
        [sys.executable, "-c", "import time\n"
         "a = time.time()\n"
         "t = time.monotonic() + 0.2\n"
         "while time.monotonic() < t: pass\n"
         "print(time.time() < a - 0.1)"],
        env=shifted_env(), capture_output=True, text=True, timeout=TIMEOUT)
    check(out.stdout.strip() == "True", "shim: %r %r" % (out.stdout,
                                                           out.stderr))


# libevent re-reads the wall clock for its cached time every 5 s, so the
# idle period must span one of those for a wall-clock daemon to be fooled.
IDLE = 6


def test_idle_timeout_survives_a_backward_wall_clock():
    with Daemon("idle_timeout = %d\n" % IDLE, env=shifted_env()) as d:
        with d.connect() as idle, d.connect() as trickle:
            ask(idle)
            ask(trickle)
            t0 = time.monotonic()
            trickle.sendall(b"no end of line")
            idle.settimeout(TIMEOUT)
            check(recv_all(idle) == b"", "idle client got data")
            trickle.settimeout(TIMEOUT)
            check(recv_all(trickle) == b"", "trickling client got data")
            waited = time.monotonic() - t0
        check(IDLE - 1 <= waited < TIMEOUT, "closed after %.1f s" % waited)
        st = d.stats()
        check(st["closed_idle"] == 2, st)
        check(d.stop() == 0)


if __name__ == "__main__":
    main(globals())
