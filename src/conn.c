/*
 * One client connection: a bufferevent whose read callback answers every
 * complete line, bounded by max_line_length, max_output and idle_timeout.
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

#define CONN_IOV	16	/* evbuffer chains looked at per pass */

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);
static void	conn_linger_read_cb(struct bufferevent *, void *);
static void	conn_flushed(struct conn *);

static void
conn_log(struct conn *c, const char *what)
{
	char	 peer[ADDR_STRLEN];

	if (log_getlevel() < LOG_DEBUG)
		return;
	log_debug("connection %llu from %s: %s", (unsigned long long)c->id,
	    addr_fmt(&c->peer.sa, peer, sizeof(peer)), what);
}

void
conn_accept(struct server *srv, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	const struct config	*conf = srv->conf;
	struct conn		*c;

	if (srv->stats.conns_current >= conf->max_connections) {
		/* One line to say why; the socket buffer is empty, so a
		 * non-blocking send either fits or the client is gone. */
		(void)send(fd, CONN_REJECT_LINE, sizeof(CONN_REJECT_LINE) - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		srv->stats.conns_rejected++;
		if (log_ratelimit(&srv->rl_reject, time(NULL))) {
			log_warnx("max_connections (%u) reached, rejecting "
			    "new connections (%lu similar suppressed)",
			    conf->max_connections, srv->rl_reject.suppressed);
			srv->rl_reject.suppressed = 0;
		}
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s: calloc", __func__);
		close(fd);
		return;
	}
	c->srv = srv;
	c->id = ++srv->next_conn_id;
	if ((size_t)salen <= sizeof(c->peer))
		memcpy(&c->peer, sa, salen);
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(srv->base, conn_timer_cb, c);
	if (c->bev == NULL || c->timer == NULL) {
		log_warnx("%s: cannot allocate connection", __func__);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->timer != NULL)
			event_free(c->timer);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	event_base_gettimeofday_cached(srv->base, &c->last_request);
	conn_reconfigure(c);
	bufferevent_enable(c->bev, EV_READ);

	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->stats.conns_accepted++;
	srv->stats.conns_current++;
	conn_log(c, "accepted");
}

/* Apply the current config's limits to a connection (accept, reload). */
void
conn_reconfigure(struct conn *c)
{
	const struct config	*conf = c->srv->conf;

	/* The write callback fires once the output drains to half. */
	bufferevent_setwatermark(c->bev, EV_WRITE, conf->max_output / 2, 0);
	if (c->state == CONN_OPEN && conf->idle_timeout != 0 &&
	    !evtimer_pending(c->timer, NULL))
		evtimer_add(c->timer, c->srv->idle_tv);
}

/* Queue n replies in one contiguous block: no allocation per line. */
static int
conn_reply(struct conn *c, size_t n)
{
	const struct config	*conf = c->srv->conf;
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec	 v;
	size_t			 i, total = n * conf->reply_len;
	char			*p;

	if (evbuffer_reserve_space(out, total, &v, 1) != 1)
		return -1;
	p = v.iov_base;
	for (i = 0; i < n; i++, p += conf->reply_len)
		memcpy(p, conf->reply, conf->reply_len);
	v.iov_len = total;
	return evbuffer_commit_space(out, &v, 1);
}

/*
 * Answer the complete lines in the input.  While the replies queued would
 * pass max_output, stop: the rest of the input waits in its buffer and
 * reading pauses until the client takes its replies.  Each pass feeds the
 * framer at most as many bytes as replies still fit, and a line is at least
 * one byte, so the output never passes max_output by more than one reply.
 * With bounded 0 (stopping), every line already read is answered.
 * Returns -1 when the connection is gone.
 */
static int
conn_process(struct conn *c, int bounded)
{
	struct server		*srv = c->srv;
	const struct config	*conf = srv->conf;
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec	 v[CONN_IOV];
	enum frame_status	 st = FRAME_OK;
	size_t			 lines, used, fed, queued, budget, total = 0;
	int			 i, n;

	while (st == FRAME_OK && evbuffer_get_length(in) > 0) {
		queued = evbuffer_get_length(out);
		if (!bounded)
			budget = SIZE_MAX;
		else if (queued >= conf->max_output)
			break;
		else
			budget = (conf->max_output - queued) / conf->reply_len
			    + 1;
		n = evbuffer_peek(in, -1, NULL, v, CONN_IOV);
		if (n > CONN_IOV)
			n = CONN_IOV;
		lines = fed = 0;
		for (i = 0; i < n && st == FRAME_OK && fed < budget; i++) {
			if (v[i].iov_len > budget - fed)
				v[i].iov_len = budget - fed;
			st = frame_feed(&c->frame, v[i].iov_base,
			    v[i].iov_len, conf->max_line_length, &lines,
			    &used);
			total += lines;
			fed += used;
			if (lines > 0 && conn_reply(c, lines) == -1) {
				conn_close(c, "out of memory for replies");
				return -1;
			}
		}
		evbuffer_drain(in, fed);
	}
	if (total > 0) {
		srv->stats.requests += total;
		event_base_gettimeofday_cached(srv->base, &c->last_request);
	}
	if (st == FRAME_TOO_LONG) {
		evbuffer_drain(in, evbuffer_get_length(in));
		srv->stats.closed_line_too_long++;
		conn_finish(c, "line longer than max_line_length");
		return 0;
	}
	if (evbuffer_get_length(in) > 0 && !c->paused) {
		/* The client does not read: stop reading it until it does. */
		bufferevent_disable(c->bev, EV_READ);
		c->paused = 1;
		srv->stats.output_paused++;
		conn_log(c, "output full, reading paused");
	}
	return 0;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)conn_process(arg, 1);
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
	if (c->paused && c->state == CONN_OPEN &&
	    left <= c->srv->conf->max_output / 2) {
		c->paused = 0;
		if (conn_process(c, 1) == -1)
			return;
		if (c->state == CONN_OPEN && !c->paused) {
			bufferevent_enable(bev, EV_READ);
			conn_log(c, "output drained, reading resumed");
		}
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		if (c->state == CONN_LINGERING) {
			conn_close(c, c->reason);
			return;
		}
		/* A last line cut off by EOF still gets its reply. */
		if (frame_eof(&c->frame)) {
			c->srv->stats.requests++;
			if (conn_reply(c, 1) == -1) {
				conn_close(c, "out of memory for replies");
				return;
			}
		}
		c->peer_eof = 1;
		conn_finish(c, "client closed");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		conn_close(c, errno != 0 ? strerror(errno) : "socket error");
		return;
	}
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	struct server	*srv = c->srv;
	struct timeval	 now, idle, due;

	(void)fd;
	(void)what;
	if (c->state == CONN_LINGERING) {
		conn_close(c, c->reason);
		return;
	}
	if (srv->conf->idle_timeout == 0)
		return;
	/* The timer is armed once, not on every request: on expiry, see
	 * how long the connection has really been quiet. */
	event_base_gettimeofday_cached(srv->base, &now);
	idle.tv_sec = srv->conf->idle_timeout;
	idle.tv_usec = 0;
	timeradd(&c->last_request, &idle, &due);
	if (timercmp(&now, &due, <)) {
		timersub(&due, &now, &idle);
		evtimer_add(c->timer, &idle);
		return;
	}
	srv->stats.closed_idle++;
	conn_close(c, "idle timeout");
}

static void
conn_linger_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
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
	if (c->srv->stopping && evbuffer_get_length(
	    bufferevent_get_input(c->bev)) > 0) {
		/* Lines read but held back by max_output are owed too. */
		if (conn_process(c, 0) == -1 || c->state != CONN_OPEN)
			return;
	}
	c->reason = reason;
	c->state = CONN_FLUSHING;
	c->paused = 0;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_flushed(c);
	/* else conn_write_cb calls conn_flushed once the output is empty */
}

static void
conn_flushed(struct conn *c)
{
	struct timeval	 tv = { CONN_LINGER_SECS, 0 };

	if (c->peer_eof ||
	    shutdown(bufferevent_getfd(c->bev), SHUT_WR) == -1) {
		conn_close(c, c->reason);
		return;
	}
	c->state = CONN_LINGERING;
	bufferevent_setcb(c->bev, conn_linger_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	evtimer_add(c->timer, &tv);
}

void
conn_close(struct conn *c, const char *reason)
{
	struct server	*srv = c->srv;

	conn_log(c, reason);
	TAILQ_REMOVE(&srv->conns, c, entry);
	event_free(c->timer);
	bufferevent_free(c->bev);
	free(c);
	srv->stats.conns_current--;
	server_conn_closed(srv);
}
