# SPDX-License-Identifier: ISC
"""Helpers for the tests of the metrics endpoint (metrics_listen): find its
port in the log, scrape it, parse the exposition, wait on a counter.
Python 3 standard library only, like hellodtest.py.
"""

import http.client
import os
import re
import time

from hellodtest import TIMEOUT, Daemon

TOP_SRCDIR = os.environ.get("TOP_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def header_value(name):
    """A #define of src/hellod.h, so that the tests follow the code."""
    with open(os.path.join(TOP_SRCDIR, "src", "hellod.h")) as f:
        m = re.search(r"^#define\s+%s\s+(\d+)" % name, f.read(), re.M)
    if not m:
        raise AssertionError("no #define %s in src/hellod.h" % name)
    return int(m.group(1))


def metrics_port(d, start=0, host=r"127\.0\.0\.1"):
    """The port of the endpoint, from its 'metrics: serving' log line."""
    m = d.wait_log(r"metrics: serving http://%s:(\d+)/metrics$" % host,
                   start=start)
    return int(m.group(1))


class MetricsDaemon(Daemon):
    """A Daemon with metrics_listen on an ephemeral loopback port."""

    def __init__(self, conf="", listen="127.0.0.1:0", **kw):
        super().__init__("metrics_listen = %s\n" % listen + conf, **kw)
        host = r"\[::1\]" if listen.startswith("[::1]") else r"127\.0\.0\.1"
        self.mport = metrics_port(self, host=host)
        self.mhost = "::1" if listen.startswith("[::1]") else "127.0.0.1"

    def scrape(self, path="/metrics", method="GET", port=None):
        return request(port or self.mport, path, method, host=self.mhost)

    def metrics(self):
        status, headers, body = self.scrape()
        assert status == 200, (status, body)
        return parse(body.decode("utf-8"))

    def wait_metrics(self, want, timeout=None):
        """Scrape until every name: value of want holds, for at most
        TIMEOUT seconds; the counters are exact, so equality, never 'at
        least'."""
        deadline = time.monotonic() + (timeout or TIMEOUT)
        while True:
            got = self.metrics()
            if all(got.get(k) == v for k, v in want.items()):
                return got
            if time.monotonic() >= deadline:
                raise AssertionError("metrics never became %r: %r" % (
                    want, {k: got.get(k) for k in want}))
            time.sleep(0.05)   # pacing between polls, not synchronisation


def request(port, path="/metrics", method="GET", host="127.0.0.1",
            headers=None):
    """One HTTP request on a connection of its own: status, headers, body."""
    c = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


def parse(text):
    """The samples of an exposition: {'name' or 'name{labels}': number}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value) if "." in value else int(value)
    return out


def man_items():
    """The items of METRICS in hellod.conf(5): [(head, body)], lines
    continued with a backslash joined."""
    with open(os.path.join(TOP_SRCDIR, "man", "hellod.conf.5")) as f:
        text = f.read().replace("\\\n", "")
    section = text.split("\n.Sh METRICS\n", 1)[1].split("\n.El\n", 1)[0]
    return [item.partition("\n")[::2]
            for item in section.split("\n.It ")[1:]]


def man_metrics():
    """The families hellod.conf(5) documents under METRICS, the one place
    that lists them: {name: (label or None, [label values])}, the values
    being the .Li words of the item's text.  A line may list several
    families of no label: ".It Li a , b"."""
    out = {}
    for head, body in man_items():
        words = head.split()
        label = None
        if "Brq" in words:
            label = words[words.index("Brq") + 2]
            words = words[:words.index("Ns")]
        names = [w for w in words if re.fullmatch(r"[a-z_]+", w)]
        values = re.findall(r"^\.Li (\S+)", body, re.M)
        for name in names:
            if name in out:
                raise AssertionError("%s documented twice" % name)
            out[name] = (label, values)
    return out


def man_usr1():
    """The names of the SIGUSR1 line, as hellod.conf(5) documents them
    under METRICS (a .Va after the text of a family, or of one of its
    label values): {name: the sample of the same counter}, 'family' or
    'family{label="value"}'; a family of no label that lists several has
    one name each, in order.  A name before any label value stands for the
    whole family (accepted_by_worker)."""
    labels = man_metrics()
    out = {}
    for head, body in man_items():
        names = [n for n in labels if re.search(
            r"(^|\s)%s(\s|$)" % n, head)]
        value, k = None, 0
        for line in body.splitlines():
            m = re.match(r"^\.Li (\S+)", line)
            if m:
                value = m.group(1)
            m = re.search(r"\bVa (\w+)", line)
            if not m:
                continue
            label = labels[names[0]][0] if names else None
            if label and value is not None:
                key = '%s{%s="%s"}' % (names[0], label, value)
            else:
                key = names[k]
                k += 1
            if m.group(1) in out:
                raise AssertionError("%s documented twice" % m.group(1))
            out[m.group(1)] = key
    return out


def family_names(text):
    """The families in the order of their TYPE lines."""
    return [l.split()[2] for l in text.splitlines()
            if l.startswith("# TYPE ")]
