/* SPDX-License-Identifier: ISC */
/*
 * epoll-ref: the smallest line server we know how to write, used as the
 * physical-limit reference by compare.sh.
 *
 * One thread, non-blocking sockets, level-triggered epoll. Each readable
 * event costs one read; every complete line in it is answered by one write
 * of that many replies. Nothing is allocated per line or per connection:
 * the reply never depends on the line, so a connection's whole state is the
 * number of replies it is still owed, kept in a table indexed by fd. A line
 * split across reads is answered when its '\n' arrives.
 *
 * usage: epoll-ref [port [reply]]    (port 0: any free port)
 * Binds 127.0.0.1 only; prints "listening on 127.0.0.1:PORT" on stderr.
 */

/* accept4(2) is a GNU/Linux interface. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_SIZE	65536
#define REPLY_COPIES	4096		/* replies one write can carry */
#define MAX_EVENTS	256
#define ACCEPT_BURST	64		/* accepts per wakeup, for fairness */
#define REPLY_MAX	256

struct conn {
	uint64_t	 owed;		/* replies not yet written */
	size_t		 off;		/* bytes of the first one written */
	int		 blocked;	/* waiting for EPOLLOUT */
};

static struct conn	*conns;		/* indexed by fd */
static size_t		 nconns;
static int		 ep;
static int		 spare_fd = -1;
static char		 inbuf[READ_SIZE];
static char		*replies;	/* REPLY_COPIES copies of the reply */
static size_t		 replylen;

static void
die(const char *what)
{
	fprintf(stderr, "epoll-ref: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
conn_close(int fd)
{
	conns[fd].owed = 0;
	conns[fd].off = 0;
	conns[fd].blocked = 0;
	close(fd);
}

static int
conn_watch(int fd, uint32_t events)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.fd = fd;
	return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/*
 * Write the owed replies. Returns -1 if the connection is gone. When the
 * socket is full, stop reading from it until it drains: that bounds what
 * a client that never reads can make us owe.
 */
static int
conn_flush(int fd)
{
	struct conn	*c = &conns[fd];
	size_t		 want, done;
	ssize_t		 n;

	while (c->owed > 0) {
		want = (c->owed < REPLY_COPIES ? (size_t)c->owed :
		    REPLY_COPIES) * replylen - c->off;
		n = write(fd, replies + c->off, want);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			n = 0;
		}
		done = c->off + (size_t)n;
		c->owed -= done / replylen;
		c->off = done % replylen;
		if ((size_t)n < want) {
			if (!c->blocked && conn_watch(fd, EPOLLOUT) == -1)
				return -1;
			c->blocked = 1;
			return 0;
		}
	}
	if (c->blocked) {
		if (conn_watch(fd, EPOLLIN) == -1)
			return -1;
		c->blocked = 0;
	}
	return 0;
}

static void
conn_input(int fd)
{
	char	*p, *end;
	ssize_t	 n;

	n = read(fd, inbuf, sizeof inbuf);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_close(fd);
		return;
	}
	if (n == 0) {
		conn_close(fd);
		return;
	}
	/* Only the count of line ends matters. */
	end = inbuf + n;
	for (p = inbuf; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		conns[fd].owed++;
	if (conns[fd].owed > 0 && conn_flush(fd) == -1)
		conn_close(fd);
}

/*
 * Out of descriptors: accept and drop one connection with the spare fd,
 * so the level-triggered listener does not spin on a full backlog.
 */
static void
accept_shed(int lfd)
{
	int	fd;

	if (spare_fd == -1)
		return;
	close(spare_fd);
	if ((fd = accept(lfd, NULL, NULL)) != -1)
		close(fd);
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
listener_accept(int lfd)
{
	struct epoll_event	ev;
	int			fd, i;

	for (i = 0; i < ACCEPT_BURST; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE)
				accept_shed(lfd);
			return;
		}
		if ((size_t)fd >= nconns) {
			close(fd);
			continue;
		}
		memset(&conns[fd], 0, sizeof conns[fd]);
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			close(fd);
	}
}

static int
listener_open(long port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
		die("setsockopt");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		die("bind");
	if (listen(fd, SOMAXCONN) == -1)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		die("getsockname");
	fprintf(stderr, "listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
	return fd;
}

static void
setup(const char *reply)
{
	struct rlimit	rl;
	size_t		i;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("getrlimit");
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			die("setrlimit");
	}
	nconns = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576 ?
	    1048576 : (size_t)rl.rlim_cur;
	if ((conns = calloc(nconns, sizeof *conns)) == NULL)
		die("calloc");

	replylen = strlen(reply) + 1;
	if ((replies = malloc(replylen * REPLY_COPIES)) == NULL)
		die("malloc");
	for (i = 0; i < REPLY_COPIES; i++) {
		memcpy(replies + i * replylen, reply, replylen - 1);
		replies[i * replylen + replylen - 1] = '\n';
	}
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int
main(int argc, char **argv)
{
	struct epoll_event	 ev, evs[MAX_EVENTS];
	const char		*reply = "Hello World";
	char			*end;
	long			 port = 0;
	int			 lfd, i, n, fd;

	if (argc > 3) {
		fprintf(stderr, "usage: epoll-ref [port [reply]]\n");
		return 2;
	}
	if (argc > 1) {
		errno = 0;
		port = strtol(argv[1], &end, 10);
		if (errno != 0 || end == argv[1] || *end != '\0' ||
		    port < 0 || port > 65535) {
			fprintf(stderr, "epoll-ref: bad port \"%s\"\n",
			    argv[1]);
			return 2;
		}
	}
	if (argc > 2)
		reply = argv[2];
	if (strlen(reply) > REPLY_MAX || strpbrk(reply, "\r\n") != NULL) {
		fprintf(stderr, "epoll-ref: bad reply\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setup(reply);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	lfd = listener_open(port);
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		die("epoll_ctl");

	for (;;) {
		n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == lfd)
				listener_accept(lfd);
			else if (conns[fd].blocked) {
				if (conn_flush(fd) == -1)
					conn_close(fd);
			} else
				conn_input(fd);
		}
	}
	/* NOTREACHED: SIGTERM's default action ends the process. */
}
