#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Per-source limits, health-check probes and the PROXY header against the
real binary, without HAProxy (tests/lb/ has those): max_connections_per_source
on the socket's address and on the carried one, a connection that closes
without a byte counted as a probe and kept out of the log above debug, a
PROXY header split across reads with lines behind it, a bad, a missing and
a late header closed without a reply."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (REPLY, TIMEOUT, Daemon, ask, check, main, recv_all)
from metricstest import MetricsDaemon

SOURCE_REJECT = b"ERROR too many connections from your address\n"


def connect_from(d, source):
    s = socket.socket()
    s.settimeout(TIMEOUT)
    s.bind((source, 0))
    s.connect(("127.0.0.1", d.port))
    return s


def test_per_source_cap_on_the_socket_address():
    with Daemon("max_connections_per_source = 2\n") as d:
        a = [connect_from(d, "127.0.0.1") for _ in range(2)]
        for s in a:
            ask(s)
        with connect_from(d, "127.0.0.1") as extra:
            check(recv_all(extra) == SOURCE_REJECT, "third from 127.0.0.1")
        with connect_from(d, "127.0.0.2") as other:
            ask(other)          # another address is not affected
        a.pop().close()
        # That one and the 127.0.0.2 one have closed: a slot is free.
        d.wait_stats(lambda st: st["closed_client"] == 2, "2 closed")
        with connect_from(d, "127.0.0.1") as again:
            ask(again)          # its slot is free again
        st = d.stats()
        check(st["conns_rejected_source"] == 1 and
              st["conns_rejected"] == 0, st)
        d.wait_log(r"max_connections_per_source \(2\) reached for 127\.0\.0\.1")
        for s in a:
            s.close()


def test_cap_set_by_reload_counts_open_connections():
    """A cap switched on by a reload (as during an attack) counts the
    connections already open from a source: with 6 open and a new cap of
    2, the next one from that source is refused; the 6 are kept."""
    with Daemon("") as d:
        held = [connect_from(d, "127.0.0.1") for _ in range(6)]
        for s in held:
            ask(s)
        check(d.reload("port = 0\nbind = 127.0.0.1\n"
                       "max_connections_per_source = 2\n"),
              "reload refused")
        with connect_from(d, "127.0.0.1") as extra:
            check(recv_all(extra) == SOURCE_REJECT, "7th from 127.0.0.1")
        with connect_from(d, "127.0.0.2") as other:
            ask(other)          # another address is not affected
        for s in held:
            ask(s)              # kept, as with max_connections
        check(d.stats()["conns_rejected_source"] == 1, d.stats())
        # Down to one below the cap, a connection is served again.
        for _ in range(5):
            held.pop().close()
        d.wait_stats(lambda st: st["conns_current"] == 1, "1 open")
        with connect_from(d, "127.0.0.1") as again:
            ask(again)
        for s in held:
            s.close()


def test_probe_counted_and_quiet():
    with Daemon("log_level = info\n") as d:
        m = d.mark()
        for _ in range(5):
            socket.create_connection(("127.0.0.1", d.port), TIMEOUT).close()
        with d.connect() as s:
            ask(s)
        # Five probes; the one that spoke is a client.
        d.wait_stats(lambda st: st["closed_probe"] == 5 and
                     st["closed_client"] == 1, "5 probes, 1 client")
        check(not any("connection" in l for l in d.lines[m:]),
              "a probe was logged at info: %s" % d.lines[m:])


def proxy_conf(extra=""):
    return ("proxy_protocol = yes\nproxy_trusted = 127.0.0.1\n"
            "proxy_timeout = 1\nlog_level = debug\n" + extra)


def v1(d, src, sport):
    return ("PROXY TCP4 %s 127.0.0.1 %d %d\r\n" % (src, sport,
                                                 d.port)).encode()


def test_proxy_header_split_with_lines_behind_it():
    with Daemon(proxy_conf()) as d, d.connect() as s:
        hdr = v1(d, "192.0.2.1", 4242)
        m = d.mark()
        s.sendall(hdr[:7])
        s.sendall(hdr[7:] + b"one\ntwo\r\n")
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s) == 2 * REPLY)
        d.wait_log(r"from 192\.0\.2\.1:4242 via 127\.0\.0\.1:\d+", start=m)


def test_proxy_v2_local_is_the_socket_address():
    # A v2 LOCAL header, as HAProxy's health checks send it, and a v1
    # UNKNOWN: each counted in proxy_local; a header with an address not.
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    with Daemon(proxy_conf()) as d:
        for hdr in (sig + b"\x20\x00\x00\x00", b"PROXY UNKNOWN\r\n",
                    v1(d, "192.0.2.1", 4242)):
            with d.connect() as s:
                s.sendall(hdr + b"hello\n")
                s.shutdown(socket.SHUT_WR)
                check(recv_all(s) == REPLY)
        st = d.wait_stat("conns_current", lambda v: v == 0, "0")
        check(st["proxy_local"] == 2 and st["requests"] == 3, st)


def test_proxy_bad_missing_or_late_header_no_reply():
    with Daemon(proxy_conf()) as d:
        for data in (b"hello\n", b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\nhi\n"):
            with d.connect() as s:
                s.sendall(data)
                try:
                    got = recv_all(s)
                except ConnectionResetError:
                    got = b""
                check(got == b"", "%r got %r" % (data, got))
        with d.connect() as s:
            t0 = time.monotonic()
            s.sendall(b"PROXY TCP4 ")     # never finished
            check(recv_all(s) == b"")
            check(time.monotonic() - t0 >= 0.7, "closed before proxy_timeout")
        st = d.wait_stat("conns_rejected_proxy", lambda v: v == 3, "3")
        check(st["closed_rejected"] == 3 and st["requests"] == 0, st)
        d.wait_log(r"not a PROXY header")
        d.wait_log(r"no PROXY header within proxy_timeout")


def test_proxy_bad_header_bytes_stay_out_of_the_log():
    """A bad PROXY header's bytes never reach the log: its reason is one of
    the parser's own strings, whatever part of it was bad."""
    bad = ((b"PROXY TCP4 1.2.3.4\x1b[31m 127.0.0.1 1 2\r\n",
            r"v1: bad TCP4 source address"),
           (b"PROXY \x1b[2J\rforged: x\r\n", r"v1: unknown protocol"),
           (b"\x1b[2J\rforged: y\n", r"not a PROXY header"))
    with Daemon(proxy_conf()) as d:
        for data, reason in bad:
            m = d.mark()
            with d.connect() as s:
                s.sendall(data)
                try:
                    check(recv_all(s) == b"", data)
                except ConnectionResetError:
                    pass
            d.wait_log(r"connection \d+ from 127\.0\.0\.1:\d+: %s" % reason,
                       start=m)
        d.wait_log(r"PROXY: connection from 127\.0\.0\.1:\d+ closed without "
                   r"a reply: v1: bad TCP4 source address")
        check(d.stop() == 0)
        for line in d.lines:
            check(not any(b in line for b in ("\x1b", "\r", "[31m", "[2J",
                                                "forged")),
                  "a client's bytes in the log: %r" % line)


def test_proxy_per_source_cap_on_the_carried_address():
    with Daemon(proxy_conf("max_connections_per_source = 1\n")) as d:
        with d.connect() as held:
            held.sendall(v1(d, "192.0.2.7", 1) + b"hi\n")
            check(held.recv(len(REPLY)) == REPLY)
            with d.connect() as s:
                s.sendall(v1(d, "192.0.2.7", 2) + b"hi\n")
                check(recv_all(s) == SOURCE_REJECT)
            with d.connect() as s:
                s.sendall(v1(d, "192.0.2.8", 3) + b"hi\n")
                check(s.recv(len(REPLY)) == REPLY)
        st = d.stats()
        check(st["conns_rejected_source"] == 1, st)


def test_rejections_and_probes_in_metrics():
    """The per-source, PROXY and probe counters reach /metrics."""
    rej = 'hellod_connections_rejected_total{reason="%s"}'
    closed = 'hellod_connections_closed_total{reason="%s"}'
    with MetricsDaemon(proxy_conf("max_connections_per_source = 1\n")) as d:
        with d.connect() as held:
            held.sendall(v1(d, "192.0.2.9", 1) + b"hi\n")
            check(held.recv(len(REPLY)) == REPLY)
            with d.connect() as s:
                s.sendall(v1(d, "192.0.2.9", 2) + b"hi\n")
                check(recv_all(s) == SOURCE_REJECT)
            with d.connect() as s:
                s.sendall(b"no header\n")
                try:
                    recv_all(s)
                except ConnectionResetError:
                    pass
            socket.create_connection(("127.0.0.1", d.port), TIMEOUT).close()
            d.wait_metrics({rej % "per_source": 1, rej % "proxy": 1,
                            rej % "max_connections": 0, closed % "probe": 1,
                            closed % "rejected": 2})


if __name__ == "__main__":
    main(globals())
