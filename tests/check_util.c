/* SPDX-License-Identifier: ISC */
/* Helpers shared by the Check suites. */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_hellod.h"
#include "hellod.h"

static int	check_notify_seq;	/* a fresh name for each socket */

/*
 * A config file, given as text, that must parse: the test fails with the
 * parser's messages otherwise.  Named "test.conf" in them.
 */
struct config *
check_conf(const char *text)
{
	struct config	*conf;
	FILE		*fp;
	char		*errors = NULL;

	fp = fmemopen((void *)text, strlen(text), "r");
	ck_assert_ptr_nonnull(fp);
	conf = config_parse(fp, "test.conf", &errors);
	fclose(fp);
	ck_assert_msg(conf != NULL, "config: %s", errors);
	free(errors);
	return conf;
}

/* A listening address as text, without its port, for comparisons. */
const char *
check_host(const struct listen_addr *la, char *buf, size_t len)
{
	const void	*src;

	if (la->ss.ss_family == AF_INET)
		src = &((const struct sockaddr_in *)&la->ss)->sin_addr;
	else
		src = &((const struct sockaddr_in6 *)&la->ss)->sin6_addr;
	ck_assert_ptr_nonnull(inet_ntop(la->ss.ss_family, src, buf, len));
	return buf;
}

/*
 * A datagram socket in the abstract namespace standing in for systemd's
 * notify socket, named in $NOTIFY_SOCKET; close it with
 * check_notify_close().
 */
int
check_notify_open(void)
{
	struct sockaddr_un	 sun;
	char			 name[64];
	socklen_t		 len;
	char			*cause;
	int			 fd;

	snprintf(name, sizeof(name), "@hellod-check-%ld-%d", (long)getpid(),
	    check_notify_seq++);
	ck_assert_int_eq(systemd_notify_addr(name, &sun, &len, &cause), 0);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_DGRAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	return fd;
}

void
check_notify_close(int fd)
{
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

/*
 * The next message, without waiting (the sender is this process): its
 * text in buf, and in *passed the descriptor that came with it, or -1.
 * Returns its length, or -1 when there is none.
 */
ssize_t
check_notify_recv(int fd, char *buf, size_t size, int *passed)
{
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 control;
	struct iovec		 iov = { buf, size - 1 };
	struct msghdr		 mh;
	struct cmsghdr		*cm;
	ssize_t			 n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = control.buf;
	mh.msg_controllen = sizeof(control.buf);
	*passed = -1;
	if ((n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) == -1)
		return -1;
	buf[n] = '\0';
	ck_assert_int_eq(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC), 0);
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS)
			memcpy(passed, CMSG_DATA(cm), sizeof(int));
	}
	return n;
}
