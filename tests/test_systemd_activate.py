#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Socket activation: under systemd-socket-activate hellod serves on the
passed sockets only (port/bind unused, also after a reload); malformed
LISTEN_* variables and wrong passed descriptors stop it with exit 1 and a
clear message.  Skips (77) when systemd-socket-activate is missing."""

import os
import shutil
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hellodtest
from hellodtest import (Daemon, Skip, Wrapped, ask, check, clean_env,
                        free_port, main)

ACTIVATE = shutil.which("systemd-socket-activate")


def activate(*ports, names=None):
    if ACTIVATE is None:
        raise Skip("systemd-socket-activate not installed")
    cmd = [ACTIVATE]
    for p in ports:
        cmd += ["-l", "127.0.0.1:%d" % p]
    if names:
        cmd += ["--fdname=" + ":".join(names)]
    return Wrapped(cmd)


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), 5).close()
    except ConnectionRefusedError:
        return True
    return False


def start_activated(d, port):
    """systemd-socket-activate execs hellod on the first connection."""
    d.wait_log(r"Listening on 127\.0\.0\.1:%d as 3" % port)
    s = socket.create_connection(("127.0.0.1", port), hellodtest.TIMEOUT)
    ask(s)
    return s


def test_serves_the_passed_socket_not_the_config():
    passed, configured = free_port(), free_port()
    with activate(passed), Daemon(base="port = %d\nbind = 127.0.0.1\n" %
                                  configured, ready=False,
                                  env=clean_env()) as d:
        with start_activated(d, passed) as s:
            d.wait_log(r"socket activation: serving on 1 socket passed by "
                       r"systemd; the port and bind settings are not used")
            d.wait_log(r"listening on 127\.0\.0\.1:%d" % passed)
            ask(s)
        check(refused(configured), "configured port %d answers" % configured)
        # A reload keeps the passed socket whatever the new port.
        check(d.reload("port = %d\nbind = 127.0.0.1\nmessage = again\n" %
                       free_port()))
        with socket.create_connection(("127.0.0.1", passed), 5) as s:
            ask(s, reply=b"again\n")
        check(d.stop() == 0)


def test_every_passed_socket_is_served():
    a, b = free_port(), free_port()
    with activate(a, b, names=["one", "two"]), \
            Daemon(ready=False, env=clean_env()) as d:
        start_activated(d, a).close()
        d.wait_log(r"serving on 2 sockets")
        with socket.create_connection(("127.0.0.1", b), 5) as s:
            ask(s)
        check(d.stop() == 0)


def run_failing(env, pattern, prefix=None):
    """hellod must refuse to start: exit 1, pattern in its log."""
    if prefix is None:      # LISTEN_PID = hellod's own, unless env has one
        prefix = ["sh", "-c", 'LISTEN_PID=${LISTEN_PID:-$$}; '
                  'export LISTEN_PID; exec "$@"', "sh"]
    with Wrapped(prefix), Daemon(ready=False, env=env) as d:
        d.wait_log(pattern)
        # It exits by itself; a TERM now could land before its handler is
        # installed (the variables are checked first thing).  Signal 0
        # sends nothing: stop() just waits.
        rc = d.stop(sig=0)
        check(rc == 1, "exit status %s, want 1; log:\n%s" %
              (rc, d.log_text()))


def test_malformed_listen_fds():
    for value in ("", "0", "-1", "1x", " 1", "99999999999999999999", "1025"):
        run_failing(clean_env(LISTEN_FDS=value),
                    r"socket activation: LISTEN_FDS=")


def test_listen_pid_of_another_process():
    run_failing(clean_env(LISTEN_FDS="1", LISTEN_PID="1"),
                r"LISTEN_PID=1 is not this process")
    run_failing(clean_env(LISTEN_FDS="1", LISTEN_PID="x"),
                r"LISTEN_PID=\"x\" is not a decimal number")


def test_listen_fdnames_count_mismatch():
    run_failing(clean_env(LISTEN_FDS="1", LISTEN_FDNAMES="a:b"),
                r"LISTEN_FDNAMES names 2 sockets but LISTEN_FDS=1")


def pass_fd3(kind):
    """A prefix that puts a socket of the given kind at fd 3 and execs
    hellod with LISTEN_PID/LISTEN_FDS naming it, as a manager would."""
    code = ["import os, socket, sys",
            "os.environ['LISTEN_PID'] = str(os.getpid())",
            "os.environ['LISTEN_FDS'] = '1'"]
    if kind == "closed":
        code.append("os.closerange(3, 4)")
    else:
        code += ["s = socket.socket(socket.AF_INET, socket.%s)" %
                 ("SOCK_DGRAM" if kind == "udp" else "SOCK_STREAM"),
                 "s.bind(('127.0.0.1', 0))",
                 "print('fd3 port', s.getsockname()[1], file=sys.stderr)",
                 # dup2 makes fd 3 inheritable; s may be fd 3 already
                 "os.dup2(s.fileno(), 3) if s.fileno() != 3 else "
                 "os.set_inheritable(3, True)"]
        if kind == "listening":
            code.append("s.listen(16)")
    code.append("os.execvp(sys.argv[1], sys.argv[1:])")
    return [sys.executable, "-c", "\n".join(code)]


def test_passed_fd_must_be_a_listening_stream_socket():
    env = clean_env()
    run_failing(env, r"passed fd 3 is not a stream socket", pass_fd3("udp"))
    run_failing(env, r"passed fd 3 is not listening", pass_fd3("stream"))
    # Closed: fd 3 may be reused by hellod itself before the check (its
    # event base), so only the fd number is certain in the message.
    run_failing(env, r"socket activation: passed fd 3", pass_fd3("closed"))


def test_passed_listening_socket_without_the_tool():
    with Wrapped(pass_fd3("listening")), \
            Daemon(ready=False, env=clean_env()) as d:
        port = int(d.wait_log(r"fd3 port (\d+)").group(1))
        d.wait_log(r"listening on 127\.0\.0\.1:%d" % port)
        with socket.create_connection(("127.0.0.1", port), 5) as s:
            ask(s)
        check(d.stop() == 0)


if __name__ == "__main__":
    main(globals())
