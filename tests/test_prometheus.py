#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A real Prometheus (Debian's prometheus package) scrapes hellod on
loopback with conf/prometheus.yml, the file the README and hellod.conf(5)
show, and its HTTP API returns hellod_requests_total.  Skipped when the
prometheus binary is missing; the documents are checked regardless."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import REPLY, TIMEOUT, Skip, check, free_port, main, \
    recv_exact
from metricstest import TOP_SRCDIR, MetricsDaemon

SNIPPET = os.path.join(TOP_SRCDIR, "conf", "prometheus.yml")
TARGET = '"127.0.0.1:5001"'     # the snippet's target, replaced by the test
INTERVAL = "scrape_interval: 15s"


def snippet():
    with open(SNIPPET) as f:
        return f.read()


def test_documents_show_the_tested_snippet():
    lines = snippet().splitlines()
    with open(os.path.join(TOP_SRCDIR, "README.md")) as f:
        readme = f.read()
    check("\n".join("    " + l for l in lines) + "\n" in readme,
          "README.md does not show conf/prometheus.yml verbatim (indented "
          "4 spaces)")
    with open(os.path.join(TOP_SRCDIR, "man", "hellod.conf.5")) as f:
        man = f.read()
    check(".Bd -literal -offset indent\n" + "\n".join(lines) + "\n.Ed\n"
          in man,
          "hellod.conf(5) does not show conf/prometheus.yml verbatim")
    check(TARGET in lines[-1] and INTERVAL in snippet(), lines)


class Prometheus:
    """prometheus on 127.0.0.1:<free port>, storage in a temp dir."""

    def __init__(self, target):
        binary = shutil.which("prometheus")
        if binary is None:
            raise Skip("prometheus not found (apt-get install prometheus, "
                       "or ./autogen.sh --deps)")
        text = snippet()
        check(text.count(TARGET) == 1 and text.count(INTERVAL) == 1, text)
        text = text.replace(TARGET, '"%s"' % target).replace(
            INTERVAL, "scrape_interval: 1s")
        self.dir = tempfile.mkdtemp(prefix="hellod-prometheus-")
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(text)
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w+")
        self.proc = subprocess.Popen(
            [binary, "--config.file=" + conf,
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            cwd=self.dir)

    def log_text(self):
        self.log.flush()
        self.log.seek(0)
        return "".join(self.log.readlines()[-30:])

    def query(self, expr):
        """The API's result for an instant query, or None before it is up."""
        url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (
            self.port, urllib.parse.quote(expr))
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
                body = json.load(r)
        except (urllib.error.URLError, ConnectionError):
            return None
        check(body["status"] == "success", body)
        return body["data"]["result"]

    def wait_value(self, expr, want, limit):
        """Poll until expr has one series whose value is want (bounded)."""
        deadline = time.monotonic() + limit
        result = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("prometheus exited %d:\n%s" %
                                     (self.proc.returncode, self.log_text()))
            result = self.query(expr)
            if result and len(result) == 1 and \
                    float(result[0]["value"][1]) == want:
                return result[0]
            time.sleep(0.2)    # pacing between polls, not synchronisation
        raise AssertionError("%s never became %s within %d s: %r\n%s" %
                             (expr, want, limit, result, self.log_text()))

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_prometheus_scrapes_hellod():
    limit = TIMEOUT * 3     # start-up, then a scrape a second
    with MetricsDaemon() as d, \
            Prometheus("127.0.0.1:%d" % d.mport) as prom:
        with d.connect() as s:
            s.sendall(b"x\n" * 7)
            recv_exact(s, 7 * len(REPLY))
            series = prom.wait_value("hellod_requests_total", 7, limit)
            check(series["metric"].get("job") == "hellod", series)
            check(series["metric"].get("instance") ==
                  "127.0.0.1:%d" % d.mport, series)
            prom.wait_value('up{job="hellod"}', 1, limit)
            # Scraped again and again, not once.
            s.sendall(b"x\n" * 5)
            recv_exact(s, 5 * len(REPLY))
            prom.wait_value("hellod_requests_total", 12, limit)
        check(re.search(r"level=error", prom.log_text()) is None,
              prom.log_text())
        check(d.stop() == 0)


if __name__ == "__main__":
    main(globals())
