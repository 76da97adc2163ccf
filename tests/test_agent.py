#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""HAProxy's agent check (agent_listen, src/agent.c): one line to each
connection, then the close; off by default; a reload that moves it opens
the new socket first and keeps the old one when the new cannot be had;
bounded against clients that hold connections.  What it says during a
stop (stop_grace) is in test_core_drain.py; HAProxy reading it is
tests/lb/test_lb.py."""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (HELLOD, TIMEOUT, WRAPPER, Daemon, agent_port,
                        check_busy_port_fails, check_off_by_default,
                        Skip, agent_says, ask, check, free_port,
                        ipv6_loopback, main, recv_all, refused)

UP = b"up ready\n"
AGENT = "agent_listen = 127.0.0.1:0\n"


def test_one_line_then_the_close():
    """Exactly "up ready\\n" and EOF, to every connection, a line in
    HAProxy's words only; clients are still answered on the port."""
    with Daemon(AGENT + "log_level = debug\n") as d:
        port = agent_port(d)
        for _ in range(3):
            check(agent_says(port) == UP)
        # What a peer sends (HAProxy's agent-send) changes nothing.
        with socket.create_connection(("127.0.0.1", port), TIMEOUT) as s:
            s.sendall(b"hellods/hellod1\n")
            check(recv_all(s, limit=4096) == UP)
        d.wait_log(r"agent_accept_cb: agent: 127\.0\.0\.1:\d+: up ready$")
        with d.connect() as s:
            ask(s)
        check(d.stop() == 0)


def test_silent_clients_hold_nothing():
    """Many connections that never read: each is closed at its accept,
    and the agent and the daemon answer the next one at once."""
    with Daemon(AGENT + "workers = 1\n") as d:
        port = agent_port(d)
        held = [socket.create_connection(("127.0.0.1", port), TIMEOUT)
                for _ in range(50)]
        try:
            for s in held:      # closed by hellod, not by the client
                check(recv_all(s, limit=4096) == UP)
            check(agent_says(port) == UP)
            with d.connect() as s:
                ask(s)
        finally:
            for s in held:
                s.close()
        check(d.stop() == 0)


def test_ipv6_loopback():
    if not ipv6_loopback():
        raise Skip("no IPv6 loopback here")
    with Daemon("agent_listen = [::1]:0\n") as d:
        port = agent_port(d, host=r"\[::1\]")
        check(agent_says(port, "::1") == UP)
        check(d.stop() == 0)


def test_off_by_default():
    out = check_off_by_default("agent", "agent_listen")
    check(re.search(r"^stop_grace = 0$", out, re.M), out)


def test_config_errors():
    """-t refuses an agent on the client port or on the metrics one."""
    d = tempfile.mkdtemp(prefix="hellod-test-")
    try:
        path = os.path.join(d, "hellod.conf")
        for text, want in (
                ("port = 5000\nagent_listen = 127.0.0.1:5000\n",
                 r":2: agent_listen: 127\.0\.0\.1:5000 is where hellod "
                 r"answers clients"),
                ("metrics_listen = 127.0.0.1:5001\n"
                 "agent_listen = 127.0.0.1:5001\n",
                 r":2: agent_listen: 127\.0\.0\.1:5001 is the metrics "
                 r"endpoint's"),
                ("stop_grace = 3601\n",
                 r":1: stop_grace: 3601 is out of range")):
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.run(WRAPPER + [HELLOD, "-t", "-c", path],
                               capture_output=True, timeout=TIMEOUT)
            err = p.stderr.decode()
            check(p.returncode == 3, (text, p.returncode, err))
            check(re.search(r"^%s%s" % (re.escape(path), want), err, re.M),
                  err)
    finally:
        shutil.rmtree(d)


def test_busy_port_at_start_fails_like_port():
    check_busy_port_fails("agent_listen", "agent")


def test_reload_is_transactional():
    with Daemon() as d, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        base = "bind = 127.0.0.1\nport = %d\n" % d.port

        # Off to on.
        p1 = free_port()
        m = d.mark()
        check(d.reload(base + "agent_listen = 127.0.0.1:%d\n" % p1))
        check(agent_port(d, start=m) == p1)
        check(agent_says(p1) == UP)

        # Moved: the new one answers, the old one is closed.
        p2 = free_port()
        m = d.mark()
        check(d.reload(base + "agent_listen = 127.0.0.1:%d\n" % p2))
        check(agent_port(d, start=m) == p2)
        check(agent_says(p2) == UP)
        check(refused(p1), "the old agent port still accepts")

        # A port that cannot be had: the reload fails, the agent stays.
        m = d.mark()
        check(not d.reload(base + "agent_listen = 127.0.0.1:%d\n" % busy))
        d.wait_log(r"agent: cannot listen as the new configuration asks",
                   start=m)
        check(agent_says(p2) == UP)

        # Unchanged across a reload of something else: the same socket.
        m = d.mark()
        check(d.reload(base + "agent_listen = 127.0.0.1:%d\n"
                       "message = Hi\n" % p2))
        check(not any("agent: answering" in l for l in d.lines[m:]),
              d.lines[m:])
        check(agent_says(p2) == UP)

        # On to off.
        check(d.reload(base))
        check(refused(p2), "the agent still answers once unset")
        check(d.stop() == 0)


if __name__ == "__main__":
    main(globals())
