/* SPDX-License-Identifier: ISC */
/*
 * replay.c: main() for a fuzz target built without libFuzzer.
 *
 * Runs LLVMFuzzerTestOneInput() once on every file named on the command
 * line and on every file in the directories named there (not recursing,
 * in name order, dot files skipped).  With no argument it replays the
 * corpus directory the build compiled in (REPLAY_CORPUS): that is how
 * "make check" keeps the seed corpus, and every crasher added to it, as a
 * regression test under gcc, the sanitizers or valgrind.
 *
 * Each input is handed over in a buffer of exactly its size, so that a
 * read past its end is caught by ASan or valgrind.  A target reports a
 * failure by aborting; the exit status is 1 when an input cannot be read
 * or a directory holds no input at all.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static int
replay_file(const char *path)
{
	struct stat	 sb;
	uint8_t		*buf;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &sb) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* One byte more than needed only so that malloc(0) is not asked. */
	if ((buf = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1)) == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		close(fd);
		return -1;
	}
	while (off < (size_t)sb.st_size) {
		n = read(fd, buf + off, (size_t)sb.st_size - off);
		if (n <= 0) {
			fprintf(stderr, "replay: %s: %s\n", path, n == 0 ?
			    "file shrank while read" : strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	close(fd);
	(void)LLVMFuzzerTestOneInput(buf, off);
	free(buf);
	return 0;
}

static int
replay_skip(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Returns the number of inputs replayed, -1 on any error. */
static int
replay_dir(const char *dir)
{
	struct dirent	**names;
	struct stat	  sb;
	char		 *path;
	int		  i, n, count = 0, failed = 0;

	if ((n = scandir(dir, &names, replay_skip, alphasort)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (asprintf(&path, "%s/%s", dir, names[i]->d_name) == -1) {
			fprintf(stderr, "replay: out of memory\n");
			failed = 1;
		} else {
			if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
				if (replay_file(path) == -1)
					failed = 1;
				else
					count++;
			}
			free(path);
		}
		free(names[i]);
	}
	free(names);
	if (count == 0 && !failed) {
		fprintf(stderr, "replay: %s: no input in the corpus\n", dir);
		failed = 1;
	}
	return failed ? -1 : count;
}

static int
replay_arg(const char *arg)
{
	struct stat	 sb;
	int		 n;

	if (stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		if ((n = replay_dir(arg)) == -1)
			return -1;
		printf("replay: %d inputs from %s\n", n, arg);
		return 0;
	}
	if (replay_file(arg) == -1)
		return -1;
	printf("replay: %s\n", arg);
	return 0;
}

int
main(int argc, char **argv)
{
	int	 i, rc = 0;

	if (argc < 2) {
#ifdef REPLAY_CORPUS
		return replay_arg(REPLAY_CORPUS) == -1 ? 1 : 0;
#else
		fprintf(stderr, "usage: %s file-or-corpus-dir ...\n", argv[0]);
		return 2;
#endif
	}
	for (i = 1; i < argc; i++) {
		if (replay_arg(argv[i]) == -1)
			rc = 1;
	}
	return rc;
}
