/* SPDX-License-Identifier: ISC */
/*
 * One client connection: a socket bufferevent from accept to close.
 *
 * libevent reads the socket into the bufferevent's input buffer and calls
 * the read callback, which counts the lines where they lie in the input's
 * chains (no copy, no allocation per line), drains them in one go and
 * answers them from the worker's block of replies laid out once per
 * config.  While the output buffer is empty the replies go straight to the
 * socket with one send(); whatever the kernel does not take goes into the
 * output buffer, and from then on everything does, so the order holds.
 * libevent writes the output buffer as the client reads; reading stops
 * while more than max_output waits there and resumes once it has drained
 * to half of that.
 *
 * Behind a load balancer (proxy_protocol) a connection first waits, in
 * CONN_PROXY, for the PROXY header to be whole in its input (proxy.c
 * parses it); the client it names then stands in for the peer everywhere.
 *
 * A connection ends by flushing what it owes, sending FIN and discarding
 * what the client still sends for a moment: closing a socket with unread
 * input sends RST, which can destroy replies still on their way.
 *
 * Of its worker a connection knows its struct conn_ctx (the event base,
 * the config, the block of replies, the thread's counters and admission)
 * and three calls: opened, touched, closed (the seam, in hellod.h).
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "hellod.h"

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);
static void	conn_process(struct conn *);
static void	conn_drain_input(struct conn *, size_t);
static void	conn_proxy_fail(struct conn *, const char *);
static int	conn_layout(struct conn *);
static void	conn_say(struct conn *, const char *);
static void	conn_flushed(struct conn *);
static void	conn_free(struct conn *);

#define CONN_PROBE_REASON	"closed without a byte (a health check?)"

uint64_t
conn_last_request(const struct conn *c)
{
	return c->last_request;
}

/* A debug line about a connection, led by the function that logs it. */
#define conn_log(c, what)	conn_log_at(__func__, c, what)
static void
conn_log_at(const char *func, struct conn *c, const char *what)
{
	char	 peer[ADDR_STRLEN];

	if (log_getlevel() < LOG_DEBUG)
		return;
	log_debug("%s: connection %llu from %s: %s", func,
	    (unsigned long long)c->id,
	    addr_fmt(&c->peer.sa, peer, sizeof(peer)), what);
}

/*
 * A socket the worker has admitted (admit_accept(); sourced: counted in
 * its source) becomes a connection.  0: the connection owns the socket,
 * the slot and the source count, and gives them back as it closes.  -1
 * when it cannot be built: nothing is taken, the caller closes the socket
 * and gives the admission back.
 */
int
conn_accept(const struct conn_ctx *ctx, int fd, const struct sockaddr *sa,
    socklen_t salen, int sourced)
{
	struct timeval		 tv = { ctx->conf->proxy_timeout, 0 };
	struct conn		*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s: calloc", __func__);
		return -1;
	}
	c->ctx = ctx;
	c->fd = fd;
	c->last_request = clock_ms();
	c->sourced = sourced != 0;
	if ((size_t)salen <= sizeof(c->peer))
		memcpy(&c->peer, sa, salen);
	/*
	 * Not BEV_OPT_CLOSE_ON_FREE: freed from its own callback, the
	 * bufferevent would close the socket only when that returns, after
	 * the connection's slot and counter are gone.  conn_close() closes
	 * it, once, right after bufferevent_free(); libevent's epoll backend
	 * takes the late EPOLL_CTL_DEL of a closed descriptor in its stride,
	 * and no other descriptor of this loop can take the number before.
	 */
	c->bev = bufferevent_socket_new(ctx->base, fd, 0);
	if (c->bev == NULL) {
		log_warnx("%s: cannot allocate a bufferevent", __func__);
		free(c);
		return -1;
	}
	/* libevent's FIONREAD before each read: answered by readsize.c. */
	readsize_mark(fd, &ctx->mine->fionread_answered);
	worker_conn_opened(ctx->w, c);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	if (ctx->conf->proxy_protocol) {
		/* The whole header within proxy_timeout, however it trickles. */
		c->state = CONN_PROXY;
		if ((c->ev_timer = evtimer_new(ctx->base, conn_timer_cb, c)) ==
		    NULL) {
			conn_close(c, STATS_CLOSE_ERROR, "out of memory");
			return 0;
		}
		evtimer_add(c->ev_timer, &tv);
	}
	/* Its reply is laid out now, or after the PROXY header. */
	if (conn_reconfigure(c) == -1)
		return 0;
	/* Writing is enabled when output first waits (conn_reply()): enabled
	 * now, it would cost two epoll_ctl calls per connection. */
	bufferevent_enable(c->bev, EV_READ);
	conn_log(c, "accepted");
	/* Taken from a listener's queue as it closes for a stop. */
	if (ctx->stopping)
		conn_drain(c);
	return 0;
}

/*
 * The PROXY header, from the bytes received so far, left in the input
 * until it is whole (the parser looks at all of them each time; at most
 * PROXY_HEADER_MAX).  What follows it is the client's, read as lines.
 */
static void
conn_proxy_header(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct proxy_result	 res;
	size_t			 n, used;
	unsigned char		*p;
	char			 from[ADDR_STRLEN], via[ADDR_STRLEN];
	int			 counted;

	n = evbuffer_get_length(in);
	if (n > PROXY_HEADER_MAX)
		n = PROXY_HEADER_MAX;
	if ((p = evbuffer_pullup(in, n)) == NULL) {
		conn_close(c, STATS_CLOSE_ERROR, "out of memory");
		return;
	}
	switch (proxy_parse(p, n, &res, &used)) {
	case PROXY_MORE:
		return;		/* the timer bounds the wait */
	case PROXY_BAD:
		conn_proxy_fail(c, res.reason);
		return;
	case PROXY_OK:
		break;
	}
	conn_drain_input(c, used);
	event_free(c->ev_timer);
	c->ev_timer = NULL;
	c->state = CONN_OPEN;
	/* LOCAL and UNKNOWN (health checks): the socket's own addresses. */
	if (res.family != AF_UNSPEC) {
		if (log_getlevel() >= LOG_DEBUG)
			log_debug("%s: connection %llu from %s via %s (%s)",
			    __func__, (unsigned long long)c->id,
			    addr_fmt(&res.src.sa, from, sizeof(from)),
			    addr_fmt(&c->peer.sa, via, sizeof(via)),
			    res.reason);
		memcpy(&c->peer, &res.src, res.len <= sizeof(c->peer) ?
		    res.len : sizeof(c->peer));
		if ((counted = admit_source(c->ctx->admit, c->ctx->conf,
		    &c->peer.sa)) == -1) {
			conn_say(c, ADMIT_SOURCE_LINE);
			conn_finish(c, STATS_CLOSE_REJECTED,
			    "too many connections from its address");
			return;
		}
		c->sourced = counted == 1;
	} else
		STATS_ADD(c->ctx->mine->proxy_local, 1);
	/* The client known, its reply (a template's) can be laid out. */
	if (conn_layout(c) == -1)
		return;
	if (c->ctx->stopping)
		conn_drain(c);
	if (evbuffer_get_length(in) > 0)
		conn_process(c);
}

/* No good header: counted, logged, closed without a reply (but a FIN). */
static void
conn_proxy_fail(struct conn *c, const char *why)
{
	admit_proxy_refused(c->ctx->admit, &c->peer.sa, why);
	if (c->ev_timer != NULL) {
		event_free(c->ev_timer);
		c->ev_timer = NULL;
	}
	c->state = CONN_OPEN;
	conn_finish(c, STATS_CLOSE_REJECTED, why);
}

/* One line of the daemon's own, queued like a reply. */
static void
conn_say(struct conn *c, const char *line)
{
	size_t	 len = strlen(line);

	if (evbuffer_add(bufferevent_get_output(c->bev), line, len) == 0) {
		c->unsent += (uint32_t)len;
		bufferevent_enable(c->bev, EV_WRITE);
	}
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_PROXY)
		conn_proxy_fail(c, "no PROXY header within proxy_timeout");
	else
		conn_close(c, c->why, c->reason);	/* lingered enough */
}

/*
 * A message with fields of a connection (%a, %p, %l) is laid out for each
 * connection, once: when it opens (after its PROXY header, if one comes)
 * and at each reload, which gives open connections the new message.  Any
 * other is the worker's block of replies, shared.  -1: the connection is
 * closed.
 */
static int
conn_layout(struct conn *c)
{
	const struct config	*conf = c->ctx->conf;
	struct sockaddr_storage	 local;
	socklen_t		 len = sizeof(local);
	char			 buf[CONFIG_REPLY_MAX], *reply;
	size_t			 n;

	if (!conf->reply_per_conn) {
		free(c->reply);
		c->reply = NULL;
		c->reply_len = 0;
		return 0;
	}
	if (getsockname(c->fd, (struct sockaddr *)&local, &len) == -1) {
		conn_close(c, STATS_CLOSE_ERROR, strerror(errno));
		return -1;
	}
	n = config_reply(conf, &c->peer.sa, (struct sockaddr *)&local, buf,
	    sizeof(buf));
	if ((reply = realloc(c->reply, n)) == NULL) {
		conn_close(c, STATS_CLOSE_ERROR, "out of memory for its reply");
		return -1;
	}
	memcpy(reply, buf, n);
	c->reply = reply;
	c->reply_len = (uint32_t)n;
	return 0;
}

/*
 * Apply the worker's current config to a connection (as it opens, after a
 * reload).  -1: the connection is closed.
 */
int
conn_reconfigure(struct conn *c)
{
	const struct config	*conf = c->ctx->conf;

	if (c->state != CONN_OPEN && c->state != CONN_PROXY)
		return 0;
	bufferevent_setwatermark(c->bev, EV_WRITE, conf->max_output / 2, 0);
	if (c->state == CONN_PROXY)
		return 0;
	if (conn_layout(c) == -1)
		return -1;
	if (c->paused && evbuffer_get_length(bufferevent_get_output(c->bev)) <=
	    conf->max_output / 2)
		conn_write_cb(c->bev, c);
	return 0;
}

/*
 * Bytes leave the output buffer only as libevent writes them: count what
 * has gone since the last look.  Looked at from the write callback and at
 * the close, so the count lags by at most half of max_output (an evbuffer
 * callback would be exact at every write, but costs 64 bytes a connection).
 */
static void
conn_count_sent(struct conn *c)
{
	size_t	 left = evbuffer_get_length(bufferevent_get_output(c->bev));

	STATS_ADD(c->ctx->mine->bytes_sent, c->unsent - left);
	c->unsent = (uint32_t)left;
}

/* The length of one reply of this connection. */
static size_t
conn_reply_len(const struct conn *c)
{
	return c->reply != NULL ? c->reply_len : c->ctx->conf->reply_len;
}

/*
 * Send n replies from the block: straight to the socket while nothing
 * waits in the output buffer, into the buffer from the first byte the
 * kernel does not take.  A connection with a reply of its own copies it
 * into its worker's scratch block first, as many times as it sends.
 */
static int
conn_reply(struct conn *c, size_t n)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	const char	*block = c->ctx->replies;
	size_t		 per = c->ctx->nreplies, k, len, i;
	size_t		 rlen = conn_reply_len(c);
	ssize_t		 sent;

	if (c->reply != NULL) {
		block = c->ctx->scratch;
		per = WORKER_WBUF / rlen;
		for (i = 0; i < per && i < n; i++)
			memcpy(c->ctx->scratch + i * rlen, c->reply, rlen);
	}
	while (n > 0) {
		k = n < per ? n : per;
		len = k * rlen;
		n -= k;
		sent = 0;
		if (evbuffer_get_length(out) == 0) {
			sent = send(c->fd, block, len, MSG_NOSIGNAL);
			if (sent == -1 && errno != EAGAIN && errno != EINTR) {
				conn_close(c, STATS_CLOSE_ERROR,
				    strerror(errno));
				return -1;
			}
			if (sent == -1)
				sent = 0;
			STATS_ADD(c->ctx->mine->bytes_sent, sent);
			if ((size_t)sent == len)
				continue;
		}
		if (evbuffer_add(out, block + sent, len - sent) == -1) {
			conn_close(c, STATS_CLOSE_ERROR,
			    "out of memory for replies");
			return -1;
		}
		c->unsent += (uint32_t)(len - sent);
		/* From now on libevent polls for writing whenever output
		 * waits, and stops when it has drained. */
		if (!(bufferevent_get_enabled(c->bev) & EV_WRITE))
			bufferevent_enable(c->bev, EV_WRITE);
	}
	return 0;
}

static void
conn_pause(struct conn *c)
{
	bufferevent_disable(c->bev, EV_READ);
	c->paused = 1;
	STATS_ADD(c->ctx->mine->output_paused, 1);
	conn_log(c, "output full, reading paused");
}

static void
conn_drain_input(struct conn *c, size_t n)
{
	if (n == 0)
		return;
	evbuffer_drain(bufferevent_get_input(c->bev), n);
	STATS_ADD(c->ctx->mine->bytes_received, n);
	if (c->state == CONN_OPEN)
		c->spoke = 1;
}

/*
 * Answer the lines in the input buffer, as many as max_output allows: the
 * queue passes it by one reply at most.  Lines beyond that stay in the
 * input, and reading stops until the output has drained.
 */
static void
conn_process(struct conn *c)
{
	const struct config	*conf = c->ctx->conf;
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	enum frame_status	 st;
	size_t			 budget, lines, used;

	while (evbuffer_get_length(in) > 0) {
		budget = frame_budget(evbuffer_get_length(out),
		    conf->max_output, conn_reply_len(c));
		if (budget == 0) {
			conn_pause(c);
			return;
		}
		st = frame_evbuffer(&c->frame, in, conf->max_line_length,
		    budget, &lines, &used);
		conn_drain_input(c, used);
		if (lines > 0) {
			STATS_ADD(c->ctx->mine->requests, lines);
			c->last_request = clock_ms();
			worker_conn_touched(c->ctx->w, c);
			if (conn_reply(c, lines) == -1)
				return;
		}
		if (st == FRAME_TOO_LONG) {
			conn_finish(c, STATS_CLOSE_TOO_LONG,
			    "line longer than max_line_length");
			return;
		}
	}
	if (c->peer_eof) {
		/* A last line cut off by EOF still gets its reply. */
		if (frame_eof(&c->frame)) {
			STATS_ADD(c->ctx->mine->requests, 1);
			if (conn_reply(c, 1) == -1)
				return;
		}
		/* A health check's connection says nothing: debug only. */
		if (c->spoke)
			conn_finish(c, STATS_CLOSE_CLIENT, "client closed");
		else
			conn_finish(c, STATS_CLOSE_PROBE, CONN_PROBE_REASON);
		return;
	}
	if (evbuffer_get_length(out) >= conf->max_output)
		conn_pause(c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->state == CONN_PROXY) {
		conn_proxy_header(c);
		return;
	}
	if (c->state != CONN_OPEN) {
		/* Lingering: what the client still sends is dropped. */
		conn_drain_input(c, evbuffer_get_length(
		    bufferevent_get_input(bev)));
		return;
	}
	conn_process(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 left = evbuffer_get_length(bufferevent_get_output(bev));

	conn_count_sent(c);
	if (c->state == CONN_FLUSHING) {
		if (left == 0)
			conn_flushed(c);
		return;
	}
	if (c->state != CONN_OPEN || !c->paused ||
	    left > c->ctx->conf->max_output / 2)
		return;
	c->paused = 0;
	bufferevent_enable(c->bev, EV_READ);
	conn_log(c, "output drained, reading resumed");
	/* Lines held back by max_output, and maybe an EOF behind them. */
	conn_process(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	int		 error = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_EOF) {
		if (c->state == CONN_PROXY) {
			if (evbuffer_get_length(bufferevent_get_input(bev)) >
			    0)
				conn_proxy_fail(c, "closed within the PROXY "
				    "header");
			else
				conn_close(c, STATS_CLOSE_PROBE,
				    CONN_PROBE_REASON);
			return;
		}
		if (c->state != CONN_OPEN) {
			conn_close(c, c->why, c->reason);
			return;
		}
		c->peer_eof = 1;
		conn_process(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		/* Only set while the server stops: the client is quiet. */
		conn_finish(c, STATS_CLOSE_SHUTDOWN, "server stopping");
		return;
	}
	if (what & BEV_EVENT_ERROR)
		conn_close(c, c->state == CONN_OPEN || c->state == CONN_PROXY ?
		    STATS_CLOSE_ERROR : c->why, error != 0 ? strerror(error) :
		    "socket error");
}

/*
 * The server stops: keep answering until the client has been quiet for
 * CONN_QUIET_MS (so lines it sent before the stop, still in the socket,
 * are answered too), then finish.  shutdown_timeout bounds it all.
 */
void
conn_drain(struct conn *c)
{
	struct timeval	 tv = { 0, CONN_QUIET_MS * 1000 };

	if (c->state != CONN_OPEN || c->draining)
		return;
	c->draining = 1;
	/* A read timeout of the bufferevent: restarted by every read, and
	 * held while reading is paused for output. */
	bufferevent_set_timeouts(c->bev, &tv, NULL);
}

/* Close after the replies owed are written; then FIN and linger. */
void
conn_finish(struct conn *c, enum stats_close why, const char *reason)
{
	if (c->state != CONN_OPEN)
		return;
	c->why = why;
	c->reason = reason;
	/* Counted, and no longer held against its source, when the end is
	 * decided, not after the linger. */
	if (c->sourced) {
		admit_leave_source(c->ctx->admit, &c->peer.sa);
		c->sourced = 0;
	}
	STATS_ADD(c->ctx->mine->closed[why], 1);
	c->state = CONN_FLUSHING;
	c->paused = 0;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_disable(c->bev, EV_READ);
	/* The write callback now comes only once the output is empty. */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_flushed(c);
}

static void
conn_flushed(struct conn *c)
{
	struct timeval	 tv = { CONN_LINGER_SECS, 0 };

	if (c->peer_eof || shutdown(c->fd, SHUT_WR) == -1) {
		conn_close(c, c->why, c->reason);
		return;
	}
	c->state = CONN_LINGERING;
	c->ev_timer = evtimer_new(c->ctx->base, conn_timer_cb, c);
	if (c->ev_timer == NULL) {
		conn_close(c, c->why, c->reason);
		return;
	}
	evtimer_add(c->ev_timer, &tv);
	conn_drain_input(c, evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_enable(c->bev, EV_READ);
}

void
conn_close(struct conn *c, enum stats_close why, const char *reason)
{
	conn_count_sent(c);
	if (c->state == CONN_OPEN || c->state == CONN_PROXY)
		STATS_ADD(c->ctx->mine->closed[why], 1);
	STATS_ADD(c->ctx->mine->bytes_received,
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_free(c->bev);
	c->bev = NULL;
	readsize_unmark(c->fd);
	close(c->fd);
	c->reason = reason;
	conn_free(c);
}

/*
 * Everything but the bufferevent, which is gone already.  The worker hears
 * of it before the close is logged: the slot is free by then.
 */
static void
conn_free(struct conn *c)
{
	if (c->sourced)
		admit_leave_source(c->ctx->admit, &c->peer.sa);
	worker_conn_closed(c->ctx->w, c);
	conn_log(c, c->reason != NULL ? c->reason : "closed");
	if (c->ev_timer != NULL)
		event_free(c->ev_timer);
	free(c->reply);
	free(c);
}
