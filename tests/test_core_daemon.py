#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""-d: detach, write the pidfile, remove it on exit; fail visibly."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (HELLOD, TIMEOUT, WRAPPER, Skip, ask, check,
                        free_port, main)


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open("/proc/%d/stat" % pid) as f:     # a zombie counts as gone
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_detach_pidfile_and_stop():
    if WRAPPER:
        raise Skip("the wrapper would detach too")
    tmp = tempfile.mkdtemp(prefix="hellod-test-")
    conf = os.path.join(tmp, "hellod.conf")
    pidfile = os.path.join(tmp, "hellod.pid")
    port = free_port()
    with open(conf, "w") as f:
        f.write("bind = 127.0.0.1\nport = %d\npidfile = %s\n" % (port, pidfile))
    # The parent returns only once the child listens.
    p = subprocess.Popen([HELLOD, "-d", "-c", conf], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = p.communicate(timeout=TIMEOUT)
    check(p.returncode == 0, err)
    with open(pidfile) as f:
        pid = int(f.read())
    # The pidfile names the detached child, which runs on, not the parent.
    check(pid != p.pid, "pidfile holds the parent's PID %d" % pid)
    check(not gone(pid), "PID %d from the pidfile is not running" % pid)
    try:
        with socket.create_connection(("127.0.0.1", port), TIMEOUT) as s:
            ask(s)
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        check(int(fields[3]) == pid, "not a session leader (setsid)")
        check(os.readlink("/proc/%d/fd/2" % pid) == "/dev/null")
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + TIMEOUT
    while not gone(pid):
        check(time.monotonic() < deadline, "daemon did not stop")
        time.sleep(0.05)     # polling a process we cannot wait(2) for
    while os.path.exists(pidfile):
        check(time.monotonic() < deadline, "pidfile not removed")
        time.sleep(0.05)
    os.unlink(conf)
    os.rmdir(tmp)


def test_detach_failure_is_reported():
    if WRAPPER:
        raise Skip("the wrapper would detach too")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        tmp = tempfile.mkdtemp(prefix="hellod-test-")
        conf = os.path.join(tmp, "hellod.conf")
        with open(conf, "w") as f:
            f.write("bind = 127.0.0.1\nport = %d\npidfile = %s/pid\n" %
                    (port, tmp))
        p = subprocess.run([HELLOD, "-d", "-c", conf], timeout=TIMEOUT,
                           capture_output=True, stdin=subprocess.DEVNULL)
        check(p.returncode == 1, (p.returncode, p.stderr))
        check(b"port %d is in use" % port in p.stderr, p.stderr)
        check(not os.path.exists(tmp + "/pid"))
        os.unlink(conf)
        os.rmdir(tmp)


if __name__ == "__main__":
    main(globals())
