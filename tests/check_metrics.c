/* SPDX-License-Identifier: ISC */
/*
 * The Prometheus exposition (metrics.c): escaping, the families in their
 * order with one HELP and one TYPE each, the samples, the bound on its
 * size; and the metrics_listen key of the config.
 */
#include "config.h"

#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_hellod.h"
#include "hellod.h"

#define NAME	"test.conf"

#define FAMILIES_MAX	64	/* more than metrics.c has */

/* The value sample_metrics() gives the counter of row i of stats_rows(). */
#define SAMPLE_STAT(i)	(1000 + 7 * (uint64_t)(i))

/* The counter of a row of stats_rows() in a struct stats. */
static uint64_t *
stat_at(struct stats *st, const struct stats_row *row)
{
	return (uint64_t *)((char *)st + row->offset);
}

/* A snapshot whose every counter differs from the others. */
static void
sample_metrics(struct metrics *m)
{
	const struct stats_row	*rows;
	size_t			 i, n;

	memset(m, 0, sizeof(*m));
	rows = stats_rows(&n);
	for (i = 0; i < n; i++)
		if (rows[i].name != NULL)
			*stat_at(&m->total, &rows[i]) = SAMPLE_STAT(i);
	m->workers = 2;
	m->accepted[0] = 60;
	m->accepted[1] = 41;
	m->version = "0.1.0";
	m->start_ms = 1700000000123ULL;
	m->notify_dropped = 13;
	m->reload_ok = 1;
	m->reload_ms = 1700000100456ULL;
	m->draining = 1;
	m->limits[0].name = "max_connections";
	m->limits[0].value = 100;
	m->limits[1].name = "idle_timeout";
	m->limits[1].unit = "seconds";
	m->limits[1].value = 30;
	m->nlimits = 2;
	m->proc.cpu_ms = 2345;
	m->proc.open_fds = 17;
	m->proc.max_fds = 1024;
	m->proc.virtual_bytes = 1000000;
	m->proc.resident_bytes = 200000;
}

static char *
format(const struct metrics *m)
{
	char	*buf;
	size_t	 len;

	buf = malloc(METRICS_MAX);
	ck_assert_ptr_nonnull(buf);
	len = metrics_format(m, buf, METRICS_MAX);
	ck_assert_uint_lt(len, METRICS_MAX);
	ck_assert_uint_eq(strlen(buf), len);
	return buf;
}

static void
check_escape(const char *in, int label, const char *want)
{
	char	 buf[64];
	size_t	 len;

	len = metrics_escape(buf, sizeof(buf), in, label);
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(len, strlen(want));
}

START_TEST(test_escape_label)
{
	check_escape("", 1, "");
	check_escape("max_connections", 1, "max_connections");
	check_escape("a\\b\"c\nd", 1, "a\\\\b\\\"c\\nd");
	check_escape("\\\\", 1, "\\\\\\\\");
	check_escape("\"\n", 1, "\\\"\\n");
	/* Other bytes, tabs and UTF-8 included, stay as they are. */
	check_escape("t\tu\xc3\xa9", 1, "t\tu\xc3\xa9");
}
END_TEST

START_TEST(test_escape_help)
{
	/* HELP escapes backslash and newline, but not the double quote. */
	check_escape("a\\b\"c\nd", 0, "a\\\\b\"c\\nd");
	check_escape("say \"hi\"", 0, "say \"hi\"");
}
END_TEST

START_TEST(test_escape_cut_short)
{
	char	 buf[5];

	/* Like snprintf: what fits, terminated, and the whole length. */
	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(metrics_escape(buf, sizeof(buf), "ab\"cd", 1), 6);
	ck_assert_str_eq(buf, "ab\\\"");
	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(metrics_escape(buf, 1, "abc", 1), 3);
	ck_assert_int_eq(buf[0], '\0');
	ck_assert_int_eq(buf[1], 'x');
	ck_assert_uint_eq(metrics_escape(NULL, 0, "a\nb", 0), 4);
}
END_TEST

/* The families of STATS_TABLE: the heads among stats_rows(). */
static size_t
stats_families(void)
{
	const struct stats_row	*rows;
	size_t			 i, n, heads = 0;

	rows = stats_rows(&n);
	for (i = 0; i < n; i++)
		heads += rows[i].name == NULL;
	return heads;
}

/* The family a line belongs to: its first word, or the third of a comment. */
static void
line_family(const char *line, char *name, size_t len)
{
	size_t	 n;

	if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0)
		line += 7;
	n = strcspn(line, " {");
	ck_assert_uint_lt(n, len);
	memcpy(name, line, n);
	name[n] = '\0';
}

/*
 * Every family in order; for each, HELP then TYPE then its samples, and
 * nothing of it anywhere else.  Every line ends in a newline.
 */
START_TEST(test_format_structure)
{
	struct metrics	 m;
	char		*text, *line, *last, name[128];
	char		 seen[FAMILIES_MAX][128];
	size_t		 f = 0, samples = 0, i;
	int		 state = 0;	/* 0: HELP next, 1: TYPE, 2: samples */

	sample_metrics(&m);
	text = format(&m);
	ck_assert_int_eq(text[strlen(text) - 1], '\n');
	ck_assert_ptr_null(strstr(text, "\n\n"));
	for (line = strtok_r(text, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last)) {
		line_family(line, name, sizeof(name));
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_msg(state != 1, "two HELP lines: %s", line);
			if (state == 2) {
				ck_assert_uint_gt(samples, 0);
				f++;
			}
			ck_assert_uint_lt(f, FAMILIES_MAX);
			for (i = 0; i < f; i++)
				ck_assert_str_ne(seen[i], name);
			snprintf(seen[f], sizeof(seen[f]), "%s", name);
			/* Some text after the name. */
			ck_assert_uint_gt(strlen(line), 7 + strlen(name) + 1);
			state = 1;
			samples = 0;
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_msg(state == 1, "TYPE without HELP: %s", line);
			ck_assert_str_eq(name, seen[f]);
			ck_assert_msg(strcmp(line + 7 + strlen(name),
			    " counter") == 0 || strcmp(line + 7 + strlen(name),
			    " gauge") == 0, "%s", line);
			/* Counters, and only they, end in _total. */
			ck_assert_int_eq(strstr(line, " counter") != NULL,
			    strlen(name) > 6 &&
			    strcmp(name + strlen(name) - 6, "_total") == 0);
			state = 2;
		} else {
			ck_assert_msg(line[0] != '#', "stray comment: %s", line);
			ck_assert_msg(state == 2, "sample before TYPE: %s", line);
			ck_assert_str_eq(name, seen[f]);
			samples++;
		}
	}
	ck_assert_int_eq(state, 2);
	ck_assert_uint_gt(samples, 0);
	/* The families of sample_metrics(): STATS_TABLE's, 13 others,
	 * and its 2 limits. */
	ck_assert_uint_eq(f + 1, stats_families() + 13 + 2);
	free(text);
}
END_TEST

/*
 * The table itself: every family opens with a head, every head has a
 * counter, a label has values and no value comes without one; each
 * counter at an offset of its own.
 */
START_TEST(test_stats_rows)
{
	const struct stats_row	*rows, *head = NULL;
	size_t			 i, j, n, members = 0;

	rows = stats_rows(&n);
	ck_assert_uint_gt(n, 0);
	ck_assert_ptr_null(rows[0].name);
	for (i = 0; i < n; i++) {
		if (rows[i].name == NULL) {
			ck_assert(head == NULL || members > 0);
			head = &rows[i];
			members = 0;
			ck_assert_ptr_nonnull(head->family);
			ck_assert_ptr_nonnull(head->help);
			ck_assert(strcmp(head->type, "counter") == 0 ||
			    strcmp(head->type, "gauge") == 0);
			continue;
		}
		members++;
		ck_assert_int_eq(head->label == NULL, rows[i].value == NULL);
		ck_assert_uint_le(rows[i].offset + sizeof(uint64_t),
		    sizeof(struct stats));
		for (j = 0; j < i; j++)
			if (rows[j].name != NULL) {
				ck_assert_str_ne(rows[j].name, rows[i].name);
				ck_assert_uint_ne(rows[j].offset,
				    rows[i].offset);
			}
	}
	ck_assert_uint_gt(members, 0);
}
END_TEST

/* The stats_add() of two sets: each counter of the table adds up, and
 * stats_format() names each in the table's order. */
START_TEST(test_stats_add_format)
{
	const struct stats_row	*rows;
	struct stats		 a, b;
	char			 text[SERVER_STATS_MAX], want[64], *p;
	size_t			 i, n;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	rows = stats_rows(&n);
	for (i = 0; i < n; i++)
		if (rows[i].name != NULL) {
			*stat_at(&a, &rows[i]) = SAMPLE_STAT(i);
			*stat_at(&b, &rows[i]) = 2 * SAMPLE_STAT(i);
		}
	stats_add(&a, &b);
	stats_format(&a, text, sizeof(text));
	p = text;
	for (i = 0; i < n; i++) {
		if (rows[i].name == NULL)
			continue;
		ck_assert_uint_eq(*stat_at(&a, &rows[i]), 3 * SAMPLE_STAT(i));
		snprintf(want, sizeof(want), "%s%s=%llu", p == text ? "" : " ",
		    rows[i].name, (unsigned long long)3 * SAMPLE_STAT(i));
		ck_assert_msg(strncmp(p, want, strlen(want)) == 0,
		    "want %s at %s", want, p);
		p += strlen(want);
	}
	ck_assert_str_eq(p, "");
	/* Cut short, it stays terminated. */
	stats_format(&a, want, sizeof(want));
	ck_assert_uint_lt(strlen(want), sizeof(want));
	ck_assert_int_eq(strncmp(want, text, strlen(want)), 0);
	/* The largest counters fit STATS_FORMAT_MAX. */
	memset(&b, 0xff, sizeof(b));
	stats_format(&b, text, sizeof(text));
	ck_assert_uint_lt(strlen(text), STATS_FORMAT_MAX);
	ck_assert_ptr_nonnull(strstr(text, "=18446744073709551615"));
}
END_TEST

/*
 * The samples, exactly and in order: STATS_TABLE's from stats_rows(),
 * after build_info, then the others.
 */
START_TEST(test_format_samples)
{
	static const char *const want[] = {
		"hellod_build_info{version=\"0.1.0\"} 1",
		NULL,	/* STATS_TABLE's */
		"hellod_worker_connections_accepted_total{worker=\"0\"} 60",
		"hellod_worker_connections_accepted_total{worker=\"1\"} 41",
		"hellod_workers 2",
		"hellod_systemd_notify_dropped_total 13",
		"hellod_config_last_reload_successful 1",
		"hellod_config_last_reload_success_timestamp_seconds "
		    "1700000100.456",
		"hellod_draining 1",
		"hellod_max_connections 100",
		"hellod_idle_timeout_seconds 30",
		"process_cpu_seconds_total 2.345",
		"process_open_fds 17",
		"process_max_fds 1024",
		"process_virtual_memory_bytes 1000000",
		"process_resident_memory_bytes 200000",
		"process_start_time_seconds 1700000000.123",
	};
	const struct stats_row	*rows, *head = NULL;
	struct metrics		 m;
	char			*text, *line, *last, stat[256];
	size_t			 i = 0, j = 0, n;

	rows = stats_rows(&n);
	sample_metrics(&m);
	text = format(&m);
	for (line = strtok_r(text, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last)) {
		if (line[0] == '#')
			continue;
		ck_assert_uint_lt(i, sizeof(want) / sizeof(want[0]));
		if (want[i] != NULL) {
			ck_assert_str_eq(line, want[i]);
			i++;
			continue;
		}
		while (rows[j].name == NULL)
			head = &rows[j++];
		if (head->label != NULL)
			snprintf(stat, sizeof(stat), "%s{%s=\"%s\"} %llu",
			    head->family, head->label, rows[j].value,
			    (unsigned long long)SAMPLE_STAT(j));
		else
			snprintf(stat, sizeof(stat), "%s %llu", head->family,
			    (unsigned long long)SAMPLE_STAT(j));
		ck_assert_str_eq(line, stat);
		if (++j == n)
			i++;
	}
	ck_assert_uint_eq(i, sizeof(want) / sizeof(want[0]));
	free(text);
}
END_TEST

/* Every close reason stats.c knows is a label value. */
START_TEST(test_format_close_reasons)
{
	struct metrics	 m;
	char		*text, want[128];
	int		 i;

	sample_metrics(&m);
	text = format(&m);
	for (i = 0; i < STATS_CLOSE_MAX; i++) {
		snprintf(want, sizeof(want),
		    "\nhellod_connections_closed_total{reason=\"%s\"} %llu\n",
		    stats_close_name(i), (unsigned long long)m.total.closed[i]);
		ck_assert_msg(strstr(text, want) != NULL, "no %s", want);
	}
	free(text);
}
END_TEST

START_TEST(test_format_escapes_version)
{
	struct metrics	 m;
	char		*text;

	sample_metrics(&m);
	m.version = "1.0 \"x\\y\"\nz";
	text = format(&m);
	ck_assert_ptr_nonnull(strstr(text,
	    "\nhellod_build_info{version=\"1.0 \\\"x\\\\y\\\"\\nz\"} 1\n"));
	free(text);
}
END_TEST

START_TEST(test_format_start_time)
{
	struct metrics	 m;
	char		*text;

	sample_metrics(&m);
	m.start_ms = 1000000000007ULL;
	text = format(&m);
	ck_assert_ptr_nonnull(strstr(text,
	    "\nprocess_start_time_seconds 1000000000.007\n"));
	free(text);
}
END_TEST

/* The largest counters still fit METRICS_MAX; a short buffer is cut
 * short but terminated, and told the whole length. */
START_TEST(test_format_bounds)
{
	struct metrics	 m;
	char		*full, small[100];
	size_t		 len, i;

	struct config	*conf;

	memset(&m, 0xff, sizeof(m));
	m.version = PACKAGE_VERSION;
	m.workers = WORKER_MAX;
	conf = config_default();
	ck_assert_ptr_nonnull(conf);
	m.nlimits = config_limits(conf, m.limits, CONFIG_LIMITS_MAX);
	config_free(conf);
	for (i = 0; i < m.nlimits; i++)
		m.limits[i].value = UINT64_MAX;
	/* The largest values shown: PROC_UNKNOWN is left out. */
	m.reload_ms = m.start_ms = UINT64_MAX - 1;
	m.proc.cpu_ms = m.proc.open_fds = m.proc.max_fds = UINT64_MAX - 1;
	m.proc.virtual_bytes = m.proc.resident_bytes = UINT64_MAX - 1;
	m.notify_dropped = m.reload_ok = UINT64_MAX - 1;
	full = format(&m);
	ck_assert_ptr_nonnull(strstr(full,
	    "\nhellod_requests_total 18446744073709551615\n"));
	ck_assert_ptr_nonnull(strstr(full, "\nhellod_worker_connections_"
	    "accepted_total{worker=\"255\"} 18446744073709551615\n"));
	ck_assert_ptr_nonnull(strstr(full,
	    "\nprocess_resident_memory_bytes 18446744073709551614\n"));
	len = strlen(full);

	memset(small, 'x', sizeof(small));
	ck_assert_uint_eq(metrics_format(&m, small, sizeof(small)), len);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_int_eq(strncmp(small, full, sizeof(small) - 1), 0);
	ck_assert_uint_eq(metrics_format(&m, NULL, 0), len);
	/* Cut anywhere, it agrees with the whole. */
	for (i = 1; i < len; i += 97) {
		char	*cut = malloc(i);

		ck_assert_ptr_nonnull(cut);
		ck_assert_uint_eq(metrics_format(&m, cut, i), len);
		ck_assert_uint_eq(strlen(cut), i - 1);
		ck_assert_int_eq(strncmp(cut, full, i - 1), 0);
		free(cut);
	}
	free(full);
}
END_TEST

/* A value that could not be read: its family, but no sample. */
START_TEST(test_format_unknown)
{
	struct metrics	 m;
	char		*text;

	sample_metrics(&m);
	m.proc.open_fds = PROC_UNKNOWN;
	m.proc.cpu_ms = PROC_UNKNOWN;
	text = format(&m);
	ck_assert_ptr_nonnull(strstr(text, "\n# TYPE process_open_fds gauge\n"
	    "# HELP process_max_fds "));
	ck_assert_ptr_nonnull(strstr(text,
	    "\n# TYPE process_cpu_seconds_total counter\n# HELP "));
	ck_assert_ptr_nonnull(strstr(text, "\nprocess_max_fds 1024\n"));
	free(text);
}
END_TEST

/* The limits of a config, as written in its file, with their units. */
START_TEST(test_config_limits)
{
	static const char	 text[] =
	    "max_connections = 77\nidle_timeout = 33\n"
	    "max_line_length = 2k\nmax_output = 4096\n"
	    "shutdown_timeout = 4\nmax_connections_per_source = 5\n"
	    "proxy_timeout = 6\n";
	static const struct {
		const char	*name;
		const char	*unit;
		uint64_t	 value;
	} want[] = {
		{ "max_connections", NULL, 77 },
		{ "idle_timeout", "seconds", 33 },
		{ "max_line_length", "bytes", 2048 },
		{ "max_output", "bytes", 4096 },
		{ "shutdown_timeout", "seconds", 4 },
		{ "max_connections_per_source", NULL, 5 },
		{ "proxy_timeout", "seconds", 6 },
	};
	struct config_limit	 got[CONFIG_LIMITS_MAX];
	struct config		*conf;
	size_t			 n, i;

	conf = check_conf(text);
	n = config_limits(conf, got, CONFIG_LIMITS_MAX);
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(got[i].name, want[i].name);
		if (want[i].unit == NULL)
			ck_assert_ptr_null(got[i].unit);
		else
			ck_assert_str_eq(got[i].unit, want[i].unit);
		ck_assert_uint_eq(got[i].value, want[i].value);
	}
	/* As many as fit. */
	ck_assert_uint_eq(config_limits(conf, got, 2), 2);
	ck_assert_str_eq(got[1].name, "idle_timeout");
	config_free(conf);
}
END_TEST

/* proc.c */

/* A line as Linux writes it, comm with a blank and a ')' of its own. */
static const char proc_line[] =
    "4242 (hel lo) d) S 1 4242 4242 0 -1 4194624 1363 0 0 0 250 130 0 0 "
    "20 0 3 0 98765 87003136 559 18446744073709551615 1 1 0 0 0 0 0 4096 "
    "17920 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

START_TEST(test_proc_stat_parse)
{
	struct proc_stat	 ps;
	char			 buf[sizeof(proc_line)];
	char			*p;

	ck_assert_int_eq(proc_stat_parse(proc_line, strlen(proc_line), &ps),
	    0);
	ck_assert_uint_eq(ps.cpu_ticks, 250 + 130);
	ck_assert_uint_eq(ps.vsize, 87003136);
	ck_assert_uint_eq(ps.rss_pages, 559);
	/* Cut right after the rss field: still whole. */
	p = strstr(proc_line, " 559 ");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(proc_stat_parse(proc_line, p + 4 - proc_line, &ps),
	    0);
	ck_assert_uint_eq(ps.rss_pages, 559);
	/* Cut inside it: the digits there (a read is of the whole line);
	 * before it: refused. */
	ck_assert_int_eq(proc_stat_parse(proc_line, p + 2 - proc_line, &ps),
	    0);
	ck_assert_uint_eq(ps.rss_pages, 5);
	ck_assert_int_eq(proc_stat_parse(proc_line, p - proc_line, &ps), -1);
	ck_assert_int_eq(proc_stat_parse("", 0, &ps), -1);
	ck_assert_int_eq(proc_stat_parse("4242 (x", 7, &ps), -1);
	ck_assert_int_eq(proc_stat_parse("4242 (x)", 8, &ps), -1);
	/* A field that is not a number. */
	memcpy(buf, proc_line, sizeof(buf));
	p = strstr(buf, " 250 ");
	p[1] = 'x';
	ck_assert_int_eq(proc_stat_parse(buf, strlen(buf), &ps), -1);
}
END_TEST

/* The real thing, against what this process knows of itself. */
START_TEST(test_proc_usage)
{
	struct proc_usage	 pu, again;
	struct rlimit		 rl;
	int			 fd;

	proc_usage(&pu);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_uint_eq(pu.max_fds, rl.rlim_cur);
	ck_assert_uint_ne(pu.cpu_ms, PROC_UNKNOWN);
	ck_assert_uint_gt(pu.virtual_bytes, pu.resident_bytes);
	ck_assert_uint_gt(pu.resident_bytes, 0);
	ck_assert_uint_ge(pu.open_fds, 3);
	/* One more descriptor, one more counted. */
	fd = dup(0);
	ck_assert_int_ne(fd, -1);
	proc_usage(&again);
	close(fd);
	ck_assert_uint_eq(again.open_fds, pu.open_fds + 1);
	ck_assert_uint_ge(again.cpu_ms, pu.cpu_ms);
}
END_TEST

/* metrics_listen in the config */

static struct config *
parse(const char *text, char **errors)
{
	struct config	*conf;
	FILE		*fp;

	fp = fmemopen((void *)text, strlen(text), "r");
	ck_assert_msg(fp != NULL, "fmemopen: %s", strerror(errno));
	conf = config_parse(fp, NAME, errors);
	fclose(fp);
	return conf;
}

static void
listen_ok(const char *value, int family, const char *host, int port)
{
	struct config	*conf;
	char		 text[256], *errors, buf[INET6_ADDRSTRLEN];

	snprintf(text, sizeof(text), "metrics_listen = %s\n", value);
	conf = parse(text, &errors);
	ck_assert_msg(conf != NULL, "%s: %s", value, errors);
	ck_assert_int_eq(conf->metrics_listen.ss.ss_family, family);
	ck_assert_str_eq(check_host(&conf->metrics_listen, buf, sizeof(buf)),
	    host);
	ck_assert_int_eq(addr_get_port((struct sockaddr *)
	    &conf->metrics_listen.ss), port);
	config_free(conf);
}

static void
listen_bad(const char *value, const char *what)
{
	struct config	*conf;
	char		 text[256], want[256], *errors;

	snprintf(text, sizeof(text), "port = 1\nmetrics_listen = %s\n", value);
	snprintf(want, sizeof(want), NAME ":2: metrics_listen: %s", what);
	conf = parse(text, &errors);
	ck_assert_msg(conf == NULL, "accepted %s", value);
	ck_assert_ptr_nonnull(errors);
	ck_assert_msg(strncmp(errors, want, strlen(want)) == 0,
	    "%s: got %s", value, errors);
	/* One error, one line. */
	ck_assert_ptr_eq(strchr(errors, '\n'), errors + strlen(errors) - 1);
	free(errors);
}

START_TEST(test_listen_default_off)
{
	struct config	*conf;

	conf = config_default();
	ck_assert_ptr_nonnull(conf);
	ck_assert_uint_eq(conf->metrics_listen.len, 0);
	config_free(conf);
}
END_TEST

START_TEST(test_listen_good)
{
	listen_ok("127.0.0.1:9100", AF_INET, "127.0.0.1", 9100);
	listen_ok("0.0.0.0:1", AF_INET, "0.0.0.0", 1);
	listen_ok("127.0.0.1:0", AF_INET, "127.0.0.1", 0);
	listen_ok("[::1]:65535", AF_INET6, "::1", 65535);
	listen_ok("[::]:5001", AF_INET6, "::", 5001);
	listen_ok("\"[fe80::1]:80\"", AF_INET6, "fe80::1", 80);
}
END_TEST

START_TEST(test_listen_bad)
{
	static const char *const not_hostport[] = {
		"127.0.0.1", "9100", ":9100", "127.0.0.1:", "[::1]", "::1:9100",
		"::1", "*:9100", "localhost:9100", "[127.0.0.1]:9100",
		"127.0.0.1,::1:9100", "[::1]9100", "1.2.3.4.5:9100",
		"[::1:9100",
	};
	size_t	 i;

	for (i = 0; i < sizeof(not_hostport) / sizeof(not_hostport[0]); i++)
		listen_bad(not_hostport[i], "'");
	listen_bad("127.0.0.1:65536", "port '65536' is not a number from 0 "
	    "to 65535");
	listen_bad("127.0.0.1:-1", "port '-1'");
	listen_bad("127.0.0.1:x", "port 'x'");
	listen_bad("127.0.0.1:9100x", "port '9100x'");
	listen_bad("127.0.0.1: 9100", "port ' 9100'");
	listen_bad("127.0.0.1:99999999999999999999", "port '9999");
}
END_TEST

/* The dump shows it as it reads back. */
START_TEST(test_listen_dump)
{
	struct config	*conf, *again;
	char		*text, *errors;
	size_t		 len;
	FILE		*fp;

	conf = parse("metrics_listen = [::1]:5001\n", &errors);
	ck_assert_ptr_nonnull(conf);
	fp = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(fp);
	config_dump(conf, NULL, fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(text, "\nmetrics_listen = [::1]:5001\n"));
	again = parse(text, &errors);
	ck_assert_ptr_nonnull(again);
	ck_assert(addr_equal(&conf->metrics_listen, &again->metrics_listen));
	free(text);
	config_free(again);
	config_free(conf);

	conf = config_default();
	ck_assert_ptr_nonnull(conf);
	fp = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(fp);
	config_dump(conf, NULL, fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(text, "\n#metrics_listen =\n"));
	free(text);
	config_free(conf);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("metrics");

	tc = tcase_create("escape");
	tcase_add_test(tc, test_escape_label);
	tcase_add_test(tc, test_escape_help);
	tcase_add_test(tc, test_escape_cut_short);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, test_stats_rows);
	tcase_add_test(tc, test_stats_add_format);
	tcase_add_test(tc, test_format_structure);
	tcase_add_test(tc, test_format_samples);
	tcase_add_test(tc, test_format_close_reasons);
	tcase_add_test(tc, test_format_escapes_version);
	tcase_add_test(tc, test_format_start_time);
	tcase_add_test(tc, test_format_bounds);
	tcase_add_test(tc, test_format_unknown);
	tcase_add_test(tc, test_config_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("proc");
	tcase_add_test(tc, test_proc_stat_parse);
	tcase_add_test(tc, test_proc_usage);
	suite_add_tcase(s, tc);

	tc = tcase_create("metrics_listen");
	tcase_add_test(tc, test_listen_default_off);
	tcase_add_test(tc, test_listen_good);
	tcase_add_test(tc, test_listen_bad);
	tcase_add_test(tc, test_listen_dump);
	suite_add_tcase(s, tc);
	return s;
}
