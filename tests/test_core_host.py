#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The host around hellod: a host with IPv6 disabled, dropping privileges
to `user`, the log format on a terminal."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (REPLY, TIMEOUT, WRAPPER, Daemon, Skip, Wrapped, ask,
                        check, main)


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
    # unshare and sh exec: the daemon keeps their PID.
    with Wrapped(["unshare", "--net", "sh", "-c", setup, "sh"]), \
            Daemon(base="port = 0\n", ready=False) as d:
        port = int(d.wait_log(r"listening on 0\.0\.0\.0:(\d+)").group(1))
        d.wait_log(r"started, pid")
        probe = ("import socket; s = socket.create_connection(("
                 "'127.0.0.1', %d), 10); s.sendall(b'hi\\n'); "
                 "print(s.recv(100).decode(), end='')" % port)
        out = subprocess.run(["nsenter", "-t", str(d.pid), "-n",
                              sys.executable, "-c", probe],
                             capture_output=True, timeout=TIMEOUT)
        check(out.stdout == REPLY, out)
        check(d.stop() == 0)


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
    with Daemon(tty=True) as d:
        check(any(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d notice: "
                               r"listening on 127\.0\.0\.1:%d" % d.port, l)
                  for l in d.lines), d.lines)
        check(d.stop() == 0)


if __name__ == "__main__":
    main(globals())
