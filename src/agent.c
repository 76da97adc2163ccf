/* SPDX-License-Identifier: ISC */
/*
 * HAProxy's agent check (agent_listen; HAProxy's "agent-check",
 * "agent-port", "agent-inter"): HAProxy connects, reads one line of words,
 * and acts on them.  Each connection here gets AGENT_LINE_SERVING or
 * AGENT_LINE_DRAINING, as the state callback says, and is closed at once,
 * from the accept callback: one non-blocking send into an empty socket
 * buffer, FIN, a bounded read of what the peer may have sent (a close with
 * unread input would be an RST, which can destroy the line), close.  No
 * connection outlives its accept, so no client, slow or hostile, can hold
 * one open or make this loop wait.
 *
 * The words, as HAProxy 2.6 reads them (a line ended by CR or LF; words
 * separated by blanks or commas): "up" marks the server up, "ready" ends
 * a DRAIN or MAINT state, "drain" sends it no new clients.  Nothing else
 * is said: no weight, no maxconn, no "down" (a hellod that stops drains,
 * and once it no longer accepts, the regular health check takes it out).
 *
 * This file knows only the event base and the callback it is given: the
 * server decides what the state is.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "hellod.h"

struct agent {
	struct evconnlistener	*lev;		/* owns the socket */
	struct event		*ev_retry;	/* after EMFILE/ENFILE */
	hellod_state_cb		 state;
	void			*arg;
	char			 name[ADDR_STRLEN];
	struct log_limit	 lim_accept;
};

static void
agent_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct agent	*a = arg;
	const char	*line;
	char		 peer[ADDR_STRLEN];

	(void)lev;
	(void)salen;
	line = a->state(a->arg) == HELLOD_SERVING ? AGENT_LINE_SERVING :
	    AGENT_LINE_DRAINING;
	if (log_getlevel() >= LOG_DEBUG)
		log_debug("%s: agent: %s: %.*s", __func__,
		    addr_fmt(sa, peer, sizeof(peer)),
		    (int)strcspn(line, "\n"), line);
	admit_refuse(fd, line);
}

static void
agent_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent	*a = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(a->lev);
}

/*
 * As for the workers' listeners (worker.c): libevent 2.1 leaves the
 * listener enabled after an accept error, and the loop would spin on it.
 */
static void
agent_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct agent	*a = arg;
	struct timeval	 tv = { 0, AGENT_ACCEPT_RETRY_MS * 1000 };
	int		 error = EVUTIL_SOCKET_ERROR();

	log_limited(&a->lim_accept, clock_ms(), LOG_WARNING,
	    "agent: accept: %s; pausing %d ms", strerror(error),
	    AGENT_ACCEPT_RETRY_MS);
	evconnlistener_disable(lev);
	evtimer_add(a->ev_retry, &tv);
}

/*
 * Listen on la and answer from base's loop.  NULL with *cause set, for
 * the caller to log (NULL: out of memory), and errno kept when the socket
 * cannot be had.
 */
struct agent *
agent_open(struct event_base *base, const struct listen_addr *la,
    hellod_state_cb state, void *arg, char **cause)
{
	struct agent	*a;
	int		 fd, error;

	*cause = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->state = state;
	a->arg = arg;
	if ((fd = listener_open_one(la, a->name, sizeof(a->name), cause)) ==
	    -1) {
		error = errno;
		free(a);
		errno = error;
		return NULL;
	}
	if ((a->ev_retry = evtimer_new(base, agent_retry_cb, a)) == NULL) {
		close(fd);
		goto fail;
	}
	/* Backlog 0: the socket listens already. */
	if ((a->lev = evconnlistener_new(base, agent_accept_cb, a,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd)) == NULL) {
		close(fd);
		goto fail;
	}
	evconnlistener_set_error_cb(a->lev, agent_accept_error_cb);
	log_notice("agent: answering on %s", a->name);
	return a;

fail:
	if (asprintf(cause, "%s: cannot accept", a->name) == -1)
		*cause = NULL;
	agent_free(a);
	return NULL;
}

/* Close the socket; a connection never outlives its accept callback. */
void
agent_free(struct agent *a)
{
	if (a == NULL)
		return;
	if (a->lev != NULL)
		evconnlistener_free(a->lev);
	if (a->ev_retry != NULL)
		event_free(a->ev_retry);
	free(a);
}
