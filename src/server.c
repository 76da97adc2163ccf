/*
 * The server: the main thread's event loop, which owns the listening
 * sockets, the configuration and the signals, and directs the workers.
 *
 * Signals, all handled inside this loop:
 *	TERM, INT	graceful stop; a second one stops at once
 *	HUP		reload the configuration (transactional)
 *	USR1		log the counters
 *	PIPE		ignored (writes report EPIPE instead)
 */
#include "config.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "hellod.h"

static void	server_signal_cb(evutil_socket_t, short, void *);
static void	server_shutdown_cb(evutil_socket_t, short, void *);
static void	server_done_cb(evutil_socket_t, short, void *);

static void
server_libevent_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

struct server *
server_new(struct config *conf, const char *path, int explicit)
{
	struct server	*srv;

	event_set_log_callback(server_libevent_log);
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		fatal("calloc");
	srv->conf = conf;
	srv->conf_path = path;
	srv->conf_explicit = explicit;
	TAILQ_INIT(&srv->listeners);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->acked, NULL);
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
	srv->ev_done = event_new(srv->base, srv->done_fd, EV_READ | EV_PERSIST,
	    server_done_cb, srv);
	if (srv->ev_sigterm == NULL || srv->ev_sigint == NULL ||
	    srv->ev_sighup == NULL || srv->ev_sigusr1 == NULL ||
	    srv->ev_shutdown == NULL || srv->ev_done == NULL)
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

int
server_listen(struct server *srv)
{
	struct listener_list	 next = TAILQ_HEAD_INITIALIZER(next);

	if (systemd_listen_open(srv, &next) == -1)
		return -1;
	if (!srv->socket_activated &&
	    listener_open_config(srv, srv->conf, &next) == -1)
		return -1;
	listener_commit(srv, &next);
	return 0;
}

/* A dup of every listening socket, for one worker to own. */
static int *
server_dup_listeners(struct server *srv, size_t *n)
{
	struct listener	*l;
	size_t		 count = 0;
	int		*fds;

	TAILQ_FOREACH(l, &srv->listeners, entry)
		count++;
	if ((fds = calloc(count + 1, sizeof(*fds))) == NULL)
		return NULL;
	*n = 0;
	TAILQ_FOREACH(l, &srv->listeners, entry) {
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

int
server_run(struct server *srv)
{
	struct worker	*w;
	unsigned	 i;
	size_t		 nfds;
	int		*fds;

	srv->watchdog_usec = systemd_watchdog_start(srv);
	srv->nworkers = server_nworkers(srv->conf);
	/* An array of pointers. NOLINTNEXTLINE(bugprone-sizeof-expression) */
	if ((srv->workers = calloc(srv->nworkers, sizeof(*srv->workers))) ==
	    NULL)
		fatal("calloc");
	for (i = 0; i < srv->nworkers; i++) {
		w = srv->workers[i] = worker_new(srv, i);
		if ((fds = server_dup_listeners(srv, &nfds)) == NULL ||
		    listener_attach(w, fds, nfds) == -1)
			fatalx("worker %u: cannot accept", i);
		free(fds);
		if (worker_start(w) == -1)
			fatalx("cannot start worker %u", i);
	}
	log_notice("hellod %s started, pid %ld, %u worker%s", PACKAGE_VERSION,
	    (long)getpid(), srv->nworkers, srv->nworkers == 1 ? "" : "s");
	systemd_notify_ready(srv);
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

	/* Any worker still running is told to stop now, then joined. */
	for (i = 0; i < srv->nworkers; i++)
		worker_post(srv->workers[i], WORKER_CMD_HALT, NULL, NULL, 0);
	for (i = 0; i < srv->nworkers; i++)
		worker_free(srv->workers[i]);
	free(srv->workers);
	listener_close_all(&srv->listeners);
	event_free(srv->ev_sigterm);
	event_free(srv->ev_sigint);
	event_free(srv->ev_sighup);
	event_free(srv->ev_sigusr1);
	event_free(srv->ev_shutdown);
	event_free(srv->ev_done);
	systemd_watchdog_stop();
	event_base_free(srv->base);
	close(srv->done_fd);
	if (srv->reserve_fd != -1)
		close(srv->reserve_fd);
	config_unref(srv->conf);
	pthread_cond_destroy(&srv->acked);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

/*
 * Hand every worker the new config (and the new sockets, when they
 * changed), and wait until the threaded ones have taken them: once a
 * reload is logged, every loop serves the new config.
 */
static void
server_post_reconf(struct server *srv, struct config *conf, int listeners)
{
	struct timespec	 deadline;
	unsigned	 i, want = 0;
	size_t		 nfds = 0;
	int		*fds;

	pthread_mutex_lock(&srv->lock);
	srv->acks = 0;
	pthread_mutex_unlock(&srv->lock);
	for (i = 0; i < srv->nworkers; i++) {
		fds = NULL;
		if (listeners && (fds = server_dup_listeners(srv, &nfds)) ==
		    NULL)
			log_warnx("worker %u keeps its old listeners", i);
		worker_post(srv->workers[i], WORKER_CMD_RECONF,
		    config_ref(conf), fds, nfds);
		want += srv->workers[i]->threaded;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += SERVER_ACK_TIMEOUT;
	pthread_mutex_lock(&srv->lock);
	while (srv->acks < want) {
		if (pthread_cond_timedwait(&srv->acked, &srv->lock,
		    &deadline) == ETIMEDOUT) {
			log_warnx("reload: %u of %u workers did not answer "
			    "within %d s", want - srv->acks, want,
			    SERVER_ACK_TIMEOUT);
			break;
		}
	}
	pthread_mutex_unlock(&srv->lock);
}

/*
 * Parse into a new config; apply it only if the whole of it is good,
 * listeners included.  Otherwise keep running exactly as before.
 */
int
server_reload(struct server *srv)
{
	struct listener_list	 next = TAILQ_HEAD_INITIALIZER(next);
	struct config		*conf;
	char			*errors, *line, *last;
	int			 relisten = 0;

	if (srv->socket_activated)
		log_info("reloading (listeners are inherited: port and bind "
		    "are not used)");
	if (srv->reserve_fd != -1) {
		close(srv->reserve_fd);
		srv->reserve_fd = -1;
	}
	conf = config_load(srv->conf_path, srv->conf_explicit, &errors);
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (conf == NULL) {
		for (line = strtok_r(errors, "\n", &last); line != NULL;
		    line = strtok_r(NULL, "\n", &last))
			log_errorx("%s", line);
		free(errors);
		goto fail;
	}
	if (!srv->socket_activated && !config_same_listen(srv->conf, conf)) {
		if (listener_open_config(srv, conf, &next) == -1) {
			log_warnx("cannot listen as the new configuration "
			    "asks; keeping the running listeners");
			config_free(conf);
			goto fail;
		}
		listener_commit(srv, &next);
		relisten = 1;
	}
	if (server_nworkers(conf) != srv->nworkers)
		log_warnx("workers: the change takes effect at the next "
		    "start; %u running", srv->nworkers);
	server_post_reconf(srv, conf, relisten);
	config_unref(srv->conf);
	srv->conf = conf;
	log_setlevel(config_log_level(conf, srv->verbose));
	srv->stats.reloads++;
	log_notice("reloaded configuration from %s", conf->path != NULL ?
	    conf->path : "built-in defaults");
	return 0;

fail:
	srv->stats.reloads_failed++;
	log_errorx("reload failed, keeping the running configuration");
	return -1;
}

/* Whether every worker has finished its connections. */
static int
server_all_done(struct server *srv)
{
	struct worker	*w;
	unsigned	 i;

	for (i = 0; i < srv->nworkers; i++) {
		w = srv->workers[i];
		if (w->threaded ? !__atomic_load_n(&w->finished,
		    __ATOMIC_ACQUIRE) : !TAILQ_EMPTY(&w->conns))
			return 0;
	}
	return 1;
}

/* Stop accepting, flush what every client is owed, then leave the loop. */
void
server_stop(struct server *srv)
{
	struct timeval	 tv = { srv->conf->shutdown_timeout, 0 };
	unsigned	 i;

	if (srv->stopping) {
		log_notice("second stop signal, exiting now");
		event_base_loopbreak(srv->base);
		return;
	}
	srv->stopping = 1;
	systemd_notify(SYSTEMD_STOPPING, NULL);
	log_notice("stopping: %llu connection(s) to finish",
	    (unsigned long long)STATS_GET(srv->stats.conns_current));
	evsignal_del(srv->ev_sighup);
	for (i = 0; i < srv->nworkers; i++)
		worker_post(srv->workers[i], WORKER_CMD_STOP, NULL, NULL, 0);
	listener_close_all(&srv->listeners);
	if (server_all_done(srv))
		event_base_loopexit(srv->base, NULL);
	else
		evtimer_add(srv->ev_shutdown, &tv);
}

/* Any thread: a worker may have finished its last connection. */
void
server_worker_done(struct server *srv)
{
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
	    (unsigned long long)STATS_GET(srv->stats.conns_current));
	event_base_loopexit(srv->base, NULL);
}

/*
 * Whether every worker's loop has run since the last look: each beats at
 * half the watchdog's ping interval.  Worker 0 is this loop.
 */
int
server_workers_alive(struct server *srv)
{
	struct worker	*w;
	uint64_t	 beats;
	unsigned	 i;
	int		 alive = 1;

	for (i = 0; i < srv->nworkers; i++) {
		w = srv->workers[i];
		if (!w->threaded)
			continue;
		beats = __atomic_load_n(&w->beats, __ATOMIC_RELAXED);
		if (beats == w->beats_seen) {
			alive = 0;
			if (log_ratelimit(&srv->rl_stuck, time(NULL)))
				log_warnx("worker %u: its loop has not run for "
				    "a watchdog interval; not pinging systemd",
				    w->id);
		}
		w->beats_seen = beats;
	}
	return alive;
}

/* The counters of the server and of every worker, added up. */
static void
server_totals(struct server *srv, struct stats *total)
{
	unsigned	 i;

	memset(total, 0, sizeof(*total));
	stats_add(total, &srv->stats);
	for (i = 0; i < srv->nworkers; i++)
		stats_add(total, &srv->workers[i]->stats);
}

/* How the connections spread: " accepted_by_worker=N,N,...". */
static void
server_stats_workers(struct server *srv, char *buf, size_t size)
{
	size_t		 len = strlen(buf);
	unsigned	 i;

	for (i = 0; i < srv->nworkers && len < size; i++)
		len += snprintf(buf + len, size - len, "%s%llu",
		    i == 0 ? " accepted_by_worker=" : ",",
		    (unsigned long long)STATS_GET(
		    srv->workers[i]->stats.conns_accepted));
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;
	struct stats	 total;
	char		 buf[SERVER_STATS_MAX];

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		server_stop(srv);
		break;
	case SIGHUP:
		systemd_notify(SYSTEMD_RELOADING, NULL);
		log_info("SIGHUP: reloading %s", srv->conf_path);
		server_reload(srv);
		systemd_notify_ready(srv);
		break;
	case SIGUSR1:
		server_totals(srv, &total);
		stats_format(&total, buf, sizeof(buf));
		server_stats_workers(srv, buf, sizeof(buf));
		log_notice("stats: %s", buf);
		break;
	}
}
