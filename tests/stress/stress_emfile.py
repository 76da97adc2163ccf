#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Out of descriptors (EMFILE) under a connection flood: the daemon idles
while it cannot accept, and serves the next waiting client as soon as a
descriptor frees up."""

import os
import selectors
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (REPLY, TIMEOUT, WRAPPER, Daemon, Deadline, Skip,
                       check, close_all, connect_many, fd_count, figure,
                       main)

NOFILE = 32         # the daemon's RLIMIT_NOFILE
CLIENTS = 300       # all in the backlog at once, each with a line sent
WINDOW = 2.5        # seconds of CPU measured while refused
STEPS = 50          # one close, one newly served client, timed


def test_emfile_flood_idles_and_recovers():
    if WRAPPER:
        raise Skip("a descriptor limit this low starves the wrapper")
    with Daemon("log_level = notice\n", nofile=NOFILE) as d:
        d.wait_log(r"descriptor limit \(%d\) is too low" % NOFILE)
        fds0 = fd_count(d.pid)
        m = d.mark()
        clients = connect_many(d.port, CLIENTS)
        waiting = {}
        served = []
        sel = selectors.DefaultSelector()
        try:
            for i, c in enumerate(clients):
                c.send(b"hi\n")           # 3 bytes: fits, never blocks
                sel.register(c, selectors.EVENT_READ, i)
                waiting[i] = c
            d.wait_log(r"accept: Too many open files; pausing", start=m)

            def take_replies(timeout):
                """Collect the replies that arrive within timeout; return
                the indexes of the clients just served."""
                new = []
                for key, _ in sel.select(timeout):
                    i, c = key.data, key.fileobj
                    got = c.recv(len(REPLY))
                    check(got == REPLY, "client %d got %r" % (i, got))
                    sel.unregister(c)
                    del waiting[i]
                    new.append(i)
                return new

            # Everyone the daemon could take is answered; the rest wait.
            # With several workers one may still be accepting when another
            # logs EMFILE: settle when the count holds across a reply round.
            d.wait_stat("accept_paused", lambda v: v >= 1, ">= 1")
            dl = Deadline(TIMEOUT, "the connection count to settle")
            cap = -1
            while cap != len(served):
                cap = d.stats()["conns_current"]
                while len(served) < cap:
                    served += take_replies(dl.left())
                dl.left()
            check(len(waiting) == CLIENTS - cap, (len(served), cap))

            # Refused, the daemon must idle (a busy loop is a whole core).
            p0 = d.stats()["accept_paused"]
            cpu = d.cpu_share(WINDOW)
            st = d.stats()
            check(st["conns_accepted"] == cap,
                  "accepted while out of descriptors: %r" % st)
            retries = st["accept_paused"] - p0

            # One descriptor frees up: the next client is served at once,
            # not at the next retry tick (SERVER_ACCEPT_RETRY_MS, 100 ms).
            lat = []
            for _ in range(STEPS):
                clients[served.pop(0)].close()
                t0 = time.monotonic()
                new = []
                dl = Deadline(TIMEOUT, "a reply after a close")
                while not new:
                    new = take_replies(dl.left())
                lat.append(time.monotonic() - t0)
                served += new

            # Then the crowd: every waiting client is served.
            t0 = time.monotonic()
            dl = Deadline(3 * TIMEOUT, "serving %d waiting clients" %
                          len(waiting))
            close_all(clients[i] for i in served)
            while waiting:
                for i in take_replies(min(dl.left(), 1.0)):
                    clients[i].close()
            t_drain = time.monotonic() - t0
        finally:
            sel.close()
            close_all(clients)
        st = d.wait_stat("conns_current", lambda v: v == 0, "0")
        check(st["conns_accepted"] == CLIENTS and st["requests"] == CLIENTS
              and st["conns_rejected"] == 0, st)
        check(fd_count(d.pid) == fds0, "descriptors left behind")
        check(d.stop() == 0)

    lat.sort()
    figure("emfile_nofile", NOFILE, "descriptors")
    figure("emfile_connections_while_full", cap, "connections")
    figure("emfile_cpu_while_refused", cpu * 100, "%core")
    figure("emfile_accept_retries_in_window", retries, "retries")
    figure("emfile_recovery_latency_median",
           statistics.median(lat) * 1000, "ms")
    figure("emfile_recovery_latency_max", lat[-1] * 1000, "ms")
    figure("emfile_drain_seconds", t_drain, "s")
    check(cpu < 0.05, "daemon used %.1f%% of a core while refused" %
          (cpu * 100))
    check(statistics.median(lat) < 0.02, "a freed descriptor is used only "
          "after %.0f ms (median)" % (statistics.median(lat) * 1000))


if __name__ == "__main__":
    main(globals())
