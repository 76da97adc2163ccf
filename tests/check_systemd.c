/* SPDX-License-Identifier: ISC */
/*
 * check_systemd.c: the systemd protocol code in src/systemd.c.
 *
 * The parsers and formatters get every malformed input the environment
 * could hold; the thin wrappers get a few real sockets (a listening one
 * placed at fd 3 as the manager would, a datagram receiver standing in for
 * $NOTIFY_SOCKET).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_hellod.h"
#include "hellod.h"

#define PID	4242	/* "this process" for the pure parsers */

/* Format, and check the exact bytes that would be sent. */
static void
check_format(enum systemd_state state, uint64_t usec, const char *status,
    const char *want)
{
	char	buf[SYSTEMD_MSG_MAX];
	int	n;

	n = systemd_format(buf, sizeof(buf), state, usec, status);
	ck_assert_int_eq(n, (int)strlen(want));
	ck_assert_str_eq(buf, want);
}

START_TEST(test_format_states)
{
	check_format(SYSTEMD_READY, 0, NULL, "READY=1\n");
	check_format(SYSTEMD_STOPPING, 0, NULL, "STOPPING=1\n");
	check_format(SYSTEMD_WATCHDOG, 0, NULL, "WATCHDOG=1\n");
	check_format(SYSTEMD_RELOADING, 123456789, NULL,
	    "RELOADING=1\nMONOTONIC_USEC=123456789\n");
	check_format(SYSTEMD_RELOADING, UINT64_MAX, NULL,
	    "RELOADING=1\nMONOTONIC_USEC=18446744073709551615\n");
}
END_TEST

START_TEST(test_format_status)
{
	check_format(SYSTEMD_READY, 0, "listening on 127.0.0.1:5000",
	    "READY=1\nSTATUS=listening on 127.0.0.1:5000\n");
	check_format(SYSTEMD_STATUS, 0, "3 connections",
	    "STATUS=3 connections\n");
	check_format(SYSTEMD_WATCHDOG, 0, "x", "WATCHDOG=1\nSTATUS=x\n");
	check_format(SYSTEMD_RELOADING, 7, "reloading",
	    "RELOADING=1\nMONOTONIC_USEC=7\nSTATUS=reloading\n");
	check_format(SYSTEMD_STATUS, 0, "", "STATUS=\n");
}
END_TEST

START_TEST(test_format_bad)
{
	char	buf[SYSTEMD_MSG_MAX];

	/* A control character in STATUS= would inject an assignment. */
	ck_assert_int_eq(systemd_format(buf, sizeof(buf), SYSTEMD_READY, 0,
	    "a\nWATCHDOG=1"), -1);
	ck_assert_int_eq(systemd_format(buf, sizeof(buf), SYSTEMD_READY, 0,
	    "tab\there"), -1);
	ck_assert_int_eq(systemd_format(buf, sizeof(buf), SYSTEMD_READY, 0,
	    "del\x7f"), -1);
	/* STATUS alone needs a status. */
	ck_assert_int_eq(systemd_format(buf, sizeof(buf), SYSTEMD_STATUS, 0,
	    NULL), -1);
	ck_assert_int_eq(systemd_format(buf, sizeof(buf),
	    (enum systemd_state)99, 0, NULL), -1);
}
END_TEST

START_TEST(test_format_size)
{
	char	buf[32];

	/* "READY=1\n" is 8 bytes: it needs 9 with the NUL. */
	ck_assert_int_eq(systemd_format(buf, 8, SYSTEMD_READY, 0, NULL), -1);
	ck_assert_int_eq(systemd_format(buf, 9, SYSTEMD_READY, 0, NULL), 8);
	ck_assert_int_eq(systemd_format(buf, 0, SYSTEMD_STATUS, 0, "x"), -1);
	/* "READY=1\nSTATUS=abc\n" is 19 bytes. */
	ck_assert_int_eq(systemd_format(buf, 19, SYSTEMD_READY, 0, "abc"),
	    -1);
	ck_assert_int_eq(systemd_format(buf, 20, SYSTEMD_READY, 0, "abc"),
	    19);
	ck_assert_str_eq(buf, "READY=1\nSTATUS=abc\n");
}
END_TEST

START_TEST(test_notify_addr)
{
	struct sockaddr_un	 sun;
	socklen_t		 len;
	char			*cause = NULL;
	const size_t		 base = offsetof(struct sockaddr_un, sun_path);

	ck_assert_int_eq(systemd_notify_addr("/run/systemd/notify", &sun, &len,
	    &cause), 0);
	ck_assert_int_eq(sun.sun_family, AF_UNIX);
	ck_assert_str_eq(sun.sun_path, "/run/systemd/notify");
	ck_assert_uint_eq(len, base + strlen("/run/systemd/notify") + 1);

	/* Abstract: a leading NUL, and only the name's bytes counted. */
	ck_assert_int_eq(systemd_notify_addr("@hellod/notify", &sun, &len,
	    &cause), 0);
	ck_assert_int_eq(sun.sun_path[0], '\0');
	ck_assert_int_eq(memcmp(sun.sun_path + 1, "hellod/notify", 13), 0);
	ck_assert_uint_eq(len, base + 1 + 13);
}
END_TEST

START_TEST(test_notify_addr_bad)
{
	static const char	*bad[] = { "", "@", "/", "run/notify",
	    "vsock:2:1234", " /run/notify" };
	struct sockaddr_un	 sun;
	socklen_t		 len;
	char			*cause, path[sizeof(sun.sun_path) + 1];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad)[0]; i++) {
		cause = NULL;
		ck_assert_msg(systemd_notify_addr(bad[i], &sun, &len,
		    &cause) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_ptr_nonnull(cause);
		free(cause);
	}

	/* sun_path holds 107 bytes and the NUL, no more. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[sizeof(sun.sun_path)] = '\0';
	ck_assert_int_eq(systemd_notify_addr(path, &sun, &len, &cause), -1);
	free(cause);
	path[sizeof(sun.sun_path) - 1] = '\0';
	ck_assert_int_eq(systemd_notify_addr(path, &sun, &len, &cause), 0);
}
END_TEST

/* Parse, and check the count and whether a cause came back. */
static void
check_listen(const char *pid, const char *fds, const char *names, int want)
{
	char	*cause = (char *)"untouched";
	int	 n;

	n = systemd_listen_parse(pid, fds, names, PID, &cause);
	ck_assert_msg(n == want, "LISTEN_PID=%s LISTEN_FDS=%s "
	    "LISTEN_FDNAMES=%s: got %d, want %d (%s)", pid ? pid : "(unset)",
	    fds ? fds : "(unset)", names ? names : "(unset)", n, want,
	    cause ? cause : "no cause");
	if (want == -1) {
		ck_assert_ptr_nonnull(cause);
		ck_assert_uint_gt(strlen(cause), 0);
		free(cause);
	} else
		ck_assert_ptr_null(cause);
}

START_TEST(test_listen_unset)
{
	check_listen(NULL, NULL, NULL, 0);
}
END_TEST

START_TEST(test_listen_valid)
{
	check_listen("4242", "1", NULL, 1);
	check_listen("4242", "3", NULL, 3);
	check_listen("04242", "03", NULL, 3);	/* leading zeros are digits */
	check_listen("4242", "1024", NULL, SYSTEMD_LISTEN_FDS_MAX);
	check_listen("4242", "2", "hellod.socket:hellod.socket", 2);
	check_listen("4242", "1", "", 1);		/* one empty name */
	check_listen("4242", "3", "::", 3);		/* three empty ones */
	check_listen("4242", "2", "a b:c-d_e.f", 2);	/* blanks are fine */
}
END_TEST

START_TEST(test_listen_partial)
{
	check_listen("4242", NULL, NULL, -1);
	check_listen(NULL, NULL, "hellod.socket", -1);
	check_listen("4242", NULL, "hellod.socket", -1);
	check_listen(NULL, "1", NULL, -1);
	check_listen(NULL, "1", "x", -1);
}
END_TEST

START_TEST(test_listen_pid)
{
	static const char	*bad[] = { "", "0", "-4242", "+4242", " 4242",
	    "4242 ", "4242x", "x4242", "0x1092", "4242.0", "4243", "1",
	    "2147483648", "4294971538", "18446744073709551616",
	    "99999999999999999999999999", "\t4242", "4242\n" };
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad)[0]; i++)
		check_listen(bad[i], "1", NULL, -1);
}
END_TEST

START_TEST(test_listen_fds)
{
	static const char	*bad[] = { "", "0", "00", "-1", "+1", " 1",
	    "1 ", "1x", "one", "0x1", "1.5", "1025", "2147483647",
	    "4294967297", "18446744073709551617", "\n1" };
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad)[0]; i++)
		check_listen("4242", bad[i], NULL, -1);
}
END_TEST

START_TEST(test_listen_names)
{
	char	long_name[SYSTEMD_FDNAME_MAX + 2];

	check_listen("4242", "2", "a", -1);		/* too few */
	check_listen("4242", "2", "a:b:c", -1);		/* too many */
	check_listen("4242", "1", ":", -1);		/* two empty names */
	check_listen("4242", "2", "a\nb:c", -1);	/* control character */
	check_listen("4242", "1", "caf\xc3\xa9", -1);	/* not ASCII */
	check_listen("4242", "1", "del\x7f", -1);

	memset(long_name, 'n', sizeof(long_name));
	long_name[SYSTEMD_FDNAME_MAX] = '\0';
	check_listen("4242", "1", long_name, 1);
	long_name[SYSTEMD_FDNAME_MAX] = 'n';
	long_name[SYSTEMD_FDNAME_MAX + 1] = '\0';
	check_listen("4242", "1", long_name, -1);
}
END_TEST

/* Parse, and check the interval (or -1 and a cause). */
static void
check_watchdog(const char *usec, const char *pid, int want_rc,
    uint64_t want)
{
	uint64_t	 interval = 12345;
	char		*cause = (char *)"untouched";
	int		 rc;

	rc = systemd_watchdog_parse(usec, pid, PID, &interval, &cause);
	ck_assert_msg(rc == want_rc, "WATCHDOG_USEC=%s WATCHDOG_PID=%s: "
	    "got %d, want %d (%s)", usec ? usec : "(unset)",
	    pid ? pid : "(unset)", rc, want_rc, cause ? cause : "no cause");
	ck_assert_uint_eq(interval, want);
	if (want_rc == -1) {
		ck_assert_ptr_nonnull(cause);
		free(cause);
	} else
		ck_assert_ptr_null(cause);
}

START_TEST(test_watchdog_interval)
{
	check_watchdog(NULL, NULL, 0, 0);		/* not asked for */
	check_watchdog("30000000", NULL, 0, 15000000);
	check_watchdog("30000000", "4242", 0, 15000000);
	check_watchdog("1000001", "4242", 0, 500000);
	check_watchdog("3", NULL, 0, 1);
	check_watchdog("1", NULL, 0, 1);		/* never 0 = disabled */
	check_watchdog("18446744073709551614", NULL, 0, 9223372036854775807U);
}
END_TEST

START_TEST(test_watchdog_bad)
{
	static const char	*bad_usec[] = { "", "0", "-1", "+1", " 1",
	    "1 ", "1s", "1e6", "0x10", "18446744073709551615",
	    "18446744073709551616", "99999999999999999999999" };
	static const char	*bad_pid[] = { "", "0", "-4242", "4242x",
	    " 4242", "4243", "2147483648", "18446744073709551616" };
	size_t			 i;

	for (i = 0; i < sizeof(bad_usec) / sizeof(bad_usec)[0]; i++)
		check_watchdog(bad_usec[i], "4242", -1, 0);
	for (i = 0; i < sizeof(bad_pid) / sizeof(bad_pid)[0]; i++)
		check_watchdog("30000000", bad_pid[i], -1, 0);
	check_watchdog(NULL, "4242", -1, 0);		/* PID without USEC */
}
END_TEST

START_TEST(test_journal_match)
{
	ck_assert_int_eq(systemd_journal_match("12:34", 12, 34), 1);
	ck_assert_int_eq(systemd_journal_match("0:0", 0, 0), 1);
	ck_assert_int_eq(systemd_journal_match("012:034", 12, 34), 1);
	ck_assert_int_eq(systemd_journal_match("18446744073709551615:7",
	    (dev_t)UINT64_MAX, 7), 1);

	ck_assert_int_eq(systemd_journal_match("12:35", 12, 34), 0);
	ck_assert_int_eq(systemd_journal_match("13:34", 12, 34), 0);
	ck_assert_int_eq(systemd_journal_match("34:12", 12, 34), 0);
}
END_TEST

START_TEST(test_journal_bad)
{
	static const char	*bad[] = { "", "12", "12:", ":34", ":",
	    "12:34:56", "12:34x", "12x:34", " 12:34", "12: 34", "-12:34",
	    "12:-34", "+12:34", "12;34", "18446744073709551628:34",
	    "12:18446744073709551650" };
	size_t			 i;

	ck_assert_int_eq(systemd_journal_match(NULL, 12, 34), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad)[0]; i++)
		ck_assert_msg(systemd_journal_match(bad[i], 12, 34) == 0,
		    "matched \"%s\"", bad[i]);
}
END_TEST

START_TEST(test_status)
{
	static const char	*names[] = { "127.0.0.1:5000", "[::1]:5000" };
	char			 buf[SYSTEMD_STATUS_MAX];

	systemd_status(buf, sizeof(buf), names, 2, 0);
	ck_assert_str_eq(buf,
	    "listening on 127.0.0.1:5000, [::1]:5000; 0 connections");

	systemd_status(buf, sizeof(buf), names, 1, 1);
	ck_assert_str_eq(buf, "listening on 127.0.0.1:5000; 1 connection");

	systemd_status(buf, sizeof(buf), names, 0, 7);
	ck_assert_str_eq(buf, "listening on nothing; 7 connections");

	/* Too small for both addresses: cut, but still whole and counted. */
	systemd_status(buf, 50, names, 2, 2);
	ck_assert_str_eq(buf, "listening on 127.0.0.1:5000 ...; 2 connections");
	systemd_status(buf, 10, names, 2, 2);
	ck_assert_uint_lt(strlen(buf), 10);
}
END_TEST

/* Room for a socket path, as sun_path has. */
#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)

/* A path "notify" in a fresh directory, for a test's own socket. */
static void
temp_socket_path(char *path, size_t size)
{
	char	dir[] = "/tmp/check_systemd.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_lt(snprintf(path, size, "%s/notify", dir), (int)size);
}

/* Remove the socket and its directory. */
static void
temp_socket_remove(const char *path)
{
	char	dir[SUN_PATH_MAX];

	unlink(path);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

/* A datagram socket bound in a fresh directory, as systemd's would be. */
static int
notify_receiver(char *path, size_t size)
{
	struct sockaddr_un	sun;
	int			fd;

	temp_socket_path(path, size);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void
notify_cleanup(int fd, const char *path)
{
	close(fd);
	temp_socket_remove(path);
	unsetenv("NOTIFY_SOCKET");
}

START_TEST(test_notify_send)
{
	char	 path[SUN_PATH_MAX], buf[SYSTEMD_MSG_MAX], *cause;
	int	 fd;
	ssize_t	 n;

	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(systemd_notify_send("READY=1\n", 8, &cause), 0);
	ck_assert_ptr_null(cause);

	fd = notify_receiver(path, sizeof(path));
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(systemd_notify_send("READY=1\n", 8, &cause), 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_eq(n, 8);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "READY=1\n");

	/* The wrapper formats and sends in one go. */
	systemd_notify(SYSTEMD_RELOADING, NULL);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
	ck_assert_int_eq(buf[n - 1], '\n');
	notify_cleanup(fd, path);

	/* Nobody listening: an error with a cause, never a crash. */
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(systemd_notify_send("READY=1\n", 8, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, path));
	free(cause);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(test_notify_send_abstract)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	char			name[64], buf[64], *cause;
	int			fd;
	ssize_t			n;

	snprintf(name, sizeof(name), "@hellod-check-%ld", (long)getpid());
	ck_assert_int_eq(systemd_notify_addr(name, &sun, &len, &cause), 0);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(systemd_notify_send("WATCHDOG=1\n", 11, &cause), 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_eq(n, 11);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "WATCHDOG=1\n");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

/*
 * Run systemd_listen_fds() with fd as fd 3, as the manager would pass it.
 * Check may hold fd 3 itself (for its results), so it is set aside and put
 * back before any assertion runs.  Returns the result; *fdflags and *flflags
 * get fd 3's flags as the call left them.
 */
static int
listen_fds_at_3(int fd, int nfds, char **cause, int *fdflags, int *flflags,
    char ***namesp)
{
	char	pid[32], count[32], **names;
	int	saved, n;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	snprintf(count, sizeof(count), "%d", nfds);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", count, 1);
	saved = fcntl(3, F_DUPFD_CLOEXEC, 64);
	if (fd == -1)
		close(3);
	else if (dup2(fd, 3) == -1)
		abort();
	n = systemd_listen_fds(&names, cause);
	if (namesp != NULL)
		*namesp = names;
	else
		systemd_listen_free(names, n);
	*fdflags = fcntl(3, F_GETFD);
	*flflags = fcntl(3, F_GETFL);
	if (saved != -1) {
		dup2(saved, 3);
		close(saved);
	} else
		close(3);
	return n;
}

static int
tcp_socket(int type, int listening)
{
	struct sockaddr_in	sin;
	int			fd;

	fd = socket(AF_INET, type, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (listening)
		ck_assert_int_eq(listen(fd, 1), 0);
	return fd;
}

START_TEST(test_listen_fds_ok)
{
	char	*cause = NULL;
	int	 fd, n, fdflags, flflags;

	fd = tcp_socket(SOCK_STREAM, 1);
	n = listen_fds_at_3(fd, 1, &cause, &fdflags, &flflags,
	    NULL);
	ck_assert_msg(n == 1, "%s", cause ? cause : "no cause");
	ck_assert_int_ne(fdflags & FD_CLOEXEC, 0);
	ck_assert_int_ne(flflags & O_NONBLOCK, 0);
	/* Unset, so nothing started later takes the sockets for its own. */
	ck_assert_ptr_null(getenv("LISTEN_PID"));
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
	ck_assert_ptr_null(getenv("LISTEN_FDNAMES"));
	close(fd);
}
END_TEST

/* Each wrong kind of descriptor, and the word the cause must hold. */
START_TEST(test_listen_fds_bad)
{
	struct sockaddr_un	 sun;
	char			*cause, path[SUN_PATH_MAX];
	int			 fd, p[2], fdflags, flflags, saved4;

	fd = tcp_socket(SOCK_STREAM, 0);
	ck_assert_int_eq(listen_fds_at_3(fd, 1, &cause, &fdflags, &flflags,
	    NULL),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "not listening"));
	free(cause);
	close(fd);

	fd = tcp_socket(SOCK_DGRAM, 0);
	ck_assert_int_eq(listen_fds_at_3(fd, 1, &cause, &fdflags, &flflags,
	    NULL),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "not a stream socket"));
	free(cause);
	close(fd);

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(listen_fds_at_3(p[0], 1, &cause, &fdflags, &flflags,
	    NULL),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "fd 3"));
	free(cause);
	close(p[0]);
	close(p[1]);

	ck_assert_int_eq(listen_fds_at_3(-1, 1, &cause, &fdflags, &flflags,
	    NULL),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "fd 3"));
	free(cause);

	temp_socket_path(path, sizeof(path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(listen_fds_at_3(fd, 1, &cause, &fdflags, &flflags,
	    NULL),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "IPv4 or IPv6"));
	free(cause);
	close(fd);
	temp_socket_remove(path);

	/* Two announced, the second (fd 4) closed for the call whatever the
	 * runner has open there (saved, then put back), and the socket moved
	 * clear of it. */
	saved4 = tcp_socket(SOCK_STREAM, 1);
	fd = fcntl(saved4, F_DUPFD_CLOEXEC, 64);
	close(saved4);
	saved4 = fcntl(4, F_DUPFD_CLOEXEC, 64);
	close(4);
	ck_assert_int_eq(listen_fds_at_3(fd, 2, &cause, &fdflags, &flflags,
	    NULL),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "passed fd 4: "));
	free(cause);
	if (saved4 != -1) {
		dup2(saved4, 4);
		close(saved4);
	}
	close(fd);
}
END_TEST

/* FDNAME= as systemd's fdname_is_valid() takes it, and hellod's names. */
START_TEST(test_fdname)
{
	char	 buf[SYSTEMD_FDNAME_MAX + 1], what[SYSTEMD_FDNAME_MAX + 2];
	size_t	 plen = strlen(SYSTEMD_FDNAME_PREFIX);

	ck_assert(systemd_fdname_valid("hellod.socket"));
	ck_assert(systemd_fdname_valid("hellod-127.0.0.1_5000"));
	ck_assert(systemd_fdname_valid("a b"));
	ck_assert(!systemd_fdname_valid(""));
	ck_assert(!systemd_fdname_valid("127.0.0.1:5000"));	/* separator */
	ck_assert(!systemd_fdname_valid("a\nREADY=1"));
	ck_assert(!systemd_fdname_valid("tab\there"));
	ck_assert(!systemd_fdname_valid("del\x7f"));
	ck_assert(!systemd_fdname_valid("caf\xc3\xa9"));
	memset(what, 'x', SYSTEMD_FDNAME_MAX);
	what[SYSTEMD_FDNAME_MAX] = '\0';
	ck_assert(systemd_fdname_valid(what));
	what[SYSTEMD_FDNAME_MAX] = 'x';
	what[SYSTEMD_FDNAME_MAX + 1] = '\0';
	ck_assert(!systemd_fdname_valid(what));

	ck_assert_int_eq(systemd_fdname(buf, sizeof(buf), "127.0.0.1:5000"), 0);
	ck_assert_str_eq(buf, "hellod-127.0.0.1_5000");
	ck_assert(systemd_fdname_valid(buf));
	ck_assert_int_eq(systemd_fdname(buf, sizeof(buf), "[::1]:5000"), 0);
	ck_assert_str_eq(buf, "hellod-[__1]_5000");
	ck_assert_int_eq(systemd_fdname(buf, sizeof(buf), "0.0.0.0:1"), 0);
	ck_assert_str_eq(buf, "hellod-0.0.0.0_1");
	ck_assert_int_eq(systemd_fdname(buf, sizeof(buf), ""), -1);
	ck_assert_int_eq(systemd_fdname(buf, 10, "127.0.0.1:5000"), -1);
	/* The longest that fits FDNAME=, and one more. */
	memset(what, 'y', SYSTEMD_FDNAME_MAX - plen);
	what[SYSTEMD_FDNAME_MAX - plen] = '\0';
	ck_assert_int_eq(systemd_fdname(buf, sizeof(buf), what), 0);
	ck_assert_uint_eq(strlen(buf), SYSTEMD_FDNAME_MAX);
	ck_assert(systemd_fdname_valid(buf));
	strcat(what, "y");
	ck_assert_int_eq(systemd_fdname(buf, sizeof(buf), what), -1);

	/* Whose: the prefix tells hellod's own from a socket unit's. */
	ck_assert(systemd_fdname_stored("hellod-127.0.0.1_5000"));
	ck_assert(systemd_fdname_stored("hellod-[__]_5000"));
	ck_assert(!systemd_fdname_stored("hellod.socket"));
	ck_assert(!systemd_fdname_stored("unknown"));
	ck_assert(!systemd_fdname_stored("stored"));
	ck_assert(!systemd_fdname_stored("my-hellod-5000"));
	ck_assert(!systemd_fdname_stored(""));
	ck_assert(!systemd_fdname_stored(NULL));
}
END_TEST

static void
check_fdstore_format(int remove, const char *name, const char *want)
{
	char	 buf[SYSTEMD_FDNAME_MAX + 32];
	int	 n;

	n = systemd_fdstore_format(buf, sizeof(buf), remove, name);
	ck_assert_int_eq(n, want == NULL ? -1 : (int)strlen(want));
	if (want != NULL)
		ck_assert_str_eq(buf, want);
}

START_TEST(test_fdstore_format)
{
	char	 buf[32], name[SYSTEMD_FDNAME_MAX + 1];

	check_fdstore_format(0, "hellod-127.0.0.1_5000",
	    "FDSTORE=1\nFDNAME=hellod-127.0.0.1_5000\n");
	check_fdstore_format(1, "hellod-127.0.0.1_5000",
	    "FDSTOREREMOVE=1\nFDNAME=hellod-127.0.0.1_5000\n");
	/* A name systemd would ignore (storing the socket as "stored") or
	 * one that would smuggle in another assignment. */
	check_fdstore_format(0, "", NULL);
	check_fdstore_format(0, "127.0.0.1:5000", NULL);
	check_fdstore_format(1, "x\nFDSTORE=1", NULL);
	memset(name, 'z', SYSTEMD_FDNAME_MAX);
	name[SYSTEMD_FDNAME_MAX] = '\0';
	ck_assert_int_eq(systemd_fdstore_format(buf, sizeof(buf), 0, name),
	    -1);
}
END_TEST

/* $LISTEN_FDNAMES into names, and which of them are the store's. */
START_TEST(test_listen_names_split)
{
	char	**v;
	int	  i, stored;

	ck_assert_ptr_null(systemd_listen_names("a", 0));
	v = systemd_listen_names(NULL, 2);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v[0], "unknown");
	ck_assert_str_eq(v[1], "unknown");
	ck_assert(!systemd_fdname_stored(v[0]));
	systemd_listen_free(v, 2);

	v = systemd_listen_names("hellod.socket:hellod-127.0.0.1_5000:"
	    ":hellod-[__1]_5000:web", 5);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v[0], "hellod.socket");
	ck_assert_str_eq(v[1], "hellod-127.0.0.1_5000");
	ck_assert_str_eq(v[2], "");
	ck_assert_str_eq(v[3], "hellod-[__1]_5000");
	ck_assert_str_eq(v[4], "web");
	for (i = stored = 0; i < 5; i++)
		stored += systemd_fdname_stored(v[i]);
	ck_assert_int_eq(stored, 2);
	systemd_listen_free(v, 5);
	systemd_listen_free(NULL, 0);
}
END_TEST

/* The same open socket: one file under two descriptors. */
static int
same_socket(int a, int b)
{
	struct stat	sa, sb;

	ck_assert_int_eq(fstat(a, &sa), 0);
	ck_assert_int_eq(fstat(b, &sb), 0);
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* FDSTORE=1 goes with the socket attached; FDSTOREREMOVE=1 without. */
START_TEST(test_fdstore_send)
{
	char	 buf[SYSTEMD_MSG_MAX];
	int	 rx, fd, passed;

	fd = tcp_socket(SOCK_STREAM, 1);
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(systemd_fdstore(fd, "hellod-127.0.0.1_1"), 0);
	ck_assert_int_eq(systemd_fdstore_remove("hellod-127.0.0.1_1"), 0);

	rx = check_notify_open();
	ck_assert_int_eq(systemd_fdstore(fd, "hellod-127.0.0.1_1"), 1);
	ck_assert_int_gt(check_notify_recv(rx, buf, sizeof(buf), &passed), 0);
	ck_assert_str_eq(buf, "FDSTORE=1\nFDNAME=hellod-127.0.0.1_1\n");
	ck_assert_int_ne(passed, -1);
	ck_assert_int_ne(passed, fd);
	ck_assert(same_socket(passed, fd));
	close(passed);

	ck_assert_int_eq(systemd_fdstore_remove("hellod-127.0.0.1_1"), 1);
	ck_assert_int_gt(check_notify_recv(rx, buf, sizeof(buf), &passed), 0);
	ck_assert_str_eq(buf, "FDSTOREREMOVE=1\nFDNAME=hellod-127.0.0.1_1\n");
	ck_assert_int_eq(passed, -1);

	/* A name FDNAME= refuses is never sent. */
	ck_assert_int_eq(systemd_fdstore(fd, "127.0.0.1:1"), -1);
	ck_assert_int_eq(check_notify_recv(rx, buf, sizeof(buf), &passed), -1);
	check_notify_close(rx);
	close(fd);
}
END_TEST

/*
 * A store descriptor that is no listening socket any more is dropped from
 * the store, not fatal; a socket unit's stays fatal (test_listen_fds_bad).
 */
START_TEST(test_listen_fds_stored_bad)
{
	char	 buf[SYSTEMD_MSG_MAX], *cause = NULL, **names = NULL;
	int	 rx, fd, n, fdflags, flflags, passed;

	rx = check_notify_open();
	fd = tcp_socket(SOCK_STREAM, 0);
	setenv("LISTEN_FDNAMES", "hellod-127.0.0.1_1", 1);
	n = listen_fds_at_3(fd, 1, &cause, &fdflags, &flflags, &names);
	ck_assert_msg(n == 1, "%s", cause ? cause : "no cause");
	ck_assert_ptr_nonnull(names);
	ck_assert_ptr_null(names[0]);
	systemd_listen_free(names, n);
	ck_assert_int_gt(check_notify_recv(rx, buf, sizeof(buf), &passed), 0);
	ck_assert_str_eq(buf, "FDSTOREREMOVE=1\nFDNAME=hellod-127.0.0.1_1\n");

	/* Named by a socket unit, the same is fatal. */
	setenv("LISTEN_FDNAMES", "hellod.socket", 1);
	ck_assert_int_eq(listen_fds_at_3(fd, 1, &cause, &fdflags, &flflags,
	    &names), -1);
	ck_assert_ptr_null(names);
	ck_assert_ptr_nonnull(strstr(cause, "not listening"));
	free(cause);
	check_notify_close(rx);
	close(fd);
}
END_TEST

START_TEST(test_journal_stderr)
{
	struct stat	st;
	char		buf[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(buf, sizeof(buf), "%ju:%ju", (uintmax_t)st.st_dev,
	    (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", buf, 1);
	ck_assert_int_eq(systemd_journal_stderr(), 1);
	snprintf(buf, sizeof(buf), "%ju:%ju", (uintmax_t)st.st_dev,
	    (uintmax_t)st.st_ino + 1);
	setenv("JOURNAL_STREAM", buf, 1);
	ck_assert_int_eq(systemd_journal_stderr(), 0);
	unsetenv("JOURNAL_STREAM");
	ck_assert_int_eq(systemd_journal_stderr(), 0);
}
END_TEST

Suite *
systemd_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("systemd");

	tc = tcase_create("notify");
	tcase_add_test(tc, test_format_states);
	tcase_add_test(tc, test_format_status);
	tcase_add_test(tc, test_format_bad);
	tcase_add_test(tc, test_format_size);
	tcase_add_test(tc, test_notify_addr);
	tcase_add_test(tc, test_notify_addr_bad);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_notify_send);
	tcase_add_test(tc, test_notify_send_abstract);
	tcase_add_test(tc, test_fdname);
	tcase_add_test(tc, test_fdstore_format);
	tcase_add_test(tc, test_fdstore_send);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_test(tc, test_listen_unset);
	tcase_add_test(tc, test_listen_valid);
	tcase_add_test(tc, test_listen_partial);
	tcase_add_test(tc, test_listen_pid);
	tcase_add_test(tc, test_listen_fds);
	tcase_add_test(tc, test_listen_names);
	tcase_add_test(tc, test_listen_fds_ok);
	tcase_add_test(tc, test_listen_fds_bad);
	tcase_add_test(tc, test_listen_fds_stored_bad);
	tcase_add_test(tc, test_listen_names_split);
	suite_add_tcase(s, tc);

	tc = tcase_create("watchdog");
	tcase_add_test(tc, test_watchdog_interval);
	tcase_add_test(tc, test_watchdog_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("journal");
	tcase_add_test(tc, test_journal_match);
	tcase_add_test(tc, test_journal_bad);
	tcase_add_test(tc, test_journal_stderr);
	suite_add_tcase(s, tc);

	return s;
}
