#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Issue 9, items 1-11 and 15: signals during a stop, -d with odd
standard streams, readiness only once the workers run, the pidfile and
privileges, relative -c, reload warnings, a notify socket nobody reads, the
watchdog during a stop, -t under journald, the descriptor limit at start
and on reload, the SIGUSR1 line with many workers.

A detached daemon (-d) is not our child; this script makes itself a child
subreaper, so the daemon is reparented to it and its exit status can be
waited for (a pidfd) instead of polled."""

import ctypes
import os
import pwd
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hellodtest
from hellodtest import (HELLOD, REPLY, TIMEOUT, Daemon, Skip, Wrapped, ask,
                        check, free_port, main, recv_all, recv_exact)
from test_systemd_notify import Notify   # wait() returns (index, message)

BASE = "port = 0\nbind = 127.0.0.1\n"
PR_SET_CHILD_SUBREAPER = 36


class Unread:
    """A $NOTIFY_SOCKET that nobody ever reads, as a hung manager's."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hellod-notify-")
        self.address = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.address)

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith(
            ("LISTEN_", "WATCHDOG_", "JOURNAL_STREAM"))}
        return dict(env, NOTIFY_SOCKET=self.address, **extra)

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise Skip("prctl(PR_SET_CHILD_SUBREAPER): %s" %
                   os.strerror(ctypes.get_errno()))


def wait_exit(pid, timeout=None):
    """Exit status of a reparented daemon, as subprocess reports it
    (negative: killed by that signal)."""
    fd = os.pidfd_open(pid)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        if not p.poll((timeout or TIMEOUT) * 1000):
            raise AssertionError("pid %d did not exit within %ss" %
                                 (pid, timeout or TIMEOUT))
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


class Detached:
    """hellod -d with a config file, pidfile and fixed port of its own;
    the daemon left over is killed by PID at the end."""

    def __init__(self, conf="", relative=False, **run):
        if hellodtest.WRAPPER:
            raise Skip("the wrapper would detach too")
        subreaper()
        self.dir = tempfile.mkdtemp(prefix="hellod-test-")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "hellod.conf")
        self.pidfile = os.path.join(self.dir, "hellod.pid")
        self.port = free_port()
        self.text = "bind = 127.0.0.1\nport = %d\npidfile = %s\n%s" % (
            self.port, self.pidfile, conf)
        self.write_conf(self.text)
        self.pid = None
        run.setdefault("stdin", subprocess.DEVNULL)
        run.setdefault("capture_output", "stdout" not in run and
                       "stderr" not in run)
        try:
            # relative: "-c hellod.conf", from the directory it is in.
            self.run = subprocess.run(
                [HELLOD, "-d", "-c", "hellod.conf" if relative else
                 self.conf], cwd=self.dir if relative else None,
                timeout=TIMEOUT, **run)
        except BaseException:
            self.close()
            raise
        try:
            with open(self.pidfile) as f:
                self.pid = int(f.read())
        except FileNotFoundError:
            pass
        except BaseException:
            self.close()
            raise

    def write_conf(self, text):
        with open(self.conf + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.conf + ".tmp", self.conf)

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), TIMEOUT)

    def stop(self, sig=signal.SIGTERM):
        check(self.pid is not None, "no pidfile")
        os.kill(self.pid, sig)
        rc = wait_exit(self.pid)
        self.pid = None
        return rc

    def close(self):
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                wait_exit(self.pid)
            except (ProcessLookupError, ChildProcessError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def unread_client(connect, nbytes=2 << 20):
    """A client that pipelines nbytes of lines and never reads a reply."""
    s = connect()
    s.sendall(b"x\n" * (nbytes // 2))
    return s


# Item 1: a SIGHUP during a graceful stop is ignored, and logged.

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


# Item 8: a worker that finished early during a stop is not "stuck".

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


# Item 7: a notify socket nobody reads blocks nothing; drops are counted.

def test_notify_socket_nobody_reads():
    with Unread() as n, \
            Daemon("workers = 1\n", env=n.env(WATCHDOG_USEC="20000")) as d:
        # A ping every 10 ms: the socket's queue is full within a few.
        d.wait_log(r"systemd notification: .*Resource temporarily "
                   r"unavailable")
        start = time.monotonic()
        # Two seconds' worth: the issue saw the replies stop after 2 s.
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


# Item 2: -d with stdin, stdout or stderr closed.

def test_detach_with_a_standard_stream_closed():
    for fd in (0, 1, 2):
        with Detached(preexec_fn=lambda: os.close(fd)) as d:
            check(d.run.returncode == 0, (fd, d.run))
            with d.connect() as s:
                ask(s)
            for i in range(3):
                check(os.readlink("/proc/%d/fd/%d" % (d.pid, i)) ==
                      "/dev/null", (fd, i))
            check(d.stop() == 0, fd)
            check(not os.path.exists(d.pidfile), fd)


# Item 3: -d reports success only once every worker runs.

def test_detach_fails_when_a_worker_cannot_start():
    """Descriptors run out at every step of the start in turn (epoll, the
    internal pipe, an eventfd, a dup...): never a success that dies later,
    never a pidfile left."""
    failed = 0
    for nofile in range(12, 48, 2):
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        with Detached("workers = 8\n", preexec_fn=limit) as d:
            if d.run.returncode == 0:       # it fits: it must serve
                with d.connect() as s:
                    ask(s)
                check(d.stop() == 0, nofile)
                continue
            failed += 1
            check(d.run.returncode == 1, (nofile, d.run))
            check(b"Too many open files" in d.run.stderr, (nofile, d.run))
            check(not os.path.exists(d.pidfile), "pidfile left behind")
            try:
                d.connect().close()
                raise AssertionError("something listens on %d" % d.port)
            except ConnectionRefusedError:
                pass
    check(failed >= 10, "only %d limits too low" % failed)


# Item 4: with "user", the pidfile is written before the privileges go.

def test_detach_with_user_writes_the_pidfile_first():
    if os.geteuid() != 0:
        raise Skip("needs root to change user")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    with Detached("user = nobody\n") as d:
        check(d.run.returncode == 0, d.run)
        with open("/proc/%d/status" % d.pid) as f:
            uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        check(uids == [str(nobody.pw_uid)] * 4, uids)
        with d.connect() as s:
            ask(s)
        check(d.stop() == 0)
        # As hellod(8) says: nobody may not unlink in a directory of
        # root's, so the pidfile stays (and still names the old pid).
        check(os.path.exists(d.pidfile), "pidfile removed")


# Item 5: -d with a relative -c path, then a reload (after chdir("/")).

def test_detach_relative_config_path_reloads():
    with Notify() as n, Detached(relative=True, env=n.env()) as d:
        check(d.run.returncode == 0, d.run)
        n.wait("READY")
        with d.connect() as s:
            ask(s)
        d.write_conf(d.text + "message = Reloaded\n")
        m = n.mark()
        os.kill(d.pid, signal.SIGHUP)
        # READY=1 follows a good reload and a failed one alike.
        i, _ = n.wait("RELOADING", start=m)
        n.wait("READY", start=i + 1)
        with d.connect() as s:
            ask(s, reply=b"Reloaded\n")
        check(d.stop() == 0)


# Item 6: a reload that changes "user" says it takes effect at the next
# start, as one that changes "workers" does.

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


# Item 9: under journald, "hellod -t" (ExecStartPre=, ExecReload=) gives its
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


# Items 10 and 11: the descriptor limit counts every descriptor the daemon
# holds, at start and on a reload that raises max_connections.

def nofile(soft, hard):
    """A wrapper that starts hellod with these RLIMIT_NOFILE limits."""
    if hellodtest.WRAPPER:
        # valgrind answers the daemon's setrlimit() itself and leaves the
        # process's real limit where it was.
        raise Skip("the wrapper does not let the daemon raise its limit")
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < hard and \
            os.geteuid() != 0:
        raise Skip("hard descriptor limit below %d" % hard)
    return [sys.executable, "-c", "import os, resource, sys; "
            "resource.setrlimit(resource.RLIMIT_NOFILE, (%d, %d)); "
            "os.execvp(sys.argv[1], sys.argv[1:])" % (soft, hard)]


def raise_own_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        raise Skip("this test needs %d descriptors, the limit is %d" %
                   (want, hard))
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def soft_nofile(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no Max open files")


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def hold(port, n, window=64):
    """n clients, each answered once and kept open, at most window of them
    waiting for their reply at a time.  Stops at the first window not
    wholly answered; returns the sockets and how many were answered."""
    socks, answered = [], 0
    try:
        while len(socks) < n and answered == len(socks):
            batch = [socket.create_connection(("127.0.0.1", port), TIMEOUT)
                     for _ in range(min(window, n - len(socks)))]
            socks += batch
            for s in batch:
                s.sendall(b"hi\n")
            deadline = time.monotonic() + TIMEOUT
            for s in batch:
                try:
                    left = max(deadline - time.monotonic(), 0.01)
                    if recv_exact(s, len(REPLY), left) == REPLY:
                        answered += 1
                except (AssertionError, OSError):
                    pass
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks, answered


def test_fd_limit_counts_the_workers_descriptors():
    raise_own_nofile(1200)
    with Wrapped(nofile(1024, 20000)), \
            Daemon("workers = 64\nmax_connections = 1000\n") as d:
        own, soft = fd_count(d.pid), soft_nofile(d.pid)
        socks, answered = hold(d.port, 1000)
        try:
            check(answered == 1000, "%d of 1000 clients answered (limit %d,"
                  " %d descriptors held before)" % (answered, soft, own))
            check(soft - own >= 1000, "limit %d, %d descriptors held "
                  "already" % (soft, own))
            st = d.stats()
            check(st["conns_current"] == 1000 and
                  st["accept_paused"] == 0, st)
        finally:
            for s in socks:
                s.close()
        check(not any("descriptor limit" in l for l in d.lines), d.lines)
        check(d.stop() == 0)


def test_reload_raises_the_fd_limit():
    raise_own_nofile(1700)
    conf = "bind = 127.0.0.1\nport = %d\nmax_connections = %d\n"
    with Wrapped(nofile(1024, 20000)), \
            Daemon("max_connections = 100\n") as d:
        check(soft_nofile(d.pid) == 1024, soft_nofile(d.pid))
        m = d.mark()
        check(d.reload(conf % (d.port, 2000)))
        own, soft = fd_count(d.pid), soft_nofile(d.pid)
        socks, answered = hold(d.port, 1500)
        try:
            check(answered == 1500, "%d of 1500 clients answered (limit %d)"
                  % (answered, soft))
            check(soft - own >= 2000, "limit %d, %d descriptors held" %
                  (soft, own))
        finally:
            for s in socks:
                s.close()
        check(not any("descriptor limit" in l for l in d.lines[m:]),
              d.lines[m:])
        check(d.stop() == 0)
    # A hard limit that cannot be passed: the reload says so.
    with Wrapped(nofile(1024, 1024)), \
            Daemon("max_connections = 100\n") as d:
        m = d.mark()
        check(d.reload(conf % (d.port, 2000)))
        d.wait_log(r"warning: the descriptor limit \(1024\) is too low for "
                   r"max_connections 2000", start=m)
        check(d.stop() == 0)


# Item 15: the SIGUSR1 counters whole, whatever the number of workers.

def test_usr1_stats_with_many_workers():
    n = 160
    with Daemon("workers = %d\n" % n) as d:
        socks, answered = hold(d.port, 300)
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
        socks, _ = hold(d.port, 30)
        for s in socks:
            s.close()
        st = d.stats()
        check(len(st["accepted_by_worker"]) == 3 and
              sum(st["accepted_by_worker"]) == 30, st)
        check(st["notify_dropped"] == 0, st)
        check(not any("continued" in l for l in d.lines), d.lines)


if __name__ == "__main__":
    main(globals())
