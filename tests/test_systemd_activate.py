#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Socket activation: under systemd-socket-activate hellod serves on the
passed sockets only (port/bind unused, also after a reload); malformed
LISTEN_* variables and wrong passed descriptors stop it with exit 1 and a
clear message.  The fd store: hellod hands its sockets to a (fake) notify
socket with FDSTORE=1, and takes them back from LISTEN_FDS/LISTEN_FDNAMES
as a restart under systemd passes them.  The tests that need
systemd-socket-activate skip (77) when it is missing."""

import os
import shutil
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hellodtest
from hellodtest import (Daemon, Notify, Skip, Wrapped, ask, check,
                        clean_env, free_port, main, refused)

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


def store_name(port):
    return "hellod-127.0.0.1_%d" % port


def pass_stored(fds, names):
    """A prefix that puts fds at 3, 4, ... and execs hellod with
    LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES naming them, as systemd
    passes its fd store to the next start of a service."""
    code = ["import fcntl, os, sys",
            "fds = [int(x) for x in sys.argv[1].split(',')]",
            # clear of 3.. first, so no dup2 overwrites one still to move
            "tmp = [fcntl.fcntl(f, fcntl.F_DUPFD_CLOEXEC, 100) for f in fds]",
            "for i, f in enumerate(tmp):",
            "    os.dup2(f, 3 + i)",
            "    os.close(f)",
            "os.environ['LISTEN_PID'] = str(os.getpid())",
            "os.environ['LISTEN_FDS'] = str(len(fds))",
            "os.environ['LISTEN_FDNAMES'] = sys.argv[2]",
            "os.execvp(sys.argv[3], sys.argv[3:])"]
    return [sys.executable, "-c", "\n".join(code),
            ",".join(str(f) for f in fds), ":".join(names)]


def stored_socket(n, i, port):
    """The socket that came with message i: a listening TCP socket of
    127.0.0.1:port."""
    fds = n.fds(i)
    check(len(fds) == 1, "FDSTORE=1 came with %d descriptors" % len(fds))
    s = socket.socket(fileno=os.dup(fds[0]))
    try:
        check(s.type == socket.SOCK_STREAM and s.getsockopt(
            socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1,
            "the stored descriptor is not a listening stream socket")
        check(s.getsockname() == ("127.0.0.1", port),
              "stored socket of %r, want port %d" % (s.getsockname(), port))
    finally:
        s.close()
    return fds[0]


def listener(port):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen(16)
    return s


def test_fdstore_stores_and_takes_back():
    """Stored on start and on a reload to another port (the old one
    removed); a stop leaves the stored socket listening, its queue for the
    next hellod; that one keeps the socket its config wants, with the
    client queued on it, and removes a stored one it does not want."""
    p1, p2, p3 = free_port(), free_port(), free_port()
    env = None
    with Notify() as n:
        env = n.env()
        with Daemon(base="port = %d\nbind = 127.0.0.1\n" % p1,
                    env=env) as d:
            i, (_, raw, fields) = n.wait("FDSTORE")
            check(raw == "FDSTORE=1\nFDNAME=%s\n" % store_name(p1),
                  "FDSTORE message %r" % raw)
            stored_socket(n, i, p1)
            # A reload to another port: the new socket in, the old out.
            m = n.mark()
            check(d.reload("port = %d\nbind = 127.0.0.1\n" % p2))
            i, (_, raw, _) = n.wait("FDSTOREREMOVE", start=m)
            check(raw == "FDSTOREREMOVE=1\nFDNAME=%s\n" % store_name(p1),
                  "FDSTOREREMOVE message %r" % raw)
            i, (_, raw, fields) = n.wait("FDSTORE", start=m)
            check(fields["FDNAME"] == store_name(p2))
            kept = stored_socket(n, i, p2)
            check(d.stop() == 0)
        # Between two hellods: the store (here) holds the socket, and the
        # kernel completes a client's handshake and queues it.
        early = socket.create_connection(("127.0.0.1", p2), 5)
        early.sendall(b"hello\n")
        # A stored socket of an older config (made here), and the kept one.
        with listener(p3) as stale:
            m = n.mark()
            with Wrapped(pass_stored([kept, stale.fileno()],
                                     [store_name(p2), store_name(p3)])), \
                    Daemon(base="port = %d\nbind = 127.0.0.1\n" % p2,
                           env=env, pass_fds=(kept, stale.fileno())) as d:
                d.wait_log(r"listening on 127\.0\.0\.1:%d \(kept in "
                           r"systemd's fd store\)" % p2)
                d.wait_log(r"127\.0\.0\.1:%d: not in the configuration "
                           r"any more; closed and dropped" % p3)
                _, (_, raw, _) = n.wait("FDSTOREREMOVE", start=m)
                check(raw == "FDSTOREREMOVE=1\nFDNAME=%s\n" %
                      store_name(p3), "FDSTOREREMOVE message %r" % raw)
                check(not n.all("FDSTORE", start=m),
                      "the kept socket was stored again")
                # The client queued between the two is answered.
                early.settimeout(hellodtest.TIMEOUT)
                check(hellodtest.recv_exact(early, len(hellodtest.REPLY))
                      == hellodtest.REPLY,
                      "the queued client got no reply")
                early.close()
                with socket.create_connection(("127.0.0.1", p2), 5) as s:
                    ask(s)
                check(d.stop() == 0)
        check(refused(p3), "the dropped socket still listens")


def test_fdstore_under_socket_activation():
    """A socket unit's descriptor wins: the store's is closed and removed,
    and nothing is stored."""
    p1, p2 = free_port(), free_port()
    with Notify() as n, listener(p1) as unit, listener(p2) as stored:
        with Wrapped(pass_stored([unit.fileno(), stored.fileno()],
                                 ["hellod.socket", store_name(p2)])), \
                Daemon(base="port = %d\nbind = 127.0.0.1\n" % p2,
                       env=n.env(), pass_fds=(unit.fileno(),
                                              stored.fileno())) as d:
            check(d.port == p1, "serving on %s, want %d" % (d.port, p1))
            d.wait_log(r"1 socket of the fd store not used; dropped")
            _, (_, raw, _) = n.wait("FDSTOREREMOVE")
            check(raw == "FDSTOREREMOVE=1\nFDNAME=%s\n" % store_name(p2))
            n.wait("READY")
            check(not n.all("FDSTORE"), "a socket-activated hellod stored")
            check(d.stop() == 0)


def test_fdstore_outside_systemd():
    """Without NOTIFY_SOCKET nothing is stored, and a stop refuses new
    handshakes as before (checked by test_core_drain.py)."""
    with Daemon(env=clean_env(), args=("-v", "-v")) as d:
        d.wait_log(r"started")
        check(d.stop() == 0)
        check(not any("FDSTORE" in line for line in d.lines),
              "hellod tried the fd store outside systemd")


if __name__ == "__main__":
    main(globals())
