/* SPDX-License-Identifier: ISC */
/*
 * Counters for every limit event, reported by SIGUSR1 as one line of
 * name=value pairs named after the fields.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "hellod.h"

static const char *const stats_close_names[STATS_CLOSE_MAX] = {
	[STATS_CLOSE_CLIENT] = "client",
	[STATS_CLOSE_IDLE] = "idle",
	[STATS_CLOSE_TOO_LONG] = "line_too_long",
	[STATS_CLOSE_ERROR] = "error",
	[STATS_CLOSE_SHUTDOWN] = "shutdown",
	[STATS_CLOSE_PROBE] = "probe",
	[STATS_CLOSE_REJECTED] = "rejected",
};

const char *
stats_close_name(enum stats_close why)
{
	if ((unsigned)why >= STATS_CLOSE_MAX)
		return "unknown";
	return stats_close_names[why];
}

void
stats_format(const struct stats *st, char *buf, size_t len)
{
	snprintf(buf, len,
	    "conns_current=%" PRIu64 " conns_accepted=%" PRIu64
	    " conns_rejected=%" PRIu64 " conns_rejected_source=%" PRIu64
	    " conns_rejected_proxy=%" PRIu64 " requests=%" PRIu64
	    " bytes_received=%" PRIu64 " bytes_sent=%" PRIu64
	    " closed_client=%" PRIu64 " closed_idle=%" PRIu64
	    " closed_line_too_long=%" PRIu64 " closed_error=%" PRIu64
	    " closed_shutdown=%" PRIu64 " closed_probe=%" PRIu64
	    " closed_rejected=%" PRIu64
	    " output_paused=%" PRIu64 " accept_paused=%" PRIu64
	    " reloads=%" PRIu64 " reloads_failed=%" PRIu64,
	    st->conns_current, st->conns_accepted, st->conns_rejected,
	    st->conns_rejected_source, st->conns_rejected_proxy, st->requests,
	    st->bytes_received, st->bytes_sent,
	    st->closed[STATS_CLOSE_CLIENT], st->closed[STATS_CLOSE_IDLE],
	    st->closed[STATS_CLOSE_TOO_LONG], st->closed[STATS_CLOSE_ERROR],
	    st->closed[STATS_CLOSE_SHUTDOWN], st->closed[STATS_CLOSE_PROBE],
	    st->closed[STATS_CLOSE_REJECTED],
	    st->output_paused, st->accept_paused, st->reloads,
	    st->reloads_failed);
}

/* Add one set of counters to a total, reading each counter whole. */
void
stats_add(struct stats *total, const struct stats *st)
{
	int	 i;

	total->conns_accepted += STATS_GET(st->conns_accepted);
	total->conns_current += STATS_GET(st->conns_current);
	total->conns_rejected += STATS_GET(st->conns_rejected);
	total->conns_rejected_source += STATS_GET(st->conns_rejected_source);
	total->conns_rejected_proxy += STATS_GET(st->conns_rejected_proxy);
	total->requests += STATS_GET(st->requests);
	total->bytes_received += STATS_GET(st->bytes_received);
	total->bytes_sent += STATS_GET(st->bytes_sent);
	for (i = 0; i < STATS_CLOSE_MAX; i++)
		total->closed[i] += STATS_GET(st->closed[i]);
	total->output_paused += STATS_GET(st->output_paused);
	total->accept_paused += STATS_GET(st->accept_paused);
	total->reloads += STATS_GET(st->reloads);
	total->reloads_failed += STATS_GET(st->reloads_failed);
}
