#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Faults: clients that reset in the middle of their replies, half-closed
sockets, garbage and binary input, lines at exactly max_line_length and one
byte over."""

import os
import random
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (REPLY, Daemon, ask, check, close_all,
                       connect_many, converse, exchange, fd_count, figure,
                       main, recv_all, recv_exact, set_linger0)

SEED = int(os.environ.get("HELLOD_STRESS_SEED", "4"))


def replies_owed(data):
    """One reply per LF, and one for a last line cut off by EOF."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n")
                                else 0)


def test_resets_in_the_middle_of_replies():
    rounds, per_round = 8, 50
    with Daemon("max_output = 64k\n") as d:
        fds0 = fd_count(d.pid)
        resets = 0
        for r in range(rounds):
            socks = connect_many(d.port, per_round)
            for s in socks:
                set_linger0(s)
            kind = r % 4
            if kind == 0:
                pass                  # reset before saying anything
            else:
                # 20,000 lines: 240 KB of replies, more than fit in the
                # output bound, so the daemon is mid-reply and paused.
                exchange(socks, b"\n" * 20000, 0, what="sending")
            if kind == 2:             # read part of the replies first
                got = exchange(socks, b"", 100 * len(REPLY),
                               what="reading a part")
                check(all(g.startswith(REPLY * 100) for g in got))
            if kind == 3:             # half-closed: the daemon is flushing
                for s in socks:
                    s.shutdown(socket.SHUT_WR)
                exchange(socks, b"", len(REPLY), what="first reply")
            close_all(socks)          # RST, replies still queued
            resets += per_round
            # The daemon drops them all and keeps serving.
            d.wait_stat("conns_current", lambda v: v == 0, "0")
            with d.connect() as s:
                ask(s)
        d.wait_stat("conns_current", lambda v: v == 0, "0")
        check(fd_count(d.pid) == fds0, "descriptors left behind: %d, was %d"
              % (fd_count(d.pid), fds0))
        st = d.stats()
        check(st["conns_accepted"] == resets + rounds, st)
        check(d.stop() == 0)
    figure("faults_resets", resets, "connections")


def converse_all(d, payloads, what):
    """One client per payload, each half-closing after it: every client
    must get exactly the replies its payload is owed, and no reset.
    Returns the replies owed in all and the counters once all are gone."""
    socks = connect_many(d.port, len(payloads))
    try:
        got, reset = converse(socks, payloads, what=what)
    finally:
        close_all(socks)
    bad = [i for i in range(len(payloads))
           if got[i] != REPLY * replies_owed(payloads[i]) or reset[i]]
    check(not bad, "%d clients wrong, e.g. %s" % (len(bad), [
        (i, replies_owed(payloads[i]), len(got[i]), reset[i])
        for i in bad[:5]]))
    total = sum(replies_owed(p) for p in payloads)
    return total, d.wait_stat("conns_current", lambda v: v == 0, "0")


def test_half_closed_sockets_get_every_reply():
    counts = [0, 1, 2, 3, 100, 1000, 5000, 50000]
    payloads = []
    for i in range(100):
        k = counts[i % len(counts)]
        tail = b"cut" if i % 3 == 0 else b""      # a last line cut by EOF
        payloads.append(b"l\n" * k + tail)
    with Daemon("max_output = 16k\n") as d:
        total, st = converse_all(d, payloads, "half-closed")
        check(st["requests"] == total, (st, total))
    figure("faults_half_closed_clients", len(payloads), "clients")
    figure("faults_half_closed_replies", total, "replies")


def test_garbage_and_binary_input():
    rng = random.Random(SEED)
    maxline = 8192
    payloads = []
    # Lines of arbitrary bytes (NUL, CR, 0xFF, telnet IAC, ...) but LF,
    # some ended by CRLF.
    for _ in range(40):
        lines = []
        for _ in range(rng.randrange(1, 400)):
            n = rng.randrange(0, 2000)
            line = rng.randbytes(n)
            line = line.replace(b"\n", b"\0")
            if rng.random() < 0.3:
                line += b"\r"
            lines.append(line)
        payloads.append(b"\n".join(lines))   # the last one cut by EOF
    # Pure noise: random bytes, LF wherever it falls (1 in 256).
    for _ in range(20):
        payloads.append(rng.randbytes(65536))
    check(all(max(len(l) for l in p.split(b"\n")) <= maxline + 1
              for p in payloads), "noise with a line too long: reseed")
    # What a lost TLS or HTTP/2 client sends: a binary hello, no LF.
    payloads.append(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" +
                    bytes(range(256)).replace(b"\n", b""))
    payloads.append(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\x12\x04")
    with Daemon("max_line_length = %d\n" % maxline) as d:
        total, st = converse_all(d, payloads, "garbage")
        check(st["requests"] == total and st["closed_line_too_long"] == 0,
              (st, total))
        with d.connect() as s:
            ask(s)
        check(d.stop() == 0)
    figure("faults_garbage_bytes", sum(len(p) for p in payloads), "bytes")
    figure("faults_garbage_replies", total, "replies")


def test_lines_at_max_line_length_and_one_over():
    too_long = 0
    cases = 0
    for maxline in (1, 100, 8192, 65536):
        with Daemon("max_line_length = %d\n" % maxline) as d:
            x = b"x" * maxline
            with d.connect() as s:
                ask(s, x + b"\n")                 # exactly the limit
                ask(s, x + b"\r\n")               # CR not counted
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.sendall(x + b"\r")              # CRLF split over writes
                s.sendall(b"\n")
                check(recv_exact(s, len(REPLY)) == REPLY)
                s.sendall(x)                      # cut by EOF: answered
                s.shutdown(socket.SHUT_WR)
                check(recv_all(s) == REPLY)
            cases += 4
            # One over, with lines owed before it and lines after it: the
            # owed replies come, then EOF; nothing after the long line.
            for over in (x + b"y\n", x + b"y\r\n", x + b"\rz\n", x + b"yy"):
                with d.connect() as s:
                    s.sendall(b"a\n" + b"b\r\n" + over + b"c\n" * 10)
                    check(recv_all(s) == REPLY * 2, "max %d: %r" %
                          (maxline, over[-4:]))
                too_long += 1
                cases += 1
            # One over, one byte at a time.
            with d.connect() as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sent = 0
                if maxline <= 100:
                    for _ in range(maxline + 1):
                        s.sendall(b"q")
                        sent += 1
                else:
                    s.sendall(x)
                    s.sendall(b"q")
                    sent = maxline + 1
                check(recv_all(s) == b"" and sent == maxline + 1)
                too_long += 1
                cases += 1
            st = d.stats()
            check(st["closed_line_too_long"] == 5, st)
            check(d.stop() == 0)
    figure("faults_line_length_cases", cases, "cases")
    figure("faults_line_too_long_closes", too_long, "connections")


if __name__ == "__main__":
    main(globals())
