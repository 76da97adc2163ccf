/* SPDX-License-Identifier: ISC */
/*
 * libevent's read-size question, answered in hellod.
 *
 * Before every readv() of a socket, libevent 2.1's evbuffer_read() asks
 * the kernel how many bytes wait there, ioctl(fd, FIONREAD, &n)
 * (buffer.c, get_n_bytes_readable_on_socket()), only to size that read:
 * it reads at most n bytes, where an n of 0 or less, or above
 * EVBUFFER_MAX_READ (4096), counts as 4096, and never more than its
 * caller allows (the bufferevent's read watermark, 16384 a read).  For a
 * connection of hellod that question is one system call in three.
 *
 * So hellod defines ioctl() itself, with glibc's prototype.  The
 * executable comes first in the dynamic linker's search order (ELF symbol
 * interposition), and ld exports this definition because libevent.so
 * refers to the name: libevent's call through its PLT lands here.  A
 * FIONREAD on a descriptor that conn.c has marked as a connection's
 * (readsize_mark() at accept, readsize_unmark() before close) is answered
 * READSIZE_ANSWER with no system call; any other request, and FIONREAD on
 * any other descriptor (the metrics endpoint's sockets, one past the map),
 * goes on to the next ioctl() in the search order: libc's, or a
 * sanitizer's interceptor in front of it.
 *
 * READSIZE_ANSWER sizes the chain libevent allocates for the read: the
 * answer plus the chain's header (48 bytes on LP64), rounded up to a
 * power of two from 1 KiB.  960 keeps it at 1 KiB, as when the kernel
 * answers a few bytes for a short line: a malloc() that glibc's
 * per-thread cache serves (an answer of 4096, EVBUFFER_MAX_READ, made it
 * 8 KiB, past that cache, and measurably dearer at depth 16), and what a
 * partial line waiting for its end holds, 1 KiB and not 8, also for a
 * client that never ends its line.  With fewer bytes waiting, readv()
 * returns what there is (a short read, which a read of a non-blocking
 * socket may always be); with more, what is left is read after the next
 * epoll_wait(): a client that pipelines more than 960 bytes at once
 * costs a read per 960 bytes instead of per 4096.  See
 * docs/PERFORMANCE.md.
 *
 * What this relies on:
 *  - the executable is linked dynamically and libevent is a shared
 *    object that calls ioctl() through the PLT (readsize_init() checks
 *    that a lookup of "ioctl" finds this one, and logs what it finds);
 *  - libevent uses the answer to size a read and for nothing else, so a
 *    wrong answer costs a short read or one more read, never a byte;
 *  - nothing in hellod asks FIONREAD of a connection for the exact count.
 *
 * The map: one entry per descriptor below the hard RLIMIT_NOFILE (at most
 * READSIZE_FD_MAX), allocated once before any thread starts and never
 * freed: calloc()'s pages are touched only where connections' numbers
 * lie (8 bytes a descriptor).  An entry is the counter of the worker that
 * owns the connection, NULL for any other descriptor.  The worker stores
 * it at accept and clears it before close(), both in its own thread; any
 * thread loads it, with no lock.  A descriptor number closed by one
 * worker and reused by another thread's accept() has been cleared first:
 * the entry is cleared before close(), and the kernel hands the number
 * out again only after that close() (its file table is locked).  Even a
 * stale entry would cost no data: one read sized wrongly, counted
 * against the old worker.  The answers are counted in the worker's
 * struct stats through the entry (STATS_ADD: one writer, since only the
 * owning worker reads the socket).
 *
 * Everything else goes to libc's ioctl(), found once with
 * dlsym(RTLD_NEXT), rather than to a raw syscall(SYS_ioctl): glibc
 * translates a few requests on some ABIs (termios on powerpc, the 64-bit
 * time_t ones on 32-bit ABIs), and the sanitizers' interceptors (ASan and
 * TSan both intercept ioctl(), and this definition wins over theirs) stay
 * on the path of every request that is not ours.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "hellod.h"

#ifdef HELLOD_READSIZE

typedef int	(*readsize_ioctl_fn)(int, unsigned long, ...);

struct readsize_map {
	size_t		 nfds;
	uint64_t	*fds[];		/* by descriptor: a counter, or NULL */
};

static struct readsize_map	*readsize_map;	/* atomic; once built, kept */
static readsize_ioctl_fn	 readsize_next;	/* atomic; libc's ioctl() */

/* Only if dlsym() cannot find libc's: the system call itself. */
static int
readsize_syscall(int fd, unsigned long request, ...)
{
	va_list	 ap;
	void	*arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	return (int)syscall(SYS_ioctl, fd, request, arg);
}

/*
 * The next ioctl(), looked up at the first call that is not ours.  Two
 * threads may both look it up; they store the same address.
 */
static readsize_ioctl_fn
readsize_libc(void)
{
	readsize_ioctl_fn	 f;
	void			*sym;

	if ((f = __atomic_load_n(&readsize_next, __ATOMIC_ACQUIRE)) != NULL)
		return f;
	/* POSIX lets a data pointer from dlsym() hold a function's address. */
	if ((sym = dlsym(RTLD_NEXT, "ioctl")) != NULL)
		f = (readsize_ioctl_fn)sym;
	else
		f = readsize_syscall;
	__atomic_store_n(&readsize_next, f, __ATOMIC_RELEASE);
	return f;
}

/*
 * As glibc declares it.  The third argument is read as a pointer whether
 * the caller passed one or not, as glibc's own ioctl() does.  The kernel
 * takes the request as an unsigned int: so is it compared here.
 */
int
ioctl(int fd, unsigned long request, ...)
{
	struct readsize_map	*map;
	uint64_t		*counter;
	va_list			 ap;
	void			*arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if ((unsigned int)request == FIONREAD && fd >= 0 && arg != NULL &&
	    (map = __atomic_load_n(&readsize_map, __ATOMIC_ACQUIRE)) != NULL &&
	    (size_t)fd < map->nfds &&
	    (counter = __atomic_load_n(&map->fds[fd], __ATOMIC_RELAXED)) !=
	    NULL) {
		*(int *)arg = READSIZE_ANSWER;
		STATS_ADD(*counter, 1);
		return 0;
	}
	return readsize_libc()(fd, request, arg);
}

/*
 * Build the map, once, before any thread starts; say at debug level
 * whether libevent will find this ioctl().  Marks made before are lost
 * (those connections ask the kernel).
 */
void
readsize_init(void)
{
	struct readsize_map	*map;
	struct rlimit		 rl;
	size_t			 n = READSIZE_FD_MAX;
	void			*found;

	if (__atomic_load_n(&readsize_map, __ATOMIC_ACQUIRE) != NULL)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n)
		n = (size_t)rl.rlim_max;
	if ((map = calloc(1, sizeof(*map) + n * sizeof(map->fds[0]))) ==
	    NULL) {
		log_warnx("%s: no memory for a map of %zu descriptors: the "
		    "kernel answers FIONREAD", __func__, n);
		return;
	}
	map->nfds = n;
	__atomic_store_n(&readsize_map, map, __ATOMIC_RELEASE);
	found = dlsym(RTLD_DEFAULT, "ioctl");
	if (found != (void *)ioctl)
		log_warnx("%s: the dynamic linker finds another ioctl() "
		    "first: the kernel answers FIONREAD", __func__);
	else
		log_debug("%s: FIONREAD on connections answered %d by hellod "
		    "(descriptors below %zu); other ioctls go to libc",
		    __func__, READSIZE_ANSWER, n);
}

void
readsize_mark(int fd, uint64_t *counter)
{
	struct readsize_map	*map;

	map = __atomic_load_n(&readsize_map, __ATOMIC_ACQUIRE);
	if (map != NULL && fd >= 0 && (size_t)fd < map->nfds)
		__atomic_store_n(&map->fds[fd], counter, __ATOMIC_RELAXED);
}

void
readsize_unmark(int fd)
{
	readsize_mark(fd, NULL);
}

#else /* !HELLOD_READSIZE */

void
readsize_init(void)
{
	log_debug("%s: FIONREAD left to the kernel (built with "
	    "--disable-readsize)", __func__);
}

void
readsize_mark(int fd, uint64_t *counter)
{
	(void)fd;
	(void)counter;
}

void
readsize_unmark(int fd)
{
	(void)fd;
}

#endif /* HELLOD_READSIZE */
