/* SPDX-License-Identifier: ISC */
/*
 * Workers: one event loop each, with its own connections and its own
 * counters.  Worker 0 runs on the server's base in the main thread, so
 * "workers = 1" is a single loop with no threads at all.  Worker 0 alone
 * accepts, through evconnlisteners on dups of the listening sockets, and
 * deals the sockets out round robin: its own share it serves at once, the
 * others' it queues on their handoff lists and wakes them through their
 * eventfd (memcached's dispatch).  Every loop listening on the sockets
 * instead left the spread to whichever loop the kernel woke first: a busy
 * loop kept winning, one worker took most of a burst.  The main thread
 * talks to the others through a mailbox and the same eventfd; a worker
 * tells it that a command was carried out, or that its loop is done,
 * through the callback it was given at worker_new().  A worker knows
 * nothing of the server.
 *
 * A socket accepted is admitted first (admit.c: the limits, their
 * counters and warnings), then becomes a connection with the worker's
 * struct conn_ctx; the connection tells the worker only that it opened,
 * answered a line and closed (the seam, in hellod.h).
 */
#include "config.h"

#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "hellod.h"

/* A socket accepted by worker 0 for another worker, with its peer. */
struct worker_handoff {
	STAILQ_ENTRY(worker_handoff) entry;
	int			 fd;
	socklen_t		 salen;
	struct sockaddr_storage	 ss;
};
STAILQ_HEAD(worker_handoffs, worker_handoff);

/*
 * Who touches what (the table at the head of hellod.h): the worker's own
 * thread everything but the fields marked otherwise; the main thread
 * (server.c, through worker_*()) the mailbox under lock, and the atomic
 * fields with __atomic; the metrics thread only stats, by STATS_GET.
 */
struct worker {
	unsigned		 id;
	int			 threaded;
	int			 started;
	pthread_t		 thread;
	struct event_base	*base;
	struct config		*conf;		/* this worker's reference */
	struct worker_shared	*shared;
	worker_done_cb		 done;		/* to the main thread */
	void			*done_arg;
	struct conn_list	 conns;		/* oldest request first */
	struct stats		 stats;		/* written by this thread */
	struct admit		 admit;		/* this thread's */
	struct conn_ctx		 ctx;		/* what its connections see */
	struct evconnlistener	**levs;		/* worker 0's alone */
	size_t			 nlevs;
	unsigned		 next_peer;	/* worker 0: round robin */
	int			 accept_paused;	/* atomic: others read it */
	int			 stopping;
	struct event		*ev_idle;
	struct event		*ev_accept_retry;
	struct event		*ev_cmd;
	int			 cmd_fd;	/* eventfd: a command waits */
	struct event		*ev_beat;	/* watchdog heartbeat */
	uint64_t		 beats;		/* atomic */
	uint64_t		 beats_seen;	/* main thread's last look */
	int			 finished;	/* loop done (atomic) */
	uint64_t		 acked;		/* last command done (atomic) */
	/* The mailbox: these four under lock, from either thread. */
	pthread_mutex_t		 lock;
	enum worker_cmd		 cmd;
	struct config		*cmd_conf;
	uint64_t		 cmd_gen;
	struct worker_handoffs	 handed;	/* sockets from worker 0 */
	/* The worker's thread alone again, from here on.  Rate-limited
	 * warnings, one limiter for each kind (the refusals' are admit's). */
	struct log_limit	 lim_accept_pause;
	struct log_limit	 lim_accept_error;
	char			*wbuf;		/* replies, back to back */
	size_t			 wbuf_replies;
};

static void	worker_cmd_cb(evutil_socket_t, short, void *);
static void	worker_idle_cb(evutil_socket_t, short, void *);
static void	worker_retry_cb(evutil_socket_t, short, void *);
static void	worker_unlisten(struct worker *, int);
static void	worker_idle_arm(struct worker *);
static void	worker_check_done(struct worker *);

/*
 * Lay out a block of replies back to back, sent as it is: once per config.
 * A message with fields of a connection has no reply shared by all: each
 * connection lays its own out (conn.c), and copies it into the block, its
 * scratch then, as many times as it has lines to answer.
 */
static void
worker_fill_replies(struct worker *w)
{
	const struct config	*conf = w->conf;
	size_t			 i;

	w->ctx.conf = conf;
	if (conf->reply_per_conn) {
		w->wbuf_replies = 0;
		w->ctx.replies = NULL;
		w->ctx.nreplies = 0;
		w->ctx.scratch = w->wbuf;
		return;
	}
	w->wbuf_replies = WORKER_WBUF / conf->reply_len;
	for (i = 0; i < w->wbuf_replies; i++)
		memcpy(w->wbuf + i * conf->reply_len, conf->reply,
		    conf->reply_len);
	w->ctx.replies = w->wbuf;
	w->ctx.nreplies = w->wbuf_replies;
	w->ctx.scratch = NULL;
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

/*
 * A worker on base (worker 0, the main thread's loop) or, with base NULL,
 * on a base and later a thread of its own.  beat_usec, when not 0, is how
 * often a threaded loop proves it runs (see worker_alive()).  Returns NULL,
 * the reason logged, when it cannot be built (descriptors or memory short).
 */
struct worker *
worker_new(unsigned id, struct event_base *base, struct config *conf,
    struct worker_shared *shared, uint64_t beat_usec, worker_done_cb done,
    void *arg)
{
	struct worker	*w;
	struct timeval	 tv;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("worker %u: calloc", id);
		return NULL;
	}
	w->id = id;
	w->threaded = base == NULL;
	w->cmd_fd = -1;
	w->shared = shared;
	w->done = done;
	w->done_arg = arg;
	TAILQ_INIT(&w->conns);
	STAILQ_INIT(&w->handed);
	pthread_mutex_init(&w->lock, NULL);
	w->conf = config_ref(conf);
	if ((w->wbuf = malloc(WORKER_WBUF)) == NULL) {
		log_warn("worker %u: malloc", id);
		goto fail;
	}
	worker_fill_replies(w);
	if (!w->threaded)
		w->base = base;
	else if ((w->base = event_base_new()) == NULL) {
		log_warnx("worker %u: cannot create an event base", id);
		goto fail;
	}
	admit_init(&w->admit, &shared->conns_open, shared->sources,
	    &w->stats);
	w->ctx.w = w;
	w->ctx.base = w->base;
	w->ctx.mine = &w->stats;
	w->ctx.admit = &w->admit;
	w->ev_idle = evtimer_new(w->base, worker_idle_cb, w);
	w->ev_accept_retry = evtimer_new(w->base, worker_retry_cb, w);
	if (w->ev_idle == NULL || w->ev_accept_retry == NULL)
		goto fail_events;
	if (w->threaded && beat_usec != 0) {
		tv.tv_sec = beat_usec / 1000000;
		tv.tv_usec = beat_usec % 1000000;
		w->ev_beat = event_new(w->base, -1, EV_PERSIST, worker_beat_cb,
		    w);
		if (w->ev_beat == NULL || event_add(w->ev_beat, &tv) == -1)
			goto fail_events;
	}
	if (w->threaded) {
		if ((w->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) ==
		    -1) {
			log_warn("worker %u: eventfd", id);
			goto fail;
		}
		w->ev_cmd = event_new(w->base, w->cmd_fd, EV_READ | EV_PERSIST,
		    worker_cmd_cb, w);
		if (w->ev_cmd == NULL || event_add(w->ev_cmd, NULL) == -1)
			goto fail_events;
	}
	return w;

fail_events:
	log_warnx("worker %u: cannot create events", id);
fail:
	worker_free(w);
	return NULL;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	if (event_base_dispatch(w->base) == -1)
		log_warnx("worker %u: event loop failed", w->id);
	__atomic_store_n(&w->finished, 1, __ATOMIC_RELEASE);
	w->done(w->done_arg);
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

static void
worker_close_fds(int *fds, size_t n)
{
	while (n > 0)
		close(fds[--n]);
}

/* Sockets handed over but never taken: closed, and nothing else (the
 * worker that would have admitted them counted nothing yet). */
static void
worker_close_handed(struct worker_handoffs *list)
{
	struct worker_handoff	*h;

	while ((h = STAILQ_FIRST(list)) != NULL) {
		STAILQ_REMOVE_HEAD(list, entry);
		close(h->fd);
		free(h);
	}
}

/* The worker's loop is over: close what is left, free it all. */
void
worker_free(struct worker *w)
{
	struct conn	*c;

	if (w->started)
		pthread_join(w->thread, NULL);
	worker_unlisten(w, 0);
	while ((c = TAILQ_FIRST(&w->conns)) != NULL)
		conn_close(c, STATS_CLOSE_SHUTDOWN, "server exiting");
	/* Any of these may be missing when worker_new() failed. */
	if (w->ev_idle != NULL)
		event_free(w->ev_idle);
	if (w->ev_accept_retry != NULL)
		event_free(w->ev_accept_retry);
	if (w->ev_beat != NULL)
		event_free(w->ev_beat);
	if (w->ev_cmd != NULL)
		event_free(w->ev_cmd);
	if (w->cmd_fd != -1)
		close(w->cmd_fd);
	if (w->threaded && w->base != NULL)
		event_base_free(w->base);
	worker_close_handed(&w->handed);
	config_unref(w->cmd_conf);
	config_unref(w->conf);
	pthread_mutex_destroy(&w->lock);
	free(w->wbuf);
	free(w);
}

/* Accepting */

/*
 * Worker 0: queue a socket for worker to, and wake it.  -1 when there is
 * no memory for the entry: the caller serves the socket itself.
 */
static int
worker_hand(struct worker *to, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct worker_handoff	*h;
	uint64_t		 one = 1;

	if ((h = malloc(sizeof(*h))) == NULL)
		return -1;
	h->fd = fd;
	h->salen = salen < sizeof(h->ss) ? salen : sizeof(h->ss);
	memcpy(&h->ss, sa, h->salen);
	pthread_mutex_lock(&to->lock);
	STAILQ_INSERT_TAIL(&to->handed, h, entry);
	pthread_mutex_unlock(&to->lock);
	if (write(to->cmd_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("worker %u: eventfd", to->id);
	return 0;
}

/*
 * Worker 0: a socket accepted goes to the next worker in turn; round
 * robin, not the fewest open, since every connection costs about the same
 * and a count read from another thread is stale by the time the socket
 * arrives.  Admission is the taker's (its counters; the limits are shared
 * and atomic), and so is the count of what it accepted.
 */
static void
worker_dispatch(struct worker *w, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct worker_shared	*sh = w->shared;
	struct worker		*to = w;

	if (sh->nworkers > 1) {
		to = sh->workers[w->next_peer];
		w->next_peer = (w->next_peer + 1) % sh->nworkers;
	}
	if (to == w || !to->threaded || worker_hand(to, fd, sa, salen) == -1)
		worker_accept(w, fd, sa, salen);
}

static void
worker_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)lev;
	worker_dispatch(arg, fd, sa, salen);
}

static void
worker_pause(struct worker *w)
{
	size_t	 i;

	__atomic_store_n(&w->accept_paused, 1, __ATOMIC_RELAXED);
	for (i = 0; i < w->nlevs; i++)
		evconnlistener_disable(w->levs[i]);
}

static void
worker_resume(struct worker *w)
{
	size_t	 i;

	if (!w->accept_paused || w->stopping)
		return;
	__atomic_store_n(&w->accept_paused, 0, __ATOMIC_RELAXED);
	evtimer_del(w->ev_accept_retry);
	for (i = 0; i < w->nlevs; i++)
		evconnlistener_enable(w->levs[i]);
}

/*
 * libevent 2.1 leaves the listener enabled after an accept error, and the
 * level-triggered listening socket would wake the loop at once, forever.  So
 * on a shortage of descriptors or memory the worker stops accepting until
 * one of its connections closes or a timer fires.
 */
static void
worker_accept_error_cb(struct evconnlistener *lev, void *arg)
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
		log_limited(&w->lim_accept_pause, clock_ms(), LOG_WARNING,
		    "accept: %s; pausing new connections", strerror(error));
		worker_pause(w);
		evtimer_add(w->ev_accept_retry, &tv);
		break;
	default:
		log_limited(&w->lim_accept_error, clock_ms(), LOG_WARNING,
		    "accept: %s", strerror(error));
		break;
	}
}

/*
 * Worker 0, before any loop runs: deal what it accepts to these n
 * workers (itself the first).  With more than one it gets an eventfd too,
 * through which a worker whose connection closes wakes it while it has
 * paused accepting (EMFILE), as its own connections' closes do.  -1, the
 * reason logged, when the eventfd cannot be made.
 */
int
worker_deal(struct worker *w, struct worker **all, unsigned n)
{
	if (n > 1 && !w->threaded && w->cmd_fd == -1) {
		if ((w->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) ==
		    -1) {
			log_warn("worker %u: eventfd", w->id);
			return -1;
		}
		w->ev_cmd = event_new(w->base, w->cmd_fd, EV_READ | EV_PERSIST,
		    worker_cmd_cb, w);
		if (w->ev_cmd == NULL || event_add(w->ev_cmd, NULL) == -1) {
			log_warnx("worker %u: cannot create events", w->id);
			return -1;
		}
	}
	w->shared->workers = all;
	w->shared->nworkers = n;
	return 0;
}

/*
 * Worker 0: accept from these sockets (its own dups, which it now owns and
 * the array too) instead of the ones it had, taking first what is queued
 * on those.
 */
int
worker_listen(struct worker *w, int *fds, size_t n)
{
	struct evconnlistener	**levs = NULL;
	size_t			 i, j;

	worker_unlisten(w, 1);
	if (n == 0)
		goto done;
	/* An array of pointers. NOLINTNEXTLINE(bugprone-sizeof-expression) */
	if ((levs = calloc(n, sizeof(*levs))) == NULL) {
		log_warn("calloc");
		worker_close_fds(fds, n);
		free(fds);
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* Backlog 0: the socket listens already. */
		levs[i] = evconnlistener_new(w->base, worker_accept_cb, w,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fds[i]);
		if (levs[i] == NULL) {
			log_warnx("worker %u: cannot create a listener",
			    w->id);
			for (j = 0; j < i; j++)
				evconnlistener_free(levs[j]);
			worker_close_fds(fds + i, n - i);
			free(levs);
			free(fds);
			return -1;
		}
		evconnlistener_set_error_cb(levs[i], worker_accept_error_cb);
		if (w->accept_paused)
			evconnlistener_disable(levs[i]);
	}
	w->levs = levs;
	w->nlevs = n;
done:
	free(fds);
	return 0;
}

/*
 * Before a listening socket closes, take the connections the kernel has
 * queued on it already and deal them out as ever: closing would reset
 * them, and their clients saw the connection succeed.  Worker 0's dup is
 * the socket's last descriptor (the server closes its own at once);
 * nothing new arrives meanwhile, since the server has made the socket drop
 * new SYNs first (listener_retire_all()).  At a stop the other workers get
 * their share before their stop command, which they read after it.  A
 * socket in systemd's fd store does not drop SYNs at a stop
 * (listener_stop_all()): what arrives after this is the next hellod's,
 * and nobody's to reset.
 */
static void
worker_accept_queued(struct worker *w, evutil_socket_t lfd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd;

	for (;;) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept before closing a listener");
			return;
		}
		worker_dispatch(w, fd, (struct sockaddr *)&ss, len);
	}
}

/* Stop accepting; with take_queued, first take what is queued. */
static void
worker_unlisten(struct worker *w, int take_queued)
{
	size_t	 i;

	for (i = 0; i < w->nlevs; i++) {
		if (take_queued && !w->accept_paused)
			worker_accept_queued(w, evconnlistener_get_fd(
			    w->levs[i]));
		evconnlistener_free(w->levs[i]);
	}
	free(w->levs);
	w->levs = NULL;
	w->nlevs = 0;
}

static void
worker_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_resume(arg);
}

/* Commands */

static void
worker_finish_all(struct worker *w)
{
	struct conn	*c, *next;

	TAILQ_FOREACH_SAFE(c, &w->conns, entry, next)
		conn_drain(c);
}

/*
 * Every connection takes the new config.  One that resumes may answer its
 * lines and so move to the list's tail, or close: the walk keeps the next
 * one before each call and ends at the connection that was last.
 */
static void
worker_reconfigure_all(struct worker *w)
{
	struct conn	*c, *next, *last;

	last = TAILQ_LAST(&w->conns, conn_list);
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = c == last ? NULL : TAILQ_NEXT(c, entry);
		conn_reconfigure(c);
	}
}

/* Carry out a command, in the worker's own thread. */
static void
worker_apply(struct worker *w, enum worker_cmd cmd, struct config *conf)
{
	switch (cmd) {
	case WORKER_CMD_NONE:
		break;
	case WORKER_CMD_RECONF:
		if (conf != NULL) {
			config_unref(w->conf);
			w->conf = conf;
			conf = NULL;
			worker_fill_replies(w);
			worker_reconfigure_all(w);
			evtimer_del(w->ev_idle);
			worker_idle_arm(w);
		}
		break;
	case WORKER_CMD_STOP:
		w->stopping = 1;
		w->ctx.stopping = 1;
		worker_unlisten(w, 1);
		evtimer_del(w->ev_accept_retry);
		worker_finish_all(w);
		worker_check_done(w);
		break;
	case WORKER_CMD_HALT:
		w->stopping = 1;
		w->ctx.stopping = 1;
		worker_unlisten(w, 0);
		if (w->threaded)
			event_base_loopbreak(w->base);
		break;
	}
	config_unref(conf);
}

/*
 * Hand a worker a command, numbered gen for worker_acked(); the worker
 * takes over conf (a reference).  Worker 0 carries it out at once; the
 * others when their loop reads the eventfd, and then call the done
 * callback.
 */
void
worker_post(struct worker *w, enum worker_cmd cmd, struct config *conf,
    uint64_t gen)
{
	uint64_t	 one = 1;

	if (!w->threaded) {
		worker_apply(w, cmd, conf);
		__atomic_store_n(&w->acked, gen, __ATOMIC_RELEASE);
		return;
	}
	pthread_mutex_lock(&w->lock);
	/* A stop or a halt outranks a reconfiguration still waiting. */
	if (w->cmd == WORKER_CMD_NONE || cmd >= w->cmd) {
		config_unref(w->cmd_conf);
		w->cmd = cmd;
		w->cmd_conf = conf;
	} else
		config_unref(conf);
	w->cmd_gen = gen;
	pthread_mutex_unlock(&w->lock);
	if (write(w->cmd_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("worker %u: eventfd", w->id);
}

/*
 * The eventfd: sockets handed over, a command, or both.  The sockets come
 * first: at a stop, worker 0 hands out what was queued on the listening
 * sockets before it posts the stop, and the stop drains them with the
 * rest.  A wake-up for sockets alone is no command: no ack, and the main
 * thread is not woken for it.
 */
static void
worker_cmd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct worker_handoffs	 handed = STAILQ_HEAD_INITIALIZER(handed);
	struct worker_handoff	*h;
	enum worker_cmd		 cmd;
	struct config		*conf;
	uint64_t		 n, gen;

	(void)what;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("worker %u: eventfd", w->id);
	pthread_mutex_lock(&w->lock);
	cmd = w->cmd;
	conf = w->cmd_conf;
	gen = w->cmd_gen;
	w->cmd = WORKER_CMD_NONE;
	w->cmd_conf = NULL;
	STAILQ_CONCAT(&handed, &w->handed);
	pthread_mutex_unlock(&w->lock);

	while ((h = STAILQ_FIRST(&handed)) != NULL) {
		STAILQ_REMOVE_HEAD(&handed, entry);
		worker_accept(w, h->fd, (struct sockaddr *)&h->ss, h->salen);
		free(h);
	}
	if (w->accept_paused)
		worker_resume(w);	/* worker 0: another's connection closed */
	if (cmd == WORKER_CMD_NONE)
		return;
	worker_apply(w, cmd, conf);
	__atomic_store_n(&w->acked, gen, __ATOMIC_RELEASE);
	w->done(w->done_arg);
}

/* The number of the last command this worker has carried out. */
uint64_t
worker_acked(struct worker *w)
{
	return __atomic_load_n(&w->acked, __ATOMIC_ACQUIRE);
}

int
worker_threaded(const struct worker *w)
{
	return w->threaded;
}

/*
 * Main thread: whether this worker's loop has run since the last look (it
 * beats at half the watchdog's interval).  Worker 0 is the caller's own
 * loop, and a worker whose loop has ended has nothing left to be stuck on.
 */
int
worker_alive(struct worker *w)
{
	uint64_t	 beats;
	int		 alive;

	if (!w->threaded || worker_finished(w))
		return 1;
	beats = __atomic_load_n(&w->beats, __ATOMIC_RELAXED);
	alive = beats != w->beats_seen;
	w->beats_seen = beats;
	return alive;
}

/* Main thread: whether the worker has finished every connection. */
int
worker_finished(struct worker *w)
{
	if (w->threaded)
		return __atomic_load_n(&w->finished, __ATOMIC_ACQUIRE);
	return w->stopping && TAILQ_EMPTY(&w->conns);
}

/* Add this worker's counters to total; any thread. */
void
worker_stats(struct worker *w, struct stats *total)
{
	stats_add(total, &w->stats);
}

/* The connections this worker accepted, and those open now; any thread. */
uint64_t
worker_accepted(struct worker *w)
{
	return STATS_GET(w->stats.conns_accepted);
}

uint64_t
worker_conns(struct worker *w)
{
	return STATS_GET(w->stats.conns_current);
}

/* Admission, and the seam with conn.c */

/*
 * A socket this worker takes (accepted by worker 0 and dealt to it, or
 * handed in by a test): admitted, then a connection, or refused and
 * closed.
 */
void
worker_accept(struct worker *w, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	const char	*line;
	int		 sourced;

	if (admit_accept(&w->admit, w->conf, sa, &sourced, &line) == -1) {
		admit_refuse(fd, line);
		return;
	}
	if (conn_accept(&w->ctx, fd, sa, salen, sourced) == -1) {
		if (sourced)
			admit_leave_source(&w->admit, sa);
		admit_leave(&w->admit);
		close(fd);
	}
}

/* Up from conn.c: a connection is built; it takes an id and a place. */
void
worker_conn_opened(struct worker *w, struct conn *c)
{
	c->id = __atomic_add_fetch(&w->shared->next_conn_id, 1,
	    __ATOMIC_RELAXED);
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	STATS_ADD(w->stats.conns_accepted, 1);
	STATS_ADD(w->stats.conns_current, 1);
	worker_idle_arm(w);
}

/*
 * Up from conn.c: the connection is closing, its descriptor free: off the
 * list, its slot given back, and maybe accept again or end the loop.
 */
void
worker_conn_closed(struct worker *w, struct conn *c)
{
	struct worker	*acc;
	uint64_t	 one = 1;

	TAILQ_REMOVE(&w->conns, c, entry);
	STATS_ADD(w->stats.conns_current, -1);
	admit_leave(&w->admit);
	/* A descriptor is free: worker 0 may accept again. */
	acc = w->shared->nworkers > 1 ? w->shared->workers[0] : NULL;
	if (acc != NULL && acc != w &&
	    __atomic_load_n(&acc->accept_paused, __ATOMIC_RELAXED) &&
	    write(acc->cmd_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("worker %u: eventfd", acc->id);
	worker_check_done(w);
}

/* A descriptor may be free, maybe the last connection gone. */
static void
worker_check_done(struct worker *w)
{
	if (w->accept_paused)
		worker_resume(w);
	if (w->stopping && TAILQ_EMPTY(&w->conns)) {
		if (w->threaded)
			event_base_loopexit(w->base, NULL);
		else
			w->done(w->done_arg);
	}
}

/* Idle connections */

/*
 * The list is in the order of the last request, so one timer per worker,
 * due when the oldest connection would expire, is enough.  Times are on
 * the monotonic clock: a step of the wall clock changes nothing.
 */
static void
worker_idle_arm(struct worker *w)
{
	struct conn	*c = TAILQ_FIRST(&w->conns);
	struct timeval	 tv;
	uint64_t	 now, due;

	if (c == NULL || w->conf->idle_timeout == 0 ||
	    evtimer_pending(w->ev_idle, NULL))
		return;
	now = clock_ms();
	due = conn_last_request(c) + (uint64_t)w->conf->idle_timeout * 1000;
	due = due > now ? due - now : 0;
	tv.tv_sec = due / 1000;
	tv.tv_usec = due % 1000 * 1000;
	evtimer_add(w->ev_idle, &tv);
}

/* Up from conn.c: a request came; move the connection to the young end. */
void
worker_conn_touched(struct worker *w, struct conn *c)
{
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
	uint64_t	 now, idle;

	(void)fd;
	(void)what;
	if (w->conf->idle_timeout == 0)
		return;
	now = clock_ms();
	idle = (uint64_t)w->conf->idle_timeout * 1000;
	while ((c = TAILQ_FIRST(&w->conns)) != NULL) {
		if (conn_last_request(c) + idle > now)
			break;
		conn_close(c, STATS_CLOSE_IDLE, "idle timeout");
	}
	worker_idle_arm(w);
}
