#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Message templates: %n %h %a %p %l %%, laid out once per connection."""

import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (Daemon, HELLOD, TIMEOUT, WRAPPER, ask, check,
                        clean_env, main, recv_all)


def client_fields(s):
    """The client's address and port, as the client's socket sees them."""
    host, port = s.getsockname()[:2]
    return host, port


def test_client_and_local_address():
    conf = 'message = "you are %a port %p, on %l"\n'
    with Daemon(conf) as d:
        for _ in range(2):     # each connection its own reply
            with d.connect() as s:
                host, port = client_fields(s)
                want = ("you are %s port %d, on 127.0.0.1:%d\n" %
                        (host, port, d.port)).encode()
                ask(s, b"hi\n", want)
                ask(s, b"again\r\n", want)
        check(d.stop() == 0)


def test_name_host_and_percent():
    conf = 'name = web-1\nmessage = "%n on %h: 100%%"\n'
    with Daemon(conf) as d, d.connect() as s:
        ask(s, b"x\n", ("web-1 on %s: 100%%\n" %
                        socket.gethostname()).encode())


def test_name_defaults_to_the_host_name():
    with Daemon('message = "[%n]"\n') as d, d.connect() as s:
        ask(s, b"x\n", ("[%s]\n" % socket.gethostname()).encode())


def test_pipelined_lines_each_get_the_reply():
    # More than max_output (4k) in replies to one read: its budget is
    # counted in this connection's own reply length.
    n = 5000
    with Daemon('message = "%a:%p"\nmax_output = 4k\n') as d, \
            d.connect() as s:
        host, port = client_fields(s)
        reply = ("%s:%d\n" % (host, port)).encode()
        s.sendall(b"".join(b"line %d\n" % i for i in range(n)))
        s.shutdown(socket.SHUT_WR)
        got = recv_all(s)
        check(got == reply * n, "got %d bytes, want %d of %r" %
              (len(got), len(reply) * n, reply))
        st = d.stats()
        check(st["requests"] == n and st["bytes_sent"] == len(got), st)


def proxy_conf(message):
    return ("proxy_protocol = yes\nproxy_trusted = 127.0.0.1\n"
            "message = \"%s\"\n" % message)


def test_proxy_header_gives_the_client():
    with Daemon(proxy_conf("%a:%p via %l")) as d:
        # A v1 header with the client's address, lines right behind it.
        with d.connect() as s:
            s.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 4242 %d\r\n"
                      b"one\ntwo\n" % d.port)
            s.shutdown(socket.SHUT_WR)
            want = b"192.0.2.7:4242 via 127.0.0.1:%d\n" % d.port
            check(recv_all(s) == want * 2)
        # UNKNOWN (a health check): the socket's own addresses.
        with d.connect() as s:
            host, port = client_fields(s)
            ask(s, b"PROXY UNKNOWN\r\nhi\n", ("%s:%d via 127.0.0.1:%d\n" %
                                              (host, port, d.port)).encode())


def test_reload_lays_out_open_connections_again():
    base = "port = 0\nbind = 127.0.0.1\n"
    with Daemon('message = "A %p"\n') as d, d.connect() as s:
        port = client_fields(s)[1]
        ask(s, b"x\n", b"A %d\n" % port)
        # Templated to templated, to plain, and back: the open connection
        # gets each new message.
        for message, want in (("B %p", lambda p: b"B %d\n" % p),
                              ("C 100%%", lambda p: b"C 100%\n"),
                              ("D %a:%p", lambda p: b"D 127.0.0.1:%d\n" % p)):
            check(d.reload(base + 'message = "%s"\n' % message))
            ask(s, b"x\n", want(port))
            with d.connect() as new:
                ask(new, b"x\n", want(client_fields(new)[1]))
        # A bad sequence fails the reload; the running message stays.
        m = d.mark()
        check(not d.reload(base + 'message = "E %x"\n'))
        d.wait_log(r"hellod\.conf:3: message: unknown sequence '%x'",
                   start=m)
        ask(s, b"x\n", b"D 127.0.0.1:%d\n" % port)


def test_dump_and_check_of_a_template():
    env = clean_env()
    r = subprocess.run(WRAPPER + [HELLOD, "-T", "--message=%a says 100%%",
                        "--name=web-1"], env=env, capture_output=True,
                       timeout=TIMEOUT)
    out = r.stdout.decode()
    check(r.returncode == 0, r)
    check('\nmessage = "%a says 100%%"\t# --message\n' in out, out)
    check('\nname = "web-1"\t# --name\n' in out, out)
    r = subprocess.run(WRAPPER + [HELLOD, "-t", "--message=100%"], env=env,
                       capture_output=True, timeout=TIMEOUT)
    check(r.returncode == 3, r)
    check(b"--message=100%: message: '%' at the end" in r.stderr, r)


if __name__ == "__main__":
    main(globals())
