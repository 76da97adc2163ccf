/* SPDX-License-Identifier: ISC */
/*
 * The metrics endpoint (metrics_listen): GET /metrics, and HEAD, on
 * libevent's evhttp, in a thread with an event base of its own, so that no
 * scraper, slow or hostile, ever holds up a worker's loop.  A scrape asks
 * for a snapshot through the callback given at httpd_open(), which adds up
 * the workers' counters (relaxed loads; the hot path writes nothing more
 * for it), and formats that with metrics_format().  Beside it, for
 * Kubernetes-style probes, /healthz (200 while the process runs: this
 * thread answering is the whole test) and /readyz (200 while serving, 503
 * from the first stop signal on, asked of the state callback).  Any other
 * path is 404, any other method 405.
 *
 * Bounds, since the port may be reachable by more than the scraper:
 * HTTPD_CONN_MAX connections at once (then the listener stops accepting,
 * and the kernel's backlog holds the next ones until a connection ends),
 * HTTPD_TIMEOUT seconds for each request to arrive and be answered (from
 * the accept, then from each reply, so a client that drips a byte now and
 * then is cut off too), HTTPD_HEADERS_MAX bytes of request line and
 * headers, no request body.
 *
 * evhttp in libevent 2.1 has no cap on connections and tells nothing when
 * one is accepted, but for the bufferevent callback (evhttp_set_bevcb),
 * which makes the connection's bufferevent and is not told the connection.
 * So that callback counts the connection, keeps a reference to the
 * bufferevent and makes an event active; the event's callback, right after,
 * finds the evhttp connection behind the bufferevent (evhttp sets itself
 * as the callback argument, bufferevent_getcb() reads it), sets a close
 * callback that counts it out and arms its deadline.  A connection that
 * evhttp freed in between (then the callbacks are cleared) is counted out
 * there.
 */
#include "config.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "hellod.h"

#define HTTPD_TEXT	"text/plain; charset=utf-8"

struct evhttp_connection;

/*
 * A connection evhttp serves, as far as the cap and the deadline go.  The
 * list macros use tqe_prev and tqh_last, which cppcheck does not see.
 */
struct httpd_conn {
	/* cppcheck-suppress unusedStructMember */
	TAILQ_ENTRY(httpd_conn)		 entry;
	struct httpd			*h;
	struct bufferevent		*bev;	/* referenced until adopted */
	struct evhttp_connection	*evcon;	/* once adopted */
	struct event			*ev_deadline;
};
/* cppcheck-suppress unusedStructMember ; see above */
TAILQ_HEAD(httpd_conn_list, httpd_conn);

struct httpd {
	struct event_base		*base;
	struct evhttp			*http;
	struct evhttp_bound_socket	*bound;	/* NULL once freeing */
	char				 name[ADDR_STRLEN];
	httpd_snapshot_cb		 snapshot;
	hellod_state_cb			 state;
	void				*arg;
	int				 started;
	pthread_t			 thread;
	int				 stop_fd;	/* eventfd */
	struct event			*ev_stop;
	struct event			*ev_adopt;
	struct event			*ev_accept_retry;
	struct httpd_conn_list		 adopting;	/* evcon not known yet */
	struct httpd_conn_list		 conns;
	unsigned			 nconns;	/* on both lists */
	int				 accepting;
	struct log_limit		 lim_full;
	struct log_limit		 lim_accept;
	char				 text[METRICS_MAX];
};

/*
 * The endpoint of this thread.  The listener's error callback is handed
 * evhttp's argument, not ours, and needs to find its endpoint.
 */
static __thread struct httpd	*httpd_self;

static void	httpd_accepting(struct httpd *);

/* Connections */

static void
httpd_deadline(struct httpd_conn *hc)
{
	struct timeval	 tv = { HTTPD_TIMEOUT, 0 };

	evtimer_add(hc->ev_deadline, &tv);
}

static void
httpd_conn_free(struct httpd_conn *hc)
{
	struct httpd	*h = hc->h;

	event_free(hc->ev_deadline);
	free(hc);
	h->nconns--;
	httpd_accepting(h);
}

/* evhttp frees the connection (or resets it, which is the same to us). */
static void
httpd_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct httpd_conn	*hc = arg;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	TAILQ_REMOVE(&hc->h->conns, hc, entry);
	httpd_conn_free(hc);
}

static void
httpd_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn	*hc = arg;

	(void)fd;
	(void)what;
	log_debug("%s: metrics: no request answered in %d s, closing",
	    __func__, HTTPD_TIMEOUT);
	/* Calls httpd_closed_cb(), which frees hc. */
	evhttp_connection_free(hc->evcon);
}

/* evhttp accepted a connection and wants its bufferevent. */
static struct bufferevent *
httpd_bev_cb(struct event_base *base, void *arg)
{
	struct httpd		*h = arg;
	struct httpd_conn	*hc;

	/* On failure evhttp makes a bufferevent itself; evhttp's timeout
	 * still holds for that connection. */
	if ((hc = calloc(1, sizeof(*hc))) == NULL)
		return NULL;
	hc->h = h;
	hc->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	hc->ev_deadline = evtimer_new(base, httpd_deadline_cb, hc);
	if (hc->bev == NULL || hc->ev_deadline == NULL) {
		if (hc->bev != NULL)
			bufferevent_free(hc->bev);
		if (hc->ev_deadline != NULL)
			event_free(hc->ev_deadline);
		free(hc);
		return NULL;
	}
	bufferevent_incref(hc->bev);
	TAILQ_INSERT_TAIL(&h->adopting, hc, entry);
	h->nconns++;
	httpd_accepting(h);
	event_active(h->ev_adopt, EV_TIMEOUT, 1);
	return hc->bev;
}

/* The connections accepted since the last call: find their evcons. */
static void
httpd_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd		*h = arg;
	struct httpd_conn	*hc;
	bufferevent_event_cb	 eventcb;
	void			*cbarg;

	(void)fd;
	(void)what;
	while ((hc = TAILQ_FIRST(&h->adopting)) != NULL) {
		TAILQ_REMOVE(&h->adopting, hc, entry);
		bufferevent_getcb(hc->bev, NULL, NULL, &eventcb, &cbarg);
		/* evhttp's own reference stays, if it still has one. */
		bufferevent_decref(hc->bev);
		hc->bev = NULL;
		if (eventcb == NULL || cbarg == NULL) {
			httpd_conn_free(hc);	/* evhttp is done with it */
			continue;
		}
		hc->evcon = cbarg;
		TAILQ_INSERT_TAIL(&h->conns, hc, entry);
		evhttp_connection_set_closecb(hc->evcon, httpd_closed_cb, hc);
		httpd_deadline(hc);
	}
}

/* A request answered: the connection has HTTPD_TIMEOUT for the next. */
static void
httpd_touch(struct httpd *h, const struct evhttp_connection *evcon)
{
	struct httpd_conn	*hc;

	TAILQ_FOREACH(hc, &h->conns, entry) {
		if (hc->evcon == evcon) {
			httpd_deadline(hc);
			return;
		}
	}
	/* Not adopted yet: httpd_adopt_cb() arms it. */
}

/* Accepting */

/* Accept while under the cap and not waiting out an accept error. */
static void
httpd_accepting(struct httpd *h)
{
	struct evconnlistener	*lev;
	int			 want;

	if (h->bound == NULL)
		return;
	want = h->nconns < HTTPD_CONN_MAX &&
	    !evtimer_pending(h->ev_accept_retry, NULL);
	if (want == h->accepting)
		return;
	h->accepting = want;
	lev = evhttp_bound_socket_get_listener(h->bound);
	if (want) {
		evconnlistener_enable(lev);
		return;
	}
	evconnlistener_disable(lev);
	if (h->nconns >= HTTPD_CONN_MAX)
		log_limited(&h->lim_full, clock_ms(), LOG_WARNING,
		    "metrics: %u connections at once, accepting no more "
		    "until one closes", h->nconns);
}

static void
httpd_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	httpd_accepting(arg);
}

/*
 * As for the workers' listeners (worker.c): libevent 2.1 leaves the
 * listener enabled after an accept error, and the loop would spin on it.
 */
static void
httpd_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct httpd	*h = httpd_self;
	struct timeval	 tv = { 0, HTTPD_ACCEPT_RETRY_MS * 1000 };
	int		 error = EVUTIL_SOCKET_ERROR();

	(void)lev;
	(void)arg;	/* evhttp's */
	log_limited(&h->lim_accept, clock_ms(), LOG_WARNING,
	    "metrics: accept: %s; pausing %d ms", strerror(error),
	    HTTPD_ACCEPT_RETRY_MS);
	evtimer_add(h->ev_accept_retry, &tv);
	httpd_accepting(h);
}

/* Requests */

/* A reply; for HEAD without its body, which evhttp 2.1 would send. */
static void
httpd_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
	struct evkeyvalq	*headers = evhttp_request_get_output_headers(req);
	const char		*uri;
	char			 length[24], text[LOG_ESCAPE_MAX];

	/* The URI as the client sent it: evhttp lets ESC and CR through. */
	if (log_getlevel() >= LOG_DEBUG) {
		if ((uri = evhttp_request_get_uri(req)) == NULL)
			uri = "";
		log_debug("%s: metrics: %s: %d", __func__,
		    log_escape(text, sizeof(text), uri, strlen(uri)), code);
	}
	evhttp_add_header(headers, "Content-Type", type);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(length, sizeof(length), "%zu", len);
		evhttp_add_header(headers, "Content-Length", length);
	} else if (evbuffer_add(evhttp_request_get_output_buffer(req), body,
	    len) == -1) {
		log_warnx("metrics: out of memory for a reply");
		code = HTTP_INTERNAL;
		reason = "Internal Server Error";
	}
	evhttp_send_reply(req, code, reason, NULL);
}

/* A short text/plain reply: an error, or a probe's answer. */
#define httpd_text(req, code, reason, text)				\
	httpd_reply(req, code, reason, HTTPD_TEXT, text, sizeof(text) - 1)

static void
httpd_request_cb(struct evhttp_request *req, void *arg)
{
	struct httpd		*h = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = NULL;
	struct metrics		 m;
	size_t			 len;

	httpd_touch(h, evhttp_request_get_connection(req));
	if (uri != NULL)
		path = evhttp_uri_get_path(uri);
	if (path == NULL || (strcmp(path, HTTPD_PATH) != 0 &&
	    strcmp(path, HTTPD_HEALTHZ) != 0 &&
	    strcmp(path, HTTPD_READYZ) != 0)) {
		httpd_text(req, HTTP_NOTFOUND, "Not Found",
		    "not found: the metrics are at " HTTPD_PATH "\n");
		return;
	}
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		break;
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		httpd_text(req, HTTP_BADMETHOD, "Method Not Allowed",
		    "method not allowed: GET or HEAD\n");
		return;
	}
	if (strcmp(path, HTTPD_HEALTHZ) == 0) {
		httpd_text(req, HTTP_OK, "OK", "ok\n");
		return;
	}
	if (strcmp(path, HTTPD_READYZ) == 0) {
		if (h->state(h->arg) == HELLOD_SERVING)
			httpd_text(req, HTTP_OK, "OK", "ok\n");
		else
			httpd_text(req, HTTP_SERVUNAVAIL, "Service Unavailable",
			    "draining\n");
		return;
	}
	memset(&m, 0, sizeof(m));
	h->snapshot(&m, h->arg);
	len = metrics_format(&m, h->text, sizeof(h->text));
	if (len >= sizeof(h->text)) {
		log_warnx("metrics: a scrape needs %zu bytes, more than %d",
		    len, METRICS_MAX);
		httpd_text(req, HTTP_INTERNAL, "Internal Server Error",
		    "the metrics do not fit\n");
		return;
	}
	httpd_reply(req, HTTP_OK, "OK", METRICS_CONTENT_TYPE, h->text, len);
}

/* The thread */

static void
httpd_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd	*h = arg;
	uint64_t	 n;

	(void)what;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("%s: eventfd", __func__);
	event_base_loopbreak(h->base);
}

static void *
httpd_main(void *arg)
{
	struct httpd	*h = arg;

	httpd_self = h;
	if (event_base_dispatch(h->base) == -1)
		log_warnx("metrics: event loop failed");
	return NULL;
}

/*
 * Open the socket and set up evhttp on a base of its own, in the calling
 * thread; httpd_start() then serves from a thread.  NULL with *cause
 * set, for the caller to log (NULL: out of memory), and errno kept when
 * the socket cannot be had.
 */
struct httpd *
httpd_open(const struct listen_addr *la, httpd_snapshot_cb snapshot,
    hellod_state_cb state, void *arg, char **cause)
{
	struct httpd	*h;
	int		 fd, error;

	*cause = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;

	h->snapshot = snapshot;
	h->state = state;
	h->arg = arg;
	h->stop_fd = -1;
	h->accepting = 1;
	TAILQ_INIT(&h->adopting);
	TAILQ_INIT(&h->conns);
	if ((fd = listener_open_one(la, h->name, sizeof(h->name), cause)) ==
	    -1) {
		error = errno;
		free(h);
		errno = error;
		return NULL;
	}
	if ((h->base = event_base_new()) == NULL ||
	    (h->http = evhttp_new(h->base)) == NULL) {
		*cause = strdup("cannot set up evhttp");
		close(fd);
		goto fail;
	}
	evhttp_set_timeout(h->http, HTTPD_TIMEOUT);
	evhttp_set_max_headers_size(h->http, HTTPD_HEADERS_MAX);
	evhttp_set_max_body_size(h->http, 0);	/* no request has a body */
	/* Every method evhttp knows reaches httpd_request_cb(), for a 405
	 * (evhttp itself would say 501). */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->http, httpd_request_cb, h);
	evhttp_set_bevcb(h->http, httpd_bev_cb, h);
	/* Not closed on failure: libevent may have closed it (out of
	 * memory, then; a leak beats closing a descriptor twice). */
	if ((h->bound = evhttp_accept_socket_with_handle(h->http, fd)) ==
	    NULL) {
		if (asprintf(cause, "%s: cannot accept", h->name) == -1)
			*cause = NULL;
		goto fail;
	}
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(h->bound),
	    httpd_accept_error_cb);
	if ((h->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		if (asprintf(cause, "eventfd: %s", strerror(errno)) == -1)
			*cause = NULL;
		goto fail;
	}
	h->ev_stop = event_new(h->base, h->stop_fd, EV_READ | EV_PERSIST,
	    httpd_stop_cb, h);
	h->ev_adopt = event_new(h->base, -1, 0, httpd_adopt_cb, h);
	h->ev_accept_retry = evtimer_new(h->base, httpd_retry_cb, h);
	if (h->ev_stop == NULL || h->ev_adopt == NULL ||
	    h->ev_accept_retry == NULL || event_add(h->ev_stop, NULL) == -1) {
		*cause = strdup("cannot create events");
		goto fail;
	}
	log_notice("metrics: serving http://%s%s", h->name, HTTPD_PATH);
	return h;

fail:
	httpd_free(h);
	return NULL;
}

int
httpd_start(struct httpd *h)
{
	sigset_t	 all, old;
	int		 error;

	/* Signals belong to the main thread's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	error = pthread_create(&h->thread, NULL, httpd_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		errno = error;
		log_warn("metrics: pthread_create");
		return -1;
	}
	h->started = 1;
	pthread_setname_np(h->thread, "hellod/metrics");
	return 0;
}

/* Stop the thread, if it runs, and close every connection and the socket. */
void
httpd_free(struct httpd *h)
{
	struct httpd_conn	*hc;
	uint64_t		 one = 1;

	if (h == NULL)
		return;
	if (h->started) {
		if (write(h->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_warn("%s: eventfd", __func__);
		pthread_join(h->thread, NULL);
	}
	/* The listener goes first, then each connection, through
	 * httpd_closed_cb(). */
	h->bound = NULL;
	if (h->http != NULL)
		evhttp_free(h->http);
	while ((hc = TAILQ_FIRST(&h->adopting)) != NULL) {
		TAILQ_REMOVE(&h->adopting, hc, entry);
		bufferevent_decref(hc->bev);
		httpd_conn_free(hc);
	}
	if (h->ev_stop != NULL)
		event_free(h->ev_stop);
	if (h->ev_adopt != NULL)
		event_free(h->ev_adopt);
	if (h->ev_accept_retry != NULL)
		event_free(h->ev_accept_retry);
	if (h->stop_fd != -1)
		close(h->stop_fd);
	if (h->base != NULL)
		event_base_free(h->base);
	free(h);
}
