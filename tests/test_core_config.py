#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The command line and the config file: -t, -T, errors, defaults."""

import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (HELLOD, SANITIZED, TIMEOUT, WRAPPER, Daemon, Skip,
                        Wrapped, ask, check, main)


def run(*args):
    p = subprocess.run(WRAPPER + [HELLOD] + list(args), capture_output=True,
                       timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def conf_file(text):
    """A temp file holding text; the caller removes it (in a finally)."""
    fd, path = tempfile.mkstemp(prefix="hellod-test-", suffix=".conf")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
    except BaseException:
        os.unlink(path)
        raise
    return path


def test_t_good():
    path = conf_file("# comment\n\nport = 6001\nmessage = Hi\n")
    try:
        rc, out, err = run("-t", "-c", path)
        check(rc == 0, (rc, err))
        check("configuration OK" in err, err)
    finally:
        os.unlink(path)


def test_t_reports_every_error_with_file_and_line():
    text = ("port = 5000\n"
            "prot = 1\n"                # unknown key
            "max_connections = lots\n"  # bad number
            "# fine\n"
            "port = 6000\n"             # duplicate
            "bind = 300.1.2.3\n"        # bad address
            "idle_timeout = 99999999\n"  # out of range
            "message = \"a\tb\"\n")     # control character
    path = conf_file(text)
    try:
        rc, out, err = run("-t", "-c", path)
        check(rc == 3, (rc, err))
        for line, what in ((2, "unknown key 'prot'.*known keys: port"),
                           (3, "max_connections: 'lots' is not a number"),
                           (5, "duplicate key 'port' .*line 1"),
                           (6, "bind: '300.1.2.3' is not a numeric"),
                           (7, "idle_timeout: 99999999 is out of range"),
                           (8, "message: control character")):
            check(re.search(r"^%s:%d: %s" % (re.escape(path), line, what),
                            err, re.M), "line %d (%s) missing in:\n%s" %
                  (line, what, err))
        check("configuration test failed" in err, err)
    finally:
        os.unlink(path)


def test_huge_line_under_a_memory_limit():
    """A line far past the limit is read and thrown away in constant
    memory.  Under a memory limit (ulimit -v) it is still an error, not the
    end of the file, and the lines after it are read.  The file is sparse:
    its long line of NUL bytes takes no disk."""
    if WRAPPER or SANITIZED:
        raise Skip("a low RLIMIT_AS starves the wrapper or ASan")
    limit = 64 << 20

    def lower():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    path = conf_file("port = 7\n#")
    try:
        with open(path, "r+b") as f:
            f.seek(2 * limit, os.SEEK_END)      # twice the limit
            f.write(b"\nbogus = 1\n")
        p = subprocess.run([HELLOD, "-t", "-c", path], capture_output=True,
                           stdin=subprocess.DEVNULL, preexec_fn=lower,
                           timeout=TIMEOUT)
        err = p.stderr.decode()
        check(p.returncode == 3, (p.returncode, err))
        check("%s:2: line longer than 4096 bytes" % path in err, err)
        check("%s:3: unknown key 'bogus'" % path in err, err)
    finally:
        os.unlink(path)


def test_T_prints_effective_config():
    path = conf_file("port = 6002\nmax_line_length = 1k\n")
    try:
        rc, out, err = run("-T", "-c", path)
        check(rc == 0, err)
        check(re.search(r"^port = 6002$", out, re.M), out)
        check(re.search(r"^max_line_length = 1024$", out, re.M), out)
        check(re.search(r'^message = "Hello World"$', out, re.M), out)
        # What -T prints is itself a valid config with the same meaning.
        again = conf_file(out)
        try:
            rc2, out2, _ = run("-T", "-c", again)
            check(rc2 == 0)
            check(out2.split("\n", 1)[1] == out.split("\n", 1)[1],
                  (out, out2))
        finally:
            os.unlink(again)
    finally:
        os.unlink(path)


def test_explicit_missing_file_is_an_error():
    rc, out, err = run("-t", "-c", "/nonexistent/hellod.conf")
    check(rc == 3, rc)
    check("/nonexistent/hellod.conf: No such file or directory" in err, err)


def test_default_file_missing_means_defaults():
    rc, out, err = run("-h")
    default = re.search(r"default (\S+)\)", out).group(1)
    if os.path.exists(default):
        from hellodtest import Skip
        raise Skip("%s exists on this machine" % default)
    rc, out, err = run("-T")
    check(rc == 0, err)
    check(re.search(r"^port = 5000$", out, re.M), out)
    check("built-in defaults" in out, out)


def configure_args():
    """The arguments ./configure was given for this build, or None."""
    status = os.path.join(os.environ.get("TOP_BUILDDIR", ""), "config.status")
    if not os.path.exists(status):
        return None
    p = subprocess.run(["sh", status, "--config"], capture_output=True,
                       timeout=TIMEOUT, text=True)
    check(p.returncode == 0, p.stderr)
    return shlex.split(p.stdout)


def test_not_a_regular_file_is_refused():
    """A config that is not a regular file is refused at once: no hang on
    a FIFO or /dev/zero, no endless read."""
    for path in ("/dev/zero", "/dev/null", "/"):
        rc, out, err = run("-t", "-c", path)
        check(rc == 3 and "%s: not a regular file" % path in err, (rc, err))
    tmp = tempfile.mkdtemp(prefix="hellod-test-")
    try:
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        rc, out, err = run("-t", "-c", fifo)
        check(rc == 3 and "%s: not a regular file" % fifo in err, (rc, err))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_errors_are_bounded():
    """A file of 100,000 bad lines: the first errors are told, then how
    many more; the output stays small."""
    path = conf_file("bogus = 1\n" * 100000)
    try:
        rc, out, err = run("-t", "-c", path)
        check(rc == 3, rc)
        lines = err.splitlines()
        told = [l for l in lines if "unknown key 'bogus'" in l]
        check(told and len(told) < 100, len(told))
        check("%s: ... and %d more errors" % (path, 100000 - len(told))
              in lines, lines[-3:])
        check(len(err) < 64 << 10, len(err))
    finally:
        os.unlink(path)


def test_default_config_file_is_etc():
    """A ./configure without --sysconfdir builds a hellod that reads
    /etc/hellod.conf, as the README's first command says; --sysconfdir=DIR
    makes it DIR/hellod.conf (make distcheck's build)."""
    args = configure_args()
    sysconfdir = os.environ.get("HELLOD_SYSCONFDIR")
    if args is None or sysconfdir is None:
        raise Skip("run it from make check, which says how it was built")
    given = any(a == "--sysconfdir" or a.startswith("--sysconfdir=")
                for a in args)
    if not given:
        check(sysconfdir == "/etc",
              "configure %s: sysconfdir %s" % (shlex.join(args), sysconfdir))
    rc, out, err = run("-h")
    check(rc == 0, (rc, err))
    check(re.search(r"\(default %s\)" % re.escape(sysconfdir +
                                                   "/hellod.conf"), out),
          out)


# Runs what follows it in a mount namespace where the directory $1 stands
# for $2, the build's sysconfdir, and without the harness's "-c FILE": the
# daemon then reads its default config file, the one in $1.
DEFAULT_FILE_NS = (
    'mount --make-rprivate / && mount --bind "$1" "$2" || exit 1; shift 2; '
    'skip=; for a; do shift; if [ -n "$skip" ]; then skip=; '
    'elif [ "$a" = -c ]; then skip=1; else set -- "$@" "$a"; fi; done; '
    'exec "$@"')


def default_file_dir():
    """A directory to stand for the sysconfdir, and the wrapper that does
    it, or Skip."""
    sysconfdir = os.environ.get("HELLOD_SYSCONFDIR")
    if sysconfdir is None or not os.path.isdir(sysconfdir):
        raise Skip("no sysconfdir to stand in for (run it from make check)")
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise Skip("needs root and unshare(1) for a mount namespace")
    tmp = tempfile.mkdtemp(prefix="hellod-test-")     # the caller removes it
    return tmp, ["unshare", "-m", "sh", "-c", DEFAULT_FILE_NS, "sh", tmp,
                 sysconfdir]


def test_reload_without_the_default_file_keeps_the_running_config():
    """Started from the default file, which is then moved away: a reload
    fails and keeps the running config, instead of falling back to the
    built-in defaults (every address, port 5000, no PROXY check)."""
    tmp, wrapper = default_file_dir()
    try:
        conf = os.path.join(tmp, "hellod.conf")
        with open(conf, "w") as f:
            f.write("port = 0\nbind = 127.0.0.1\nmessage = from-file\n")
        with Wrapped(wrapper), Daemon() as d:
            with d.connect() as s:
                ask(s, reply=b"from-file\n")
            os.rename(conf, conf + ".moved")
            check(not d.reload(), "reload without the file succeeded")
            d.wait_log(r"hellod\.conf: No such file or directory")
            with d.connect() as s:
                ask(s, reply=b"from-file\n")
            os.rename(conf + ".moved", conf)
            with open(conf, "a") as f:
                f.write("log_level = notice\n")
            check(d.reload(), "reload with the file back failed")
            check(d.stop() == 0, "exit status")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_reload_on_the_defaults_while_the_file_is_missing():
    """Started without the default file, on the built-in defaults (and the
    command line's options), a reload while it is still missing keeps them
    and succeeds; once the file exists, a reload reads it."""
    tmp, wrapper = default_file_dir()
    try:
        with Wrapped(wrapper), Daemon(base="", args=["--port=0",
                                                      "--bind=127.0.0.1"]) as d:
            d.wait_log(r"not found, using the built-in defaults")
            check(d.reload(), "reload on the defaults failed")
            with d.connect() as s:
                ask(s)
            with open(os.path.join(tmp, "hellod.conf"), "w") as f:
                f.write("message = written later\n")
            check(d.reload(), "reload of the new file failed")
            with d.connect() as s:
                ask(s, reply=b"written later\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_bad_config_at_start_exits_3_without_listening():
    with Daemon("port = 99999\n", base="", ready=False) as d:
        rc = d.proc.wait(TIMEOUT)
        d.reader.join(TIMEOUT)
        check(rc == 3, rc)
        check(any("port: 99999 is out of range" in l for l in d.lines),
              d.lines)
        check(not any("listening" in l for l in d.lines), d.lines)


def test_usage_and_version():
    rc, out, err = run("-V")
    check(rc == 0 and re.match(r"hellod \d+\.\d+", out), (rc, out))
    rc, out, err = run("-h")
    check(rc == 0 and "usage: hellod" in out and err == "", (rc, out, err))
    rc, out, err = run("-x")
    check(rc == 2 and "usage: hellod" in err, (rc, err))
    rc, out, err = run("extra-argument")
    check(rc == 2, rc)


if __name__ == "__main__":
    main(globals())
