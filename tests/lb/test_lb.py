#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""hellod behind the real HAProxy, on loopback: three hellods with
proxy_protocol = yes and one HAProxy running docs/examples/haproxy.cfg, the
example the package ships and docs/SCALING.md shows, in a copy where only
the addresses, the ports (the agents' too) and the admin socket are
changed (Example).

Skipped (77) when haproxy is not installed (./autogen.sh --test-deps installs
Debian's).  Run by "make check-lb"; one test: HELLOD_TEST_ONLY=rolling.
The load is bounded: LOAD_RATE new connections a second at most, each
from a loopback address of its own, for a few seconds per test.
"""

import csv
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from hellodtest import (REPLY, SKIP, TIMEOUT, Daemon, Skip, check, free_port,
                        main, recv_all)

HAPROXY = os.environ.get("HAPROXY") or shutil.which("haproxy") or \
    "/usr/sbin/haproxy"
HAPROXY_CFG = os.path.join(TOP, "docs", "examples", "haproxy.cfg")
SCALING_MD = os.path.join(TOP, "docs", "SCALING.md")

LB = "127.0.0.1"            # HAProxy's address, the one hellod trusts
CLIENT = "127.0.0.7"        # a client on another loopback address
UNTRUSTED = "127.0.0.9"     # a would-be proxy hellod does not trust
PROXY_TIMEOUT = 1
PER_SOURCE = 2
LOAD_RATE = 40              # new connections a second, at most
LOAD_THREADS = 4
STOP_GRACE = 3              # s: over twice the example's agent-inter 1s
ROUNDS = 3                  # passes over the three hellods, in the restart
PER_SOURCE_REJECT = b"ERROR too many connections from your address\n"

# hellod's side, as in docs/SCALING.md, plus what the tests look at.
HELLOD_CONF = """proxy_protocol = yes
proxy_trusted = 127.0.0.1
proxy_timeout = %d
shutdown_timeout = 5
log_level = debug
""" % PROXY_TIMEOUT

class SetupError(AssertionError):
    """The cluster could not be set up."""


def haproxy_c(path):
    """haproxy -c -f path passes; its output."""
    p = subprocess.run([HAPROXY, "-c", "-f", path], capture_output=True,
                       timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    check(p.returncode == 0, "haproxy -c -f %s: %d\n%s" % (
        path, p.returncode, out))
    check("valid" in out.lower(), out)
    return out


def need_haproxy():
    if not os.access(HAPROXY, os.X_OK):
        raise Skip("no haproxy (%s); ./autogen.sh --test-deps installs it" %
                   HAPROXY)


def loopback_ok(addr):
    try:
        with socket.socket() as s:
            s.bind((addr, 0))
        return True
    except OSError:
        return False


class Example:
    """docs/examples/haproxy.cfg for a test: the same text with only what
    a test must change, each a line of the example matched exactly once
    (a change of the example that moves one fails here, loudly):

    - the frontend's bind (port 5000 on every address) becomes loopback
      and a free port;
    - hellod1..3's addresses and ports become those of the test's hellods,
      and each server line gets the agent port of its own hellod (all on
      one host here, where the example's hosts share one);
    - the admin socket goes into the test's temporary directory;
    - when the test does not run as root, the privilege drop (chroot,
      user, group) goes: HAProxy could not set them, and would exit.
    """

    BIND = "    bind :::5000 v4v6\n"
    SERVER = r"^(    server (hellod\d) )\S+$"
    SOCKET = "/run/haproxy/admin.sock"
    PRIVILEGE = r"^    (chroot|user|group) \S+\n"

    def __init__(self, frontend, backends, agents, sock):
        with open(HAPROXY_CFG) as f:
            text = f.read()
        self.text = self._sub(text, re.escape(self.BIND),
                              "    bind %s:%d\n" % frontend, 1)
        servers = dict(("hellod%d" % i, "%s:%d agent-port %d" % (b + (a,)))
                       for i, (b, a) in enumerate(zip(backends, agents), 1))
        self.text = self._sub(self.text, self.SERVER,
                              lambda m: m.group(1) + servers[m.group(2)],
                              len(servers))
        self.text = self._sub(self.text, re.escape(self.SOCKET), sock, 1)
        if os.geteuid() != 0:
            self.text = self._sub(self.text, self.PRIVILEGE, "", 3)

    @staticmethod
    def _sub(text, pattern, repl, count):
        text, n = re.subn(pattern, repl, text, flags=re.M)
        check(n == count, "%s: %d lines match %r, not %d" % (
            HAPROXY_CFG, n, pattern, count))
        return text


class HAProxy:
    """HAProxy in the foreground with the Example, its output kept; its
    admin socket in a temp dir."""

    def __init__(self, backends, agents, port=None):
        self.dir = tempfile.mkdtemp(prefix="hellod-lb-")
        self.sock = os.path.join(self.dir, "admin.sock")
        self.port = port or free_port()
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        self.lines = []
        self.proc = None
        try:
            text = Example((LB, self.port), backends, agents,
                           self.sock).text
            with open(self.cfg, "w") as f:
                f.write(text)
        except BaseException:
            self.close()
            raise

    def check_config(self):
        return haproxy_c(self.cfg)

    def start(self):
        self.proc = subprocess.Popen(
            [HAPROXY, "-db", "-f", self.cfg], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        # Up once the admin socket answers.
        for _ in range(int(TIMEOUT / 0.05)):
            if self.proc.poll() is not None:
                break
            try:
                self.command("show info")
                return self
            except OSError:
                time.sleep(0.05)    # pacing between polls
        raise AssertionError("haproxy did not come up:\n%s" % self.log())

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def log(self):
        return "\n".join("    haproxy| " + l for l in self.lines[-40:])

    def command(self, cmd):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(TIMEOUT)
            s.connect(self.sock)
            s.sendall(cmd.encode() + b"\n")
            return recv_all(s).decode()

    def states(self):
        """{server: status} from "show stat": UP, DOWN, MAINT, ..."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(text.splitlines())
        return {r["svname"]: r["status"] for r in rows
                if r["pxname"] == "hellods" and
                r["svname"] not in ("FRONTEND", "BACKEND")}

    def wait_states(self, pred, what):
        st = None
        for _ in range(int(3 * TIMEOUT / 0.05)):
            st = self.states()
            if pred(st):
                return st
            time.sleep(0.05)        # pacing between polls
        raise AssertionError("haproxy: servers never %s: %r\n%s" %
                             (what, st, self.log()))

    def wait_up(self, names):
        return self.wait_states(
            lambda st: all(st.get(n, "").startswith("UP") for n in names),
            "%s up" % ",".join(names))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.reader.join(TIMEOUT)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Cluster:
    """Three hellods on ephemeral ports, then HAProxy in front of them."""

    NAMES = ("hellod1", "hellod2", "hellod3")

    def __init__(self, conf=HELLOD_CONF):
        need_haproxy()
        self.hellods = []
        self.retired = []
        self.lb = None
        self.agents = [free_port() for _ in self.NAMES]
        self.confs = [conf + "agent_listen = %s:%d\n" % (LB, a)
                      for a in self.agents]
        try:
            for c in self.confs:
                self.hellods.append(Daemon(c))
            self.ports = [d.port for d in self.hellods]
            self.lb = HAProxy([(LB, p) for p in self.ports], self.agents)
            self.lb.check_config()
            self.lb.start()
            self.lb.wait_up(self.NAMES)
        except AssertionError as e:
            self.close()
            raise SetupError("setting up the cluster: %s" % e)
        except BaseException:
            self.close()
            raise

    def restart(self, i, grace=False):
        """SIGTERM hellod i (0-2), start it again on its ports, and wait
        until HAProxy's checks have reached the new one (two, for rise 2)
        and HAProxy shows the server UP.  grace: the hellods have
        stop_grace, and HAProxy must show the server DRAIN (its agent read)
        while the old one still runs."""
        name = self.NAMES[i]
        old = self.hellods[i]
        m = old.mark()
        old.kill(signal.SIGTERM)
        if grace:
            old.wait_log(r"draining: still serving", start=m)
            self.lb.wait_states(lambda st: st[name].startswith("DRAIN"),
                                "%s DRAIN" % name)
            check(old.proc.poll() is None, "%s exited before HAProxy saw "
                  "it drain" % name)
        rc = old.stop(sig=0)
        check(rc == 0, "%s exited %s after SIGTERM" % (name, rc))
        self.retired.append(old)
        self.hellods[i] = Daemon(self.confs[i],
                                 base="port = %d\nbind = %s\n" %
                                 (self.ports[i], LB))
        self.hellods[i].wait_stat("conns_accepted", lambda v: v >= 2,
                                  ">= 2 (HAProxy's checks)")
        self.lb.wait_up([name])

    def marks(self):
        return [d.mark() for d in self.hellods]

    def find_log(self, pattern, marks, timeout=None):
        """The first hellod log line matching pattern after marks."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + (timeout or TIMEOUT)
        while True:
            for d, m in zip(self.hellods, marks):
                for line in d.lines[m:]:
                    if rx.search(line):
                        return line
            if time.monotonic() > deadline:
                raise AssertionError("no hellod logged %r; logs:\n%s" % (
                    pattern, "\n".join(d.log_text() for d in self.hellods)))
            time.sleep(0.05)        # pacing between looks at the logs

    def connect(self, source=CLIENT):
        s = socket.socket()
        s.settimeout(TIMEOUT)
        s.bind((source, 0))
        s.connect((LB, self.lb.port))
        return s

    def close(self):
        if self.lb is not None:
            self.lb.close()
        for d in self.hellods + self.retired:
            d.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def talk(sock, data=b"hello\n"):
    """Send, half-close, read to EOF: what a one-shot client sees."""
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    return recv_all(sock)


def direct(port, data, source=LB):
    """To one hellod, not through HAProxy, from source: send data, half-close,
    return what comes back before the close (b"" for none; a reset counts as
    none)."""
    with socket.socket() as s:
        s.settimeout(TIMEOUT)
        s.bind((source, 0))
        s.connect((LB, port))
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            return recv_all(s)
        except (ConnectionResetError, BrokenPipeError):
            return b""
        except OSError as e:
            if e.errno != errno.ENOTCONN:   # reset before the shutdown
                raise
            return b""
        except socket.timeout:
            raise AssertionError("%r: no close within %ss" % (data[:40],
                                                             TIMEOUT))


def v1(src, sport, port, family="TCP4", dst=LB):
    return ("PROXY %s %s %s %d %d\r\n" % (family, src, dst, sport,
                                          port)).encode()


class Load:
    """New connections through HAProxy, at most LOAD_RATE a second, each
    from a loopback source of its own (127.0.1.1 to 127.0.1.250, so that no
    per-source cap and no port range runs out), each one request, a
    half-close and exactly one reply expected."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.done = []              # (start, seconds)
        self.errors = []            # (start, what)
        self.threads = [threading.Thread(target=self._run, args=(k,),
                                         daemon=True)
                        for k in range(LOAD_THREADS)]
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()

    def _one(self, n):
        src = "127.0.1.%d" % (1 + n % 250)
        t = time.monotonic()
        try:
            with self.cluster.connect(src) as s:
                got = talk(s, b"load %d\n" % n)
            if got != REPLY:
                raise AssertionError("got %r" % got[:80])
            with self.lock:
                self.done.append((t, time.monotonic() - t))
        except (OSError, AssertionError) as e:
            with self.lock:
                self.errors.append((t, "%s: %s" % (src, e)))

    def _run(self, k):
        # Thread k takes every LOAD_THREADS-th slot of a fixed schedule.
        n = k
        while not self.stopping.is_set():
            at = self.t0 + n / LOAD_RATE
            wait = at - time.monotonic()
            if wait > 0 and self.stopping.wait(wait):   # pacing the rate
                break
            self._one(n)
            n += LOAD_THREADS

    def count(self):
        with self.lock:
            return len(self.done) + len(self.errors)

    def wait_count(self, n):
        """Until n more connections have been made (bounded)."""
        want = self.count() + n
        deadline = time.monotonic() + TIMEOUT + n / LOAD_RATE
        while self.count() < want:
            check(time.monotonic() < deadline, "load stalled at %d of %d" %
                  (self.count(), want))
            time.sleep(1.0 / LOAD_RATE)     # pacing
        return self.count()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(2 * TIMEOUT)
        return self.done, self.errors


def figure(name, value, unit=""):
    if isinstance(value, float):
        value = "%.3g" % value
    print("FIGURE %s=%s %s" % (name, value, unit))
    sys.stdout.flush()


# ---- HAProxy itself: passes today ----

def test_example_in_scaling_md_verbatim():
    with open(HAPROXY_CFG) as f:
        cfg = f.read()
    with open(SCALING_MD) as f:
        doc = f.read()
    blocks = re.findall(r"^```haproxy\n(.*?)^```$", doc, re.S | re.M)
    check(blocks, "no ```haproxy block in %s" % SCALING_MD)
    check(cfg in blocks, "%s does not show %s as it is" % (SCALING_MD,
                                                           HAPROXY_CFG))


def test_example_passes_haproxy_c_as_written():
    # The file an operator copies, not the test's copy: real addresses,
    # /run/haproxy/admin.sock (whose directory "-c" does not need).
    need_haproxy()
    haproxy_c(HAPROXY_CFG)


def test_haproxy_accepts_the_test_copy():
    need_haproxy()
    lb = HAProxy([(LB, free_port()) for _ in Cluster.NAMES],
                 [free_port() for _ in Cluster.NAMES])
    try:
        lb.check_config()
    finally:
        lb.close()


def test_haproxy_starts_and_checks_pass():
    # The health checks (tcp-check send/expect, with a PROXY v2 LOCAL
    # header first) find all three hellods up.
    with Cluster() as c:
        st = c.lb.states()
        check(all(st[n].startswith("UP") for n in c.NAMES), st)


def test_any_message_keeps_servers_up():
    # The health check accepts any line: hellods configured to answer
    # something other than "Hello World" are up, and clients get their
    # answer.  (A check expecting "Hello" marked every server down, and
    # HAProxy then answered nobody.)
    conf = HELLOD_CONF + 'message = "Bonjour"\n'
    with Cluster(conf) as c:        # all three up, or a SetupError
        seen = [d.stats()["conns_accepted"] for d in c.hellods]
        for _ in range(2 * len(c.NAMES)):
            with c.connect() as s:
                got = talk(s)
            check(got == b"Bonjour\n", "got %r" % got)
        # Still up after more checks than "fall" (2) would need to take
        # each server down.
        for d, n in zip(c.hellods, seen):
            d.wait_stat("conns_accepted", lambda v: v >= n + 3,
                        ">= %d (3 more checks)" % (n + 3))
        st = c.lb.states()
        check(all(st[n].startswith("UP") for n in c.NAMES), st)


def test_health_checks_quiet_at_info():
    # Probes every 200 ms, and clients that connect and close at once (a
    # plain TCP check): nothing logged per connection at info level.
    conf = HELLOD_CONF.replace("log_level = debug", "log_level = info")
    with Cluster(conf) as c:
        d = c.hellods[0]
        m = d.mark()
        n = d.stats()["conns_accepted"]
        for _ in range(10):
            with socket.socket() as s:
                s.settimeout(TIMEOUT)
                s.connect((LB, c.ports[0]))
        # The 10 probes and 2 health checks.
        d.wait_stat("conns_accepted", lambda v: v >= n + 12,
                    ">= %d" % (n + 12))
        noisy = [l for l in d.lines[m:] if "stats:" not in l]
        check(not noisy, "logged at info:\n%s" % "\n".join(noisy[:10]))


# ---- what needs the daemon's PROXY support ----

def test_client_address_in_log():
    # Through HAProxy: the hellod names the client, not HAProxy.
    if not loopback_ok(CLIENT):
        raise Skip("cannot bind %s" % CLIENT)
    with Cluster() as c:
        marks = c.marks()
        with c.connect(CLIENT) as s:
            port = s.getsockname()[1]
            got = talk(s)
        check(got == REPLY, "got %r" % got)
        line = c.find_log(r"from %s:%d via 127\.0\.0\.1:\d+" %
                          (re.escape(CLIENT), port), marks)
        print("logged: %s" % line)


def test_v1_by_hand():
    with Cluster() as c:
        d, port = c.hellods[0], c.ports[0]
        m = d.mark()
        got = direct(port, v1("192.0.2.1", 4242, port) + b"hello\r\n")
        check(got == REPLY, "got %r" % got)
        d.wait_log(r"from 192\.0\.2\.1:4242 via", start=m)
        # Split anywhere, with lines after it in the same packet.
        with socket.socket() as s:
            s.settimeout(TIMEOUT)
            s.connect((LB, port))
            hdr = v1("2001:db8::7", 1, port, "TCP6", "2001:db8::1")
            s.sendall(hdr[:9])
            s.sendall(hdr[9:] + b"one\ntwo\n")
            s.shutdown(socket.SHUT_WR)
            got = recv_all(s)
        check(got == 2 * REPLY, "got %r" % got)


def test_no_header_no_reply():
    with Cluster() as c:
        for data in (b"hello\n", b"GET / HTTP/1.0\r\n\r\n",
                     b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\nhello\n",
                     b"PROXY UNKNOWN\nhello\n"):
            got = direct(c.ports[0], data)
            check(got == b"", "%r got %r" % (data, got))
        c.hellods[0].wait_log(r"not a PROXY header")


def test_untrusted_source_no_reply():
    if not loopback_ok(UNTRUSTED):
        raise Skip("cannot bind %s" % UNTRUSTED)
    with Cluster() as c:
        port = c.ports[0]
        got = direct(port, v1("192.0.2.1", 4242, port) + b"hello\n",
                     source=UNTRUSTED)
        check(got == b"", "got %r" % got)
        c.hellods[0].wait_log(re.escape(UNTRUSTED))


def test_silent_connection_closed_after_proxy_timeout():
    with Cluster() as c:
        for data in (b"", b"PROXY TCP4 192.0.2.1 "):
            with socket.socket() as s:
                s.connect((LB, c.ports[0]))
                if data:
                    s.sendall(data)
                t0 = time.monotonic()
                s.settimeout(PROXY_TIMEOUT + 5)
                try:
                    got = recv_all(s, timeout=PROXY_TIMEOUT + 5)
                except socket.timeout:
                    raise AssertionError("%r: still open after %ds" %
                                         (data, PROXY_TIMEOUT + 5))
                took = time.monotonic() - t0
            check(got == b"", "got %r" % got)
            check(PROXY_TIMEOUT - 0.3 <= took <= PROXY_TIMEOUT + 3,
                  "%r: closed after %.2fs, proxy_timeout is %ds" %
                  (data, took, PROXY_TIMEOUT))


def test_per_source_cap():
    conf = HELLOD_CONF + "max_connections_per_source = %d\n" % PER_SOURCE
    with Cluster(conf) as c:
        port = c.ports[0]
        for fam, a, b, other in (
                ("TCP4", "192.0.2.50", "192.0.2.50", "192.0.2.51"),
                ("TCP6", "2001:db8:1:2::1", "2001:db8:1:2::ffff",
                 "2001:db8:1:3::1")):
            held = []
            try:
                dst = LB if fam == "TCP4" else "::1"
                for i in range(PER_SOURCE):
                    s = socket.create_connection((LB, port), TIMEOUT)
                    held.append(s)
                    s.sendall(v1(a if i == 0 else b, 1000 + i, port, fam,
                                 dst) + b"hi\n")
                    check(s.recv(len(REPLY)) == REPLY)
                # One more from the same address, or the same /64.
                got = direct(port, v1(b, 2000, port, fam, dst) + b"hi\n")
                check(got == PER_SOURCE_REJECT, "%s: got %r" % (b, got))
                # Another client is not affected.
                got = direct(port, v1(other, 2001, port, fam, dst) +
                             b"hi\n")
                check(got == REPLY, "%s: got %r" % (other, got))
            finally:
                for s in held:
                    s.close()


def rolling_restart(grace, rounds):
    """Every hellod in turn, rounds times over: SIGTERM, wait for the
    exit, start it again, wait until HAProxy has it UP; under the Load.
    grace: with stop_grace, the agent's drain keeps clients off it first
    (docs/SCALING.md); else only HAProxy's retries do."""
    conf = HELLOD_CONF + "stop_grace = %d\n" % (STOP_GRACE if grace else 0)
    with Cluster(conf) as c:
        load = Load(c)
        try:
            load.wait_count(LOAD_RATE)
            for _ in range(rounds):
                for i in range(len(c.NAMES)):
                    c.restart(i, grace)
                    load.wait_count(LOAD_RATE // 2)
        finally:
            done, errors = load.stop()
        total = len(done) + len(errors)
        what = "" if grace else "plain_"
        figure("lb_%srolling_restart_restarts" % what, rounds * len(c.NAMES))
        figure("lb_%srolling_restart_connections" % what, total)
        figure("lb_%srolling_restart_errors" % what, len(errors))
        if done:
            figure("lb_%srolling_restart_max_latency_ms" % what,
                   1000 * max(t for _, t in done), "ms")
        check(total >= (1 + rounds * len(c.NAMES)) * LOAD_RATE // 2,
              "only %d connections" % total)
        check(not errors, "%d of %d connections failed, e.g.:\n%s" % (
            len(errors), total, "\n".join(e for _, e in errors[:5])))


def test_rolling_restart_under_load():
    # The procedure of docs/SCALING.md, with the agent and stop_grace
    # alone (nothing on HAProxy's runtime API): ROUNDS full passes over
    # the three hellods; no client of the load sees an error.
    rolling_restart(grace=True, rounds=ROUNDS)


def test_plain_rolling_restart_under_load():
    # stop_grace = 0: SIGTERM, restart, next; HAProxy's retries and
    # redispatch alone keep the clients from errors.  One pass.
    rolling_restart(grace=False, rounds=1)


def test_kill_one_new_connections_served():
    with Cluster() as c:
        load = Load(c)
        try:
            load.wait_count(LOAD_RATE // 2)
            c.hellods[1].stop(signal.SIGKILL)
            killed = time.monotonic()
            c.lb.wait_states(lambda st: st["hellod2"].startswith("DOWN"),
                             "hellod2 down")
            load.wait_count(LOAD_RATE)
        finally:
            done, errors = load.stop()
        # Those in flight at the kill may fail; none started after it.
        late = [e for t, e in errors if t > killed]
        after = len([1 for t, _ in done if t > killed]) + len(late)
        figure("lb_kill9_connections_after", after)
        figure("lb_kill9_errors_after", len(late))
        figure("lb_kill9_errors_in_flight", len(errors) - len(late))
        check(after >= LOAD_RATE // 2, "only %d connections after" % after)
        check(not late, "%d of %d new connections failed after the kill, "
              "e.g.:\n%s" % (len(late), after, "\n".join(late[:5])))


if __name__ == "__main__":
    if not os.access(HAPROXY, os.X_OK):
        print("SKIP: no haproxy (%s)" % HAPROXY)
        sys.exit(SKIP)
    main(globals())
