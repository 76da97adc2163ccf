#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""10,000 concurrent connections: every one answered, held idle, answered
again; the daemon's memory per connection and its CPU while they idle."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (MEASURE_RSS, REPLY, SANITIZED, TIMEOUT, Daemon, Skip,
                       check, close_all, connect_many, exchange, fd_count,
                       figure, main, raise_nofile)

CONNS = int(os.environ.get("HELLOD_STRESS_CONNS", "10000"))
HOLD = 2.0          # seconds every connection is held idle


def test_ten_thousand_concurrent_connections():
    # This process holds CONNS sockets, the daemon as many: both inherit
    # the soft limit raised here (the daemon raises its own too).
    need = CONNS + 200
    have = raise_nofile(need)
    if have < need:
        raise Skip("RLIMIT_NOFILE hard limit %d < %d" % (have, need))
    conf = "max_connections = %d\nidle_timeout = 600\n" % (CONNS + 100)
    with Daemon(conf) as d:
        fds0, rss0 = fd_count(d.pid), d.rss_kib()
        t0 = time.monotonic()
        socks = connect_many(d.port, CONNS, timeout=6 * TIMEOUT)
        try:
            t_conn = time.monotonic() - t0
            got = exchange(socks, b"first\n", len(REPLY), 6 * TIMEOUT,
                           "first round")
            t_first = time.monotonic() - t0
            bad = [i for i, g in enumerate(got) if g != REPLY]
            check(not bad, "%d clients got a wrong first reply, e.g. %r" %
                  (len(bad), got[bad[0]] if bad else None))
            st = d.wait_stat("conns_current", lambda v: v == CONNS,
                             "%d" % CONNS)
            check(st["conns_accepted"] == CONNS and
                  st["conns_rejected"] == 0 and st["requests"] == CONNS, st)
            fds = fd_count(d.pid)
            check(fds - fds0 == CONNS, "daemon holds %d descriptors more "
                  "for %d connections" % (fds - fds0, CONNS))
            rss = d.rss_kib()

            # Held idle: nothing to do, so (next to) no CPU.
            idle_cpu = d.cpu_share(HOLD)

            t1 = time.monotonic()
            got = exchange(socks, b"second\r\n", len(REPLY), 6 * TIMEOUT,
                           "second round")
            t_second = time.monotonic() - t1
            bad = [i for i, g in enumerate(got) if g != REPLY]
            check(not bad, "%d clients got a wrong second reply" % len(bad))
            st = d.stats()
            check(st["requests"] == 2 * CONNS and
                  st["conns_current"] == CONNS and st["closed_idle"] == 0, st)
        finally:
            close_all(socks)
        d.wait_stat("conns_current", lambda v: v == 0, "0")
        check(fd_count(d.pid) == fds0, "descriptors left behind")
        check(d.stop() == 0)

    per_conn = (rss - rss0) * 1024.0 / CONNS
    figure("concurrent_connections", CONNS, "connections")
    figure("concurrent_connect_seconds", t_conn, "s")
    figure("concurrent_first_round_seconds", t_first, "s")
    figure("concurrent_second_round_seconds", t_second, "s")
    figure("concurrent_rss_base", rss0, "KiB")
    figure("concurrent_rss_loaded", rss, "KiB")
    figure("concurrent_rss_per_connection", per_conn, "bytes")
    figure("concurrent_idle_cpu", idle_cpu * 100, "%core")
    check(idle_cpu < 0.05, "idle connections used %.1f%% of a core" %
          (idle_cpu * 100))
    # A connection is a struct conn, a bufferevent with two evbuffers and a
    # timer: about a kilobyte.  ASan adds redzones and keeps freed chunks.
    bound = (32 if SANITIZED else 4) * 1024
    if MEASURE_RSS:
        check(per_conn < bound, "%.0f bytes of RSS per connection (bound %d)"
              % (per_conn, bound))


if __name__ == "__main__":
    main(globals())
