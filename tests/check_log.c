/* SPDX-License-Identifier: ISC */
/*
 * check_log.c: the log API in src/log.c, as stderr receives it.
 *
 * Each test sends stderr to an unlinked temporary file for the lines it
 * logs, and puts stderr and the log's settings back afterwards (with
 * CK_FORK=no every test shares the process).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "check_hellod.h"
#include "hellod.h"

static FILE	*capture_fp;
static int	 capture_saved = -1;

/* From here on, stderr goes to a file; the log to stderr at level. */
static void
capture_start(int level, int journal)
{
	fflush(stderr);
	capture_fp = tmpfile();
	ck_assert_ptr_nonnull(capture_fp);
	capture_saved = dup(STDERR_FILENO);
	ck_assert_int_ge(capture_saved, 0);
	ck_assert_int_eq(dup2(fileno(capture_fp), STDERR_FILENO),
	    STDERR_FILENO);
	log_init(LOG_TO_STDERR, level, NULL);	/* not a terminal now */
	log_set_journal(journal);
}

/* What stderr received since capture_start(), which the caller frees. */
static char *
capture_end(void)
{
	char	*text;
	long	 len;

	fflush(stderr);
	ck_assert_int_eq(dup2(capture_saved, STDERR_FILENO), STDERR_FILENO);
	close(capture_saved);
	capture_saved = -1;
	log_set_journal(0);
	log_init(LOG_TO_STDERR, LOG_INFO, NULL);

	ck_assert_int_eq(fseek(capture_fp, 0, SEEK_END), 0);
	len = ftell(capture_fp);
	ck_assert_int_ge(len, 0);
	rewind(capture_fp);
	text = malloc(len + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, len, capture_fp), (size_t)len);
	text[len] = '\0';
	fclose(capture_fp);
	capture_fp = NULL;
	return text;
}

/*
 * Which function logs at which priority, and the name
 * each priority is shown with, from the one table there is.
 */
START_TEST(test_levels)
{
	char	*text;

	capture_start(LOG_DEBUG, 1);
	errno = ENOENT;
	log_warn("warn");
	log_warnx("warnx");
	log_errorx("errorx");
	log_notice("notice");
	log_info("info");
	log_debug("debug");
	text = capture_end();
	ck_assert_str_eq(text,
	    "<4>warn: No such file or directory\n"
	    "<4>warnx\n"
	    "<3>errorx\n"
	    "<5>notice\n"
	    "<6>info\n"
	    "<7>debug\n");
	free(text);

	/* Without journald: the level's name, the one log_level takes. */
	capture_start(LOG_DEBUG, 0);
	log_warnx("w");
	log_errorx("e");
	log_notice("n");
	log_info("i");
	log_debug("d");
	text = capture_end();
	ck_assert_str_eq(text, "warning: w\nerror: e\nnotice: n\ninfo: i\n"
	    "debug: d\n");
	free(text);
	ck_assert_str_eq(log_level_name(LOG_CRIT), "crit");
	ck_assert_str_eq(log_level_name(LOG_ERR), "error");
	ck_assert_str_eq(log_level_name(LOG_WARNING), "warning");
	ck_assert_str_eq(log_level_name(8), "?");
	ck_assert_str_eq(log_level_name(-1), "?");
	ck_assert_int_eq(log_level_parse("warning"), LOG_WARNING);
	ck_assert_int_eq(log_level_parse("crit"), LOG_CRIT);
	ck_assert_int_eq(log_level_parse("warn"), -1);
	ck_assert_int_eq(log_level_parse("?"), -1);
}
END_TEST

/* Below the level nothing is written, and errno is kept either way. */
START_TEST(test_threshold)
{
	char	*text;

	capture_start(LOG_WARNING, 0);
	errno = EAGAIN;
	log_info("not shown");
	log_debug("not shown");
	ck_assert_int_eq(errno, EAGAIN);
	log_warn("shown");
	ck_assert_int_eq(errno, EAGAIN);
	log_setlevel(LOG_ERR);
	log_warnx("not shown");
	log_errorx("shown too");
	text = capture_end();
	ck_assert_str_eq(text, "warning: shown: Resource temporarily "
	    "unavailable\nerror: shown too\n");
	free(text);
}
END_TEST

/*
 * A line longer than any buffer of log.c's, such as the
 * SIGUSR1 stats of WORKER_MAX workers, is logged whole, in one line.
 */
START_TEST(test_long_line_whole)
{
	char	*text, *want, *big;
	size_t	 len = SERVER_STATS_MAX + 1000, i;

	big = malloc(len + 1);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < len; i++)
		big[i] = 'a' + i % 26;
	big[len] = '\0';
	ck_assert_int_ne(asprintf(&want, "info: stats: %s\n"
	    "warning: %s: Permission denied\n<5>%s\n", big, big, big), -1);

	capture_start(LOG_INFO, 0);
	log_info("stats: %s", big);
	errno = EACCES;
	log_warn("%s", big);
	log_set_journal(1);
	log_notice("%s", big);
	text = capture_end();
	ck_assert_uint_eq(strlen(text), strlen(want));
	ck_assert_str_eq(text, want);
	free(text);
	free(want);
	free(big);
}
END_TEST

/* Each byte value alone, against the format written out here once more. */
START_TEST(test_escape_every_byte)
{
	unsigned char	 c;
	char		 buf[8], want[8];
	int		 i;

	for (i = 0; i < 256; i++) {
		c = (unsigned char)i;
		if (c == '\\')
			snprintf(want, sizeof(want), "\\\\");
		else if (c == '\r')
			snprintf(want, sizeof(want), "\\r");
		else if (c == '\n')
			snprintf(want, sizeof(want), "\\n");
		else if (c == '\t')
			snprintf(want, sizeof(want), "\\t");
		else if (c >= 0x20 && c <= 0x7e)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "\\x%02x", c);
		memset(buf, 'Z', sizeof(buf));
		ck_assert_ptr_eq(log_escape(buf, sizeof(buf), &c, 1), buf);
		ck_assert_msg(strcmp(buf, want) == 0, "byte 0x%02x: \"%s\", "
		    "not \"%s\"", i, buf, want);
	}
}
END_TEST

/* A NUL is a byte like any other; nothing in is an empty string out. */
START_TEST(test_escape_nul_and_empty)
{
	char	 buf[32];

	ck_assert_str_eq(log_escape(buf, sizeof(buf), "a\0b", 3), "a\\x00b");
	ck_assert_str_eq(log_escape(buf, sizeof(buf), "GET /\x1b[2J\r\n", 11),
	    "GET /\\x1b[2J\\r\\n");
	memset(buf, 'Z', sizeof(buf));
	ck_assert_str_eq(log_escape(buf, sizeof(buf), "abc", 0), "");
	ck_assert_str_eq(log_escape(buf, sizeof(buf), NULL, 0), "");
}
END_TEST

/*
 * Cut to fit, never inside an escape, and said so with "..."; what fits
 * exactly is not cut; dst is always terminated and nothing is written
 * past it.
 */
START_TEST(test_escape_truncation)
{
	static const char	 mixed[] = "a\x1b" "b\\c\rd\x80";
	char			 full[64], buf[64 + 1], part[64];
	size_t			 len, n, k;

	ck_assert_str_eq(log_escape(buf, 8, "abcdefg", 7), "abcdefg");
	ck_assert_str_eq(log_escape(buf, 8, "abcdefgh", 8), "abcd...");
	ck_assert_str_eq(log_escape(buf, 10, "\x1b\x1b\x1b", 3), "\\x1b...");
	ck_assert_str_eq(log_escape(buf, 3, "abcdefgh", 8), "..");
	ck_assert_str_eq(log_escape(buf, 1, "abcdefgh", 8), "");
	buf[0] = 'Z';
	ck_assert_ptr_eq(log_escape(buf, 0, "abc", 3), buf);
	ck_assert_int_eq(buf[0], 'Z');

	log_escape(full, sizeof(full), mixed, sizeof(mixed) - 1);
	ck_assert_str_eq(full, "a\\x1bb\\\\c\\rd\\x80");
	for (n = 1; n < sizeof(buf); n++) {
		memset(buf, 'Z', sizeof(buf));
		log_escape(buf, n, mixed, sizeof(mixed) - 1);
		ck_assert_int_eq(buf[n], 'Z');
		len = strlen(buf);
		ck_assert_uint_lt(len, n);
		if (strcmp(buf, full) == 0)
			continue;
		ck_assert_uint_lt(n, strlen(full) + 1);
		if (n < 4)
			continue;
		/* The escaping of a prefix of the input, then "...". */
		ck_assert_str_eq(buf + len - 3, "...");
		for (k = 0; k < sizeof(mixed) - 1; k++) {
			log_escape(part, sizeof(part), mixed, k);
			if (strlen(part) == len - 3 &&
			    strncmp(part, buf, len - 3) == 0)
				break;
		}
		ck_assert_msg(k < sizeof(mixed) - 1, "cut in an escape: %s",
		    buf);
	}
}
END_TEST

/*
 * The last defence: a control byte that reaches the writer unescaped (a
 * path that forgot log_escape()) is '?', in a short and in a long line.
 */
START_TEST(test_writer_neutralises_controls)
{
	char	*text, *big, *want, shown[80];
	size_t	 len = 4000, i;

	big = malloc(len + 1);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < len; i++)
		big[i] = i % 100 == 0 ? '\r' : 'x';
	big[len] = '\0';

	capture_start(LOG_DEBUG, 0);
	log_warnx("a%sb", "\x1b[2J\rforged: x\n\t\x7f\x01");
	log_debug("%s", big);
	text = capture_end();
	for (i = 0; i < len; i++) {
		if (big[i] == '\r')
			big[i] = '?';
	}
	ck_assert_int_ne(asprintf(&want, "warning: a?[2J?forged: x????b\n"
	    "debug: %s\n", big), -1);
	/* Not ck_assert_str_eq(): Check cannot report a 4 KiB string. */
	ck_assert_msg(strcmp(text, want) == 0, "controls left: %s",
	    log_escape(shown, sizeof(shown), text, strlen(text)));
	free(want);
	free(text);
	free(big);
}
END_TEST

/*
 * log_limited() on a clock the test drives: one line per LOG_LIMIT_MS at
 * most, the lines held back counted and said once, on the next line, and
 * then counted from 0 again.
 */
START_TEST(test_limited_interval)
{
	struct log_limit	 lim = { 0 };
	uint64_t		 t0 = 5000;
	char			*text;

	capture_start(LOG_INFO, 0);
	log_limited(&lim, t0, LOG_WARNING, "full %d", 1);
	log_limited(&lim, t0, LOG_WARNING, "full %d", 2);
	log_limited(&lim, t0 + 1, LOG_WARNING, "full %d", 3);
	log_limited(&lim, t0 + LOG_LIMIT_MS - 1, LOG_WARNING, "full %d", 4);
	log_limited(&lim, t0 + LOG_LIMIT_MS, LOG_WARNING, "full %d", 5);
	log_limited(&lim, t0 + LOG_LIMIT_MS + 10, LOG_WARNING, "full %d", 6);
	log_limited(&lim, t0 + 3 * LOG_LIMIT_MS, LOG_WARNING, "full %d", 7);
	log_limited(&lim, t0 + 9 * LOG_LIMIT_MS, LOG_NOTICE, "full %d", 8);
	text = capture_end();
	ck_assert_str_eq(text,
	    "warning: full 1 (0 similar suppressed)\n"
	    "warning: full 5 (3 similar suppressed)\n"
	    "warning: full 7 (1 similar suppressed)\n"
	    "notice: full 8 (0 similar suppressed)\n");
	free(text);
	ck_assert_uint_eq(lim.suppressed, 0);
}
END_TEST

/* Two limiters: each holds back and counts only its own lines. */
START_TEST(test_limited_independent)
{
	struct log_limit	 a = { 0 }, b = { 0 };
	uint64_t		 t = 100000;
	char			*text;
	int			 i;

	capture_start(LOG_INFO, 1);
	log_limited(&a, t, LOG_WARNING, "a");
	for (i = 0; i < 4; i++)
		log_limited(&a, t + i, LOG_WARNING, "a");
	log_limited(&b, t + 5, LOG_WARNING, "b");	/* a's count: not b's */
	log_limited(&b, t + 6, LOG_WARNING, "b");
	log_limited(&a, t + LOG_LIMIT_MS, LOG_WARNING, "a");
	log_limited(&b, t + LOG_LIMIT_MS, LOG_WARNING, "b");	/* b's time */
	log_limited(&b, t + LOG_LIMIT_MS + 5, LOG_WARNING, "b");
	log_limited(&b, t + 2 * LOG_LIMIT_MS + 5, LOG_WARNING, "b");
	text = capture_end();
	ck_assert_str_eq(text,
	    "<4>a (0 similar suppressed)\n"
	    "<4>b (0 similar suppressed)\n"
	    "<4>a (4 similar suppressed)\n"
	    "<4>b (2 similar suppressed)\n"
	    "<4>b (0 similar suppressed)\n");
	free(text);
}
END_TEST

/*
 * Below the log level the line is not written, but the event is counted
 * and the interval runs as if it were: the count says how often the event
 * happened.  errno survives for a log_warn() after it.
 */
START_TEST(test_limited_below_level)
{
	struct log_limit	 lim = { 0 };
	char			*text;

	capture_start(LOG_WARNING, 0);
	errno = EMFILE;
	log_limited(&lim, 10, LOG_INFO, "quiet");
	ck_assert_int_eq(errno, EMFILE);
	log_limited(&lim, 20, LOG_INFO, "quiet");
	log_limited(&lim, 10 + LOG_LIMIT_MS, LOG_WARNING, "loud %s", "now");
	text = capture_end();
	ck_assert_str_eq(text, "warning: loud now (1 similar suppressed)\n");
	free(text);
}
END_TEST

Suite *
log_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("log");
	tc = tcase_create("stderr");
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_threshold);
	tcase_add_test(tc, test_long_line_whole);
	tcase_add_test(tc, test_writer_neutralises_controls);
	suite_add_tcase(s, tc);
	tc = tcase_create("escape");
	tcase_add_test(tc, test_escape_every_byte);
	tcase_add_test(tc, test_escape_nul_and_empty);
	tcase_add_test(tc, test_escape_truncation);
	suite_add_tcase(s, tc);
	tc = tcase_create("limited");
	tcase_add_test(tc, test_limited_interval);
	tcase_add_test(tc, test_limited_independent);
	tcase_add_test(tc, test_limited_below_level);
	suite_add_tcase(s, tc);
	return (s);
}
