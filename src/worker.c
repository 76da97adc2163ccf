/*
 * Workers: one event loop each, with its own connections and its own
 * evconnlisteners on dups of the server's sockets.  Worker 0 runs on the
 * server's base in the main thread, so "workers = 1" is a single loop with
 * no threads at all.  The main thread talks to the others through a
 * mailbox and an eventfd; a worker touches nothing of another's.
 */
#include "config.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "hellod.h"

static void	worker_cmd_cb(evutil_socket_t, short, void *);
static void	worker_idle_cb(evutil_socket_t, short, void *);
static void	worker_retry_cb(evutil_socket_t, short, void *);

/* Prepare a block of replies back to back, sent as they are. */
static void
worker_fill_replies(struct worker *w)
{
	const struct config	*conf = w->conf;
	size_t			 i;

	w->wbuf_replies = WORKER_WBUF / conf->reply_len;
	for (i = 0; i < w->wbuf_replies; i++)
		memcpy(w->wbuf + i * conf->reply_len, conf->reply,
		    conf->reply_len);
}

/* The watchdog's proof that this loop runs. */
static void
worker_beat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;
	__atomic_add_fetch(&w->beats, 1, __ATOMIC_RELAXED);
}

struct worker *
worker_new(struct server *srv, unsigned id)
{
	struct worker	*w;
	struct timeval	 tv;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("calloc");
	w->srv = srv;
	w->id = id;
	w->threaded = id != 0;
	w->cmd_fd = -1;
	TAILQ_INIT(&w->conns);
	w->conf = config_ref(srv->conf);
	if ((w->rbuf = malloc(WORKER_RBUF)) == NULL ||
	    (w->wbuf = malloc(WORKER_WBUF)) == NULL)
		fatal("malloc");
	worker_fill_replies(w);
	if (!w->threaded)
		w->base = srv->base;
	else if ((w->base = event_base_new()) == NULL)
		fatalx("cannot create an event base");
	w->ev_idle = evtimer_new(w->base, worker_idle_cb, w);
	w->ev_accept_retry = evtimer_new(w->base, worker_retry_cb, w);
	if (w->ev_idle == NULL || w->ev_accept_retry == NULL)
		fatalx("cannot create events");
	if (w->threaded && srv->watchdog_usec != 0) {
		tv.tv_sec = srv->watchdog_usec / 2 / 1000000;
		tv.tv_usec = srv->watchdog_usec / 2 % 1000000;
		w->ev_beat = event_new(w->base, -1, EV_PERSIST, worker_beat_cb,
		    w);
		if (w->ev_beat == NULL || event_add(w->ev_beat, &tv) == -1)
			fatalx("cannot create events");
	}
	if (w->threaded) {
		if ((w->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
			fatal("eventfd");
		w->ev_cmd = event_new(w->base, w->cmd_fd, EV_READ | EV_PERSIST,
		    worker_cmd_cb, w);
		if (w->ev_cmd == NULL || event_add(w->ev_cmd, NULL) == -1)
			fatalx("cannot create events");
	}
	return w;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	if (event_base_dispatch(w->base) == -1)
		log_warnx("worker %u: event loop failed", w->id);
	__atomic_store_n(&w->finished, 1, __ATOMIC_RELEASE);
	server_worker_done(w->srv);
	return NULL;
}

int
worker_start(struct worker *w)
{
	sigset_t	 all, old;
	char		 name[16];
	int		 error;

	if (!w->threaded)
		return 0;
	/* Signals belong to the main thread's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	error = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		errno = error;
		log_warn("worker %u: pthread_create", w->id);
		return -1;
	}
	w->started = 1;
	/* "top -H" and /proc/PID/task/TID/comm tell the workers apart; named
	 * here, so the name is there before the start is logged. */
	snprintf(name, sizeof(name), "hellod/w%u", w->id);
	pthread_setname_np(w->thread, name);
	return 0;
}

/* The worker's loop is over: close what is left, free it all. */
void
worker_free(struct worker *w)
{
	struct conn	*c;

	if (w->started)
		pthread_join(w->thread, NULL);
	while ((c = TAILQ_FIRST(&w->conns)) != NULL)
		conn_close(c, "server exiting");
	listener_detach(w);
	event_free(w->ev_idle);
	event_free(w->ev_accept_retry);
	if (w->ev_beat != NULL)
		event_free(w->ev_beat);
	if (w->threaded) {
		event_free(w->ev_cmd);
		close(w->cmd_fd);
		event_base_free(w->base);
	}
	if (w->cmd_fds != NULL) {
		while (w->cmd_nfds > 0)
			close(w->cmd_fds[--w->cmd_nfds]);
		free(w->cmd_fds);
	}
	config_unref(w->cmd_conf);
	config_unref(w->conf);
	free(w->rbuf);
	free(w->wbuf);
	free(w);
}

static void
worker_finish_all(struct worker *w, const char *reason)
{
	struct conn	*c, *next;

	TAILQ_FOREACH_SAFE(c, &w->conns, entry, next)
		conn_finish(c, reason);
}

/* Carry out a command, in the worker's own thread. */
static void
worker_apply(struct worker *w, enum worker_cmd cmd, struct config *conf,
    int *fds, size_t nfds)
{
	struct conn	*c;

	switch (cmd) {
	case WORKER_CMD_NONE:
		break;
	case WORKER_CMD_RECONF:
		if (fds != NULL)
			listener_attach(w, fds, nfds);
		if (conf != NULL) {
			config_unref(w->conf);
			w->conf = conf;
			worker_fill_replies(w);
			TAILQ_FOREACH(c, &w->conns, entry)
				conn_reconfigure(c);
			evtimer_del(w->ev_idle);
			worker_idle_arm(w);
		}
		break;
	case WORKER_CMD_STOP:
		w->stopping = 1;
		listener_detach(w);
		evtimer_del(w->ev_accept_retry);
		worker_finish_all(w, "server stopping");
		if (TAILQ_EMPTY(&w->conns) && w->threaded)
			event_base_loopexit(w->base, NULL);
		break;
	case WORKER_CMD_HALT:
		w->stopping = 1;
		listener_detach(w);
		if (w->threaded)
			event_base_loopbreak(w->base);
		break;
	}
	free(fds);
}

/*
 * Hand a worker a command.  The worker takes over conf (a reference) and
 * fds (its own dups, in a malloc'ed array).  Worker 0 carries it out at
 * once; the others when their loop reads the eventfd.
 */
void
worker_post(struct worker *w, enum worker_cmd cmd, struct config *conf,
    int *fds, size_t nfds)
{
	struct server	*srv = w->srv;
	uint64_t	 one = 1;

	if (!w->threaded) {
		worker_apply(w, cmd, conf, fds, nfds);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	/* A stop or a halt outranks a reconfiguration still waiting. */
	if (w->cmd == WORKER_CMD_NONE || cmd >= w->cmd) {
		if (w->cmd_fds != NULL) {
			while (w->cmd_nfds > 0)
				close(w->cmd_fds[--w->cmd_nfds]);
			free(w->cmd_fds);
		}
		config_unref(w->cmd_conf);
		w->cmd = cmd;
		w->cmd_conf = conf;
		w->cmd_fds = fds;
		w->cmd_nfds = nfds;
	} else {
		config_unref(conf);
		while (nfds > 0)
			close(fds[--nfds]);
		free(fds);
	}
	pthread_mutex_unlock(&srv->lock);
	if (write(w->cmd_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("worker %u: eventfd", w->id);
}

static void
worker_cmd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct server	*srv = w->srv;
	enum worker_cmd	 cmd;
	struct config	*conf;
	int		*fds;
	size_t		 nfds;
	uint64_t	 n;

	(void)what;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("worker %u: eventfd", w->id);
	pthread_mutex_lock(&srv->lock);
	cmd = w->cmd;
	conf = w->cmd_conf;
	fds = w->cmd_fds;
	nfds = w->cmd_nfds;
	w->cmd = WORKER_CMD_NONE;
	w->cmd_conf = NULL;
	w->cmd_fds = NULL;
	w->cmd_nfds = 0;
	pthread_mutex_unlock(&srv->lock);

	worker_apply(w, cmd, conf, fds, nfds);

	pthread_mutex_lock(&srv->lock);
	srv->acks++;
	pthread_cond_broadcast(&srv->acked);
	pthread_mutex_unlock(&srv->lock);
}

/*
 * Idle connections: the list is in the order of their last request, so
 * one timer per worker, due when the oldest one would expire, is enough.
 */
void
worker_idle_arm(struct worker *w)
{
	struct conn	*c = TAILQ_FIRST(&w->conns);
	struct timeval	 now, due, tv;

	if (c == NULL || w->conf->idle_timeout == 0 ||
	    evtimer_pending(w->ev_idle, NULL))
		return;
	event_base_gettimeofday_cached(w->base, &now);
	tv.tv_sec = w->conf->idle_timeout;
	tv.tv_usec = 0;
	timeradd(&c->last_request, &tv, &due);
	if (timercmp(&due, &now, <))
		timerclear(&tv);
	else
		timersub(&due, &now, &tv);
	evtimer_add(w->ev_idle, &tv);
}

/* A request came: move the connection to the young end. */
void
worker_touch(struct worker *w, struct conn *c)
{
	event_base_gettimeofday_cached(w->base, &c->last_request);
	if (TAILQ_NEXT(c, entry) != NULL) {
		TAILQ_REMOVE(&w->conns, c, entry);
		TAILQ_INSERT_TAIL(&w->conns, c, entry);
	}
}

static void
worker_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c;
	struct timeval	 now, idle, due;

	(void)fd;
	(void)what;
	if (w->conf->idle_timeout == 0)
		return;
	event_base_gettimeofday_cached(w->base, &now);
	idle.tv_sec = w->conf->idle_timeout;
	idle.tv_usec = 0;
	while ((c = TAILQ_FIRST(&w->conns)) != NULL) {
		timeradd(&c->last_request, &idle, &due);
		if (timercmp(&now, &due, <))
			break;
		STATS_ADD(w->stats.closed_idle, 1);
		conn_close(c, "idle timeout");
	}
	worker_idle_arm(w);
}

static void
worker_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listener_resume(arg);
}

/* A descriptor is free again: the moment to retry a paused accept. */
void
worker_conn_closed(struct worker *w)
{
	if (w->accept_paused)
		listener_resume(w);
	if (w->stopping && TAILQ_EMPTY(&w->conns)) {
		if (w->threaded)
			event_base_loopexit(w->base, NULL);
		else
			server_worker_done(w->srv);
	}
}
