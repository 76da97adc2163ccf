#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""sd_notify as a service manager sees it: a test-owned $NOTIFY_SOCKET
receives READY=1 (only once the port answers), RELOADING=1 + MONOTONIC_USEC
then READY=1 around a reload (good or bad), STOPPING=1 on TERM, WATCHDOG=1
every WATCHDOG_USEC/2, also during a stop once some workers have finished;
a notify socket nobody reads blocks nothing and its drops are counted; and
"<N>" priorities on stderr under journald, for the daemon and for -t."""

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hellodtest
from hellodtest import (HELLOD, TIMEOUT, Daemon, Notify, Skip, Wrapped, ask,
                        check, clean_env, main, recv_all, unread_client)

BASE = "port = 0\nbind = 127.0.0.1\n"


class Unread:
    """A $NOTIFY_SOCKET that nobody ever reads, as a hung manager's."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hellod-notify-")
        self.address = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.bind(self.address)
        except BaseException:
            self.close()
            raise

    def env(self, **extra):
        return clean_env(NOTIFY_SOCKET=self.address, **extra)

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def status_port(fields):
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", fields.get("STATUS", ""))
    check(m, "STATUS= does not say where it listens: %r" % fields)
    return int(m.group(1))


def probe_port(fields):
    """Connect to the port READY=1 names and get a reply: right then."""
    port = status_port(fields)
    with socket.create_connection(("127.0.0.1", port), TIMEOUT) as s:
        ask(s)
    return port


def monotonic_usec():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def test_ready_only_once_the_port_answers():
    with Notify(on_ready=probe_port) as n, \
            Daemon(env=n.env(), ready=False, base=BASE) as d:
        _, (when, raw, fields) = n.wait("READY")
        check(fields["READY"] == "1", raw)
        check(isinstance(n.ready_result, int),
              "port did not answer when READY=1 arrived: %r" %
              n.ready_result)
        check(re.fullmatch(r"listening on 127\.0\.0\.1:\d+; 0 connections",
                           fields["STATUS"]), fields)
        check(len(n.all("READY")) == 1)
        d.wait_log(r"listening on 127\.0\.0\.1:%d" % n.ready_result)
        check(d.stop() == 0)


def test_abstract_notify_socket():
    with Notify(abstract=True) as n, Daemon(env=n.env(), base=BASE) as d:
        n.wait("READY")
        check(d.stop() == 0)


def test_reload_sends_reloading_then_ready():
    with Notify() as n, Daemon(env=n.env(), base=BASE) as d:
        n.wait("READY")
        m = n.mark()
        before = monotonic_usec()
        check(d.reload("bind = 127.0.0.1\nport = %d\n" % d.port))
        after = monotonic_usec()
        i, (_, raw, fields) = n.wait("RELOADING", start=m)
        check(fields["RELOADING"] == "1", raw)
        usec = int(fields["MONOTONIC_USEC"])
        check(before <= usec <= after,
              "MONOTONIC_USEC=%d not within [%d, %d]" % (usec, before, after))
        _, (_, raw, fields) = n.wait("READY", start=i + 1)
        check(status_port(fields) == d.port, raw)
        check(d.stop() == 0)


def test_failed_reload_still_sends_ready():
    with Notify() as n, Daemon(env=n.env(), base=BASE) as d:
        n.wait("READY")
        m = n.mark()
        check(not d.reload(BASE + "bogus = 1\n"))
        i, _ = n.wait("RELOADING", start=m)
        n.wait("READY", start=i + 1)
        with d.connect() as s:
            ask(s)
        check(d.stop() == 0)


def test_stopping_on_term():
    with Notify() as n, Daemon(env=n.env(), base=BASE) as d:
        n.wait("READY")
        m = n.mark()
        d.kill(signal.SIGTERM)
        _, (_, raw, fields) = n.wait("STOPPING", start=m)
        check(fields["STOPPING"] == "1", raw)
        check(d.stop() == 0)


def test_status_says_draining_in_the_grace():
    """TERM with stop_grace: STATUS= says it drains and still serves (no
    STOPPING=1 yet); a second TERM ends it."""
    with Notify() as n, Daemon("stop_grace = 3600\n", env=n.env(),
                                base=BASE) as d:
        n.wait("READY")
        m = n.mark()
        d.kill(signal.SIGTERM)
        _, (_, raw, fields) = n.wait("STATUS", start=m)
        check(re.fullmatch(r"draining for stop_grace \(3600 s\), still "
                           r"serving; listening on 127\.0\.0\.1:%d; 0 "
                           r"connections" % d.port, fields["STATUS"]), raw)
        check(not n.all("STOPPING", start=m), n.all("STOPPING", start=m))
        with d.connect() as s:
            ask(s)
        check(d.stop() == 0)


def with_pid(var):
    """A wrapper that sets var to the PID hellod will have (sh execs it)."""
    return ["sh", "-c", '%s=$$; export %s; exec "$@"' % (var, var), "sh"]


def test_watchdog_pings_every_half_period():
    period = 400000                 # 0.4 s: pings every 0.2 s
    with Notify() as n, Wrapped(with_pid("WATCHDOG_PID")), \
            Daemon(env=n.env(WATCHDOG_USEC=str(period)), base=BASE) as d:
        d.wait_log(r"watchdog: pinging systemd every 200 ms")
        intervals = 3
        i, first = n.wait("WATCHDOG")
        for _ in range(intervals):
            i, last = n.wait("WATCHDOG", start=i + 1)
        pings = n.all("WATCHDOG")
        gaps = [b[0] - a[0] for a, b in zip(pings, pings[1:])]
        # Half the period apart on the whole, never a burst, and short of
        # the period: libevent keeps a persistent timer on its schedule, so
        # a tick that a busy machine delays is followed by one less than
        # half a period later, and only the mean says "every 200 ms".
        check(all(g > 0.02 for g in gaps), gaps)
        mean = (last[0] - first[0]) / intervals
        check(0.15 < mean < 0.75 * period / 1e6, (mean, gaps))
        check(re.match(r"listening on .*; \d+ connections?$",
                       last[2]["STATUS"]), last)
        check(d.stop() == 0)


def test_watchdog_stops_while_a_worker_is_stuck():
    """The pings vouch for every loop: one worker thread stopped alone (by
    ptrace, as a thread hung in a loop would be) stops them, so systemd
    restarts the service; they resume when it runs again."""
    if hellodtest.WRAPPER:
        raise Skip("ptrace and a wrapper do not mix")
    PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                            ctypes.c_void_p]
    period = 400000                 # pings every 0.2 s
    with Notify() as n, Daemon(env=n.env(WATCHDOG_USEC=str(period)),
                               base=BASE + "workers = 2\n") as d:
        n.wait("WATCHDOG")
        tid = d.threads()["hellod/w1"]
        if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
            raise Skip("ptrace: %s" % os.strerror(ctypes.get_errno()))
        try:
            check(libc.ptrace(PTRACE_INTERRUPT, tid, None, None) == 0)
            os.waitpid(tid, 0x40000000)         # __WALL: it has stopped
            m = d.mark()
            d.wait_log(r"worker 1: its loop has not run", start=m)
            stuck = time.monotonic()
            # Stay stopped for longer than systemd's WatchdogSec would be;
            # a ping sent before the stop may still be in flight briefly.
            time.sleep(2 * period / 1e6)
            late = [p for p in n.all("WATCHDOG") if p[0] > stuck + 0.05]
            check(not late, late)
            with d.connect() as s:       # the other loop still serves
                ask(s)
            resumed = len(n.msgs)
        finally:
            libc.ptrace(PTRACE_DETACH, tid, None, None)
        n.wait("WATCHDOG", start=resumed)
        check(d.stop() == 0)


def test_watchdog_for_another_pid_is_refused():
    with Notify() as n, Daemon(env=n.env(WATCHDOG_USEC="200000",
                                         WATCHDOG_PID="1"), base=BASE) as d:
        d.wait_log(r"watchdog not started: WATCHDOG_PID=1 is not this")
        n.wait("READY")
        with d.connect() as s:
            ask(s)
        check(d.stop() == 0)
        check(not n.all("WATCHDOG"), n.msgs)


def test_bad_notify_socket_is_logged_not_fatal():
    env = dict(os.environ, NOTIFY_SOCKET="relative/notify")
    with Daemon(env=env, base=BASE) as d:
        d.wait_log(r"NOTIFY_SOCKET=\"relative/notify\" is neither")
        with d.connect() as s:
            ask(s)
        check(d.stop() == 0)


def test_journal_stream_gets_priority_prefixes():
    # JOURNAL_STREAM names stderr (the harness's pipe) as journald would.
    prefix = ["sh", "-c", 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2)'
              '; export JOURNAL_STREAM; exec "$@"', "sh"]
    with Wrapped(prefix), Daemon(base=BASE) as d:
        m = d.mark()
        check(not d.reload(BASE + "bogus = 1\n"))
        d.wait_log(r"^<3>reload failed, keeping the running configuration$",
                   start=m)
        check(d.stop() == 0)
        lines = d.lines
        check(all(re.match(r"<[0-7]>\S", l) for l in lines), lines)
        check(any(re.fullmatch(r"<5>listening on 127\.0\.0\.1:\d+", l)
                  for l in lines), lines)
        check(any(l.startswith("<3>") and "unknown key" in l
                  for l in lines), lines)


def test_journal_stream_of_another_file_is_ignored():
    env = dict(os.environ, JOURNAL_STREAM="1:1")
    with Daemon(env=env, base=BASE) as d:
        check(d.stop() == 0)
        check(not any(l.startswith("<") for l in d.lines), d.lines)


# A worker that finished early during a stop is not "stuck".

def test_watchdog_keeps_pinging_while_some_workers_finished():
    period = 400000                 # pings every 0.2 s, beats every 0.1 s
    with Notify() as n, Daemon("workers = 4\nshutdown_timeout = 60\n"
                               "max_output = 1k\n",
                               env=n.env(WATCHDOG_USEC=str(period))) as d:
        n.wait("WATCHDOG")
        socks = [unread_client(d.connect) for _ in range(2)]
        try:
            d.wait_stat("output_paused", lambda v: v >= 2, ">= 2")
            m, log = n.mark(), d.mark()
            d.kill(signal.SIGTERM)
            i, _ = n.wait("STOPPING", start=m)
            # Six pings, over a second of the stop, while two workers still
            # have their client and the others are done.
            for _ in range(6):
                i, _ = n.wait("WATCHDOG", start=i + 1)
            stuck = [l for l in d.lines[log:] if "has not run" in l]
            check(not stuck, stuck)
            for s in socks:
                recv_all(s)
        finally:
            for s in socks:
                s.close()
        check(d.stop(sig=0) == 0)


# A notify socket nobody reads blocks nothing; drops are counted.

def test_notify_socket_nobody_reads():
    with Unread() as n, \
            Daemon("workers = 1\n", env=n.env(WATCHDOG_USEC="20000")) as d:
        # A ping every 10 ms: the socket's queue is full within a few.
        d.wait_log(r"systemd notification: .*Resource temporarily "
                   r"unavailable")
        start = time.monotonic()
        # Two seconds' worth: replies once stopped after 2 s of it.
        st = d.wait_stat("notify_dropped", lambda v: v >= 200, ">= 200")
        elapsed = time.monotonic() - start
        with d.connect() as s:
            for _ in range(10):
                ask(s)
        warned = [l for l in d.lines if "systemd notification" in l]
        # Rate-limited: one line a second at most, the rest counted.
        check(len(warned) <= elapsed + 2, (elapsed, warned))
        check(st["notify_dropped"] >= 200, st)
        rc = d.stop(timeout=TIMEOUT)
        check(rc == 0, "exit status %s" % rc)


# Under journald, "hellod -t" (ExecStartPre=, ExecReload=) gives its
# errors error priority, so "journalctl -p warning" shows a failed reload.
# tests/e2e/guest.sh proves it under a real systemd.

def journald(*cmd):
    """Run cmd with $JOURNAL_STREAM naming its stderr, as journald would."""
    return subprocess.run(
        ["sh", "-c", 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); '
         'export JOURNAL_STREAM; exec "$@"', "sh"] + list(cmd),
        stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)


def test_config_test_under_journald_has_priorities():
    tmp = tempfile.mkdtemp(prefix="hellod-test-")
    try:
        conf = os.path.join(tmp, "hellod.conf")
        with open(conf, "w") as f:
            f.write("port = 0\nbogus = 1\nworkers = -1\n")
        for args in (["-t"], ["-T"], []):
            p = journald(HELLOD, "-c", conf, *args)
            check(p.returncode == 3, (args, p))
            lines = p.stderr.decode().splitlines()
            check(lines and all(l.startswith("<3>") for l in lines),
                  (args, lines))
            check(any(re.match(r"<3>%s:2: unknown key 'bogus'" %
                                   re.escape(conf), l) for l in lines),
                  (args, lines))
            check(any(re.match(r"<3>%s:3: " % re.escape(conf), l)
                      for l in lines), (args, lines))
            if args:
                check(lines[-1] == "<3>configuration test failed", lines)
        with open(conf, "w") as f:
            f.write("port = 0\n")
        p = journald(HELLOD, "-t", "-c", conf)
        check(p.returncode == 0, p)
        check(p.stderr == b"<6>configuration OK\n", p.stderr)
        # Without journald, as before: no prefixes.
        p = subprocess.run([HELLOD, "-t", "-c", conf], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT,
                           env=dict(os.environ, JOURNAL_STREAM="1:1"))
        check(p.stderr == b"configuration OK\n", p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(globals())
