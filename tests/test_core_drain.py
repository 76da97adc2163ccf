#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A graceful stop answers every line that has already arrived: lines still
in the socket's receive buffer when TERM comes are read and answered before
FIN, with one worker and with two.  A client quiet for a moment ends at
once; one that never stops sending is cut at shutdown_timeout.

The pipelined stop runs once per worker count here; its repetitions are
tests/stress/stress_drain.py, which uses pipelined_then_term() too."""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hellodtest import (REPLY, TIMEOUT, Daemon, ask, check, main, recv_all)

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


if __name__ == "__main__":
    main(globals())
