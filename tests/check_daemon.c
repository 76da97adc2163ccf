/* SPDX-License-Identifier: ISC */
/*
 * check_daemon.c: the process matters of src/daemon.c that can be tested
 * in-process: how many descriptors the daemon needs, raising the limit,
 * descriptors 0-2 made sure to be open.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <unistd.h>

#include "check_hellod.h"
#include "hellod.h"

/* The process's own, one base per worker, an eventfd per thread, a dup of
 * every listener per worker: written out for the cases below. */
START_TEST(test_fd_need)
{
	rlim_t	 process = DAEMON_FD_PROCESS + DAEMON_FD_BASE;

	/* One worker: the main thread's loop, on the server's base. */
	ck_assert_uint_eq(daemon_fd_need(0, 1, 1),
	    process + 1 + 1 + DAEMON_FD_SPARE);
	ck_assert_uint_eq(daemon_fd_need(1000, 1, 1),
	    process + 2 + 1000 + DAEMON_FD_SPARE);
	/* Many workers: 64, one listener, 1000 clients. */
	ck_assert_uint_eq(daemon_fd_need(1000, 64, 1),
	    process + 1 + 1 +
	    63 * (DAEMON_FD_BASE + DAEMON_FD_WORKER + 1) +
	    1000 + DAEMON_FD_SPARE);
	ck_assert_uint_eq(daemon_fd_need(1000, 64, 1), 1359);
	/* Two listeners (IPv4 and IPv6 "*"): every worker dups both. */
	ck_assert_uint_eq(daemon_fd_need(100, 2, 2),
	    process + 2 + 2 + (DAEMON_FD_BASE + DAEMON_FD_WORKER + 2) + 100 +
	    DAEMON_FD_SPARE);
	/* No worker yet: the process and its listeners. */
	ck_assert_uint_eq(daemon_fd_need(10, 0, 3),
	    process + 3 + 10 + DAEMON_FD_SPARE);
}
END_TEST

START_TEST(test_fd_need_grows)
{
	unsigned	 w;
	size_t		 l;

	for (w = 1; w < WORKER_MAX; w++) {
		for (l = 1; l < ADDR_MAX; l++) {
			ck_assert_uint_gt(daemon_fd_need(5, w + 1, l),
			    daemon_fd_need(5, w, l));
			ck_assert_uint_gt(daemon_fd_need(5, w, l + 1),
			    daemon_fd_need(5, w, l));
			ck_assert_uint_eq(daemon_fd_need(6, w, l),
			    daemon_fd_need(5, w, l) + 1);
		}
	}
	/* The largest configuration does not overflow. */
	ck_assert_uint_eq(daemon_fd_need(1000000, WORKER_MAX,
	    SYSTEMD_LISTEN_FDS_MAX),
	    DAEMON_FD_PROCESS + DAEMON_FD_BASE + 2 * SYSTEMD_LISTEN_FDS_MAX +
	    (rlim_t)(WORKER_MAX - 1) * (DAEMON_FD_BASE + DAEMON_FD_WORKER +
	    SYSTEMD_LISTEN_FDS_MAX) + 1000000 + DAEMON_FD_SPARE);
}
END_TEST

/* The soft limit is raised, never lowered, and never past the hard one. */
START_TEST(test_fd_limit)
{
	struct rlimit	 before, after;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &before), 0);
	ck_assert_int_eq(daemon_fd_limit(1, 0), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &after), 0);
	ck_assert_uint_eq(after.rlim_cur, before.rlim_cur);
	if (before.rlim_max == RLIM_INFINITY)
		return;
	log_setlevel(LOG_ERR);		/* the warning is expected */
	ck_assert_int_eq(daemon_fd_limit(before.rlim_max + 1, 1), -1);
	log_setlevel(LOG_INFO);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &after), 0);
	ck_assert_uint_le(after.rlim_cur, before.rlim_max);
	ck_assert_uint_ge(after.rlim_cur, before.rlim_cur);
	ck_assert_uint_eq(after.rlim_max, before.rlim_max);
}
END_TEST

/* A closed descriptor 0 is opened again, on /dev/null; an open one is
 * left as it is. */
START_TEST(test_stdio)
{
	struct stat	 null, st, was;
	int		 saved;

	ck_assert_int_eq(stat("/dev/null", &null), 0);
	ck_assert_int_ne(saved = dup(STDIN_FILENO), -1);
	close(STDIN_FILENO);
	ck_assert_int_eq(daemon_stdio(), 0);
	ck_assert_int_eq(fstat(STDIN_FILENO, &st), 0);
	ck_assert(S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev);

	ck_assert_int_eq(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	ck_assert_int_eq(fstat(STDIN_FILENO, &was), 0);
	ck_assert_int_eq(daemon_stdio(), 0);
	ck_assert_int_eq(fstat(STDIN_FILENO, &st), 0);
	ck_assert(st.st_dev == was.st_dev && st.st_ino == was.st_ino);
}
END_TEST

Suite *
daemon_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("daemon");
	tc = tcase_create("fd");
	tcase_add_test(tc, test_fd_need);
	tcase_add_test(tc, test_fd_need_grows);
	tcase_add_test(tc, test_fd_limit);
	tcase_add_test(tc, test_stdio);
	suite_add_tcase(s, tc);
	return s;
}
