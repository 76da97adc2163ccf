/*
 * Listening sockets: one evconnlistener per address, opened from the config
 * or inherited; pausing when the process runs out of descriptors.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "hellod.h"

#define LISTEN_BACKLOG	SOMAXCONN

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
 * on a shortage of descriptors or memory every listener pauses until a
 * connection closes or a timer fires.
 */
static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct server	*srv = arg;
	struct timeval	 tv = { 0, SERVER_ACCEPT_RETRY_MS * 1000 };
	int		 error = EVUTIL_SOCKET_ERROR();

	(void)lev;
	switch (error) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		srv->stats.accept_paused++;
		if (log_ratelimit(&srv->rl_accept, time(NULL))) {
			log_warnx("accept: %s; pausing new connections "
			    "(%lu similar suppressed)", strerror(error),
			    srv->rl_accept.suppressed);
			srv->rl_accept.suppressed = 0;
		}
		listener_pause(srv);
		evtimer_add(srv->ev_accept_retry, &tv);
		break;
	default:
		if (log_ratelimit(&srv->rl_accept, time(NULL)))
			log_warnx("accept: %s", strerror(error));
		break;
	}
}

static int
listener_add(struct server *srv, int fd, struct listener *l)
{
	l->addr.len = sizeof(l->addr.ss);
	if (getsockname(fd, (struct sockaddr *)&l->addr.ss, &l->addr.len) ==
	    -1) {
		log_warn("getsockname");
		return -1;
	}
	addr_fmt((struct sockaddr *)&l->addr.ss, l->name, sizeof(l->name));
	/* Backlog 0: the socket listens already. */
	l->lev = evconnlistener_new(srv->base, listener_accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->lev == NULL) {
		log_warnx("%s: cannot create listener", l->name);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, listener_error_cb);
	if (srv->accept_paused)
		evconnlistener_disable(l->lev);
	return 0;
}

/* Returns the fd, -1 on error, -2 for an optional address not available. */
static int
listener_socket(const struct listen_addr *la, int port, int *real_port)
{
	struct listen_addr	 a = *la;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
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
	if (listen(fd, LISTEN_BACKLOG) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		log_warn("%s: listen", name);
		close(fd);
		return -1;
	}
	*real_port = addr_get_port((struct sockaddr *)&ss);
	return fd;

skip:
	log_notice("%s: IPv6 is not available here, not listening on it",
	    name);
	return -2;
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
		if (l->lev != NULL && addr_equal(&l->addr, &want))
			return l;
	}
	return NULL;
}

/*
 * Open a listener for each configured address into out.  An address that
 * the running server listens on already is not opened again: its entry in
 * out points at the running one (from), and listener_commit() moves it over.
 * Port 0 asks for an ephemeral port: the first address picks it, the others
 * share it.
 */
int
listener_open_config(struct server *srv, const struct config *conf,
    struct listener_list *out)
{
	struct listener	*l;
	size_t		 i;
	int		 fd, port = conf->port, real_port;

	for (i = 0; i < conf->nbinds; i++) {
		if ((l = calloc(1, sizeof(*l))) == NULL) {
			log_warn("calloc");
			goto fail;
		}
		TAILQ_INSERT_TAIL(out, l, entry);
		l->from = listener_find(&srv->listeners, &conf->binds[i],
		    conf->port);
		if (l->from != NULL) {
			l->addr = l->from->addr;
			snprintf(l->name, sizeof(l->name), "%s",
			    l->from->name);
			continue;
		}
		fd = listener_socket(&conf->binds[i], port, &real_port);
		if (fd == -2) {
			TAILQ_REMOVE(out, l, entry);
			free(l);
			continue;
		}
		if (fd == -1)
			goto fail;
		if (listener_add(srv, fd, l) == -1) {
			close(fd);
			goto fail;
		}
		port = real_port;
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
	struct listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("calloc");
		return -1;
	}
	if (listener_add(srv, fd, l) == -1) {
		free(l);
		return -1;
	}
	TAILQ_INSERT_TAIL(out, l, entry);
	return 0;
}

/* Make next the server's listeners; close the ones no longer wanted. */
void
listener_commit(struct server *srv, struct listener_list *next)
{
	struct listener	*l;

	TAILQ_FOREACH(l, next, entry) {
		if (l->from == NULL) {
			log_notice("listening on %s", l->name);
			continue;
		}
		l->lev = l->from->lev;
		l->from->lev = NULL;
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
		if (l->lev != NULL && l->from == NULL)
			evconnlistener_free(l->lev);
		free(l);
	}
}

void
listener_pause(struct server *srv)
{
	struct listener	*l;

	srv->accept_paused = 1;
	TAILQ_FOREACH(l, &srv->listeners, entry)
		evconnlistener_disable(l->lev);
}

void
listener_resume(struct server *srv)
{
	struct listener	*l;

	if (!srv->accept_paused || srv->stopping)
		return;
	srv->accept_paused = 0;
	evtimer_del(srv->ev_accept_retry);
	TAILQ_FOREACH(l, &srv->listeners, entry)
		evconnlistener_enable(l->lev);
}
