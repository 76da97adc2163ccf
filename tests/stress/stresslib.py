# SPDX-License-Identifier: ISC
"""Shared pieces of the stress and fault suite (tests/stress/stress_*.py).

Everything here drives the real binary from outside: sockets on loopback,
the config file, signals, and /proc/PID for the daemon's descriptors, memory
and CPU time.  Waits are on socket events, log lines and counters, each
bounded in time; loops are bounded in count.

Environment, besides hellodtest's (HELLOD, HELLOD_WRAPPER, HELLOD_TIMEOUT,
HELLOD_TEST_ONLY, HELLOD_SANITIZED: under ASan memory bounds are loosened):
  HELLOD_STRESS_CONNS   connections for the concurrency scenario (10000)
  HELLOD_STRESS_WORKERS a "workers" value written into every config (unset:
                        the daemon's default)
"""

import errno
import os
import resource
import selectors
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import hellodtest                                   # noqa: E402
from hellodtest import (REJECT, REPLY, SANITIZED, TIMEOUT,  # noqa: E402
                        WRAPPER, Skip, ask, check, main, recv_all, recv_exact)

# What the scripts take from here: hellodtest's names and this file's.
__all__ = [
    "REPLY", "REJECT", "TIMEOUT", "WRAPPER", "SANITIZED", "MEASURE_RSS",
    "Daemon", "Deadline", "Skip", "ask", "check", "main", "recv_all",
    "recv_exact", "close_all", "conf_extra", "connect_many", "converse",
    "daemon_env", "exchange", "fd_count", "figure", "fill",
    "raise_nofile", "set_linger0", "wait_closed",
]

WORKERS = os.environ.get("HELLOD_STRESS_WORKERS", "")


def conf_extra():
    """Lines every config of the suite starts with (reloads included)."""
    return "workers = %s\n" % WORKERS if WORKERS else ""


def Daemon(conf="", **kw):
    """hellodtest.Daemon with the suite's extra config lines."""
    return hellodtest.Daemon(conf_extra() + conf, **kw)


# Under a wrapper (valgrind) RSS is the wrapper's: memory is reported only.
MEASURE_RSS = not WRAPPER


def daemon_env(quarantine=True):
    """The daemon's environment.  quarantine=False turns ASan's quarantine
    of freed memory off, for scenarios that measure RSS: with it on, every
    free() holds memory back (up to 256 MB) and RSS measures the quarantine,
    not the daemon.  Leak checking at exit stays on."""
    env = dict(os.environ)
    if not quarantine:
        opts = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
            "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
    return env


def figure(name, value, unit=""):
    if isinstance(value, float):
        value = "%.3g" % value if abs(value) < 1000 else "%.0f" % value
    print("FIGURE %s=%s %s" % (name, value, unit))
    sys.stdout.flush()


def raise_nofile(want):
    """Raise this process's soft RLIMIT_NOFILE towards want (up to the hard
    limit); the daemon inherits it.  Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if new > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        return new
    return soft


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Deadline:
    def __init__(self, seconds, what):
        self.end = time.monotonic() + seconds
        self.what = what

    def left(self):
        left = self.end - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out: %s" % self.what)
        return left


def set_linger0(sock):
    """close() will send RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))


def connect_many(port, n, inflight=512, timeout=None, host="127.0.0.1"):
    """Open n non-blocking connections, at most inflight handshakes at a
    time (the listen backlog drops SYNs beyond it and the kernel would
    retry only after a second).  Returns the connected sockets, in order."""
    dl = Deadline(timeout or 3 * TIMEOUT, "connecting %d clients" % n)
    sel = selectors.DefaultSelector()
    done = []
    started = pending = 0
    try:
        while len(done) < n:
            while started < n and pending < inflight:
                s = socket.socket()
                s.setblocking(False)
                err = s.connect_ex((host, port))
                if err not in (0, errno.EINPROGRESS):
                    s.close()
                    raise AssertionError("connect %d: %s" %
                                         (started, os.strerror(err)))
                sel.register(s, selectors.EVENT_WRITE, started)
                started += 1
                pending += 1
            for key, _ in sel.select(min(dl.left(), 1.0)):
                s = key.fileobj
                sel.unregister(s)
                pending -= 1
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    s.close()
                    raise AssertionError("connect: %s" % os.strerror(err))
                done.append((key.data, s))
            dl.left()
    except BaseException:
        for s in [k.fileobj for k in sel.get_map().values()]:
            s.close()
        for _, s in done:
            s.close()
        raise
    finally:
        sel.close()
    done.sort(key=lambda p: p[0])
    return [s for _, s in done]


def exchange(socks, payload, want, timeout=None, what="exchange"):
    """On every socket at once: send payload (bytes, or a list with one per
    socket) and read until want bytes (an int or a list) have come back.
    Returns the bytes each received.  Sockets must be non-blocking."""
    n = len(socks)
    outs = payload if isinstance(payload, list) else [payload] * n
    wants = want if isinstance(want, list) else [want] * n
    got = [bytearray() for _ in range(n)]
    sent = [0] * n
    dl = Deadline(timeout or 3 * TIMEOUT, what)
    sel = selectors.DefaultSelector()
    left = 0
    try:
        for i, s in enumerate(socks):
            if outs[i]:
                sel.register(s, selectors.EVENT_WRITE, i)
                left += 1
            elif wants[i]:
                sel.register(s, selectors.EVENT_READ, i)
                left += 1
        while left:
            events = sel.select(min(dl.left(), 1.0))
            for key, ev in events:
                i, s = key.data, key.fileobj
                if ev & selectors.EVENT_WRITE:
                    try:
                        sent[i] += s.send(outs[i][sent[i]:sent[i] + 65536])
                    except BlockingIOError:
                        continue
                    if sent[i] == len(outs[i]):
                        if wants[i]:
                            sel.modify(s, selectors.EVENT_READ, i)
                        else:
                            sel.unregister(s)
                            left -= 1
                    continue
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise AssertionError(
                        "%s: client %d: EOF after %d of %d bytes: %r" %
                        (what, i, len(got[i]), wants[i], bytes(got[i][-80:])))
                got[i] += chunk
                if len(got[i]) >= wants[i]:
                    sel.unregister(s)
                    left -= 1
    finally:
        sel.close()
    return [bytes(g) for g in got]


def wait_closed(socks, timeout=None, what="waiting for EOF"):
    """Read every socket until EOF (or a reset); return the bytes each got
    and whether each ended in a reset."""
    n = len(socks)
    got = [bytearray() for _ in range(n)]
    reset = [False] * n
    dl = Deadline(timeout or 3 * TIMEOUT, what)
    sel = selectors.DefaultSelector()
    try:
        for i, s in enumerate(socks):
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
        left = n
        while left:
            for key, _ in sel.select(min(dl.left(), 1.0)):
                i, s = key.data, key.fileobj
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    chunk, reset[i] = b"", True
                if chunk:
                    got[i] += chunk
                    continue
                sel.unregister(s)
                left -= 1
    finally:
        sel.close()
    return [bytes(g) for g in got], reset


def close_all(socks):
    for s in socks:
        s.close()


def converse(socks, payloads, timeout=None, what="converse", shut=True):
    """On every socket at once: send its payload while reading, half-close
    (SHUT_WR) once it is sent (if shut), and read until EOF or a reset.
    Returns the bytes each received and whether each ended in a reset."""
    n = len(socks)
    outs = payloads if isinstance(payloads, list) else [payloads] * n
    got = [bytearray() for _ in range(n)]
    sent = [0] * n
    reset = [False] * n
    dl = Deadline(timeout or 3 * TIMEOUT, what)
    sel = selectors.DefaultSelector()
    R, W = selectors.EVENT_READ, selectors.EVENT_WRITE
    try:
        for i, s in enumerate(socks):
            s.setblocking(False)
            if not outs[i] and shut:
                s.shutdown(socket.SHUT_WR)
            sel.register(s, R | W if outs[i] else R, i)
        while sel.get_map():
            for key, ev in sel.select(min(dl.left(), 1.0)):
                i, s = key.data, key.fileobj
                if ev & W:
                    try:
                        sent[i] += s.send(outs[i][sent[i]:sent[i] + 65536])
                    except BlockingIOError:
                        pass
                    except (BrokenPipeError, ConnectionResetError):
                        reset[i] = True
                        sel.unregister(s)
                        continue
                    if sent[i] == len(outs[i]):
                        if shut:
                            s.shutdown(socket.SHUT_WR)
                        sel.modify(s, R, i)
                if ev & R:
                    try:
                        chunk = s.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        chunk, reset[i] = b"", True
                    if chunk:
                        got[i] += chunk
                    else:
                        sel.unregister(s)
    finally:
        sel.close()
    return [bytes(g) for g in got], reset


def fill(socks, line, quota, timeout=None):
    """Send line after line on every socket (non-blocking) until each has
    sent quota bytes or none is writable for half a second: the peer has
    stopped reading and the socket buffers are full.  Returns the bytes
    each sent (a short send may leave half a line)."""
    return fill_plan(socks, [(line, quota)] * len(socks), timeout)


def fill_plan(socks, plan, timeout=None):
    """fill() with a (line, quota) of its own for each socket."""
    dl = Deadline(timeout or 3 * TIMEOUT, "filling %d sockets" % len(socks))
    sel = selectors.DefaultSelector()
    sent = [0] * len(socks)
    chunks = [line * max(1, 65536 // len(line)) for line, _ in plan]
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_WRITE, i)
    try:
        while sel.get_map():
            events = sel.select(min(dl.left(), 0.5))
            if not events:
                break                    # nobody writable: all blocked
            for key, _ in events:
                i, s = key.data, key.fileobj
                quota = plan[i][1]
                try:
                    sent[i] += s.send(chunks[i][:quota - sent[i]])
                except BlockingIOError:
                    continue
                if sent[i] >= quota:
                    sel.unregister(s)
    finally:
        sel.close()
    return sent
