# SPDX-License-Identifier: ISC
"""Harness for hellod's integration tests: start the real binary on
127.0.0.1 with an ephemeral port, wait on its log lines (never on sleeps),
talk to it, stop it by PID.

Environment:
  HELLOD          the binary (make check sets it)
  HELLOD_WRAPPER  a command to run it under, e.g.
                  "valgrind -q --vgdb=no --error-exitcode=99"
  HELLOD_TIMEOUT  seconds any single wait may take (default 20)
  HELLOD_SANITIZED  1: the daemon is built with AddressSanitizer or
                  ThreadSanitizer (found by itself when the binary holds
                  __asan_init or __tsan_init; 0 says it is not)

A sanitizer's report on the daemon's stderr fails the test that stopped
it (Daemon.stop() and the end of its "with" block); a detached daemon's
stderr is /dev/null, so tests of -d send the reports to files with
sanitizer_env() and look with check_sanitizer_log().
"""

import errno
import os
import pty
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HELLOD = os.environ.get("HELLOD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "src", "hellod")
WRAPPER = shlex.split(os.environ.get("HELLOD_WRAPPER", ""))
TIMEOUT = float(os.environ.get("HELLOD_TIMEOUT", "20"))
if WRAPPER:
    TIMEOUT *= 3
SKIP = 77


def _binary_holds(symbol):
    try:
        with open(HELLOD, "rb") as f:
            return symbol in f.read()
    except OSError:
        return False


# Built with ThreadSanitizer: everything runs several times slower.
TSAN = _binary_holds(b"__tsan_init")
# HELLOD_SANITIZED=1/0 says whether the daemon is built with ASan or TSan
# (both map shadow memory: no address-space limit, no valgrind, loose
# memory bounds); unset, the binary is looked at.
_san = os.environ.get("HELLOD_SANITIZED")
SANITIZED = (TSAN or _binary_holds(b"__asan_init") if _san in (None, "")
             else _san not in ("0", "no"))
if TSAN and not os.environ.get("HELLOD_TIMEOUT"):
    TIMEOUT *= 3
# The first line of a report of ASan, LSan, TSan or UBSan.
SANITIZER_REPORT = re.compile(
    r"^(==\d+==)?(WARNING|ERROR): \w*Sanitizer|: runtime error: ")
REPLY = b"Hello World\n"
REJECT = b"ERROR too many connections\n"     # past max_connections


class Skip(Exception):
    pass


def clean_env(**extra):
    """This environment less what a service manager would have set
    (socket activation, notify socket, watchdog, journal), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("LISTEN_", "NOTIFY_SOCKET", "WATCHDOG_", "JOURNAL_STREAM"))}
    env.update(extra)
    return env


class Daemon:
    """A hellod process with a config file of its own in a temp dir.

    ready: wait until it listens on 127.0.0.1 and has started (self.port).
    tty: its stderr is a terminal (a pty of the test's) instead of a pipe."""

    def __init__(self, conf="", args=(), base="port = 0\nbind = 127.0.0.1\n",
                 ready=True, nofile=None, env=None, tty=False):
        self.dir = tempfile.mkdtemp(prefix="hellod-test-")
        self.conf = os.path.join(self.dir, "hellod.conf")
        self.write_conf(base + conf)
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False

        def limits():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        if tty:
            master, slave = pty.openpty()
            stderr = slave
        else:
            stderr = subprocess.PIPE
        try:
            self.proc = subprocess.Popen(
                WRAPPER + [HELLOD, "-c", self.conf] + list(args),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr, preexec_fn=limits,
                env=env if env is not None else os.environ)
        except BaseException:
            if tty:
                os.close(master)
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        finally:
            if tty:
                os.close(slave)
        self.output = (os.fdopen(master, "rb") if tty else self.proc.stderr)
        self.pid = self.proc.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.port = None
        if ready:
            try:
                m = self.wait_log(r"listening on 127\.0\.0\.1:(\d+)")
                self.port = int(m.group(1))
                self.wait_log(r"started, pid")
            except BaseException:
                # No "with" block will close it: stop it, remove its dir.
                self.close()
                raise

    def _read(self):
        try:
            for raw in self.output:
                # A terminal ends its lines in CRLF.
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if os.environ.get("HELLOD_TEST_VERBOSE"):
                    sys.stderr.write("  hellod| %s\n" % line)
                with self.cond:
                    self.lines.append(line)
                    self.cond.notify_all()
        except OSError:         # EIO: a pty once its last writer has gone
            pass
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def write_conf(self, text):
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.conf)

    def mark(self):
        """Where the log is now, to wait for lines that come after it."""
        with self.cond:
            return len(self.lines)

    def wait_log(self, pattern, start=0, timeout=None):
        """Wait for a log line matching pattern at or after index start."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + (timeout or TIMEOUT)
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    i += 1
                    if m:
                        return m
                if self.eof:
                    raise AssertionError(
                        "hellod exited (%s) before logging %r; log:\n%s" %
                        (self.proc.poll(), pattern, self.log_text()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "no log line %r within %ss; log:\n%s" %
                        (pattern, timeout or TIMEOUT, self.log_text()))
                self.cond.wait(left)

    def log_text(self):
        return "\n".join("    " + l for l in self.lines[-60:])

    def kill(self, sig):
        os.kill(self.pid, sig)

    def reload(self, text=None):
        """Rewrite the config (if given), send HUP, wait for the outcome."""
        if text is not None:
            self.write_conf(text)
        m = self.mark()
        self.kill(signal.SIGHUP)
        r = self.wait_log(r"reloaded configuration|reload failed", start=m)
        return r.group(0) == "reloaded configuration"

    def stats(self):
        m = self.mark()
        self.kill(signal.SIGUSR1)
        line = self.wait_log(r"stats: (.*)", start=m).group(1)
        return {k: [int(x) for x in v.split(",")] if "," in v else int(v)
                for k, v in (kv.split("=") for kv in line.split())}

    def wait_stats(self, pred, what="", timeout=None):
        """Ask for the counters until pred(counters) holds, for at most
        TIMEOUT seconds like every other wait (a number of polls would
        run out early on a starved machine); return them."""
        deadline = time.monotonic() + (timeout or TIMEOUT)
        while True:
            st = self.stats()
            if pred(st):
                return st
            if time.monotonic() >= deadline:
                raise AssertionError("counters never became %s: %r" %
                                     (what, st))
            time.sleep(0.05)   # pacing between polls, not synchronisation

    def wait_stat(self, name, pred, what="", timeout=None):
        """wait_stats() on one counter: until pred(value) holds."""
        return self.wait_stats(lambda st: pred(st[name]),
                               "%s %s" % (name, what), timeout)

    def connect(self, port=None, host="127.0.0.1", rcvbuf=None):
        """A client; rcvbuf sets a small receive buffer before the
        handshake.  Shrunk after it, the buffer is smaller than the window
        the SYN offered: the kernel then drops hellod's segments, with
        the ACKs they carry, and the client's own sending crawls on
        backed-off retransmits (kernel 6.18, stalled a CI run)."""
        s = socket.socket(socket.AF_INET6 if ":" in host else
                          socket.AF_INET)
        try:
            if rcvbuf is not None:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(TIMEOUT)
            s.connect((host, port or self.port))
        except BaseException:
            s.close()
            raise
        return s

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cpu_share(self, seconds):
        """Its CPU use over a window of this many seconds, as a fraction of
        one core.  The window is the measurement: the sleep is what is
        measured, not a synchronisation."""
        cpu0, t0 = self.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        return (self.cpu_seconds() - cpu0) / (time.monotonic() - t0)

    def threads(self):
        """Its threads, as {name: thread ID}, from /proc/PID/task."""
        names = {}
        for tid in os.listdir("/proc/%d/task" % self.pid):
            try:
                with open("/proc/%d/task/%s/comm" % (self.pid, tid)) as f:
                    names[f.read().strip()] = int(tid)
            except FileNotFoundError:   # it ended meanwhile
                pass
        return names

    def worker_threads(self):
        """The names of its worker threads (worker 0 is the main thread)."""
        return sorted(n for n in self.threads() if n.startswith("hellod/w"))

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Stop it and return its exit status."""
        if self.proc.poll() is None:
            self.kill(sig)
        try:
            rc = self.proc.wait(timeout or TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("hellod did not exit after signal %d;"
                                 " log:\n%s" % (sig, self.log_text()))
        self.reader.join(TIMEOUT)
        self.check_sanitizer()
        return rc

    def check_sanitizer(self):
        """Fail when a sanitizer reported on the daemon's stderr."""
        with self.cond:
            for i, line in enumerate(self.lines):
                if SANITIZER_REPORT.search(line):
                    raise AssertionError(
                        "sanitizer report from hellod:\n%s" %
                        "\n".join("    " + l for l in self.lines[i:i + 60]))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(TIMEOUT)
        self.output.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close()
        if exc_type is None:
            self.check_sanitizer()


class Wrapped:
    """Run the Daemons started inside it under an extra command prefix."""

    def __init__(self, prefix):
        self.prefix = prefix

    def __enter__(self):
        global WRAPPER
        self.saved = WRAPPER
        WRAPPER = self.prefix + self.saved

    def __exit__(self, *exc):
        global WRAPPER
        WRAPPER = self.saved


class Held:
    """The daemon held at one call by hold.so (tests/hold.c): at="filter"
    (attaching a socket filter) or at="open" (fopen of a path ending in
    path).  env() is
    the environment to start it with; after its "hold: held" line,
    release() lets it go on."""

    def __init__(self, at, path=None):
        shim = os.environ.get("HOLD", "")
        if not os.path.exists(shim):
            raise Skip("hold.so not built (HOLD=%r)" % shim)
        if WRAPPER or SANITIZED:
            raise Skip("an LD_PRELOAD shim under a wrapper or ASan")
        self.dir = tempfile.mkdtemp(prefix="hellod-test-")
        self.fifo = os.path.join(self.dir, "hold")
        os.mkfifo(self.fifo)
        self.vars = dict(LD_PRELOAD=shim, HOLD_AT=at, HOLD_FIFO=self.fifo)
        if path is not None:
            self.vars["HOLD_PATH"] = path

    def env(self):
        return dict(os.environ, **self.vars)

    def release(self, proc):
        """Let proc go on; nothing to do if it is gone (the FIFO then has
        no reader, and an open for writing would wait for ever)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                if e.errno != errno.ENXIO or proc.poll() is not None:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError("held process never opened %s" %
                                         self.fifo)
                time.sleep(0.01)        # a poll for the reader, bounded
                continue
            try:
                os.write(fd, b"go")
            finally:
                os.close(fd)
            return

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


def recv_exact(sock, n, timeout=None):
    """Read exactly n bytes or fail."""
    sock.settimeout(timeout or TIMEOUT)
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(min(65536, n - len(buf)))
        if not chunk:
            raise AssertionError("EOF after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_all(sock, timeout=None, limit=64 << 20):
    """Read until EOF (bounded in time and size)."""
    sock.settimeout(timeout or TIMEOUT)
    buf = b""
    while len(buf) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    raise AssertionError("more than %d bytes before EOF" % limit)


def ask(sock, line=b"hello\n", reply=REPLY):
    sock.sendall(line)
    got = recv_exact(sock, len(reply))
    assert got == reply, "expected %r, got %r" % (reply, got)


def free_port():
    """A port nothing listens on right now (for tests that need a fixed one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


SANITIZER_VARS = ("ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS",
                  "UBSAN_OPTIONS")


def sanitizer_env(logdir, env=None):
    """env (default: this one) with every sanitizer's report written to
    logdir/sanitizer.PID instead of stderr, which a detached daemon has
    put on /dev/null."""
    env = dict(os.environ if env is None else env)
    path = "log_path=" + os.path.join(logdir, "sanitizer")
    for var in SANITIZER_VARS:
        env[var] = env[var] + ":" + path if env.get(var) else path
    return env


def check_sanitizer_log(logdir):
    """Fail when sanitizer_env(logdir) collected a report; the files are
    removed either way."""
    text = ""
    for name in sorted(os.listdir(logdir)):
        if name.startswith("sanitizer."):
            path = os.path.join(logdir, name)
            with open(path, errors="replace") as f:
                text += f.read()
            os.unlink(path)
    check(not text, "sanitizer report from hellod:\n" + text[-6000:])


def check(cond, msg=""):
    if not cond:
        raise AssertionError(msg)


def main(namespace):
    """Run every test_* function of the calling script; print a summary."""
    limit = int(TIMEOUT * 30)
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(
        AssertionError("test file took longer than %ds" % limit)))
    signal.alarm(limit)
    names = sorted(n for n in namespace if n.startswith("test_") and
                   callable(namespace[n]))
    only = os.environ.get("HELLOD_TEST_ONLY")
    passed = failed = skipped = 0
    for name in names:
        if only and only not in name:
            continue
        try:
            namespace[name]()
        except Skip as e:
            skipped += 1
            print("SKIP: %s: %s" % (name, e))
        except Exception:
            failed += 1
            print("FAIL: %s" % name)
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print("PASS: %s" % name)
        sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        sys.exit(1)
    sys.exit(SKIP if passed == 0 else 0)
