/*
 * The server: one event base with its listeners, connections and signals.
 *
 * Signals, all handled inside the event loop:
 *	TERM, INT	graceful stop; a second one stops at once
 *	HUP		reload the configuration (transactional)
 *	USR1		log the counters
 *	PIPE		ignored (writes report EPIPE instead)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "hellod.h"

static void	server_signal_cb(evutil_socket_t, short, void *);
static void	server_retry_cb(evutil_socket_t, short, void *);
static void	server_shutdown_cb(evutil_socket_t, short, void *);

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

static void
server_set_idle(struct server *srv)
{
	struct timeval	 tv = { srv->conf->idle_timeout, 0 };

	/* Equal timeouts share one queue: O(1) to add, whatever the count. */
	srv->idle_tv = event_base_init_common_timeout(srv->base, &tv);
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
	TAILQ_INIT(&srv->conns);
	if ((srv->base = event_base_new()) == NULL)
		fatalx("cannot create the event base");
	srv->ev_sigterm = evsignal_new(srv->base, SIGTERM, server_signal_cb,
	    srv);
	srv->ev_sigint = evsignal_new(srv->base, SIGINT, server_signal_cb, srv);
	srv->ev_sighup = evsignal_new(srv->base, SIGHUP, server_signal_cb, srv);
	srv->ev_sigusr1 = evsignal_new(srv->base, SIGUSR1, server_signal_cb,
	    srv);
	srv->ev_accept_retry = evtimer_new(srv->base, server_retry_cb, srv);
	srv->ev_shutdown = evtimer_new(srv->base, server_shutdown_cb, srv);
	if (srv->ev_sigterm == NULL || srv->ev_sigint == NULL ||
	    srv->ev_sighup == NULL || srv->ev_sigusr1 == NULL ||
	    srv->ev_accept_retry == NULL || srv->ev_shutdown == NULL)
		fatalx("cannot create events");
	evsignal_add(srv->ev_sigterm, NULL);
	evsignal_add(srv->ev_sigint, NULL);
	evsignal_add(srv->ev_sighup, NULL);
	evsignal_add(srv->ev_sigusr1, NULL);
	signal(SIGPIPE, SIG_IGN);
	server_set_idle(srv);
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

int
server_run(struct server *srv)
{
	log_notice("hellod %s started, pid %ld", PACKAGE_VERSION,
	    (long)getpid());
	systemd_notify_ready(srv);
	systemd_watchdog_start(srv);
	if (event_base_dispatch(srv->base) == -1) {
		log_warnx("event loop failed");
		return -1;
	}
	return 0;
}

void
server_free(struct server *srv)
{
	struct conn	*c;
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
	sigprocmask(SIG_BLOCK, &set, NULL);

	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_close(c, "server exiting");
	listener_close_all(&srv->listeners);
	event_free(srv->ev_sigterm);
	event_free(srv->ev_sigint);
	event_free(srv->ev_sighup);
	event_free(srv->ev_sigusr1);
	event_free(srv->ev_accept_retry);
	event_free(srv->ev_shutdown);
	systemd_watchdog_stop();
	event_base_free(srv->base);
	if (srv->reserve_fd != -1)
		close(srv->reserve_fd);
	config_free(srv->conf);
	free(srv);
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
	struct conn		*c;
	char			*errors, *line, *last;

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
	}
	config_free(srv->conf);
	srv->conf = conf;
	log_setlevel(conf->log_level + srv->verbose > LOG_DEBUG ? LOG_DEBUG :
	    conf->log_level + srv->verbose);
	server_set_idle(srv);
	TAILQ_FOREACH(c, &srv->conns, entry)
		conn_reconfigure(c);
	srv->stats.reloads++;
	log_notice("reloaded configuration from %s", conf->path != NULL ?
	    conf->path : "built-in defaults");
	return 0;

fail:
	srv->stats.reloads_failed++;
	log_errorx("reload failed, keeping the running configuration");
	return -1;
}

/* Stop accepting, flush what every client is owed, then leave the loop. */
void
server_stop(struct server *srv)
{
	struct timeval	 tv = { srv->conf->shutdown_timeout, 0 };
	struct conn	*c, *next;

	if (srv->stopping) {
		log_notice("second stop signal, exiting now");
		event_base_loopbreak(srv->base);
		return;
	}
	srv->stopping = 1;
	systemd_notify(SYSTEMD_STOPPING, NULL);
	log_notice("stopping: %llu connection(s) to finish",
	    (unsigned long long)srv->stats.conns_current);
	listener_close_all(&srv->listeners);
	evtimer_del(srv->ev_accept_retry);
	evsignal_del(srv->ev_sighup);
	TAILQ_FOREACH_SAFE(c, &srv->conns, entry, next)
		conn_finish(c, "server stopping");
	if (TAILQ_EMPTY(&srv->conns))
		event_base_loopexit(srv->base, NULL);
	else
		evtimer_add(srv->ev_shutdown, &tv);
}

/* A descriptor is free again: the moment to retry a paused accept. */
void
server_conn_closed(struct server *srv)
{
	if (srv->accept_paused)
		listener_resume(srv);
	if (srv->stopping && TAILQ_EMPTY(&srv->conns))
		event_base_loopexit(srv->base, NULL);
}

static void
server_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listener_resume(arg);
}

static void
server_shutdown_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	log_warnx("shutdown_timeout: dropping %llu connection(s)",
	    (unsigned long long)srv->stats.conns_current);
	event_base_loopexit(srv->base, NULL);
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;
	char		 buf[512];

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
		stats_format(&srv->stats, buf, sizeof(buf));
		log_notice("stats: %s", buf);
		break;
	}
}
