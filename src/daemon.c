/* SPDX-License-Identifier: ISC */
/*
 * Process matters: detaching, the pidfile, privileges, descriptor limits.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hellod.h"

/*
 * Make sure descriptors 0-2 are open, on /dev/null if they are not.  A
 * daemon started with one of them closed would otherwise get it back from
 * its first open(), eventfd() or epoll_create(), and then log into it, or
 * lose it when daemon_ready() puts /dev/null over 0-2.  Before anything
 * else opens a descriptor; returns -1 when /dev/null cannot be opened.
 */
int
daemon_stdio(void)
{
	int	 fd, null;

	for (fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* The lowest free descriptor: fd itself, as the lower ones
		 * are open. */
		if ((null = open("/dev/null", O_RDWR)) == -1)
			return -1;
		if (null != fd) {
			if (dup2(null, fd) == -1)
				return -1;
			close(null);
		}
	}
	return 0;
}

/*
 * Fork into the background.  The parent stays until the child says it
 * listens (one byte on a pipe), so "hellod -d" fails visibly, with the
 * child's errors on the terminal, when the daemon cannot start.  Returns the
 * pipe for daemon_ready() in the child.
 */
int
daemon_start(void)
{
	int	 p[2], status;
	char	 c;
	pid_t	 pid;
	ssize_t	 n;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	switch ((pid = fork())) {
	case -1:
		fatal("fork");
	case 0:
		close(p[0]);
		if (setsid() == -1)
			fatal("setsid");
		return p[1];
	default:
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n == -1 && errno == EINTR);
		if (n == 1)
			_exit(HELLOD_EXIT_OK);
		/* The child died before it was ready: pass on its status. */
		if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
			_exit(HELLOD_EXIT_FAILURE);
		_exit(WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) :
		    HELLOD_EXIT_FAILURE);
	}
}

/* The child listens: let the parent go, leave the terminal for syslog. */
void
daemon_ready(int fd)
{
	int	 null;

	/* The workers run and log: log_to_syslog(), not log_init(). */
	log_to_syslog();
	if (chdir("/") == -1)
		log_warn("chdir /");
	if ((null = open("/dev/null", O_RDWR)) != -1) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(fd, "", 1) != 1)
		log_warn("readiness pipe");
	close(fd);
}

/* After binding: become user, or refuse to go on as root. */
int
daemon_drop_privileges(const char *user)
{
	struct passwd	*pw;

	if (user == NULL)
		return 0;
	if (geteuid() != 0) {
		log_info("not started as root, user \"%s\" not used", user);
		return 0;
	}
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("user \"%s\" does not exist", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_warn("cannot drop privileges to \"%s\"", user);
		return -1;
	}
	if (pw->pw_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		log_warnx("could regain root after dropping privileges");
		return -1;
	}
	log_info("running as user \"%s\"", user);
	return 0;
}

/*
 * The descriptors the daemon holds with nworkers workers and nlisteners
 * listening sockets and max_connections clients: everything it opens
 * (DAEMON_FD_PROCESS, DAEMON_FD_BASE, DAEMON_FD_WORKER say what), plus
 * DAEMON_FD_SPARE for what comes and goes (a reload's file, a rejected
 * client, a notification socket).  Every worker accepts on a dup of every
 * listening socket: with many workers, those count.
 */
rlim_t
daemon_fd_need(unsigned max_connections, unsigned nworkers,
    size_t nlisteners)
{
	rlim_t	 n;

	n = DAEMON_FD_PROCESS + DAEMON_FD_BASE + nlisteners;
	if (nworkers > 0)
		n += nlisteners +		/* worker 0, on the server's base */
		    (rlim_t)(nworkers - 1) *
		    (DAEMON_FD_BASE + DAEMON_FD_WORKER + nlisteners);
	return n + max_connections + DAEMON_FD_SPARE;
}

/*
 * Raise the soft descriptor limit to want (daemon_fd_need()), as far as
 * the hard limit lets it; it is never lowered.  Warns, and returns -1,
 * when it stays below.
 */
int
daemon_fd_limit(rlim_t want, unsigned max_connections)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit");
		return -1;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want
		    ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit");
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		log_warnx("the descriptor limit (%llu) is too low for "
		    "max_connections %u (%llu wanted); new connections will "
		    "wait when it is reached", (unsigned long long)rl.rlim_cur,
		    max_connections, (unsigned long long)want);
		return -1;
	}
	log_debug("%s: %llu descriptors, %llu wanted", __func__,
	    (unsigned long long)rl.rlim_cur, (unsigned long long)want);
	return 0;
}

/*
 * Whether the directory of the pidfile is safe for this process to write
 * into: only root, or the user hellod runs as, may own it or write to it
 * (a group- or world-writable directory only with the sticky bit, as /tmp).
 * Root writes the pidfile before the switch to "user": an account that
 * could replace the file with a link would choose what root overwrites.
 * Only the directory holding the file is checked, as chrony does.
 */
static int
daemon_pidfile_dir_ok(int dirfd, const char *path, const char *dir)
{
	struct stat	 st;

	if (fstat(dirfd, &st) == -1) {
		log_warn("pidfile %s: directory %s", path, dir);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		log_warnx("pidfile %s: directory %s is owned by uid %ju; only "
		    "root%s may own it", path, dir, (uintmax_t)st.st_uid,
		    geteuid() != 0 ? " or the user hellod runs as" : "");
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (st.st_mode & S_ISVTX) == 0) {
		log_warnx("pidfile %s: directory %s is writable by its group or "
		    "others (mode %04o)", path, dir,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* What the file at path, open as fd or not yet (fd -1), may not be. */
static int
daemon_pidfile_file_ok(int dirfd, const char *name, int fd, const char *path)
{
	struct stat	 st;

	if (fd == -1 ? fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 :
	    fstat(fd, &st) == -1) {
		if (fd == -1 && errno == ENOENT)
			return 0;
		log_warn("pidfile %s", path);
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		log_warnx("pidfile %s: is a symbolic link, not followed", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("pidfile %s: is not a regular file", path);
		return -1;
	}
	if (st.st_nlink > 1) {
		log_warnx("pidfile %s: has other hard links", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		log_warnx("pidfile %s: is owned by uid %ju, not by the user "
		    "hellod runs as", path, (uintmax_t)st.st_uid);
		return -1;
	}
	return 0;
}

/*
 * Write the pidfile, still as root when started as root.  Nothing at path
 * is followed or truncated before it is known to be a plain file of ours:
 * the directory is opened and checked first, the file is opened relative
 * to it without O_TRUNC and with O_NOFOLLOW (and O_NONBLOCK: a FIFO must
 * not hang the start), checked through its descriptor, then truncated.
 */
int
daemon_pidfile_write(const char *path)
{
	const char	*name;
	char		*dir, *slash, pid[32];
	int		 dirfd = -1, fd = -1, created = 0, rc = -1, len;

	if ((dir = strdup(path)) == NULL) {
		log_warn("pidfile %s", path);
		return -1;
	}
	/* The path is absolute (config.c); "/x" has its file in "/". */
	if ((slash = strrchr(dir, '/')) == NULL || slash[1] == '\0') {
		log_warnx("pidfile %s: not a path to a file", path);
		goto out;
	}
	name = path + (slash - dir) + 1;
	if (slash == dir)
		slash++;
	*slash = '\0';

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("pidfile %s: directory %s", path, dir);
		goto out;
	}
	if (daemon_pidfile_dir_ok(dirfd, path, dir) == -1 ||
	    daemon_pidfile_file_ok(dirfd, name, -1, path) == -1)
		goto out;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd != -1)
		created = 1;
	else if (errno == EEXIST)
		fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	if (fd == -1) {
		/* Replaced by a symbolic link since the check: ELOOP. */
		if (errno == ELOOP)
			log_warnx("pidfile %s: is a symbolic link, not followed",
			    path);
		else
			log_warn("pidfile %s", path);
		goto out;
	}
	if (daemon_pidfile_file_ok(dirfd, name, fd, path) == -1)
		goto out;
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, pid, (size_t)len) != len) {
		log_warn("pidfile %s", path);
		created = 1;	/* ours, and now holding no valid PID */
		goto out;
	}
	rc = 0;
out:
	if (fd != -1 && close(fd) == -1 && rc == 0) {
		log_warn("pidfile %s", path);
		rc = -1;
		created = 1;
	}
	if (rc == -1 && created)
		unlinkat(dirfd, name, 0);
	if (dirfd != -1)
		close(dirfd);
	free(dir);
	return rc;
}

void
daemon_pidfile_remove(const char *path)
{
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("cannot remove pidfile %s", path);
}
