/*
 * A small OpenBSD-style log API: stderr in the foreground, syslog when
 * detached.
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

static enum log_target	 log_target = LOG_TO_STDERR;
static int		 log_level = LOG_INFO;
static int		 log_tty;	/* stderr is a terminal: add time */
static int		 log_journal;	/* journald reads stderr: <N> prefix */
static const char	*log_ident = "hellod";

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

void
log_init(enum log_target target, int level, const char *ident)
{
	if (ident != NULL)
		log_ident = ident;
	log_target = target;
	log_level = level;
	log_tty = isatty(STDERR_FILENO);
	if (target == LOG_TO_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_journal(int on)
{
	log_journal = on;
}

/* Workers read the level while a reload may change it. */
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

void
vlog(int pri, const char *fmt, va_list ap)
{
	char		 msg[1024], when[32];
	struct tm	 tm;
	time_t		 now;
	int		 saved_errno = errno;

	if (pri > log_getlevel())
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);

	if (log_target == LOG_TO_SYSLOG)
		syslog(pri, "%s", msg);
	else if (log_journal)
		fprintf(stderr, "<%d>%s\n", pri, msg);
	else if (log_tty) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s %s: %s\n", when, log_names[pri], msg);
	} else
		fprintf(stderr, "%s: %s\n", log_names[pri], msg);
	errno = saved_errno;
}

static void HELLOD_PRINTF(2, 3)
logit(int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

/* Like OpenBSD's log_warn: the message, then strerror of the saved errno. */
static void HELLOD_PRINTF(3, 0)
vlog_errno(int pri, int error, const char *fmt, va_list ap)
{
	char	 buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (error != 0)
		logit(pri, "%s: %s", buf, strerror(error));
	else
		logit(pri, "%s", buf);
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
 * Returns 1 when a line may be logged now.  A caller that gets 0 stays quiet;
 * the count of quiet calls is handed back through rl->suppressed for the next
 * line to mention.
 */
int
log_ratelimit(struct log_ratelimit *rl, time_t now)
{
	if (rl->last != 0 && now - rl->last < LOG_RATELIMIT_INTERVAL) {
		rl->suppressed++;
		return 0;
	}
	rl->last = now;
	return 1;
}
