#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""libevent's FIONREAD before every read, answered in hellod (readsize.c):
seen from outside with strace, on the connection's descriptor.  Whether
the answer is in effect is what the daemon says at start (configure
--disable-readsize leaves it to the kernel)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import SANITIZED, Skip, Wrapped, ask, check, main
from metricstest import MetricsDaemon

REQUESTS = 200
IN_EFFECT = r"readsize_init: FIONREAD on connections answered (\d+)"
LEFT = r"readsize_init: FIONREAD left to the kernel"
# "PID readv(FD, ..." and "PID ioctl(FD, FIONREAD, ...", finished or not.
CALL = re.compile(r"^\d+\s+(readv|ioctl)\((\d+), (FIONREAD)?")
ACCEPT = re.compile(
    r"^\d+\s+(?:accept4?\(|<\.\.\. accept4? resumed>).*\)\s+=\s+(\d+)")
# A readv() that another thread's call cut in two, and its second half.
PENDING = re.compile(r"^(\d+)\s+readv\((\d+), <unfinished")
RESUMED = re.compile(r"^(\d+)\s+<\.\.\. readv resumed>")
IOV_LEN = re.compile(r"iov_len=(\d+)")
# The most a read of a short line may ask for: what fits the 1 KiB chain
# libevent allocates when the kernel answers FIONREAD with a few bytes, so
# that a partial line waiting for its end holds 1 KiB, not 8.
SHORT_READ = 1024


def strace_ok():
    """strace is there and this process may trace its children."""
    if shutil.which("strace") is None:
        raise Skip("strace is not installed (apt-get install strace)")
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=none", "true"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=30)
    if r.returncode != 0:
        raise Skip("strace cannot trace here: %s" %
                   r.stderr.decode(errors="replace").strip()[:200])


def traced_env():
    """LeakSanitizer stops the threads with ptrace at exit, which a
    process strace traces cannot have: no leak check for this one (the
    other tests make it)."""
    env = dict(os.environ)
    if SANITIZED:
        opts = env.get("ASAN_OPTIONS")
        env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "detect_leaks=0"
    return env


def traced_child(pid):
    """The process strace (pid) started: the daemon."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        children = f.read().split()
    check(len(children) == 1, "strace's children: %r" % children)
    return int(children[0])


def calls_by_fd(path):
    """From strace's output: the first descriptor accept4() returned, and
    per descriptor the readv() and FIONREAD calls after it and the most
    bytes a readv() asked for."""
    conn = None
    readv, fionread, asked, pending = {}, {}, {}, {}
    with open(path, errors="replace") as f:
        for line in f:
            m = ACCEPT.match(line)
            if m and conn is None:
                conn = int(m.group(1))
                continue
            if conn is None:
                continue
            m = PENDING.match(line)
            if m:
                pending[m.group(1)] = int(m.group(2))
            m = RESUMED.match(line)
            if m and m.group(1) in pending:
                fd = pending.pop(m.group(1))
                n = sum(int(v) for v in IOV_LEN.findall(line))
                asked[fd] = max(asked.get(fd, 0), n)
            m = CALL.match(line)
            if not m:
                continue
            fd = int(m.group(2))
            if m.group(1) == "readv":
                readv[fd] = readv.get(fd, 0) + 1
                n = sum(int(v) for v in IOV_LEN.findall(line))
                asked[fd] = max(asked.get(fd, 0), n)
            elif m.group(3):
                fionread[fd] = fionread.get(fd, 0) + 1
    return conn, readv, fionread, asked


def test_requests_on_one_connection_ask_no_fionread():
    """200 requests on one connection: one readv() each (and one for the
    EOF), each asking no more than fits a 1 KiB chain, no FIONREAD on its
    descriptor, each read counted; the metrics endpoint's connection, not
    marked, still asks the kernel."""
    strace_ok()
    tmp = tempfile.mkdtemp(prefix="hellod-test-")
    try:
        out = os.path.join(tmp, "strace.out")
        with Wrapped(["strace", "-f", "-qq", "-o", out, "-e",
                      "trace=accept,accept4,ioctl,readv"]):
            d = MetricsDaemon("workers = 1\nlog_level = debug\n",
                              env=traced_env())
        with d:
            # Signals go to hellod, strace's child, not to strace.
            d.pid = traced_child(d.pid)
            m = d.wait_log(IN_EFFECT + "|" + LEFT)
            answer = int(m.group(1)) if m.group(1) else None
            with d.connect() as s:
                for _ in range(REQUESTS):
                    ask(s)
                got = d.metrics()
            st = d.wait_stat("closed_client", lambda v: v == 1, "== 1")
            check(d.stop() == 0)
        conn, readv, fionread, asked = calls_by_fd(out)
        check(conn is not None, "no accept4() in strace's output")
        reads = readv.get(conn, 0)
        # As with the kernel's answer: a short line's read fits 1 KiB.
        check(0 < asked.get(conn, 0) <= SHORT_READ, (conn, asked))
        # Each request is sent once its reply has come: one read each,
        # and one more that finds the EOF.
        check(REQUESTS <= reads <= REQUESTS + 1, (conn, readv))
        others = sum(n for fd, n in fionread.items() if fd != conn)
        check(others > 0, "the metrics connection's FIONREAD never "
              "reached the kernel: %r" % fionread)
        if answer is not None:
            check(answer > 0, m.group(0))
            check(fionread.get(conn, 0) == 0, (conn, fionread))
            check(st["fionread_answered"] == reads, (st, reads))
            # Scraped after the last reply: a read for each request.
            check(got["hellod_fionread_answered_total"] == REQUESTS,
                  got.get("hellod_fionread_answered_total"))
        else:
            check(fionread.get(conn, 0) == reads, (conn, fionread, reads))
            check(st["fionread_answered"] == 0, st)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(globals())
