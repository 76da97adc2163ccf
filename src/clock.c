/* SPDX-License-Identifier: ISC */
/*
 * The daemon's one clock for intervals: idle times, deadlines and the
 * rate of log lines.  Monotonic, so that a step of the wall clock (NTP,
 * an administrator's date(1)) neither closes every connection nor
 * silences a warning; coarse, since millisecond ticks are all it needs
 * and the coarse clock is read without a system call on the hot path.
 */
#include "config.h"

#include <stdint.h>
#include <time.h>

#include "hellod.h"

/* Milliseconds on the monotonic clock, from some unspecified start. */
uint64_t
clock_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
