#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The protocol: one reply per line, in order, whatever the framing."""

import os
import select
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (Daemon, Skip, REPLY, TIMEOUT, ask, check, ipv6_loopback,
                        main, recv_all, recv_exact)


def test_one_line_lf_and_crlf():
    with Daemon() as d, d.connect() as s:
        ask(s, b"hello\n")
        ask(s, b"hello\r\n")
        check(d.stop() == 0)


def test_telnet_session():
    """The Debian telnet client, kept open until the reply has arrived."""
    if shutil.which("telnet") is None:
        raise Skip("telnet is not installed")
    with Daemon() as d:
        t = subprocess.Popen(["telnet", "127.0.0.1", str(d.port)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        try:
            out = b""
            deadline = time.monotonic() + TIMEOUT
            sent = False
            while b"Hello World" not in out:
                left = deadline - time.monotonic()
                check(left > 0, "no reply through telnet: %r" % out)
                if not sent and b"Escape character" in out:
                    t.stdin.write(b"hi there\r\n")
                    t.stdin.flush()
                    sent = True
                r, _, _ = select.select([t.stdout], [], [], left)
                if r:
                    chunk = os.read(t.stdout.fileno(), 4096)
                    check(chunk, "telnet exited early: %r" % out)
                    out += chunk
            check(b"Connected to 127.0.0.1" in out, out)
        finally:
            t.stdin.close()
            t.kill()
            t.wait()
        check(d.stop() == 0)


def test_pipelined_lines_in_one_packet():
    n = 5000
    with Daemon() as d, d.connect() as s:
        s.sendall(b"".join(b"line %d\n" % i for i in range(n)))
        s.shutdown(socket.SHUT_WR)
        got = recv_all(s)
        check(got == REPLY * n, "got %d bytes, want %d" %
              (len(got), len(REPLY) * n))


def test_lines_split_across_writes():
    with Daemon() as d, d.connect() as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for part in (b"hel", b"lo\nwor", b"ld\r", b"\n", b"\n"):
            s.sendall(part)
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s) == REPLY * 3)


def test_last_line_cut_by_eof():
    with Daemon() as d, d.connect() as s:
        s.sendall(b"one\ntwo")
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s) == REPLY * 2)


def test_eof_without_partial_line():
    with Daemon() as d, d.connect() as s:
        s.sendall(b"one\n")
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s) == REPLY)
        st = d.stats()
        check(st["requests"] == 1, st)


def test_empty_lines_binary_nul_utf8():
    with Daemon() as d, d.connect() as s:
        data = (b"\n\r\n" + b"\x00\x01\xff\xfe\n" + "héllo wörld ✓\n".encode()
                + bytes(b for b in range(256) if b != 10) + b"\n")
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s) == REPLY * 5)


def test_configured_message():
    with Daemon('message = "  Howdy, partner  "\n') as d, d.connect() as s:
        ask(s, b"x\n", b"  Howdy, partner  \n")


def test_many_clients_interleaved():
    with Daemon() as d:
        socks = [d.connect() for _ in range(50)]
        try:
            for round_ in range(3):
                for s in socks:
                    s.sendall(b"a\nb\n")
                for s in socks:
                    check(recv_exact(s, 2 * len(REPLY)) == REPLY * 2)
        finally:
            for s in socks:
                s.close()
        check(d.stats()["conns_accepted"] == 50)


def test_default_bind_is_every_address():
    """No bind key: every IPv4 and (where there is IPv6) every IPv6 address."""
    with Daemon(base="port = 0\n", ready=False) as d:
        m = d.wait_log(r"listening on 0\.0\.0\.0:(\d+)")
        d.port = int(m.group(1))
        d.wait_log(r"started, pid")
        with d.connect() as s:
            ask(s)
        if ipv6_loopback():
            d.wait_log(r"listening on \[::\]:%d" % d.port)
            with socket.create_connection(("::1", d.port), TIMEOUT) as s:
                ask(s)


if __name__ == "__main__":
    main(globals())
