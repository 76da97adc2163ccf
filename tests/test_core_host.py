#!/usr/bin/env python3
"""The host around hellod: a host with IPv6 disabled, dropping privileges
to `user`, the log format on a terminal."""

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (HELLOD, TIMEOUT, WRAPPER, Daemon, Skip, ask, check,
                        main)


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root")


def test_no_ipv6_host_still_serves_ipv4():
    """Default bind (*) in a network namespace of the test's own with IPv6
    switched off: hellod starts and answers on IPv4."""
    need_root()
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        raise Skip("unshare/nsenter missing")
    setup = ("ip link set lo up && "
             "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && "
             "sysctl -qw net.ipv6.conf.default.disable_ipv6=1 && "
             "sysctl -qw net.ipv6.conf.lo.disable_ipv6=1 && exec \"$@\"")
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="hellod-test-")
    conf = os.path.join(tmp, "hellod.conf")
    with open(conf, "w") as f:
        f.write("port = 0\n")
    p = subprocess.Popen(["unshare", "--net", "sh", "-c", setup, "sh"] +
                         WRAPPER + [HELLOD, "-c", conf],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    try:
        log = b""
        deadline = time.monotonic() + TIMEOUT
        while b"started" not in log:
            check(time.monotonic() < deadline, log)
            r, _, _ = select.select([p.stderr], [], [], 1)
            if r:
                chunk = os.read(p.stderr.fileno(), 4096)
                check(chunk, "hellod exited: %r" % log)
                log += chunk
        port = int(re.search(rb"listening on 0\.0\.0\.0:(\d+)", log)
                   .group(1))
        probe = ("import socket; s = socket.create_connection(("
                 "'127.0.0.1', %d), 10); s.sendall(b'hi\\n'); "
                 "print(s.recv(100).decode(), end='')" % port)
        out = subprocess.run(["nsenter", "-t", str(p.pid), "-n",
                              sys.executable, "-c", probe],
                             capture_output=True, timeout=TIMEOUT)
        check(out.stdout == b"Hello World\n", out)
    finally:
        p.terminate()
        check(p.wait(TIMEOUT) == 0)
        p.stderr.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_user_drops_privileges():
    need_root()
    with Daemon("user = nobody\n") as d:
        d.wait_log('running as user "nobody"')
        with open("/proc/%d/status" % d.pid) as f:
            status = f.read()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
        groups = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1)
        check(set(uids) == {"65534"}, uids)
        check("0" not in gids and "0" not in groups.split(), (gids, groups))
        with d.connect() as s:
            ask(s)
        check(d.stop() == 0)


def test_log_lines_on_a_terminal_carry_the_time():
    if WRAPPER:
        raise Skip("the wrapper writes to the terminal too")
    master, slave = pty.openpty()
    tmp = tempfile.mkdtemp(prefix="hellod-test-")
    conf = os.path.join(tmp, "hellod.conf")
    with open(conf, "w") as f:
        f.write("port = 0\nbind = 127.0.0.1\n")
    p = subprocess.Popen([HELLOD, "-c", conf], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    try:
        out = b""
        deadline = time.monotonic() + TIMEOUT
        while b"started" not in out:
            check(time.monotonic() < deadline, out)
            r, _, _ = select.select([master], [], [], 1)
            if r:
                out += os.read(master, 4096)
        check(re.search(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d notice: "
                        rb"listening on 127\.0\.0\.1:\d+\r?$", out, re.M),
              out)
    finally:
        p.terminate()
        check(p.wait(TIMEOUT) == 0)
        os.close(master)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(globals())
