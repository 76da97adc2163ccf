#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Limits: max_connections, idle_timeout, max_line_length, max_output,
running out of descriptors (EMFILE) without a busy loop, and the
descriptor limit raised for every descriptor the daemon holds, at start
and on a reload."""

import os
import resource
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hellodtest
from hellodtest import (REJECT, REPLY, TIMEOUT, WRAPPER, Daemon, Skip, Wrapped,
                        ask, check, hold_clients, main, recv_all, recv_exact)


def test_max_connections():
    with Daemon("max_connections = 3\nlog_level = debug\n") as d:
        socks = [d.connect() for _ in range(3)]
        for s in socks:
            ask(s)
        with d.connect() as extra:
            check(recv_all(extra) == REJECT)
        d.wait_log("max_connections \\(3\\) reached")
        for s in socks:             # the others are unaffected
            ask(s)
        m = d.mark()
        socks.pop().close()
        d.wait_log(r"connection \d+ from .*: client closed", start=m)
        with d.connect() as again:  # a free slot is usable at once
            ask(again)
        st = d.stats()
        check(st["conns_rejected"] == 1 and st["conns_accepted"] == 4, st)
        for s in socks:
            s.close()


def test_idle_timeout_closes_silent_and_trickling_clients():
    with Daemon("idle_timeout = 1\n") as d:
        with d.connect() as silent, d.connect() as trickle, \
                d.connect() as busy:
            busy_gone = False
            t0 = time.monotonic()
            # The trickler sends a byte now and then but never a whole
            # line; the busy client completes a line every 0.1 s.
            while time.monotonic() - t0 < TIMEOUT:
                trickle.sendall(b"z")
                busy.sendall(b"ok\n")
                check(recv_exact(busy, len(REPLY)) == REPLY)
                r, _, _ = select.select([silent], [], [], 0.1)
                if r:
                    break
            check(silent.recv(1) == b"", "silent client not closed")
            trickle.settimeout(TIMEOUT)
            check(recv_all(trickle) == b"", "trickling client got data")
            ask(busy)
        st = d.stats()
        check(st["closed_idle"] == 2, st)


def test_max_line_length():
    with Daemon("max_line_length = 10\n") as d:
        with d.connect() as s:
            ask(s, b"0123456789\n")     # exactly the limit
            ask(s, b"0123456789\r\n")   # CR not counted
            s.sendall(b"a\nb\n" + b"x" * 11 + b"\nc\n")
            check(recv_all(s) == REPLY * 2)   # owed replies, then close
        with d.connect() as s:
            s.sendall(b"y" * 100000)          # no newline at all
            check(recv_all(s) == b"")
        check(d.stats()["closed_line_too_long"] == 2)


def test_output_bound_for_a_client_that_never_reads():
    with Daemon("max_output = 64k\n") as d:
        rss0 = d.rss_kib()
        hog = d.connect()
        hog.setblocking(False)
        line = b"\n"
        sent = 0
        total = 4000000                    # 4 MB of lines = 48 MB of replies
        deadline = time.monotonic() + TIMEOUT
        # Send until the daemon stops reading and the kernel buffers fill.
        while sent < total and time.monotonic() < deadline:
            _, w, _ = select.select([], [hog], [], 0.5)
            if not w:
                break
            try:
                sent += hog.send(line * min(65536, total - sent))
            except BlockingIOError:
                pass
        check(sent < total, "the daemon read everything: no back-pressure")
        d.wait_stat("output_paused", lambda v: v >= 1, ">= 1")
        grew = d.rss_kib() - rss0
        check(grew < 16 * 1024, "RSS grew by %d KiB" % grew)
        with d.connect() as other:         # others are unaffected
            ask(other)
        # Now read: every line sent gets its reply, in order, none lost.
        got = 0
        deadline = time.monotonic() + 4 * TIMEOUT
        while got < total * len(REPLY):
            check(time.monotonic() < deadline, "only %d bytes" % got)
            r, w, _ = select.select([hog], [hog] if sent < total else [], [],
                                    TIMEOUT)
            check(r or w, "stalled after %d bytes" % got)
            if w:
                try:
                    sent += hog.send(line * min(65536, total - sent))
                except BlockingIOError:
                    pass
            if r:
                chunk = hog.recv(1 << 20)
                check(chunk, "EOF after %d bytes" % got)
                off = got % len(REPLY)
                want = (REPLY * (len(chunk) // len(REPLY) + 2))[
                    off:off + len(chunk)]
                check(chunk == want, "reply stream corrupt at %d" % got)
                got += len(chunk)
        check(got == total * len(REPLY), (got, total))
        hog.close()


def test_output_bound_holds_for_long_replies_to_short_lines():
    """One byte in, a kilobyte out: the bound is on replies, not on reads."""
    msg = "M" * 1000
    with Daemon('max_output = 64k\nmessage = "%s"\n' % msg) as d, \
            d.connect(rcvbuf=4096) as s:
        rss0 = d.rss_kib()
        s.setblocking(False)
        sent = 0
        while sent < 1 << 20:
            _, w, _ = select.select([], [s], [], 1.0)
            if not w:
                break
            try:
                sent += s.send(b"\n" * 65536)
            except BlockingIOError:
                pass
        d.wait_stat("output_paused", lambda v: v >= 1, ">= 1")
        grew = d.rss_kib() - rss0
        check(grew < 2 * 1024, "RSS grew by %d KiB" % grew)


def test_reload_raising_max_output_resumes_every_paused_connection():
    """Three clients paused at max_output; a reload that raises it resumes
    each of them, whatever the order a resumed one takes in the idle list."""
    conf = ('message = "%s"\nlog_level = debug\n' % ("M" * 1000))
    with Daemon(conf + "max_output = 1k\n") as d:
        clients = [d.connect(rcvbuf=4096) for _ in range(3)]
        try:
            for s in clients:
                s.sendall(b"\n" * 8192)    # 8 MB of replies, never read
            d.wait_stat("output_paused", lambda v: v == 3, "== 3")
            m = d.mark()
            check(d.reload("port = 0\nbind = 127.0.0.1\n" + conf +
                           "max_output = 64m\n"), "reload refused")
            seen, i = set(), m
            while len(seen) < 3:
                r = d.wait_log(r"connection (\d+) from .*: output drained, "
                               r"reading resumed", start=i)
                seen.add(r.group(1))
                with d.cond:
                    i = d.lines.index(r.string, i) + 1
        finally:
            for s in clients:
                s.close()


def test_emfile_pauses_accept_without_spinning():
    if WRAPPER:
        raise Skip("a descriptor limit this low starves the wrapper")
    n = 40
    with Daemon("log_level = notice\n", nofile=24) as d:
        d.wait_log("descriptor limit \\(24\\) is too low")
        clients = []
        try:
            for _ in range(n):           # the backlog holds the rest
                c = d.connect()
                c.sendall(b"hi\n")
                clients.append(c)
            d.wait_log(r"accept: Too many open files; pausing")
            # Refused for lack of descriptors, the daemon must idle, not
            # spin: a busy loop would use a whole core.
            cpu = d.cpu_share(1.0)
            check(cpu < 0.5, "daemon used %.0f%% of a core" % (cpu * 100))
            # As descriptors free up, every waiting client is served.
            for c in clients:
                check(recv_exact(c, len(REPLY)) == REPLY)
                c.close()
        finally:
            for c in clients:
                c.close()
        st = d.stats()
        check(st["accept_paused"] >= 1 and st["conns_accepted"] == n, st)


# The descriptor limit counts every descriptor the daemon holds (the
# workers' bases, eventfds and listener dups), at start and on a reload
# that raises max_connections.

def nofile(soft, hard):
    """A wrapper that starts hellod with these RLIMIT_NOFILE limits."""
    if hellodtest.WRAPPER:
        # valgrind answers the daemon's setrlimit() itself and leaves the
        # process's real limit where it was.
        raise Skip("the wrapper does not let the daemon raise its limit")
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < hard and \
            os.geteuid() != 0:
        raise Skip("hard descriptor limit below %d" % hard)
    return [sys.executable, "-c", "import os, resource, sys; "
            "resource.setrlimit(resource.RLIMIT_NOFILE, (%d, %d)); "
            "os.execvp(sys.argv[1], sys.argv[1:])" % (soft, hard)]


def raise_own_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        raise Skip("this test needs %d descriptors, the limit is %d" %
                   (want, hard))
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def soft_nofile(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no Max open files")


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_fd_limit_counts_the_workers_descriptors():
    raise_own_nofile(1200)
    with Wrapped(nofile(1024, 20000)), \
            Daemon("workers = 64\nmax_connections = 1000\n") as d:
        own, soft = fd_count(d.pid), soft_nofile(d.pid)
        socks, answered = hold_clients(d.port, 1000)
        try:
            check(answered == 1000, "%d of 1000 clients answered (limit %d,"
                  " %d descriptors held before)" % (answered, soft, own))
            check(soft - own >= 1000, "limit %d, %d descriptors held "
                  "already" % (soft, own))
            st = d.stats()
            check(st["conns_current"] == 1000 and
                  st["accept_paused"] == 0, st)
        finally:
            for s in socks:
                s.close()
        check(not any("descriptor limit" in l for l in d.lines), d.lines)
        check(d.stop() == 0)


def test_reload_raises_the_fd_limit():
    raise_own_nofile(1700)
    conf = "bind = 127.0.0.1\nport = %d\nmax_connections = %d\n"
    with Wrapped(nofile(1024, 20000)), \
            Daemon("max_connections = 100\n") as d:
        check(soft_nofile(d.pid) == 1024, soft_nofile(d.pid))
        m = d.mark()
        check(d.reload(conf % (d.port, 2000)))
        own, soft = fd_count(d.pid), soft_nofile(d.pid)
        socks, answered = hold_clients(d.port, 1500)
        try:
            check(answered == 1500, "%d of 1500 clients answered (limit %d)"
                  % (answered, soft))
            check(soft - own >= 2000, "limit %d, %d descriptors held" %
                  (soft, own))
        finally:
            for s in socks:
                s.close()
        check(not any("descriptor limit" in l for l in d.lines[m:]),
              d.lines[m:])
        check(d.stop() == 0)
    # A hard limit that cannot be passed: the reload says so.
    with Wrapped(nofile(1024, 1024)), \
            Daemon("max_connections = 100\n") as d:
        m = d.mark()
        check(d.reload(conf % (d.port, 2000)))
        d.wait_log(r"warning: the descriptor limit \(1024\) is too low for "
                   r"max_connections 2000", start=m)
        check(d.stop() == 0)


if __name__ == "__main__":
    main(globals())
