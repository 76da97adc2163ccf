/* SPDX-License-Identifier: ISC */
/*
 * hold.so: an LD_PRELOAD shim that holds a process at a chosen call, as a
 * debugger's breakpoint would, so that a test can act in that window.
 *
 * HOLD_AT says where: "filter", at setsockopt(SO_ATTACH_FILTER); "open",
 * at open() of a path that ends in HOLD_PATH.  There the shim writes
 * "hold: held" to stderr, waits until a byte can be read from the FIFO
 * named by HOLD_FIFO, and carries on.  Only the first such call is held.
 * For tests only.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int	(*setsockopt_fn)(int, int, int, const void *, socklen_t);
typedef int	(*open_fn)(const char *, int, ...);

static void
hold(const char *at)
{
	static int	 held;
	const char	*want = getenv("HOLD_AT"), *fifo = getenv("HOLD_FIFO");
	const char	*msg = "hold: held\n";
	char		 c;
	int		 fd;

	if (held || want == NULL || fifo == NULL || strcmp(want, at) != 0)
		return;
	held = 1;
	if (write(STDERR_FILENO, msg, strlen(msg)) == -1)
		abort();
	if ((fd = open(fifo, O_RDONLY | O_CLOEXEC)) == -1 || read(fd, &c, 1) != 1)
		abort();
	close(fd);
}

int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	setsockopt_fn	 real = (setsockopt_fn)dlsym(RTLD_NEXT, "setsockopt");

	if (level == SOL_SOCKET && name == SO_ATTACH_FILTER)
		hold("filter");
	return real(fd, level, name, val, len);
}

static void
hold_open(const char *path)
{
	const char	*want = getenv("HOLD_PATH");
	size_t		 len = strlen(path);

	if (want != NULL && len >= strlen(want) &&
	    strcmp(path + len - strlen(want), want) == 0)
		hold("open");
}

/* open() and open64(), which a caller may reach by either name. */
static int
hold_open_as(const char *name, const char *path, int flags, va_list ap)
{
	open_fn		 real = (open_fn)dlsym(RTLD_NEXT, name);
	mode_t		 mode;

	mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
	hold_open(path);
	return real(path, flags, mode);
}

int
open(const char *path, int flags, ...)
{
	va_list		 ap;
	int		 fd;

	va_start(ap, flags);
	fd = hold_open_as("open", path, flags, ap);
	va_end(ap);
	return fd;
}

int
open64(const char *path, int flags, ...)
{
	va_list		 ap;
	int		 fd;

	va_start(ap, flags);
	fd = hold_open_as("open64", path, flags, ap);
	va_end(ap);
	return fd;
}
