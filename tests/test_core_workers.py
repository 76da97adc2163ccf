#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Several workers: threads, spreading, counters, reload and stop across
all of them."""

import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (REJECT, REPLY, Daemon, ask, check, main, recv_all,
                        recv_exact)


def test_one_worker_is_one_thread():
    with Daemon("workers = 1\n") as d:
        d.wait_log("started, pid .*, 1 worker$")
        with d.connect() as s:
            ask(s)
        check(d.worker_threads() == [], d.worker_threads())


def test_workers_share_the_clients_and_the_counters():
    with Daemon("workers = 3\nlog_level = debug\n") as d:
        d.wait_log("started, pid .*, 3 workers")
        check(d.worker_threads() == ["hellod/w1", "hellod/w2"],
              d.worker_threads())
        socks = [d.connect() for _ in range(40)]
        try:
            for s in socks:
                s.sendall(b"a\nb\n")
            for s in socks:
                check(recv_exact(s, 2 * len(REPLY)) == REPLY * 2)
            st = d.stats()
            check(st["conns_accepted"] == 40 and st["conns_current"] == 40
                  and st["requests"] == 80, st)
            check(sum(st["accepted_by_worker"]) == 40, st)
        finally:
            for s in socks:
                s.close()


def test_connections_reach_every_worker():
    """Worker 0 alone accepts and deals the sockets out in turn, so a
    burst spreads whichever loop the kernel would have woken: counts, not
    timing."""
    with Daemon("workers = 4\n") as d:
        socks = []
        try:
            for _ in range(40):
                socks.append(d.connect())
            for s in socks:
                ask(s)
            spread = d.stats()["accepted_by_worker"]
            check(len(spread) == 4 and sum(spread) == 40, spread)
            check(min(spread) > 0, "a worker took none: %r" % spread)
            check(max(spread) <= 20, "a worker took over half: %r" % spread)
        finally:
            for s in socks:
                s.close()


def test_one_at_a_time_spreads_too():
    """Connections that come one after another, each closed before the
    next: an idle loop would win each of them; round robin does not care."""
    with Daemon("workers = 2\n") as d:
        for _ in range(10):
            with d.connect() as s:
                ask(s)
        spread = d.stats()["accepted_by_worker"]
        check(spread == [5, 5], spread)


def test_max_connections_counts_across_workers():
    with Daemon("workers = 3\nmax_connections = 5\n") as d:
        socks = [d.connect() for _ in range(5)]
        try:
            for s in socks:
                ask(s)
            with d.connect() as extra:
                check(recv_all(extra) == REJECT)
            for s in socks:
                ask(s)
            check(d.stats()["conns_rejected"] == 1)
        finally:
            for s in socks:
                s.close()


def test_reload_reaches_every_worker():
    with Daemon("workers = 3\n") as d:
        socks = [d.connect() for _ in range(30)]
        try:
            for s in socks:
                ask(s)
            m = d.mark()
            check(d.reload("bind = 127.0.0.1\nport = %d\nworkers = 3\n"
                           "message = Bonjour\n" % d.port))
            # Once the reload is logged, every worker answers the new way.
            for s in socks:
                ask(s, reply=b"Bonjour\n")
            with d.connect() as s:
                ask(s, reply=b"Bonjour\n")
            check(not any("workers: the change" in l
                          for l in d.lines[m:]), d.lines[m:])
            check(d.reload("bind = 127.0.0.1\nport = %d\nworkers = 2\n"
                           % d.port))
            d.wait_log("workers: the change takes effect at the next "
                       "start; 3 running", start=m)
        finally:
            for s in socks:
                s.close()


def test_reload_moves_every_worker_to_the_new_port():
    with Daemon("workers = 3\n") as d, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        new = probe.getsockname()[1]
        probe.close()
        check(d.reload("bind = 127.0.0.1\nport = %d\nworkers = 3\n" % new))
        for _ in range(20):
            with d.connect(new) as s:
                ask(s)
        for _ in range(20):
            try:
                socket.create_connection(("127.0.0.1", d.port), 5).close()
                raise AssertionError("old port still answers")
            except ConnectionRefusedError:
                pass


def test_graceful_stop_drains_every_worker():
    n = 20000
    with Daemon("workers = 3\n") as d:
        socks = [d.connect() for _ in range(12)]
        try:
            for s in socks:
                s.sendall(b"x\n" * n)
            d.wait_stat("requests", lambda v: v == n * len(socks),
                        "%d" % (n * len(socks)))
            d.kill(signal.SIGTERM)
            for s in socks:
                check(recv_all(s) == REPLY * n)
            check(d.stop() == 0)
        finally:
            for s in socks:
                s.close()


if __name__ == "__main__":
    main(globals())
