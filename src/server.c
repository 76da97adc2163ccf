/* SPDX-License-Identifier: ISC */
/*
 * The server: the main thread's event loop, which owns the listening
 * sockets, the configuration and the signals, directs the workers and
 * pings systemd's watchdog.  It never waits on a worker: a worker reports
 * a command carried out, or its loop ended, through the eventfd behind
 * server_worker_done(), and this loop acts when the last one has.
 *
 * Signals, all handled inside this loop until the process exits:
 *	TERM, INT	graceful stop, after stop_grace seconds of draining
 *			(still serving, but the agent says drain and /readyz
 *			503); a second one, in the grace or the stop, stops
 *			at once
 *	HUP		reload the configuration (transactional); ignored
 *			while draining or stopping
 *	USR1		log the counters
 *	PIPE		ignored (writes report EPIPE instead)
 */
#include "config.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "hellod.h"

/*
 * Threads: the main thread alone runs this but for server_metrics() and
 * server_state(), in the metrics endpoint's.  That one reads conf and
 * reload_* under conf_lock, which the main thread takes to write them (and
 * not to read them); the workers' array, fixed before the endpoint starts;
 * the counters, whole (STATS_GET); and draining, which the main thread
 * alone writes, by atomic store and load.
 */
struct server {
	struct event_base	*base;		/* main thread: signals */
	struct config		*conf;		/* written under conf_lock */
	pthread_mutex_t		 conf_lock;
	int			 reload_ok;	/* conf_lock: the last load */
	uint64_t		 reload_ms;	/* conf_lock: last success */
	char			*user;		/* as started; reloads keep it */
	const char		*conf_path;
	int			 conf_explicit;
	const struct config_overrides *overrides; /* main()'s, every load */
	int			 listen_fds;	/* the socket unit's */
	int			 passed;	/* all systemd passed */
	char			**passed_names;	/* theirs; NULL: closed */
	struct listener_list	 listeners;
	struct worker		**workers;
	unsigned		 nworkers;
	struct worker_shared	 shared;
	struct stats		 stats;		/* reloads: main thread */
	struct event		*ev_sigterm;
	struct event		*ev_sigint;
	struct event		*ev_sighup;
	struct event		*ev_sigusr1;
	struct event		*ev_shutdown;
	struct event		*ev_done;
	struct event		*ev_reload;	/* workers late to ack */
	struct event		*ev_watchdog;
	int			 done_fd;	/* eventfd: a worker reports */
	int			 reserve_fd;	/* released on EMFILE */
	int			 stopping;
	int			 draining;	/* atomic: a stop signal came */
	int			 in_grace;	/* stop_grace running */
	struct event		*ev_grace;
	int			 verbose;	/* -v count, added to log_level */
	uint64_t		 gen;		/* commands posted */
	uint64_t		 reload_gen;	/* awaited acks; 0: none */
	uint64_t		 watchdog_usec;	/* ping interval, 0 = none */
	struct log_limit	 lim_stuck;
	struct httpd		*httpd;		/* metrics_listen, or NULL */
	struct agent		*agent;		/* agent_listen, or NULL */
	uint64_t		 started_ms;	/* wall clock, for metrics */
};

static void	server_signal_cb(evutil_socket_t, short, void *);
static void	server_shutdown_cb(evutil_socket_t, short, void *);
static void	server_done_cb(evutil_socket_t, short, void *);
static void	server_reload_late_cb(evutil_socket_t, short, void *);
static void	server_watchdog_cb(evutil_socket_t, short, void *);
static void	server_worker_done(void *);
static void	server_metrics(struct metrics *, void *);
static enum hellod_state server_state(void *);
static void	server_grace_cb(evutil_socket_t, short, void *);

/*
 * libevent's own lines, escaped: some quote what a peer sent (evhttp's
 * debug lines hold the request's URI and method).  libevent cuts its
 * messages at 1024 bytes; twice that leaves room for a peer's escapes.
 */
static void
server_libevent_log(int severity, const char *msg)
{
	char	 text[SERVER_LIBEVENT_LOG_MAX];

	log_escape(text, sizeof(text), msg, strlen(msg));
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", text);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", text);
		break;
	default:
		log_warnx("libevent: %s", text);
		break;
	}
}

/* metrics: process_start_time_seconds */
static uint64_t
server_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * passed: how many sockets systemd passed from fd 3 on, as main() found
 * them before anything else opened a descriptor, and names their names
 * (systemd_listen_fds(), taken over; a NULL name for one closed there).
 * Those of hellod's own fd store are told from a socket unit's by the name.
 * ov, the options that go over the file at every reload, stays main()'s
 * and must outlive the server.
 */
struct server *
server_new(struct config *conf, const char *path, int explicit,
    const struct config_overrides *ov, int passed, char **names)
{
	struct server	*srv;
	int		 i;

	event_set_log_callback(server_libevent_log);
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		fatal("calloc");
	srv->conf = conf;
	if (conf->user != NULL && (srv->user = strdup(conf->user)) == NULL)
		fatal("strdup");
	srv->conf_path = path;
	srv->conf_explicit = explicit;
	srv->overrides = ov;
	srv->passed = passed;
	srv->passed_names = names;
	for (i = 0; i < passed; i++) {
		if (names[i] != NULL && !systemd_fdname_stored(names[i]))
			srv->listen_fds++;
	}
	srv->started_ms = server_wall_ms();
	srv->reload_ok = 1;
	srv->reload_ms = srv->started_ms;
	if ((errno = pthread_mutex_init(&srv->conf_lock, NULL)) != 0)
		fatal("pthread_mutex_init");
	TAILQ_INIT(&srv->listeners);
	if ((srv->shared.sources = source_table_new()) == NULL)
		fatal("calloc");
	if ((srv->base = event_base_new()) == NULL)
		fatalx("cannot create the event base");
	if ((srv->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	srv->ev_sigterm = evsignal_new(srv->base, SIGTERM, server_signal_cb,
	    srv);
	srv->ev_sigint = evsignal_new(srv->base, SIGINT, server_signal_cb, srv);
	srv->ev_sighup = evsignal_new(srv->base, SIGHUP, server_signal_cb, srv);
	srv->ev_sigusr1 = evsignal_new(srv->base, SIGUSR1, server_signal_cb,
	    srv);
	srv->ev_shutdown = evtimer_new(srv->base, server_shutdown_cb, srv);
	srv->ev_reload = evtimer_new(srv->base, server_reload_late_cb, srv);
	srv->ev_grace = evtimer_new(srv->base, server_grace_cb, srv);
	srv->ev_done = event_new(srv->base, srv->done_fd, EV_READ | EV_PERSIST,
	    server_done_cb, srv);
	if (srv->ev_sigterm == NULL || srv->ev_sigint == NULL ||
	    srv->ev_sighup == NULL || srv->ev_sigusr1 == NULL ||
	    srv->ev_shutdown == NULL || srv->ev_reload == NULL ||
	    srv->ev_grace == NULL || srv->ev_done == NULL)
		fatalx("cannot create events");
	evsignal_add(srv->ev_sigterm, NULL);
	evsignal_add(srv->ev_sigint, NULL);
	evsignal_add(srv->ev_sighup, NULL);
	evsignal_add(srv->ev_sigusr1, NULL);
	event_add(srv->ev_done, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Held for the moment descriptors run out: a reload must still be
	 * able to open its file. */
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return srv;
}

void
server_set_verbose(struct server *srv, int verbose)
{
	srv->verbose = verbose;
}

/*
 * A socket that cannot be had, at error priority with its cause: at start
 * the daemon exits on it, at a reload the reload fails on it, and either
 * way "journalctl -p err" must say why.  The listener said what failed;
 * what systemd offers for a privileged port is said here.
 */
static void
server_listen_error(const char *what, char *cause, int error, int port)
{
	const char	*hint = "";

	if (error == EACCES && port > 0 && port < 1024)
		hint = "; under systemd use hellod.socket, or a drop-in with "
		    "AmbientCapabilities=CAP_NET_BIND_SERVICE (hellod(8), "
		    "DIAGNOSTICS)";
	log_errorx("%scannot listen on %s%s", what, cause != NULL ? cause :
	    "an address: out of memory", hint);
	free(cause);
}

/*
 * The sockets systemd's fd store passed back: the running set the config
 * is opened against (listener.c keeps what it still wants).  With
 * stored 0 (socket activation) none is used: each is retired, and so
 * leaves the store.
 */
static void
server_adopt_stored(struct server *srv, int stored, struct listener_list *out)
{
	char	*name;
	int	 i, fd, n = 0;

	for (i = 0; i < srv->passed; i++) {
		name = srv->passed_names[i];
		fd = SYSTEMD_LISTEN_FDS_START + i;
		if (name == NULL || !systemd_fdname_stored(name))
			continue;
		if (listener_open_stored(fd, name, out) == -1) {
			close(fd);
			systemd_fdstore_remove(name);
			continue;
		}
		n++;
		if (!stored)
			TAILQ_LAST(out, listener_list)->adopted = 0;
	}
	if (n > 0 && !stored) {
		log_notice("socket activation: %d socket%s of the fd store "
		    "not used; dropped from it", n, n == 1 ? "" : "s");
		listener_retire_all(out);
	}
}

/*
 * Socket activation: when a socket unit passed sockets, listen on every
 * one of them and on nothing else.  Otherwise open the configured ones,
 * keeping those of them that the fd store passed back.
 */
int
server_listen(struct server *srv)
{
	struct listener_list	 next = TAILQ_HEAD_INITIALIZER(next);
	struct listener_list	 unused = TAILQ_HEAD_INITIALIZER(unused);
	char			*cause;
	int			 i;

	if (srv->listen_fds > 0) {
		server_adopt_stored(srv, 0, &unused);
		for (i = 0; i < srv->passed; i++) {
			if (srv->passed_names[i] == NULL ||
			    systemd_fdname_stored(srv->passed_names[i]))
				continue;
			if (listener_open_fd(SYSTEMD_LISTEN_FDS_START + i,
			    &next) == -1) {
				listener_close_all(&next);
				return -1;
			}
		}
		log_notice("socket activation: serving on %d socket%s passed "
		    "by systemd; the port and bind settings are not used",
		    srv->listen_fds, srv->listen_fds == 1 ? "" : "s");
	} else {
		server_adopt_stored(srv, 1, &srv->listeners);
		if (listener_open_config(&srv->listeners, srv->conf, &next,
		    &cause) == -1) {
			server_listen_error("", cause, errno, srv->conf->port);
			return -1;
		}
	}
	/* metrics: opened now, as root if need be; serves from server_run(). */
	if (srv->conf->metrics_listen.len != 0 &&
	    (srv->httpd = httpd_open(&srv->conf->metrics_listen,
	    server_metrics, server_state, srv, &cause)) == NULL) {
		server_listen_error("metrics: ", cause, errno, addr_get_port(
		    (const struct sockaddr *)&srv->conf->metrics_listen.ss));
		listener_close_all(&next);
		return -1;
	}
	/* The agent answers from this loop once it runs. */
	if (srv->conf->agent_listen.len != 0 &&
	    (srv->agent = agent_open(srv->base, &srv->conf->agent_listen,
	    server_state, srv, &cause)) == NULL) {
		server_listen_error("agent: ", cause, errno, addr_get_port(
		    (const struct sockaddr *)&srv->conf->agent_listen.ss));
		listener_close_all(&next);
		return -1;
	}
	listener_commit(&srv->listeners, &next);
	return 0;
}

static unsigned
server_nworkers(const struct config *conf)
{
	long	 n;

	if (conf->workers != 0)
		return conf->workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > WORKER_MAX ? WORKER_MAX : (unsigned)n;
}

/*
 * How many listening sockets conf means: the ones systemd passed, or at
 * most one per configured address.
 */
static size_t
server_nlisteners(struct server *srv, const struct config *conf)
{
	return srv->listen_fds > 0 ? (size_t)srv->listen_fds : conf->nbinds;
}

/* The counters of the server and of every worker, added up. */
static void
server_totals(struct server *srv, struct stats *total)
{
	unsigned	 i;

	memset(total, 0, sizeof(*total));
	stats_add(total, &srv->stats);
	for (i = 0; i < srv->nworkers; i++)
		worker_stats(srv->workers[i], total);
}

/* The connections open now, in every worker. */
static uint64_t
server_conns(struct server *srv)
{
	uint64_t	 n = 0;
	unsigned	 i;

	for (i = 0; i < srv->nworkers; i++)
		n += worker_conns(srv->workers[i]);
	return n;
}

/*
 * metrics: a scrape, in the endpoint's thread.  The workers are fixed once
 * started, before the endpoint is, and server_free() stops the endpoint
 * before anything else; the counters are read whole (STATS_GET).  The
 * config is the running one while conf_lock is held: a reload swaps it
 * under the lock, and drops the old one only after.
 */
static void
server_metrics(struct metrics *m, void *arg)
{
	struct server	*srv = arg;
	struct stats	 st;
	unsigned	 i;

	memset(&m->total, 0, sizeof(m->total));
	stats_add(&m->total, &srv->stats);
	for (i = 0; i < srv->nworkers; i++) {
		memset(&st, 0, sizeof(st));
		worker_stats(srv->workers[i], &st);
		m->accepted[i] = worker_accepted(srv->workers[i]);
		stats_add(&m->total, &st);
	}
	m->workers = srv->nworkers;
	m->version = PACKAGE_VERSION;
	m->start_ms = srv->started_ms;
	m->notify_dropped = systemd_notify_dropped();
	m->draining = server_state(srv) == HELLOD_DRAINING;
	pthread_mutex_lock(&srv->conf_lock);
	m->reload_ok = srv->reload_ok;
	m->reload_ms = srv->reload_ms;
	m->nlimits = config_limits(srv->conf, m->limits, CONFIG_LIMITS_MAX);
	pthread_mutex_unlock(&srv->conf_lock);
	proc_usage(&m->proc);
}

/*
 * What the agent and /readyz say, in any thread: serving until the first
 * stop signal, draining from then on (the grace, then the stop).
 */
static enum hellod_state
server_state(void *arg)
{
	struct server	*srv = arg;

	return __atomic_load_n(&srv->draining, __ATOMIC_RELAXED) ?
	    HELLOD_DRAINING : HELLOD_SERVING;
}

/*
 * metrics: how a load ended, for the scrapes: conf the new running config
 * (the old one is dropped), or NULL when the reload failed.
 */
static void
server_loaded(struct server *srv, struct config *conf)
{
	struct config	*old = NULL;

	pthread_mutex_lock(&srv->conf_lock);
	if (conf != NULL) {
		old = srv->conf;
		srv->conf = conf;
		srv->reload_ms = server_wall_ms();
	}
	srv->reload_ok = conf != NULL;
	pthread_mutex_unlock(&srv->conf_lock);
	config_unref(old);
}

/*
 * metrics: the endpoint a new config asks for, serving already, or the
 * running one (NULL: none) if metrics_listen did not change.  -1 if it
 * cannot be had; nothing running has changed then.
 */
static int
server_metrics_next(struct server *srv, const struct config *conf,
    struct httpd **next)
{
	char	*cause;

	*next = srv->httpd;
	if (addr_equal(&srv->conf->metrics_listen, &conf->metrics_listen))
		return 0;
	*next = NULL;
	if (conf->metrics_listen.len == 0)
		return 0;
	if ((*next = httpd_open(&conf->metrics_listen, server_metrics,
	    server_state, srv, &cause)) == NULL) {
		server_listen_error("metrics: ", cause, errno, addr_get_port(
		    (const struct sockaddr *)&conf->metrics_listen.ss));
		return -1;
	}
	if (httpd_start(*next) == -1) {
		httpd_free(*next);
		return -1;
	}
	return 0;
}

/*
 * agent: the agent a new config asks for, answering already, or the
 * running one (NULL: none) if agent_listen did not change.  -1 if it
 * cannot be had; nothing running has changed then.
 */
static int
server_agent_next(struct server *srv, const struct config *conf,
    struct agent **next)
{
	char	*cause;

	*next = srv->agent;
	if (addr_equal(&srv->conf->agent_listen, &conf->agent_listen))
		return 0;
	*next = NULL;
	if (conf->agent_listen.len == 0)
		return 0;
	if ((*next = agent_open(srv->base, &conf->agent_listen, server_state,
	    srv, &cause)) == NULL) {
		server_listen_error("agent: ", cause, errno, addr_get_port(
		    (const struct sockaddr *)&conf->agent_listen.ss));
		return -1;
	}
	return 0;
}

/* STATUS=: where it listens, how busy it is; first, that it drains. */
static void
server_status(struct server *srv, char *buf, size_t size)
{
	const char	*names[64];
	size_t		 n, len = 0;

	if (srv->in_grace) {
		len = (size_t)snprintf(buf, size, "draining for stop_grace "
		    "(%u s), still serving; ", srv->conf->stop_grace);
		if (len >= size)
			len = 0;
	}
	n = listener_names(&srv->listeners, names,
	    sizeof(names) / sizeof(names[0]));
	systemd_status(buf + len, size - len, names, n, server_conns(srv));
}

static void
server_notify(struct server *srv, enum systemd_state state)
{
	char	 status[SYSTEMD_STATUS_MAX];

	server_status(srv, status, sizeof(status));
	systemd_notify(state, status);
}

static int
server_watchdog_start(struct server *srv)
{
	struct timeval	 tv;

	if ((srv->watchdog_usec = systemd_watchdog_interval()) == 0)
		return 0;
	tv.tv_sec = (time_t)(srv->watchdog_usec / 1000000);
	tv.tv_usec = (suseconds_t)(srv->watchdog_usec % 1000000);
	srv->ev_watchdog = event_new(srv->base, -1, EV_PERSIST,
	    server_watchdog_cb, srv);
	if (srv->ev_watchdog == NULL || event_add(srv->ev_watchdog, &tv) == -1) {
		log_warnx("%s: cannot arm the watchdog timer", __func__);
		return -1;
	}
	log_info("watchdog: pinging systemd every %" PRIu64 " ms",
	    srv->watchdog_usec / 1000);
	return 0;
}

/*
 * This loop runs, or the timer would not fire; a worker's loop may not:
 * then stop pinging and let the manager act.
 */
static void
server_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	unsigned	 i;
	int		 alive = 1;

	(void)fd;
	(void)what;
	for (i = 0; i < srv->nworkers; i++) {
		if (worker_alive(srv->workers[i]))
			continue;
		alive = 0;
		log_limited(&srv->lim_stuck, clock_ms(), LOG_WARNING,
		    "worker %u: its loop has not run for a watchdog "
		    "interval; not pinging systemd", i);
	}
	if (alive)
		server_notify(srv, SYSTEMD_WATCHDOG);
}

/*
 * Create the workers, worker 0 with its dups of the listeners, but no thread
 * yet: every descriptor the daemon needs to serve is open once this
 * returns 0, and main() writes the pidfile only after it (libevent exits
 * the process when it cannot create a base's internal pipe).  -1 with the
 * reason logged when a worker cannot be built.
 */
int
server_prepare(struct server *srv)
{
	struct worker	*w;
	unsigned	 i, n;
	size_t		 nfds;
	int		*fds;

	if (server_watchdog_start(srv) == -1)
		return -1;
	n = server_nworkers(srv->conf);
	daemon_fd_limit(daemon_fd_need(srv->conf->max_connections, n,
	    server_nlisteners(srv, srv->conf)), srv->conf->max_connections);
	readsize_init();	/* before the first connection and thread */
	/* An array of pointers. NOLINTNEXTLINE(bugprone-sizeof-expression) */
	if ((srv->workers = calloc(n, sizeof(*srv->workers))) == NULL) {
		log_warn("calloc");
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* Workers beat at half the ping interval: one look sees it. */
		w = worker_new(i, i == 0 ? srv->base : NULL, srv->conf,
		    &srv->shared, srv->watchdog_usec / 2, server_worker_done,
		    srv);
		if (w == NULL)
			goto fail;
		/* From here server_free() frees it. */
		srv->workers[srv->nworkers++] = w;
	}
	/*
	 * Worker 0 alone accepts, and deals the sockets out to them all: an
	 * even spread, where loops that each listened were woken unevenly.
	 */
	if ((fds = listener_dup(&srv->listeners, &nfds)) == NULL ||
	    worker_listen(srv->workers[0], fds, nfds) == -1) {
		log_warnx("cannot accept on the listening sockets");
		return -1;
	}
	if (worker_deal(srv->workers[0], srv->workers, srv->nworkers) == -1)
		return -1;
	return 0;

fail:
	log_warnx("cannot create worker %u of %u", i, n);
	return -1;
}

/*
 * HUP and USR1, which would kill a process that has no handler for them
 * yet, wait from the first line of main() until the daemon serves.  Every
 * thread is made from the main thread while they are blocked, and keeps
 * them blocked (worker.c, httpd.c).
 */
static void
server_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

void
server_signals_hold(void)
{
	sigset_t	 set;

	server_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/*
 * Now that the daemon serves (before it says so: a HUP sent once "hellod
 * -d" returns or "started" is logged is a reload): a HUP that came before
 * is dropped, as there was nothing to reload yet; a USR1 is delivered, and
 * logs the counters.
 */
static void
server_signals_release(void)
{
	const struct timespec	 now = { 0, 0 };
	sigset_t		 set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGHUP) &&
	    sigtimedwait(&set, NULL, &now) == SIGHUP)
		log_notice("SIGHUP before hellod served: ignored");
	server_signal_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/*
 * Start the workers' threads.  Returns 0 once every one runs, -1 with the
 * reason logged: main() then exits, and "hellod -d" reports the failure
 * instead of a success.
 */
int
server_start(struct server *srv)
{
	unsigned	 i;

	for (i = 0; i < srv->nworkers; i++) {
		if (worker_start(srv->workers[i]) == -1) {
			log_warnx("cannot start worker %u of %u", i,
			    srv->nworkers);
			return -1;
		}
	}
	/* metrics: its thread, once the workers whose counters it sums run. */
	if (srv->httpd != NULL && httpd_start(srv->httpd) == -1) {
		log_warnx("cannot start the metrics endpoint");
		return -1;
	}
	server_signals_release();
	return 0;
}

/*
 * The main loop, until the server stops; after server_start() and, with
 * -d, daemon_ready(), so "started" reaches the log the daemon keeps.
 */
int
server_dispatch(struct server *srv)
{
	log_notice("hellod %s started, pid %ld, %u worker%s", PACKAGE_VERSION,
	    (long)getpid(), srv->nworkers, srv->nworkers == 1 ? "" : "s");
	server_notify(srv, SYSTEMD_READY);
	if (event_base_dispatch(srv->base) == -1) {
		log_warnx("event loop failed");
		return -1;
	}
	return 0;
}

void
server_free(struct server *srv)
{
	unsigned	 i;
	sigset_t	 set;

	/*
	 * Freeing the signal events puts back the default actions, and a
	 * late TERM would then kill the process instead of letting it exit
	 * 0.  Hold them off for good: the process is on its way out.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	/* metrics: the endpoint reads the workers, so it stops first. */
	httpd_free(srv->httpd);
	agent_free(srv->agent);
	/* Any worker still running is told to stop now, then joined. */
	for (i = 0; i < srv->nworkers; i++)
		worker_post(srv->workers[i], WORKER_CMD_HALT, NULL,
		    ++srv->gen);
	/* Worker 0, which accepts for all, last: the others' connections,
	 * closing as they go, may wake it to accept again. */
	for (i = srv->nworkers; i > 0; i--)
		worker_free(srv->workers[i - 1]);
	free(srv->workers);
	listener_close_all(&srv->listeners);
	event_free(srv->ev_sigterm);
	event_free(srv->ev_sigint);
	event_free(srv->ev_sighup);
	event_free(srv->ev_sigusr1);
	event_free(srv->ev_shutdown);
	event_free(srv->ev_reload);
	event_free(srv->ev_grace);
	event_free(srv->ev_done);
	if (srv->ev_watchdog != NULL)
		event_free(srv->ev_watchdog);
	event_base_free(srv->base);
	close(srv->done_fd);
	if (srv->reserve_fd != -1)
		close(srv->reserve_fd);
	source_table_free(srv->shared.sources);
	config_unref(srv->conf);
	pthread_mutex_destroy(&srv->conf_lock);
	systemd_listen_free(srv->passed_names, srv->passed);
	free(srv->user);
	free(srv);
}

/* How many threaded workers have not carried out command gen yet. */
static unsigned
server_late(struct server *srv, uint64_t gen)
{
	unsigned	 i, late = 0;

	for (i = 0; i < srv->nworkers; i++) {
		if (worker_acked(srv->workers[i]) < gen)
			late++;
	}
	return late;
}

/* Every worker serves the new config: say so, to the log and systemd. */
static void
server_reload_done(struct server *srv)
{
	srv->reload_gen = 0;
	evtimer_del(srv->ev_reload);
	log_notice("reloaded configuration from %s", srv->conf->path != NULL ?
	    srv->conf->path : "built-in defaults");
	server_notify(srv, SYSTEMD_READY);
}

static void
server_reload_late_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	log_warnx("reload: %u of %u workers did not answer within %d s",
	    server_late(srv, srv->reload_gen), srv->nworkers,
	    SERVER_ACK_TIMEOUT);
	server_reload_done(srv);
}

/*
 * Hand worker 0, the one that accepts, the new sockets when they changed
 * (it takes what is queued on the old ones first), then every worker the
 * new config.  The reload is logged once all have taken it, from
 * server_done_cb(), or when SERVER_ACK_TIMEOUT says some are late.
 */
static void
server_post_reconf(struct server *srv, struct config *conf, int listeners)
{
	struct timeval	 tv = { SERVER_ACK_TIMEOUT, 0 };
	unsigned	 i;
	size_t		 nfds = 0;
	int		*fds;

	if (listeners) {
		if ((fds = listener_dup(&srv->listeners, &nfds)) == NULL ||
		    worker_listen(srv->workers[0], fds, nfds) == -1)
			log_warnx("reload: cannot accept on the new listening "
			    "sockets");
	}
	srv->reload_gen = ++srv->gen;
	for (i = 0; i < srv->nworkers; i++)
		worker_post(srv->workers[i], WORKER_CMD_RECONF,
		    config_ref(conf), srv->reload_gen);
	evtimer_add(srv->ev_reload, &tv);
}

/* Two "user" values, either maybe unset, name the same user. */
static int
server_same_user(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * Parse into a new config; apply it only if the whole of it is good,
 * listeners included.  Otherwise keep running exactly as before.
 */
static int
server_reload(struct server *srv)
{
	struct listener_list	 next = TAILQ_HEAD_INITIALIZER(next);
	struct config		*conf;
	struct httpd		*httpd;
	struct agent		*agent;
	char			*errors, *line, *last, *cause;
	int			 relisten;

	if (srv->listen_fds > 0)
		log_info("reloading (listeners are inherited: port and bind "
		    "are not used)");
	if (srv->reserve_fd != -1) {
		close(srv->reserve_fd);
		srv->reserve_fd = -1;
	}
	/*
	 * A file the running config came from must still be there: its loss
	 * is an error, not a return to the built-in defaults (every address,
	 * no PROXY check).  One started on the defaults keeps them until the
	 * file appears.
	 */
	conf = config_load(srv->conf_path, srv->conf_explicit ||
	    srv->conf->path != NULL, srv->overrides, &errors);
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (conf == NULL) {
		for (line = strtok_r(errors, "\n", &last); line != NULL;
		    line = strtok_r(NULL, "\n", &last))
			log_errorx("%s", line);
		free(errors);
		goto fail;
	}
	/*
	 * The limit as at start, raised before the new sockets are opened:
	 * until worker 0 has taken its dups of those, the old ones are held
	 * too.
	 */
	relisten = srv->listen_fds == 0 && !config_same_listen(srv->conf, conf);
	daemon_fd_limit(daemon_fd_need(conf->max_connections, srv->nworkers,
	    server_nlisteners(srv, srv->conf) + (relisten ? conf->nbinds : 0)),
	    conf->max_connections);
	if (relisten) {
		if (listener_open_config(&srv->listeners, conf, &next,
		    &cause) == -1) {
			server_listen_error("", cause, errno, conf->port);
			log_warnx("cannot listen as the new configuration "
			    "asks; keeping the running listeners");
			config_free(conf);
			goto fail;
		}
	}
	/* metrics: the new endpoint serves before anything else changes. */
	if (server_metrics_next(srv, conf, &httpd) == -1) {
		log_warnx("metrics: cannot listen as the new configuration "
		    "asks; keeping the running endpoint");
		listener_close_all(&next);
		config_free(conf);
		goto fail;
	}
	/* agent: likewise, answering before anything changes. */
	if (server_agent_next(srv, conf, &agent) == -1) {
		log_warnx("agent: cannot listen as the new configuration "
		    "asks; keeping the running one");
		if (httpd != srv->httpd)
			httpd_free(httpd);
		listener_close_all(&next);
		config_free(conf);
		goto fail;
	}
	if (httpd != srv->httpd) {
		httpd_free(srv->httpd);
		srv->httpd = httpd;
	}
	if (agent != srv->agent) {
		agent_free(srv->agent);
		srv->agent = agent;
	}
	if (relisten)
		listener_commit(&srv->listeners, &next);
	if (server_nworkers(conf) != srv->nworkers)
		log_warnx("workers: the change takes effect at the next "
		    "start; %u running", srv->nworkers);
	if (!server_same_user(conf->user, srv->user)) {
		if (srv->user != NULL)
			log_warnx("user: the change takes effect at the next "
			    "start; started with \"%s\"", srv->user);
		else
			log_warnx("user: the change takes effect at the next "
			    "start; started without one");
	}
	server_loaded(srv, conf);
	log_setlevel(config_log_level(conf, srv->verbose));
	STATS_ADD(srv->stats.reloads, 1);	/* metrics read it elsewhere */
	server_post_reconf(srv, conf, relisten);
	if (server_late(srv, srv->reload_gen) == 0)
		server_reload_done(srv);
	return 0;

fail:
	server_loaded(srv, NULL);
	STATS_ADD(srv->stats.reloads_failed, 1);
	log_errorx("reload failed, keeping the running configuration");
	server_notify(srv, SYSTEMD_READY);
	return -1;
}

static int
server_all_done(struct server *srv)
{
	unsigned	 i;

	for (i = 0; i < srv->nworkers; i++) {
		if (!worker_finished(srv->workers[i]))
			return 0;
	}
	return 1;
}

/* Stop accepting, answer what every client has sent, then leave. */
static void
server_stop_now(struct server *srv)
{
	struct timeval	 tv = { srv->conf->shutdown_timeout, 0 };
	unsigned	 i;

	srv->stopping = 1;
	systemd_notify(SYSTEMD_STOPPING, NULL);
	log_notice("stopping: %llu connection(s) to finish",
	    (unsigned long long)server_conns(srv));
	/*
	 * New handshakes are refused before worker 0, the one that accepts,
	 * stops (within worker_post(), as it is the main thread's loop): its
	 * dups keep each socket open until it has taken what is queued on it
	 * and dealt it out.  The other workers are told to stop after that,
	 * so their share reaches them first.  A socket in systemd's fd store
	 * keeps taking handshakes, for the next hellod.
	 */
	listener_stop_all(&srv->listeners);
	srv->gen++;
	for (i = 0; i < srv->nworkers; i++)
		worker_post(srv->workers[i], WORKER_CMD_STOP, NULL, srv->gen);
	if (server_all_done(srv))
		event_base_loopexit(srv->base, NULL);
	else
		evtimer_add(srv->ev_shutdown, &tv);
}

/*
 * TERM or INT.  From the first one on, the agent says drain and /readyz
 * 503; with stop_grace, the daemon goes on accepting and answering for
 * that long, so that the load balancer sees it drain and sends its next
 * clients elsewhere before any connect is refused, and then stops.  A
 * second signal, in the grace or in the stop, ends the process at once.
 */
static void
server_stop(struct server *srv)
{
	struct timeval	 tv = { srv->conf->stop_grace, 0 };

	if (srv->in_grace || srv->stopping) {
		log_notice("second stop signal, exiting now");
		event_base_loopbreak(srv->base);
		return;
	}
	__atomic_store_n(&srv->draining, 1, __ATOMIC_RELAXED);
	if (srv->conf->stop_grace == 0) {
		server_stop_now(srv);
		return;
	}
	srv->in_grace = 1;
	evtimer_add(srv->ev_grace, &tv);
	log_notice("draining: still serving for stop_grace (%u s), then "
	    "stopping; the agent says drain, /readyz answers 503",
	    srv->conf->stop_grace);
	server_notify(srv, SYSTEMD_STATUS);
}

static void
server_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	srv->in_grace = 0;
	server_stop_now(srv);
}

/* Any thread: a worker carried out a command, or its loop ended. */
static void
server_worker_done(void *arg)
{
	struct server	*srv = arg;
	uint64_t	 one = 1;

	if (write(srv->done_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("%s: eventfd", __func__);
}

static void
server_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	uint64_t	 n;

	(void)what;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("%s: eventfd", __func__);
	if (srv->reload_gen != 0 && server_late(srv, srv->reload_gen) == 0)
		server_reload_done(srv);
	if (srv->stopping && server_all_done(srv))
		event_base_loopexit(srv->base, NULL);
}

static void
server_shutdown_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	log_warnx("shutdown_timeout: dropping %llu connection(s)",
	    (unsigned long long)server_conns(srv));
	event_base_loopexit(srv->base, NULL);
}

/*
 * How the connections spread, from worker first to last: "N,N,...".  At
 * most SERVER_STATS_CHUNK workers, so the text stays well under what one
 * log line holds (20 digits and a comma each).
 */
static void
server_stats_workers(struct server *srv, unsigned first, unsigned last,
    char *buf, size_t size)
{
	size_t		 len = 0;
	unsigned	 i;

	buf[0] = '\0';
	for (i = first; i <= last && i < srv->nworkers && len < size; i++) {
		len += (size_t)snprintf(buf + len, size - len, "%s%" PRIu64,
		    i == first ? "" : ",", worker_accepted(srv->workers[i]));
	}
}

/*
 * SIGUSR1: the counters on one "stats:" line, name=value pairs, with
 * accepted_by_worker=N,N,... at its end while there are at most
 * SERVER_STATS_INLINE workers.  With more, the list follows on lines of
 * SERVER_STATS_CHUNK workers each, "stats, continued:
 * accepted_by_worker[0-31]=N,...", so no line is cut at the log's line
 * size, and a reader of the first "stats: " line (tests/hellodtest.py)
 * still finds name=value pairs only.  Which form depends on the number of
 * workers alone, not on how large the counts grow.
 */
static void
server_stats_log(struct server *srv)
{
	struct stats	 total;
	char		 buf[SERVER_STATS_MAX], list[SERVER_STATS_MAX];
	size_t		 len;
	unsigned	 i, last;

	server_totals(srv, &total);
	stats_format(&total, buf, sizeof(buf));
	len = strlen(buf);
	snprintf(buf + len, sizeof(buf) - len, " notify_dropped=%" PRIu64,
	    systemd_notify_dropped());
	if (srv->nworkers <= SERVER_STATS_INLINE) {
		server_stats_workers(srv, 0, srv->nworkers - 1, list,
		    sizeof(list));
		log_notice("stats: %s accepted_by_worker=%s", buf, list);
		return;
	}
	log_notice("stats: %s", buf);
	for (i = 0; i < srv->nworkers; i = last + 1) {
		last = i + SERVER_STATS_CHUNK - 1;
		if (last >= srv->nworkers)
			last = srv->nworkers - 1;
		server_stats_workers(srv, i, last, list, sizeof(list));
		log_notice("stats, continued: accepted_by_worker[%u-%u]=%s", i,
		    last, list);
	}
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		server_stop(srv);
		break;
	case SIGHUP:
		if (srv->in_grace) {
			log_notice("SIGHUP while draining (stop_grace): "
			    "ignored");
			break;
		}
		if (srv->stopping) {
			log_notice("SIGHUP while stopping: ignored");
			break;
		}
		systemd_notify(SYSTEMD_RELOADING, NULL);
		log_info("SIGHUP: reloading %s", srv->conf_path);
		server_reload(srv);
		break;
	case SIGUSR1:
		server_stats_log(srv);
		break;
	}
}
