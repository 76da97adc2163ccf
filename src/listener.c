/* SPDX-License-Identifier: ISC */
/*
 * The set of listening sockets: one per address, opened from the config or
 * inherited from systemd, and swapped whole on a reload.  Nothing here
 * accepts: each worker gets dups of the sockets and its own evconnlisteners
 * (worker.c), so whichever loop is free takes the next connection.
 *
 * Under systemd, every socket hellod opens goes into the manager's file
 * descriptor store too (systemd_fdstore()), and leaves it when a reload
 * retires it.  A restart gets them back in $LISTEN_FDS: they are the
 * running set the first config is opened against (listener_open_stored()),
 * so the sockets it still wants are kept, with whatever clients queued on
 * them while no hellod ran, and the others retired like a reload's.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/filter.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hellod.h"

/*
 * Why a socket could not be had, in *cause for the caller to log: a leaf
 * says what failed and what that means for a port, never what a service
 * manager could do about it.  errno is kept for the caller to look at.
 * *cause is NULL when even that cannot be allocated.
 */
static void
listener_close_keep_errno(int fd)
{
	int	 error = errno;

	close(fd);
	errno = error;
}

static void HELLOD_PRINTF(2, 3)
listener_cause(char **cause, const char *fmt, ...)
{
	va_list	 ap;
	int	 error = errno;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	errno = error;
}

static void
listener_bind_cause(char **cause, const char *name, int port)
{
	if (errno == EADDRINUSE)
		listener_cause(cause, "%s: port %d is in use (another hellod "
		    "or another program listens there: ss -ltnp 'sport = "
		    ":%d')", name, port, port);
	else if (errno == EACCES && port > 0 && port < 1024)
		listener_cause(cause, "%s: port %d is below 1024, and binding "
		    "it takes root or CAP_NET_BIND_SERVICE (%s)", name, port,
		    strerror(errno));
	else
		listener_cause(cause, "%s: bind: %s", name, strerror(errno));
}

/*
 * SO_REUSEPORT on or off for the running sockets of a family and port.
 * Linux refuses a wildcard and a specific address of one family on one
 * port to two listening sockets, unless both have SO_REUSEPORT: so a
 * reload that moves between "127.0.0.1" and "*" has the running sockets
 * it replaces share their port for the moment the new one binds, and
 * listen.  The option is cleared again at once, on both, so that no other
 * process binds the port beside hellod: a second hellod still gets
 * EADDRINUSE (the kernel remembers the port was shared, so only a process
 * of the same user that sets SO_REUSEPORT itself could join it).
 */
static int
listener_share(struct listener_list *running, int family, int port, int on)
{
	struct listener	*l;
	int		 n = 0;

	TAILQ_FOREACH(l, running, entry) {
		if (l->fd == -1 || l->addr.ss.ss_family != family ||
		    addr_get_port((struct sockaddr *)&l->addr.ss) != port ||
		    l->shared == on)
			continue;
		if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEPORT, &on,
		    sizeof(on)) == -1) {
			log_warn("%s: SO_REUSEPORT", l->name);
			continue;
		}
		l->shared = on;
		n++;
	}
	return n;
}

/* A second bind, beside the running sockets of the port; 0 or -1. */
static int
listener_bind_beside(struct listener_list *running, int fd,
    const struct listen_addr *a, int port)
{
	int	 on = 1, error = errno;

	if (port == 0 || running == NULL ||
	    listener_share(running, a->ss.ss_family, port, 1) == 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) {
		if (running != NULL)
			listener_share(running, a->ss.ss_family, port, 0);
		errno = error;
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1 ||
	    listen(fd, LISTENER_BACKLOG) == -1) {
		listener_share(running, a->ss.ss_family, port, 0);
		errno = EADDRINUSE;
		return -1;
	}
	on = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		log_warn("SO_REUSEPORT");
	listener_share(running, a->ss.ss_family, port, 0);
	return 0;
}

/*
 * Returns the fd, -1 with *cause set on error, -2 for an optional address
 * not available.  running: the sockets a reload replaces, or NULL.
 */
static int
listener_socket(struct listener_list *running, const struct listen_addr *la,
    int port, char **cause)
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
		listener_cause(cause, "%s: socket: %s", name, strerror(errno));
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
		if (errno == EADDRINUSE &&
		    listener_bind_beside(running, fd, &a, port) == 0)
			return fd;
		listener_bind_cause(cause, name, port);
		listener_close_keep_errno(fd);
		return -1;
	}
	if (listen(fd, LISTENER_BACKLOG) == -1) {
		listener_cause(cause, "%s: listen: %s", name, strerror(errno));
		listener_close_keep_errno(fd);
		return -1;
	}
	return fd;

skip:
	log_notice("%s: IPv6 is not available here, not listening on it",
	    name);
	return -2;
}

static int
listener_new(int fd, int inherited, struct listener_list *out)
{
	struct listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("calloc");
		return -1;
	}
	l->fd = fd;
	l->inherited = inherited;
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

/* Into the manager's store, under a name that says what it is. */
static void
listener_store(struct listener *l)
{
	if (systemd_fdname(l->fdname, sizeof(l->fdname), l->name) == -1) {
		log_warnx("%s: no fd store name fits; not stored", l->name);
		return;
	}
	l->stored = systemd_fdstore(l->fd, l->fdname) == 1;
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
 * others share it.  -1 with *cause set (the caller frees it; NULL: out of
 * memory) and errno as the failed call left it, nothing opened.
 */
int
listener_open_config(struct listener_list *running, const struct config *conf,
    struct listener_list *out, char **cause)
{
	struct listener	*l, *from;
	size_t		 i;
	int		 fd, port = conf->port, error;

	*cause = NULL;
	for (i = 0; i < conf->nbinds; i++) {
		from = listener_find(running, &conf->binds[i],
		    conf->port);
		if (from != NULL) {
			if ((l = calloc(1, sizeof(*l))) == NULL) {
				listener_cause(cause, "out of memory");
				goto fail;
			}
			l->fd = -1;
			l->from = from;
			l->addr = from->addr;
			memcpy(l->name, from->name, sizeof(l->name));
			TAILQ_INSERT_TAIL(out, l, entry);
			continue;
		}
		if ((fd = listener_socket(running, &conf->binds[i], port,
		    cause)) == -2)
			continue;
		if (fd == -1)
			goto fail;
		if (listener_new(fd, 0, out) == -1) {
			listener_cause(cause, "cannot keep a listening socket");
			listener_close_keep_errno(fd);
			goto fail;
		}
		port = addr_get_port((struct sockaddr *)
		    &TAILQ_LAST(out, listener_list)->addr.ss);
	}
	if (TAILQ_EMPTY(out)) {
		errno = EADDRNOTAVAIL;
		listener_cause(cause, "no address to listen on");
		return -1;
	}
	return 0;

fail:
	error = errno;
	listener_close_all(out);
	errno = error;
	return -1;
}

/* An inherited socket that listens already (socket activation). */
int
listener_open_fd(int fd, struct listener_list *out)
{
	return listener_new(fd, 1, out);
}

/*
 * A socket of hellod's own that systemd's fd store passed back at start,
 * stored under fdname: one of the running set the first config is opened
 * against.  listener_commit() keeps it if the config still wants its
 * address and port, and retires it, out of the store, if not.  -1 when it
 * cannot be kept (the caller closes it).
 */
int
listener_open_stored(int fd, const char *fdname, struct listener_list *out)
{
	struct listener	*l;

	if (listener_new(fd, 0, out) == -1)
		return -1;
	l = TAILQ_LAST(out, listener_list);
	l->stored = 1;
	l->adopted = 1;
	snprintf(l->fdname, sizeof(l->fdname), "%s", fdname);
	return 0;
}

/*
 * Make next the running sockets; retire the ones no longer wanted (out of
 * the store first), then put the new ones into it.  Removals go before
 * additions: FDSTOREREMOVE drops every descriptor of a name.
 */
void
listener_commit(struct listener_list *running, struct listener_list *next)
{
	struct listener	*l;

	TAILQ_FOREACH(l, next, entry) {
		if (l->from == NULL) {
			log_notice("listening on %s", l->name);
			continue;
		}
		if (l->from->adopted)
			log_notice("listening on %s (kept in systemd's fd "
			    "store)", l->name);
		l->fd = l->from->fd;
		l->inherited = l->from->inherited;
		l->stored = l->from->stored;
		memcpy(l->fdname, l->from->fdname, sizeof(l->fdname));
		l->from->fd = -1;
		l->from = NULL;
	}
	listener_retire_all(running);
	/* Also one whose FDSTORE= failed before: the next try. */
	TAILQ_FOREACH(l, next, entry) {
		if (l->fd != -1 && !l->stored && !l->inherited)
			listener_store(l);
	}
	TAILQ_CONCAT(running, next, entry);
}

/*
 * A socket that stops serving refuses new handshakes before its
 * descriptors close: a SYN is dropped (its client tries again a second
 * later and then finds the port closed), while the last ACK of a handshake
 * already under way still gets through.  The workers, which close their
 * dups after taking what is queued, then leave no client behind whose
 * connect() succeeded: without this, one whose handshake completed
 * between a worker's last accept() and its close() was reset.
 */
static int	listener_filter_refused;	/* said once */

static void
listener_refuse_syn(const struct listener *l)
{
	/* The program sees the TCP header: byte 13 holds the flags. */
	static struct sock_filter	 code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x02, 0, 2),  /* SYN */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x10, 1, 0),  /* ACK */
		BPF_STMT(BPF_RET | BPF_K, 0),		/* drop */
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),	/* keep */
	};
	struct sock_fprog		 prog = {
		sizeof(code) / sizeof(code[0]), code
	};

	if (setsockopt(l->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)) == 0)
		return;
	/*
	 * Kernels that disable unprivileged BPF refuse even this filter to a
	 * hellod that is not root (any more): then the window stays, and the
	 * operator is told once (hellod(8), SIGNALS).  Main thread only.
	 */
	if (errno == EPERM) {
		if (!listener_filter_refused)
			log_notice("%s: this kernel allows no socket filter to an "
			    "unprivileged process: a client that connects "
			    "while a listening socket closes (stop, or a "
			    "reload that moves it) may be reset; "
			    "hellod.socket keeps the sockets open instead",
			    l->name);
		listener_filter_refused = 1;
		log_debug("%s: no socket filter allowed", l->name);
	} else
		log_warn("%s: refusing new connections before the close",
		    l->name);
}

/*
 * Close sockets that stop serving for good, and take them out of the
 * store.  An inherited one stays open in systemd, for the next hellod: it
 * must keep taking handshakes.
 */
void
listener_retire_all(struct listener_list *list)
{
	struct listener	*l;

	TAILQ_FOREACH(l, list, entry) {
		if (l->fd == -1)
			continue;
		if (l->adopted)
			log_notice("%s: not in the configuration any more; "
			    "closed and dropped from systemd's fd store",
			    l->name);
		if (!l->inherited)
			listener_refuse_syn(l);
		if (l->stored)
			systemd_fdstore_remove(l->fdname);
	}
	listener_close_all(list);
}

/*
 * The daemon stops.  A socket in the store stays as it is, for the next
 * hellod that systemd starts (a restart): it keeps taking handshakes, and
 * the connections queued on it wait there; the workers take what is queued
 * now before they close their descriptors (worker.c), and whatever comes
 * after is the next process's.  Were it to drop SYNs like a retired one,
 * the filter would stay on the socket in the store.  The others are
 * retired.  Under "systemctl stop" the manager closes the store once the
 * service is down (FileDescriptorStorePreserve=restart, the default).
 */
void
listener_stop_all(struct listener_list *list)
{
	struct listener	*l;

	TAILQ_FOREACH(l, list, entry) {
		if (l->fd != -1 && !l->inherited && !l->stored)
			listener_refuse_syn(l);
	}
	listener_close_all(list);
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

/* A dup of every socket, in a malloc'ed array, for one worker to own. */
int *
listener_dup(const struct listener_list *list, size_t *n)
{
	const struct listener	*l;
	size_t			 count = 0;
	int			*fds;

	TAILQ_FOREACH(l, list, entry)
		count++;
	if ((fds = calloc(count + 1, sizeof(*fds))) == NULL)
		return NULL;
	*n = 0;
	TAILQ_FOREACH(l, list, entry) {
		if ((fds[*n] = fcntl(l->fd, F_DUPFD_CLOEXEC, 0)) == -1) {
			log_warn("%s: dup", l->name);
			while (*n > 0)
				close(fds[--*n]);
			free(fds);
			return NULL;
		}
		(*n)++;
	}
	return fds;
}

/* The names of at most max sockets ("127.0.0.1:5000"); returns how many. */
size_t
listener_names(const struct listener_list *list, const char **names,
    size_t max)
{
	const struct listener	*l;
	size_t			 n = 0;

	TAILQ_FOREACH(l, list, entry) {
		if (n == max)
			break;
		names[n++] = l->name;
	}
	return n;
}

/*
 * One socket of its own for a side endpoint (metrics_listen,
 * agent_listen), opened as the "bind" addresses are (one address, with
 * its port); its name ("127.0.0.1:9100", the real port) into name.
 * Returns the descriptor, which the caller owns, or -1 with *cause set
 * (NULL: out of memory) and errno kept.
 */
int
listener_open_one(const struct listen_addr *la, char *name, size_t len,
    char **cause)
{
	struct listener_list	 none = TAILQ_HEAD_INITIALIZER(none);
	struct listener_list	 one = TAILQ_HEAD_INITIALIZER(one);
	struct config		 conf;
	const char		*names[1];
	size_t			 n;
	int			*fds, fd;

	memset(&conf, 0, sizeof(conf));
	conf.binds[0] = *la;
	conf.nbinds = 1;
	conf.port = addr_get_port((const struct sockaddr *)&la->ss);
	if (listener_open_config(&none, &conf, &one, cause) == -1)
		return -1;
	if (listener_names(&one, names, 1) == 1)
		snprintf(name, len, "%s", names[0]);
	fds = listener_dup(&one, &n);
	listener_close_all(&one);
	if (fds == NULL || n != 1) {
		listener_cause(cause, "cannot keep the listening socket");
		free(fds);
		return -1;
	}
	fd = fds[0];
	free(fds);
	return fd;
}
