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
