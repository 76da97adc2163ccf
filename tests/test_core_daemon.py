#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""-d: detach, write the pidfile (safely, before the privileges go),
remove it on exit; fail visibly, also when a worker cannot start; standard
streams on /dev/null even when one was closed; a relative -c that still
reloads after chdir("/")."""

import contextlib
import os
import pwd
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (HELLOD, TIMEOUT, WRAPPER, Detached, Notify, Skip, ask,
                        check, check_sanitizer_log, free_port, main,
                        sanitizer_env)


@contextlib.contextmanager
def detach_dir():
    """A temp dir for a test of -d, removed at the end.  A sanitizer's
    report of the detached daemon (in files there) fails the test, and is
    the failure shown when the test failed otherwise: it says why."""
    if WRAPPER:
        raise Skip("the wrapper would detach too")
    tmp = tempfile.mkdtemp(prefix="hellod-test-")
    try:
        yield tmp
    except BaseException:
        kill_detached(tmp)
        check_sanitizer_log(tmp)
        raise
    else:
        check(not kill_detached(tmp), "a detached hellod was still running")
        check_sanitizer_log(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def kill_detached(tmp):
    """KILL every hellod started on tmp's config that still runs (one that
    started when it should have refused, or hangs), by PID; their PIDs."""
    argv = [HELLOD, "-d", "-c", os.path.join(tmp, "hellod.conf")]
    want = ("\0".join(argv) + "\0").encode()
    pids = []
    for name in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                if name.isdigit() and f.read() == want:
                    pids.append(int(name))
        except OSError:
            pass
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + TIMEOUT
    while not all(gone(pid) for pid in pids):
        check(time.monotonic() < deadline, "hellod %s did not die" % pids)
        time.sleep(0.05)     # processes we cannot wait(2) for
    return pids


def detach(tmp, conf):
    """Run "hellod -d" on this config text until the parent exits; its
    Popen, with the parent's stderr in .err."""
    path = os.path.join(tmp, "hellod.conf")
    with open(path, "w") as f:
        f.write(conf)
    p = subprocess.Popen([HELLOD, "-d", "-c", path], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=sanitizer_env(tmp))
    try:
        p.err = p.communicate(timeout=TIMEOUT)[1]
    except BaseException:
        p.kill()
        p.wait()
        raise
    return p


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:     # a zombie counts as gone
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def stop_detached(pid, pidfile):
    """TERM the detached daemon; wait until it and its pidfile are gone."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + TIMEOUT
    while not gone(pid):
        check(time.monotonic() < deadline, "daemon did not stop")
        time.sleep(0.05)     # polling a process we cannot wait(2) for
    while os.path.exists(pidfile):
        check(time.monotonic() < deadline, "pidfile not removed")
        time.sleep(0.05)


def test_detach_pidfile_and_stop():
    with detach_dir() as tmp:
        pidfile = os.path.join(tmp, "hellod.pid")
        port = free_port()
        # Several workers and several clients: the threads log while
        # "-d" switches the log to syslog (a data race under TSan once).
        p = detach(tmp, "bind = 127.0.0.1\nport = %d\npidfile = %s\n"
                   "workers = 4\n" % (port, pidfile))
        # The parent returns only once the child listens.
        check(p.returncode == 0, p.err)
        with open(pidfile) as f:
            pid = int(f.read())
        # The pidfile names the detached child, which runs on, not the
        # parent.
        check(pid != p.pid, "pidfile holds the parent's PID %d" % pid)
        check(not gone(pid), "PID %d from the pidfile is not running" % pid)
        try:
            for _ in range(8):
                with socket.create_connection(("127.0.0.1", port),
                                              TIMEOUT) as s:
                    ask(s)
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            check(int(fields[3]) == pid, "not a session leader (setsid)")
            check(os.readlink("/proc/%d/fd/2" % pid) == "/dev/null")
        finally:
            stop_detached(pid, pidfile)


def test_detach_failure_is_reported():
    with socket.socket() as taken, detach_dir() as tmp:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        p = detach(tmp, "bind = 127.0.0.1\nport = %d\npidfile = %s/pid\n" %
                   (port, tmp))
        check(p.returncode == 1, (p.returncode, p.err))
        check(b"port %d is in use" % port in p.err, p.err)
        check(not os.path.exists(tmp + "/pid"))


# The pidfile is written by root, before the switch to "user": nobody else
# may choose what it opens (hellod.conf(5), pidfile).

@contextlib.contextmanager
def pidfile_scene(mode=0o755, owner=0):
    """tmp and tmp/run/hellod.pid, tmp/run with this mode and owner."""
    if os.geteuid() != 0:
        raise Skip("needs root: the pidfile checks are about root's open")
    with detach_dir() as tmp:
        run = os.path.join(tmp, "run")
        os.mkdir(run)
        os.chown(run, owner, 0)
        os.chmod(run, mode)
        yield tmp, os.path.join(run, "hellod.pid")


def detach_pidfile(tmp, pidfile):
    return detach(tmp, "bind = 127.0.0.1\nport = %d\npidfile = %s\n"
                  "workers = 1\n" % (free_port(), pidfile))


def check_refused(p, pidfile, why):
    err = p.err.decode(errors="replace")
    check(p.returncode == 1, "started anyway (%d): %s" % (p.returncode, err))
    check(pidfile in err and why in err,
          "no error naming %s and saying %r: %s" % (pidfile, why, err))


def test_pidfile_symlink_and_hard_link_are_refused():
    with pidfile_scene() as (tmp, pidfile):
        victim = os.path.join(tmp, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.symlink(victim, pidfile)
        check_refused(detach_pidfile(tmp, pidfile), pidfile,
                      "is a symbolic link")
        os.unlink(pidfile)
        os.link(victim, pidfile)
        check_refused(detach_pidfile(tmp, pidfile), pidfile,
                      "other hard link")
        with open(victim) as f:
            check(f.read() == "precious\n", "the victim was written to")


def test_pidfile_not_a_regular_file_is_refused():
    with pidfile_scene() as (tmp, pidfile):
        os.mkfifo(pidfile)
        check_refused(detach_pidfile(tmp, pidfile), pidfile,
                      "not a regular file")
        os.unlink(pidfile)
        os.mkdir(pidfile)
        check_refused(detach_pidfile(tmp, pidfile), pidfile,
                      "not a regular file")


def test_pidfile_directory_others_may_write_is_refused():
    with pidfile_scene(owner=65534) as (tmp, pidfile):
        check_refused(detach_pidfile(tmp, pidfile), pidfile,
                      "is owned by uid 65534")
        check(not os.path.exists(pidfile), "pidfile written")
    for mode in (0o777, 0o775):
        with pidfile_scene(mode=mode) as (tmp, pidfile):
            check_refused(detach_pidfile(tmp, pidfile), pidfile,
                          "writable by its group or others")
            check(not os.path.exists(pidfile), "pidfile written")


def test_pidfile_in_root_directory_is_written():
    # 0755, and 1777 as /tmp: others may create, not replace root's files.
    for mode in (0o755, 0o1777):
        with pidfile_scene(mode=mode) as (tmp, pidfile):
            with open(pidfile, "w") as f:   # a stale one, longer: truncated
                f.write("123456789012\n")
            p = detach_pidfile(tmp, pidfile)
            check(p.returncode == 0, p.err)
            st = os.lstat(pidfile)
            check(stat.S_ISREG(st.st_mode) and st.st_uid == 0, st)
            with open(pidfile) as f:
                pid = int(f.read())
            check(not gone(pid), "PID %d from the pidfile is not running" %
                  pid)
            stop_detached(pid, pidfile)


# What follows runs hellod -d through hellodtest.Detached: this process
# is a child subreaper, so the daemon is reparented to it and its exit
# status is waited for (a pidfd) instead of polled.

# -d with stdin, stdout or stderr closed.

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


# -d reports success only once every worker runs.

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


# With "user", the pidfile is written before the privileges go.

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


# -d with a relative -c path, then a reload (after chdir("/")).

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


if __name__ == "__main__":
    main(globals())
