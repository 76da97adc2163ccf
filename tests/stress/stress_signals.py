#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""No reply lost or duplicated across signals: a SIGHUP reload, a graceful
SIGTERM (every line the daemon read is answered before it closes), and 50
reloads in a row under load from several clients."""

import os
import selectors
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (TIMEOUT, Daemon, Deadline, check, close_all,
                       conf_extra, connect_many, figure, fill, main,
                       wait_closed)
from hellodtest import REPLY, free_port

LINE = b"ping\n"


class Load(threading.Thread):
    """Clients that keep up to `window` lines outstanding each and check
    every reply: it must be one of the known messages, and a client's
    messages must come in the order the reloads set them (a reply is the
    message of the config that was current when its line was read).

    stop() ends sending; with until_eof the clients then read until the
    daemon closes, else until every line sent has its reply."""

    def __init__(self, socks, messages, window=32, until_eof=False):
        super().__init__(daemon=True)
        self.socks = socks
        self.index = {m: i for i, m in enumerate(messages)}
        self.window = window
        self.until_eof = until_eof
        self.stopping = threading.Event()
        n = len(socks)
        self.sent = [0] * n          # lines sent in full
        self.replies = [0] * n
        self.last = [0] * n          # message index of the last reply
        self.error = None
        self.progress = threading.Condition()

    def stop(self):
        self.stopping.set()

    def wait_replies(self, total):
        """Until the clients have had total replies between them."""
        dl = Deadline(3 * TIMEOUT, "load reaching %d replies" % total)
        with self.progress:
            while sum(self.replies) < total and self.error is None:
                self.progress.wait(min(dl.left(), 1.0))

    def wait_seen(self, k):
        """Until every client has had a reply with message k."""
        dl = Deadline(3 * TIMEOUT, "every client seeing message %d" % k)
        with self.progress:
            while min(self.last) < k and self.error is None:
                self.progress.wait(min(dl.left(), 1.0))

    def run(self):
        try:
            self._run()
        except BaseException as e:         # handed to the main thread
            self.error = e
        with self.progress:
            self.progress.notify_all()

    def _run(self):
        n = len(self.socks)
        pending = [b""] * n                # whole lines not yet sent
        inbuf = [b""] * n
        mask = [0] * n
        left = n
        sel = selectors.DefaultSelector()
        R, W = selectors.EVENT_READ, selectors.EVENT_WRITE
        for i, s in enumerate(self.socks):
            s.setblocking(False)
            sel.register(s, R, i)
            mask[i] = R
        dl = Deadline(10 * TIMEOUT, "load")

        def update(i, s, stopping):
            """Write interest only with something to send: the socket is
            writable nearly always, and a spinning client would take the
            daemon's CPU."""
            nonlocal left
            owed = self.sent[i] - self.replies[i]
            if not pending[i] and not stopping and owed < self.window // 2:
                pending[i] = LINE * (self.window - owed)
            if stopping and not self.until_eof and not pending[i] and \
                    owed == 0:
                sel.unregister(s)
                mask[i] = 0
                left -= 1
                return
            want = R | W if pending[i] else R
            if want != mask[i]:
                sel.modify(s, want, i)
                mask[i] = want

        try:
            for i, s in enumerate(self.socks):
                update(i, s, False)
            while left:
                stopping = self.stopping.is_set()
                for key, ev in sel.select(min(dl.left(), 0.1)):
                    i, s = key.data, key.fileobj
                    if ev & W and pending[i]:
                        try:
                            k = s.send(pending[i])
                        except BlockingIOError:
                            k = 0
                        except (BrokenPipeError, ConnectionResetError):
                            check(self.until_eof, "client %d reset" % i)
                            k, pending[i] = 0, b""
                        before = len(pending[i])
                        pending[i] = pending[i][k:]
                        # A line counts as sent once all of it is.
                        self.sent[i] += (before // len(LINE) -
                                         -(-len(pending[i]) // len(LINE)))
                    if ev & R:
                        try:
                            chunk = s.recv(65536)
                        except BlockingIOError:
                            chunk = None
                        except ConnectionResetError:
                            check(False, "client %d reset after %d replies"
                                  % (i, self.replies[i]))
                        if chunk == b"":
                            check(self.until_eof, "client %d: EOF" % i)
                            check(not inbuf[i], "a reply cut short: %r" %
                                  inbuf[i])
                            sel.unregister(s)
                            mask[i] = 0
                            left -= 1
                            continue
                        if chunk:
                            self._parse(i, inbuf[i] + chunk, inbuf)
                    update(i, s, stopping)
                if stopping:
                    for i, s in enumerate(self.socks):
                        if mask[i]:
                            update(i, s, True)
        finally:
            sel.close()

    def _parse(self, i, buf, inbuf):
        *lines, inbuf[i] = buf.split(b"\n")
        for line in lines:
            k = self.index.get(line)
            check(k is not None, "client %d: unknown reply %r" % (i, line))
            check(k >= self.last[i], "client %d: reply %r after %r" %
                  (i, line, self.last[i]))
            self.last[i] = k
        with self.progress:
            self.replies[i] += len(lines)
            check(self.replies[i] <= self.sent[i] or self.until_eof,
                  "client %d: %d replies to %d lines" %
                  (i, self.replies[i], self.sent[i]))
            self.progress.notify_all()

    def finish(self):
        self.join(10 * TIMEOUT)
        check(not self.is_alive(), "load did not finish")
        if self.error is not None:
            raise self.error


def conf(msg, port, extra=""):
    return "%sport = %d\nbind = 127.0.0.1\nmessage = %s\n%s" % (
        conf_extra(), port, msg, extra)


def test_no_reply_lost_across_a_reload():
    msgs = [b"before", b"after"]
    with Daemon("message = before\n") as d:
        socks = connect_many(d.port, 8)
        load = Load(socks, msgs)
        load.start()
        try:
            load.wait_replies(20000)
            check(d.reload(conf("after", d.port)))
            r0 = sum(load.replies)
            load.wait_replies(r0 + 20000)
            load.wait_seen(1)
        finally:
            load.stop()
            load.finish()
            close_all(socks)
        check(load.replies == load.sent, (load.replies, load.sent))
        check(all(k == 1 for k in load.last), "a client never saw the "
              "reloaded message")
        st = d.wait_stat("conns_current", lambda v: v == 0, "0")
        check(st["requests"] == sum(load.sent), (st, sum(load.sent)))
        check(d.stop() == 0)
    figure("signals_reload_replies", sum(load.replies), "replies")


class Connector(threading.Thread):
    """New connections at a bounded rate (RATE a second, at most COUNT),
    each to the port the test says is current: connect, one line, its
    reply, close.  A refused connect is fine (the port just moved); a
    connection that was accepted and then reset is a lost client."""
    RATE = 200
    COUNT = 2000

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stopping = threading.Event()
        self.answered = threading.Condition()
        self.ok = self.refused = 0
        self.failed = []

    def wait_ok(self, n):
        """Until n connections have been answered in all."""
        with self.answered:
            check(self.answered.wait_for(
                lambda: self.ok >= n or not self.is_alive(), TIMEOUT),
                "only %d connections answered" % self.ok)

    def run(self):
        t0 = time.monotonic()
        for i in range(self.COUNT):
            if self.stopping.is_set():
                break
            # Paced: the i-th connection no earlier than i / RATE s in.
            delay = t0 + i / self.RATE - time.monotonic()
            if delay > 0:
                self.stopping.wait(delay)
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              TIMEOUT) as s:
                    s.sendall(b"hi\n")
                    got = b""
                    while len(got) < len(REPLY):
                        chunk = s.recv(64)
                        if not chunk:
                            break
                        got += chunk
                    if got == REPLY:
                        with self.answered:
                            self.ok += 1
                            self.answered.notify_all()
                    else:
                        self.failed.append("got %r" % got)
            except ConnectionRefusedError:
                self.refused += 1
            except OSError as e:
                self.failed.append(repr(e))


def test_port_changes_under_new_connections_reset_nobody():
    """Reloads that move the port back and forth while clients keep
    connecting: the connections queued on the closing listener are
    accepted and answered, not reset."""
    ports = [free_port(), free_port()]
    with Daemon(base=conf("Hello World", ports[0])) as d:
        c = Connector(ports[0])
        c.start()
        try:
            for k in range(1, 21):
                new = ports[k % 2]
                m = d.mark()
                check(d.reload(conf("Hello World", new)))
                d.wait_log(r"listening on 127\.0\.0\.1:%d" % new, start=m)
                c.port = new
                # Let some connections in on this port before moving on.
                c.wait_ok(c.ok + 10)
        finally:
            c.stopping.set()
            c.join(2 * TIMEOUT)
        check(not c.failed, "%d accepted clients lost: %s" % (
            len(c.failed), c.failed[:5]))
        check(c.ok > 0, "nobody was answered")
        check(d.stop() == 0)
    figure("signals_port_moves_answered", c.ok, "connections")
    figure("signals_port_moves_refused", c.refused, "connections")


def test_no_reply_lost_across_a_graceful_stop():
    with Daemon("shutdown_timeout = 120\nmax_output = 64k\n") as d:
        # Pipeliners: megabytes of lines, nothing read until the stop: the
        # socket buffers fill with replies, the daemon's output reaches
        # max_output and lines wait unread in its socket buffers.
        hogs = connect_many(d.port, 4)
        hog_sent = fill(hogs, b"x\n", 8 << 20)
        # Talkers: steady traffic, many lines in flight at the stop.
        talkers = connect_many(d.port, 6)
        load = Load(talkers, [b"Hello World"], window=256, until_eof=True)
        quiet = connect_many(d.port, 4)   # say nothing at all
        cut = connect_many(d.port, 2)     # half a line, never finished
        for c in cut:
            c.sendall(b"half a li")
        load.start()
        try:
            load.wait_replies(50000)
            d.wait_stats(lambda st: st["output_paused"] >= 4,
                         "the pipeliners paused")
            # The talkers fall quiet with lines still in flight; the
            # stop must answer those and every line of the pipeliners.
            load.stop()
            m = d.mark()
            d.kill(signal.SIGTERM)
            d.wait_log(r"stopping: 16 connection", start=m)
            t0 = time.monotonic()
            got, reset = wait_closed(hogs + quiet + cut, 6 * TIMEOUT)
            load.finish()
            t_flush = time.monotonic() - t0
        finally:
            load.stop()
            close_all(hogs + talkers + quiet + cut)
        check(not any(reset), "a client was reset")
        hog_replies = [len(g) // 12 for g in got[:4]]
        check(all(g == b"Hello World\n" * k
                  for g, k in zip(got[:4], hog_replies)), "hog replies")
        check(hog_replies == [n // 2 for n in hog_sent],
              "pipeliners sent %s lines, got %s replies"
              % ([n // 2 for n in hog_sent], hog_replies))
        check(load.replies == load.sent, "talkers sent %s lines, got %s "
              "replies" % (load.sent, load.replies))
        check(all(g == b"" for g in got[4:]), "quiet or cut clients got data")
        answered = sum(hog_replies) + sum(load.replies)
        rc = d.proc.wait(TIMEOUT)     # stopping already: no second TERM
        check(rc == 0, "exit status %s; log:\n%s" % (rc, d.log_text()))
    figure("signals_term_hog_lines_sent", sum(hog_sent) // 2, "lines")
    figure("signals_term_replies", answered, "replies")
    figure("signals_term_flush_seconds", t_flush, "s")


def test_no_reply_lost_across_fifty_reloads_under_load():
    reloads = 50
    msgs = [b"msg-%02d" % i for i in range(reloads + 1)]
    limits = ["max_output = 4k\nmax_line_length = 100\nidle_timeout = 300\n",
              "max_output = 64k\nmax_line_length = 8k\nidle_timeout = 600\n",
              "max_output = 1m\nmax_line_length = 5\nidle_timeout = 0\n"]
    with Daemon("message = msg-00\n") as d:
        socks = connect_many(d.port, 6)
        load = Load(socks, msgs, window=64)
        load.start()
        t0 = time.monotonic()
        try:
            load.wait_replies(5000)
            for i in range(1, reloads + 1):
                r0 = sum(load.replies)
                check(d.reload(conf(msgs[i].decode(), d.port,
                                    limits[i % len(limits)])))
                load.wait_replies(r0 + 2000)  # traffic between reloads
            load.wait_seen(reloads)
        finally:
            load.stop()
            load.finish()
            close_all(socks)
        took = time.monotonic() - t0
        check(load.replies == load.sent, (load.replies, load.sent))
        check(all(k == reloads for k in load.last), load.last)
        st = d.wait_stat("conns_current", lambda v: v == 0, "0")
        check(st["requests"] == sum(load.sent) and
              st["reloads"] == reloads and st["reloads_failed"] == 0, st)
        check(d.stop() == 0)
    figure("signals_reloads", reloads, "reloads")
    figure("signals_reloads_replies", sum(load.replies), "replies")
    figure("signals_reloads_seconds", took, "s")


if __name__ == "__main__":
    main(globals())
