/* SPDX-License-Identifier: ISC */
/*
 * The process's own use of the system, as Prometheus's process collector
 * reports it: CPU time, memory, descriptors.  Read from /proc/self at the
 * moment it is asked, by whichever thread asks (the metrics endpoint's):
 * nothing here is kept between calls.
 *
 * /proc/self/stat is one line, "pid (comm) state ppid ...", where comm is
 * the thread's name and may hold blanks and parentheses of its own: the
 * fields are counted from the last ')' on (proc(5)).
 */
#include "config.h"

#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hellod.h"

/* Fields of /proc/self/stat, numbered from 1 as proc(5) numbers them. */
#define PROC_STAT_STATE		3	/* the first after comm */
#define PROC_STAT_UTIME		14	/* clock ticks */
#define PROC_STAT_STIME		15
#define PROC_STAT_VSIZE		23	/* bytes */
#define PROC_STAT_RSS		24	/* pages */

/*
 * The counters of one /proc/[pid]/stat line (len bytes, not necessarily
 * terminated) into *ps.  -1 if it is not such a line.
 */
int
proc_stat_parse(const char *buf, size_t len, struct proc_stat *ps)
{
	const char		*p, *end = buf + len;
	char			 num[24], *nend;
	unsigned long long	 v;
	size_t			 n;
	int			 field;

	memset(ps, 0, sizeof(*ps));
	for (p = end; p > buf && p[-1] != ')'; p--)
		;
	if (p == buf)
		return -1;
	for (field = PROC_STAT_STATE; field <= PROC_STAT_RSS; field++) {
		if (p == end || *p != ' ')
			return -1;
		p++;
		for (n = 0; p + n < end && p[n] != ' ' && p[n] != '\n'; n++)
			;
		if (n == 0)
			return -1;
		if (field != PROC_STAT_UTIME && field != PROC_STAT_STIME &&
		    field != PROC_STAT_VSIZE && field != PROC_STAT_RSS) {
			p += n;
			continue;
		}
		if (n >= sizeof(num) || *p < '0' || *p > '9')
			return -1;
		memcpy(num, p, n);
		num[n] = '\0';
		errno = 0;
		v = strtoull(num, &nend, 10);
		if (errno != 0 || *nend != '\0')
			return -1;
		switch (field) {
		case PROC_STAT_UTIME:
		case PROC_STAT_STIME:
			ps->cpu_ticks += v;
			break;
		case PROC_STAT_VSIZE:
			ps->vsize = v;
			break;
		case PROC_STAT_RSS:
			ps->rss_pages = v;
			break;
		}
		p += n;
	}
	return 0;
}

/* Descriptors open in this process, the directory's own left out. */
static uint64_t
proc_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 self[16];
	uint64_t	 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return PROC_UNKNOWN;
	snprintf(self, sizeof(self), "%d", dirfd(d));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, self) == 0)
			continue;
		n++;
	}
	closedir(d);
	return n;
}

/* Fill *pu; what cannot be read is PROC_UNKNOWN. */
void
proc_usage(struct proc_usage *pu)
{
	struct proc_stat	 ps;
	struct rlimit		 rl;
	char			 buf[1024];
	ssize_t			 n;
	long			 hz, page;
	int			 fd;

	pu->cpu_ms = pu->virtual_bytes = pu->resident_bytes = PROC_UNKNOWN;
	pu->max_fds = PROC_UNKNOWN;
	pu->open_fds = proc_open_fds();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		pu->max_fds = rl.rlim_cur;
	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || proc_stat_parse(buf, (size_t)n, &ps) == -1)
		return;
	hz = sysconf(_SC_CLK_TCK);
	page = sysconf(_SC_PAGESIZE);
	if (hz > 0)
		pu->cpu_ms = ps.cpu_ticks * 1000 / (uint64_t)hz;
	pu->virtual_bytes = ps.vsize;
	if (page > 0)
		pu->resident_bytes = ps.rss_pages * (uint64_t)page;
}
