/* SPDX-License-Identifier: ISC */
/*
 * bev-ref: the smallest line server in hellod's shape, used by compare.sh
 * as the floor of that shape: what libevent 2.1 itself costs when an
 * evconnlistener accepts and a bufferevent read callback replies.
 *
 * One thread, one event base without locks.  The read callback counts the
 * line ends over the input's chains with evbuffer_peek() and memchr(),
 * drains what it looked at and sends the replies from a prepared block
 * with one send() while the output buffer is empty; what the kernel does
 * not take goes into the output buffer, which libevent writes.  As in
 * epoll-ref, a line split across reads is answered when its '\n' arrives,
 * and EOF closes the connection.  No limits, no timeouts, no counters, no
 * logging: everything hellod adds on top of the shape is left out, so
 * hellod's ratio to this server is the price of those, and this server's
 * ratio to epoll-ref the price of the shape.
 *
 * usage: bev-ref [port [reply]]    (port 0: any free port)
 * Binds 127.0.0.1 only; prints "listening on 127.0.0.1:PORT" on stderr.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define REPLY_COPIES	4096		/* replies one send can carry */
#define REPLY_MAX	256
#define PEEK_VECS	16

static char	*replies;		/* REPLY_COPIES copies of the reply */
static size_t	 replylen;

/* n replies: to the socket while nothing waits, the rest queued. */
static int
bev_reply(struct bufferevent *bev, size_t n)
{
	struct evbuffer	*out = bufferevent_get_output(bev);
	size_t		 k, len;
	ssize_t		 sent;

	while (n > 0) {
		k = n < REPLY_COPIES ? n : REPLY_COPIES;
		len = k * replylen;
		n -= k;
		sent = 0;
		if (evbuffer_get_length(out) == 0) {
			sent = send(bufferevent_getfd(bev), replies, len,
			    MSG_NOSIGNAL);
			if (sent == -1 && errno != EAGAIN && errno != EINTR)
				return -1;
			if (sent == -1)
				sent = 0;
			if ((size_t)sent == len)
				continue;
		}
		if (evbuffer_add(out, replies + sent, len - sent) == -1)
			return -1;
		bufferevent_enable(bev, EV_WRITE);
	}
	return 0;
}

static void
bev_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_iovec	 v[PEEK_VECS];
	size_t			 lines = 0, seen;
	const char		*p, *end;
	int			 i, n;

	(void)arg;
	/* Only the line ends matter: every byte looked at is drained. */
	while ((n = evbuffer_peek(in, -1, NULL, v, PEEK_VECS)) > 0) {
		if (n > PEEK_VECS)
			n = PEEK_VECS;
		seen = 0;
		for (i = 0; i < n; i++) {
			p = v[i].iov_base;
			end = p + v[i].iov_len;
			while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
				lines++;
				p++;
			}
			seen += v[i].iov_len;
		}
		evbuffer_drain(in, seen);
	}
	if (lines > 0 && bev_reply(bev, lines) == -1)
		bufferevent_free(bev);		/* BEV_OPT_CLOSE_ON_FREE */
}

static void
bev_write(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
}

static void
bev_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void
bev_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bufferevent	*bev;

	(void)sa;
	(void)salen;
	(void)arg;
	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, bev_read, bev_write, bev_event, NULL);
	bufferevent_enable(bev, EV_READ);
}

static void
bev_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int
main(int argc, char *argv[])
{
	struct event_config	*cfg;
	struct event_base	*base;
	struct evconnlistener	*l;
	struct event		*sigterm, *sigint;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	const char		*reply = "Hello World";
	char			*end;
	long			 port = 0;
	size_t			 i;

	if (argc > 1) {
		errno = 0;
		port = strtol(argv[1], &end, 10);
		if (errno != 0 || *end != '\0' || port < 0 || port > 65535)
			errx(1, "bad port \"%s\"", argv[1]);
	}
	if (argc > 2)
		reply = argv[2];
	replylen = strlen(reply) + 1;
	if (replylen > REPLY_MAX)
		errx(1, "reply longer than %d", REPLY_MAX);
	if ((replies = malloc(replylen * REPLY_COPIES)) == NULL)
		err(1, "malloc");
	for (i = 0; i < REPLY_COPIES; i++) {
		memcpy(replies + i * replylen, reply, replylen - 1);
		replies[i * replylen + replylen - 1] = '\n';
	}
	signal(SIGPIPE, SIG_IGN);

	if ((cfg = event_config_new()) == NULL)
		errx(1, "event_config_new failed");
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	if ((base = event_base_new_with_config(cfg)) == NULL)
		errx(1, "event_base_new failed");
	event_config_free(cfg);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	l = evconnlistener_new_bind(base, bev_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, SOMAXCONN,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (l == NULL)
		err(1, "listen on 127.0.0.1");
	if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin,
	    &slen) == -1)
		err(1, "getsockname");
	fprintf(stderr, "listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));

	sigterm = evsignal_new(base, SIGTERM, bev_signal, base);
	sigint = evsignal_new(base, SIGINT, bev_signal, base);
	if (sigterm == NULL || sigint == NULL)
		errx(1, "evsignal_new failed");
	event_add(sigterm, NULL);
	event_add(sigint, NULL);

	event_base_dispatch(base);

	event_free(sigterm);
	event_free(sigint);
	evconnlistener_free(l);
	event_base_free(base);
	free(replies);
	return 0;
}
