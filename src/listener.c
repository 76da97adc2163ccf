/*
 * Listening sockets.  The server opens one socket per address (or inherits
 * it); each worker accepts from a dup of it through an evconnlistener of
 * its own, so whichever loop is free takes the next connection.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "hellod.h"

#define LISTEN_BACKLOG	SOMAXCONN

static void	listener_pause(struct worker *);

static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)lev;
	conn_accept(arg, fd, sa, salen);
}

/*
 * libevent 2.1 leaves the listener enabled after an accept error, and the
 * level-triggered listening socket would wake the loop at once, forever.  So
 * on a shortage of descriptors or memory the worker stops accepting until
 * one of its connections closes or a timer fires.
 */
static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct worker	*w = arg;
	struct timeval	 tv = { 0, WORKER_ACCEPT_RETRY_MS * 1000 };
	int		 error = EVUTIL_SOCKET_ERROR();

	(void)lev;
	switch (error) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		STATS_ADD(w->stats.accept_paused, 1);
		if (log_ratelimit(&w->rl_accept, time(NULL))) {
			log_warnx("accept: %s; pausing new connections "
			    "(%lu similar suppressed)", strerror(error),
			    w->rl_accept.suppressed);
			w->rl_accept.suppressed = 0;
		}
		listener_pause(w);
		evtimer_add(w->ev_accept_retry, &tv);
		break;
	default:
		if (log_ratelimit(&w->rl_accept, time(NULL)))
			log_warnx("accept: %s", strerror(error));
		break;
	}
}

/* Returns the fd, -1 on error, -2 for an optional address not available. */
static int
listener_socket(const struct listen_addr *la, int port)
{
	struct listen_addr	 a = *la;
	char			 name[ADDR_STRLEN];
	int			 fd, on = 1;

	addr_set_port(&a, port);
	addr_fmt((struct sockaddr *)&a.ss, name, sizeof(name));
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		if (la->optional && errno == EAFNOSUPPORT)
			goto skip;
		log_warn("%s: socket", name);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		log_warn("%s: SO_REUSEADDR", name);
	/* Keep the IPv4 wildcard free for its own listener. */
	if (a.ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		log_warn("%s: IPV6_V6ONLY", name);
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) == -1) {
		if (la->optional && (errno == EADDRNOTAVAIL ||
		    errno == EAFNOSUPPORT)) {
			close(fd);
			goto skip;
		}
		log_warn("%s: bind", name);
		close(fd);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		log_warn("%s: listen", name);
		close(fd);
		return -1;
	}
	return fd;

skip:
	log_notice("%s: IPv6 is not available here, not listening on it",
	    name);
	return -2;
}

static int
listener_new(int fd, struct listener_list *out)
{
	struct listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("calloc");
		return -1;
	}
	l->fd = fd;
	l->addr.len = sizeof(l->addr.ss);
	if (getsockname(fd, (struct sockaddr *)&l->addr.ss, &l->addr.len) ==
	    -1) {
		log_warn("getsockname");
		free(l);
		return -1;
	}
	addr_fmt((struct sockaddr *)&l->addr.ss, l->name, sizeof(l->name));
	TAILQ_INSERT_TAIL(out, l, entry);
	return 0;
}

/* A running listener bound to exactly this address and port. */
static struct listener *
listener_find(struct listener_list *list, const struct listen_addr *la,
    int port)
{
	struct listener		*l;
	struct listen_addr	 want = *la;

	if (port == 0)
		return NULL;
	addr_set_port(&want, port);
	TAILQ_FOREACH(l, list, entry) {
		if (l->fd != -1 && addr_equal(&l->addr, &want))
			return l;
	}
	return NULL;
}

/*
 * Open a socket for each configured address into out.  An address that the
 * running server listens on already is not opened again: its entry in out
 * points at the running one (from), and listener_commit() moves the socket
 * over.  Port 0 asks for an ephemeral port: the first address picks it, the
 * others share it.
 */
int
listener_open_config(struct server *srv, const struct config *conf,
    struct listener_list *out)
{
	struct listener	*l, *from;
	size_t		 i;
	int		 fd, port = conf->port;

	for (i = 0; i < conf->nbinds; i++) {
		from = listener_find(&srv->listeners, &conf->binds[i],
		    conf->port);
		if (from != NULL) {
			if ((l = calloc(1, sizeof(*l))) == NULL) {
				log_warn("calloc");
				goto fail;
			}
			l->fd = -1;
			l->from = from;
			l->addr = from->addr;
			memcpy(l->name, from->name, sizeof(l->name));
			TAILQ_INSERT_TAIL(out, l, entry);
			continue;
		}
		if ((fd = listener_socket(&conf->binds[i], port)) == -2)
			continue;
		if (fd == -1)
			goto fail;
		if (listener_new(fd, out) == -1) {
			close(fd);
			goto fail;
		}
		port = addr_get_port((struct sockaddr *)
		    &TAILQ_LAST(out, listener_list)->addr.ss);
	}
	if (TAILQ_EMPTY(out)) {
		log_warnx("no address to listen on");
		return -1;
	}
	return 0;

fail:
	listener_close_all(out);
	return -1;
}

/* An inherited socket that listens already (socket activation). */
int
listener_open_fd(struct server *srv, int fd, struct listener_list *out)
{
	(void)srv;
	return listener_new(fd, out);
}

/* Make next the server's sockets; close the ones no longer wanted. */
void
listener_commit(struct server *srv, struct listener_list *next)
{
	struct listener	*l;

	TAILQ_FOREACH(l, next, entry) {
		if (l->from == NULL) {
			log_notice("listening on %s", l->name);
			continue;
		}
		l->fd = l->from->fd;
		l->from->fd = -1;
		l->from = NULL;
	}
	listener_close_all(&srv->listeners);
	TAILQ_CONCAT(&srv->listeners, next, entry);
}

void
listener_close_all(struct listener_list *list)
{
	struct listener	*l;

	while ((l = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, l, entry);
		if (l->fd != -1)
			close(l->fd);
		free(l);
	}
}

/*
 * Accept from these sockets (the worker's own dups, which it now owns),
 * instead of the ones it had.
 */
int
listener_attach(struct worker *w, const int *fds, size_t n)
{
	struct evconnlistener	**levs;
	size_t			 i;

	size_t			 j;

	listener_detach(w);
	if (n == 0)
		return 0;
	/* An array of pointers. NOLINTNEXTLINE(bugprone-sizeof-expression) */
	if ((levs = calloc(n, sizeof(*levs))) == NULL) {
		log_warn("calloc");
		for (j = 0; j < n; j++)
			close(fds[j]);
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* Backlog 0: the socket listens already. */
		levs[i] = evconnlistener_new(w->base, listener_accept_cb, w,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fds[i]);
		if (levs[i] == NULL) {
			log_warnx("worker %u: cannot create a listener",
			    w->id);
			for (j = 0; j < i; j++)
				evconnlistener_free(levs[j]);
			for (j = i; j < n; j++)
				close(fds[j]);
			free(levs);
			return -1;
		}
		evconnlistener_set_error_cb(levs[i], listener_error_cb);
		if (w->accept_paused)
			evconnlistener_disable(levs[i]);
	}
	w->levs = levs;
	w->nlevs = n;
	return 0;
}

void
listener_detach(struct worker *w)
{
	size_t	 i;

	for (i = 0; i < w->nlevs; i++)
		evconnlistener_free(w->levs[i]);
	free(w->levs);
	w->levs = NULL;
	w->nlevs = 0;
}

static void
listener_pause(struct worker *w)
{
	size_t	 i;

	w->accept_paused = 1;
	for (i = 0; i < w->nlevs; i++)
		evconnlistener_disable(w->levs[i]);
}

void
listener_resume(struct worker *w)
{
	size_t	 i;

	if (!w->accept_paused || w->stopping)
		return;
	w->accept_paused = 0;
	evtimer_del(w->ev_accept_retry);
	for (i = 0; i < w->nlevs; i++)
		evconnlistener_enable(w->levs[i]);
}
