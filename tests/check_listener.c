/* SPDX-License-Identifier: ISC */
/*
 * check_listener.c: the set of listening sockets (src/listener.c): the
 * retiring of a socket that stops serving while a worker still holds a
 * descriptor of it, and what becomes of the sockets systemd's fd store
 * passes back at start.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
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
	return check_conf("port = 0\nbind = 127.0.0.1\n");
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

/* A listening socket of 127.0.0.1 on an ephemeral port; its port. */
static int
loopback_listener(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static struct config *
port_conf(int port, const char *bind)
{
	char		 text[128];

	snprintf(text, sizeof(text), "port = %d\nbind = %s\n", port, bind);
	return check_conf(text);
}

/* A blocking connect to 127.x.y.z:port: 0, or the errno it failed with. */
static int
connect_port(const char *host, int port)
{
	struct sockaddr_in	 sin;
	int			 fd, error = 0;

	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, host, &sin.sin_addr), 1);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		error = errno;
	close(fd);
	return error;
}

/*
 * At start, the store passed two sockets back: 127.0.0.1:A, which the
 * config still wants, and 127.0.0.1:B, of an older config.  A is kept (the
 * very descriptor, and not stored again); B is closed and dropped from the
 * store; 127.0.0.2:A, wanted and not in the store, is opened and stored.
 * A stop then leaves the stored sockets taking handshakes, for the next
 * hellod, and sends nothing.
 */
START_TEST(test_stored_kept_or_dropped)
{
	struct listener_list	 running = TAILQ_HEAD_INITIALIZER(running);
	struct listener_list	 next = TAILQ_HEAD_INITIALIZER(next);
	struct config		*conf;
	struct listener		*l;
	char			 buf[SYSTEMD_MSG_MAX], name[SYSTEMD_FDNAME_MAX];
	char			 want[SYSTEMD_MSG_MAX], *cause;
	int			 rx, a, b, pa, pb, passed, held, n;

	rx = check_notify_open();
	a = loopback_listener(&pa);
	b = loopback_listener(&pb);
	snprintf(name, sizeof(name), "hellod-127.0.0.1_%d", pa);
	ck_assert_int_eq(listener_open_stored(a, name, &running), 0);
	snprintf(name, sizeof(name), "hellod-127.0.0.1_%d", pb);
	ck_assert_int_eq(listener_open_stored(b, name, &running), 0);

	conf = port_conf(pa, "127.0.0.1, 127.0.0.2");
	ck_assert_int_eq(listener_open_config(&running, conf, &next, &cause),
	    0);
	listener_commit(&running, &next);

	n = 0;
	TAILQ_FOREACH(l, &running, entry) {
		ck_assert(l->stored);
		ck_assert(!l->inherited);
		n++;
	}
	ck_assert_int_eq(n, 2);
	l = TAILQ_FIRST(&running);
	ck_assert_int_eq(l->fd, a);
	snprintf(want, sizeof(want), "127.0.0.1:%d", pa);
	ck_assert_str_eq(l->name, want);
	l = TAILQ_NEXT(l, entry);
	snprintf(want, sizeof(want), "127.0.0.2:%d", pa);
	ck_assert_str_eq(l->name, want);

	/* B out of the store first, then the new socket in, with its fd. */
	ck_assert_int_gt(check_notify_recv(rx, buf, sizeof(buf), &passed), 0);
	snprintf(want, sizeof(want), "FDSTOREREMOVE=1\nFDNAME=hellod-"
	    "127.0.0.1_%d\n", pb);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(passed, -1);
	ck_assert_int_gt(check_notify_recv(rx, buf, sizeof(buf), &passed), 0);
	snprintf(want, sizeof(want), "FDSTORE=1\nFDNAME=hellod-"
	    "127.0.0.2_%d\n", pa);
	ck_assert_str_eq(buf, want);
	ck_assert_int_ne(held = passed, -1);
	ck_assert_int_eq(check_notify_recv(rx, buf, sizeof(buf), &passed), -1);

	ck_assert_int_eq(connect_port("127.0.0.1", pb), ECONNREFUSED);
	ck_assert_int_eq(connect_port("127.0.0.1", pa), 0);

	/* Stop: nothing sent, and the stored socket (held here, as the
	 * store would) still completes handshakes: no filter on it. */
	listener_stop_all(&running);
	ck_assert_int_eq(check_notify_recv(rx, buf, sizeof(buf), &passed), -1);
	ck_assert_int_eq(connect_port("127.0.0.2", pa), 0);
	ck_assert_int_eq(connect_port("127.0.0.1", pa), ECONNREFUSED);

	close(held);
	check_notify_close(rx);
	config_unref(conf);
}
END_TEST

/* Outside systemd nothing is stored, and a stop retires as before. */
START_TEST(test_not_stored_outside_systemd)
{
	struct listener_list	 set = TAILQ_HEAD_INITIALIZER(set);
	struct listener_list	 empty = TAILQ_HEAD_INITIALIZER(empty);
	struct config		*conf = loopback_conf();
	char			*cause;

	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(listener_open_config(&empty, conf, &set, &cause), 0);
	listener_commit(&empty, &set);
	ck_assert(!TAILQ_FIRST(&empty)->stored);
	listener_stop_all(&empty);
	config_unref(conf);
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
	tc = tcase_create("store");
	tcase_add_test(tc, test_stored_kept_or_dropped);
	tcase_add_test(tc, test_not_stored_outside_systemd);
	suite_add_tcase(s, tc);
	return s;
}
