/* SPDX-License-Identifier: ISC */
/*
 * Admission: whether a client may have a connection, decided, counted and
 * logged here and nowhere else.  Three limits:
 *
 *	proxy_trusted		behind a load balancer, only its addresses may
 *				connect, and each must start with a good PROXY
 *				header (which proxy.c parses; conn.c reports
 *				a bad one here)
 *	max_connections_per_source
 *				the connections of one source (addr.c's key):
 *				the peer's, or with proxy_protocol the client
 *				the header names, known only once it is read
 *	max_connections		every worker's connections together: a slot of
 *				a counter shared by all of them
 *
 * A refusal is a counter of the owning thread's struct stats and a
 * rate-limited warning, one limiter for each kind.  The caller tells the
 * client (admit_refuse(), or a line of the connection's own) and closes.
 *
 * One struct admit per thread that admits (a worker), with its counters
 * and limiters; what all of them share is handed in: the slot counter
 * (atomic) and the source table (locked inside).
 */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "hellod.h"

void
admit_init(struct admit *a, uint64_t *open, struct source_table *sources,
    struct stats *stats)
{
	memset(a, 0, sizeof(*a));
	a->open = open;
	a->sources = sources;
	a->stats = stats;
}

/*
 * Count sa in its source: 1 when counted (to be given back with
 * admit_leave_source()), 0 when sa is no address to count (AF_UNIX, or the
 * proxy's own), -1, counted and logged, when its source is at the limit.
 * Counted with the limit off too: a reload that sets it must see who is
 * connected.
 */
int
admit_source(struct admit *a, const struct config *conf,
    const struct sockaddr *sa)
{
	struct addr_source	 key;
	char			 name[ADDR_STRLEN];

	addr_source_key(sa, &key);
	if (key.family == AF_UNSPEC)
		return 0;
	if (source_take(a->sources, &key, conf->max_connections_per_source) !=
	    -1)
		return 1;
	STATS_ADD(a->stats->conns_rejected_source, 1);
	log_limited(&a->lim_source, clock_ms(), LOG_WARNING,
	    "max_connections_per_source (%u) reached for %s, rejecting",
	    conf->max_connections_per_source,
	    addr_source_fmt(&key, name, sizeof(name)));
	return -1;
}

void
admit_leave_source(struct admit *a, const struct sockaddr *sa)
{
	struct addr_source	 key;

	addr_source_key(sa, &key);
	if (key.family != AF_UNSPEC)
		source_release(a->sources, &key);
}

/*
 * A socket just accepted from sa: 0 when it may become a connection, its
 * slot under max_connections taken (give it back with admit_leave()) and,
 * when *sourced is 1, counted in its source.  -1 when refused, counted and
 * logged: *line is what to tell the client (NULL: nothing), and nothing is
 * held.  Behind a proxy the source is known only from the header: the
 * connection asks admit_source() then.
 */
int
admit_accept(struct admit *a, const struct config *conf,
    const struct sockaddr *sa, int *sourced, const char **line)
{
	*sourced = 0;
	*line = NULL;
	if (conf->proxy_protocol) {
		if (!addr_prefix_match(conf->proxy_trusted,
		    conf->nproxy_trusted, sa)) {
			admit_proxy_refused(a, sa, "not in proxy_trusted");
			return -1;
		}
	} else {
		if ((*sourced = admit_source(a, conf, sa)) == -1) {
			*sourced = 0;
			*line = ADMIT_SOURCE_LINE;
			return -1;
		}
	}
	if (__atomic_add_fetch(a->open, 1, __ATOMIC_RELAXED) >
	    conf->max_connections) {
		__atomic_sub_fetch(a->open, 1, __ATOMIC_RELAXED);
		if (*sourced)
			admit_leave_source(a, sa);
		*sourced = 0;
		STATS_ADD(a->stats->conns_rejected, 1);
		log_limited(&a->lim_full, clock_ms(), LOG_WARNING,
		    "max_connections (%u) reached, rejecting new connections",
		    conf->max_connections);
		*line = ADMIT_FULL_LINE;
		return -1;
	}
	return 0;
}

/*
 * The slot is free.  Given back before the close is logged: once it is,
 * another worker may already accept in its place.
 */
void
admit_leave(struct admit *a)
{
	__atomic_sub_fetch(a->open, 1, __ATOMIC_RELAXED);
}

/* A connection refused for its PROXY header, or for coming from no proxy. */
void
admit_proxy_refused(struct admit *a, const struct sockaddr *sa,
    const char *why)
{
	char	 name[ADDR_STRLEN];

	STATS_ADD(a->stats->conns_rejected_proxy, 1);
	log_limited(&a->lim_proxy, clock_ms(), LOG_WARNING,
	    "PROXY: connection from %s closed without a reply: %s",
	    addr_fmt(sa, name, sizeof(name)), why);
}

/*
 * A refused socket: one line to say why (or none), then FIN, then close.
 * It never becomes a connection (nothing of libevent's): the socket
 * buffer is empty, so the non-blocking send either fits or the client is
 * gone.  What the client sent already is read and dropped first, a
 * bounded number of times: closing with unread input would send RST,
 * which may destroy the line on its way.
 */
void
admit_refuse(int fd, const char *line)
{
	char	 junk[4096];
	int	 i;

	if (line != NULL)
		(void)send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	if (shutdown(fd, SHUT_WR) == 0) {
		for (i = 0; i < ADMIT_REFUSE_DRAIN; i++) {
			if (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
				break;
		}
	}
	close(fd);
}
