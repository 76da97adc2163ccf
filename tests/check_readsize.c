/* SPDX-License-Identifier: ISC */
/*
 * check_readsize.c: hellod's own ioctl() (src/readsize.c).  FIONREAD on a
 * marked descriptor gets READSIZE_ANSWER and is counted; FIONREAD on any
 * other, and every other request, reaches the kernel as through libc.
 * Built with --disable-readsize, the kernel answers everything.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <net/if.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "check_hellod.h"
#include "hellod.h"

#ifdef HELLOD_READSIZE
#define MARKED_ANSWER	READSIZE_ANSWER
#define MARKED_COUNT	1
#else
#define MARKED_ANSWER	5	/* the kernel's: the bytes queued */
#define MARKED_COUNT	0
#endif

/* A socketpair with 5 bytes waiting on p[0]. */
static void
pair_with_bytes(int p[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
	ck_assert_int_eq(write(p[1], "hello", 5), 5);
}

static int
fionread(int fd)
{
	int	 n = -1;

	ck_assert_int_eq(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

START_TEST(test_readsize_fionread_marked)
{
	uint64_t	 answered = 0;
	int		 p[2];

	readsize_init();
	pair_with_bytes(p);
	ck_assert_int_eq(fionread(p[0]), 5);
	ck_assert_uint_eq(answered, 0);
	readsize_mark(p[0], &answered);
	ck_assert_int_eq(fionread(p[0]), MARKED_ANSWER);
	ck_assert_uint_eq(answered, MARKED_COUNT);
	/* The other end is not marked: the kernel's count (none there). */
	ck_assert_int_eq(fionread(p[1]), 0);
	readsize_unmark(p[0]);
	ck_assert_int_eq(fionread(p[0]), 5);
	ck_assert_uint_eq(answered, MARKED_COUNT);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A pipe's FIONREAD is the kernel's, as is a bad pointer's EFAULT. */
START_TEST(test_readsize_fionread_others)
{
	const char	*pre;
	uint64_t	 answered = 0;
	int		 p[2], n = -1;

	readsize_init();
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "abc", 3), 3);
	ck_assert_int_eq(fionread(p[0]), 3);
	readsize_mark(p[1], &answered);	/* a neighbour, marked */
	ck_assert_int_eq(fionread(p[0]), 3);
	readsize_unmark(p[1]);
	/* NULL: not answered here, the kernel says EFAULT.  Under valgrind
	 * (its preload in LD_PRELOAD), which reports that very call as an
	 * error of the program's, the case is left out. */
	pre = getenv("LD_PRELOAD");
	if (pre == NULL || strstr(pre, "vgpreload") == NULL) {
		readsize_mark(p[0], &answered);
		errno = 0;
		ck_assert_int_eq(ioctl(p[0], FIONREAD, NULL), -1);
		ck_assert_int_eq(errno, EFAULT);
		readsize_unmark(p[0]);
		ck_assert_uint_eq(answered, 0);
	}
	/* A closed descriptor: EBADF. */
	close(p[0]);
	close(p[1]);
	errno = 0;
	ck_assert_int_eq(ioctl(p[0], FIONREAD, &n), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* Other requests on a marked descriptor still act, as libc's would. */
START_TEST(test_readsize_other_requests)
{
	struct winsize	 ws;
	struct ifreq	 ifr;
	uint64_t	 answered = 0;
	int		 p[2], on = 1, off = 0, s;
	unsigned	 lo;

	readsize_init();
	pair_with_bytes(p);
	readsize_mark(p[0], &answered);
	ck_assert_int_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(ioctl(p[0], FIONBIO, &on), 0);
	ck_assert_int_ne(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(ioctl(p[0], FIONBIO, &off), 0);
	ck_assert_int_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	/* Not a terminal. */
	errno = 0;
	ck_assert_int_eq(ioctl(p[0], TIOCGWINSZ, &ws), -1);
	ck_assert_int_eq(errno, ENOTTY);
	readsize_unmark(p[0]);
	ck_assert_uint_eq(answered, 0);
	close(p[0]);
	close(p[1]);

	/* A socket request with a struct: the loopback's index. */
	if ((lo = if_nametoindex("lo")) == 0)
		return;		/* no loopback in this namespace */
	ck_assert_int_ge(s = socket(AF_INET, SOCK_DGRAM, 0), 0);
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name) - 1);
	ck_assert_int_eq(ioctl(s, SIOCGIFINDEX, &ifr), 0);
	ck_assert_int_eq(ifr.ifr_ifindex, (int)lo);
	close(s);
}
END_TEST

/*
 * The map's edges: the last descriptor the hard limit allows is in it;
 * numbers past it, or negative, are never marked and reach the kernel.
 */
START_TEST(test_readsize_map_edges)
{
	struct rlimit	 rl;
	uint64_t	 answered = 0;
	int		 p[2], last, n = -1;

	readsize_init();
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	pair_with_bytes(p);
	last = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > READSIZE_FD_MAX ?
	    READSIZE_FD_MAX - 1 : (int)rl.rlim_max - 1;
	if (rl.rlim_cur == RLIM_INFINITY || (rlim_t)last < rl.rlim_cur) {
		ck_assert_int_eq(dup2(p[0], last), last);
		readsize_mark(last, &answered);
		ck_assert_int_eq(fionread(last), MARKED_ANSWER);
		ck_assert_uint_eq(answered, MARKED_COUNT);
		readsize_unmark(last);
		ck_assert_int_eq(fionread(last), 5);
		close(last);
	}
	answered = 0;
	readsize_mark(INT_MAX, &answered);
	readsize_mark(-1, &answered);
	errno = 0;
	ck_assert_int_eq(ioctl(INT_MAX, FIONREAD, &n), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(ioctl(-1, FIONREAD, &n), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_uint_eq(answered, 0);
	readsize_unmark(INT_MAX);
	readsize_unmark(-1);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * What the daemon relies on: libevent.so's call binds to this ioctl(),
 * and a read it sizes with the answer still takes exactly what is there.
 */
START_TEST(test_readsize_libevent_reads)
{
	struct evbuffer	*buf;
	uint64_t	 answered = 0;
	int		 p[2];
	char		 got[8];

	readsize_init();
#ifdef HELLOD_READSIZE
	ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "ioctl"), (void *)ioctl);
#endif
	pair_with_bytes(p);
	ck_assert_ptr_nonnull(buf = evbuffer_new());
	readsize_mark(p[0], &answered);
	ck_assert_int_eq(evbuffer_read(buf, p[0], -1), 5);
	ck_assert_uint_eq(answered, MARKED_COUNT);
	ck_assert_int_eq(evbuffer_remove(buf, got, sizeof(got)), 5);
	ck_assert_int_eq(memcmp(got, "hello", 5), 0);
	/* Nothing left: the sized read finds EAGAIN, not a byte more. */
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(evbuffer_read(buf, p[0], -1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(answered, 2 * MARKED_COUNT);
	readsize_unmark(p[0]);
	evbuffer_free(buf);
	close(p[0]);
	close(p[1]);
}
END_TEST

Suite *
readsize_suite(void)
{
	Suite	*s = suite_create("readsize");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_readsize_fionread_marked);
	tcase_add_test(tc, test_readsize_fionread_others);
	tcase_add_test(tc, test_readsize_other_requests);
	tcase_add_test(tc, test_readsize_map_edges);
	tcase_add_test(tc, test_readsize_libevent_reads);
	suite_add_tcase(s, tc);
	return s;
}
