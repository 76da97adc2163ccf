/*
 * Counters for every limit event, reported by SIGUSR1 as one line of
 * name=value pairs named after the fields.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "hellod.h"

void
stats_format(const struct stats *st, char *buf, size_t len)
{
	snprintf(buf, len,
	    "conns_current=%" PRIu64 " conns_accepted=%" PRIu64
	    " conns_rejected=%" PRIu64 " requests=%" PRIu64
	    " closed_idle=%" PRIu64 " closed_line_too_long=%" PRIu64
	    " output_paused=%" PRIu64 " accept_paused=%" PRIu64
	    " reloads=%" PRIu64 " reloads_failed=%" PRIu64,
	    st->conns_current, st->conns_accepted, st->conns_rejected,
	    st->requests, st->closed_idle, st->closed_line_too_long,
	    st->output_paused, st->accept_paused, st->reloads,
	    st->reloads_failed);
}

/* Add one set of counters to a total, reading each counter whole. */
void
stats_add(struct stats *total, const struct stats *st)
{
	total->conns_accepted += STATS_GET(st->conns_accepted);
	total->conns_current += STATS_GET(st->conns_current);
	total->conns_rejected += STATS_GET(st->conns_rejected);
	total->requests += STATS_GET(st->requests);
	total->closed_idle += STATS_GET(st->closed_idle);
	total->closed_line_too_long += STATS_GET(st->closed_line_too_long);
	total->output_paused += STATS_GET(st->output_paused);
	total->accept_paused += STATS_GET(st->accept_paused);
	total->reloads += STATS_GET(st->reloads);
	total->reloads_failed += STATS_GET(st->reloads_failed);
}
