#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Replies owed at a stop, again and again: one client writes 50,000 lines
in one go and TERM follows the moment the write returns, RUNS times with
one worker and RUNS times with two.  Every run: all the replies, then EOF,
exit 0.  A stop that answers only what it has read fails in the first run.
make check runs the scenario once per worker count
(tests/test_core_drain.py)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
from stresslib import check, figure, main                  # noqa: E402
from test_core_drain import LINES, pipelined_then_term     # noqa: E402

RUNS = int(os.environ.get("HELLOD_STRESS_DRAIN_RUNS", "20"))


def drain_runs(workers):
    replies, slowest = 0, 0.0
    for _ in range(RUNS):
        got, took = pipelined_then_term(workers)
        replies += got
        slowest = max(slowest, took)
    figure("drain_w%d_runs" % workers, RUNS, "stops")
    figure("drain_w%d_replies" % workers, replies,
           "replies (%d lines a run)" % LINES)
    figure("drain_w%d_slowest_stop" % workers, slowest, "s (TERM to exit)")
    check(replies == RUNS * LINES, "%d replies of %d" %
          (replies, RUNS * LINES))


def test_term_answers_lines_already_sent_one_worker():
    drain_runs(1)


def test_term_answers_lines_already_sent_two_workers():
    drain_runs(2)


if __name__ == "__main__":
    main(globals())
