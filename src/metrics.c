/* SPDX-License-Identifier: ISC */
/*
 * The counters in the Prometheus text exposition format, version 0.0.4:
 * for each family one "# HELP" line, one "# TYPE" line, then its samples,
 * the families in the order of metrics_families[].  A pure function of a
 * snapshot (struct metrics) handed to it: nothing here knows where the
 * numbers come from.
 *
 * Escaping, as the format asks: in a label value a backslash, a double
 * quote and a newline become \\, \" and \n; in HELP text a backslash and
 * a newline do (a quote stays).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hellod.h"

enum metrics_kind {
	METRICS_BUILD,		/* {version="..."} 1 */
	METRICS_STATS,		/* the families of stats_rows() */
	METRICS_BY_WORKER,	/* {worker}: accepted[] */
	METRICS_WORKERS,
	METRICS_VALUE,		/* a uint64_t of struct metrics */
	METRICS_MS,		/* one in ms, shown in seconds */
	METRICS_LIMITS,		/* a family for each of limits[] */
};

struct metrics_family {
	const char		*name;
	const char		*type;
	enum metrics_kind	 kind;
	size_t			 offset;	/* of the value, by kind */
	const char		*help;
};

#define SNAP(f)	offsetof(struct metrics, f)
static const struct metrics_family metrics_families[] = {
	{ "hellod_build_info", "gauge", METRICS_BUILD, 0,
	    "The version of hellod running, as a label; always 1." },
	{ "hellod_", "counter", METRICS_STATS, 0,
	    "The families of STATS_TABLE (hellod.h), in its order." },
	{ "hellod_worker_connections_accepted_total", "counter",
	    METRICS_BY_WORKER, 0,
	    "Connections accepted and served, by worker (event loop)." },
	{ "hellod_workers", "gauge", METRICS_WORKERS, 0,
	    "Event loops serving connections." },
	{ "hellod_systemd_notify_dropped_total", "counter", METRICS_VALUE,
	    SNAP(notify_dropped),
	    "Notifications to the service manager that could not be sent." },
	{ "hellod_config_last_reload_successful", "gauge", METRICS_VALUE,
	    SNAP(reload_ok),
	    "Whether the last configuration load succeeded (1) or failed "
	    "(0)." },
	{ "hellod_config_last_reload_success_timestamp_seconds", "gauge",
	    METRICS_MS, SNAP(reload_ms),
	    "Time of the last successful configuration load, the start's "
	    "included, since the Unix epoch in seconds." },
	{ "hellod_draining", "gauge", METRICS_VALUE, SNAP(draining),
	    "Whether a stop signal has come (1): stop_grace, then the stop; "
	    "the agent says drain and /readyz answers 503." },
	{ "hellod_", "gauge", METRICS_LIMITS, 0,
	    "A family for each limit of the running configuration." },
	{ "process_cpu_seconds_total", "counter", METRICS_MS,
	    SNAP(proc.cpu_ms),
	    "Total user and system CPU time spent in seconds." },
	{ "process_open_fds", "gauge", METRICS_VALUE, SNAP(proc.open_fds),
	    "Number of open file descriptors." },
	{ "process_max_fds", "gauge", METRICS_VALUE, SNAP(proc.max_fds),
	    "Maximum number of open file descriptors." },
	{ "process_virtual_memory_bytes", "gauge", METRICS_VALUE,
	    SNAP(proc.virtual_bytes), "Virtual memory size in bytes." },
	{ "process_resident_memory_bytes", "gauge", METRICS_VALUE,
	    SNAP(proc.resident_bytes), "Resident memory size in bytes." },
	{ "process_start_time_seconds", "gauge", METRICS_MS, SNAP(start_ms),
	    "Start time of the process since the Unix epoch in seconds." },
};
#define NFAMILIES	(sizeof(metrics_families) / sizeof(metrics_families[0]))

/* Like snprintf: writes what fits, always terminated; len is what the
 * whole text needs. */
struct metrics_out {
	char	*buf;
	size_t	 size;
	size_t	 len;
};

static void
metrics_put(struct metrics_out *o, const char *s, size_t n)
{
	size_t	 k;

	if (o->len < o->size) {
		k = o->size - o->len - 1;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, s, k);
		o->buf[o->len + k] = '\0';
	}
	o->len += n;
}

static void HELLOD_PRINTF(2, 3)
metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	if (o->len < o->size)
		n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += n;
}

static void
metrics_put_escaped(struct metrics_out *o, const char *s, int label)
{
	const char	*run;

	for (run = s; *s != '\0'; s++) {
		if (*s != '\\' && *s != '\n' && (*s != '"' || !label))
			continue;
		metrics_put(o, run, s - run);
		metrics_put(o, *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" :
		    "\\n", 2);
		run = s + 1;
	}
	metrics_put(o, run, s - run);
}

/*
 * src escaped as a label value (label set) or as HELP text, into dst
 * (size bytes, always terminated).  Returns the length of the whole
 * escaped text: it was cut short if that is size or more.
 */
size_t
metrics_escape(char *dst, size_t size, const char *src, int label)
{
	struct metrics_out	 o = { dst, size, 0 };

	if (size > 0)
		dst[0] = '\0';
	metrics_put_escaped(&o, src, label);
	return o.len;
}

/* The uint64_t at offset in a struct stats or a struct metrics. */
static uint64_t
metrics_stat(const void *st, size_t offset)
{
	uint64_t	 v;

	memcpy(&v, (const char *)st + offset, sizeof(v));
	return v;
}

/* One sample line; label NULL for none. */
static void
metrics_sample(struct metrics_out *o, const char *name, const char *label,
    const char *value, uint64_t n)
{
	metrics_put(o, name, strlen(name));
	if (label != NULL) {
		metrics_printf(o, "{%s=\"", label);
		metrics_put_escaped(o, value, 1);
		metrics_put(o, "\"}", 2);
	}
	metrics_printf(o, " %" PRIu64 "\n", n);
}

static void
metrics_head(struct metrics_out *o, const char *name, const char *type)
{
	metrics_printf(o, "\n# TYPE %s %s\n", name, type);
}

/* A family's HELP and TYPE lines. */
static void
metrics_help(struct metrics_out *o, const char *name, const char *type,
    const char *help)
{
	metrics_printf(o, "# HELP %s ", name);
	metrics_put_escaped(o, help, 0);
	metrics_head(o, name, type);
}

/*
 * The families of STATS_TABLE, from stats_rows(): a head's HELP and TYPE,
 * then a sample for each of its counters.
 */
static void
metrics_stats(struct metrics_out *o, const struct stats *total)
{
	const struct stats_row	*rows, *head = NULL;
	size_t			 i, n;

	rows = stats_rows(&n);
	for (i = 0; i < n; i++) {
		if (rows[i].name == NULL) {
			head = &rows[i];
			metrics_help(o, head->family, head->type, head->help);
		} else if (head != NULL)
			metrics_sample(o, head->family, head->label,
			    rows[i].value, metrics_stat(total,
			    rows[i].offset));
	}
}

/*
 * A family for each limit of the running config: f->name, the key and its
 * unit, "hellod_idle_timeout_seconds" (no character of a key's name needs
 * escaping).
 */
static void
metrics_limits(struct metrics_out *o, const struct metrics_family *f,
    const struct metrics *m)
{
	const struct config_limit	*l;
	char				 name[128];
	size_t				 i;

	for (i = 0; i < m->nlimits && i < CONFIG_LIMITS_MAX; i++) {
		l = &m->limits[i];
		snprintf(name, sizeof(name), "%s%s%s%s", f->name, l->name,
		    l->unit != NULL ? "_" : "", l->unit != NULL ? l->unit : "");
		metrics_printf(o, "# HELP %s The running configuration's "
		    "%s%s%s (hellod.conf(5)).", name, l->name,
		    l->unit != NULL ? ", in " : "",
		    l->unit != NULL ? l->unit : "");
		metrics_head(o, name, f->type);
		metrics_sample(o, name, NULL, NULL, l->value);
	}
}

/*
 * The whole exposition of m into buf (size bytes, always terminated when
 * size > 0).  Returns its length: it was cut short if that is size or more.
 */
size_t
metrics_format(const struct metrics *m, char *buf, size_t size)
{
	const struct metrics_family	*f;
	struct metrics_out		 o = { buf, size, 0 };
	char				 worker[16];
	uint64_t			 v;
	size_t				 i, j;

	if (size > 0)
		buf[0] = '\0';
	for (i = 0; i < NFAMILIES; i++) {
		f = &metrics_families[i];
		if (f->kind == METRICS_LIMITS) {
			metrics_limits(&o, f, m);
			continue;
		}
		if (f->kind == METRICS_STATS) {
			metrics_stats(&o, &m->total);
			continue;
		}
		metrics_help(&o, f->name, f->type, f->help);
		switch (f->kind) {
		case METRICS_BUILD:
			metrics_sample(&o, f->name, "version", m->version, 1);
			break;
		case METRICS_BY_WORKER:
			for (j = 0; j < m->workers && j < WORKER_MAX; j++) {
				snprintf(worker, sizeof(worker), "%zu", j);
				metrics_sample(&o, f->name, "worker", worker,
				    m->accepted[j]);
			}
			break;
		case METRICS_WORKERS:
			metrics_sample(&o, f->name, NULL, NULL, m->workers);
			break;
		case METRICS_VALUE:
			v = metrics_stat(m, f->offset);
			if (v != PROC_UNKNOWN)
				metrics_sample(&o, f->name, NULL, NULL, v);
			break;
		case METRICS_MS:
			v = metrics_stat(m, f->offset);
			if (v != PROC_UNKNOWN)
				metrics_printf(&o, "%s %" PRIu64 ".%03u\n",
				    f->name, v / 1000, (unsigned)(v % 1000));
			break;
		case METRICS_STATS:
		case METRICS_LIMITS:
			break;
		}
	}
	return o.len;
}
