#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Clients that pipeline megabytes of lines and never read: the daemon
stops reading them once max_output of replies is queued, its memory stays
bounded, a normal client is unaffected, and when the hogs finally read,
every line they sent gets exactly one reply."""

import os
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (MEASURE_RSS, REPLY, SANITIZED, TIMEOUT, Daemon,
                       Deadline, ask, check, close_all, connect_many,
                       daemon_env, figure, fill_plan, main)

HOGS = 16
MAX_OUTPUT = 64 * 1024
# Half the hogs send empty lines (12 bytes of reply per byte sent, the
# worst amplification), half 64-byte lines; each up to this much (the
# 64-byte hogs fill the kernel's socket buffers before their quota).
KINDS = [(b"\n", 1 << 20), (b"p" * 63 + b"\n", 64 << 20)]
# libevent 2.1 reads at most 16 KiB per read into a connection's input.
READ_MAX = 16 * 1024


def run_hogs(prefix, n, max_output, kinds, min_blocked=0):
    conf = "max_output = %d\nidle_timeout = 600\n" % max_output
    with Daemon(conf, env=daemon_env(quarantine=False)) as d:
        with d.connect() as warm:          # let the allocator settle
            ask(warm)
        rss0 = d.rss_kib()
        hogs = connect_many(d.port, n)
        plan = [kinds[i % len(kinds)] for i in range(n)]
        try:
            t0 = time.monotonic()
            sent = fill_plan(hogs, plan)
            t_flood = time.monotonic() - t0
            blocked = sum(1 for i, s in enumerate(sent) if s < plan[i][1])
            # A line cut by a short send is cut by EOF later: answered too.
            lines = [-(-s // len(plan[i][0])) for i, s in enumerate(sent)]
            # Every hog has made the daemon stop reading it.
            st = d.wait_stat("output_paused", lambda v: v >= n,
                             ">= %d" % n)
            check(st["conns_current"] == n + 0, st)
            held = d.rss_kib() - rss0

            # A normal client is answered as quickly as ever.
            lat = []
            with d.connect() as normal:
                for _ in range(200):
                    t1 = time.monotonic()
                    ask(normal)
                    lat.append(time.monotonic() - t1)

            # The hogs read at last: each line sent, one reply, in order.
            t1 = time.monotonic()
            got = drain(hogs, Deadline(6 * TIMEOUT, "draining"))
            t_drain = time.monotonic() - t1
            for i in range(n):
                check(got[i] == lines[i] * len(REPLY),
                      "hog %d: %d lines sent, %d reply bytes" %
                      (i, lines[i], got[i]))
        finally:
            close_all(hogs)
        st = d.wait_stat("conns_current", lambda v: v == 0, "0")
        check(st["requests"] == sum(lines) + 1 + len(lat), st)
        check(d.stop() == 0)

    lat.sort()
    mb = sum(sent) / float(1 << 20)
    per_hog = held * 1024.0 / n
    # Per hog: max_output plus one reply queued, at most one read of
    # input; libevent rounds evbuffer chains up to a power of two, so
    # allow twice that, plus a fixed 2 MiB for everything else.
    bound = n * (2 * (max_output + len(REPLY)) + 2 * READ_MAX) + (2 << 20)
    if SANITIZED:
        bound *= 2                       # redzones, allocator size classes
    figure(prefix + "_hogs", n, "clients")
    figure(prefix + "_sent_total", mb, "MiB")
    figure(prefix + "_sent_min", min(sent) / 1024.0, "KiB")
    figure(prefix + "_hogs_blocked", blocked, "clients")
    figure(prefix + "_flood_seconds", t_flood, "s")
    figure(prefix + "_rss_growth", held, "KiB")
    figure(prefix + "_rss_per_hog", per_hog / 1024, "KiB")
    figure(prefix + "_rss_bound", bound / 1024, "KiB")
    figure(prefix + "_normal_latency_max", lat[-1] * 1000, "ms")
    figure(prefix + "_drain_seconds", t_drain, "s")
    check(min(sent) >= 1 << 20, "a hog sent only %d bytes" % min(sent))
    check(blocked >= min_blocked, "only %d hogs filled the socket buffers"
          % blocked)
    if MEASURE_RSS:
        check(held * 1024 < bound, "RSS grew by %d KiB for %d hogs "
              "(bound %d KiB)" % (held, n, bound // 1024))
    check(lat[-1] < 0.1, "the normal client waited %.0f ms" %
          (lat[-1] * 1000))


def drain(hogs, dl):
    """Half-close every hog and read its replies (checking them) to EOF.
    Returns the reply bytes each got."""
    sel = selectors.DefaultSelector()
    got = [0] * len(hogs)
    for i, h in enumerate(hogs):
        h.setblocking(False)
        h.shutdown(socket.SHUT_WR)
        sel.register(h, selectors.EVENT_READ, i)
    try:
        while sel.get_map():
            for key, _ in sel.select(min(dl.left(), 1.0)):
                i, h = key.data, key.fileobj
                chunk = h.recv(1 << 20)
                if not chunk:
                    sel.unregister(h)
                    continue
                off = got[i] % len(REPLY)
                want = (REPLY * (len(chunk) // len(REPLY) + 2))[
                    off:off + len(chunk)]
                check(chunk == want, "hog %d: reply stream corrupt at %d"
                      % (i, got[i]))
                got[i] += len(chunk)
    finally:
        sel.close()
    return got


def test_pipelining_hogs_that_never_read():
    run_hogs("pipeline", HOGS, MAX_OUTPUT, KINDS, HOGS // 2)


def test_pipelining_hogs_bound_follows_max_output():
    """The same bound with sixteen times the output allowance."""
    run_hogs("pipeline_1m", 8, 1 << 20, [(b"\n", 2 << 20)])


if __name__ == "__main__":
    main(globals())
