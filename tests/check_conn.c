/* SPDX-License-Identifier: ISC */
/*
 * check_conn.c: connections (src/conn.c) as a real worker runs them.
 *
 * Each test builds a worker on an event base of its own with a config
 * parsed from text, hands it one end of a socket pair (AF_UNIX, or a
 * loopback TCP connection where the peer's address matters) as if its
 * listener had accepted it, and plays the client on the other end.  The
 * base runs one non-blocking pass at a time until what the test waits for
 * has happened, bounded in passes and in time: nothing waits on a sleep.
 * What the client reads is asserted to the byte, and the worker's counters
 * say how each connection ended.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check_hellod.h"
#include "hellod.h"

#define RIG_WAIT_MS	5000	/* the longest a condition is waited for */
#define RIG_PASSES	200000	/* loop passes, likewise */
#define RIG_NAP_MS	10	/* the longest one pass waits */
#define PEER_BUF	(1 << 20)

/* A worker of its own, on a base of its own. */
struct rig {
	struct event_base	*base;
	struct config		*conf;
	struct worker_shared	 shared;
	struct worker		*w;
	int			 listen_fd;	/* loopback, made on demand */
};

/* The client's end of one connection, and what it has read. */
struct peer {
	int		 fd;
	char		*buf;
	size_t		 len;
	int		 eof;
};

static void
rig_done(void *arg)
{
	(void)arg;
}

static void
rig_open(struct rig *r, const char *text)
{
	memset(r, 0, sizeof(*r));
	r->listen_fd = -1;
	/* The refusals the tests provoke are counted; their lines are noise. */
	log_setlevel(LOG_ERR);
	r->conf = check_conf(text);
	r->base = event_base_new();
	ck_assert_ptr_nonnull(r->base);
	r->shared.sources = source_table_new();
	ck_assert_ptr_nonnull(r->shared.sources);
	r->w = worker_new(0, r->base, r->conf, &r->shared, 0, rig_done, r);
	ck_assert_ptr_nonnull(r->w);
}

static void
rig_close(struct rig *r)
{
	worker_free(r->w);
	ck_assert_uint_eq(r->shared.conns_open, 0);
	event_base_free(r->base);
	source_table_free(r->shared.sources);
	config_unref(r->conf);
	if (r->listen_fd != -1)
		close(r->listen_fd);
	log_setlevel(LOG_INFO);
}

static struct stats
rig_stats(struct rig *r)
{
	struct stats	 st;

	memset(&st, 0, sizeof(st));
	worker_stats(r->w, &st);
	return st;
}

static void
peer_init(struct peer *p, int fd)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->buf = malloc(PEER_BUF);
	ck_assert_ptr_nonnull(p->buf);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
}

static void
peer_free(struct peer *p)
{
	if (p->fd != -1)
		close(p->fd);
	free(p->buf);
}

/* Read what has come, without waiting. */
static void
peer_read(struct peer *p)
{
	ssize_t	 n;

	while (!p->eof && p->len < PEER_BUF) {
		n = recv(p->fd, p->buf + p->len, PEER_BUF - p->len, 0);
		if (n > 0)
			p->len += (size_t)n;
		else if (n == 0)
			p->eof = 1;
		else if (errno == ECONNRESET)
			p->eof = 1;
		else
			break;
	}
}

static void
peer_send(struct peer *p, const char *s)
{
	ck_assert_int_eq(send(p->fd, s, strlen(s), MSG_NOSIGNAL),
	    (ssize_t)strlen(s));
}

/* What the peer has read so far equals want. */
static void
peer_assert(struct peer *p, const char *want)
{
	ck_assert_uint_eq(p->len, strlen(want));
	ck_assert(memcmp(p->buf, want, p->len) == 0);
}

/* Conditions the event loop runs until. */
typedef int	(*rig_cond)(struct rig *, struct peer *, size_t);

static int
until_bytes(struct rig *r, struct peer *p, size_t n)
{
	(void)r;
	peer_read(p);
	return p->len >= n;
}

static int
until_eof(struct rig *r, struct peer *p, size_t n)
{
	(void)r;
	(void)n;
	peer_read(p);
	return p->eof;
}

static int
until_paused(struct rig *r, struct peer *p, size_t n)
{
	(void)p;
	return rig_stats(r).output_paused >= n;
}

static int
until_current(struct rig *r, struct peer *p, size_t n)
{
	(void)p;
	return rig_stats(r).conns_current == n;
}

/*
 * Run the worker's loop until cond holds; 0 if it never did.  Passes that
 * do not wait, and now and then one that waits up to RIG_NAP_MS for an
 * event (a timer's: idle_timeout), so that the loop does not spin.
 */
static int
rig_run(struct rig *r, rig_cond cond, struct peer *p, size_t n)
{
	struct timeval	 nap = { 0, RIG_NAP_MS * 1000 };
	uint64_t	 end = clock_ms() + RIG_WAIT_MS;
	int		 i;

	for (i = 0; i < RIG_PASSES && clock_ms() < end; i++) {
		if (cond(r, p, n))
			return 1;
		if (i % 100 == 99) {
			event_base_loopexit(r->base, &nap);
			event_base_loop(r->base, EVLOOP_ONCE);
		} else
			event_base_loop(r->base, EVLOOP_ONCE |
			    EVLOOP_NONBLOCK);
	}
	return cond(r, p, n);
}

/* Let the loop run a little and check cond still does not hold. */
static int
rig_settle(struct rig *r, rig_cond cond, struct peer *p, size_t n)
{
	int	 i;

	for (i = 0; i < 200; i++) {
		event_base_loop(r->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (cond(r, p, n))
			return 1;
	}
	return 0;
}

/* A connection on an AF_UNIX socket pair: its peer is no IP address. */
static void
rig_connect_unix(struct rig *r, struct peer *p)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int			 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(getpeername(sv[0], (struct sockaddr *)&ss, &len), 0);
	worker_accept(r->w, sv[0], (struct sockaddr *)&ss, len);
	peer_init(p, sv[1]);
}

/* A loopback TCP connection, from 127.0.0.1. */
static void
rig_connect_tcp(struct rig *r, struct peer *p)
{
	struct sockaddr_in	 sin;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(sin);
	int			 cfd, sfd;

	if (r->listen_fd == -1) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		r->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(r->listen_fd, 0);
		ck_assert_int_eq(bind(r->listen_fd, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
		ck_assert_int_eq(listen(r->listen_fd, 8), 0);
	}
	len = sizeof(sin);
	ck_assert_int_eq(getsockname(r->listen_fd, (struct sockaddr *)&sin,
	    &len), 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sin, len), 0);
	len = sizeof(ss);
	sfd = accept4(r->listen_fd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	ck_assert_int_ge(sfd, 0);
	worker_accept(r->w, sfd, (struct sockaddr *)&ss, len);
	peer_init(p, cfd);
}

/*
 * Lines are answered however the reads cut them, CRLF or LF; nothing
 * before a line is whole.  The client's FIN closes as "client".
 */
START_TEST(test_framing_across_reads)
{
	struct rig	 r;
	struct peer	 p;
	struct stats	 st;

	rig_open(&r, "message = hi\n");
	rig_connect_unix(&r, &p);
	peer_send(&p, "ab");
	ck_assert(!rig_settle(&r, until_bytes, &p, 1));
	peer_send(&p, "c\r");
	ck_assert(!rig_settle(&r, until_bytes, &p, 1));
	peer_send(&p, "\nde");
	ck_assert(rig_run(&r, until_bytes, &p, 3));
	peer_send(&p, "f\n\n\r\ngh");
	ck_assert(rig_run(&r, until_bytes, &p, 12));
	ck_assert(!rig_settle(&r, until_bytes, &p, 13));
	peer_assert(&p, "hi\nhi\nhi\nhi\n");
	/* The last line, cut off by EOF, still has its reply. */
	ck_assert_int_eq(shutdown(p.fd, SHUT_WR), 0);
	ck_assert(rig_run(&r, until_eof, &p, 0));
	peer_assert(&p, "hi\nhi\nhi\nhi\nhi\n");
	st = rig_stats(&r);
	ck_assert_uint_eq(st.conns_accepted, 1);
	ck_assert_uint_eq(st.conns_current, 0);
	ck_assert_uint_eq(st.requests, 5);
	ck_assert_uint_eq(st.bytes_received, 14);
	ck_assert_uint_eq(st.bytes_sent, 15);
	ck_assert_uint_eq(st.closed[STATS_CLOSE_CLIENT], 1);
	ck_assert_uint_eq(st.closed[STATS_CLOSE_PROBE], 0);
	peer_free(&p);
	rig_close(&r);
}
END_TEST

/* A connection closed without a byte is a probe, not a client. */
START_TEST(test_probe_close)
{
	struct rig	 r;
	struct peer	 p;
	struct stats	 st;

	rig_open(&r, "message = hi\n");
	rig_connect_tcp(&r, &p);
	ck_assert_int_eq(shutdown(p.fd, SHUT_WR), 0);
	ck_assert(rig_run(&r, until_eof, &p, 0));
	ck_assert_uint_eq(p.len, 0);
	st = rig_stats(&r);
	ck_assert_uint_eq(st.closed[STATS_CLOSE_PROBE], 1);
	ck_assert_uint_eq(st.closed[STATS_CLOSE_CLIENT], 0);
	ck_assert_uint_eq(st.conns_current, 0);
	peer_free(&p);
	rig_close(&r);
}
END_TEST

/*
 * A client that writes and does not read: once max_output waits, reading
 * stops; as the client reads, it resumes, and every line is answered.
 */
START_TEST(test_output_pause_resume)
{
	struct rig	 r;
	struct peer	 p;
	struct stats	 st;
	char		 msg[300], conf[400], *lines;
	size_t		 nlines = 2000, i, rlen;
	int		 small = 4096;

	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	snprintf(conf, sizeof(conf), "message = %s\nmax_output = 4k\n", msg);
	rlen = strlen(msg) + 1;
	rig_open(&r, conf);
	rig_connect_unix(&r, &p);
	ck_assert_int_eq(setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	lines = malloc(nlines * 2 + 1);
	ck_assert_ptr_nonnull(lines);
	for (i = 0; i < nlines; i++)
		memcpy(lines + 2 * i, "a\n", 2);
	lines[2 * nlines] = '\0';
	peer_send(&p, lines);
	free(lines);
	/* The client reads nothing yet: the worker stops reading. */
	ck_assert(rig_run(&r, until_paused, &p, 1));
	st = rig_stats(&r);
	ck_assert_uint_lt(st.requests, nlines);
	/* It reads: every reply comes, in full, and the paused count says
	 * reading stopped (and so resumed) at least once. */
	ck_assert(rig_run(&r, until_bytes, &p, nlines * rlen));
	ck_assert_uint_eq(p.len, nlines * rlen);
	for (i = 0; i < nlines; i++) {
		ck_assert(memcmp(p.buf + i * rlen, msg, rlen - 1) == 0);
		ck_assert_int_eq(p.buf[i * rlen + rlen - 1], '\n');
	}
	st = rig_stats(&r);
	ck_assert_uint_eq(st.requests, nlines);
	ck_assert_uint_ge(st.output_paused, 1);
	ck_assert_uint_eq(st.bytes_received, 2 * nlines);
	peer_free(&p);
	rig_close(&r);
}
END_TEST

/* A connection quiet for idle_timeout is closed, as "idle". */
START_TEST(test_idle_close)
{
	struct rig	 r;
	struct peer	 p;
	struct stats	 st;

	rig_open(&r, "message = hi\nidle_timeout = 1\n");
	rig_connect_tcp(&r, &p);
	peer_send(&p, "x\n");
	ck_assert(rig_run(&r, until_bytes, &p, 3));
	ck_assert(rig_run(&r, until_eof, &p, 0));
	peer_assert(&p, "hi\n");
	st = rig_stats(&r);
	ck_assert_uint_eq(st.closed[STATS_CLOSE_IDLE], 1);
	ck_assert_uint_eq(st.conns_current, 0);
	peer_free(&p);
	rig_close(&r);
}
END_TEST

/*
 * A line longer than max_line_length: the lines before it are answered,
 * then FIN, and the connection closes as "too long" once the client does.
 */
START_TEST(test_line_too_long)
{
	struct rig	 r;
	struct peer	 p;
	struct stats	 st;

	rig_open(&r, "message = hi\nmax_line_length = 8\n");
	rig_connect_unix(&r, &p);
	peer_send(&p, "12345678\nshort\n123456789");
	ck_assert(rig_run(&r, until_eof, &p, 0));
	peer_assert(&p, "hi\nhi\n");
	st = rig_stats(&r);
	ck_assert_uint_eq(st.requests, 2);
	ck_assert_uint_eq(st.closed[STATS_CLOSE_TOO_LONG], 1);
	/* Lingering, it holds its slot until the client closes too. */
	ck_assert_uint_eq(st.conns_current, 1);
	close(p.fd);
	p.fd = -1;
	ck_assert(rig_run(&r, until_current, &p, 0));
	st = rig_stats(&r);
	ck_assert_uint_eq(st.closed[STATS_CLOSE_TOO_LONG], 1);
	ck_assert_uint_eq(st.closed[STATS_CLOSE_CLIENT], 0);
	peer_free(&p);
	rig_close(&r);
}
END_TEST

/*
 * Behind a proxy: a v1 header, cut across reads, then lines; a second
 * connection from the client the header names is over its source's cap;
 * a third has no header at all.
 */
START_TEST(test_proxy_phase)
{
	struct rig	 r;
	struct peer	 p, q, z;
	struct stats	 st;

	rig_open(&r, "message = hi\nproxy_protocol = yes\n"
	    "proxy_trusted = 127.0.0.1\nmax_connections_per_source = 1\n");
	rig_connect_tcp(&r, &p);
	peer_send(&p, "PROXY TCP4 192.0.2.1 ");
	ck_assert(!rig_settle(&r, until_bytes, &p, 1));
	peer_send(&p, "192.0.2.2 1234 80\r\nline one\nline");
	ck_assert(rig_run(&r, until_bytes, &p, 3));
	peer_send(&p, " two\n");
	ck_assert(rig_run(&r, until_bytes, &p, 6));
	peer_assert(&p, "hi\nhi\n");

	rig_connect_tcp(&r, &q);
	peer_send(&q, "PROXY TCP4 192.0.2.1 192.0.2.2 1235 80\r\nx\n");
	ck_assert(rig_run(&r, until_eof, &q, 0));
	peer_assert(&q, ADMIT_SOURCE_LINE);

	rig_connect_tcp(&r, &z);
	peer_send(&z, "GET / HTTP/1.0\r\n\r\n");
	ck_assert(rig_run(&r, until_eof, &z, 0));
	ck_assert_uint_eq(z.len, 0);

	st = rig_stats(&r);
	ck_assert_uint_eq(st.requests, 2);
	ck_assert_uint_eq(st.conns_rejected_source, 1);
	ck_assert_uint_eq(st.conns_rejected_proxy, 1);
	ck_assert_uint_eq(st.closed[STATS_CLOSE_REJECTED], 2);
	peer_free(&z);
	peer_free(&q);
	peer_free(&p);
	rig_close(&r);
}
END_TEST

/*
 * Admission at accept: over max_connections a client is told so and
 * closed, never a connection; a peer outside proxy_trusted is closed
 * without a word.
 */
START_TEST(test_admission)
{
	struct rig	 r;
	struct peer	 p, q;
	struct stats	 st;

	rig_open(&r, "message = hi\nmax_connections = 1\n");
	rig_connect_unix(&r, &p);
	rig_connect_unix(&r, &q);
	ck_assert(rig_run(&r, until_eof, &q, 0));
	peer_assert(&q, ADMIT_FULL_LINE);
	peer_send(&p, "x\n");
	ck_assert(rig_run(&r, until_bytes, &p, 3));
	peer_assert(&p, "hi\n");
	st = rig_stats(&r);
	ck_assert_uint_eq(st.conns_accepted, 1);
	ck_assert_uint_eq(st.conns_rejected, 1);
	ck_assert_uint_eq(st.conns_current, 1);
	ck_assert_uint_eq(r.shared.conns_open, 1);
	peer_free(&q);
	peer_free(&p);
	rig_close(&r);

	rig_open(&r, "message = hi\nproxy_protocol = yes\n"
	    "proxy_trusted = 10.0.0.0/8\n");
	rig_connect_tcp(&r, &p);
	ck_assert(rig_run(&r, until_eof, &p, 0));
	ck_assert_uint_eq(p.len, 0);
	st = rig_stats(&r);
	ck_assert_uint_eq(st.conns_rejected_proxy, 1);
	ck_assert_uint_eq(st.conns_accepted, 0);
	ck_assert_uint_eq(r.shared.conns_open, 0);
	peer_free(&p);
	rig_close(&r);
}
END_TEST

Suite *
conn_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("conn");
	tc = tcase_create("worker");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_framing_across_reads);
	tcase_add_test(tc, test_probe_close);
	tcase_add_test(tc, test_output_pause_resume);
	tcase_add_test(tc, test_idle_close);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_proxy_phase);
	tcase_add_test(tc, test_admission);
	suite_add_tcase(s, tc);
	return (s);
}
