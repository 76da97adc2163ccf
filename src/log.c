/* SPDX-License-Identifier: ISC */
/*
 * The log: stderr in the foreground, syslog when detached.
 *
 * The names are OpenBSD's log.c: log_warn appends strerror(errno) and
 * log_warnx does not, fatal and fatalx log and exit.  The levels are not:
 * OpenBSD logs log_warn and log_warnx at LOG_ERR, hellod at LOG_WARNING,
 * because log_level tells error from warning and a limit hit or a failed
 * accept() must not read as an error.  Errors are log_errorx.  So:
 *
 *	fatal, fatalx		LOG_CRIT, then exit(HELLOD_EXIT_FAILURE)
 *	log_errorx		LOG_ERR: what was asked cannot be done (a
 *				reload, listening at start)
 *	log_warn, log_warnx	LOG_WARNING: something failed or hit a limit,
 *				and the daemon goes on
 *	log_notice		LOG_NOTICE: start, listening, stop
 *	log_info		LOG_INFO
 *	log_debug		LOG_DEBUG: every connection, lines start with
 *				__func__
 *	log_limited		any of these, at most once a second per
 *				limiter, for events a client can repeat
 *
 * journalctl -p warning shows the first three rows, -p err the first two.
 * Every message is logged whole, on one line, however long.
 *
 * A byte a client sent is logged through log_escape(), never raw: an
 * escape sequence would drive the reader's terminal, a CR or LF would
 * forge or hide a line.  log_line() turns any control byte that reaches
 * it anyway into '?', the last defence for a path that forgot.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "hellod.h"

#define LOG_LINE_BUF	1024	/* on the stack; a longer line is allocated */
#define LOG_ESCAPE_CUT	"..."	/* ends what log_escape() had to cut */

/*
 * Threads: every thread logs.  log_tty, log_journal and log_ident are set
 * by log_init() and log_set_journal() in main() before any other thread
 * starts, and only read after.  log_level (changed by a reload) and
 * log_target (changed by daemon_ready() once the workers run: "hellod -d"
 * keeps its errors on the terminal until it is ready) change while the
 * others read them: both are only loaded and stored with __atomic.
 */
static enum log_target	 log_target = LOG_TO_STDERR;	/* atomic */
static int		 log_level = LOG_INFO;		/* atomic */
static int		 log_tty;	/* stderr is a terminal: add time */
static int		 log_journal;	/* journald reads stderr: <N> prefix */
static const char	*log_ident = "hellod";

/* The one table of level names: the log shows them, log_level takes them. */
static const char *const log_names[] = {
	[LOG_EMERG] = "emerg",
	[LOG_ALERT] = "alert",
	[LOG_CRIT] = "crit",
	[LOG_ERR] = "error",
	[LOG_WARNING] = "warning",
	[LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};
#define LOG_NNAMES	(sizeof(log_names) / sizeof(log_names[0]))

/* The name of a syslog priority, "?" for none. */
const char *
log_level_name(int pri)
{
	if (pri < 0 || (size_t)pri >= LOG_NNAMES)
		return "?";
	return log_names[pri];
}

/* The priority of a name log_level_name() gives, -1 for none. */
int
log_level_parse(const char *name)
{
	size_t	 i;

	for (i = 0; i < LOG_NNAMES; i++) {
		if (strcmp(log_names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

/* Before any other thread starts. */
void
log_init(enum log_target target, int level, const char *ident)
{
	if (ident != NULL)
		log_ident = ident;
	log_tty = isatty(STDERR_FILENO);
	log_setlevel(level);
	if (target == LOG_TO_SYSLOG)
		log_to_syslog();
	else
		__atomic_store_n(&log_target, target, __ATOMIC_RELEASE);
}

/*
 * From now on, syslog: safe while other threads log.  openlog() comes
 * first, and the release store publishes it to a thread whose acquire
 * load sees LOG_TO_SYSLOG (syslog(3) locks inside itself).
 */
void
log_to_syslog(void)
{
	openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	__atomic_store_n(&log_target, LOG_TO_SYSLOG, __ATOMIC_RELEASE);
}

void
log_set_journal(int on)
{
	log_journal = on;
}

/* Any thread may read the level while a reload changes it. */
void
log_setlevel(int level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

int
log_getlevel(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

/*
 * Write one line, whole: formatted into buf when it fits, as nearly every
 * line does, else into memory of its own.  Only when that memory cannot be
 * had is the line cut, to LOG_LINE_BUF - 1 bytes ending in "...".  tail,
 * when not NULL, is appended after sep: strerror() after ": " for
 * log_warn, the count of a limiter's held-back lines after " ".
 */
static void HELLOD_PRINTF(4, 0)
log_line(int pri, const char *sep, const char *tail, const char *fmt,
    va_list ap)
{
	char		 buf[LOG_LINE_BUF], *msg = buf, *p, when[32];
	struct tm	 tm;
	time_t		 now;
	va_list		 again;
	int		 n;

	va_copy(again, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		snprintf(buf, sizeof(buf), "(cannot format \"%s\")", fmt);
	else if ((size_t)n >= sizeof(buf)) {
		if ((msg = malloc((size_t)n + 1)) != NULL)
			vsnprintf(msg, (size_t)n + 1, fmt, again);
		else {
			msg = buf;
			memcpy(buf + sizeof(buf) - 4, "...", 4);
		}
	}
	va_end(again);
	if (tail == NULL)
		sep = tail = "";
	/* Whatever was not escaped: no CR, LF, ESC or DEL reaches the log. */
	for (p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}

	if (__atomic_load_n(&log_target, __ATOMIC_ACQUIRE) == LOG_TO_SYSLOG)
		syslog(pri, "%s%s%s", msg, sep, tail);
	else if (log_journal)
		fprintf(stderr, "<%d>%s%s%s\n", pri, msg, sep, tail);
	else if (log_tty) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s %s: %s%s%s\n", when, log_level_name(pri),
		    msg, sep, tail);
	} else
		fprintf(stderr, "%s: %s%s%s\n", log_level_name(pri), msg, sep,
		    tail);
	if (msg != buf)
		free(msg);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	int	 saved_errno = errno;

	if (pri > log_getlevel())
		return;
	log_line(pri, NULL, NULL, fmt, ap);
	errno = saved_errno;
}

/* Like OpenBSD's log_warn: the message, then strerror of the saved errno. */
static void HELLOD_PRINTF(3, 0)
vlog_errno(int pri, int error, const char *fmt, va_list ap)
{
	if (pri > log_getlevel())
		return;
	log_line(pri, ": ", error != 0 ? strerror(error) : NULL, fmt, ap);
	errno = error;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 error = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, error, fmt, ap);
	va_end(ap);
}

#define LOG_DEFINE(name, pri)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list	 ap;					\
							\
	va_start(ap, fmt);				\
	vlog(pri, fmt, ap);				\
	va_end(ap);					\
}
LOG_DEFINE(log_errorx, LOG_ERR)
LOG_DEFINE(log_warnx, LOG_WARNING)
LOG_DEFINE(log_notice, LOG_NOTICE)
LOG_DEFINE(log_info, LOG_INFO)
LOG_DEFINE(log_debug, LOG_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 error = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, error, fmt, ap);
	va_end(ap);
	exit(HELLOD_EXIT_FAILURE);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(HELLOD_EXIT_FAILURE);
}

/*
 * One byte as log_escape() writes it, into out (not terminated); returns
 * its length, 1 to 4.
 */
static size_t
log_escape_byte(unsigned char c, char out[4])
{
	static const char	 hex[] = "0123456789abcdef";
	char			 named;

	switch (c) {
	case '\\':
		named = '\\';
		break;
	case '\r':
		named = 'r';
		break;
	case '\n':
		named = 'n';
		break;
	case '\t':
		named = 't';
		break;
	default:
		if (c >= 0x20 && c < 0x7f) {
			out[0] = (char)c;
			return 1;
		}
		out[0] = '\\';
		out[1] = 'x';
		out[2] = hex[c >> 4];
		out[3] = hex[c & 0xf];
		return 4;
	}
	out[0] = '\\';
	out[1] = named;
	return 2;
}

/*
 * The srclen bytes at src, which a client sent (any byte, NUL too), into
 * dst for a log line: printable ASCII (0x20 to 0x7e) as it is but the
 * backslash, which is doubled; CR, LF and tab as \r, \n and \t; every
 * other byte (controls, ESC, DEL, NUL, 0x80 and up) as \xHH.  So nothing
 * a client sends can end a line, drive a terminal or pass for a line of
 * hellod's, and each escape reads back as the one byte sent.  dst (dstlen
 * bytes) is always terminated unless dstlen is 0; when the escaped text
 * does not fit it is cut between two escapes and ends in "...".  Returns
 * dst, for a "%s".  Not metrics_escape(): the Prometheus text format
 * escapes a label value for a parser (backslash, quote, LF) and passes
 * every other byte.
 */
char *
log_escape(char *dst, size_t dstlen, const void *src, size_t srclen)
{
	const unsigned char	*s = src;
	const char		*cut = "";
	char			 one[4];
	size_t			 room, need = 0, len = 0, n, i;

	if (dstlen == 0)
		return dst;
	room = dstlen - 1;
	for (i = 0; i < srclen && need <= room; i++)
		need += log_escape_byte(s[i], one);
	if (need > room) {
		cut = LOG_ESCAPE_CUT;
		room = room > strlen(cut) ? room - strlen(cut) : 0;
	}
	for (i = 0; i < srclen; i++) {
		n = log_escape_byte(s[i], one);
		if (len + n > room)
			break;
		memcpy(dst + len, one, n);
		len += n;
	}
	snprintf(dst + len, dstlen - len, "%s", cut);
	return dst;
}

/*
 * The one rate-limited line (see hellod.h).  A line held back below the
 * log level is counted like any other: the count says how often the event
 * happened, not how many lines were written.  The clock is handed in, so
 * that a test drives it; a limiter that has never logged logs at once.
 */
void
log_limited(struct log_limit *lim, uint64_t now, int pri, const char *fmt,
    ...)
{
	char	 tail[64];
	va_list	 ap;
	int	 saved_errno = errno;

	if (now < lim->next_ms) {
		lim->suppressed++;
		return;
	}
	lim->next_ms = now + LOG_LIMIT_MS;
	snprintf(tail, sizeof(tail), "(%lu similar suppressed)",
	    lim->suppressed);
	lim->suppressed = 0;
	if (pri <= log_getlevel()) {
		va_start(ap, fmt);
		log_line(pri, " ", tail, fmt, ap);
		va_end(ap);
	}
	errno = saved_errno;
}
