/* SPDX-License-Identifier: ISC */
/*
 * check_config.c: the configuration file parser in src/config.c.
 *
 * Files are given as strings through fmemopen(3), named "test.conf", so
 * every error can be compared whole, "test.conf:LINE: message" included.
 * config_load() gets real files in a temporary directory.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "check_hellod.h"
#include "hellod.h"

#define NAME		"test.conf"
#define NO_USER		"hellod-check-no-such-user"
#define KNOWN_KEYS	"port, bind, metrics_listen, agent_listen, message, " \
			"name, " \
			"max_connections, " \
			"idle_timeout, max_line_length, max_output, " \
			"shutdown_timeout, stop_grace, log_level, pidfile, " \
			"user, " \
			"workers, max_connections_per_source, " \
			"proxy_protocol, proxy_trusted, proxy_timeout"

/* Parse len bytes of buf as the file "test.conf". */
static struct config *
parse_mem(const char *buf, size_t len, char **errors)
{
	struct config	*conf;
	FILE		*fp;

	*errors = (char *)"untouched";
	fp = fmemopen((void *)buf, len, "r");
	ck_assert_msg(fp != NULL, "fmemopen: %s", strerror(errno));
	conf = config_parse(fp, NAME, errors);
	fclose(fp);
	return (conf);
}

/* A file that must parse; returns the config, errors checked. */
static struct config *
parse_ok(const char *text)
{
	struct config	*conf;
	char		*errors;

	conf = parse_mem(text, strlen(text), &errors);
	ck_assert_msg(conf != NULL, "rejected:\n%s--\n%s", text,
	    errors != NULL ? errors : "(no errors)\n");
	ck_assert_ptr_null(errors);
	ck_assert_str_eq(conf->path, NAME);
	return (conf);
}

/* A file of len bytes that must fail with exactly the errors want. */
static void	check_round_trip(const struct config *);

static void
parse_bad_mem(const char *buf, size_t len, const char *want)
{
	struct config	*conf;
	char		*errors;

	conf = parse_mem(buf, len, &errors);
	ck_assert_msg(conf == NULL, "accepted:\n%.*s", (int)len, buf);
	ck_assert_ptr_nonnull(errors);
	ck_assert_str_eq(errors, want);
	free(errors);
}

static void
parse_bad(const char *text, const char *want)
{
	parse_bad_mem(text, strlen(text), want);
}

/* One bad line, "key = value", and the message after "test.conf:1: ". */
static void
bad_value(const char *key, const char *value, const char *message)
{
	char	 text[512], want[512];

	snprintf(text, sizeof(text), "%s = %s\n", key, value);
	snprintf(want, sizeof(want), NAME ":1: %s\n", message);
	parse_bad(text, want);
}

/* The reply, which is not a C string. */
static void
check_reply(const struct config *conf, const char *message)
{
	size_t	 len = strlen(message);

	ck_assert_str_eq(conf->message, message);
	ck_assert_uint_eq(conf->reply_len, len + 1);
	ck_assert_int_eq(memcmp(conf->reply, message, len), 0);
	ck_assert_int_eq(conf->reply[len], '\n');
}

/* A file that must parse, to the message want. */
static void
message_ok(const char *text, const char *want)
{
	struct config	*conf;

	conf = parse_ok(text);
	check_reply(conf, want);
	config_free(conf);
}

static void
check_str_or_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		ck_assert_ptr_eq(a, b);
	else
		ck_assert_str_eq(a, b);
}

/* Every setting equal; the path is the caller's business. */
static void
check_same(const struct config *a, const struct config *b)
{
	size_t	 i;

	ck_assert_int_eq(a->port, b->port);
	ck_assert_uint_eq(a->nbinds, b->nbinds);
	for (i = 0; i < a->nbinds; i++) {
		ck_assert(addr_equal(&a->binds[i], &b->binds[i]));
		ck_assert_int_eq(a->binds[i].optional, b->binds[i].optional);
	}
	ck_assert_str_eq(a->bind_text, b->bind_text);
	ck_assert_str_eq(a->message, b->message);
	check_str_or_null(a->name, b->name);
	ck_assert_uint_eq(a->reply_len, b->reply_len);
	ck_assert_int_eq(memcmp(a->reply, b->reply, a->reply_len), 0);
	ck_assert_int_eq(a->reply_per_conn, b->reply_per_conn);
	ck_assert_uint_eq(a->max_connections, b->max_connections);
	ck_assert_uint_eq(a->idle_timeout, b->idle_timeout);
	ck_assert_uint_eq(a->max_line_length, b->max_line_length);
	ck_assert_uint_eq(a->max_output, b->max_output);
	ck_assert_uint_eq(a->shutdown_timeout, b->shutdown_timeout);
	ck_assert_int_eq(a->log_level, b->log_level);
	check_str_or_null(a->pidfile, b->pidfile);
	check_str_or_null(a->user, b->user);
	ck_assert_uint_eq(a->workers, b->workers);
	ck_assert_uint_eq(a->max_connections_per_source,
	    b->max_connections_per_source);
	ck_assert_int_eq(a->proxy_protocol, b->proxy_protocol);
	ck_assert_uint_eq(a->nproxy_trusted, b->nproxy_trusted);
	for (i = 0; i < a->nproxy_trusted; i++) {
		ck_assert_int_eq(a->proxy_trusted[i].family,
		    b->proxy_trusted[i].family);
		ck_assert_uint_eq(a->proxy_trusted[i].bits,
		    b->proxy_trusted[i].bits);
		ck_assert_int_eq(memcmp(a->proxy_trusted[i].addr,
		    b->proxy_trusted[i].addr, 16), 0);
	}
	check_str_or_null(a->proxy_trusted_text, b->proxy_trusted_text);
	ck_assert_uint_eq(a->proxy_timeout, b->proxy_timeout);
	ck_assert(config_same_listen(a, b));
}

/* The dump as a string; the caller frees it. */
static char *
dump(const struct config *conf)
{
	FILE	*fp;
	char	*text = NULL;
	size_t	 len = 0;

	fp = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(fp);
	config_dump(conf, NULL, fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_uint_eq(strlen(text), len);
	return (text);
}

START_TEST(test_default)
{
	struct config	*conf;
	char		 buf[INET6_ADDRSTRLEN];

	conf = config_default();
	ck_assert_ptr_nonnull(conf);
	ck_assert_ptr_null(conf->path);
	ck_assert_int_eq(conf->port, 5000);
	check_reply(conf, "Hello World");
	ck_assert_uint_eq(conf->max_connections, 1024);
	ck_assert_uint_eq(conf->idle_timeout, 300);
	ck_assert_uint_eq(conf->max_line_length, 8192);
	ck_assert_uint_eq(conf->max_output, 65536);
	ck_assert_uint_eq(conf->shutdown_timeout, 10);
	ck_assert_int_eq(conf->log_level, LOG_INFO);
	ck_assert_str_eq(conf->pidfile, "/run/hellod.pid");
	ck_assert_ptr_null(conf->user);
	ck_assert_uint_eq(conf->workers, 0);
	ck_assert_uint_eq(conf->max_connections_per_source, 0);
	ck_assert_int_eq(conf->proxy_protocol, 0);
	ck_assert_uint_eq(conf->nproxy_trusted, 0);
	ck_assert_ptr_null(conf->proxy_trusted_text);
	ck_assert_uint_eq(conf->proxy_timeout, 3);

	ck_assert_str_eq(conf->bind_text, "*");
	ck_assert_uint_eq(conf->nbinds, 2);
	ck_assert_int_eq(conf->binds[0].ss.ss_family, AF_INET);
	ck_assert_str_eq(check_host(&conf->binds[0], buf, sizeof(buf)),
	    "0.0.0.0");
	ck_assert_int_eq(conf->binds[0].optional, 0);
	ck_assert_int_eq(conf->binds[1].ss.ss_family, AF_INET6);
	ck_assert_str_eq(check_host(&conf->binds[1], buf, sizeof(buf)), "::");
	ck_assert_int_eq(conf->binds[1].optional, 1);
	config_free(conf);
}
END_TEST

START_TEST(test_empty)
{
	static const char	*files[] = {
		"",
		"\n",
		"# nothing but comments\n\n   # indented\n\t\n",
		"  \t  \n\n\n",
		"# no newline at the end",
	};
	struct config		*def, *conf;
	size_t			 i;

	def = config_default();
	ck_assert_ptr_nonnull(def);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		conf = parse_ok(files[i]);
		check_same(conf, def);
		config_free(conf);
	}
	config_free(def);
	config_free(NULL);
}
END_TEST

START_TEST(test_every_key)
{
	struct config	*conf;
	char		 buf[INET6_ADDRSTRLEN];

	conf = parse_ok(
	    "port = 6000\n"
	    "bind = 127.0.0.1, ::1\n"
	    "message = Howdy\n"
	    "name = web-1\n"
	    "max_connections = 7\n"
	    "idle_timeout = 0\n"
	    "max_line_length = 100\n"
	    "max_output = 2048\n"
	    "shutdown_timeout = 3600\n"
	    "log_level = debug\n"
	    "pidfile = /tmp/hellod-check.pid\n"
	    "user = root\n"
	    "workers = 3\n"
	    "max_connections_per_source = 5\n"
	    "proxy_protocol = yes\n"
	    "proxy_trusted = 127.0.0.1 10.0.0.0/8, ::1\n"
	    "proxy_timeout = 10\n");
	ck_assert_int_eq(conf->port, 6000);
	ck_assert_str_eq(conf->bind_text, "127.0.0.1, ::1");
	ck_assert_uint_eq(conf->nbinds, 2);
	ck_assert_str_eq(check_host(&conf->binds[0], buf, sizeof(buf)),
	    "127.0.0.1");
	ck_assert_str_eq(check_host(&conf->binds[1], buf, sizeof(buf)), "::1");
	ck_assert_int_eq(conf->binds[0].optional, 0);
	ck_assert_int_eq(conf->binds[1].optional, 0);
	check_reply(conf, "Howdy");
	ck_assert_str_eq(conf->name, "web-1");
	ck_assert_uint_eq(conf->max_connections, 7);
	ck_assert_uint_eq(conf->idle_timeout, 0);
	ck_assert_uint_eq(conf->max_line_length, 100);
	ck_assert_uint_eq(conf->max_output, 2048);
	ck_assert_uint_eq(conf->shutdown_timeout, 3600);
	ck_assert_int_eq(conf->log_level, LOG_DEBUG);
	ck_assert_str_eq(conf->pidfile, "/tmp/hellod-check.pid");
	ck_assert_str_eq(conf->user, "root");
	ck_assert_uint_eq(conf->workers, 3);
	ck_assert_uint_eq(conf->max_connections_per_source, 5);
	ck_assert_int_eq(conf->proxy_protocol, 1);
	ck_assert_uint_eq(conf->nproxy_trusted, 3);
	ck_assert_int_eq(conf->proxy_trusted[1].family, AF_INET);
	ck_assert_uint_eq(conf->proxy_trusted[1].bits, 8);
	ck_assert_int_eq(conf->proxy_trusted[2].family, AF_INET6);
	ck_assert_uint_eq(conf->proxy_trusted[2].bits, 128);
	ck_assert_str_eq(conf->proxy_trusted_text, "127.0.0.1 10.0.0.0/8, ::1");
	ck_assert_uint_eq(conf->proxy_timeout, 10);
	config_free(conf);

	/* Blanks around '=' are optional. */
	conf = parse_ok("port=1\n  idle_timeout\t=\t9  \n");
	ck_assert_int_eq(conf->port, 1);
	ck_assert_uint_eq(conf->idle_timeout, 9);
	config_free(conf);
}
END_TEST

START_TEST(test_levels)
{
	static const struct {
		const char	*name;
		int		 level;
	} levels[] = {
		{ "error", LOG_ERR },
		{ "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE },
		{ "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	struct config	*conf;
	char		 text[64];
	size_t		 i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(text, sizeof(text), "log_level = %s\n",
		    levels[i].name);
		conf = parse_ok(text);
		ck_assert_int_eq(conf->log_level, levels[i].level);
		config_free(conf);
	}
}
END_TEST

START_TEST(test_level_names)
{
	static const char	*bad[] = { "", "Info", "INFO", "warn", "err",
	    "info ", " info", "crit", "emerg", "debug2" };
	size_t			 i;
	int			 level;

	ck_assert_str_eq(config_level_name(LOG_ERR), "error");
	ck_assert_str_eq(config_level_name(LOG_WARNING), "warning");
	ck_assert_str_eq(config_level_name(LOG_NOTICE), "notice");
	ck_assert_str_eq(config_level_name(LOG_INFO), "info");
	ck_assert_str_eq(config_level_name(LOG_DEBUG), "debug");
	for (level = LOG_ERR; level <= LOG_DEBUG; level++)
		ck_assert_int_eq(config_level_parse(config_level_name(level)),
		    level);
	/* Outside the range the daemon uses. */
	ck_assert_str_eq(config_level_name(LOG_CRIT), "?");
	ck_assert_str_eq(config_level_name(LOG_EMERG), "?");
	ck_assert_str_eq(config_level_name(LOG_DEBUG + 1), "?");
	ck_assert_str_eq(config_level_name(-1), "?");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(config_level_parse(bad[i]) == -1,
		    "\"%s\" parsed", bad[i]);
	ck_assert_int_eq(config_level_parse("?"), -1);
}
END_TEST

START_TEST(test_log_level_with_verbose)
{
	struct config	*conf;

	conf = parse_ok("log_level = warning\n");
	ck_assert_int_eq(config_log_level(conf, 0), LOG_WARNING);
	ck_assert_int_eq(config_log_level(conf, 1), LOG_NOTICE);
	ck_assert_int_eq(config_log_level(conf, 2), LOG_INFO);
	ck_assert_int_eq(config_log_level(conf, 3), LOG_DEBUG);
	ck_assert_int_eq(config_log_level(conf, 9), LOG_DEBUG);	/* capped */
	config_free(conf);
}
END_TEST

START_TEST(test_comments)
{
	struct config	*conf;

	conf = parse_ok(
	    "# full-line comment = with an equals sign\n"
	    "\n"
	    "   # indented comment\n"
	    "port = 6001 # trailing comment\n"
	    "\t\n"
	    "idle_timeout=5#no blanks\n"
	    "message = Hello # World\n"
	    "#log_level = debug\n"
	    "pidfile = /tmp/a.pid#\n");
	ck_assert_int_eq(conf->port, 6001);
	ck_assert_uint_eq(conf->idle_timeout, 5);
	check_reply(conf, "Hello");
	ck_assert_int_eq(conf->log_level, LOG_INFO);
	ck_assert_str_eq(conf->pidfile, "/tmp/a.pid");
	config_free(conf);
}
END_TEST

START_TEST(test_crlf)
{
	struct config	*conf;

	conf = parse_ok(
	    "# written on Windows\r\n"
	    "\r\n"
	    "port = 6002\r\n"
	    "message = Hi there\r\n"
	    "log_level = debug # trailing comment\r\n"
	    "pidfile = /tmp/crlf.pid\r\n"
	    "bind = 127.0.0.1\r\n"
	    "max_output = 2k\r\n");
	ck_assert_int_eq(conf->port, 6002);
	check_reply(conf, "Hi there");
	ck_assert_int_eq(conf->log_level, LOG_DEBUG);
	ck_assert_str_eq(conf->pidfile, "/tmp/crlf.pid");
	ck_assert_str_eq(conf->bind_text, "127.0.0.1");
	ck_assert_uint_eq(conf->max_output, 2048);
	config_free(conf);

	/* A quoted value keeps its blanks but loses the CR. */
	message_ok("message = \" Hi \"\r\n", " Hi ");
	/* No newline at all after the last CR. */
	conf = parse_ok("user = root\r");
	ck_assert_str_eq(conf->user, "root");
	config_free(conf);
}
END_TEST

START_TEST(test_quotes)
{
	struct config	*conf;

	message_ok("message = \"  Hello, World  \"\n", "  Hello, World  ");

	/* '#' inside quotes is text, after them a comment. */
	message_ok("message = \"a # b\" # a comment\n", "a # b");
	message_ok("message = \"#\"\n", "#");

	/* Inner blanks need no quotes; outer ones are trimmed without. */
	message_ok("message =   Hello   World   \n", "Hello   World");

	/* Only the outer quotes are taken off. */
	message_ok("message = \"say \"hi\"\"\n", "say \"hi\"");
	message_ok("message = it's \"fine\n", "it's \"fine");

	/* Bytes above ASCII are not control characters. */
	message_ok("message = Gr\xc3\xbc\xc3\x9f dich\n",
	    "Gr\xc3\xbc\xc3\x9f dich");

	/* Quotes and '#' inside a quoted value survive a round trip. */
	conf = parse_ok("message = \"a\"b #c\" # comment\n"
	    "pidfile = \"/tmp/a#b \"\n");
	check_reply(conf, "a\"b #c");
	ck_assert_str_eq(conf->pidfile, "/tmp/a#b ");
	check_round_trip(conf);
	config_free(conf);

	/* Quotes work for other keys too. */
	conf = parse_ok("pidfile = \"/tmp/with blank.pid\"\nport = \"7\"\n");
	ck_assert_str_eq(conf->pidfile, "/tmp/with blank.pid");
	ck_assert_int_eq(conf->port, 7);
	config_free(conf);
}
END_TEST

/*
 * A '#' before the '=' starts a comment like anywhere else, so the '='
 * after it is not there.
 */
START_TEST(test_comment_before_equals)
{
	struct config	*conf;

	parse_bad("port # was = 5999\n", NAME ":1: expected 'key = value' "
	    "(the '=' is in a comment)\n");
	parse_bad("port #= 5999\n", NAME ":1: expected 'key = value' (the '=' "
	    "is in a comment)\n");
	parse_bad("port 5000 # none at all\n", NAME ":1: expected "
	    "'key = value'\n");
	/* Comment lines with an '=' in them are still just comments. */
	conf = parse_ok("# port = 5999\n  #port=1\nport = 6 # = 7\n");
	ck_assert_int_eq(conf->port, 6);
	config_free(conf);
}
END_TEST

/*
 * A quoted value ends at the first quote after which the line is blank or
 * a comment, so a comment may hold quotes of its own.
 */
START_TEST(test_quoted_value_then_quotes_in_comment)
{
	struct config	*conf;

	message_ok("message = \"Hello\" # the \"greeting\"\n", "Hello");
	message_ok("message = \"Hello\"# the \"greeting\"\n", "Hello");
	message_ok("message = \"a \"b\" c\" # \"d\" \"e\" \"\n", "a \"b\" c");
	conf = parse_ok("pidfile = \"/run/x.pid\"   # \"old\" \"/run/y\"\n");
	ck_assert_str_eq(conf->pidfile, "/run/x.pid");
	config_free(conf);
	/* Text, not a comment, after a quote that does not close. */
	parse_bad("message = \"Hello\" there # \"x\n", NAME ":1: message: "
	    "text after the closing quote\n");
}
END_TEST

START_TEST(test_unknown_key)
{
	parse_bad("colour = red\n", NAME ":1: unknown key 'colour' (known "
	    "keys: " KNOWN_KEYS ")\n");
	/* Keys are case-sensitive. */
	parse_bad("\n\nPort = 1\n", NAME ":3: unknown key 'Port' (known keys: "
	    KNOWN_KEYS ")\n");
	parse_bad("max connections = 5\n", NAME ":1: unknown key 'max "
	    "connections' (known keys: " KNOWN_KEYS ")\n");
}
END_TEST

START_TEST(test_duplicate_key)
{
	parse_bad("port = 1\n\nport = 2\n",
	    NAME ":3: duplicate key 'port' (first set on line 1)\n");
	/* Even when the value is the same, and each repeat is named. */
	parse_bad("# x\nmessage = a\nmessage = a\nmessage = b\n",
	    NAME ":3: duplicate key 'message' (first set on line 2)\n"
	    NAME ":4: duplicate key 'message' (first set on line 2)\n");
	/* A bad first setting still counts as the first. */
	parse_bad("port = x\nport = 2\n",
	    NAME ":1: port: 'x' is not a number\n"
	    NAME ":2: duplicate key 'port' (first set on line 1)\n");
}
END_TEST

START_TEST(test_bad_number)
{
	static const char	*bad[] = { "abc", "0x10", "1e3", "1.5", "+5",
	    "5 5", "5000x", "50 00", "5k", "\xd9\xa3", ".5", "5." };
	char			 want[256];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "port: '%s' is not a number",
		    bad[i]);
		bad_value("port", bad[i], want);
	}
	/* No suffix for counts or seconds. */
	bad_value("max_connections", "1k",
	    "max_connections: '1k' is not a number");
	bad_value("idle_timeout", "5m", "idle_timeout: '5m' is not a number");
	bad_value("shutdown_timeout", "10s",
	    "shutdown_timeout: '10s' is not a number");
	/* Sizes say what they take. */
	bad_value("max_output", "12q", "max_output: '12q' is not a size (a "
	    "number, optionally with k or m)");
	bad_value("max_output", "1g", "max_output: '1g' is not a size (a "
	    "number, optionally with k or m)");
	bad_value("max_output", "1kb", "max_output: '1kb' is not a size (a "
	    "number, optionally with k or m)");
	bad_value("max_output", "1kk", "max_output: '1kk' is not a size (a "
	    "number, optionally with k or m)");
	bad_value("max_line_length", "k", "max_line_length: 'k' is not a "
	    "size (a number, optionally with k or m)");
	bad_value("max_line_length", "1 k", "max_line_length: '1 k' is not "
	    "a size (a number, optionally with k or m)");
}
END_TEST

START_TEST(test_negative)
{
	bad_value("port", "-1", "port: '-1' is not a number");
	bad_value("idle_timeout", "-5", "idle_timeout: '-5' is not a number");
	bad_value("max_connections", "-0",
	    "max_connections: '-0' is not a number");
	bad_value("max_output", "-1k", "max_output: '-1k' is not a size (a "
	    "number, optionally with k or m)");
	/* Not wrapped around to a huge unsigned value. */
	bad_value("shutdown_timeout", "-4294967295",
	    "shutdown_timeout: '-4294967295' is not a number");
}
END_TEST

/* metrics_listen cannot be where clients are answered: -t says so. */
START_TEST(test_metrics_listen_on_the_client_port)
{
	struct config	*conf;

	parse_bad("port = 5000\nbind = 127.0.0.1\n"
	    "metrics_listen = 127.0.0.1:5000\n",
	    NAME ":3: metrics_listen: 127.0.0.1:5000 is where hellod answers "
	    "clients (port = 5000, bind = 127.0.0.1)\n");
	parse_bad("metrics_listen = 127.0.0.1:5000\n",	/* bind = * */
	    NAME ":1: metrics_listen: 127.0.0.1:5000 is where hellod answers "
	    "clients (port = 5000, bind = *)\n");
	parse_bad("port = 7\nbind = ::1\nmetrics_listen = [::]:7\n",
	    NAME ":3: metrics_listen: [::]:7 is where hellod answers clients "
	    "(port = 7, bind = ::1)\n");
	/* Another address, another port, another family, an ephemeral port. */
	config_free(parse_ok("bind = 127.0.0.1\n"
	    "metrics_listen = 127.0.0.2:5000\n"));
	config_free(parse_ok("metrics_listen = 127.0.0.1:5001\n"));
	config_free(parse_ok("bind = ::1\nmetrics_listen = 127.0.0.1:5000\n"));
	conf = parse_ok("port = 0\nmetrics_listen = 127.0.0.1:0\n");
	config_free(conf);
}
END_TEST

/*
 * agent_listen, off by default: ADDRESS:PORT as metrics_listen is, neither
 * where clients are answered nor where the metrics are.
 */
START_TEST(test_agent_listen)
{
	struct config	*conf;
	char		 buf[INET6_ADDRSTRLEN];

	conf = config_default();
	ck_assert_ptr_nonnull(conf);
	ck_assert_uint_eq(conf->agent_listen.len, 0);
	ck_assert_uint_eq(conf->stop_grace, 0);
	config_free(conf);
	conf = parse_ok("agent_listen = 127.0.0.1:5002\nstop_grace = 3600\n");
	ck_assert_str_eq(check_host(&conf->agent_listen, buf, sizeof(buf)),
	    "127.0.0.1");
	ck_assert_int_eq(addr_get_port(
	    (const struct sockaddr *)&conf->agent_listen.ss), 5002);
	ck_assert_uint_eq(conf->stop_grace, 3600);
	config_free(conf);
	parse_bad("agent_listen = localhost:5002\n",
	    NAME ":1: agent_listen: 'localhost:5002' is not ADDRESS:PORT (a "
	    "numeric IPv4 address, or an IPv6 one in brackets: "
	    "127.0.0.1:9100, [::1]:9100)\n");
	parse_bad("agent_listen = 127.0.0.1:65536\n",
	    NAME ":1: agent_listen: port '65536' is not a number from 0 to "
	    "65535\n");
	parse_bad("port = 5000\nbind = 127.0.0.1\n"
	    "agent_listen = 127.0.0.1:5000\n",
	    NAME ":3: agent_listen: 127.0.0.1:5000 is where hellod answers "
	    "clients (port = 5000, bind = 127.0.0.1)\n");
	parse_bad("agent_listen = [::]:5000\nbind = ::1\n",
	    NAME ":1: agent_listen: [::]:5000 is where hellod answers clients "
	    "(port = 5000, bind = ::1)\n");
	parse_bad("metrics_listen = 127.0.0.1:5001\n"
	    "agent_listen = 0.0.0.0:5001\n",
	    NAME ":2: agent_listen: 0.0.0.0:5001 is the metrics endpoint's "
	    "(metrics_listen)\n");
	/* Both errors of one file, each once. */
	parse_bad("metrics_listen = 127.0.0.1:5000\n"
	    "agent_listen = 127.0.0.1:5000\n",
	    NAME ":1: metrics_listen: 127.0.0.1:5000 is where hellod answers "
	    "clients (port = 5000, bind = *)\n"
	    NAME ":2: agent_listen: 127.0.0.1:5000 is where hellod answers "
	    "clients (port = 5000, bind = *)\n");
	/* Another port, another address, ephemeral ports. */
	config_free(parse_ok("metrics_listen = 127.0.0.1:5001\n"
	    "agent_listen = 127.0.0.1:5002\n"));
	config_free(parse_ok("metrics_listen = 127.0.0.1:5001\n"
	    "agent_listen = 127.0.0.2:5001\n"));
	config_free(parse_ok("port = 0\nmetrics_listen = 127.0.0.1:0\n"
	    "agent_listen = 127.0.0.1:0\n"));
}
END_TEST

/* A file of many bad lines: the first errors, then a count of the rest. */
START_TEST(test_errors_bounded)
{
	struct config	*conf;
	char		*text, *errors, *p, want[128];
	size_t		 i, n = 5000, lines = 0;

	text = malloc(n * 10 + 1);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < n; i++)
		memcpy(text + i * 10, "bogus = 1\n", 10);
	conf = parse_mem(text, n * 10, &errors);
	ck_assert_ptr_null(conf);
	for (p = errors; *p != '\0'; p++)
		lines += *p == '\n';
	ck_assert_uint_eq(lines, CONFIG_ERRORS_MAX + 1);
	snprintf(want, sizeof(want), NAME ": ... and %zu more errors\n",
	    n - CONFIG_ERRORS_MAX);
	ck_assert_str_eq(errors + strlen(errors) - strlen(want), want);
	free(errors);
	free(text);
}
END_TEST

START_TEST(test_range)
{
	struct config	*conf;

	bad_value("port", "65536", "port: 65536 is out of range (0 to 65535)");
	bad_value("max_connections", "0",
	    "max_connections: 0 is out of range (1 to 1000000)");
	bad_value("max_connections", "1000001",
	    "max_connections: 1000001 is out of range (1 to 1000000)");
	bad_value("idle_timeout", "604801",
	    "idle_timeout: 604801 is out of range (0 to 604800)");
	bad_value("shutdown_timeout", "3601",
	    "shutdown_timeout: 3601 is out of range (0 to 3600)");
	bad_value("stop_grace", "3601",
	    "stop_grace: 3601 is out of range (0 to 3600)");
	bad_value("stop_grace", "-1", "stop_grace: '-1' is not a number");
	bad_value("stop_grace", "2s", "stop_grace: '2s' is not a number");
	bad_value("max_line_length", "0",
	    "max_line_length: 0 is out of range (1 to 16777216)");
	bad_value("max_line_length", "16777217",
	    "max_line_length: 16777217 is out of range (1 to 16777216)");
	bad_value("max_output", "1023",
	    "max_output: 1023 is out of range (1024 to 268435456)");
	bad_value("max_output", "268435457",
	    "max_output: 268435457 is out of range (1024 to 268435456)");
	/* Too big for any integer type. */
	bad_value("port", "99999999999999999999",
	    "port: 99999999999999999999 is out of range (0 to 65535)");
	bad_value("max_connections", "4294967297",
	    "max_connections: 4294967297 is out of range (1 to 1000000)");

	/* Both ends are inclusive. */
	conf = parse_ok("port = 0\nmax_connections = 1\nidle_timeout = 0\n"
	    "shutdown_timeout = 0\nmax_line_length = 1\nmax_output = 1024\n");
	ck_assert_int_eq(conf->port, 0);
	ck_assert_uint_eq(conf->max_connections, 1);
	ck_assert_uint_eq(conf->idle_timeout, 0);
	ck_assert_uint_eq(conf->shutdown_timeout, 0);
	ck_assert_uint_eq(conf->max_line_length, 1);
	ck_assert_uint_eq(conf->max_output, 1024);
	config_free(conf);
	conf = parse_ok("port = 65535\nmax_connections = 1000000\n"
	    "idle_timeout = 604800\nshutdown_timeout = 3600\n"
	    "max_line_length = 16777216\nmax_output = 268435456\n");
	ck_assert_int_eq(conf->port, 65535);
	ck_assert_uint_eq(conf->max_connections, 1000000);
	ck_assert_uint_eq(conf->idle_timeout, 604800);
	ck_assert_uint_eq(conf->shutdown_timeout, 3600);
	ck_assert_uint_eq(conf->max_line_length, 16777216);
	ck_assert_uint_eq(conf->max_output, 268435456);
	config_free(conf);

	/* Leading zeros are still decimal. */
	conf = parse_ok("port = 0080\n");
	ck_assert_int_eq(conf->port, 80);
	config_free(conf);
}
END_TEST

START_TEST(test_suffixes)
{
	struct config	*conf;

	conf = parse_ok("max_output = 1k\nmax_line_length = 3K\n");
	ck_assert_uint_eq(conf->max_output, 1024);
	ck_assert_uint_eq(conf->max_line_length, 3072);
	config_free(conf);
	conf = parse_ok("max_output = 256m\nmax_line_length = 16M\n");
	ck_assert_uint_eq(conf->max_output, 256 * 1024 * 1024);
	ck_assert_uint_eq(conf->max_line_length, 16 * 1024 * 1024);
	config_free(conf);
	conf = parse_ok("max_output = 0001k\n");
	ck_assert_uint_eq(conf->max_output, 1024);
	config_free(conf);

	/* The range applies after the multiplication. */
	bad_value("max_output", "0k",
	    "max_output: 0k is out of range (1024 to 268435456)");
	bad_value("max_output", "257m",
	    "max_output: 257m is out of range (1024 to 268435456)");
	bad_value("max_output", "262145k",
	    "max_output: 262145k is out of range (1024 to 268435456)");
	bad_value("max_line_length", "17m",
	    "max_line_length: 17m is out of range (1 to 16777216)");

	/* Overflow in the multiplication, and before it. */
	bad_value("max_output", "9007199254740992k",
	    "max_output: 9007199254740992k is out of range "
	    "(1024 to 268435456)");
	bad_value("max_output", "8796093022208m",
	    "max_output: 8796093022208m is out of range (1024 to 268435456)");
	bad_value("max_output", "9223372036854775807m",
	    "max_output: 9223372036854775807m is out of range "
	    "(1024 to 268435456)");
	bad_value("max_line_length", "9223372036854775808k",
	    "max_line_length: 9223372036854775808k is out of range "
	    "(1 to 16777216)");
	/* Unchecked, these would wrap around to 1024 and to 1m. */
	bad_value("max_output", "18014398509481985k",
	    "max_output: 18014398509481985k is out of range "
	    "(1024 to 268435456)");
	bad_value("max_output", "17592186044417m",
	    "max_output: 17592186044417m is out of range "
	    "(1024 to 268435456)");
}
END_TEST

START_TEST(test_bad_bind)
{
	char	 text[1024], want[256];
	size_t	 i, off;

	bad_value("bind", "localhost", "bind: 'localhost' is not a numeric "
	    "IPv4 or IPv6 address (or *)");
	bad_value("bind", "127.0.0.1, 10.0.0.256", "bind: '10.0.0.256' is "
	    "not a numeric IPv4 or IPv6 address (or *)");
	bad_value("bind", "\",\"", "bind: no address given");
	bad_value("bind", "::1 ::1", "bind: '::1' is listed twice");
	bad_value("bind", "0.0.0.0 *", "bind: '*' is listed twice");

	off = snprintf(text, sizeof(text), "bind =");
	for (i = 0; i <= ADDR_MAX; i++)
		off += snprintf(text + off, sizeof(text) - off, " 10.0.0.%zu",
		    i + 1);
	snprintf(text + off, sizeof(text) - off, "\n");
	snprintf(want, sizeof(want), NAME ":1: bind: too many addresses "
	    "(at most %d)\n", ADDR_MAX);
	parse_bad(text, want);
}
END_TEST

START_TEST(test_bad_message)
{
	struct config	*conf;
	char		 text[CONFIG_MESSAGE_MAX + 64], want[128];

	bad_value("message", "\"\"",
	    "message: length 0 is out of range (1 to 1024 bytes)");
	bad_value("message", "\"a\tb\"", "message: control character 0x09 "
	    "at offset 1 is not allowed");
	bad_value("message", "ab\x7f", "message: control character 0x7f at "
	    "offset 2 is not allowed");
	bad_value("message", "\x1b[31mred", "message: control character 0x1b "
	    "at offset 0 is not allowed");
	bad_value("message", "a\rb", "message: control character 0x0d at "
	    "offset 1 is not allowed");

	/* 1024 bytes are fine, 1025 are not. */
	memcpy(text, "message = ", 10);
	memset(text + 10, 'x', CONFIG_MESSAGE_MAX);
	memcpy(text + 10 + CONFIG_MESSAGE_MAX, "\n", 2);
	conf = parse_ok(text);
	ck_assert_uint_eq(strlen(conf->message), CONFIG_MESSAGE_MAX);
	ck_assert_uint_eq(conf->reply_len, CONFIG_MESSAGE_MAX + 1);
	config_free(conf);
	memcpy(text + 10 + CONFIG_MESSAGE_MAX, "x\n", 3);
	snprintf(want, sizeof(want), NAME ":1: message: length %d is out of "
	    "range (1 to %d bytes)\n", CONFIG_MESSAGE_MAX + 1,
	    CONFIG_MESSAGE_MAX);
	parse_bad(text, want);
}
END_TEST

START_TEST(test_bad_strings)
{
	struct config	*conf;
	char		 path[CONFIG_PATH_MAX + 2], text[CONFIG_PATH_MAX + 64];
	char		 want[128];

	bad_value("log_level", "verbose", "log_level: 'verbose' is not one of "
	    "error, warning, notice, info, debug");
	bad_value("log_level", "INFO", "log_level: 'INFO' is not one of "
	    "error, warning, notice, info, debug");
	bad_value("pidfile", "run/hellod.pid",
	    "pidfile: 'run/hellod.pid' is not an absolute path");
	bad_value("pidfile", "./hellod.pid",
	    "pidfile: './hellod.pid' is not an absolute path");
	bad_value("pidfile", "\" /run/hellod.pid\"",
	    "pidfile: ' /run/hellod.pid' is not an absolute path");

	/* CONFIG_PATH_MAX bytes are fine, one more is not. */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[CONFIG_PATH_MAX] = '\0';
	snprintf(text, sizeof(text), "pidfile = %s\n", path);
	conf = parse_ok(text);
	ck_assert_uint_eq(strlen(conf->pidfile), CONFIG_PATH_MAX);
	check_round_trip(conf);
	config_free(conf);
	path[CONFIG_PATH_MAX] = 'p';
	path[CONFIG_PATH_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "pidfile = %s\n", path);
	snprintf(want, sizeof(want), NAME ":1: pidfile: path longer than %d "
	    "bytes\n", CONFIG_PATH_MAX);
	parse_bad(text, want);

	ck_assert_ptr_null(getpwnam(NO_USER));
	bad_value("user", NO_USER, "user: no such user '" NO_USER "'");
	conf = parse_ok("user = root\n");
	ck_assert_str_eq(conf->user, "root");
	config_free(conf);
}
END_TEST

START_TEST(test_bad_syntax)
{
	parse_bad("port 5000\n", NAME ":1: expected 'key = value'\n");
	parse_bad("\nport\n", NAME ":2: expected 'key = value'\n");
	parse_bad("= 5000\n", NAME ":1: missing key before '='\n");
	parse_bad("port =\n", NAME ":1: port: missing value\n");
	parse_bad("port =   \t\n", NAME ":1: port: missing value\n");
	parse_bad("port = # later\n", NAME ":1: port: missing value\n");
	parse_bad("message = \"abc\n", NAME ":1: message: unterminated "
	    "quote\n");
	parse_bad("message = \"\n", NAME ":1: message: unterminated quote\n");
	/* The '#' is inside the open quote, so not a comment. */
	parse_bad("message = \"abc # x\n", NAME ":1: message: unterminated "
	    "quote\n");
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char	 one[] = "port = 50\0" "00\n";
	static const char	 two[] = "port = 5000\nmessage = a\0b\n";
	static const char	 last[] = "port = 5000\n\0";

	parse_bad_mem(one, sizeof(one) - 1, NAME ":1: NUL byte in line\n");
	parse_bad_mem(two, sizeof(two) - 1, NAME ":2: NUL byte in line\n");
	parse_bad_mem(last, sizeof(last) - 1, NAME ":2: NUL byte in line\n");
}
END_TEST

START_TEST(test_long_line)
{
	struct config	*conf;
	char		*text;
	char		 want[512];
	size_t		 len = 2 * CONFIG_LINE_MAX;

	text = malloc(len + 64);
	ck_assert_ptr_nonnull(text);

	/* A comment well within the limit. */
	text[0] = '#';
	memset(text + 1, 'x', CONFIG_LINE_MAX - 2);
	memcpy(text + CONFIG_LINE_MAX - 1, "\nport = 6\n", 11);
	conf = parse_ok(text);
	ck_assert_int_eq(conf->port, 6);
	config_free(conf);

	/* Exactly at the limit, LF and CRLF not counted. */
	memcpy(text, "port = 6", 8);
	memset(text + 8, ' ', CONFIG_LINE_MAX - 8);
	memcpy(text + CONFIG_LINE_MAX, "\n", 2);
	conf = parse_ok(text);
	ck_assert_int_eq(conf->port, 6);
	config_free(conf);
	memcpy(text + CONFIG_LINE_MAX, "\r\n", 3);
	conf = parse_ok(text);
	ck_assert_int_eq(conf->port, 6);
	config_free(conf);

	/* Well past it, on line 2: reported, and line 3 still read. */
	memcpy(text, "port = 6\n#", 10);
	memset(text + 10, 'x', len);
	memcpy(text + 10 + len, "\nidle = 1\n", 11);
	snprintf(want, sizeof(want), NAME ":2: line longer than %d bytes\n"
	    NAME ":3: unknown key 'idle' (known keys: " KNOWN_KEYS ")\n",
	    CONFIG_LINE_MAX);
	parse_bad(text, want);

	/* Just past it, a setting this time. */
	memcpy(text, "message = ", 10);
	memset(text + 10, 'x', CONFIG_LINE_MAX);
	memcpy(text + 10 + CONFIG_LINE_MAX, "\n", 2);
	snprintf(want, sizeof(want), NAME ":1: line longer than %d bytes\n",
	    CONFIG_LINE_MAX);
	parse_bad(text, want);
	free(text);
}
END_TEST

/*
 * A file made up as it is read, never held in memory: head, then fill
 * bytes of 'x', then tail; then the end of the file, or a read error with
 * errno set to fail.
 */
struct gen {
	const char	*head;
	size_t		 fill;
	const char	*tail;
	int		 fail;
	size_t		 off;
};

static ssize_t
gen_read(void *cookie, char *buf, size_t size)
{
	struct gen	*g = cookie;
	size_t		 hl = strlen(g->head), tl = strlen(g->tail), n = 0, k;

	while (n < size && g->off < hl + g->fill + tl) {
		if (g->off < hl) {
			k = hl - g->off < size - n ? hl - g->off : size - n;
			memcpy(buf + n, g->head + g->off, k);
		} else if (g->off < hl + g->fill) {
			k = hl + g->fill - g->off;
			k = k < size - n ? k : size - n;
			memset(buf + n, 'x', k);
		} else {
			k = hl + g->fill + tl - g->off;
			k = k < size - n ? k : size - n;
			memcpy(buf + n, g->tail + (g->off - hl - g->fill), k);
		}
		n += k;
		g->off += k;
	}
	if (n == 0 && g->fail != 0) {
		errno = g->fail;
		return -1;
	}
	return n;
}

static struct config *
parse_gen(struct gen *g, char **errors)
{
	cookie_io_functions_t	 io = { .read = gen_read };
	struct config		*conf;
	FILE			*fp;

	fp = fopencookie(g, "r", io);
	ck_assert_ptr_nonnull(fp);
	conf = config_parse(fp, NAME, errors);
	fclose(fp);
	return conf;
}

/*
 * A line far past the limit is read and thrown away, not held: memory
 * stays flat, and the lines after it are still read.
 */
START_TEST(test_long_line_is_not_held)
{
	struct gen	 g = { "port = 7\n#", 64 << 20, "\nbogus = 1\n", 0, 0 };
	struct rusage	 before, after;
	struct config	*conf;
	char		*errors, want[512];

	snprintf(want, sizeof(want), NAME ":2: line longer than %d bytes\n"
	    NAME ":3: unknown key 'bogus' (known keys: " KNOWN_KEYS ")\n",
	    CONFIG_LINE_MAX);
	ck_assert_int_eq(getrusage(RUSAGE_SELF, &before), 0);
	conf = parse_gen(&g, &errors);
	ck_assert_int_eq(getrusage(RUSAGE_SELF, &after), 0);
	ck_assert_ptr_null(conf);
	ck_assert_str_eq(errors, want);
	free(errors);
	/* ru_maxrss is in KiB; the line is 64 MiB. */
	ck_assert_msg(after.ru_maxrss - before.ru_maxrss < 8 * 1024,
	    "peak RSS grew by %ld KiB reading one long line",
	    after.ru_maxrss - before.ru_maxrss);
}
END_TEST

/* A read error is an error, not the end of the file: nothing is set. */
START_TEST(test_read_error)
{
	struct gen	 whole = { "port = 7\n", 0, "", EIO, 0 };
	struct gen	 part = { "port = 7\nmessage = ", 10, "", EIO, 0 };
	struct config	*conf;
	char		*errors;

	conf = parse_gen(&whole, &errors);
	ck_assert_ptr_null(conf);
	ck_assert_str_eq(errors, NAME ":2: read error: Input/output error\n");
	free(errors);
	/* Half a line before the error is not taken for a line. */
	conf = parse_gen(&part, &errors);
	ck_assert_ptr_null(conf);
	ck_assert_str_eq(errors, NAME ":2: read error: Input/output error\n");
	free(errors);
}
END_TEST

START_TEST(test_many_errors)
{
	parse_bad(
	    "# a file with mistakes\n"		/* 1 */
	    "port = 70000\n"			/* 2 */
	    "message = \"ok\"\n"		/* 3 */
	    "colour = blue\n"			/* 4 */
	    "\n"				/* 5 */
	    "bind = 127.0.0.1 localhost\n"	/* 6 */
	    "port = 80\n"			/* 7 */
	    "log_level = loud # comment\n"	/* 8 */
	    "pidfile = /run/x.pid\n"		/* 9 */
	    "user\n"				/* 10 */
	    "max_output = 1q\r\n"		/* 11 */
	    "idle_timeout = 5",			/* 12, no newline */
	    NAME ":2: port: 70000 is out of range (0 to 65535)\n"
	    NAME ":4: unknown key 'colour' (known keys: " KNOWN_KEYS ")\n"
	    NAME ":6: bind: 'localhost' is not a numeric IPv4 or IPv6 "
	    "address (or *)\n"
	    NAME ":7: duplicate key 'port' (first set on line 2)\n"
	    NAME ":8: log_level: 'loud' is not one of error, warning, "
	    "notice, info, debug\n"
	    NAME ":10: expected 'key = value'\n"
	    NAME ":11: max_output: '1q' is not a size (a number, optionally "
	    "with k or m)\n");

	/* A good file after a bad one: nothing carried over. */
	config_free(parse_ok("port = 80\n"));
}
END_TEST

START_TEST(test_proxy_keys)
{
	struct config	*conf;
	char		 buf[INET6_ADDRSTRLEN];

	conf = parse_ok("proxy_protocol = yes\n"
	    "proxy_trusted = ::ffff:10.0.0.0/104 fd00::/8\n");
	ck_assert_int_eq(conf->proxy_protocol, 1);
	ck_assert_uint_eq(conf->nproxy_trusted, 2);
	/* The mapped prefix is kept as the IPv4 one. */
	ck_assert_int_eq(conf->proxy_trusted[0].family, AF_INET);
	ck_assert_uint_eq(conf->proxy_trusted[0].bits, 8);
	ck_assert_str_eq(inet_ntop(AF_INET, conf->proxy_trusted[0].addr, buf,
	    sizeof(buf)), "10.0.0.0");
	/* The default timeout stands. */
	ck_assert_uint_eq(conf->proxy_timeout, 3);
	ck_assert_uint_eq(conf->max_connections_per_source, 0);
	check_round_trip(conf);
	config_free(conf);

	/* Either order; no is the default, and may be said. */
	conf = parse_ok("proxy_trusted = 127.0.0.1\nproxy_protocol = yes\n");
	ck_assert_int_eq(conf->proxy_protocol, 1);
	config_free(conf);
	conf = parse_ok("proxy_protocol = no\nproxy_timeout = 3600\n"
	    "max_connections_per_source = 1000000\n");
	ck_assert_int_eq(conf->proxy_protocol, 0);
	ck_assert_uint_eq(conf->proxy_timeout, 3600);
	ck_assert_uint_eq(conf->max_connections_per_source, 1000000);
	check_round_trip(conf);
	config_free(conf);
	/* Without proxy_protocol the per-source cap is the socket's. */
	conf = parse_ok("max_connections_per_source = 1\n");
	ck_assert_uint_eq(conf->max_connections_per_source, 1);
	config_free(conf);
}
END_TEST

START_TEST(test_bad_proxy)
{
	static const char	*bools[] = { "Yes", "YES", "true", "1", "on",
	    "y", "no no", "yes please" };
	char			 want[128];
	size_t			 i;

	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(want, sizeof(want), "proxy_protocol: '%s' is not yes "
		    "or no", bools[i]);
		bad_value("proxy_protocol", bools[i], want);
	}
	bad_value("proxy_timeout", "0",
	    "proxy_timeout: 0 is out of range (1 to 3600)");
	bad_value("proxy_timeout", "3601",
	    "proxy_timeout: 3601 is out of range (1 to 3600)");
	bad_value("proxy_timeout", "3s", "proxy_timeout: '3s' is not a number");
	bad_value("max_connections_per_source", "1000001",
	    "max_connections_per_source: 1000001 is out of range "
	    "(0 to 1000000)");
	bad_value("max_connections_per_source", "-1",
	    "max_connections_per_source: '-1' is not a number");
	bad_value("proxy_trusted", "localhost", "proxy_trusted: 'localhost' "
	    "is not a numeric IPv4 or IPv6 address or ADDR/LEN prefix");
	bad_value("proxy_trusted", "10.0.0.0/33",
	    "proxy_trusted: '10.0.0.0/33': the prefix length is not 0 to 32");
	bad_value("proxy_trusted", "10.1.0.0/8", "proxy_trusted: '10.1.0.0/8' "
	    "has bits set past the prefix length (the network is 10.0.0.0/8)");
	bad_value("proxy_trusted", "\" , \"", "proxy_trusted: no address "
	    "given");

	/* The two go together, in either direction. */
	parse_bad("proxy_protocol = yes\n", NAME ":1: proxy_protocol = yes "
	    "needs proxy_trusted, the addresses of the load balancers\n");
	parse_bad("# lb\nproxy_trusted = 127.0.0.1\n", NAME ":2: proxy_trusted "
	    "is set but proxy_protocol is not yes\n");
	parse_bad("proxy_trusted = 127.0.0.1\nproxy_protocol = no\n",
	    NAME ":1: proxy_trusted is set but proxy_protocol is not yes\n");
	/* A bad proxy_trusted is reported once, not also as missing. */
	parse_bad("proxy_protocol = yes\nproxy_trusted = 10.0.0.1/8\n",
	    NAME ":2: proxy_trusted: '10.0.0.1/8' has bits set past the "
	    "prefix length (the network is 10.0.0.0/8)\n");
	/* A bad proxy_protocol: proxy_trusted without it is said too. */
	parse_bad("proxy_protocol = on\nproxy_trusted = ::1\n",
	    NAME ":1: proxy_protocol: 'on' is not yes or no\n"
	    NAME ":2: proxy_trusted is set but proxy_protocol is not yes\n");
	/* And among other errors, every one in order. */
	parse_bad("port = x\nproxy_protocol = yes\nproxy_timeout = 0\n",
	    NAME ":1: port: 'x' is not a number\n"
	    NAME ":3: proxy_timeout: 0 is out of range (1 to 3600)\n"
	    NAME ":2: proxy_protocol = yes needs proxy_trusted, the "
	    "addresses of the load balancers\n");
	parse_bad("proxy_trusted = ::1\nproxy_trusted = ::2\n"
	    "proxy_protocol = yes\n",
	    NAME ":2: duplicate key 'proxy_trusted' (first set on line 1)\n");
}
END_TEST

/* A fresh temporary directory for config_load(). */
static void
temp_dir(char *dir, size_t len)
{
	ck_assert_int_lt(snprintf(dir, len, "/tmp/check_config.XXXXXX"),
	    (int)len);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	fp = fopen(path, "w");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_load_missing)
{
	struct config	*conf, *def;
	char		 dir[64], path[128], want[256], *errors;

	temp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/missing.conf", dir);

	conf = config_load(path, 0, NULL, &errors);
	ck_assert_ptr_nonnull(conf);
	ck_assert_ptr_null(errors);
	ck_assert_ptr_null(conf->path);
	def = config_default();
	check_same(conf, def);
	config_free(def);
	config_free(conf);

	conf = config_load(path, 1, NULL, &errors);
	ck_assert_ptr_null(conf);
	ck_assert_ptr_nonnull(errors);
	snprintf(want, sizeof(want), "%s: %s\n", path, strerror(ENOENT));
	ck_assert_str_eq(errors, want);
	free(errors);

	/* A directory is an error even when the file may be missing. */
	conf = config_load(dir, 0, NULL, &errors);
	ck_assert_ptr_null(conf);
	ck_assert_ptr_nonnull(errors);
	ck_assert_ptr_nonnull(strstr(errors, dir));
	free(errors);

	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_load_file)
{
	struct config	*conf;
	char		 dir[64], path[128], want[256], *errors;

	temp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/hellod.conf", dir);

	write_file(path, "# test\nport = 6100\nmessage = \"loaded\"\n");
	conf = config_load(path, 1, NULL, &errors);
	ck_assert_ptr_nonnull(conf);
	ck_assert_ptr_null(errors);
	ck_assert_str_eq(conf->path, path);
	ck_assert_int_eq(conf->port, 6100);
	check_reply(conf, "loaded");
	config_free(conf);

	/* Errors are prefixed with the file's own name. */
	write_file(path, "port = 6100\nport = 6101\n");
	conf = config_load(path, 0, NULL, &errors);
	ck_assert_ptr_null(conf);
	snprintf(want, sizeof(want), "%s:2: duplicate key 'port' (first set "
	    "on line 1)\n", path);
	ck_assert_str_eq(errors, want);
	free(errors);

	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/*
 * Options over a file: the file is text (NULL: none, the defaults), the
 * options "KEY=VALUE" strings.  Returns the config, or NULL with *errors
 * set, each "test.conf" in them replaced by nothing: the path is a
 * temporary one, and the errors are compared whole.
 */
static struct config *
load_over(const char *text, const char *const *opts, char **errors)
{
	struct config_overrides	 ov = { NULL, 0 };
	struct config		*conf;
	char			 dir[64], path[128];

	temp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/test.conf", dir);
	if (text != NULL)
		write_file(path, text);
	for (; *opts != NULL; opts++)
		ck_assert_int_eq(config_override_add(&ov, *opts, NULL), 0);
	conf = config_load(path, text != NULL, &ov, errors);
	config_overrides_clear(&ov);
	ck_assert_uint_eq(ov.n, 0);
	if (conf != NULL)
		ck_assert(conf->path == NULL ? text == NULL :
		    strcmp(conf->path, path) == 0);
	if (text != NULL)
		ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	return conf;
}

/* Options that must fail, with exactly the errors want. */
static void
load_over_bad(const char *text, const char *const *opts, const char *want)
{
	struct config	*conf;
	char		*errors, *file;

	conf = load_over(text, opts, &errors);
	ck_assert_ptr_null(conf);
	ck_assert_ptr_nonnull(errors);
	/* The file's errors start with its temporary path: cut it off. */
	while ((file = strstr(errors, "/test.conf:")) != NULL)
		memmove(errors, file + 1, strlen(file + 1) + 1);
	ck_assert_str_eq(errors, want);
	free(errors);
}

START_TEST(test_override_defaults)
{
	const char	*opts[] = { "port=6001", NULL };
	struct config_overrides ov = { NULL, 0 };
	struct config	*conf;
	char		*errors;

	conf = load_over(NULL, opts, &errors);
	ck_assert_ptr_nonnull(conf);
	ck_assert_ptr_null(errors);
	ck_assert_int_eq(conf->port, 6001);
	ck_assert_uint_eq(conf->max_connections, 1024);
	check_reply(conf, "Hello World");
	config_free(conf);

	/* "--message VALUE": key and value apart, blanks kept as given. */
	ck_assert_int_eq(config_override_add(&ov, "message", " two  words"),
	    0);
	conf = config_load("/nonexistent/hellod.conf", 0, &ov, &errors);
	ck_assert_ptr_nonnull(conf);
	check_reply(conf, " two  words");
	ck_assert_int_eq(conf->port, 5000);
	config_free(conf);
	config_overrides_clear(&ov);
}
END_TEST

START_TEST(test_override_file)
{
	const char	*opts[] = { "port=6200", "proxy_timeout=9", NULL };
	struct config	*conf;
	char		*errors;

	conf = load_over("port = 6100\nmessage = loaded\n"
	    "max_connections = 7\n", opts, &errors);
	ck_assert_ptr_nonnull(conf);
	ck_assert_int_eq(conf->port, 6200);
	ck_assert_uint_eq(conf->proxy_timeout, 9);
	ck_assert_uint_eq(conf->max_connections, 7);
	check_reply(conf, "loaded");
	config_free(conf);
}
END_TEST

START_TEST(test_override_bad_value)
{
	const char	*range[] = { "port=70000", NULL };
	const char	*both[] = { "idle_timeout=soon", "message=", NULL };

	load_over_bad(NULL, range, "--port=70000: port: 70000 is out of range "
	    "(0 to 65535)\n");
	/* The file's errors and the options', all in one run. */
	load_over_bad("port = x\n", both,
	    "test.conf:1: port: 'x' is not a number\n"
	    "--idle_timeout=soon: idle_timeout: 'soon' is not a number\n"
	    "--message=: message: missing value\n");
}
END_TEST

START_TEST(test_override_unknown_key)
{
	const char	*opts[] = { "prot=1", NULL };

	load_over_bad(NULL, opts, "--prot=1: unknown key 'prot' (known keys: "
	    KNOWN_KEYS ")\n");
}
END_TEST

START_TEST(test_override_duplicate)
{
	const char	*twice[] = { "port=6001", "port=6002", NULL };
	const char	*once[] = { "port=6001", NULL };
	struct config	*conf;
	char		*errors;

	load_over_bad(NULL, twice, "--port=6002: duplicate key 'port' (first "
	    "set by --port=6001)\n");
	/* Over the file's own value it is no duplicate: it is the point. */
	conf = load_over("port = 6000\n", once, &errors);
	ck_assert_ptr_nonnull(conf);
	ck_assert_int_eq(conf->port, 6001);
	config_free(conf);
}
END_TEST

/* proxy_protocol and proxy_trusted are checked together, from anywhere. */
START_TEST(test_override_cross_key)
{
	const char	*trusted[] = { "proxy_trusted=10.0.0.0/8", NULL };
	const char	*proto_no[] = { "proxy_protocol=no", NULL };
	const char	*proto_yes[] = { "proxy_protocol=yes", NULL };
	struct config	*conf;
	char		*errors;

	conf = load_over("proxy_protocol = yes\n", trusted, &errors);
	ck_assert_ptr_nonnull(conf);
	ck_assert_int_eq(conf->proxy_protocol, 1);
	ck_assert_uint_eq(conf->nproxy_trusted, 1);
	config_free(conf);

	load_over_bad("proxy_trusted = 10.0.0.0/8\nproxy_protocol = yes\n",
	    proto_no, "test.conf:1: proxy_trusted is set but proxy_protocol "
	    "is not yes\n");
	load_over_bad("# none\n", proto_yes, "--proxy_protocol=yes: "
	    "proxy_protocol = yes needs proxy_trusted, the addresses of the "
	    "load balancers\n");
}
END_TEST

/* -T: the effective values, and which of them an option set. */
START_TEST(test_override_dump)
{
	struct config_overrides	 ov = { NULL, 0 };
	struct config		*conf, *back;
	FILE			*fp;
	char			*text = NULL, *errors;
	size_t			 len = 0;

	ck_assert_int_eq(config_override_add(&ov, "port=6001", NULL), 0);
	conf = config_load("/nonexistent/hellod.conf", 0, &ov, &errors);
	ck_assert_ptr_nonnull(conf);
	fp = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(fp);
	config_dump(conf, &ov, fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_ptr_nonnull(strstr(text, "# hellod effective configuration "
	    "(built-in defaults, and the command line)\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nport = 6001\t# --port\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nmax_connections = 1024\n"));
	/* The dump still reads back, comments and all. */
	back = parse_ok(text);
	check_same(conf, back);
	config_free(back);
	free(text);
	config_free(conf);
	config_overrides_clear(&ov);
}
END_TEST

/* Dump conf, parse the dump as "test.conf", and compare. */
static void
check_round_trip(const struct config *conf)
{
	struct config	*again;
	char		*text, *text2;

	text = dump(conf);
	again = parse_ok(text);
	check_same(conf, again);
	/* The second dump says the same but for the header's path. */
	text2 = dump(again);
	ck_assert_ptr_nonnull(strchr(text, '\n'));
	ck_assert_ptr_nonnull(strchr(text2, '\n'));
	ck_assert_str_eq(strchr(text, '\n'), strchr(text2, '\n'));
	free(text2);
	free(text);
	config_free(again);
}

START_TEST(test_dump)
{
	struct config	*conf;
	char		*text, want[1024];

	conf = config_default();
	ck_assert_ptr_nonnull(conf);
	text = dump(conf);
	snprintf(want, sizeof(want),
	    "# hellod effective configuration (built-in defaults)\n"
	    "port = 5000\n"
	    "bind = *\n"
	    "#metrics_listen =\n"
	    "#agent_listen =\n"
	    "message = \"Hello World\"\n"
	    "#name =\t# the host name: %s\n"
	    "max_connections = 1024\n"
	    "idle_timeout = 300\n"
	    "max_line_length = 8192\n"
	    "max_output = 65536\n"
	    "shutdown_timeout = 10\n"
	    "stop_grace = 0\n"
	    "log_level = info\n"
	    "pidfile = \"/run/hellod.pid\"\n"
	    "#user =\n"
	    "workers = 0\n"
	    "max_connections_per_source = 0\n"
	    "proxy_protocol = no\n"
	    "#proxy_trusted =\n"
	    "proxy_timeout = 3\n", conf->host);
	ck_assert_str_eq(text, want);
	free(text);
	check_round_trip(conf);
	config_free(conf);

	conf = parse_ok("user = root\nport = 1\n");
	text = dump(conf);
	ck_assert_ptr_nonnull(strstr(text, "# hellod effective configuration "
	    "(" NAME ")\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nuser = \"root\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nport = 1\n"));
	free(text);
	config_free(conf);
}
END_TEST

START_TEST(test_round_trip)
{
	struct config	*conf, *def;
	char		*text;

	conf = parse_ok(
	    "port = 6200\n"
	    "bind = 127.0.0.1, [::1]  192.0.2.1\n"
	    "message = \"  Hi # there, \"friend\"  \"\n"
	    "max_connections = 10\n"
	    "idle_timeout = 0\n"
	    "max_line_length = 1k\n"
	    "max_output = 1m\n"
	    "shutdown_timeout = 0\n"
	    "log_level = debug\n"
	    "pidfile = /tmp/round trip.pid\n"
	    "user = root\n"
	    "workers = 4\n"
	    "max_connections_per_source = 2\n"
	    "proxy_protocol = yes\n"
	    "proxy_trusted = \" 127.0.0.1,[::1]/128  10.0.0.0/8 \"\n"
	    "proxy_timeout = 1\n");
	/* Really not the defaults, so the comparison means something. */
	def = config_default();
	ck_assert_int_ne(conf->port, def->port);
	ck_assert_uint_ne(conf->nbinds, def->nbinds);
	ck_assert_str_ne(conf->message, def->message);
	ck_assert_uint_ne(conf->max_connections, def->max_connections);
	ck_assert_uint_ne(conf->idle_timeout, def->idle_timeout);
	ck_assert_uint_ne(conf->max_line_length, def->max_line_length);
	ck_assert_uint_ne(conf->max_output, def->max_output);
	ck_assert_uint_ne(conf->shutdown_timeout, def->shutdown_timeout);
	ck_assert_int_ne(conf->log_level, def->log_level);
	ck_assert_str_ne(conf->pidfile, def->pidfile);
	ck_assert_ptr_nonnull(conf->user);
	ck_assert_uint_ne(conf->workers, def->workers);
	ck_assert_uint_ne(conf->max_connections_per_source,
	    def->max_connections_per_source);
	ck_assert_int_ne(conf->proxy_protocol, def->proxy_protocol);
	ck_assert_uint_ne(conf->nproxy_trusted, def->nproxy_trusted);
	ck_assert_uint_ne(conf->proxy_timeout, def->proxy_timeout);
	config_free(def);

	text = dump(conf);
	ck_assert_ptr_nonnull(strstr(text,
	    "\nmessage = \"  Hi # there, \"friend\"  \"\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nmax_output = 1048576\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "\nproxy_trusted = 127.0.0.1,[::1]/128  10.0.0.0/8\n"));
	free(text);
	check_round_trip(conf);
	config_free(conf);
}
END_TEST

START_TEST(test_same_listen)
{
	struct config	*a, *b;

	a = config_default();
	b = config_default();
	ck_assert(config_same_listen(a, b));
	config_free(b);

	/* Everything but port and bind may change. */
	b = parse_ok("message = other\nlog_level = debug\nbind = *\n"
	    "max_connections = 5\nuser = root\n");
	ck_assert(config_same_listen(a, b));
	ck_assert(config_same_listen(b, a));
	config_free(b);

	b = parse_ok("port = 5001\n");
	ck_assert(!config_same_listen(a, b));
	config_free(b);

	/* The same addresses, but IPv6 no longer optional. */
	b = parse_ok("bind = 0.0.0.0 ::\n");
	ck_assert(!config_same_listen(a, b));
	ck_assert(!config_same_listen(b, a));
	config_free(b);

	/* Fewer, or in another order. */
	b = parse_ok("bind = 0.0.0.0\n");
	ck_assert(!config_same_listen(a, b));
	ck_assert(!config_same_listen(b, a));
	config_free(b);
	config_free(a);

	a = parse_ok("bind = 127.0.0.1 ::1\n");
	b = parse_ok("bind = ::1 127.0.0.1\n");
	ck_assert(!config_same_listen(a, b));
	config_free(b);
	/* Written differently, the same addresses. */
	b = parse_ok("bind = 127.0.0.1,[0:0::1]\nmessage = x\n");
	ck_assert(config_same_listen(a, b));
	config_free(b);
	config_free(a);
}
END_TEST

/*
 * If line is "#key = ..." (a commented setting, not prose), copy the key
 * and return 1.
 */
static int
commented_key(const char *line, char *key, size_t len)
{
	size_t	 n;

	if (line[0] != '#')
		return (0);
	n = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_");
	if (n == 0 || n >= len || line[1 + n + strspn(line + 1 + n, " \t")] !=
	    '=')
		return (0);
	memcpy(key, line + 1, n);
	key[n] = '\0';
	return (1);
}

/* The line of text (up to its newline) for key, or NULL. */
static const char *
find_setting(const char *text, const char *key, int commented)
{
	const char	*line = text;
	char		 name[64];

	while (*line != '\0') {
		if (commented) {
			if (commented_key(line, name, sizeof(name)) &&
			    strcmp(name, key) == 0)
				return (line);
		} else if (strncmp(line, key, strlen(key)) == 0 &&
		    line[strlen(key)] == ' ')
			return (line);
		line += strcspn(line, "\n");
		if (*line == '\n')
			line++;
	}
	return (NULL);
}

/* The line for key in the dump of conf, newline included, malloc'd. */
static char *
dump_line(const struct config *conf, const char *key)
{
	const char	*line;
	char		*text, *out;

	text = dump(conf);
	line = find_setting(text, key, 0);
	ck_assert_msg(line != NULL, "%s not in the dump", key);
	out = strndup(line, strcspn(line, "\n") + 1);
	ck_assert_ptr_nonnull(out);
	free(text);
	return (out);
}

/* Read a whole file into a string. */
static char *
slurp(const char *path)
{
	FILE	*fp, *mem;
	char	*text = NULL, buf[4096];
	size_t	 len = 0, n;

	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	mem = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(mem);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, mem), n);
	ck_assert_int_eq(ferror(fp), 0);
	fclose(fp);
	ck_assert_int_eq(fclose(mem), 0);
	return (text);
}

/*
 * conf/hellod.conf shows every key commented out with its built-in
 * default: each setting line of the default dump has a "#key = value" line
 * there whose value parses to the same setting ("64k" for 65536 is fine),
 * keys without a default just need their line, and the file shows no key
 * the dump lacks.
 */
START_TEST(test_shipped_conf)
{
	struct config	*def, *conf;
	const char	*top, *line, *shipped_line;
	char		 path[4096], key[64], *shipped, *text, *setting;
	char		*want, *got;
	size_t		 nkeys = 0;

	top = getenv("TOP_SRCDIR");
	ck_assert_ptr_nonnull(top);
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/conf/hellod.conf",
	    top), (int)sizeof(path));
	shipped = slurp(path);
	def = config_default();
	ck_assert_ptr_nonnull(def);
	text = dump(def);

	for (line = strchr(text, '\n') + 1; *line != '\0';
	    line = strchr(line, '\n') + 1) {
		if (line[0] == '#') {
			/* No default: "#user =". */
			ck_assert(commented_key(line, key, sizeof(key)));
			ck_assert_msg(find_setting(shipped, key, 1) != NULL,
			    "%s: no \"#%s =\" line", path, key);
			nkeys++;
			continue;
		}
		ck_assert_uint_lt(strcspn(line, " "), sizeof(key));
		memcpy(key, line, strcspn(line, " "));
		key[strcspn(line, " ")] = '\0';
		shipped_line = find_setting(shipped, key, 1);
		ck_assert_msg(shipped_line != NULL, "%s: no \"#%s = ...\" "
		    "line", path, key);
		/* Uncomment it, parse it alone, dump that key. */
		setting = strndup(shipped_line + 1,
		    strcspn(shipped_line + 1, "\n"));
		ck_assert_ptr_nonnull(setting);
		conf = parse_ok(setting);
		want = dump_line(def, key);
		got = dump_line(conf, key);
		ck_assert_msg(strcmp(want, got) == 0, "%s: \"%s\" differs "
		    "from the built-in default \"%.*s\"", path, setting,
		    (int)strlen(want) - 1, want);
		free(want);
		free(got);
		free(setting);
		config_free(conf);
		nkeys++;
	}
	ck_assert_uint_ge(nkeys, 11);

	/* And nothing stale the other way round. */
	for (line = shipped; *line != '\0'; line += strcspn(line, "\n"),
	    line += *line == '\n') {
		if (!commented_key(line, key, sizeof(key)))
			continue;
		ck_assert_msg(find_setting(text, key, 0) != NULL ||
		    find_setting(text, key, 1) != NULL,
		    "%s: \"#%s\" is not a key hellod knows", path, key);
	}
	free(text);
	free(shipped);
	config_free(def);
}
END_TEST

/* Message templates */

/* An IPv4 or IPv6 socket address, for config_reply(). */
static void
check_sockaddr(struct sockaddr_storage *ss, const char *host, int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, host, &sin6->sin6_addr), 1);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
}

/* The reply of conf for a client at peer:pport on local:lport, a string. */
static char *
check_layout(const struct config *conf, const char *peer, int pport,
    const char *local, int lport)
{
	struct sockaddr_storage	 p, l;
	static char		 buf[CONFIG_REPLY_MAX + 1];
	size_t			 n;

	check_sockaddr(&p, peer, pport);
	check_sockaddr(&l, local, lport);
	n = config_reply(conf, (struct sockaddr *)&p, (struct sockaddr *)&l,
	    buf, CONFIG_REPLY_MAX);
	ck_assert_uint_le(n, CONFIG_REPLY_MAX);
	buf[n] = '\0';
	return buf;
}

static const char *
check_hostname(void)
{
	static char	 host[256];

	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	return host;
}

START_TEST(test_template_every_sequence)
{
	struct config	*conf;
	char		 want[512], *line;

	conf = parse_ok("name = web-1\n"
	    "message = \"%n|%h|%a|%p|%l|%%|100%%\"\n");
	ck_assert_int_eq(conf->reply_per_conn, 1);
	snprintf(want, sizeof(want), "web-1|%s|192.0.2.7|4242|"
	    "127.0.0.1:5000|%%|100%%\n", check_hostname());
	ck_assert_str_eq(check_layout(conf, "192.0.2.7", 4242, "127.0.0.1",
	    5000), want);
	snprintf(want, sizeof(want), "web-1|%s|2001:db8::7|1|[::1]:65535|"
	    "%%|100%%\n", check_hostname());
	ck_assert_str_eq(check_layout(conf, "2001:db8::7", 1, "::1", 65535),
	    want);
	/* -T prints the template as written, and it reads back. */
	line = dump_line(conf, "message");
	ck_assert_str_eq(line, "message = \"%n|%h|%a|%p|%l|%%|100%%\"\n");
	free(line);
	check_round_trip(conf);
	config_free(conf);

	/* Each field alone: the connection's fields make it per connection. */
	conf = parse_ok("message = %a\n");
	ck_assert_int_eq(conf->reply_per_conn, 1);
	ck_assert_str_eq(check_layout(conf, "::ffff:10.0.0.1", 9, "::", 1),
	    "::ffff:10.0.0.1\n");
	config_free(conf);
	conf = parse_ok("message = %p\n");
	ck_assert_int_eq(conf->reply_per_conn, 1);
	ck_assert_str_eq(check_layout(conf, "10.0.0.1", 65535, "::", 1),
	    "65535\n");
	config_free(conf);
	conf = parse_ok("message = \"<%l>\"\n");
	ck_assert_int_eq(conf->reply_per_conn, 1);
	ck_assert_str_eq(check_layout(conf, "10.0.0.1", 9, "10.0.0.2", 80),
	    "<10.0.0.2:80>\n");
	config_free(conf);
}
END_TEST

/* %n, %h and %% alone: laid out at load, the reply shared. */
START_TEST(test_template_shared)
{
	struct config	*conf;
	char		 want[512];

	conf = parse_ok("message = \"100%% from %n on %h\"\nname = web-1\n");
	ck_assert_int_eq(conf->reply_per_conn, 0);
	ck_assert_str_eq(conf->message, "100%% from %n on %h");
	snprintf(want, sizeof(want), "100%% from web-1 on %s\n",
	    check_hostname());
	ck_assert_uint_eq(conf->reply_len, strlen(want));
	ck_assert_int_eq(memcmp(conf->reply, want, conf->reply_len), 0);
	check_round_trip(conf);
	config_free(conf);

	conf = parse_ok("message = %%\n");
	ck_assert_uint_eq(conf->reply_len, 2);
	ck_assert_int_eq(memcmp(conf->reply, "%\n", 2), 0);
	config_free(conf);
	conf = parse_ok("message = \"%%%%n\"\n");
	ck_assert_int_eq(conf->reply_per_conn, 0);
	ck_assert_uint_eq(conf->reply_len, 4);
	ck_assert_int_eq(memcmp(conf->reply, "%%n\n", 4), 0);
	config_free(conf);
}
END_TEST

START_TEST(test_template_bad)
{
	const char	*opt[] = { "message=50%", NULL };
	char		 text[CONFIG_MESSAGE_MAX + 64], want[256];
	size_t		 i, n;

	bad_value("message", "%x", "message: unknown sequence '%x' at offset 0 "
	    "(known: %n %h %a %p %l, and %% for a literal %)");
	bad_value("message", "\"a %N\"", "message: unknown sequence '%N' at "
	    "offset 2 (known: %n %h %a %p %l, and %% for a literal %)");
	bad_value("message", "100%", "message: '%' at the end (a literal % "
	    "is written %%)");
	bad_value("message", "%%%", "message: '%' at the end (a literal % "
	    "is written %%)");
	bad_value("message", "%\xc3\xa9", "message: unknown sequence: '%' and "
	    "byte 0xc3 at offset 0 (a literal % is written %%)");
	/* Every error of the file, each at its line. */
	parse_bad("port = 1\nmessage = %d\nname = x\nbind = 127.0.0.1\n"
	    "name = y\n",
	    NAME ":2: message: unknown sequence '%d' at offset 0 (known: %n "
	    "%h %a %p %l, and %% for a literal %)\n"
	    NAME ":5: duplicate key 'name' (first set on line 3)\n");
	/* The option form names the option. */
	load_over_bad(NULL, opt, "--message=50%: message: '%' at the end (a "
	    "literal % is written %%)\n");

	/* A reply laid out is bounded: as many %l as fit, not one more. */
	n = (CONFIG_REPLY_MAX - 1) / (ADDR_STRLEN - 1);
	memcpy(text, "message = ", 10);
	for (i = 0; i < n; i++)
		memcpy(text + 10 + 2 * i, "%l", 2);
	memcpy(text + 10 + 2 * n, "\n", 2);
	config_free(parse_ok(text));
	memcpy(text + 10 + 2 * n, "%p\n", 4);
	snprintf(want, sizeof(want), NAME ":1: message: a reply laid out may "
	    "take %zu bytes, more than %d\n", n * (ADDR_STRLEN - 1) +
	    ADDR_STRLEN - 1 + 1, CONFIG_REPLY_MAX);
	parse_bad(text, want);
	/* The name counts, wherever it is set: the error is the message's. */
	memcpy(text, "message = ", 10);
	for (i = 0; i < 200; i++)
		memcpy(text + 10 + 2 * i, "%n", 2);
	snprintf(text + 10 + 2 * i, sizeof(text) - 10 - 2 * i,
	    "\nname = %s\n", "0123456789012345678901234567890123456789");
	snprintf(want, sizeof(want), NAME ":1: message: a reply laid out may "
	    "take %d bytes, more than %d\n", 200 * 40 + 1, CONFIG_REPLY_MAX);
	parse_bad(text, want);
}
END_TEST

START_TEST(test_name)
{
	struct config	*def, *conf;
	char		 text[128], want[256], *dumped;

	/* By default the host name, read at the load. */
	def = config_default();
	ck_assert_ptr_nonnull(def);
	ck_assert_ptr_null(def->name);
	ck_assert_str_eq(def->host, check_hostname());
	ck_assert_str_eq(config_name(def), check_hostname());
	dumped = dump(def);
	snprintf(want, sizeof(want), "\n#name =\t# the host name: %s\n",
	    check_hostname());
	ck_assert_msg(strstr(dumped, want) != NULL, "%s", dumped);
	free(dumped);
	config_free(def);

	conf = parse_ok("name = \" a b~\"\nmessage = [%n]\n");
	ck_assert_str_eq(config_name(conf), " a b~");
	ck_assert_int_eq(memcmp(conf->reply, "[ a b~]\n", 8), 0);
	check_round_trip(conf);
	config_free(conf);

	/* 64 bytes, not 65. */
	memset(text, 'n', sizeof(text));
	memcpy(text, "name = ", 7);
	memcpy(text + 7 + CONFIG_NAME_MAX, "\n", 2);
	conf = parse_ok(text);
	ck_assert_uint_eq(strlen(conf->name), CONFIG_NAME_MAX);
	config_free(conf);
	memcpy(text + 7 + CONFIG_NAME_MAX, "n\n", 3);
	parse_bad(text, NAME ":1: name: length 65 is out of range (1 to 64 "
	    "bytes)\n");
	bad_value("name", "\"\"", "name: length 0 is out of range (1 to 64 "
	    "bytes)");
	bad_value("name", "\"a\tb\"", "name: byte 0x09 at offset 1 is not "
	    "printable ASCII");
	bad_value("name", "caf\xc3\xa9", "name: byte 0xc3 at offset 3 is not "
	    "printable ASCII");
	bad_value("name", "web%n", "name: '%' at offset 3 is not allowed");
}
END_TEST

Suite *
config_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("config");

	tc = tcase_create("parse");
	tcase_add_test(tc, test_default);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_level_names);
	tcase_add_test(tc, test_log_level_with_verbose);
	tcase_add_test(tc, test_comments);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_quotes);
	tcase_add_test(tc, test_quoted_value_then_quotes_in_comment);
	tcase_add_test(tc, test_proxy_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_bad_number);
	tcase_add_test(tc, test_negative);
	tcase_add_test(tc, test_range);
	tcase_add_test(tc, test_metrics_listen_on_the_client_port);
	tcase_add_test(tc, test_agent_listen);
	tcase_add_test(tc, test_errors_bounded);
	tcase_add_test(tc, test_suffixes);
	tcase_add_test(tc, test_bad_bind);
	tcase_add_test(tc, test_bad_message);
	tcase_add_test(tc, test_bad_strings);
	tcase_add_test(tc, test_bad_syntax);
	tcase_add_test(tc, test_comment_before_equals);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_long_line_is_not_held);
	tcase_add_test(tc, test_read_error);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_bad_proxy);
	suite_add_tcase(s, tc);

	tc = tcase_create("templates");
	tcase_add_test(tc, test_template_every_sequence);
	tcase_add_test(tc, test_template_shared);
	tcase_add_test(tc, test_template_bad);
	tcase_add_test(tc, test_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_test(tc, test_load_missing);
	tcase_add_test(tc, test_load_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("overrides");
	tcase_add_test(tc, test_override_defaults);
	tcase_add_test(tc, test_override_file);
	tcase_add_test(tc, test_override_bad_value);
	tcase_add_test(tc, test_override_unknown_key);
	tcase_add_test(tc, test_override_duplicate);
	tcase_add_test(tc, test_override_cross_key);
	tcase_add_test(tc, test_override_dump);
	suite_add_tcase(s, tc);

	tc = tcase_create("dump");
	tcase_add_test(tc, test_dump);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_same_listen);
	suite_add_tcase(s, tc);

	/* Only "make check" says where the sources are. */
	if (getenv("TOP_SRCDIR") != NULL) {
		tc = tcase_create("shipped");
		tcase_add_test(tc, test_shipped_conf);
		suite_add_tcase(s, tc);
	} else
		fprintf(stderr, "config: TOP_SRCDIR unset, not checking "
		    "conf/hellod.conf\n");

	return (s);
}
