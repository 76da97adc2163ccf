/* SPDX-License-Identifier: ISC */
/*
 * holdfilter.so: an LD_PRELOAD shim that holds a process at the moment it
 * attaches a socket filter, as a debugger's breakpoint would.
 *
 * At setsockopt(SO_ATTACH_FILTER) it writes "holdfilter: held" to stderr,
 * then waits until a byte can be read from the FIFO named by
 * HOLDFILTER_FIFO, then carries on.  A test reaches into that window:
 * whatever a client can do while the filter is not yet in place, it does
 * then.  Only the first call is held.  For tests only.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int	(*setsockopt_fn)(int, int, int, const void *, socklen_t);

int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int		 held;
	setsockopt_fn		 real;
	const char		*fifo, *msg = "holdfilter: held\n";
	char			 c;
	int			 ffd;

	real = (setsockopt_fn)dlsym(RTLD_NEXT, "setsockopt");
	fifo = getenv("HOLDFILTER_FIFO");
	if (level == SOL_SOCKET && name == SO_ATTACH_FILTER && !held &&
	    fifo != NULL) {
		held = 1;
		if (write(STDERR_FILENO, msg, strlen(msg)) == -1)
			abort();
		if ((ffd = open(fifo, O_RDONLY | O_CLOEXEC)) == -1 ||
		    read(ffd, &c, 1) != 1)
			abort();
		close(ffd);
	}
	return real(fd, level, name, val, len);
}
