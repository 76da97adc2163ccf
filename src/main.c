/* SPDX-License-Identifier: ISC */
/*
 * hellod: answers every line a client sends with a configured message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hellod.h"

#ifndef HELLOD_CONF
#define HELLOD_CONF	"/etc/hellod.conf"
#endif

/*
 * The configuration file as an absolute path, for every later reload:
 * "hellod -d" changes to "/".  Not through realpath(): a symbolic link is
 * followed again at each reload, so re-pointing it still works.  NULL when
 * the working directory is unknown (the path is then used as it is).
 */
static char *
main_abspath(const char *path)
{
	char	*cwd, *abs;

	if (path[0] == '/')
		return strdup(path);
	if ((cwd = getcwd(NULL, 0)) == NULL) {
		log_warn("getcwd");
		return NULL;
	}
	if (asprintf(&abs, "%s/%s", cwd, path) == -1)
		abs = NULL;
	free(cwd);
	return abs;
}

/*
 * What -t (and a start with a broken file) prints on stderr, line by
 * line: under journald with a "<N>" priority, as the daemon's own log
 * lines have, so that "journalctl -p warning" shows why an ExecStartPre=
 * or ExecReload= check failed; plain otherwise, for a terminal.
 */
static void
main_print(int journal, int pri, const char *text)
{
	const char	*nl;

	for (; *text != '\0'; text = nl + 1) {
		if ((nl = strchr(text, '\n')) == NULL)
			nl = text + strlen(text);
		if (journal)
			fprintf(stderr, "<%d>", pri);
		fprintf(stderr, "%.*s\n", (int)(nl - text), text);
		if (*nl == '\0')
			break;
	}
}

static __dead void
usage(void)
{
	fprintf(stderr, "usage: hellod [-dhtTvV] [-c file]\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -d       detach and run in the background\n"
	    "  -t       test the configuration and exit\n"
	    "  -T       test the configuration and print it\n"
	    "  -v       more verbose logging (repeatable)\n"
	    "  -V       print the version and exit\n"
	    "  -h       this help\n", HELLOD_CONF);
	exit(HELLOD_EXIT_USAGE);
}

int
main(int argc, char *argv[])
{
	struct config	*conf;
	struct server	*srv;
	const char	*path = HELLOD_CONF;
	char		*errors, *pidfile = NULL, *abspath = NULL;
	int		 ch, detach = 0, test = 0, dump = 0, verbose = 0;
	int		 explicit = 0, ready_fd = -1, listen_fds = 0, journal;
	int		 started = 0, rc;

	/* 0-2 open, on /dev/null if need be; nothing at fd 3 and up is
	 * touched, where systemd's sockets may be. */
	if (daemon_stdio() == -1)
		return HELLOD_EXIT_FAILURE;

	while ((ch = getopt(argc, argv, "c:dhtTvV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			explicit = 1;
			break;
		case 'd':
			detach = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'T':
			test = dump = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("hellod %s\n", PACKAGE_VERSION);
			return HELLOD_EXIT_OK;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init(LOG_TO_STDERR, LOG_INFO, "hellod");
	journal = systemd_journal_stderr();
	log_set_journal(journal);
	/* The sockets systemd passed, checked before anything else opens a
	 * descriptor (and before a fork changes the pid they are for). */
	if (!test && (listen_fds = systemd_listen_fds(&errors)) == -1) {
		log_warnx("socket activation: %s", errors);
		free(errors);
		log_errorx("cannot listen, exiting");
		return HELLOD_EXIT_FAILURE;
	}
	if (!test && (abspath = main_abspath(path)) != NULL)
		path = abspath;
	if ((conf = config_load(path, explicit, &errors)) == NULL) {
		main_print(journal, LOG_ERR, errors != NULL ? errors :
		    "out of memory");
		free(errors);
		if (test)
			main_print(journal, LOG_ERR, "configuration test failed");
		free(abspath);
		return HELLOD_EXIT_CONFIG;
	}
	if (test) {
		if (dump)
			config_dump(conf, stdout);
		main_print(journal, LOG_INFO, "configuration OK");
		config_free(conf);
		return HELLOD_EXIT_OK;
	}
	log_setlevel(config_log_level(conf, verbose));
	if (conf->path == NULL)
		log_notice("%s not found, using the built-in defaults", path);

	if (detach)
		ready_fd = daemon_start();
	srv = server_new(conf, path, explicit, listen_fds);
	server_set_verbose(srv, verbose);
	rc = HELLOD_EXIT_FAILURE;
	if (server_listen(srv) == -1) {
		log_errorx("cannot listen, exiting");
		goto out;
	}
	if (server_prepare(srv) == -1) {
		log_errorx("cannot start, exiting");
		goto out;
	}
	/*
	 * The pidfile while still root: its directory (/run) must be root's
	 * (daemon_pidfile_write() refuses any other).  A reload may name
	 * another pidfile; the one written is removed.
	 */
	if (detach && ((pidfile = strdup(conf->pidfile)) == NULL ||
	    daemon_pidfile_write(pidfile) == -1)) {
		free(pidfile);
		pidfile = NULL;
		log_errorx("cannot write the pidfile, exiting");
		goto out;
	}
	if (daemon_drop_privileges(conf->user) == -1) {
		log_errorx("refusing to run as root");
		goto out;
	}
	/* Only once every worker runs may "hellod -d" report success. */
	if (server_start(srv) == -1) {
		log_errorx("cannot start, exiting");
		goto out;
	}
	if (detach)
		daemon_ready(ready_fd);
	started = 1;
	rc = server_dispatch(srv) == 0 ? HELLOD_EXIT_OK : HELLOD_EXIT_FAILURE;

out:
	if (pidfile != NULL)
		daemon_pidfile_remove(pidfile);
	free(pidfile);
	if (started)
		log_notice("stopped");
	server_free(srv);
	free(abspath);
	return rc;
}
