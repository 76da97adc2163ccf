#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A real Prometheus (Debian's prometheus package) scrapes hellod on
loopback with conf/prometheus.yml, the file hellod.conf(5) shows (the
README points to it), and its HTTP API returns hellod_requests_total.  The alerting rules
of docs/examples pass promtool's checks and unit tests, and use only
families a real scrape has.  Skipped when the prometheus binary or
promtool is missing; the documents are checked regardless."""

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
from metricstest import TOP_SRCDIR, MetricsDaemon, family_names

SNIPPET = os.path.join(TOP_SRCDIR, "conf", "prometheus.yml")
EXAMPLES = os.path.join(TOP_SRCDIR, "docs", "examples")
RULES = "hellod.rules.yml"
RULES_TEST = "hellod.rules.test.yml"
TARGET = '"127.0.0.1:5001"'     # the snippet's target, replaced by the test
INTERVAL = "scrape_interval: 15s"


def snippet():
    with open(SNIPPET) as f:
        return f.read()


def test_documents_show_the_tested_snippet():
    # The documents show the file without its license line.
    lines = [l for l in snippet().splitlines()
             if not l.startswith("# SPDX-License-Identifier:")]
    with open(os.path.join(TOP_SRCDIR, "README.md")) as f:
        check("conf/prometheus.yml" in f.read(),
              "README.md does not point to conf/prometheus.yml")
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
                       "or ./autogen.sh --test-deps)")
        text = snippet()
        check(text.count(TARGET) == 1 and text.count(INTERVAL) == 1, text)
        text = text.replace(TARGET, '"%s"' % target).replace(
            INTERVAL, "scrape_interval: 1s")
        self.dir = tempfile.mkdtemp(prefix="hellod-prometheus-")
        self.log = self.proc = None
        try:
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
        except BaseException:
            self.close()
            raise

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
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not None:
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

def promtool(*args):
    tool = shutil.which("promtool")
    if tool is None:
        raise Skip("promtool not found (apt-get install prometheus, or "
                   "./autogen.sh --test-deps)")
    # cwd: the test file names its rules file relative to it.
    p = subprocess.run([tool] + list(args), cwd=EXAMPLES,
                       capture_output=True, timeout=TIMEOUT * 3)
    return p.returncode, (p.stdout + p.stderr).decode()


def test_rules_pass_promtool():
    rc, out = promtool("check", "rules", RULES)
    check(rc == 0 and "SUCCESS" in out, "promtool check rules: rc %d:\n%s"
          % (rc, out))
    rc, out = promtool("test", "rules", RULES_TEST)
    check(rc == 0 and "SUCCESS" in out, "promtool test rules: rc %d:\n%s"
          % (rc, out))


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left",
                "group_right", "and", "or", "unless", "bool", "offset"}


def rule_metrics():
    """The metric names the rules' expressions use: every word of an expr
    that is not a function, a label, a keyword, a string or a range."""
    with open(os.path.join(EXAMPLES, RULES)) as f:
        text = f.read()
    exprs = re.findall(r"^\s+expr: (?:>-\n)?(.*?)\n\s+for:", text, re.M | re.S)
    check(exprs, "no expr in %s" % RULES)
    names = set()
    for expr in exprs:
        expr = re.sub(r'"[^"]*"|\[[^\]]*\]', "", expr)
        for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
            rest = expr[m.end():].lstrip()
            if rest.startswith(("(", "=", "!=", "=~")) or \
                    m.group(0) in PROMQL_WORDS:
                continue
            names.add(m.group(0))
    return names, len(exprs)


def test_rules_use_served_families():
    """Every family a rule reads is in a real scrape (up aside, which
    Prometheus makes), so that renaming one breaks this test."""
    names, n = rule_metrics()
    check(n == len(re.findall(r"^\s+- alert: ", open(
        os.path.join(EXAMPLES, RULES)).read(), re.M)), "an expr not read")
    with MetricsDaemon() as d:
        status, _, body = d.scrape()
        check(status == 200, status)
        served = set(family_names(body.decode("utf-8")))
        check(d.stop() == 0)
    check("up" in names, names)
    missing = names - served - {"up"}
    check(not missing, "rules use families hellod does not serve: %s" %
          sorted(missing))
    check(len(names & served) >= 5, names)


if __name__ == "__main__":
    main(globals())
