#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Signals: HUP reload (good, bad, port change, a changed "user" warned
about), HUP and USR1 during start-up and during a graceful stop (also with
-d), TERM flush, INT, the stop's bounds, USR1's counters (on continuation
lines with many workers), PIPE ignored."""

import ctypes
import os
import pwd
import re
import struct
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (REPLY, TIMEOUT, Daemon, Detached, Held, Notify, Skip,
                        ask, check, free_port, hold_clients, main, recv_all,
                        recv_exact, unread_client, wait_exit)
from metricstest import man_usr1

BASE = "bind = 127.0.0.1\n"


def test_reload_changes_port():
    with Daemon() as d:
        old = d.port
        new = free_port()
        m = d.mark()
        check(d.reload(BASE + "port = %d\n" % new))
        d.wait_log(r"listening on 127\.0\.0\.1:%d" % new, start=m)
        with d.connect(new) as s:
            ask(s)
        try:
            socket.create_connection(("127.0.0.1", old), 5).close()
            raise AssertionError("old port %d still answers" % old)
        except ConnectionRefusedError:
            pass
        check(d.stats()["reloads"] == 1)
        check(d.stop() == 0)


def test_reload_applies_message_to_open_connections():
    with Daemon() as d, d.connect() as s:
        ask(s)
        check(d.reload(BASE + "port = %d\nmessage = Bonjour\n" % d.port))
        ask(s, b"again\n", b"Bonjour\n")


def test_bad_reload_keeps_running_config():
    with Daemon('message = "first"\n') as d, d.connect() as s:
        ask(s, reply=b"first\n")
        m = d.mark()
        check(not d.reload("port = %d\nmessage = second\nbogus = 1\n"
                           "max_line_length = -1\n" % d.port))
        d.wait_log(r"hellod\.conf:3: unknown key 'bogus'", start=m)
        d.wait_log(r"hellod\.conf:4: max_line_length: '-1'", start=m)
        ask(s, reply=b"first\n")
        with d.connect() as s2:
            ask(s2, reply=b"first\n")
        st = d.stats()
        check(st["reloads_failed"] == 1 and st["reloads"] == 0, st)


def test_long_log_line_is_logged_whole():
    """A log line longer than log.c's buffer (as the SIGUSR1 line of many
    workers is) comes out whole, not cut at 1023."""
    key = "k" * 3000
    with Daemon() as d:
        m = d.mark()
        check(not d.reload(BASE + "port = %d\n%s = 1\n" % (d.port, key)))
        got = d.wait_log(r"hellod\.conf:3: unknown key '(k*)'(.*)$",
                         start=m)
        check(len(got.group(1)) == len(key), len(got.group(1)))
        check(got.group(2).endswith(", proxy_timeout)"), got.group(2))
        check(d.stop() == 0)


def test_reload_that_cannot_bind_keeps_old_listeners():
    with Daemon() as d, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        m = d.mark()
        check(not d.reload(BASE + "port = %d\nmessage = new\n" % busy))
        d.wait_log(r"cannot listen on 127\.0\.0\.1:%d: port %d is in use" %
                   (busy, busy), start=m)
        with d.connect() as s:
            ask(s)    # old port, old message


class PortTaken(Exception):
    """Another program holds the port on an address the wildcard covers."""


def move_between_an_address_and_the_wildcard():
    with Daemon() as d, d.connect() as held:
        ask(held)
        for bind, message in (("*", "wildcard"), ("127.0.0.1", "address"),
                              ("0.0.0.0", "wildcard4")):
            m = d.mark()
            if not d.reload("port = %d\nbind = %s\nmessage = %s\n" %
                            (d.port, bind, message)):
                # The port was picked for 127.0.0.1 alone: a test running
                # beside this one may hold it on ::1 or 127.0.0.2.
                if any("port %d is in use" % d.port in l
                       for l in d.lines[m:]):
                    raise PortTaken(d.port)
                raise AssertionError("reload to %s: %s" % (bind, d.lines[m:]))
            d.wait_log(r"listening on .*:%d" % d.port, start=m)
            ask(held, reply=(message + "\n").encode())
            with d.connect() as s:
                ask(s, reply=(message + "\n").encode())
            # A second hellod on the port fails, as at any other time.
            with Daemon("", base="port = %d\nbind = %s\n" % (d.port, bind),
                        ready=False) as other:
                check(other.proc.wait(TIMEOUT) == 1, "second hellod ran")
                other.wait_log(r"port %d is in use" % d.port)


def test_reload_moves_between_an_address_and_the_wildcard():
    """bind = 127.0.0.1 to bind = * on the same port and back, by reload:
    a client connected before each move is still answered, a new one is
    served after it, and a second hellod cannot take the port meanwhile.
    A port another program holds on an address of the wildcard is tried
    again with another, three times at most."""
    for attempt in range(3):
        try:
            move_between_an_address_and_the_wildcard()
            return
        except PortTaken as e:
            taken = e
    raise AssertionError("ports taken by others three times: %s" % taken)


def test_term_flushes_owed_replies_and_exits_0():
    n = 20000
    with Daemon() as d, d.connect() as s:
        s.sendall(b"x\n" * n)
        # Wait until the daemon has read every line, then stop it while the
        # replies are still queued for a client that has not read any yet.
        d.wait_stat("requests", lambda v: v == n, "%d" % n)
        m = d.mark()
        d.kill(signal.SIGTERM)
        d.wait_log(r"stopping: 1 connection", start=m)
        got = recv_all(s)
        check(got == REPLY * n, "got %d of %d replies" %
              (len(got) // len(REPLY), n))
        check(d.stop() == 0)


def test_stop_resets_no_client_whose_connect_succeeded():
    """A stop refuses new handshakes before any worker stops accepting: a
    client whose connect() succeeds while the stop attaches its socket
    filter (the daemon held right there by hold.so) is still served,
    not reset."""
    if os.geteuid() != 0:
        raise Skip("socket filters need privileges on this kernel")
    with Held("filter") as held, Daemon("workers = 1\n",
                                        env=held.env()) as d:
        m = d.mark()
        d.kill(signal.SIGTERM)
        d.wait_log(r"hold: held", start=m)
        with socket.create_connection(("127.0.0.1", d.port), TIMEOUT) as s:
            s.sendall(b"hello\n")
            held.release(d.proc)
            check(recv_all(s) == REPLY, "no reply")
        check(d.proc.wait(TIMEOUT) == 0, "exit status")


def test_hup_and_usr1_while_the_config_is_read():
    """A HUP and a USR1 that come while the daemon reads its config at
    start (held there by hold.so) kill nothing: the HUP is ignored, and
    said so, the USR1 logs the counters once the daemon serves."""
    with Held("open", path="/hellod.conf") as held, \
            Daemon(env=held.env(), ready=False) as d:
        d.wait_log(r"hold: held")
        d.kill(signal.SIGHUP)
        d.kill(signal.SIGUSR1)
        held.release(d.proc)
        d.port = int(d.wait_log(r"listening on 127\.0\.0\.1:(\d+)").group(1))
        d.wait_log(r"started, pid")
        d.wait_log(r"SIGHUP before hellod served: ignored")
        d.wait_log(r"stats: conns_current=0 ")
        with d.connect() as s:
            ask(s)
        check(d.stop() == 0, "exit status")


def filter_allowed(uid):
    """Whether this kernel lets uid attach a classic socket filter (a child
    process tries, as that user)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            code = b"".join(struct.pack("HBBI", *c)
                            for c in ((0x06, 0, 0, 0xffffffff),))
            buf = ctypes.create_string_buffer(code)
            prog = struct.pack("HL", 1, ctypes.addressof(buf))
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, 26, prog)  # SO_ATTACH_FILTER
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def test_refused_filter_is_said_once_at_notice():
    """A hellod that is no longer root, on a kernel that refuses it the
    socket filter, says once, at notice, that a closing listener may reset
    a client: not at every stop and reload, and not only at debug."""
    if os.geteuid() != 0:
        raise Skip("needs root to switch to nobody")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    refused = not filter_allowed(nobody.pw_uid)
    conf = "bind = 127.0.0.1\nport = %d\nuser = nobody\nlog_level = notice\n"
    with Daemon("user = nobody\nlog_level = notice\n") as d:
        os.chmod(d.dir, 0o755)          # the reloads read it as nobody
        for _ in range(2):              # each retires a listening socket
            new = free_port()
            check(d.reload(conf % new), "reload refused")
            d.port = new
            with d.connect() as s:
                ask(s)
        check(d.stop() == 0, "exit status")
        said = [l for l in d.lines if "allows no socket filter" in l]
        check(len(said) == (1 if refused else 0), (refused, said))
        check(all(l.startswith("notice: ") for l in said), said)


def test_second_term_exits_at_once():
    with Daemon("shutdown_timeout = 3600\nmax_output = 1k\n") as d, \
            d.connect(rcvbuf=4096) as s:
        s.sendall(b"x\n" * 1000000)     # replies it never reads
        d.wait_stat("output_paused", lambda v: v >= 1, ">= 1")
        m = d.mark()
        d.kill(signal.SIGTERM)
        d.wait_log("stopping", start=m)
        check(d.proc.poll() is None, "exited on the first TERM")
        check(d.stop() == 0)
        check(any("second stop signal" in l for l in d.lines), d.lines)


def test_term_storm_still_exits_0():
    """TERMs that land while hellod tears down must not kill it: systemd
    and init scripts count a death by signal as a failed stop."""
    with Daemon() as d, d.connect() as s:
        # A client keeps the first TERM's stop going for the quiet moment,
        # so the storm's second TERM ends it and the rest land in the
        # teardown.
        ask(s)
        sent = 0
        while d.proc.poll() is None and sent < 100000:
            try:
                d.kill(signal.SIGTERM)
            except ProcessLookupError:
                break
            sent += 1
        check(d.stop() == 0)
        check(sent > 1, "only %d TERM sent" % sent)


def test_shutdown_timeout_bounds_the_stop():
    with Daemon("shutdown_timeout = 1\nmax_output = 1k\n") as d, \
            d.connect(rcvbuf=4096) as s:
        s.sendall(b"x\n" * 1000000)
        d.wait_stat("output_paused", lambda v: v >= 1, ">= 1")
        d.kill(signal.SIGTERM)
        d.wait_log("shutdown_timeout: dropping 1 connection")
        check(d.proc.wait(30) == 0)


def test_int_stops_too():
    with Daemon() as d:
        check(d.stop(signal.SIGINT) == 0)


def test_usr1_logs_counters_and_pipe_is_ignored():
    with Daemon() as d:
        with d.connect() as s:
            ask(s)
            ask(s)
        d.kill(signal.SIGPIPE)
        st = d.stats()
        # Every name hellod.conf(5) documents, and no other.
        check(sorted(st) == sorted(man_usr1()),
              set(st) ^ set(man_usr1()))
        check(st["requests"] == 2 and st["conns_accepted"] == 1, st)
        check(d.stop() == 0)


# A HUP during a graceful stop is ignored and logged; USR1 still
# answers, and with -d the pidfile is removed at the exit.

def test_hup_during_graceful_stop_is_ignored():
    with Daemon("shutdown_timeout = 60\nmax_output = 1k\nworkers = 1\n") as d:
        s = unread_client(d.connect)
        try:
            d.wait_stat("output_paused", lambda v: v >= 1, ">= 1")
            m = d.mark()
            d.kill(signal.SIGTERM)
            d.wait_log(r"stopping: 1 connection", start=m)
            d.kill(signal.SIGHUP)
            d.wait_log(r"SIGHUP while stopping: ignored", start=m)
            st = d.stats()          # USR1 is still handled too
            check(st["reloads"] == 0, st)
            got = recv_all(s)
        finally:
            s.close()
        check(got == REPLY * (len(got) // len(REPLY)) and got, len(got))
        rc = d.stop(sig=0)
        check(rc == 0, "exit status %s; log:\n%s" % (rc, d.log_text()))


def test_hup_during_graceful_stop_detached_removes_pidfile():
    with Notify() as n, Detached("shutdown_timeout = 60\nmax_output = 1k\n"
                                 "workers = 1\n", env=n.env()) as d:
        check(d.run.returncode == 0, d.run)
        n.wait("READY")
        s = unread_client(d.connect)
        try:
            m = n.mark()
            os.kill(d.pid, signal.SIGTERM)
            n.wait("STOPPING", start=m)
            os.kill(d.pid, signal.SIGHUP)
            got = recv_all(s)
        finally:
            s.close()
        check(got and got == REPLY * (len(got) // len(REPLY)), len(got))
        rc = wait_exit(d.pid)
        d.pid = None
        check(rc == 0, "exit status %s (-%d is SIGHUP)" % (rc, signal.SIGHUP))
        check(not os.path.exists(d.pidfile), "pidfile left behind")


# A reload that changes "user" says it takes effect at the next start,
# as one that changes "workers" does.

def test_reload_that_changes_user_warns():
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    conf = "bind = 127.0.0.1\nport = %d\n"
    with Daemon() as d:
        for user, warned in (("nobody", True), ("nobody", True), ("", False)):
            m = d.mark()
            check(d.reload(conf % d.port + (user and "user = %s\n" % user)))
            said = [l for l in d.lines[m:] if re.match(
                r"warning: user: the change takes effect at the next start;"
                r" started without one$", l)]
            check(bool(said) == warned, (user, d.lines[m:]))
        check(d.stop() == 0)


# The SIGUSR1 counters whole, whatever the number of workers.

def test_usr1_stats_with_many_workers():
    n = 160
    with Daemon("workers = %d\n" % n) as d:
        socks, answered = hold_clients(d.port, 300)
        for s in socks:
            s.close()
        check(answered == 300, answered)
        m = d.mark()
        st = d.stats()          # the first line parses, as every test's
        check(st["conns_accepted"] == 300 and "reloads" in st, st)
        check("accepted_by_worker" not in st, st)
        # Then the workers' share, a range per line, each whole.
        counts, want = [], 0
        while want < n:
            r = d.wait_log(r"stats, continued: accepted_by_worker"
                           r"\[(\d+)-(\d+)\]=([\d,]+)$", start=m)
            first, last = int(r.group(1)), int(r.group(2))
            check(first == want and last >= first, (want, r.group(0)))
            values = [int(v) for v in r.group(3).split(",")]
            check(len(values) == last - first + 1, r.group(0))
            counts += values
            want = last + 1
            m = d.lines.index(r.string, m) + 1
            check(len(r.string) < 1000, len(r.string))
        check(want == n and sum(counts) == 300, (want, counts))
        check(d.stop() == 0)


def test_usr1_stats_with_few_workers_on_one_line():
    with Daemon("workers = 3\n") as d:
        socks, _ = hold_clients(d.port, 30)
        for s in socks:
            s.close()
        st = d.stats()
        check(len(st["accepted_by_worker"]) == 3 and
              sum(st["accepted_by_worker"]) == 30, st)
        check(st["notify_dropped"] == 0, st)
        check(not any("continued" in l for l in d.lines), d.lines)


if __name__ == "__main__":
    main(globals())
