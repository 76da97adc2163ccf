/* SPDX-License-Identifier: ISC */
/*
 * hellod: answers every line a client sends with a configured message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

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

/* The short options; the long ones are main_long_options()'. */
#define MAIN_OPTSTRING	"c:dhtTvV"

static void
main_usage(FILE *fp)
{
	char		 keys[512], *key, *last;
	size_t		 col;

	fprintf(fp, "usage: hellod [-dhtTvV] [-c file] [--KEY=VALUE ...]\n"
	    "  -c file        configuration file (default %s)\n"
	    "  -d             detach and run in the background\n"
	    "  -t             test the configuration and exit\n"
	    "  -T             test the configuration and print it\n"
	    "  -v             more verbose logging (repeatable)\n"
	    "  -V, --version  print the version and the features, and exit\n"
	    "  -h, --help     this help\n"
	    "  --KEY=VALUE    set a configuration key over the file, at every "
	    "reload\n"
	    "  --KEY VALUE    too; KEY is one of:\n", HELLOD_CONF);
	config_known_keys(keys, sizeof(keys));
	col = 0;
	for (key = strtok_r(keys, ", ", &last); key != NULL;
	    key = strtok_r(NULL, ", ", &last)) {
		if (col == 0 || col + strlen(key) + 1 > 72) {
			fprintf(fp, "%s                 %s", col ? ",\n" : "",
			    key);
			col = 17 + strlen(key);
		} else {
			fprintf(fp, ", %s", key);
			col += 2 + strlen(key);
		}
	}
	fprintf(fp, "\n");
}

static __dead void
usage(void)
{
	main_usage(stderr);
	exit(HELLOD_EXIT_USAGE);
}

/*
 * -V: what runs, to paste into a bug report.  Every feature listed is
 * built in whatever configure was given; the sanitizers only when asked.
 */
static void
main_version(void)
{
	printf("hellod %s\n", PACKAGE_VERSION);
	if (strcmp(event_get_version(), LIBEVENT_VERSION) == 0)
		printf("libevent %s\n", event_get_version());
	else
		printf("libevent %s (built with %s)\n", event_get_version(),
		    LIBEVENT_VERSION);
	printf("features: metrics endpoint (metrics_listen), PROXY protocol "
	    "v1 and v2,\n  systemd notify, watchdog and socket activation "
	    "(without libsystemd)\n");
#ifdef HELLOD_SANITIZERS
	printf("sanitizers: %s\n", HELLOD_SANITIZERS);
#endif
}

/*
 * Take the long options out of argv before getopt(3) sees the rest:
 * --help, --version, and "--KEY=VALUE" or "--KEY VALUE" for any
 * configuration key, added to ov as given (config.c checks the key and the
 * value at each load, with the file).  The argument of a short option
 * ("-c --odd-name") is left alone, and "--" ends the options.  Returns the
 * new argc, or -1 for a --KEY without a value.
 */
static int
main_long_options(int argc, char *argv[], struct config_overrides *ov,
    int *help, int *version)
{
	const char	*opt;
	char		*arg;
	int		 i, j, n = 1;

	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (arg[0] == '-' && arg[1] != '-' && arg[1] != '\0') {
			argv[n++] = arg;
			/* "-c file" or "-dc file": the next one is its. */
			for (j = 1; arg[j] != '\0'; j++) {
				opt = strchr(MAIN_OPTSTRING, arg[j]);
				if (opt == NULL || opt[1] != ':')
					continue;
				if (arg[j + 1] == '\0' && i + 1 < argc)
					argv[n++] = argv[++i];
				break;
			}
			continue;
		}
		if (strncmp(arg, "--", 2) != 0) {
			argv[n++] = arg;
			continue;
		}
		if (strcmp(arg, "--help") == 0)
			*help = 1;
		else if (strcmp(arg, "--version") == 0)
			*version = 1;
		else if (strchr(arg, '=') != NULL) {
			if (config_override_add(ov, arg + 2, NULL) == -1)
				fatal("%s", arg);
		} else if (i + 1 < argc) {
			if (config_override_add(ov, arg + 2, argv[++i]) == -1)
				fatal("%s", arg);
		} else {
			fprintf(stderr, "hellod: %s needs a value (%s=VALUE or "
			    "%s VALUE)\n", arg, arg, arg);
			return -1;
		}
	}
	argv[n] = NULL;
	return n;
}

int
main(int argc, char *argv[])
{
	struct config_overrides ov = { NULL, 0 };
	struct config	*conf;
	struct server	*srv;
	const char	*path = HELLOD_CONF;
	char		*errors, *pidfile = NULL, *abspath = NULL;
	char		**listen_names = NULL;
	int		 ch, detach = 0, test = 0, dump = 0, verbose = 0;
	int		 explicit = 0, ready_fd = -1, listen_fds = 0, journal;
	int		 started = 0, help = 0, version = 0, rc;

	/* Before anything else: a HUP or USR1 must not kill a daemon that
	 * has yet to install its handlers. */
	server_signals_hold();
	/* 0-2 open, on /dev/null if need be; nothing at fd 3 and up is
	 * touched, where systemd's sockets may be. */
	if (daemon_stdio() == -1)
		return HELLOD_EXIT_FAILURE;

	if ((argc = main_long_options(argc, argv, &ov, &help, &version)) ==
	    -1)
		usage();
	while ((ch = getopt(argc, argv, MAIN_OPTSTRING)) != -1) {
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
		case 'h':
			help = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			version = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* Asked for, help and the version go to stdout and exit 0. */
	if (help || version) {
		if (help)
			main_usage(stdout);
		else
			main_version();
		config_overrides_clear(&ov);
		return HELLOD_EXIT_OK;
	}

	log_init(LOG_TO_STDERR, LOG_INFO, "hellod");
	journal = systemd_journal_stderr();
	log_set_journal(journal);
	/* The sockets systemd passed, checked before anything else opens a
	 * descriptor (and before a fork changes the pid they are for). */
	if (!test && (listen_fds = systemd_listen_fds(&listen_names,
	    &errors)) == -1) {
		log_warnx("socket activation: %s", errors);
		free(errors);
		log_errorx("cannot listen, exiting");
		config_overrides_clear(&ov);
		return HELLOD_EXIT_FAILURE;
	}
	if (!test && (abspath = main_abspath(path)) != NULL)
		path = abspath;
	if ((conf = config_load(path, explicit, &ov, &errors)) == NULL) {
		main_print(journal, LOG_ERR, errors != NULL ? errors :
		    "out of memory");
		free(errors);
		if (test)
			main_print(journal, LOG_ERR, "configuration test failed");
		systemd_listen_free(listen_names, listen_fds);
		free(abspath);
		config_overrides_clear(&ov);
		return HELLOD_EXIT_CONFIG;
	}
	if (test) {
		if (dump)
			config_dump(conf, &ov, stdout);
		main_print(journal, LOG_INFO, "configuration OK");
		config_free(conf);
		config_overrides_clear(&ov);
		return HELLOD_EXIT_OK;
	}
	log_setlevel(config_log_level(conf, verbose));
	if (conf->path == NULL)
		log_notice("%s not found, using the built-in defaults", path);

	if (detach)
		ready_fd = daemon_start();
	srv = server_new(conf, path, explicit, &ov, listen_fds, listen_names);
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
	config_overrides_clear(&ov);
	free(abspath);
	return rc;
}
