/*
 * One client connection.
 *
 * The hot path is one recv() and one send() per batch of lines: the read
 * callback reads into the worker's buffer, counts the lines and sends their
 * replies from a block of replies prepared once.  Only when the kernel will
 * not take all of them does the connection get a bufferevent, which holds
 * the rest, writes it as the client reads and stops reading the client
 * while more than max_output waits; once drained it is freed again.  So an
 * idle connection costs a few hundred bytes and a request two syscalls
 * (libevent 2.1's own socket reads add an ioctl(FIONREAD) to each, and a
 * write event per reply toggles epoll twice).
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "hellod.h"

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_linger_cb(evutil_socket_t, short, void *);
static void	conn_flushed(struct conn *);

static struct event *
conn_ev_read(struct conn *c)
{
	return (struct event *)(c + 1);
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
 * One line to say why, then FIN.  The socket buffer is empty, so the
 * non-blocking send either fits or the client is gone.  What the client
 * sent already is read and dropped first: closing with unread input would
 * send RST, which may destroy the line on its way.
 */
static void
conn_reject(struct worker *w, int fd)
{
	int	 i;

	(void)send(fd, CONN_REJECT_LINE, sizeof(CONN_REJECT_LINE) - 1,
	    MSG_DONTWAIT | MSG_NOSIGNAL);
	if (shutdown(fd, SHUT_WR) == 0) {
		for (i = 0; i < CONN_REJECT_DRAIN; i++) {
			if (recv(fd, w->rbuf, WORKER_RBUF, MSG_DONTWAIT) <= 0)
				break;
		}
	}
	close(fd);
}

void
conn_accept(struct worker *w, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct server		*srv = w->srv;
	const struct config	*conf = w->conf;
	struct conn		*c;

	if (__atomic_add_fetch(&srv->stats.conns_current, 1,
	    __ATOMIC_RELAXED) > conf->max_connections) {
		__atomic_sub_fetch(&srv->stats.conns_current, 1,
		    __ATOMIC_RELAXED);
		conn_reject(w, fd);
		STATS_ADD(w->stats.conns_rejected, 1);
		if (log_ratelimit(&w->rl_reject, time(NULL))) {
			log_warnx("max_connections (%u) reached, rejecting "
			    "new connections (%lu similar suppressed)",
			    conf->max_connections, w->rl_reject.suppressed);
			w->rl_reject.suppressed = 0;
		}
		return;
	}
	if ((c = calloc(1, sizeof(*c) + event_get_struct_event_size())) ==
	    NULL) {
		log_warn("%s: calloc", __func__);
		__atomic_sub_fetch(&srv->stats.conns_current, 1,
		    __ATOMIC_RELAXED);
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->id = __atomic_add_fetch(&srv->next_conn_id, 1, __ATOMIC_RELAXED);
	if ((size_t)salen <= sizeof(c->peer))
		memcpy(&c->peer, sa, salen);
	event_assign(conn_ev_read(c), w->base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	event_add(conn_ev_read(c), NULL);
	event_base_gettimeofday_cached(w->base, &c->last_request);
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	STATS_ADD(w->stats.conns_accepted, 1);
	worker_idle_arm(w);
	conn_log(c, "accepted");
}

/* Apply the worker's current config to a connection (after a reload). */
void
conn_reconfigure(struct conn *c)
{
	if (c->bev != NULL)
		bufferevent_setwatermark(c->bev, EV_WRITE,
		    c->w->conf->max_output / 2, 0);
}

static size_t
conn_queued(struct conn *c)
{
	if (c->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* The kernel is full: from here a bufferevent holds what waits. */
static int
conn_queue_start(struct conn *c)
{
	struct worker	*w = c->w;

	c->bev = bufferevent_socket_new(w->base, c->fd, 0);
	if (c->bev == NULL) {
		conn_close(c, "cannot allocate an output buffer");
		return -1;
	}
	bufferevent_setcb(c->bev, NULL, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, w->conf->max_output / 2, 0);
	bufferevent_enable(c->bev, EV_WRITE);
	return 0;
}

/* Queue n replies in one contiguous block: no allocation per line. */
static int
conn_queue_replies(struct conn *c, size_t n)
{
	const struct config	*conf = c->w->conf;
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec	 v;
	size_t			 i, total = n * conf->reply_len;
	char			*p;

	if (evbuffer_reserve_space(out, total, &v, 1) != 1)
		goto nomem;
	p = v.iov_base;
	for (i = 0; i < n; i++, p += conf->reply_len)
		memcpy(p, conf->reply, conf->reply_len);
	v.iov_len = total;
	if (evbuffer_commit_space(out, &v, 1) == -1)
		goto nomem;
	return 0;
nomem:
	conn_close(c, "out of memory for replies");
	return -1;
}

/* Send n replies, or queue what the kernel does not take. */
static int
conn_reply(struct conn *c, size_t n)
{
	struct worker	*w = c->w;
	size_t		 k, len;
	ssize_t		 sent;

	while (c->bev == NULL && n > 0) {
		k = n < w->wbuf_replies ? n : w->wbuf_replies;
		len = k * w->conf->reply_len;
		sent = send(c->fd, w->wbuf, len, MSG_NOSIGNAL);
		if (sent == (ssize_t)len) {
			n -= k;
			continue;
		}
		if (sent == -1 && errno != EAGAIN && errno != EINTR) {
			conn_close(c, strerror(errno));
			return -1;
		}
		if (sent == -1)
			sent = 0;
		if (conn_queue_start(c) == -1)
			return -1;
		if (evbuffer_add(bufferevent_get_output(c->bev), w->wbuf +
		    sent, len - sent) == -1) {
			conn_close(c, "out of memory for replies");
			return -1;
		}
		n -= k;
	}
	if (n > 0)
		return conn_queue_replies(c, n);
	return 0;
}

static void
conn_pause(struct conn *c)
{
	event_del(conn_ev_read(c));
	c->paused = 1;
	STATS_ADD(c->w->stats.output_paused, 1);
	conn_log(c, "output full, reading paused");
}

/*
 * Read what fits and answer it.  At most as many bytes are read as replies
 * may still be queued (a line is at least one byte), so nothing read ever
 * waits for an answer and the queue passes max_output by one reply at most.
 */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn		*c = arg;
	struct worker		*w = c->w;
	const struct config	*conf = w->conf;
	enum frame_status	 st;
	size_t			 queued, budget, lines, used;
	ssize_t			 n;

	(void)what;
	if (c->state == CONN_LINGERING) {
		n = recv(fd, w->rbuf, WORKER_RBUF, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			conn_close(c, c->reason);
		return;
	}
	queued = conn_queued(c);
	if (queued >= conf->max_output) {
		conn_pause(c);
		return;
	}
	budget = (conf->max_output - queued) / conf->reply_len + 1;
	n = recv(fd, w->rbuf, budget < WORKER_RBUF ? budget : WORKER_RBUF, 0);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(c, strerror(errno));
		return;
	}
	if (n == 0) {
		/* A last line cut off by EOF still gets its reply. */
		c->peer_eof = 1;
		if (frame_eof(&c->frame)) {
			STATS_ADD(w->stats.requests, 1);
			if (conn_reply(c, 1) == -1)
				return;
		}
		conn_finish(c, "client closed");
		return;
	}
	st = frame_feed(&c->frame, w->rbuf, n, conf->max_line_length, &lines,
	    &used);
	if (lines > 0) {
		STATS_ADD(w->stats.requests, lines);
		worker_touch(w, c);
		if (conn_reply(c, lines) == -1)
			return;
	}
	if (st == FRAME_TOO_LONG) {
		STATS_ADD(w->stats.closed_line_too_long, 1);
		conn_finish(c, "line longer than max_line_length");
		return;
	}
	if (conn_queued(c) >= conf->max_output)
		conn_pause(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 left = evbuffer_get_length(bufferevent_get_output(bev));

	if (c->state == CONN_FLUSHING) {
		if (left == 0)
			conn_flushed(c);
		return;
	}
	if (c->state != CONN_OPEN)
		return;
	if (c->paused && left <= c->w->conf->max_output / 2) {
		c->paused = 0;
		event_add(conn_ev_read(c), NULL);
		conn_log(c, "output drained, reading resumed");
	}
	if (left == 0) {
		/* Caught up: back to writing directly. */
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		conn_close(c, EVUTIL_SOCKET_ERROR() != 0 ?
		    strerror(EVUTIL_SOCKET_ERROR()) : "write error");
}

static void
conn_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	conn_close(c, c->reason);
}

/*
 * Close after the replies owed are written.  Then send FIN and discard what
 * the client still sends for a moment: closing a socket with unread input
 * sends RST, which can destroy replies still on their way.
 */
void
conn_finish(struct conn *c, const char *reason)
{
	if (c->state != CONN_OPEN)
		return;
	c->reason = reason;
	c->state = CONN_FLUSHING;
	c->paused = 0;
	event_del(conn_ev_read(c));
	if (conn_queued(c) == 0)
		conn_flushed(c);
	/* else conn_write_cb calls conn_flushed once the output is empty */
}

static void
conn_flushed(struct conn *c)
{
	struct timeval	 tv = { CONN_LINGER_SECS, 0 };

	if (c->peer_eof || shutdown(c->fd, SHUT_WR) == -1) {
		conn_close(c, c->reason);
		return;
	}
	c->state = CONN_LINGERING;
	c->ev_linger = evtimer_new(c->w->base, conn_linger_cb, c);
	if (c->ev_linger == NULL) {
		conn_close(c, c->reason);
		return;
	}
	evtimer_add(c->ev_linger, &tv);
	event_add(conn_ev_read(c), NULL);
}

void
conn_close(struct conn *c, const char *reason)
{
	struct worker	*w = c->w;

	TAILQ_REMOVE(&w->conns, c, entry);
	event_del(conn_ev_read(c));
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->ev_linger != NULL)
		event_free(c->ev_linger);
	close(c->fd);
	/* Free the slot before saying so: once the close is logged, another
	 * worker may already accept in its place. */
	__atomic_sub_fetch(&w->srv->stats.conns_current, 1, __ATOMIC_RELAXED);
	conn_log(c, reason);
	free(c);
	worker_conn_closed(w);
}
