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

import ctypes
import errno
import os
import pty
import re
import resource
import select
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
    tty: its stderr is a terminal (a pty of the test's) instead of a pipe.
    pass_fds: descriptors it inherits (for a wrapper to pass on)."""

    def __init__(self, conf="", args=(), base="port = 0\nbind = 127.0.0.1\n",
                 ready=True, nofile=None, env=None, tty=False, pass_fds=()):
        self.dir = tempfile.mkdtemp(prefix="hellod-test-")
        self.conf = os.path.join(self.dir, "hellod.conf")
        try:
            self.write_conf(base + conf)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False

        def limits():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        master = slave = None
        try:
            if tty:
                master, slave = pty.openpty()
                stderr = slave
            else:
                stderr = subprocess.PIPE
            self.proc = subprocess.Popen(
                WRAPPER + [HELLOD, "-c", self.conf] + list(args),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr, preexec_fn=limits, pass_fds=pass_fds,
                env=env if env is not None else os.environ)
        except BaseException:
            if master is not None:
                os.close(master)
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        finally:
            if slave is not None:
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

    def thread_states(self):
        """For a daemon that does not stop: each thread's name, state,
        wait channel and pending and blocked signals, from /proc."""
        out = []
        base = "/proc/%d/task" % self.proc.pid
        try:
            tids = sorted(os.listdir(base), key=int)
        except OSError as e:
            return "  (cannot read %s: %s)" % (base, e)
        for tid in tids:
            fields = {}
            try:
                with open(os.path.join(base, tid, "status")) as f:
                    for line in f:
                        k, _, v = line.partition(":")
                        fields[k] = v.strip()
                with open(os.path.join(base, tid, "wchan")) as f:
                    wchan = f.read().strip()
            except OSError:
                continue                # it ended meanwhile
            out.append("  %s %s %s wchan=%s SigPnd=%s ShdPnd=%s SigBlk=%s"
                       % (tid, fields.get("Name"), fields.get("State"),
                          wchan, fields.get("SigPnd"),
                          fields.get("ShdPnd"), fields.get("SigBlk")))
        return "\n".join(out)

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
            state = self.thread_states()
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("hellod did not exit after signal %d;"
                                 " log:\n%s\nthreads:\n%s" %
                                 (sig, self.log_text(), state))
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
        try:
            os.mkfifo(self.fifo)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
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

class Notify:
    """A datagram socket standing in for systemd's notify socket.

    Every message is kept with the time it arrived, and the descriptors
    that came with it (FDSTORE=1) by its index: fds(index), closed with
    the Notify.  on_ready, when given, runs in the receiving thread the
    moment READY=1 arrives, before anything else can happen, so it sees the
    daemon exactly as systemd would.  wait() returns (index, message)."""

    def __init__(self, abstract=False, on_ready=None):
        self.dir = tempfile.mkdtemp(prefix="hellod-notify-")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            if abstract:
                name = "hellod-test-%d-%d" % (os.getpid(), id(self))
                self.sock.bind("\0" + name)
                self.address = "@" + name
            else:
                self.address = os.path.join(self.dir, "notify")
                self.sock.bind(self.address)
        except BaseException:
            self.sock.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.on_ready = on_ready
        self.ready_result = None
        self.msgs = []
        self.passed = {}
        self.cond = threading.Condition()
        self.closing = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        self.sock.settimeout(0.2)
        while not self.closing:
            try:
                data, fds, _, _ = socket.recv_fds(self.sock, 65536, 16)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in
                          data.decode().split("\n") if "=" in line)
            if "READY" in fields and self.on_ready and \
                    self.ready_result is None:
                try:
                    self.ready_result = self.on_ready(fields)
                except Exception as e:     # reported by the test
                    self.ready_result = e
            with self.cond:
                if fds:
                    self.passed[len(self.msgs)] = fds
                self.msgs.append((time.monotonic(), data.decode(), fields))
                self.cond.notify_all()

    def env(self, **extra):
        return clean_env(NOTIFY_SOCKET=self.address, **extra)

    def mark(self):
        with self.cond:
            return len(self.msgs)

    def wait(self, key, start=0, timeout=None):
        """The first message at or after start that sets key."""
        deadline = time.monotonic() + (timeout or TIMEOUT)
        with self.cond:
            i = start
            while True:
                while i < len(self.msgs):
                    i += 1
                    if key in self.msgs[i - 1][2]:
                        return i - 1, self.msgs[i - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "no %s= within %ss; got: %r" %
                        (key, timeout or TIMEOUT,
                         [m[1] for m in self.msgs]))
                self.cond.wait(left)

    def all(self, key, start=0):
        with self.cond:
            return [m for m in self.msgs[start:] if key in m[2]]

    def fds(self, index):
        """The descriptors that came with message index (SCM_RIGHTS)."""
        with self.cond:
            return list(self.passed.get(index, []))

    def close(self):
        self.closing = True
        self.thread.join(TIMEOUT)
        self.sock.close()
        for fds in self.passed.values():
            for fd in fds:
                os.close(fd)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


PR_SET_CHILD_SUBREAPER = 36


def subreaper():
    """Make this process a child subreaper: a daemon that detaches (-d) is
    reparented to it, and its exit status can be waited for (a pidfd)
    instead of polled."""
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
    the daemon left over is killed by PID at the end.  This process
    becomes a subreaper (subreaper()), so the daemon is its child again."""

    def __init__(self, conf="", relative=False, **run):
        if WRAPPER:
            raise Skip("the wrapper would detach too")
        subreaper()
        self.dir = tempfile.mkdtemp(prefix="hellod-test-")
        self.pid = None
        try:
            os.chmod(self.dir, 0o755)
            self.conf = os.path.join(self.dir, "hellod.conf")
            self.pidfile = os.path.join(self.dir, "hellod.pid")
            self.port = free_port()
            self.text = "bind = 127.0.0.1\nport = %d\npidfile = %s\n%s" % (
                self.port, self.pidfile, conf)
            self.write_conf(self.text)
            run.setdefault("stdin", subprocess.DEVNULL)
            run.setdefault("capture_output", "stdout" not in run and
                           "stderr" not in run)
            # relative: "-c hellod.conf", from the directory it is in.
            self.run = subprocess.run(
                [HELLOD, "-d", "-c", "hellod.conf" if relative else
                 self.conf], cwd=self.dir if relative else None,
                timeout=TIMEOUT, **run)
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


def hold_clients(port, n, window=64):
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


def agent_port(d, start=0, host=r"127\.0\.0\.1"):
    """The port of the agent (agent_listen), from its log line."""
    m = d.wait_log(r"agent: answering on %s:(\d+)$" % host, start=start)
    return int(m.group(1))


def agent_says(port, host="127.0.0.1"):
    """What the agent at port answers one connection, to its close."""
    with socket.create_connection((host, port), TIMEOUT) as s:
        return recv_all(s, limit=4096)


def dump_defaults():
    """What "hellod -T" prints for an empty config file: the defaults."""
    with tempfile.NamedTemporaryFile(prefix="hellod-test-",
                                     suffix=".conf") as empty:
        return subprocess.run(WRAPPER + [HELLOD, "-T", "-c", empty.name],
                              capture_output=True,
                              timeout=TIMEOUT).stdout.decode()


def check_off_by_default(word, key):
    """A feature that is off unless its key is set: a daemon on the
    defaults logs nothing about it, and -T shows the key unset."""
    with Daemon() as d:
        with d.connect() as s:
            ask(s)
        d.stats()       # the log is past the start-up lines
        check(not any(word in l for l in d.lines), d.lines)
        check(d.stop() == 0)
    out = dump_defaults()
    check(re.search(r"^#%s =$" % key, out, re.M), out)
    return out


def check_busy_port_fails(key, what):
    """key = ADDRESS:PORT on a port another socket holds: the start fails
    as one on a busy client port does, the cause said with what's prefix."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        with Daemon("%s = 127.0.0.1:%d\n" % (key, busy), ready=False) as d:
            d.wait_log(r"%s: cannot listen on 127\.0\.0\.1:%d: port %d "
                       r"is in use" % (what, busy, busy))
            d.wait_log(r"cannot listen, exiting")
            check(d.proc.wait(TIMEOUT) == 1)


def refused(port):
    """Whether a connect to 127.0.0.1:port is refused: nothing listens."""
    try:
        socket.create_connection(("127.0.0.1", port), TIMEOUT).close()
    except ConnectionRefusedError:
        return True
    return False


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
