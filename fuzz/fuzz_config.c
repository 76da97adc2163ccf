/* SPDX-License-Identifier: ISC */
/*
 * fuzz_config.c: the configuration parser on arbitrary bytes.
 *
 * Whatever the file holds, config_parse() must return either a config or
 * an error text, and never crash, overrun or leak.  When it returns a
 * config, the dump hellod prints for -T is fed back to the parser: it must
 * parse, to exactly the same settings, and dump to exactly the same text.
 * A dump that cannot be read back, or reads back differently, is a bug.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hellod.h"
#include "fuzz.h"

#define FUZZ_CONF_NAME	"fuzz.conf"

static struct config *
fuzz_parse(const void *text, size_t len, char **errors)
{
	static char	 empty[1];
	struct config	*conf;
	FILE		*fp;

	/* fmemopen() wants a buffer even for an empty file. */
	if (len == 0)
		text = empty;
	if ((fp = fmemopen((void *)text, len, "r")) == NULL) {
		perror("fmemopen");
		abort();
	}
	conf = config_parse(fp, FUZZ_CONF_NAME, errors);
	fclose(fp);
	return conf;
}

/* The -T output of conf, as a string the caller frees. */
static char *
fuzz_dump(const struct config *conf, size_t *len)
{
	char	*text = NULL;
	FILE	*fp;

	if ((fp = open_memstream(&text, len)) == NULL) {
		perror("open_memstream");
		abort();
	}
	config_dump(conf, NULL, fp);
	if (fclose(fp) != 0) {
		perror("config_dump");
		abort();
	}
	return text;
}

static int
fuzz_same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The name of the first setting that differs, or NULL. */
static const char *
fuzz_config_diff(const struct config *a, const struct config *b)
{
	size_t	 i;

	if (!fuzz_same_str(a->path, b->path))
		return "path";
	if (a->port != b->port)
		return "port";
	if (a->nbinds != b->nbinds)
		return "nbinds";
	for (i = 0; i < a->nbinds; i++) {
		if (!addr_equal(&a->binds[i], &b->binds[i]) ||
		    a->binds[i].optional != b->binds[i].optional)
			return "binds";
	}
	if (!fuzz_same_str(a->bind_text, b->bind_text))
		return "bind_text";
	if (!addr_equal(&a->metrics_listen, &b->metrics_listen))
		return "metrics_listen";
	if (!fuzz_same_str(a->message, b->message))
		return "message";
	if (!fuzz_same_str(a->name, b->name))
		return "name";
	if (a->reply_len != b->reply_len ||
	    memcmp(a->reply, b->reply, a->reply_len) != 0)
		return "reply";
	if (a->max_connections != b->max_connections)
		return "max_connections";
	if (a->idle_timeout != b->idle_timeout)
		return "idle_timeout";
	if (a->max_line_length != b->max_line_length)
		return "max_line_length";
	if (a->max_output != b->max_output)
		return "max_output";
	if (a->shutdown_timeout != b->shutdown_timeout)
		return "shutdown_timeout";
	if (a->log_level != b->log_level)
		return "log_level";
	if (!fuzz_same_str(a->pidfile, b->pidfile))
		return "pidfile";
	if (!fuzz_same_str(a->user, b->user))
		return "user";
	if (a->workers != b->workers)
		return "workers";
	if (a->max_connections_per_source != b->max_connections_per_source)
		return "max_connections_per_source";
	if (a->proxy_protocol != b->proxy_protocol)
		return "proxy_protocol";
	if (a->nproxy_trusted != b->nproxy_trusted)
		return "nproxy_trusted";
	for (i = 0; i < a->nproxy_trusted; i++) {
		if (a->proxy_trusted[i].family != b->proxy_trusted[i].family ||
		    a->proxy_trusted[i].bits != b->proxy_trusted[i].bits ||
		    memcmp(a->proxy_trusted[i].addr, b->proxy_trusted[i].addr,
		    sizeof(a->proxy_trusted[i].addr)) != 0)
			return "proxy_trusted";
	}
	if (!fuzz_same_str(a->proxy_trusted_text, b->proxy_trusted_text))
		return "proxy_trusted_text";
	if (a->proxy_timeout != b->proxy_timeout)
		return "proxy_timeout";
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*conf, *again;
	char		*errors, *dump, *redump;
	const char	*field;
	size_t		 dumplen, redumplen;

	if ((conf = fuzz_parse(data, size, &errors)) == NULL) {
		/* Rejected: there must be a reason, in file:line form. */
		if (errors == NULL || strncmp(errors, FUZZ_CONF_NAME ":",
		    strlen(FUZZ_CONF_NAME ":")) != 0) {
			fprintf(stderr, "rejected without an error message\n");
			abort();
		}
		free(errors);
		return 0;
	}
	if (errors != NULL) {
		fprintf(stderr, "accepted with errors: %s\n", errors);
		abort();
	}

	dump = fuzz_dump(conf, &dumplen);
	if ((again = fuzz_parse(dump, dumplen, &errors)) == NULL) {
		fprintf(stderr, "the dump does not parse:\n%s--\n%s", dump,
		    errors != NULL ? errors : "(no message)\n");
		abort();
	}
	if ((field = fuzz_config_diff(conf, again)) != NULL) {
		fprintf(stderr, "the dump parses to a different %s:\n%s",
		    field, dump);
		abort();
	}
	redump = fuzz_dump(again, &redumplen);
	if (redumplen != dumplen || memcmp(dump, redump, dumplen) != 0) {
		fprintf(stderr, "the dump changes when read back:\n%s--\n%s",
		    dump, redump);
		abort();
	}

	free(redump);
	free(dump);
	config_free(again);
	config_free(conf);
	return 0;
}
