/* SPDX-License-Identifier: ISC */
/*
 * check_listener.c: the set of listening sockets (src/listener.c), here the
 * retiring of a socket that stops serving while a worker still holds a
 * descriptor of it.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/filter.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_hellod.h"
#include "hellod.h"

static struct config *
loopback_conf(void)
{
	static char	 text[] = "port = 0\nbind = 127.0.0.1\n";
	struct config	*conf;
	FILE		*fp;
	char		*errors = NULL;

	ck_assert_ptr_nonnull(fp = fmemopen(text, strlen(text), "r"));
	conf = config_parse(fp, "listener.conf", &errors);
	fclose(fp);
	ck_assert_msg(conf != NULL, "config: %s", errors);
	return conf;
}

/* A non-blocking connect to the listener's address. */
static int
connect_to(const struct listen_addr *la)
{
	int	 fd;

	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0),
	    -1);
	ck_assert(connect(fd, (const struct sockaddr *)&la->ss, la->len) == 0 ||
	    errno == EINPROGRESS);
	return fd;
}

/* May this process attach a socket filter?  Not always without root. */
static int
filters_allowed(void)
{
	struct sock_filter	 pass[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog	 prog = { 1, pass };
	int			 fd, ok;

	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ok = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)) == 0;
	close(fd);
	return ok;
}

/*
 * Retired, the socket takes no new handshake, though a worker's dup of it
 * still listens: a connect() that the kernel completed in the moment
 * between the worker's last accept() and its close() would be reset.
 */
START_TEST(test_retired_socket_refuses_new_handshakes)
{
	struct listener_list	 set = TAILQ_HEAD_INITIALIZER(set);
	struct listener_list	 empty = TAILQ_HEAD_INITIALIZER(empty);
	struct config		*conf = loopback_conf();
	struct listen_addr	 where;
	struct pollfd		 pfd;
	size_t			 n;
	char			*cause;
	int			*dups, before, after;

	ck_assert_int_eq(listener_open_config(&empty, conf, &set, &cause), 0);
	where = TAILQ_FIRST(&set)->addr;
	ck_assert_ptr_nonnull(dups = listener_dup(&set, &n));
	ck_assert_uint_eq(n, 1);

	/* Serving: a client's handshake completes and is queued. */
	before = connect_to(&where);
	pfd.fd = dups[0];
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 10000), 1);

	/* The next config listens elsewhere (here: nowhere). */
	listener_commit(&set, &empty);

	/* What was queued before is still there for the worker to take. */
	ck_assert_int_ne(close(accept(dups[0], NULL, NULL)), -1);
	if (filters_allowed()) {
		/* A new client's SYN is dropped: it stays in progress. */
		after = connect_to(&where);
		pfd.fd = after;
		pfd.events = POLLOUT;
		ck_assert_int_eq(poll(&pfd, 1, 300), 0);
		ck_assert_int_eq(accept4(dups[0], NULL, NULL, SOCK_NONBLOCK),
		    -1);
		ck_assert_int_eq(errno, EAGAIN);
		close(after);
	} else
		fprintf(stderr, "listener: socket filters are not allowed "
		    "here (unprivileged BPF disabled?): new handshakes not "
		    "checked\n");

	close(before);
	close(dups[0]);
	free(dups);
	listener_close_all(&set);
	config_unref(conf);
}
END_TEST

/*
 * A port taken is said as such, with the address, for the caller to log;
 * errno still tells the caller what failed.  Nothing stays open.
 */
START_TEST(test_port_in_use_cause)
{
	struct listener_list	 set = TAILQ_HEAD_INITIALIZER(set);
	struct listener_list	 empty = TAILQ_HEAD_INITIALIZER(empty);
	struct listener_list	 again = TAILQ_HEAD_INITIALIZER(again);
	struct config		*conf = loopback_conf();
	char			*cause, want[128];
	int			 port;

	ck_assert_int_eq(listener_open_config(&empty, conf, &set, &cause), 0);
	port = addr_get_port((struct sockaddr *)&TAILQ_FIRST(&set)->addr.ss);
	conf->port = port;
	ck_assert_int_eq(listener_open_config(&empty, conf, &again, &cause),
	    -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert(TAILQ_EMPTY(&again));
	ck_assert_ptr_nonnull(cause);
	snprintf(want, sizeof(want), "127.0.0.1:%d: port %d is in use ", port,
	    port);
	ck_assert_msg(strncmp(cause, want, strlen(want)) == 0, "%s", cause);
	free(cause);
	listener_close_all(&set);
	config_free(conf);
}
END_TEST

Suite *
listener_suite(void)
{
	Suite	*s = suite_create("listener");
	TCase	*tc = tcase_create("retire");

	tcase_add_test(tc, test_retired_socket_refuses_new_handshakes);
	tcase_add_test(tc, test_port_in_use_cause);
	suite_add_tcase(s, tc);
	return s;
}
