#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The tools around the daemon: the README's commands and the scripts they
run, and the wrappers the checks run the daemon under."""

import os
import re
import shlex
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (SANITIZED, WRAPPER, Daemon, Skip, Wrapped, ask, check,
                        main)


def test_valgrind_leaves_no_fifos():
    """Valgrind as "make check-valgrind" runs it (VALGRIND_FLAGS, from
    make) leaves no vgdb-pipe-* FIFOs in $TMPDIR,
    even when it is killed with the daemon, as after a failing test."""
    if WRAPPER:
        raise Skip("already under a wrapper")
    if SANITIZED:
        raise Skip("valgrind and ASan do not mix")
    valgrind = shutil.which(os.environ.get("VALGRIND") or "valgrind")
    if valgrind is None:
        raise Skip("valgrind is not installed")
    if "VALGRIND_FLAGS" not in os.environ:
        raise Skip("VALGRIND_FLAGS unset: run it from make check")
    flags = shlex.split(os.environ["VALGRIND_FLAGS"])
    tmp = tempfile.mkdtemp(prefix="hellod-test-")
    try:
        with Wrapped([valgrind] + flags), \
                Daemon(env=dict(os.environ, TMPDIR=tmp)) as d:
            with d.connect() as s:
                ask(s)
            d.kill(signal.SIGKILL)
            d.proc.wait()
        left = os.listdir(tmp)
        check(not left, "left in TMPDIR: %r" % left)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


TOP = os.environ.get("TOP_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..")


def read(name):
    with open(os.path.join(TOP, name)) as f:
        return f.read()


def sh_list(text, name):
    """The words of NAME="..." in a shell script, continuation lines and
    all."""
    m = re.search(r'^%s="([^"]*)"' % name, text, re.M)
    check(m is not None, "no %s= in autogen.sh" % name)
    return m.group(1).replace("\\\n", " ").split()


def test_readme_commands_are_what_ci_runs():
    """The README opens with the run command and the test command; the
    first installs only the build dependencies, the second the test ones
    too, and .ci/run runs the second exactly."""
    cmds = [l[4:] for l in read("README.md").splitlines()[1:4]
            if l.startswith("    ")]
    check(len(cmds) == 2, cmds)
    run, test = cmds
    check(run.startswith("./autogen.sh --deps ") and
          run.endswith("./src/hellod"), run)
    check(test.startswith("./autogen.sh --test-deps "), test)
    if not os.path.exists(os.path.join(TOP, ".ci", "run")):
        raise Skip("no .ci/run (a release tarball has none)")
    check(test in read(".ci/run").splitlines(),
          ".ci/run does not run the README's test command: %r" % test)


def test_build_deps_hold_no_test_tool():
    """--deps installs what building needs and nothing of the tests': no
    package of TEST_DEPS, and none of the daemons the tests run."""
    text = read("autogen.sh")
    build = set(sh_list(text, "BUILD_DEPS"))
    tests = set(sh_list(text, "TEST_DEPS"))
    services = set(sh_list(text, "TEST_SERVICES"))
    check("libevent-dev" in build and "check" in tests, (build, tests))
    check(not build & tests, "in both lists: %s" % sorted(build & tests))
    check(services <= tests and not services & build, services)


if __name__ == "__main__":
    main(globals())
