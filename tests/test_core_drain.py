#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A graceful stop answers every line that has already arrived: lines still
in the socket's receive buffer when TERM comes are read and answered before
FIN, with one worker and with two.  A client quiet for a moment ends at
once; one that never stops sending is cut at shutdown_timeout.

With stop_grace, TERM first drains: the agent says "drain", /readyz 503,
hellod_draining 1, and the daemon goes on accepting and answering for the
grace, then stops as above; a second TERM in the grace exits at once, a
HUP in it is ignored.

The pipelined stop runs once per worker count here; its repetitions are
tests/stress/stress_drain.py, which uses pipelined_then_term() too."""

import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (REPLY, TIMEOUT, Daemon, agent_port, agent_says, ask,
                        check, main, recv_all)
from metricstest import metrics_port, request

LINES = 50000


def pipelined_then_term(workers):
    """One client writes LINES lines in one go; TERM follows the moment the
    write returns.  Every reply, then EOF, then exit 0.  Returns the
    replies and the seconds from TERM to the exit."""
    with Daemon("workers = %d\nshutdown_timeout = 60\n" % workers) as d:
        with d.connect() as s:
            ask(s)      # accepted and served before the stop
            errors = []
            termed = []

            def write():
                try:
                    s.sendall(b"hello\n" * LINES)
                    d.kill(signal.SIGTERM)
                    termed.append(time.monotonic())
                except OSError as e:
                    errors.append(e)

            t = threading.Thread(target=write)
            t.start()
            try:
                got = recv_all(s)
            finally:
                t.join(TIMEOUT)
            check(not errors, errors)
            check(len(got) == LINES * len(REPLY) and
                  got == REPLY * LINES, "%d replies of %d, then EOF"
                  % (len(got) // len(REPLY), LINES))
        rc = d.stop(sig=0)      # TERM sent already: wait for the exit
        check(rc == 0, "exit status %s" % rc)
        return len(got) // len(REPLY), time.monotonic() - termed[0]


def test_term_answers_lines_already_sent_one_worker():
    pipelined_then_term(1)


def test_term_answers_lines_already_sent_two_workers():
    pipelined_then_term(2)


def test_queued_at_the_stop_are_dealt_out_and_served():
    """Handshakes the kernel completed while the daemon could not run sit
    in the listening socket's queue when TERM comes: worker 0 takes them
    all before it closes it and deals them out, each worker gets its share
    before its own stop, and every one is answered, then closed (no reset,
    none lost between the threads)."""
    with Daemon("workers = 4\nshutdown_timeout = 60\n") as d:
        with d.connect() as s:
            ask(s)
        socks = []
        d.kill(signal.SIGSTOP)
        try:
            for _ in range(24):
                s = d.connect()
                s.sendall(b"hello\n")
                socks.append(s)
            d.kill(signal.SIGTERM)
        finally:
            d.kill(signal.SIGCONT)
        try:
            for s in socks:
                check(recv_all(s) == REPLY)
        finally:
            for s in socks:
                s.close()
        rc = d.stop(sig=0)
        check(rc == 0, "exit status %s" % rc)


def test_idle_clients_do_not_hold_up_the_stop():
    """Clients that say nothing end after the quiet moment, long before
    shutdown_timeout."""
    with Daemon("shutdown_timeout = 600\n") as d:
        socks = [d.connect() for _ in range(5)]
        for s in socks:
            ask(s)
        t0 = time.monotonic()
        m = d.mark()
        d.kill(signal.SIGTERM)
        for s in socks:
            check(recv_all(s) == b"", "an idle client got data")
            s.close()
        rc = d.stop(sig=0)
        waited = time.monotonic() - t0
        check(rc == 0, "exit status %s" % rc)
        check(waited < 600, "the stop took %.1f s" % waited)
        check(not any("shutdown_timeout" in l for l in d.lines[m:]),
              "shutdown_timeout was needed")


def test_a_client_that_never_stops_is_cut_at_shutdown_timeout():
    with Daemon("shutdown_timeout = 1\n") as d:
        s = d.connect()
        ask(s)
        stop = threading.Event()
        answered = threading.Event()

        def chatter():
            # Sends and reads line after line until the daemon is gone.
            s.settimeout(TIMEOUT)
            try:
                while not stop.is_set():
                    s.sendall(b"more\n")
                    data = s.recv(65536)
                    if not data:
                        break
                    answered.set()
            except OSError:
                pass

        t = threading.Thread(target=chatter)
        t.start()
        try:
            check(answered.wait(TIMEOUT), "the chatter got no reply")
            m = d.mark()
            d.kill(signal.SIGTERM)
            d.wait_log(r"shutdown_timeout: dropping 1 connection", start=m)
            rc = d.stop(sig=0)
        finally:
            stop.set()
            t.join(TIMEOUT)
            s.close()
        check(rc == 0, "exit status %s" % rc)


# ---- stop_grace ----

GRACE = max(2, int(TIMEOUT / 10))  # seconds; longer under a wrapper
GRACE_CONF = ("stop_grace = %d\nagent_listen = 127.0.0.1:0\n"
              "metrics_listen = 127.0.0.1:0\n" % GRACE)


LATE = 10000        # lines: 120 kB of replies, over max_output's 64 kB


def readyz(mport):
    status, _, body = request(mport, "/readyz")
    return status, body


def draining(mport):
    _, _, body = request(mport, "/metrics")
    m = re.search(rb"^hellod_draining (\d+)$", body, re.M)
    check(m, "no hellod_draining sample")
    return int(m.group(1))


def test_grace_drains_while_serving_then_stops():
    """TERM with stop_grace: the agent says drain, /readyz 503 (/healthz
    still 200), hellod_draining 1; a client that connects in the grace is
    answered, its lines sent in the grace are all answered by the stop that
    follows, and hellod exits 0 no sooner than the grace."""
    with Daemon(GRACE_CONF + "workers = 2\nshutdown_timeout = 60\n") as d:
        aport, mport = agent_port(d), metrics_port(d)
        check(agent_says(aport) == b"up ready\n")
        check(readyz(mport) == (200, b"ok\n"), readyz(mport))
        check(draining(mport) == 0)
        old = d.connect()
        ask(old)
        m = d.mark()
        t0 = time.monotonic()
        d.kill(signal.SIGTERM)
        d.wait_log(r"^notice: draining: still serving for stop_grace "
                   r"\(%d s\)" % GRACE, start=m)
        try:
            check(agent_says(aport) == b"drain\n")
            check(readyz(mport) == (503, b"draining\n"), readyz(mport))
            check(request(mport, "/healthz")[0] == 200)
            check(draining(mport) == 1)
            # Still serving: a connection made now, and one from before.
            ask(old)
            with d.connect() as s:
                ask(s)
                # Lines sent in the grace (more replies than max_output),
                # read only once the stop has begun.
                s.sendall(b"late\n" * LATE)
                check(d.proc.poll() is None, "exited within the grace")
                d.wait_log(r"stopping: \d+ connection", start=m)
                got = recv_all(s)
            check(got == REPLY * LATE, "%d replies of %d" % (
                len(got) // len(REPLY), LATE))
            check(recv_all(old) == b"", "the old client got more")
        finally:
            old.close()
        rc = d.stop(sig=0)
        took = time.monotonic() - t0
        check(rc == 0, "exit status %s" % rc)
        check(took >= GRACE - 0.5, "exited %.2f s after TERM; stop_grace "
              "is %d s" % (took, GRACE))
        check(not any("shutdown_timeout" in l for l in d.lines[m:]))


def test_second_term_in_the_grace_exits_at_once():
    with Daemon("stop_grace = 3600\n") as d, d.connect() as s:
        ask(s)
        m = d.mark()
        d.kill(signal.SIGTERM)
        d.wait_log(r"draining: still serving", start=m)
        ask(s)
        check(d.stop() == 0)        # the second TERM, within TIMEOUT
        d.wait_log(r"second stop signal, exiting now", start=m)


def test_hup_in_the_grace_is_ignored():
    with Daemon("stop_grace = 3600\n") as d:
        m = d.mark()
        d.kill(signal.SIGTERM)
        d.wait_log(r"draining: still serving", start=m)
        d.write_conf("bind = 127.0.0.1\nport = %d\nmessage = Changed\n" %
                     d.port)
        d.kill(signal.SIGHUP)
        d.wait_log(r"SIGHUP while draining \(stop_grace\): ignored",
                   start=m)
        st = d.stats()
        check(st["reloads"] == 0, st)
        with d.connect() as s:
            ask(s)      # the running message, not the file's new one
        check(d.stop() == 0)


def test_no_grace_is_the_plain_stop():
    """stop_grace = 0 (the default): TERM stops at once, as it always
    did, an agent or not."""
    with Daemon("agent_listen = 127.0.0.1:0\n") as d:
        m = d.mark()
        check(d.stop() == 0)
        check(not any("draining" in l for l in d.lines[m:]), d.lines[m:])
        d.wait_log(r"stopping: 0 connection", start=m)


if __name__ == "__main__":
    main(globals())
