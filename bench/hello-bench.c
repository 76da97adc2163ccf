/* SPDX-License-Identifier: ISC */
/*
 * hello-bench: a load generator for line-protocol responders (hellod, the
 * raw-epoll reference, redis inline PING, memcached "version").
 *
 * One thread, plain epoll, level-triggered. Every reply is checked byte for
 * byte; any mismatch, lost reply or unexpected close makes the run fail
 * (exit 1). The last line printed is a machine-readable RESULT line.
 *
 * Modes:
 *   pingpong  N connections each keep D requests in flight for T seconds
 *             after a W-second warm-up: requests/s and latency percentiles.
 *             With -a, paced: batches leave at a fixed total rate (the
 *             latency at a given load rather than at saturation); with
 *             -p, the server's CPU time per request as well.
 *   connrate  C concurrent slots each connect, send one line, read one
 *             reply and close, over and over: connections/s.
 *   idle      open N connections, check each answers, hold them, check
 *             again: the server's RSS growth per connection.
 *
 * Traffic may only go to a loopback address: anything else is refused.
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC	1000000000ULL
#define NSEC_PER_MSEC	1000000ULL

#define LINE_MAX_LEN	1024		/* longest reply line accepted */
#define IN_SIZE		4096		/* per-connection input buffer */
#define MAX_EVENTS	256
#define MAX_DEPTH	1024
#define MAX_CONNS	1000000
#define MAX_DURATION	3600.0
#define MAX_ERROR_LOGS	10		/* detailed error lines before silence */
#define DRAIN_TIMEOUT	(2 * NSEC_PER_SEC) /* wait for owed replies at end */
#define STALL_TIMEOUT	(5 * NSEC_PER_SEC) /* no reply at all: give up */
#define STEP_TIMEOUT	(10 * NSEC_PER_SEC) /* idle: one window's answers */
#define MAX_SOURCES	254		/* 127.0.0.1 .. 127.0.0.254 */
#define MAX_ERRORS	1000		/* enough to know the run failed */

/*
 * Latency histogram, log-linear: exact below 128 ns, then 64 sub-buckets
 * per power of two (about 1.6% resolution) up to 2^46 ns. Fixed size, so a
 * long run costs no memory.
 */
#define HIST_SUB_BITS	6
#define HIST_SUB	(1U << HIST_SUB_BITS)
#define HIST_LINEAR	(2 * HIST_SUB)
#define HIST_BUCKETS	(HIST_LINEAR + 40 * HIST_SUB)

struct hist {
	uint64_t	 count;
	uint64_t	 max;
	uint64_t	 bucket[HIST_BUCKETS];
};

enum mode {
	MODE_PINGPONG,
	MODE_CONNRATE,
	MODE_IDLE
};

enum conn_state {
	CONN_FREE,
	CONN_CONNECTING,
	CONN_OPEN,
	CONN_DEAD
};

struct conn {
	int		 fd;
	enum conn_state	 state;
	unsigned int	 owed;		/* replies still expected */
	unsigned int	 first;		/* requests to send once connected */
	size_t		 outoff;	/* bytes of the batch already written */
	size_t		 outlen;	/* size of the batch being written */
	uint64_t	 sent_ns;	/* when the batch (or connect) started */
	size_t		 inlen;
	char		 in[IN_SIZE];
};

struct options {
	enum mode	 mode;
	const char	*mode_name;
	const char	*host;
	const char	*port;
	int		 conns;
	int		 depth;
	int		 window;
	double		 duration;
	double		 warmup;
	double		 hold;
	double		 timeout;
	const char	*request;
	const char	*reply;
	int		 prefix;
	int		 crlf_request;
	int		 crlf_reply;
	int		 linger0;
	int		 sources;
	pid_t		 pid;
	double		 rate;		/* pingpong: requests/s, 0 = unpaced */
};

static struct options	 opt;
static struct sockaddr_storage target;
static socklen_t	 targetlen;
static int		 ep = -1;

static char		*batch;		/* depth copies of the request line */
static size_t		 batchlen;
static size_t		 reqlen;	/* one request line */
static char		*expect;	/* full expected reply line (exact) */
static size_t		 expectlen;
static size_t		 termlen;	/* 1 for "\n", 2 for "\r\n" */

static unsigned int	 next_source;

static uint64_t		 errors;
static struct hist	 hist;

static void		 usage(void) __attribute__((noreturn));
static void		 fatalx(const char *, ...)
			    __attribute__((format(printf, 1, 2), noreturn));
static void		 bench_error(const char *, ...)
			    __attribute__((format(printf, 1, 2)));

static void
usage(void)
{
	fprintf(stderr,
	    "usage: hello-bench pingpong|connrate|idle -P port [-h host]\n"
	    "           [-c conns] [-d depth] [-t secs] [-w secs] [-H secs]\n"
	    "           [-k window] [-q request] [-r reply | -R prefix]\n"
	    "           [-p pid] [-s n] [-a rate] [-T secs] [-CNl]\n"
	    "  -h host    loopback address to load (default 127.0.0.1)\n"
	    "  -P port    port to load\n"
	    "  -c conns   connections (pingpong 50, idle 1000) or\n"
	    "             concurrency (connrate 8)\n"
	    "  -d depth   requests in flight per connection (pingpong, 1)\n"
	    "  -t secs    measured time (5)\n"
	    "  -w secs    warm-up before measuring (1)\n"
	    "  -H secs    idle: how long to hold the connections (2)\n"
	    "  -k window  idle: connections being opened at once (64)\n"
	    "  -q req     request line, without its end (\"hello\")\n"
	    "  -r reply   expected reply line, without its end\n"
	    "             (\"Hello World\")\n"
	    "  -R prefix  expect a reply line starting with prefix instead\n"
	    "  -C         replies end in CRLF (default LF)\n"
	    "  -N         send requests ending in CRLF (default LF)\n"
	    "  -l         connrate: close with RST (SO_LINGER 0)\n"
	    "  -s n       connrate: spread over n source addresses\n"
	    "             127.0.0.1.. (IPv4 only, 64; 1: the kernel's)\n"
	    "  -p pid     server pid: idle reads its VmRSS growth, pingpong\n"
	    "             its CPU time per request\n"
	    "  -a rate    pingpong: send at most rate requests/s in all\n"
	    "             (paced batches; the achieved rate is reported)\n"
	    "  -T secs    hard timeout for the whole run\n");
	exit(2);
}

static void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "hello-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Count an error; describe only the first few so a flood stays readable. */
static void
bench_error(const char *fmt, ...)
{
	va_list	ap;

	if (errors++ >= MAX_ERROR_LOGS) {
		if (errors == MAX_ERROR_LOGS + 1)
			fprintf(stderr, "hello-bench: more errors follow, "
			    "not shown\n");
		return;
	}
	fprintf(stderr, "hello-bench: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Last resort if a loop misses its deadline: never hang a script. */
static void
hard_timeout(int sig)
{
	static const char	msg[] = "hello-bench: hard timeout, giving up\n";
	ssize_t			n;

	(void)sig;
	n = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)n;
	_exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t
secs_to_ns(double secs)
{
	return (uint64_t)(secs * (double)NSEC_PER_SEC);
}

static size_t
hist_index(uint64_t v)
{
	unsigned int	e;
	size_t		i;

	if (v < HIST_LINEAR)
		return (size_t)v;
	e = 63 - (unsigned int)__builtin_clzll(v);
	i = HIST_LINEAR + (size_t)(e - HIST_SUB_BITS - 1) * HIST_SUB +
	    (size_t)((v >> (e - HIST_SUB_BITS)) - HIST_SUB);
	return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

/* The middle of bucket i, in ns. */
static uint64_t
hist_value(size_t i)
{
	unsigned int	e;
	uint64_t	sub;

	if (i < HIST_LINEAR)
		return i;
	e = (unsigned int)((i - HIST_LINEAR) / HIST_SUB) + HIST_SUB_BITS + 1;
	sub = (i - HIST_LINEAR) % HIST_SUB + HIST_SUB;
	return (sub << (e - HIST_SUB_BITS)) +
	    ((1ULL << (e - HIST_SUB_BITS)) >> 1);
}

static void
hist_add(struct hist *h, uint64_t v)
{
	h->bucket[hist_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

/* Value at quantile q (0 < q <= 1), in microseconds. */
static double
hist_quantile_us(const struct hist *h, double q)
{
	uint64_t	want, seen = 0, v;
	size_t		i;

	if (h->count == 0)
		return 0.0;
	want = (uint64_t)ceil(q * (double)h->count);
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want) {
			v = hist_value(i);
			/* The top bucket is wider than the truth. */
			if (v > h->max)
				v = h->max;
			return (double)v / 1000.0;
		}
	}
	return (double)h->max / 1000.0;
}

static long
parse_long(const char *s, long min, long max, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		fatalx("%s: \"%s\" is not a number in %ld..%ld", what, s,
		    min, max);
	return v;
}

static double
parse_secs(const char *s, const char *what)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0) ||
	    v > MAX_DURATION)
		fatalx("%s: \"%s\" is not a number of seconds in 0..%.0f",
		    what, s, MAX_DURATION);
	return v;
}

/* A line we send or expect must not carry its own line end. */
static void
check_line_arg(const char *s, const char *what)
{
	if (strpbrk(s, "\r\n") != NULL)
		fatalx("%s must not contain CR or LF", what);
	if (strlen(s) > LINE_MAX_LEN / 2)
		fatalx("%s is too long", what);
}

static int
is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*b;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		/* ::ffff:127.x.y.z is IPv4 loopback as well. */
		b = sin6->sin6_addr.s6_addr;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127;
	}
	return 0;
}

/*
 * Resolve the target numerically only: a name could resolve differently
 * between the check and the connect, and the check is the whole point.
 */
static void
resolve_target(void)
{
	struct addrinfo	 hints, *res;
	int		 rv;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (strcmp(opt.host, "localhost") == 0)
		opt.host = "127.0.0.1";
	rv = getaddrinfo(opt.host, opt.port, &hints, &res);
	if (rv != 0)
		fatalx("%s port %s: %s (numeric loopback address and port "
		    "needed)", opt.host, opt.port, gai_strerror(rv));
	if (!is_loopback(res->ai_addr)) {
		freeaddrinfo(res);
		fatalx("%s is not a loopback address: refused (only "
		    "127.0.0.0/8 and ::1 may be loaded)", opt.host);
	}
	if (res->ai_addrlen > sizeof target)
		fatalx("address too long");
	memcpy(&target, res->ai_addr, res->ai_addrlen);
	targetlen = res->ai_addrlen;
	freeaddrinfo(res);
}

/* 10,000 idle connections need more than the usual 1024 descriptors. */
static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatalx("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			fatalx("setrlimit: %s", strerror(errno));
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)opt.conns + 16 > rl.rlim_cur)
		fatalx("%d connections need more than the %llu descriptors "
		    "allowed", opt.conns, (unsigned long long)rl.rlim_cur);
}

static void
build_lines(void)
{
	const char	*end;
	size_t		 i, len;

	end = opt.crlf_request ? "\r\n" : "\n";
	len = strlen(opt.request);
	reqlen = len + strlen(end);
	batchlen = reqlen * (size_t)opt.depth;
	if ((batch = malloc(batchlen)) == NULL)
		fatalx("out of memory");
	for (i = 0; i < (size_t)opt.depth; i++) {
		memcpy(batch + i * reqlen, opt.request, len);
		memcpy(batch + i * reqlen + len, end, strlen(end));
	}

	termlen = opt.crlf_reply ? 2 : 1;
	expectlen = strlen(opt.reply) + termlen;
	if ((expect = malloc(expectlen)) == NULL)
		fatalx("out of memory");
	memcpy(expect, opt.reply, strlen(opt.reply));
	memcpy(expect + strlen(opt.reply), opt.crlf_reply ? "\r\n" : "\n",
	    termlen);
}

/* Does one reply line (len bytes, ending in '\n') match what we expect? */
static int
reply_ok(const char *line, size_t len)
{
	size_t	plen;

	if (!opt.prefix)
		return len == expectlen && memcmp(line, expect, len) == 0;

	plen = expectlen - termlen;
	if (len < expectlen || memcmp(line, expect, plen) != 0)
		return 0;
	if (opt.crlf_reply)
		return line[len - 2] == '\r';
	/* LF mode: a stray CR would be part of the reply. */
	return len < 2 || line[len - 2] != '\r';
}

/* Show a bad reply without letting it mess up the terminal. */
static void
report_mismatch(const char *line, size_t len)
{
	char	shown[64];
	size_t	i, j;

	for (i = j = 0; i < len && j < sizeof shown - 5; i++) {
		if (line[i] >= 0x20 && line[i] < 0x7f)
			shown[j++] = line[i];
		else
			j += (size_t)snprintf(shown + j, sizeof shown - j,
			    "\\x%02x", (unsigned char)line[i]);
	}
	shown[j] = '\0';
	bench_error("reply mismatch: got \"%s\"%s", shown,
	    i < len ? "..." : "");
}

static void
conn_close(struct conn *c, enum conn_state state)
{
	if (c->fd != -1) {
		/* close() drops the epoll registration as well. */
		close(c->fd);
		c->fd = -1;
	}
	c->state = state;
	c->owed = 0;
	c->inlen = 0;
	c->outoff = c->outlen = 0;
}

/*
 * A fast connect/close loop leaves each client port in TIME_WAIT for a
 * minute, and connect() then spends its time hunting for a free port in
 * one address's 28k. Each loopback source address has its own port space,
 * so rotating over a few keeps the graceful close (no RST) and the rate.
 */
static int
conn_bind_source(int fd)
{
	struct sockaddr_in	src;
	int			one = 1;

	if (opt.sources <= 1 || target.ss_family != AF_INET)
		return 0;
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof one);
	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(INADDR_LOOPBACK +
	    next_source++ % (unsigned int)opt.sources);
	return bind(fd, (struct sockaddr *)&src, sizeof src);
}

/*
 * Start a non-blocking connect that sends nreq requests once connected;
 * returns -1 (error counted) on failure. On loopback the handshake has
 * often finished by the time connect() returns, so the first write is
 * tried at once: that saves a wakeup and an epoll_ctl per connection,
 * which matters because the load generator pays for most of the kernel's
 * handshake work on loopback.
 */
static int
conn_connect(struct conn *c, int nodelay, unsigned int nreq)
{
	struct epoll_event	ev;
	struct linger		lg;
	ssize_t			n;
	int			one = 1;

	c->fd = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		bench_error("socket: %s", strerror(errno));
		c->state = CONN_DEAD;
		return -1;
	}
	/* Small pipelined writes must not wait for the previous ACK. */
	if (nodelay)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one);
	if (opt.mode == MODE_CONNRATE && conn_bind_source(c->fd) == -1) {
		bench_error("bind source address: %s", strerror(errno));
		conn_close(c, CONN_DEAD);
		return -1;
	}
	if (opt.linger0) {
		lg.l_onoff = 1;
		lg.l_linger = 0;
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	c->inlen = 0;
	c->owed = 0;
	c->outoff = c->outlen = 0;
	c->sent_ns = now_ns();
	if (connect(c->fd, (struct sockaddr *)&target, targetlen) == -1 &&
	    errno != EINPROGRESS) {
		bench_error("connect: %s", strerror(errno));
		conn_close(c, CONN_DEAD);
		return -1;
	}
	c->state = CONN_CONNECTING;
	c->first = nreq;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLOUT;
	n = write(c->fd, batch, reqlen * nreq);
	if (n == (ssize_t)(reqlen * nreq)) {
		c->state = CONN_OPEN;
		c->owed = nreq;
		c->outoff = c->outlen = (size_t)n;
		ev.events = EPOLLIN;
	} else if (n != -1 || (errno != EAGAIN && errno != ENOTCONN)) {
		/* A short first write of a few bytes: not worth handling. */
		bench_error("write: %s", n == -1 ? strerror(errno) :
		    "short write");
		conn_close(c, CONN_DEAD);
		return -1;
	}
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		bench_error("epoll_ctl: %s", strerror(errno));
		conn_close(c, CONN_DEAD);
		return -1;
	}
	return 0;
}

static int
conn_watch(struct conn *c, uint32_t events)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
		bench_error("epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Write what is left of the current batch. Returns -1 on error (counted),
 * 0 otherwise; a short write arms EPOLLOUT until the rest goes.
 */
static int
conn_flush(struct conn *c)
{
	ssize_t	n;

	n = write(c->fd, batch + c->outoff, c->outlen - c->outoff);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			n = 0;
		else {
			bench_error("write: %s", strerror(errno));
			return -1;
		}
	}
	c->outoff += (size_t)n;
	if (c->outoff < c->outlen)
		return conn_watch(c, EPOLLIN | EPOLLOUT);
	return 0;
}

/*
 * Send n request lines (n <= depth) and expect n replies; only called
 * once the previous batch is fully written.
 */
static int
conn_send(struct conn *c, unsigned int n)
{
	c->outoff = 0;
	c->outlen = reqlen * n;
	c->owed += n;
	c->sent_ns = now_ns();
	return conn_flush(c);
}

/* The connect finished (EPOLLOUT): did it succeed? */
static int
conn_connected(struct conn *c)
{
	int		err = 0;
	socklen_t	len = sizeof err;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		bench_error("connect: %s", strerror(err));
		return -1;
	}
	c->state = CONN_OPEN;
	if (conn_watch(c, EPOLLIN) == -1)
		return -1;
	return conn_send(c, c->first);
}

/*
 * Read once and check every complete reply line. Returns the number of
 * good replies, or -1 if the connection is unusable (error counted).
 * Latency of each reply goes into the histogram when record is set.
 */
static int
conn_read(struct conn *c, int record)
{
	ssize_t		 n;
	char		*p, *end, *nl;
	uint64_t	 now;
	int		 good = 0;
	size_t		 len;

	n = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		bench_error("read: %s (%u replies lost)", strerror(errno),
		    c->owed);
		return -1;
	}
	if (n == 0) {
		bench_error("server closed the connection (%u replies lost)",
		    c->owed);
		return -1;
	}
	now = now_ns();
	c->inlen += (size_t)n;

	p = c->in;
	end = c->in + c->inlen;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		len = (size_t)(nl - p) + 1;
		if (c->owed == 0) {
			bench_error("reply without a request");
			return -1;
		}
		c->owed--;
		if (reply_ok(p, len)) {
			good++;
			if (record)
				hist_add(&hist, now - c->sent_ns);
		} else
			report_mismatch(p, len);
		p = nl + 1;
	}
	len = (size_t)(end - p);
	if (len >= LINE_MAX_LEN) {
		bench_error("reply line longer than %d bytes", LINE_MAX_LEN);
		return -1;
	}
	if (len > 0 && p != c->in)
		memmove(c->in, p, len);
	c->inlen = len;
	return good;
}

static int
epoll_timeout_ms(uint64_t now, uint64_t next)
{
	uint64_t	ms;

	if (next <= now)
		return 0;
	ms = (next - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
	return ms > 100 ? 100 : (int)ms;
}

static struct conn *
conns_new(int n)
{
	struct conn	*conns;
	int		 i;

	if ((conns = calloc((size_t)n, sizeof *conns)) == NULL)
		fatalx("out of memory for %d connections", n);
	for (i = 0; i < n; i++) {
		conns[i].fd = -1;
		conns[i].state = CONN_FREE;
	}
	return conns;
}

static void
conns_free(struct conn *conns, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		if (conns[i].fd != -1)
			conn_close(&conns[i], CONN_FREE);
	free(conns);
}

/*
 * CPU time (user + system) of every thread of pid so far, in ns, into
 * *ns; -1 if it cannot be read.  /proc/PID/stat counts in clock ticks (10
 * ms at 100 Hz): over a run of seconds at full load that is well under
 * 1%, and a server that has barely run yet reads 0.
 */
static int
read_cpu_ns(pid_t pid, uint64_t *ns)
{
	char			 path[64], buf[1024], *p;
	FILE			*f;
	unsigned long long	 utime, stime;
	long			 hz;
	size_t			 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* Fields 3 (state) to 13, then utime and stime. */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &utime, &stime) != 2)
		return -1;
	if ((hz = sysconf(_SC_CLK_TCK)) <= 0)
		return -1;
	*ns = (utime + stime) * (NSEC_PER_SEC / (uint64_t)hz);
	return 0;
}

/* Sleep in epoll_wait until the deadline, to the microsecond. */
static int
wait_until(struct epoll_event *evs, int max, uint64_t now, uint64_t when)
{
	struct timespec	ts;
	uint64_t	d;

	d = when > now ? when - now : 0;
	ts.tv_sec = (time_t)(d / NSEC_PER_SEC);
	ts.tv_nsec = (long)(d % NSEC_PER_SEC);
	return epoll_pwait2(ep, evs, max, &ts, NULL);
}

enum phase {
	PHASE_WARMUP,
	PHASE_MEASURE,
	PHASE_DRAIN
};

static int
run_pingpong(void)
{
	struct epoll_event	 evs[MAX_EVENTS];
	struct conn		*conns, *c, **ready = NULL;
	enum phase		 phase = PHASE_WARMUP;
	uint64_t		 now, t_measure, t_end, t_drain = 0, t_last;
	uint64_t		 requests = 0, elapsed = 0, owed;
	uint64_t		 cpu0 = 0, cpu1 = 0, next_due = 0, gap = 0;
	int			 i, n, good, live, rhead = 0, rcount = 0;
	int			 cpu_reads = 0, cpu_failed = 0;
	double			 secs;
	char			 cpu[96] = "";

	conns = conns_new(opt.conns);
	/*
	 * Paced: a connection whose batch is back waits in a ring for its
	 * turn; a batch of depth lines leaves every gap ns.  When no
	 * connection is free the schedule waits too (the server is behind):
	 * the achieved rate then falls short of -a and says so.
	 */
	if (opt.rate > 0.0) {
		if ((ready = calloc((size_t)opt.conns, sizeof *ready)) == NULL)
			fatalx("out of memory");
		gap = (uint64_t)((double)NSEC_PER_SEC * opt.depth / opt.rate);
		if (gap == 0)
			gap = 1;
	}
	for (i = 0; i < opt.conns; i++)
		(void)conn_connect(&conns[i], 1,
		    (unsigned int)opt.depth);

	now = t_last = now_ns();
	t_measure = now + secs_to_ns(opt.warmup);
	t_end = t_measure + secs_to_ns(opt.duration);

	for (;;) {
		now = now_ns();
		if (phase == PHASE_WARMUP && now >= t_measure) {
			memset(&hist, 0, sizeof hist);
			requests = 0;
			t_measure = now;
			phase = PHASE_MEASURE;
			if (opt.pid > 0 && read_cpu_ns(opt.pid, &cpu0) == 0)
				cpu_reads++;
			else if (opt.pid > 0)
				cpu_failed = 1;
		}
		if (phase == PHASE_MEASURE && now >= t_end) {
			if (opt.pid > 0 && read_cpu_ns(opt.pid, &cpu1) == 0)
				cpu_reads++;
			else if (opt.pid > 0)
				cpu_failed = 1;
			elapsed = now - t_measure;
			t_drain = now + DRAIN_TIMEOUT;
			phase = PHASE_DRAIN;
		}
		live = 0;
		owed = 0;
		for (i = 0; i < opt.conns; i++) {
			if (conns[i].state == CONN_OPEN ||
			    conns[i].state == CONN_CONNECTING) {
				live++;
				owed += conns[i].owed;
			}
		}
		if (live == 0)
			break;
		if (phase == PHASE_DRAIN) {
			if (owed == 0)
				break;
			if (now >= t_drain) {
				bench_error("%llu replies still missing %.1f s "
				    "after the end", (unsigned long long)owed,
				    (double)DRAIN_TIMEOUT / NSEC_PER_SEC);
				errors += owed - 1;
				break;
			}
		}
		if (errors >= MAX_ERRORS) {
			fprintf(stderr, "hello-bench: too many errors, "
			    "stopping\n");
			break;
		}
		if (now - t_last > STALL_TIMEOUT) {
			bench_error("no reply for %.1f s",
			    (double)STALL_TIMEOUT / NSEC_PER_SEC);
			break;
		}

		/* Paced: send what is due, then sleep until the next is. */
		if (rcount > 0 && phase == PHASE_DRAIN)
			rcount = 0;
		while (rcount > 0 && next_due <= now) {
			c = ready[rhead];
			rhead = (rhead + 1) % opt.conns;
			rcount--;
			if (c->state == CONN_OPEN &&
			    conn_send(c, (unsigned int)opt.depth) == -1)
				conn_close(c, CONN_DEAD);
			next_due += gap;
		}
		if (rcount > 0)
			n = wait_until(evs, MAX_EVENTS, now, next_due);
		else
			n = epoll_wait(ep, evs, MAX_EVENTS,
			    epoll_timeout_ms(now, phase == PHASE_WARMUP ?
			    t_measure : phase == PHASE_MEASURE ? t_end :
			    t_drain));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatalx("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c->state == CONN_CONNECTING) {
				if (conn_connected(c) == -1)
					conn_close(c, CONN_DEAD);
				continue;
			}
			if (c->state != CONN_OPEN)
				continue;
			if ((evs[i].events & EPOLLOUT) &&
			    c->outoff < c->outlen) {
				if (conn_flush(c) == -1) {
					conn_close(c, CONN_DEAD);
					continue;
				}
				if (c->outoff == c->outlen &&
				    conn_watch(c, EPOLLIN) == -1) {
					conn_close(c, CONN_DEAD);
					continue;
				}
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			good = conn_read(c, phase == PHASE_MEASURE);
			if (good == -1) {
				errors += c->owed;
				conn_close(c, CONN_DEAD);
				continue;
			}
			if (good > 0)
				t_last = now_ns();
			if (phase == PHASE_MEASURE)
				requests += (uint64_t)good;
			/* The whole batch is back: send the next one. */
			if (c->owed != 0 || c->outoff != c->outlen ||
			    phase == PHASE_DRAIN)
				continue;
			if (ready != NULL) {
				/* Behind schedule with none waiting: no burst
				 * to catch up, the schedule restarts now. */
				if (rcount == 0 && next_due < now)
					next_due = now;
				ready[(rhead + rcount++) % opt.conns] = c;
			} else if (conn_send(c, (unsigned int)opt.depth) == -1)
				conn_close(c, CONN_DEAD);
		}
	}
	/* Stopped early: measure up to now, or nothing if still warming. */
	if (elapsed == 0 && phase == PHASE_MEASURE)
		elapsed = now_ns() - t_measure;
	/* Connections that died before the end lost their share. */
	for (i = 0; i < opt.conns; i++)
		if (conns[i].state == CONN_DEAD && errors == 0)
			errors++;
	conns_free(conns, opt.conns);
	free(ready);

	secs = (double)elapsed / NSEC_PER_SEC;
	/* Read at the start and at the end of the measured seconds. */
	if (cpu_failed)
		bench_error("cannot read the CPU time of pid %ld",
		    (long)opt.pid);
	else if (cpu_reads == 2 && cpu1 >= cpu0 && requests > 0)
		snprintf(cpu, sizeof cpu, " srv_cpu_s=%.2f srv_ns_per_req=%.0f",
		    (double)(cpu1 - cpu0) / NSEC_PER_SEC,
		    (double)(cpu1 - cpu0) / (double)requests);
	printf("pingpong: %d connections, depth %d, %.2f s measured after "
	    "%.2f s warm-up%s\n", opt.conns, opt.depth, secs, opt.warmup,
	    opt.rate > 0.0 ? ", paced" : "");
	if (opt.rate > 0.0)
		printf("  paced at %.0f requests/s\n", opt.rate);
	printf("  requests %llu, %.0f requests/s\n",
	    (unsigned long long)requests, secs > 0 ? requests / secs : 0.0);
	printf("  latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
	    hist_quantile_us(&hist, 0.50), hist_quantile_us(&hist, 0.99),
	    hist_quantile_us(&hist, 0.999), (double)hist.max / 1000.0);
	printf("  errors %llu\n", (unsigned long long)errors);
	if (requests == 0 && errors == 0)
		bench_error("no request completed");
	printf("RESULT mode=pingpong conns=%d depth=%d secs=%.2f requests=%llu "
	    "rps=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
	    "target_rps=%.0f%s errors=%llu\n", opt.conns, opt.depth, secs,
	    (unsigned long long)requests, secs > 0 ? requests / secs : 0.0,
	    hist_quantile_us(&hist, 0.50), hist_quantile_us(&hist, 0.99),
	    hist_quantile_us(&hist, 0.999), (double)hist.max / 1000.0,
	    opt.rate, cpu, (unsigned long long)errors);
	return errors == 0 ? 0 : 1;
}

static int
run_connrate(void)
{
	struct epoll_event	 evs[MAX_EVENTS];
	struct conn		*conns, *c;
	enum phase		 phase = PHASE_WARMUP;
	uint64_t		 now, t_measure, t_end, t_drain = 0, t_last;
	uint64_t		 done = 0, elapsed = 0;
	int			 i, n, good, busy;
	double			 secs;

	conns = conns_new(opt.conns);
	for (i = 0; i < opt.conns; i++)
		(void)conn_connect(&conns[i], 0, 1);

	now = t_last = now_ns();
	t_measure = now + secs_to_ns(opt.warmup);
	t_end = t_measure + secs_to_ns(opt.duration);

	for (;;) {
		now = now_ns();
		if (phase == PHASE_WARMUP && now >= t_measure) {
			memset(&hist, 0, sizeof hist);
			done = 0;
			t_measure = now;
			phase = PHASE_MEASURE;
		}
		if (phase == PHASE_MEASURE && now >= t_end) {
			elapsed = now - t_measure;
			t_drain = now + DRAIN_TIMEOUT;
			phase = PHASE_DRAIN;
		}
		if (errors >= MAX_ERRORS) {
			fprintf(stderr, "hello-bench: too many errors, "
			    "stopping\n");
			break;
		}
		busy = 0;
		for (i = 0; i < opt.conns; i++) {
			/* Refill slots that failed, unless winding down. */
			if (conns[i].state == CONN_DEAD &&
			    phase != PHASE_DRAIN)
				(void)conn_connect(&conns[i], 0, 1);
			if (conns[i].state == CONN_OPEN ||
			    conns[i].state == CONN_CONNECTING)
				busy++;
		}
		if (phase == PHASE_DRAIN) {
			if (busy == 0)
				break;
			if (now >= t_drain) {
				bench_error("%d connections unanswered %.1f s "
				    "after the end", busy,
				    (double)DRAIN_TIMEOUT / NSEC_PER_SEC);
				break;
			}
		}
		if (now - t_last > STALL_TIMEOUT) {
			bench_error("no connection completed for %.1f s",
			    (double)STALL_TIMEOUT / NSEC_PER_SEC);
			break;
		}

		n = epoll_wait(ep, evs, MAX_EVENTS, epoll_timeout_ms(now,
		    phase == PHASE_WARMUP ? t_measure :
		    phase == PHASE_MEASURE ? t_end : t_drain));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatalx("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c->state == CONN_CONNECTING) {
				if (conn_connected(c) == -1)
					conn_close(c, CONN_DEAD);
				continue;
			}
			if (c->state != CONN_OPEN)
				continue;
			if ((evs[i].events & EPOLLOUT) &&
			    c->outoff < c->outlen &&
			    (conn_flush(c) == -1 || (c->outoff == c->outlen &&
			    conn_watch(c, EPOLLIN) == -1))) {
				conn_close(c, CONN_DEAD);
				continue;
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			/* Latency here is connect start to reply. */
			good = conn_read(c, phase == PHASE_MEASURE);
			if (good == -1) {
				conn_close(c, CONN_DEAD);
				continue;
			}
			if (c->owed != 0)
				continue;
			conn_close(c, CONN_FREE);
			if (good != 1) {
				c->state = CONN_DEAD;
				continue;
			}
			t_last = now_ns();
			if (phase == PHASE_MEASURE)
				done++;
			if (phase != PHASE_DRAIN)
				(void)conn_connect(c, 0, 1);
		}
	}
	/* Stopped early: measure up to now, or nothing if still warming. */
	if (elapsed == 0 && phase == PHASE_MEASURE)
		elapsed = now_ns() - t_measure;
	conns_free(conns, opt.conns);

	secs = (double)elapsed / NSEC_PER_SEC;
	printf("connrate: concurrency %d, %.2f s measured after %.2f s "
	    "warm-up\n", opt.conns, secs, opt.warmup);
	printf("  connections %llu, %.0f connections/s\n",
	    (unsigned long long)done, secs > 0 ? done / secs : 0.0);
	printf("  connect-to-reply us: p50 %.1f  p99 %.1f  max %.1f\n",
	    hist_quantile_us(&hist, 0.50), hist_quantile_us(&hist, 0.99),
	    (double)hist.max / 1000.0);
	printf("  errors %llu\n", (unsigned long long)errors);
	if (done == 0 && errors == 0)
		bench_error("no connection completed");
	printf("RESULT mode=connrate conc=%d secs=%.2f completed=%llu cps=%.0f "
	    "p50_us=%.1f p99_us=%.1f errors=%llu\n", opt.conns, secs,
	    (unsigned long long)done, secs > 0 ? done / secs : 0.0,
	    hist_quantile_us(&hist, 0.50), hist_quantile_us(&hist, 0.99),
	    (unsigned long long)errors);
	return errors == 0 ? 0 : 1;
}

/* VmRSS of pid in KiB, or -1. */
static long
read_rss_kb(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/*
 * Wait until every open connection has its reply, or the deadline.
 * Returns how many connections answered correctly meanwhile.
 */
static int
idle_wait(uint64_t deadline, int *pending)
{
	struct epoll_event	 evs[MAX_EVENTS];
	struct conn		*c;
	unsigned int		 owed;
	int			 i, n, good, answered = 0;

	while (*pending > 0) {
		if (now_ns() >= deadline)
			break;
		n = epoll_wait(ep, evs, MAX_EVENTS,
		    epoll_timeout_ms(now_ns(), deadline));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatalx("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c->state == CONN_CONNECTING) {
				if (conn_connected(c) == -1) {
					conn_close(c, CONN_DEAD);
					(*pending)--;
				}
				continue;
			}
			if (c->state != CONN_OPEN)
				continue;
			if ((evs[i].events & EPOLLOUT) &&
			    c->outoff < c->outlen &&
			    (conn_flush(c) == -1 || (c->outoff == c->outlen &&
			    conn_watch(c, EPOLLIN) == -1))) {
				conn_close(c, CONN_DEAD);
				(*pending)--;
				continue;
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			owed = c->owed;
			good = conn_read(c, 0);
			if (good == -1) {
				conn_close(c, CONN_DEAD);
				if (owed > 0)
					(*pending)--;
				continue;
			}
			if (owed > 0 && c->owed == 0) {
				(*pending)--;
				if (good == 1)
					answered++;
			}
		}
	}
	return answered;
}

/* A silent server should fail the run in seconds, not at the deadline. */
static uint64_t
step_deadline(uint64_t deadline)
{
	uint64_t	step = now_ns() + STEP_TIMEOUT;

	return step < deadline ? step : deadline;
}

static int
run_idle(void)
{
	struct conn	*conns;
	uint64_t	 t_setup, deadline;
	long		 rss_before = -1, rss_after = -1, rss_end = -1;
	int		 i, opened, pending, verified = 0, rechecked = 0;
	double		 per_conn = -1.0, secs;

	if (opt.pid > 0) {
		if ((rss_before = read_rss_kb(opt.pid)) == -1)
			fatalx("cannot read VmRSS of pid %ld",
			    (long)opt.pid);
	}
	conns = conns_new(opt.conns);
	t_setup = now_ns();
	deadline = t_setup + secs_to_ns(opt.timeout);

	/*
	 * Open in windows: the server's accept backlog is finite, and a
	 * dropped SYN would cost a one-second retransmit.
	 */
	for (opened = 0; opened < opt.conns; ) {
		pending = 0;
		for (i = opened; i < opt.conns && i < opened + opt.window;
		    i++)
			if (conn_connect(&conns[i], 0, 1) == 0)
				pending++;
		verified += idle_wait(step_deadline(deadline), &pending);
		if (pending > 0) {
			bench_error("%d connections not answered while "
			    "opening", pending);
			break;
		}
		opened = i;
	}
	secs = (double)(now_ns() - t_setup) / NSEC_PER_SEC;
	printf("idle: %d of %d connections open and answered in %.2f s\n",
	    verified, opt.conns, secs);
	if (verified != opt.conns && errors == 0)
		bench_error("only %d of %d connections answered", verified,
		    opt.conns);

	/* Hold them, watching for any that the server drops. */
	if (errors == 0) {
		pending = 1;
		(void)idle_wait(now_ns() +
		    secs_to_ns(opt.hold), &pending);
		for (i = 0; i < opt.conns; i++)
			if (conns[i].state != CONN_OPEN) {
				bench_error("connection %d dropped while idle",
				    i);
				break;
			}
	}
	if (opt.pid > 0)
		rss_after = read_rss_kb(opt.pid);

	/* Every one must still answer. */
	if (errors == 0) {
		pending = 0;
		for (i = 0; i < opt.conns; i++)
			if (conn_send(&conns[i], 1) == -1)
				conn_close(&conns[i], CONN_DEAD);
			else
				pending++;
		rechecked = idle_wait(step_deadline(deadline), &pending);
		if (rechecked != opt.conns)
			bench_error("only %d of %d idle connections answered "
			    "again", rechecked, opt.conns);
	}
	if (opt.pid > 0)
		rss_end = read_rss_kb(opt.pid);
	conns_free(conns, opt.conns);

	if (rss_before >= 0 && rss_after >= 0)
		per_conn = (double)(rss_after - rss_before) * 1024.0 /
		    opt.conns;
	printf("  answered again after %.1f s: %d\n", opt.hold, rechecked);
	if (opt.pid > 0)
		printf("  server VmRSS KiB: before %ld, holding %ld, after "
		    "recheck %ld: %.0f bytes per connection\n", rss_before,
		    rss_after, rss_end, per_conn);
	printf("  errors %llu\n", (unsigned long long)errors);
	printf("RESULT mode=idle conns=%d answered=%d rechecked=%d "
	    "rss_before_kb=%ld rss_after_kb=%ld rss_per_conn=%.0f "
	    "errors=%llu\n", opt.conns, verified, rechecked, rss_before,
	    rss_after, per_conn, (unsigned long long)errors);
	return errors == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	int	ch, conns_set = 0;
	double	hard;

	if (argc < 2)
		usage();
	opt.mode_name = argv[1];
	if (strcmp(argv[1], "pingpong") == 0)
		opt.mode = MODE_PINGPONG;
	else if (strcmp(argv[1], "connrate") == 0)
		opt.mode = MODE_CONNRATE;
	else if (strcmp(argv[1], "idle") == 0)
		opt.mode = MODE_IDLE;
	else
		usage();
	argc--;
	argv++;

	opt.host = "127.0.0.1";
	opt.depth = 1;
	opt.window = 64;
	opt.duration = 5.0;
	opt.warmup = 1.0;
	opt.hold = 2.0;
	opt.timeout = -1.0;
	opt.request = "hello";
	opt.reply = "Hello World";

	opt.sources = 64;
	while ((ch = getopt(argc, argv, "a:c:Cd:h:H:k:lNp:P:q:r:R:s:t:T:w:"))
	    != -1) {
		switch (ch) {
		case 'a':
			opt.rate = (double)parse_long(optarg, 1, 100000000,
			    "-a");
			break;
		case 'c':
			opt.conns = (int)parse_long(optarg, 1, MAX_CONNS,
			    "-c");
			conns_set = 1;
			break;
		case 'C':
			opt.crlf_reply = 1;
			break;
		case 'd':
			opt.depth = (int)parse_long(optarg, 1, MAX_DEPTH,
			    "-d");
			break;
		case 'h':
			opt.host = optarg;
			break;
		case 'H':
			opt.hold = parse_secs(optarg, "-H");
			break;
		case 'k':
			opt.window = (int)parse_long(optarg, 1, MAX_CONNS,
			    "-k");
			break;
		case 'l':
			opt.linger0 = 1;
			break;
		case 'N':
			opt.crlf_request = 1;
			break;
		case 'p':
			opt.pid = (pid_t)parse_long(optarg, 1, INT_MAX, "-p");
			break;
		case 'P':
			(void)parse_long(optarg, 1, 65535, "-P");
			opt.port = optarg;
			break;
		case 'q':
			opt.request = optarg;
			break;
		case 'r':
			opt.reply = optarg;
			opt.prefix = 0;
			break;
		case 'R':
			opt.reply = optarg;
			opt.prefix = 1;
			break;
		case 's':
			opt.sources = (int)parse_long(optarg, 1, MAX_SOURCES,
			    "-s");
			break;
		case 't':
			opt.duration = parse_secs(optarg, "-t");
			break;
		case 'T':
			opt.timeout = parse_secs(optarg, "-T");
			break;
		case 'w':
			opt.warmup = parse_secs(optarg, "-w");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || opt.port == NULL)
		usage();
	if (!conns_set)
		opt.conns = opt.mode == MODE_PINGPONG ? 50 :
		    opt.mode == MODE_CONNRATE ? 8 : 1000;
	if ((opt.mode == MODE_PINGPONG || opt.mode == MODE_CONNRATE) &&
	    opt.duration <= 0.0)
		fatalx("-t must be above 0");
	check_line_arg(opt.request, "request");
	check_line_arg(opt.reply, "reply");
	if (opt.prefix && *opt.reply == '\0')
		fatalx("-R needs a non-empty prefix");

	/* Bound the whole run, whatever the server does. */
	if (opt.timeout <= 0.0)
		opt.timeout = opt.warmup + opt.duration + opt.hold + 60.0;
	hard = opt.timeout + 10.0;
	signal(SIGALRM, hard_timeout);
	alarm((unsigned int)ceil(hard));
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	resolve_target();
	raise_nofile();
	build_lines();
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatalx("epoll_create1: %s", strerror(errno));

	switch (opt.mode) {
	case MODE_PINGPONG:
		return run_pingpong();
	case MODE_CONNRATE:
		return run_connrate();
	case MODE_IDLE:
		return run_idle();
	}
	return 2;
}
