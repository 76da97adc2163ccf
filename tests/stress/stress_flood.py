#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A flood past max_connections: the extra clients get the error line and
EOF, the others keep their replies, and the daemon's counters say exactly
what the clients saw."""

import errno
import os
import selectors
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (REJECT, REPLY, TIMEOUT, Daemon, Deadline, check,
                       close_all, connect_many, exchange, figure, main,
                       raise_nofile, wait_closed)

CAP = 100           # max_connections
FLOOD = 2000        # clients past it


def classify_quiet(d, flood, before):
    """Sort flood clients that have not sent anything into rejected (the
    error line is waiting) and accepted (nothing is).  Waits first until
    the daemon has taken every one of them off its backlog: it sends the
    error line before it counts the rejection, and on loopback a send is
    in the peer's receive queue when it returns."""
    total = before + len(flood)
    d.wait_stats(lambda st: st["conns_accepted"] + st["conns_rejected"]
                 == total, "accepted + rejected = %d" % total)
    rejected, accepted = [], []
    for s in flood:
        s.setblocking(False)
        try:
            first = s.recv(len(REJECT), socket.MSG_PEEK)
        except BlockingIOError:
            first = b""
        (rejected if first else accepted).append(s)
    return rejected, accepted


def test_flood_past_max_connections():
    raise_nofile(4 * (CAP + FLOOD))
    with Daemon("max_connections = %d\n" % CAP) as d:
        holders = connect_many(d.port, CAP)
        got = exchange(holders, b"hold\n", len(REPLY))
        check(all(g == REPLY for g in got), "a holder was not answered")
        d.wait_stat("conns_current", lambda v: v == CAP, "%d" % CAP)

        # The flood: clients that connect and wait to be told.
        t0 = time.monotonic()
        flood = connect_many(d.port, FLOOD)
        # Meanwhile every holder keeps its service.
        got = exchange(holders, b"during\n", len(REPLY))
        check(all(g == REPLY for g in got), "a holder lost its reply")
        rejected, accepted = classify_quiet(d, flood, CAP)
        check(len(accepted) == 0 and len(rejected) == FLOOD,
              "%d of %d flood clients were accepted past the cap" %
              (len(accepted), FLOOD))
        data, reset = wait_closed(flood)
        t_flood = time.monotonic() - t0
        wrong = [i for i, g in enumerate(data) if g != REJECT or reset[i]]
        check(not wrong, "%d flood clients did not get exactly the error "
              "line then EOF, e.g. %r reset=%s" % (
                  len(wrong), wrong and data[wrong[0]],
                  wrong and reset[wrong[0]]))
        close_all(flood)
        got = exchange(holders, b"after\n", len(REPLY))
        check(all(g == REPLY for g in got), "a holder lost its reply")
        st = d.stats()
        check(st["conns_rejected"] == FLOOD and
              st["conns_accepted"] == CAP and
              st["conns_current"] == CAP and
              st["requests"] == 3 * CAP, st)

        # Half the holders leave: exactly that many flood clients get in.
        free = CAP // 2
        close_all(holders[:free])
        holders = holders[free:]
        d.wait_stat("conns_current", lambda v: v == CAP - free, "cap - free")
        wave = connect_many(d.port, FLOOD)
        rejected, accepted = classify_quiet(d, wave, CAP + FLOOD)
        got = exchange(accepted, b"in\n", len(REPLY))
        check(all(g == REPLY for g in got), "an admitted client unanswered")
        data, reset = wait_closed(rejected)
        check(all(g == REJECT and not r for g, r in zip(data, reset)),
              "a rejected client did not get the error line then EOF")
        got = exchange(holders, b"still\n", len(REPLY))
        check(all(g == REPLY for g in got), "a holder lost its reply")
        st = d.stats()
        figure("flood_clients_seen_accepted", len(accepted), "clients")
        figure("flood_clients_seen_rejected", len(rejected), "clients")
        check(len(accepted) == free, (len(accepted), free))
        check(st["conns_accepted"] == CAP + len(accepted) and
              st["conns_rejected"] == FLOOD + len(rejected) and
              st["conns_current"] == CAP, st)
        close_all(wave)
        close_all(holders)
        d.wait_stat("conns_current", lambda v: v == 0, "0")
        check(d.stop() == 0)
    figure("flood_max_connections", CAP, "connections")
    figure("flood_rejected", FLOOD, "clients")
    figure("flood_seconds", t_flood, "s")


def eager_flood(port, n, line, timeout=None):
    """n clients that send their line as soon as they are connected, the
    way a real client speaks first, then read until EOF or a reset."""
    dl = Deadline(timeout or 3 * TIMEOUT, "eager flood")
    sel = selectors.DefaultSelector()
    sent_reset = [False] * n
    socks = []
    try:
        for i in range(n):
            s = socket.socket()
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            check(err in (0, errno.EINPROGRESS), os.strerror(err))
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE, i)
        while sel.get_map():
            for key, _ in sel.select(min(dl.left(), 1.0)):
                i, s = key.data, key.fileobj
                sel.unregister(s)
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                check(not err, "connect: %s" % os.strerror(err))
                try:
                    s.send(line)
                except (BrokenPipeError, ConnectionResetError):
                    sent_reset[i] = True
        got, reset = wait_closed(socks, dl.left(), "eager flood replies")
    finally:
        sel.close()
        close_all(socks)
    return got, [a or b for a, b in zip(reset, sent_reset)]


def test_flood_of_clients_that_speak_first():
    """Rejected clients that send their line at once, racing the daemon's
    accept: each one must read the error line."""
    n = 300
    with Daemon("max_connections = 10\n") as d:
        holders = connect_many(d.port, 10)
        got = exchange(holders, b"hold\n", len(REPLY))
        check(all(g == REPLY for g in got))
        data, reset = eager_flood(d.port, n, b"hello\n")
        told = sum(1 for g in data if g == REJECT)
        figure("flood_eager_clients", n, "clients")
        figure("flood_eager_told", told, "clients")
        figure("flood_eager_reset", sum(reset), "clients")
        st = d.wait_stat("conns_rejected", lambda v: v == n, "%d" % n)
        check(st["conns_accepted"] == 10, st)
        got = exchange(holders, b"still\n", len(REPLY))
        check(all(g == REPLY for g in got), "a holder lost its reply")
        close_all(holders)
        check(told == n, "only %d of %d rejected clients read the error "
              "line; the rest: %r" % (told, n, sorted(set(
                  (g, r) for g, r in zip(data, reset) if g != REJECT))))


def test_rejected_client_that_spoke_first_gets_eof_not_reset():
    """Clients queued in the backlog while the daemon is busy (stopped,
    here), each with its line sent before it is accepted.  Past the cap,
    each must get the error line, then EOF.  Closing a socket with input
    unread sends RST instead of FIN, and RST discards whatever the kernel
    has not yet delivered or acknowledged: on loopback the line arrives
    before it, but a lost segment on a real network would never be
    retransmitted, and some stacks drop unread data on RST.  conn.c avoids
    this for served clients (conn_finish lingers); the reject path must
    too (shutdown SHUT_WR, drain the input, then close)."""
    n = 300
    with Daemon("max_connections = 10\n") as d:
        holders = connect_many(d.port, 10)
        got = exchange(holders, b"hold\n", len(REPLY))
        check(all(g == REPLY for g in got))
        d.kill(signal.SIGSTOP)
        try:
            queued = connect_many(d.port, n)
            for s in queued:
                s.send(b"hello\n")
        finally:
            d.kill(signal.SIGCONT)
        data, reset = wait_closed(queued)
        close_all(queued)
        told = sum(1 for g in data if g == REJECT)
        figure("flood_backlog_clients", n, "clients")
        figure("flood_backlog_told", told, "clients")
        figure("flood_backlog_reset", sum(reset), "clients")
        st = d.wait_stat("conns_rejected", lambda v: v == n, "%d" % n)
        check(st["conns_accepted"] == 10, st)
        got = exchange(holders, b"still\n", len(REPLY))
        check(all(g == REPLY for g in got), "a holder lost its reply")
        close_all(holders)
        check(told == n, "only %d of %d rejected clients that spoke first "
              "read the error line" % (told, n))
        check(not any(reset), "%d of %d rejected clients that spoke first "
              "were reset after the error line instead of getting EOF" %
              (sum(reset), n))


if __name__ == "__main__":
    main(globals())
