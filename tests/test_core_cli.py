#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The command line: --help, --version, configuration keys as --KEY=VALUE
over the file (at start and at every reload), and start-up errors that say
why a port cannot be had, at error priority."""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (HELLOD, TIMEOUT, WRAPPER, Daemon, Skip, ask, check,
                        clean_env, free_port, main)


def run(*args, prefix=()):
    p = subprocess.run(list(prefix) + WRAPPER + [HELLOD] + list(args),
                       capture_output=True, timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL, env=clean_env())
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class ConfFile:
    """A config file in a directory of its own, removed on exit."""

    def __init__(self, text):
        self.dir = tempfile.mkdtemp(prefix="hellod-test-")
        self.path = os.path.join(self.dir, "hellod.conf")
        try:
            with open(self.path, "w") as f:
                f.write(text)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


def dump_keys(out):
    """The keys a -T dump names, set or commented out."""
    return re.findall(r"^#?(\w+) =", out, re.M)


def test_help_goes_to_stdout_and_exits_0():
    with ConfFile("") as path:
        rc, dump, err = run("-T", "-c", path)
    check(rc == 0, err)
    keys = dump_keys(dump)
    check(len(keys) > 10, dump)
    for opt in ("-h", "--help"):
        rc, out, err = run(opt)
        check(rc == 0, (opt, rc, err))
        check(out.startswith("usage: hellod"), out)
        check(err == "", err)
        check("--KEY=VALUE" in out and "--version" in out, out)
        # Every key the dump knows is listed as one the options take.
        for key in keys:
            check(re.search(r"\b%s\b" % key, out), (key, out))


def test_bad_option_prints_usage_on_stderr():
    for args in (["-x"], ["--port"], ["-T", "--message"]):
        rc, out, err = run(*args)
        check(rc == 2, (args, rc, err))
        check(out == "" and "usage: hellod" in err, (args, out, err))
    rc, out, err = run("--port")
    check("--port needs a value" in err, err)


def package_version():
    config_h = os.path.join(os.environ.get("TOP_BUILDDIR", ""), "config.h")
    try:
        with open(config_h) as f:
            m = re.search(r'#define PACKAGE_VERSION "([^"]+)"', f.read())
    except OSError:
        m = None
    if m is None:
        raise Skip("no config.h: run it from make check")
    return m.group(1)


def libevent_version():
    """The libevent hellod was built against and loads (the same here)."""
    if shutil.which("pkg-config") is None:
        raise Skip("pkg-config not found")
    p = subprocess.run(["pkg-config", "--modversion", "libevent"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    if p.returncode != 0:
        raise Skip("pkg-config does not know libevent")
    return p.stdout.strip()


def test_version_says_hellod_libevent_and_features():
    want, libevent = package_version(), libevent_version()
    for opt in ("-V", "--version"):
        rc, out, err = run(opt)
        check(rc == 0 and err == "", (opt, rc, err))
        lines = out.splitlines()
        check(lines[0] == "hellod %s" % want, out)
        check(re.match(r"libevent %s( \(built with .*\))?$" %
                       re.escape(libevent), lines[1]), out)
        check(re.search(r"^features: .*metrics", out, re.M), out)
        check("PROXY protocol" in out and "socket activation" in out, out)


def test_override_over_the_defaults():
    rc, out, err = run("-h")
    default = re.search(r"default (\S+)\)", out).group(1)
    if os.path.exists(default):
        raise Skip("%s exists on this machine" % default)
    port = free_port()
    rc, out, err = run("--port=%d" % port, "-T")
    check(rc == 0, err)
    check(re.search(r"^port = %d\t# --port$" % port, out, re.M), out)
    check("built-in defaults, and the command line" in out, out)
    check(re.search(r"^max_connections = 1024$", out, re.M), out)


def test_override_over_a_file():
    with ConfFile("port = 6001\nmessage = File\nidle_timeout = 7\n") as path:
        rc, out, err = run("-T", "-c", path, "--port=6002", "--message",
                           "Two words")
    check(rc == 0, err)
    check(re.search(r"^port = 6002\t# --port$", out, re.M), out)
    check(re.search(r'^message = "Two words"\t# --message$', out, re.M), out)
    check(re.search(r"^idle_timeout = 7$", out, re.M), out)


def test_bad_override_is_a_config_error_naming_the_option():
    with ConfFile("port = 6001\n") as path:
        rc, out, err = run("-t", "-c", path, "--port=70000", "--prot=1",
                           "--idle_timeout=1", "--idle_timeout=2")
    check(rc == 3, (rc, err))
    for what in (r"--port=70000: port: 70000 is out of range \(0 to 65535\)",
                 r"--prot=1: unknown key 'prot' \(known keys: port, ",
                 r"--idle_timeout=2: duplicate key 'idle_timeout' \(first "
                 r"set by --idle_timeout=1\)",
                 r"configuration test failed"):
        check(re.search(r"^%s" % what, err, re.M), (what, err))
    # Cross-key: the option and the file together.
    with ConfFile("proxy_protocol = yes\n") as path:
        rc, out, err = run("-t", "-c", path)
        check(rc == 3, err)
        rc, out, err = run("-t", "-c", path, "--proxy_trusted=10.0.0.0/8")
        check(rc == 0, err)


def test_override_holds_across_a_reload():
    new_port = free_port()
    with Daemon("message = File\n", args=["--message=Override"]) as d:
        with d.connect() as s:
            ask(s, reply=b"Override\n")
        # Another key changes (the port); the option still wins.
        check(d.reload("port = %d\nbind = 127.0.0.1\nmessage = File2\n" %
                       new_port), d.log_text())
        d.wait_log(r"listening on 127\.0\.0\.1:%d" % new_port)
        with d.connect(port=new_port) as s:
            ask(s, reply=b"Override\n")
        check(d.stop() == 0)


def test_port_in_use_fails_at_error_priority():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with Daemon(base="port = %d\nbind = 127.0.0.1\n" % port,
                    ready=False, env=clean_env()) as d:
            rc = d.proc.wait(TIMEOUT)
            d.reader.join(TIMEOUT)
            check(rc == 1, (rc, d.log_text()))
            want = ("error: cannot listen on 127.0.0.1:%d: port %d is in use"
                    % (port, port))
            check(any(l.startswith(want) for l in d.lines), d.log_text())
            check(any("ss -ltnp 'sport = :%d'" % port in l
                      for l in d.lines), d.log_text())
        with Daemon("metrics_listen = 127.0.0.1:%d\n" % port,
                    ready=False, env=clean_env()) as d:
            rc = d.proc.wait(TIMEOUT)
            d.reader.join(TIMEOUT)
            check(rc == 1, (rc, d.log_text()))
            want = ("error: metrics: cannot listen on 127.0.0.1:%d: port %d "
                    "is in use" % (port, port))
            check(any(l.startswith(want) for l in d.lines), d.log_text())


def test_privileged_port_says_what_to_do():
    if os.geteuid() != 0:
        raise Skip("needs root to run hellod as nobody")
    if shutil.which("setpriv") is None:
        raise Skip("setpriv not found")
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            start = int(f.read())
    except OSError:
        start = 1024
    if start <= 1:
        raise Skip("ip_unprivileged_port_start lets anyone bind port 1")
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    with tempfile.NamedTemporaryFile(prefix="hellod-test-",
                                     suffix=".conf") as empty:
        os.chmod(empty.name, 0o644)
        rc, out, err = run("-c", empty.name, "--port=1", "--bind=127.0.0.1",
                           prefix=nobody)
    if rc == 126 or "Permission denied" in err and "port 1" not in err:
        raise Skip("nobody cannot run %s: %s" % (HELLOD, err))
    check(rc == 1, (rc, err))
    check(re.search(r"^error: cannot listen on 127\.0\.0\.1:1: port 1 is "
                    r"below 1024, .*CAP_NET_BIND_SERVICE.*hellod\.socket.*"
                    r"AmbientCapabilities=CAP_NET_BIND_SERVICE", err, re.M),
          err)


if __name__ == "__main__":
    main(globals())
