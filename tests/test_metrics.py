#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The metrics endpoint (metrics_listen): the exposition as promtool sees
it, exact counter deltas, HTTP errors, IPv6, reloads that apply all or
nothing, and hostile scrapers that stay bounded."""

import http.client
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (HELLOD, REPLY, TIMEOUT, WRAPPER, Daemon, Skip, ask,
                        check, check_busy_port_fails, check_off_by_default,
                        free_port, ipv6_loopback, main, recv_exact,
                        refused)
from metricstest import (CONTENT_TYPE, MetricsDaemon, family_names,
                         header_value, man_metrics, man_usr1, metrics_port,
                         parse, request)

CONN_MAX = header_value("HTTPD_CONN_MAX")
HTTP_TIMEOUT = header_value("HTTPD_TIMEOUT")
DOCUMENTED = man_metrics()
CLOSED = 'hellod_connections_closed_total{reason="%s"}'
REJECTED = 'hellod_connections_rejected_total{reason="max_connections"}'
BY_WORKER = "hellod_worker_connections_accepted_total"


def version():
    out = subprocess.run([HELLOD, "-V"], capture_output=True,
                         timeout=TIMEOUT).stdout.decode()
    return out.split()[1]


def promtool(text):
    tool = shutil.which("promtool")
    if tool is None:
        raise Skip("promtool not found (apt-get install prometheus, or "
                   "./autogen.sh --test-deps)")
    p = subprocess.run([tool, "check", "metrics"], input=text,
                       capture_output=True, timeout=TIMEOUT * 3)
    return p.returncode, (p.stdout + p.stderr).decode()


def test_families_are_the_documented_ones():
    """Every family of a scrape, once each with one HELP and one TYPE, is
    one hellod.conf(5) documents, and every one it documents is served;
    so is every label value it shows, and no other."""
    t0 = time.time()
    with MetricsDaemon("workers = 3\n") as d:
        status, headers, body = d.scrape()
        check(status == 200, status)
        check(dict(headers)["Content-Type"] == CONTENT_TYPE, headers)
        text = body.decode("utf-8")
        names = family_names(text)
        check(len(names) == len(set(names)), names)
        check(sorted(names) == sorted(DOCUMENTED),
              (set(names) ^ set(DOCUMENTED)))
        for name in names:
            check(len(re.findall(r"^# HELP %s \S" % name, text, re.M)) == 1,
                  name)
            check(len(re.findall(r"^# TYPE %s " % name, text, re.M)) == 1,
                  name)
        got = parse(text)
        for name, (label, values) in DOCUMENTED.items():
            served = [re.fullmatch(r'%s\{%s="(.*)"\}' % (name, label), k)
                      if label else None for k in got if
                      k == name or k.startswith(name + "{")]
            check(served, "%s: no sample" % name)
            if label in ("reason",):
                check(sorted(m.group(1) for m in served) == sorted(values),
                      (name, served, values))
        check(got['hellod_build_info{version="%s"}' % version()] == 1, got)
        check(got["hellod_workers"] == 3, got)
        check(sorted(k for k in got if k.startswith(
            "hellod_worker_connections_accepted_total{")) ==
            sorted('hellod_worker_connections_accepted_total{worker="%d"}'
                   % i for i in range(3)), got)
        check(t0 - 1 <= got["process_start_time_seconds"] <= time.time(),
              (t0, got["process_start_time_seconds"]))
        for reason in DOCUMENTED["hellod_connections_closed_total"][1]:
            check(got[CLOSED % reason] == 0, got)
        check(got[REJECTED] == 0, got)
        check(d.stop() == 0)


def test_promtool_check_metrics_is_silent():
    with MetricsDaemon("max_connections = 1\n") as d:
        with d.connect() as s:
            ask(s)
            with d.connect() as s2:     # rejected: a non-zero label value
                s2.recv(100)
        d.wait_metrics({REJECTED: 1, "hellod_requests_total": 1})
        status, _, body = d.scrape()
        rc, out = promtool(body)
        check(rc == 0 and out == "", "promtool: rc %d:\n%s" % (rc, out))


def test_counters_are_exact():
    """15 lines add exactly 15 requests; a 4-byte line adds 4 bytes
    received and the reply's length sent.  Two workers: the sum is exact
    too."""
    with MetricsDaemon("workers = 2\n") as d:
        before = d.metrics()
        with d.connect() as s:
            s.sendall(b"x\n" * 15)
            recv_exact(s, 15 * len(REPLY))
            want = {
                "hellod_requests_total": before["hellod_requests_total"] + 15,
                "hellod_bytes_received_total":
                    before["hellod_bytes_received_total"] + 30,
                "hellod_bytes_sent_total":
                    before["hellod_bytes_sent_total"] + 15 * len(REPLY),
                "hellod_connections_accepted_total":
                    before["hellod_connections_accepted_total"] + 1,
                "hellod_connections_active": 1,
            }
            d.wait_metrics(want)
            ask(s, b"abc\n")
            want["hellod_requests_total"] += 1
            want["hellod_bytes_received_total"] += 4
            want["hellod_bytes_sent_total"] += len(REPLY)
            mid = d.wait_metrics(want)
        want["hellod_connections_active"] = 0
        want[CLOSED % "client"] = before[CLOSED % "client"] + 1
        after = d.wait_metrics(want)
        # Nothing else moved.
        # Nothing else moved (but what the process uses, the
        # connection's worker, below, and its reads, as many as the
        # kernel's segments: test_core_readsize.py counts those).
        for k in before:
            if k not in want and not k.startswith((
                    "process_", BY_WORKER, "hellod_fionread_answered")):
                check(after[k] == before[k], (k, before[k], after[k]))
        # SIGUSR1 reads the same counters, each under the name
        # hellod.conf(5) gives it.
        st = d.stats()
        for name, sample in man_usr1().items():
            if sample == BY_WORKER:
                check(st[name] == [after['%s{worker="%d"}' % (BY_WORKER, i)]
                                   for i in range(2)], (name, st, after))
            else:
                check(st[name] == after[sample], (name, sample, st, after))
        check(mid["hellod_connections_active"] == 1, mid)


def test_http_errors_and_head():
    with MetricsDaemon() as d:
        for path in ("/", "/metric", "/metrics/", "/metricsx", "/x/metrics",
                     "/healthz/", "/readyzx", "/ready"):
            status, headers, body = d.scrape(path)
            check(status == 404, (path, status))
            check(dict(headers)["Content-Type"].startswith("text/plain"),
                  headers)
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
            status, headers, _ = d.scrape(method=method)
            check(status == 405, (method, status))
            check(dict(headers).get("Allow") == "GET, HEAD", headers)
        status, _, get = d.scrape("/metrics?name=x")
        check(status == 200, status)
        status, headers, body = d.scrape(method="HEAD")
        check(status == 200 and body == b"", (status, body))
        check(int(dict(headers)["Content-Length"]) == len(get), headers)
        # A method HTTP does not have (501, as RFC 9110 says), and a
        # request line that is not HTTP.
        for line, want in ((b"BREW /metrics HTTP/1.1", b"HTTP/1.1 501"),
                           (b"GARBAGE", b"HTTP/1.1 400")):
            with socket.create_connection(("127.0.0.1", d.mport),
                                          TIMEOUT) as s:
                s.sendall(line + b"\r\nHost: x\r\n\r\n")
                got = s.recv(100)
                check(got.startswith(want), (line, got))
        # Headers past HTTPD_HEADERS_MAX: an error, never a scrape.
        big = b"x" * (header_value("HTTPD_HEADERS_MAX") + 100)
        with socket.create_connection(("127.0.0.1", d.mport), TIMEOUT) as s:
            try:
                s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + big + b"\r\n\r\n")
                got = s.recv(100)
            except ConnectionResetError:
                got = b""
            check(got == b"" or re.match(rb"HTTP/1\.1 4\d\d", got), got)
        check(d.scrape()[0] == 200)
        # Two scrapes on one kept-alive connection.
        c = http.client.HTTPConnection("127.0.0.1", d.mport, timeout=TIMEOUT)
        for _ in range(2):
            c.request("GET", "/metrics")
            r = c.getresponse()
            check(r.status == 200 and len(r.read()) > 0, r.status)
        c.close()
        check(d.stop() == 0)


def test_healthz_and_readyz():
    """/healthz 200 while the process runs; /readyz 200 while serving,
    503 once TERM came (stop_grace here; test_core_drain.py has more);
    short text bodies; HEAD; other methods 405; hellod_draining with
    /readyz."""
    with MetricsDaemon("stop_grace = 3600\n") as d:
        for path in ("/healthz", "/readyz"):
            status, headers, body = d.scrape(path)
            check((status, body) == (200, b"ok\n"), (path, status, body))
            check(dict(headers)["Content-Type"].startswith("text/plain"),
                  headers)
            status, headers, body = d.scrape(path, method="HEAD")
            check(status == 200 and body == b"", (path, status, body))
            check(dict(headers)["Content-Length"] == "3", headers)
            status, headers, _ = d.scrape(path, method="POST")
            check(status == 405, (path, status))
        check(d.metrics()["hellod_draining"] == 0)
        m = d.mark()
        d.kill(signal.SIGTERM)
        d.wait_log(r"draining: still serving", start=m)
        status, _, body = d.scrape("/readyz")
        check((status, body) == (503, b"draining\n"), (status, body))
        status, _, body = d.scrape("/healthz")
        check((status, body) == (200, b"ok\n"), (status, body))
        check(d.metrics()["hellod_draining"] == 1)
        check(d.stop() == 0)        # the second TERM


def test_request_uri_is_escaped_in_the_log():
    """A scraper's request line reaches the debug log escaped: no ESC or CR
    of it drives the reader's terminal or starts a line of its own."""
    forged = ((b"/metrics\x1b[2J\rforged: line",
               r"/metrics\\x1b\[2J\\rforged: line"),
              (b"/x\x9b\rerror: fake failure",
               r"/x\\x9b\\rerror: fake failure"),
              (b"/back\\slash", r"/back\\\\slash"))
    with MetricsDaemon("log_level = debug\n") as d:
        for uri, escaped in forged:
            m = d.mark()
            with socket.create_connection(("127.0.0.1", d.mport),
                                          TIMEOUT) as s:
                s.sendall(b"GET " + uri + b" HTTP/1.0\r\n\r\n")
                got = s.recv(100)
                check(re.match(rb"HTTP/1\.[01] 404", got), (uri, got))
            line = d.wait_log(r"httpd_reply: metrics: .*: 404$",
                              start=m).string
            check(re.search(r"metrics: %s: 404$" % escaped, line),
                  "not escaped as %r: %r" % (escaped, line))
        check(d.stop() == 0)
        for line in d.lines:
            check("\x1b" not in line and "\r" not in line
                  and "\ufffd" not in line, "raw client byte: %r" % line)
            for part in line.split("\r"):
                check(not part.startswith(("forged", "error: fake")),
                      "forged line: %r" % line)


def test_ipv6_loopback():
    if not ipv6_loopback():
        raise Skip("no IPv6 loopback here")
    with MetricsDaemon(listen="[::1]:0") as d:
        check(d.metrics()["hellod_requests_total"] == 0)
        check(d.stop() == 0)


def test_off_by_default():
    check_off_by_default("metrics", "metrics_listen")


def test_config_errors():
    d = tempfile.mkdtemp(prefix="hellod-test-")
    try:
        path = os.path.join(d, "hellod.conf")
        with open(path, "w") as f:
            f.write("metrics_listen = localhost:9100\n")
        p = subprocess.run(WRAPPER + [HELLOD, "-t", "-c", path],
                           capture_output=True, timeout=TIMEOUT)
        err = p.stderr.decode()
        check(p.returncode == 3, (p.returncode, err))
        check(re.search(r"^%s:1: metrics_listen: 'localhost:9100' is not "
                        r"ADDRESS:PORT" % re.escape(path), err, re.M), err)
        with open(path, "w") as f:
            f.write("metrics_listen = [::1]:5001\n")
        p = subprocess.run(WRAPPER + [HELLOD, "-T", "-c", path],
                           capture_output=True, timeout=TIMEOUT)
        check(p.returncode == 0, p.stderr)
        check(re.search(r"^metrics_listen = \[::1\]:5001$",
                        p.stdout.decode(), re.M), p.stdout)
    finally:
        shutil.rmtree(d)


def test_busy_port_at_start_fails_like_port():
    check_busy_port_fails("metrics_listen", "metrics")


def test_reload_is_transactional():
    with Daemon() as d, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        base = "bind = 127.0.0.1\nport = %d\n" % d.port

        # Off to on.
        p1 = free_port()
        m = d.mark()
        check(d.reload(base + "metrics_listen = 127.0.0.1:%d\n" % p1))
        check(metrics_port(d, start=m) == p1)
        got = parse(request(p1)[2].decode())
        check(got["hellod_reloads_total"] == 1, got)

        # A port that is taken: the reload fails whole, the message too.
        m = d.mark()
        check(not d.reload(base + "message = new\n"
                           "metrics_listen = 127.0.0.1:%d\n" % busy))
        d.wait_log(r"metrics: cannot listen on 127\.0\.0\.1:%d: port %d is "
                   r"in use" % (busy, busy), start=m)
        got = parse(request(p1)[2].decode())
        check(got["hellod_reload_failures_total"] == 1, got)
        with d.connect() as s:
            ask(s)      # the old message

        # A new main port and a taken metrics port: neither changes.
        new_main = free_port()
        check(not d.reload("bind = 127.0.0.1\nport = %d\n"
                           "metrics_listen = 127.0.0.1:%d\n" % (new_main,
                                                                busy)))
        check(refused(new_main), "new main port %d opened" % new_main)
        with d.connect() as s:
            ask(s)
        check(request(p1)[0] == 200)

        # Unchanged: the endpoint and its kept-alive connections stay.
        c = http.client.HTTPConnection("127.0.0.1", p1, timeout=TIMEOUT)
        c.request("GET", "/metrics")
        c.getresponse().read()
        check(d.reload(base + "message = Bonjour\n"
                       "metrics_listen = 127.0.0.1:%d\n" % p1))
        c.request("GET", "/metrics")
        r = c.getresponse()
        check(r.status == 200, r.status)
        check(parse(r.read().decode())["hellod_reloads_total"] == 2)
        c.close()

        # Another port: the new one serves, the old one is closed.
        p2 = free_port()
        m = d.mark()
        check(d.reload(base + "metrics_listen = 127.0.0.1:%d\n" % p2))
        check(metrics_port(d, start=m) == p2)
        check(request(p2)[0] == 200)
        check(refused(p1), "old metrics port %d still open" % p1)

        # On to off.
        check(d.reload(base))
        check(refused(p2), "metrics port %d still open" % p2)
        st = d.stats()
        check(st["reloads"] == 4 and st["reloads_failed"] == 2, st)
        check(d.stop() == 0)


def half_sent(port):
    s = socket.create_connection(("127.0.0.1", port), TIMEOUT)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")     # no blank line
    return s


def wait_eof(s, limit):
    """Seconds until the server closes s; fails past limit."""
    t0 = time.monotonic()
    s.settimeout(limit)
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError("still open after %.1f s" % limit)
    return time.monotonic() - t0


def test_hostile_scrapers_are_bounded():
    """More half-sent requests than HTTPD_CONN_MAX: the main port still
    answers at once; a scrape waits in the backlog, and is served once some
    of them close; the rest are cut off after HTTPD_TIMEOUT, as is a
    client that drips its request."""
    with MetricsDaemon() as d:
        hostile = [half_sent(d.mport) for _ in range(CONN_MAX + 2)]
        d.wait_log(r"metrics: %d connections at once, accepting no more" %
                   CONN_MAX)
        with d.connect() as s:
            t0 = time.monotonic()
            ask(s)
            took = time.monotonic() - t0
        check(took < HTTP_TIMEOUT / 2, "main port took %.2f s" % took)

        scrape = socket.create_connection(("127.0.0.1", d.mport), TIMEOUT)
        scrape.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                       b"Connection: close\r\n\r\n")
        # Not served while the cap is reached (a bound, not a wait on it).
        scrape.settimeout(0.3)
        try:
            check(scrape.recv(100) == b"", "served past the cap")
        except socket.timeout:
            pass
        for s in hostile[:3]:
            s.close()
        scrape.settimeout(TIMEOUT)
        head = scrape.recv(100)
        check(head.startswith(b"HTTP/1.1 200 OK"), head)
        scrape.close()

        # A client that drips a header line every 0.2 s: evhttp's timeout
        # alone would never end it; the deadline does.
        drip = half_sent(d.mport)
        closed = threading.Event()

        def dripping():
            for _ in range(int((HTTP_TIMEOUT + TIMEOUT) / 0.2)):
                try:
                    drip.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    break
                if closed.wait(0.2):
                    break

        t = threading.Thread(target=dripping, daemon=True)
        t.start()
        limit = HTTP_TIMEOUT + TIMEOUT
        for s in hostile[3:]:
            wait_eof(s, limit)
            s.close()
        took = wait_eof(drip, limit)
        closed.set()
        t.join(TIMEOUT)
        drip.close()
        check(took <= limit, took)
        check(d.scrape()[0] == 200)
        check(d.stop() == 0)


def test_stop_with_scrapers_connected():
    with MetricsDaemon() as d:
        s = half_sent(d.mport)
        c = http.client.HTTPConnection("127.0.0.1", d.mport, timeout=TIMEOUT)
        c.request("GET", "/metrics")
        c.getresponse().read()
        check(d.stop() == 0)
        c.close()
        s.close()


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_soft_nofile(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no Max open files in /proc/%d/limits" % pid)


def proc_statm(pid):
    """Its size and resident set, in bytes."""
    with open("/proc/%d/statm" % pid) as f:
        size, resident = f.read().split()[:2]
    page = os.sysconf("SC_PAGE_SIZE")
    return int(size) * page, int(resident) * page


def test_process_families_match_proc():
    """The process_ families against what /proc says of the daemon, read
    around the scrape: descriptors within the scrape's own connection,
    the soft limit exactly (less what valgrind keeps, under it), memory
    within a factor (it moves), CPU time between the readings before and
    after, to the clock tick."""
    tick = 1 / os.sysconf("SC_CLK_TCK")
    with MetricsDaemon(nofile=900) as d:
        # Some CPU time, so that a zero would not pass for a reading.
        with d.connect() as s:
            deadline = time.monotonic() + TIMEOUT
            while d.cpu_seconds() < 5 * tick:
                check(time.monotonic() < deadline, d.cpu_seconds())
                s.sendall(b"x\n" * 2000)
                recv_exact(s, 2000 * len(REPLY))
        fds0, cpu0 = proc_fds(d.pid), d.cpu_seconds()
        got = d.metrics()
        fds1, cpu1 = proc_fds(d.pid), d.cpu_seconds()
        size, resident = proc_statm(d.pid)
        check(min(fds0, fds1) - 2 <= got["process_open_fds"] <=
              max(fds0, fds1) + 2, (fds0, fds1, got["process_open_fds"]))
        soft = proc_soft_nofile(d.pid)
        if WRAPPER:
            # valgrind keeps a few descriptors of the limit for itself,
            # and getrlimit() in the program says so.
            check(soft - 32 <= got["process_max_fds"] <= soft == 900,
                  (soft, got["process_max_fds"]))
        else:
            check(got["process_max_fds"] == soft == 900,
                  (soft, got["process_max_fds"]))
        check(size / 2 <= got["process_virtual_memory_bytes"] <= size * 2,
              (size, got["process_virtual_memory_bytes"]))
        check(resident / 2 <= got["process_resident_memory_bytes"] <=
              resident * 2, (resident, got["process_resident_memory_bytes"]))
        check(cpu0 - tick <= got["process_cpu_seconds_total"] <=
              cpu1 + tick, (cpu0, cpu1, got["process_cpu_seconds_total"]))
        check(got["process_cpu_seconds_total"] >= 5 * tick - tick, got)
        check(d.stop() == 0)


LIMITS = {      # the keys hellod.conf(5) documents a limit family of
    "max_connections": (77, 78),
    "max_connections_per_source": (5, 0),
    "idle_timeout": (33, 0),
    "shutdown_timeout": (4, 9),
    "proxy_timeout": (6, 7),
    "max_line_length": (1000, 3000),
    "max_output": (2000, 4096),
}


def limit_family(key):
    """The documented family of a config key: hellod_KEY, with its unit."""
    names = [n for n in DOCUMENTED if n in (
        "hellod_" + key, "hellod_%s_seconds" % key, "hellod_%s_bytes" % key)]
    check(len(names) == 1, (key, names))
    return names[0]


def test_limits_follow_the_running_config():
    """Every documented limit family shows the config's value, and the new
    one after a reload; a failed reload changes none."""
    families = {limit_family(k): v for k, v in LIMITS.items()}
    check(sorted(families) == sorted(
        n for n in DOCUMENTED if n.startswith("hellod_") and
        DOCUMENTED[n][1] == DOCUMENTED["hellod_max_connections"][1]),
        "LIMITS does not cover every documented limit family")

    def conf(i):
        return "".join("%s = %d\n" % (k, v[i]) for k, v in LIMITS.items())

    with MetricsDaemon(conf(0)) as d:
        got = d.metrics()
        for name, values in families.items():
            check(got[name] == values[0], (name, got[name], values))
        # The endpoint as it was started: unchanged, it stays.
        base = "port = 0\nbind = 127.0.0.1\nmetrics_listen = 127.0.0.1:0\n"
        check(not d.reload(base + conf(1) + "max_output = 1\n"))
        got = d.metrics()
        for name, values in families.items():
            check(got[name] == values[0], (name, got[name], values))
        check(d.reload(base + conf(1)))
        got = d.metrics()
        for name, values in families.items():
            check(got[name] == values[1], (name, got[name], values))
        check(d.stop() == 0)


OK = "hellod_config_last_reload_successful"
WHEN = "hellod_config_last_reload_success_timestamp_seconds"


def test_reload_outcome_and_time():
    """1 from the start, with the start's time; a bad file, then a good
    one, flip it 0 then 1; a reload that fails late (a port it cannot
    have) counts as failed too; the time moves on success only."""
    t0 = time.time()
    with MetricsDaemon() as d, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        got = d.metrics()
        check(got[OK] == 1, got[OK])
        check(t0 - 1 <= got[WHEN] <= time.time(), (t0, got[WHEN]))
        start = got[WHEN]
        # The endpoint as it was started: unchanged, it stays.
        base = "port = 0\nbind = 127.0.0.1\nmetrics_listen = 127.0.0.1:0\n"

        check(not d.reload(base + "bogus = 1\n"))
        got = d.metrics()
        check(got[OK] == 0 and got[WHEN] == start, got)

        t1 = time.time()
        check(d.reload(base))
        t2 = time.time()
        got = d.metrics()
        check(got[OK] == 1, got[OK])
        # ms precision, truncated
        check(max(start, t1 - 0.001) <= got[WHEN] <= t2, (t1, t2, got[WHEN]))
        good = got[WHEN]

        check(not d.reload("port = %d\nbind = 127.0.0.1\n"
                           "metrics_listen = 127.0.0.1:0\n" % busy))
        got = d.metrics()
        check(got[OK] == 0 and got[WHEN] == good, got)
        check(d.reload(base))
        got = d.metrics()
        check(got[OK] == 1 and got[WHEN] >= good, got)
        check(d.stop() == 0)


def test_notify_dropped_is_the_usr1_count():
    """A notify socket that is not there: every notification is dropped,
    the SIGUSR1 line and the scrape count the same ones."""
    env = dict(os.environ, NOTIFY_SOCKET="/nonexistent/hellod-test/notify")
    with MetricsDaemon(env=env) as d:
        st = d.stats()
        check(st["notify_dropped"] > 0, st)
        got = d.metrics()
        check(got["hellod_systemd_notify_dropped_total"] ==
              st["notify_dropped"], (got, st))
        check(d.stop() == 0)


if __name__ == "__main__":
    main(globals())
