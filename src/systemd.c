/* SPDX-License-Identifier: ISC */
/*
 * systemd.c: the parts of systemd's service protocol that hellod speaks,
 * written out here instead of linking libsystemd.  All of it is a stable,
 * documented interface (sd_notify(3), sd_listen_fds(3),
 * sd_watchdog_enabled(3), systemd.exec(5) for $JOURNAL_STREAM):
 *
 *  - notifications: one datagram of "KEY=VALUE\n" lines sent to the
 *    AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the
 *    abstract namespace);
 *  - socket activation: $LISTEN_PID, $LISTEN_FDS and $LISTEN_FDNAMES describe
 *    the listening sockets the manager passed from fd 3 on;
 *  - the file descriptor store: FDSTORE=1 with FDNAME= and the descriptor
 *    as SCM_RIGHTS hands a socket to the manager, which keeps it across a
 *    restart and passes it back in $LISTEN_FDS and $LISTEN_FDNAMES;
 *    FDSTOREREMOVE=1 with FDNAME= drops it (sd_pid_notify_with_fds(3));
 *  - the watchdog: $WATCHDOG_USEC (and $WATCHDOG_PID) ask for WATCHDOG=1 at
 *    least that often;
 *  - journald: $JOURNAL_STREAM is "DEV:INODE" of the stream that stderr was
 *    connected to; a match means stderr lines may carry "<N>" priorities.
 *
 * Everything that parses or formats is a pure function (strings and a pid
 * in, a result or a cause string out), unit-tested in tests/check_systemd.c
 * with every malformed input; the wrappers at the end read the environment
 * and touch sockets.  Nothing here is fatal to the daemon except bad
 * socket-activation input: a daemon that ignored the sockets it was given
 * would then fail to bind the same ports anyway, less clearly.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hellod.h"

/* The main thread's alone, like systemd_notify(). */
static struct log_limit	 systemd_lim_notify;
/* Written by the main thread alone, read by any (the metrics endpoint's):
 * stored and loaded whole, relaxed, like the counters of struct stats. */
static uint64_t		 systemd_dropped;

/* Set *cause to a newly allocated message; the caller frees it. */
static void HELLOD_PRINTF(2, 3)
systemd_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		fatal("%s", __func__);
	va_end(ap);
}

/*
 * Copy an environment value for an error message: at most a few dozen
 * bytes, anything unprintable shown as '?', so a hostile value can neither
 * flood the log nor forge a line in it.
 */
static const char *
systemd_quote(const char *s, char *buf, size_t size)
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i + 4 < size; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}
#define SYSTEMD_QUOTE_MAX	40

/*
 * A decimal number made of digits only, at most max, followed by term.
 * strtoull() alone would skip leading blanks, take a sign (turning "-1" into
 * a huge value) and stop at junk; the checks around it refuse all of that.
 * Returns 0, or -1 when it is not such a number, -2 when it is too large.
 */
static int
systemd_number(const char *s, char term, uint64_t max, uint64_t *out,
    const char **endp)
{
	unsigned long long	 v;
	char			*end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != term)
		return -1;
	if (errno == ERANGE || v > max)
		return -2;
	*out = v;
	if (endp != NULL)
		*endp = end;
	return 0;
}

/* Parse a $VAR that must be a number in [min, max]; cause names it. */
static int
systemd_env_number(const char *var, const char *s, uint64_t min,
    uint64_t max, uint64_t *out, char **cause)
{
	char	q[SYSTEMD_QUOTE_MAX];
	int	r;

	r = systemd_number(s, '\0', max, out, NULL);
	if (r == 0 && *out < min)
		r = -2;
	if (r == -1)
		systemd_cause(cause, "%s=\"%s\" is not a decimal number", var,
		    systemd_quote(s, q, sizeof(q)));
	else if (r == -2)
		systemd_cause(cause, "%s=\"%s\" is out of range (%" PRIu64
		    "-%" PRIu64 ")", var, systemd_quote(s, q, sizeof(q)), min,
		    max);
	return r == 0 ? 0 : -1;
}

/*
 * Format one notification.  Each assignment is a line of its own; the
 * STATUS= text must therefore hold no control character (a newline in it
 * would smuggle in another assignment).  Returns the length, or -1 when the
 * status is invalid or the message does not fit.
 */
int
systemd_format(char *buf, size_t size, enum systemd_state state,
    uint64_t monotonic_usec, const char *status)
{
	const char	*p;
	int		 n, m;

	switch (state) {
	case SYSTEMD_READY:
		n = snprintf(buf, size, "READY=1\n");
		break;
	case SYSTEMD_RELOADING:
		n = snprintf(buf, size, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64
		    "\n", monotonic_usec);
		break;
	case SYSTEMD_STOPPING:
		n = snprintf(buf, size, "STOPPING=1\n");
		break;
	case SYSTEMD_WATCHDOG:
		n = snprintf(buf, size, "WATCHDOG=1\n");
		break;
	case SYSTEMD_STATUS:
		if (status == NULL || size == 0)
			return -1;
		n = 0;
		break;
	default:
		return -1;
	}
	if (n < 0 || (size_t)n >= size)
		return -1;
	if (status == NULL)
		return n;

	for (p = status; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -1;
	}
	m = snprintf(buf + n, size - n, "STATUS=%s\n", status);
	if (m < 0 || (size_t)m >= size - n)
		return -1;
	return n + m;
}

/*
 * A character a descriptor's name may hold: printable ASCII but ':', which
 * separates the names in $LISTEN_FDNAMES (systemd's fdname_is_valid()).
 */
static int
systemd_fdname_char(char c)
{
	return (unsigned char)c >= 0x20 && (unsigned char)c < 0x7f && c != ':';
}

/* A name FDNAME= takes: 1 to SYSTEMD_FDNAME_MAX such characters. */
int
systemd_fdname_valid(const char *name)
{
	size_t	 i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i == SYSTEMD_FDNAME_MAX || !systemd_fdname_char(name[i]))
			return 0;
	}
	return i > 0;
}

/*
 * The name under which a listening socket goes into the store: the
 * SYSTEMD_FDNAME_PREFIX, then what the caller calls it ("127.0.0.1:5000",
 * "[::1]:5000") with every character FDNAME= refuses (':', above all) as
 * '_': "hellod-127.0.0.1_5000".  The prefix is what tells these from a
 * socket unit's descriptors, named "hellod.socket" or by its
 * FileDescriptorName=.  -1 when it does not fit.
 */
int
systemd_fdname(char *buf, size_t size, const char *what)
{
	size_t	 i, plen = strlen(SYSTEMD_FDNAME_PREFIX);

	if (plen + strlen(what) >= size ||
	    plen + strlen(what) > SYSTEMD_FDNAME_MAX || what[0] == '\0')
		return -1;
	memcpy(buf, SYSTEMD_FDNAME_PREFIX, plen);
	for (i = 0; what[i] != '\0'; i++)
		buf[plen + i] = systemd_fdname_char(what[i]) ? what[i] : '_';
	buf[plen + i] = '\0';
	return 0;
}

/* A passed descriptor hellod put into the store itself (systemd_fdname()). */
int
systemd_fdname_stored(const char *name)
{
	return name != NULL && strncmp(name, SYSTEMD_FDNAME_PREFIX,
	    strlen(SYSTEMD_FDNAME_PREFIX)) == 0 && systemd_fdname_valid(name);
}

/*
 * The message that puts a descriptor into the store (its fd goes along as
 * SCM_RIGHTS), or with remove set, the one that drops every descriptor of
 * that name from it.  Returns the length, or -1 when the name is not one
 * FDNAME= takes (the manager would ignore it, and store the socket as
 * "stored", which nothing here could remove) or the message does not fit.
 */
int
systemd_fdstore_format(char *buf, size_t size, int remove, const char *name)
{
	int	 n;

	if (!systemd_fdname_valid(name))
		return -1;
	n = snprintf(buf, size, "%s=1\nFDNAME=%s\n", remove ?
	    "FDSTOREREMOVE" : "FDSTORE", name);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}

/*
 * The names of n passed descriptors: $LISTEN_FDNAMES split at ':', already
 * validated by systemd_listen_parse(), or "unknown" for each when it is
 * unset, as sd_listen_fds_with_names(3) says.  A malloc'ed array of n
 * malloc'ed strings (systemd_listen_free()); NULL when out of memory.
 */
char **
systemd_listen_names(const char *names, int n)
{
	char		**v;
	const char	 *p, *end;
	int		  i;

	if (n <= 0 || (v = calloc((size_t)n, sizeof(*v))) == NULL)
		return NULL;
	p = names;
	for (i = 0; i < n; i++) {
		if (names == NULL)
			v[i] = strdup("unknown");
		else {
			if ((end = strchr(p, ':')) == NULL)
				end = p + strlen(p);
			v[i] = strndup(p, (size_t)(end - p));
			p = *end == ':' ? end + 1 : end;
		}
		if (v[i] == NULL) {
			systemd_listen_free(v, i);
			return NULL;
		}
	}
	return v;
}

void
systemd_listen_free(char **names, int n)
{
	int	 i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * The address of $NOTIFY_SOCKET: an absolute path, or "@name" for a socket
 * in the abstract namespace (whose address is a NUL then the name, with a
 * length that counts only the bytes used).
 */
int
systemd_notify_addr(const char *path, struct sockaddr_un *sun,
    socklen_t *len, char **cause)
{
	char	q[SYSTEMD_QUOTE_MAX];
	size_t	plen;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen < 2) {
		systemd_cause(cause, "NOTIFY_SOCKET=\"%s\" is neither an "
		    "absolute path nor an @abstract name",
		    systemd_quote(path, q, sizeof(q)));
		return -1;
	}
	if (plen >= sizeof(sun->sun_path)) {
		systemd_cause(cause, "NOTIFY_SOCKET=\"%s\" is too long",
		    systemd_quote(path, q, sizeof(q)));
		return -1;
	}
	memcpy(sun->sun_path, path, plen);
	if (path[0] == '@') {
		sun->sun_path[0] = '\0';
		*len = offsetof(struct sockaddr_un, sun_path) + plen;
	} else
		*len = offsetof(struct sockaddr_un, sun_path) + plen + 1;
	return 0;
}

/*
 * Validate the socket-activation variables as sd_listen_fds(3) defines
 * them, more strictly than it does: LISTEN_FDS needs LISTEN_PID and that
 * must be this process (otherwise the sockets were meant for another one,
 * and using the configured ports instead would only fail later to bind
 * them); the count is bounded; LISTEN_FDNAMES, when set, holds exactly one
 * valid name per descriptor.  Returns the number of descriptors (from
 * SYSTEMD_LISTEN_FDS_START on), 0 when none of the variables is set, or -1
 * with a cause.
 */
int
systemd_listen_parse(const char *pid, const char *fds, const char *names,
    pid_t self, char **cause)
{
	uint64_t	 vpid, vfds;
	size_t		 count, len;
	const char	*p;
	char		 q[SYSTEMD_QUOTE_MAX];

	*cause = NULL;
	if (fds == NULL) {
		if (pid == NULL && names == NULL)
			return 0;
		systemd_cause(cause, "%s is set but LISTEN_FDS is not",
		    pid != NULL ? "LISTEN_PID" : "LISTEN_FDNAMES");
		return -1;
	}
	if (pid == NULL) {
		systemd_cause(cause, "LISTEN_FDS is set but LISTEN_PID is not");
		return -1;
	}
	if (systemd_env_number("LISTEN_PID", pid, 1, INT32_MAX, &vpid,
	    cause) == -1)
		return -1;
	if ((pid_t)vpid != self) {
		systemd_cause(cause, "LISTEN_PID=%" PRIu64 " is not this "
		    "process (%ld): the sockets are not meant for it", vpid,
		    (long)self);
		return -1;
	}
	if (systemd_env_number("LISTEN_FDS", fds, 1, SYSTEMD_LISTEN_FDS_MAX,
	    &vfds, cause) == -1)
		return -1;
	if (names == NULL)
		return (int)vfds;

	/*
	 * Names are separated by ':'; as systemd's fdname_is_valid() says,
	 * one may be empty, holds no control character and nothing but ASCII,
	 * and is at most SYSTEMD_FDNAME_MAX bytes.
	 */
	count = 1;
	len = 0;
	for (p = names; *p != '\0'; p++) {
		if (*p == ':') {
			count++;
			len = 0;
			continue;
		}
		if (!systemd_fdname_char(*p)) {
			systemd_cause(cause, "LISTEN_FDNAMES=\"%s\" holds a "
			    "control or non-ASCII character",
			    systemd_quote(names, q, sizeof(q)));
			return -1;
		}
		if (++len > SYSTEMD_FDNAME_MAX) {
			systemd_cause(cause, "LISTEN_FDNAMES=\"%s\" holds a "
			    "name longer than %d bytes",
			    systemd_quote(names, q, sizeof(q)),
			    SYSTEMD_FDNAME_MAX);
			return -1;
		}
	}
	if (count != vfds) {
		systemd_cause(cause, "LISTEN_FDNAMES names %zu sockets but "
		    "LISTEN_FDS=%" PRIu64, count, vfds);
		return -1;
	}
	return (int)vfds;
}

/*
 * Parse $WATCHDOG_USEC and $WATCHDOG_PID into the interval at which to send
 * WATCHDOG=1: half the period, as sd_watchdog_enabled(3) advises, so one
 * late ping is not yet fatal.  *interval is 0 when no watchdog is asked
 * for; -1 and a cause when the variables are malformed or name another
 * process.
 */
int
systemd_watchdog_parse(const char *usec, const char *pid, pid_t self,
    uint64_t *interval, char **cause)
{
	uint64_t	vusec, vpid;

	*cause = NULL;
	*interval = 0;
	if (usec == NULL) {
		if (pid == NULL)
			return 0;
		systemd_cause(cause, "WATCHDOG_PID is set but WATCHDOG_USEC "
		    "is not");
		return -1;
	}
	if (pid != NULL) {
		if (systemd_env_number("WATCHDOG_PID", pid, 1, INT32_MAX,
		    &vpid, cause) == -1)
			return -1;
		if ((pid_t)vpid != self) {
			systemd_cause(cause, "WATCHDOG_PID=%" PRIu64 " is not "
			    "this process (%ld)", vpid, (long)self);
			return -1;
		}
	}
	if (systemd_env_number("WATCHDOG_USEC", usec, 1, UINT64_MAX - 1,
	    &vusec, cause) == -1)
		return -1;
	*interval = vusec / 2;
	if (*interval == 0)
		*interval = 1;
	return 0;
}

/*
 * $JOURNAL_STREAM is "DEV:INODE" in decimal.  It is inherited by every
 * child, so it means "journald reads stderr" only when it matches what
 * stderr really is (systemd.exec(5)); 1 when it does, 0 otherwise.
 */
int
systemd_journal_match(const char *stream, dev_t dev, ino_t ino)
{
	uint64_t	 vdev, vino;
	const char	*p;

	if (stream == NULL)
		return 0;
	if (systemd_number(stream, ':', UINT64_MAX, &vdev, &p) != 0)
		return 0;
	if (systemd_number(p + 1, '\0', UINT64_MAX, &vino, NULL) != 0)
		return 0;
	return vdev == (uint64_t)dev && vino == (uint64_t)ino;
}

/*
 * The STATUS= text from what the caller hands in: where the daemon listens
 * and how busy it is, cut with "..." when the addresses do not fit.
 */
void
systemd_status(char *buf, size_t size, const char **names, size_t nnames,
    uint64_t conns)
{
	char			 tail[64];
	size_t			 len, tlen, i;
	const char		*sep = "";

	if (size == 0)
		return;
	tlen = (size_t)snprintf(tail, sizeof(tail), "; %" PRIu64
	    " connection%s", conns, conns == 1 ? "" : "s");
	len = (size_t)snprintf(buf, size, "listening on");
	for (i = 0; i < nnames; i++) {
		if (len + strlen(sep) + 1 + strlen(names[i]) + tlen >= size) {
			if (len + 4 + tlen < size)
				len += (size_t)snprintf(buf + len, size - len,
				    " ...");
			break;
		}
		len += (size_t)snprintf(buf + len, size - len, "%s %s", sep,
		    names[i]);
		sep = ",";
	}
	if (nnames == 0 && len + 8 + tlen < size)
		len += (size_t)snprintf(buf + len, size - len, " nothing");
	if (len + tlen < size)
		snprintf(buf + len, size - len, "%s", tail);
}

/* Wrappers: the environment, sockets, the event loop. */

/*
 * Send one datagram to $NOTIFY_SOCKET, with fd (unless -1) as SCM_RIGHTS.
 * Returns 1 when sent, 0 when the variable is unset (not run by systemd:
 * nothing to do), -1 with a cause.  A new socket per message: they are
 * rare (a watchdog ping every few seconds at most) and nothing needs to
 * survive a privilege drop.
 */
int
systemd_notify_send_fd(const char *msg, size_t len, int fd, char **cause)
{
	struct sockaddr_un	 sun;
	struct iovec		 iov;
	struct msghdr		 mh;
	struct cmsghdr		*cm;
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 control;
	socklen_t		 slen;
	const char		*path;
	int			 s;
	ssize_t			 n;

	*cause = NULL;
	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return 0;
	if (systemd_notify_addr(path, &sun, &slen, cause) == -1)
		return -1;
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		systemd_cause(cause, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)msg;
	iov.iov_len = len;
	mh.msg_name = &sun;
	mh.msg_namelen = slen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	/* Never wait on a manager that does not read: the message is
	 * dropped and counted instead (systemd_notify_dropped()). */
	n = sendmsg(s, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1)
		systemd_cause(cause, "send to %s: %s", path, strerror(errno));
	else if ((size_t)n != len)
		systemd_cause(cause, "send to %s: short write", path);
	close(s);
	return *cause == NULL ? 1 : -1;
}

int
systemd_notify_send(const char *msg, size_t len, char **cause)
{
	return systemd_notify_send_fd(msg, len, -1, cause);
}

/*
 * Tell the service manager about a change of state, with an optional
 * STATUS= line.  A no-op outside systemd; a failure is logged (at most once
 * a second: the watchdog would repeat it) and otherwise ignored.
 */
void
systemd_notify(enum systemd_state state, const char *status)
{
	char		 msg[SYSTEMD_MSG_MAX];
	char		*cause, *p;
	struct timespec	 ts;
	uint64_t	 usec = 0;
	int		 len;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	if (state == SYSTEMD_RELOADING) {
		if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
			fatal("clock_gettime");
		usec = (uint64_t)ts.tv_sec * 1000000 +
		    (uint64_t)ts.tv_nsec / 1000;
	}
	if ((len = systemd_format(msg, sizeof(msg), state, usec, status)) ==
	    -1) {
		log_warnx("%s: cannot format the notification", __func__);
		return;
	}
	if (systemd_notify_send(msg, (size_t)len, &cause) == -1) {
		STATS_ADD(systemd_dropped, 1);
		log_limited(&systemd_lim_notify, clock_ms(), LOG_WARNING,
		    "systemd notification: %s; dropped (%" PRIu64 " so far)",
		    cause, STATS_GET(systemd_dropped));
		free(cause);
		return;
	}
	msg[len - 1] = '\0';
	for (p = msg; (p = strchr(p, '\n')) != NULL; p++)
		*p = ' ';
	log_debug("%s: sent %s", __func__, msg);
}

/* Notifications that could not be sent, since the start; any thread. */
uint64_t
systemd_notify_dropped(void)
{
	return STATS_GET(systemd_dropped);
}

/*
 * Put a listening socket into the manager's store under name (FDSTORE=1),
 * or with fd -1 drop every descriptor of that name from it
 * (FDSTOREREMOVE=1).  Returns 1 when sent, 0 outside systemd, -1 when it
 * could not be (logged, and counted with the dropped notifications).  What
 * goes in or out is the caller's decision (listener.c).
 */
static int
systemd_fdstore_send(int fd, const char *name)
{
	char	 msg[SYSTEMD_FDNAME_MAX + 32];
	char	*cause;
	int	 len, r;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	if ((len = systemd_fdstore_format(msg, sizeof(msg), fd == -1,
	    name)) == -1) {
		log_warnx("fd store: \"%s\" is not a name FDNAME= takes",
		    name);
		return -1;
	}
	if ((r = systemd_notify_send_fd(msg, (size_t)len, fd, &cause)) == -1) {
		STATS_ADD(systemd_dropped, 1);
		log_warnx("fd store: %s: %s; not %s", name, cause,
		    fd == -1 ? "removed" : "stored");
		free(cause);
		return -1;
	}
	log_debug("%s: %s %s", __func__, fd == -1 ? "FDSTOREREMOVE" :
	    "FDSTORE", name);
	return r;
}

int
systemd_fdstore(int fd, const char *name)
{
	return systemd_fdstore_send(fd, name);
}

int
systemd_fdstore_remove(const char *name)
{
	return systemd_fdstore_send(-1, name);
}

/*
 * A descriptor passed by the manager must be what hellod can serve on: an
 * open, listening, IPv4 or IPv6 stream socket.  Made non-blocking (libevent
 * accepts until EAGAIN) and close-on-exec, as a socket of our own would be.
 */
static int
systemd_listen_check(int fd, char **cause)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			type, listening, flags;

	if ((flags = fcntl(fd, F_GETFD)) == -1) {
		systemd_cause(cause, "passed fd %d: %s", fd, strerror(errno));
		return -1;
	}
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1) {
		systemd_cause(cause, "passed fd %d: %s", fd, strerror(errno));
		return -1;
	}
	if (type != SOCK_STREAM) {
		systemd_cause(cause, "passed fd %d is not a stream socket "
		    "(ListenStream= is needed)", fd);
		return -1;
	}
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
	    &len) == -1) {
		systemd_cause(cause, "passed fd %d: %s", fd, strerror(errno));
		return -1;
	}
	if (!listening) {
		systemd_cause(cause, "passed fd %d is not listening "
		    "(Accept=yes is not supported)", fd);
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		systemd_cause(cause, "passed fd %d: %s", fd, strerror(errno));
		return -1;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
		systemd_cause(cause, "passed fd %d is not an IPv4 or IPv6 "
		    "socket", fd);
		return -1;
	}
	if (fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1 ||
	    (flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		systemd_cause(cause, "passed fd %d: fcntl: %s", fd,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Read, validate and unset the socket-activation variables (so nothing
 * started later takes them for its own), then check every passed
 * descriptor.  Returns how many there are from SYSTEMD_LISTEN_FDS_START on,
 * with *names their names (systemd_listen_names(); NULL for none), 0 when
 * not socket-activated, -1 with a cause.
 *
 * A socket unit's descriptor that is not a listening IPv4 or IPv6 stream
 * socket stops the daemon.  One from the store (systemd_fdname_stored())
 * does not: hellod put it there, and a restart must not fail on it again
 * and again (Restart= keeps the store).  It is closed, dropped from the
 * store, and its name set to NULL.
 */
int
systemd_listen_fds(char ***names, char **cause)
{
	char	**v = NULL;
	int	  n, i, fd;

	*names = NULL;
	n = systemd_listen_parse(getenv("LISTEN_PID"), getenv("LISTEN_FDS"),
	    getenv("LISTEN_FDNAMES"), getpid(), cause);
	if (n > 0 && (v = systemd_listen_names(getenv("LISTEN_FDNAMES"),
	    n)) == NULL) {
		systemd_cause(cause, "out of memory");
		n = -1;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (i = 0; i < n; i++) {
		fd = SYSTEMD_LISTEN_FDS_START + i;
		if (systemd_listen_check(fd, cause) == 0)
			continue;
		if (!systemd_fdname_stored(v[i])) {
			systemd_listen_free(v, n);
			return -1;
		}
		log_warnx("fd store: %s; dropped from the store", *cause);
		free(*cause);
		*cause = NULL;
		close(fd);
		systemd_fdstore_remove(v[i]);
		free(v[i]);
		v[i] = NULL;
	}
	*names = v;
	return n;
}

/* $JOURNAL_STREAM matches stderr: journald reads it. */
int
systemd_journal_stderr(void)
{
	struct stat	st;

	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return systemd_journal_match(getenv("JOURNAL_STREAM"), st.st_dev,
	    st.st_ino);
}

/*
 * How often to ping the watchdog, in microseconds (half of what the manager
 * asks, as sd_watchdog_enabled(3) advises), 0 for never.  A malformed
 * request is logged, and the daemon runs on without pinging.
 */
uint64_t
systemd_watchdog_interval(void)
{
	uint64_t	 interval;
	char		*cause;

	if (systemd_watchdog_parse(getenv("WATCHDOG_USEC"),
	    getenv("WATCHDOG_PID"), getpid(), &interval, &cause) == -1) {
		log_warnx("watchdog not started: %s", cause);
		free(cause);
		return 0;
	}
	return interval;
}
