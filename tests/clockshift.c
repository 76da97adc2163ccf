/* SPDX-License-Identifier: ISC */
/*
 * clockshift.so: an LD_PRELOAD shim whose wall clock runs backwards.
 *
 * From the first time a process asks, gettimeofday(), time() and
 * clock_gettime(CLOCK_REALTIME*) return the start time minus whatever has
 * passed since, as if NTP or an admin's "date -s" stepped the clock back
 * again and again.  The monotonic clocks are left alone.  A daemon that
 * measures intervals on the wall clock then sees none ever end; one that
 * uses the monotonic clock notices nothing.  For tests only.
 */
#define _GNU_SOURCE
#include <sys/time.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

typedef int	(*clock_fn)(clockid_t, struct timespec *);

static clock_fn		 real_clock_gettime;
static struct timespec	 start;
static pthread_once_t	 once = PTHREAD_ONCE_INIT;

static void
clockshift_init(void)
{
	real_clock_gettime = (clock_fn)dlsym(RTLD_NEXT, "clock_gettime");
	real_clock_gettime(CLOCK_REALTIME, &start);
}

/* start - (now - start), normalised. */
static void
clockshift_back(struct timespec *ts)
{
	long long	 ns;

	ns = 2 * ((long long)start.tv_sec * 1000000000LL + start.tv_nsec) -
	    ((long long)ts->tv_sec * 1000000000LL + ts->tv_nsec);
	ts->tv_sec = ns / 1000000000LL;
	ts->tv_nsec = ns % 1000000000LL;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int	 rc;

	pthread_once(&once, clockshift_init);
	rc = real_clock_gettime(id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		clockshift_back(ts);
	return rc;
}

int
gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec	 ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return -1;
	if (tv != NULL) {
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	return 0;
}

time_t
time(time_t *t)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return (time_t)-1;
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
