/* SPDX-License-Identifier: ISC */
/*
 * The configuration file: "key = value" lines, "#" comments.
 *
 * Every key, its default and its range live in config_keys[] below and
 * nowhere else: the defaults are parsed by the same code as the file, and
 * the dump (-T) prints from the same table, and the metrics export the
 * keys marked as limits (config_limits()).
 *
 * The message is a template, laid out here as far as a config can: %n, %h
 * and %% at load (config_layout()), the fields of a connection (%a, %p,
 * %l) by config_reply() for each connection that needs them.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "hellod.h"

enum config_kind {
	CK_INT,		/* int */
	CK_UINT,	/* unsigned */
	CK_SIZE,	/* size_t, takes k and m suffixes */
	CK_SECONDS,	/* unsigned, seconds */
	CK_BIND,
	CK_HOSTPORT,	/* ADDR:PORT, [ADDR6]:PORT */
	CK_MESSAGE,
	CK_NAME,	/* printable ASCII, no '%' */
	CK_LEVEL,
	CK_PATH,
	CK_USER,
	CK_BOOL,	/* int, yes or no */
	CK_PREFIXES,	/* proxy_trusted */
};

struct config_key {
	const char		*name;
	enum config_kind	 kind;
	int			 limit;		/* a gauge of the metrics */
	size_t			 offset;
	long long		 min;
	long long		 max;
	const char		*def;		/* NULL: unset */
};

#define OFF(f)	offsetof(struct config, f)
static const struct config_key config_keys[] = {
	{ "port",		CK_INT, 0,	OFF(port),	0, 65535,
	    "5000" },
	{ "bind",		CK_BIND, 0,	0,		0, 0,	"*" },
	{ "metrics_listen",	CK_HOSTPORT, 0,	OFF(metrics_listen), 0, 65535,
	    NULL },
	{ "agent_listen",	CK_HOSTPORT, 0,	OFF(agent_listen), 0, 65535,
	    NULL },
	{ "message",		CK_MESSAGE, 0,	0,		1,
	    CONFIG_MESSAGE_MAX, "Hello World" },
	{ "name",		CK_NAME, 0,	OFF(name),	1,
	    CONFIG_NAME_MAX, NULL },	/* NULL: the host name, at each load */
	{ "max_connections",	CK_UINT, 1,	OFF(max_connections),
	    1, 1000000,	"1024" },
	{ "idle_timeout",	CK_SECONDS, 1,	OFF(idle_timeout),
	    0, 7 * 86400, "300" },
	{ "max_line_length",	CK_SIZE, 1,	OFF(max_line_length),
	    1, 16 << 20, "8192" },
	{ "max_output",		CK_SIZE, 1,	OFF(max_output),
	    1024, 256 << 20, "64k" },
	{ "shutdown_timeout",	CK_SECONDS, 1,	OFF(shutdown_timeout),
	    0, 3600,	"10" },
	{ "stop_grace",		CK_SECONDS, 0,	OFF(stop_grace),
	    0, 3600,	"0" },
	{ "log_level",		CK_LEVEL, 0,	0,		0, 0,
	    "info" },
	{ "pidfile",		CK_PATH, 0,	OFF(pidfile),	0, 0,
	    "/run/hellod.pid" },
	{ "user",		CK_USER, 0,	OFF(user),	0, 0,	NULL },
	{ "workers",		CK_UINT, 0,	OFF(workers),	0, WORKER_MAX,
	    "0" },
	{ "max_connections_per_source", CK_UINT, 1,
	    OFF(max_connections_per_source), 0, 1000000, "0" },
	{ "proxy_protocol",	CK_BOOL, 0,	OFF(proxy_protocol),
	    0, 1,	"no" },
	{ "proxy_trusted",	CK_PREFIXES, 0,	0,		0, 0,	NULL },
	{ "proxy_timeout",	CK_SECONDS, 1,	OFF(proxy_timeout),
	    1, 3600,	"3" },
};
#define NKEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

/*
 * What may follow a '%' in the message: the instance's name, the host's,
 * the client's address and port, the local address and port, a '%'.
 */
#define CONFIG_SEQUENCES	"nhapl%"
/*
 * The marks conf->reply keeps for the fields of a connection, laid out by
 * config_reply(): control characters, which no message holds.  The longest
 * text of one is an address with its port.
 */
#define CONFIG_MARK_ADDR	'\001'	/* %a */
#define CONFIG_MARK_PORT	'\002'	/* %p */
#define CONFIG_MARK_LOCAL	'\003'	/* %l */
#define CONFIG_MARK_TEXT_MAX	(ADDR_STRLEN - 1)

/*
 * log_level takes the names log.c shows, from error to debug: nothing logs
 * above LOG_CRIT but fatal(), which nothing should silence.
 */
const char *
config_level_name(int level)
{
	if (level < LOG_ERR || level > LOG_DEBUG)
		return "?";
	return log_level_name(level);
}

/* The level to log at: the config's, raised by each -v, at most debug. */
int
config_log_level(const struct config *conf, int verbose)
{
	int	 level = conf->log_level + verbose;

	return level > LOG_DEBUG ? LOG_DEBUG : level;
}

int
config_level_parse(const char *s)
{
	int	 level = log_level_parse(s);

	return level < LOG_ERR ? -1 : level;
}

/* A decimal number, optionally with a k or m suffix (powers of 1024). */
static int
config_number(const struct config_key *key, const char *s, long long *out,
    char *err, size_t errlen)
{
	char		*end;
	long long	 v, mult = 1;

	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		goto bad;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		goto range;
	if (key->kind == CK_SIZE && (*end == 'k' || *end == 'K'))
		mult = 1024, end++;
	else if (key->kind == CK_SIZE && (*end == 'm' || *end == 'M'))
		mult = 1024 * 1024, end++;
	if (*end != '\0')
		goto bad;
	if (v > LLONG_MAX / mult)
		goto range;
	v *= mult;
	if (v < key->min || v > key->max)
		goto range;
	*out = v;
	return 0;

bad:
	snprintf(err, errlen, "%s: '%s' is not a %s", key->name, s,
	    key->kind == CK_SIZE ? "size (a number, optionally with k or m)" :
	    "number");
	return -1;
range:
	snprintf(err, errlen, "%s: %s is out of range (%lld to %lld)",
	    key->name, s, key->min, key->max);
	return -1;
}

/*
 * A list value as written, less the blanks a quoted value keeps at either
 * end: the dump writes it unquoted, and must read back.
 */
static char *
config_list_text(const char *value)
{
	size_t	 len;

	while (isblank((unsigned char)*value))
		value++;
	len = strlen(value);
	while (len > 0 && isblank((unsigned char)value[len - 1]))
		len--;
	return strndup(value, len);
}

/* One numeric address and a port: "127.0.0.1:9100", "[::1]:9100". */
static int
config_hostport(const struct config_key *key, const char *value,
    struct listen_addr *la, char *err, size_t errlen)
{
	struct listen_addr	 a;
	const char		*colon = strrchr(value, ':');
	char			 host[INET6_ADDRSTRLEN + 2], aerr[256], *end;
	size_t			 n, len;
	long			 port;

	if (colon == NULL || colon == value || colon[1] == '\0')
		goto bad;
	len = colon - value;
	if (len >= sizeof(host))
		goto bad;
	memcpy(host, value, len);
	host[len] = '\0';
	/* One address, and an IPv6 one in brackets, or the port is unclear. */
	if (strpbrk(host, " \t,*") != NULL || (memchr(host, ':', len) !=
	    NULL && (host[0] != '[' || host[len - 1] != ']')))
		goto bad;
	if (addr_parse(host, &a, 1, &n, aerr, sizeof(aerr)) == -1)
		goto bad;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end != '\0' || errno != 0 ||
	    port < key->min || port > key->max) {
		snprintf(err, errlen, "%s: port '%s' is not a number from "
		    "%lld to %lld", key->name, colon + 1, key->min, key->max);
		return -1;
	}
	addr_set_port(&a, (int)port);
	*la = a;
	return 0;

bad:
	snprintf(err, errlen, "%s: '%s' is not ADDRESS:PORT (a numeric IPv4 "
	    "address, or an IPv6 one in brackets: 127.0.0.1:9100, "
	    "[::1]:9100)", key->name, value);
	return -1;
}

/*
 * Every '%' of a message starts one of CONFIG_SEQUENCES; anything else is
 * an error (a literal '%' is "%%").
 */
static int
config_message_sequences(const char *value, char *err, size_t errlen)
{
	const char	*c;

	for (c = strchr(value, '%'); c != NULL; c = strchr(c + 2, '%')) {
		if (c[1] == '\0') {
			snprintf(err, errlen, "message: '%%' at the end (a "
			    "literal %% is written %%%%)");
			return -1;
		}
		if (strchr(CONFIG_SEQUENCES, c[1]) != NULL)
			continue;
		if ((unsigned char)c[1] < 0x7f)
			snprintf(err, errlen, "message: unknown sequence "
			    "'%%%c' at offset %zu (known: %%n %%h %%a %%p %%l, "
			    "and %%%% for a literal %%)", c[1],
			    (size_t)(c - value));
		else
			snprintf(err, errlen, "message: unknown sequence: "
			    "'%%' and byte 0x%02x at offset %zu (a literal %% "
			    "is written %%%%)", (unsigned char)c[1],
			    (size_t)(c - value));
		return -1;
	}
	return 0;
}

/* The name %n stands for: the name key, or else the host name. */
const char *
config_name(const struct config *conf)
{
	return conf->name != NULL ? conf->name : conf->host;
}

/*
 * The host name, read at each load so that a reload sees a renamed host;
 * a byte that is not printable ASCII becomes '?', as in name.
 */
static void
config_host(char *host, size_t len)
{
	char	 buf[256];
	size_t	 i;

	if (gethostname(buf, sizeof(buf)) == -1)
		buf[0] = '\0';
	buf[sizeof(buf) - 1] = '\0';
	for (i = 0; buf[i] != '\0' && i + 1 < len; i++)
		host[i] = (unsigned char)buf[i] < 0x20 ||
		    (unsigned char)buf[i] >= 0x7f ? '?' : buf[i];
	host[i] = '\0';
}

/*
 * Lay the message out as conf->reply, with its newline: %n, %h and %% now,
 * the fields of a connection as marks (then conf->reply_per_conn is set).
 * -1, err set, when a connection's reply could pass CONFIG_REPLY_MAX.
 */
static int
config_layout(struct config *conf, char *err, size_t errlen)
{
	const char	*m, *text;
	char		*reply = NULL, mark[1];
	size_t		 len = 0, most, n;
	int		 pass;

	/* Measured, then written. */
	for (pass = 0; pass < 2; pass++) {
		len = most = 0;
		conf->reply_per_conn = 0;
		for (m = conf->message; *m != '\0'; m++) {
			text = m;
			n = 1;
			if (*m == '%') {
				mark[0] = '\0';
				switch (*++m) {
				case 'n':
					text = config_name(conf);
					n = strlen(text);
					break;
				case 'h':
					text = conf->host;
					n = strlen(text);
					break;
				case 'a':
					mark[0] = CONFIG_MARK_ADDR;
					break;
				case 'p':
					mark[0] = CONFIG_MARK_PORT;
					break;
				case 'l':
					mark[0] = CONFIG_MARK_LOCAL;
					break;
				default:	/* '%', as checked */
					break;
				}
				if (mark[0] != '\0') {
					text = mark;
					conf->reply_per_conn = 1;
					most += CONFIG_MARK_TEXT_MAX - 1;
				}
			}
			if (reply != NULL)
				memcpy(reply + len, text, n);
			len += n;
			most += n;
		}
		if (pass == 1)
			break;
		if (most + 1 > CONFIG_REPLY_MAX) {
			snprintf(err, errlen, "message: a reply laid out may "
			    "take %zu bytes, more than %d", most + 1,
			    CONFIG_REPLY_MAX);
			return -1;
		}
		if ((reply = malloc(len + 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	reply[len] = '\n';
	free(conf->reply);
	conf->reply = reply;
	conf->reply_len = len + 1;
	return 0;
}

/*
 * The reply of one connection, conf->reply with its marks laid out: peer
 * is the client (as a PROXY header named it), local the socket's own
 * address.  Into buf, len bytes (CONFIG_REPLY_MAX is always enough);
 * returns its length.  An address comes from inet_ntop(): nothing a
 * client chose but the address itself goes into the reply.
 */
size_t
config_reply(const struct config *conf, const struct sockaddr *peer,
    const struct sockaddr *local, char *buf, size_t len)
{
	const char	*r, *text;
	char		 field[ADDR_STRLEN];
	size_t		 off = 0, n;

	for (r = conf->reply; r < conf->reply + conf->reply_len; r++) {
		switch (*r) {
		case CONFIG_MARK_ADDR:
			text = addr_fmt_host(peer, field, sizeof(field));
			break;
		case CONFIG_MARK_PORT:
			snprintf(field, sizeof(field), "%d",
			    addr_get_port(peer));
			text = field;
			break;
		case CONFIG_MARK_LOCAL:
			text = addr_fmt(local, field, sizeof(field));
			break;
		default:
			if (off < len)
				buf[off++] = *r;
			continue;
		}
		n = strlen(text);
		if (n > len - off)
			n = len - off;
		memcpy(buf + off, text, n);
		off += n;
	}
	return off;
}

static int
config_set(struct config *conf, const struct config_key *key,
    const char *value, char *err, size_t errlen)
{
	char		*p = (char *)conf + key->offset;
	char		 aerr[256];
	const char	*c;
	long long	 n;
	int		 level;
	size_t		 len;

	switch (key->kind) {
	case CK_INT:
	case CK_UINT:
	case CK_SIZE:
	case CK_SECONDS:
		if (config_number(key, value, &n, err, errlen) == -1)
			return -1;
		if (key->kind == CK_INT)
			*(int *)p = n;
		else if (key->kind == CK_SIZE)
			*(size_t *)p = n;
		else
			*(unsigned *)p = n;
		return 0;
	case CK_BIND:
		if (addr_parse(value, conf->binds, ADDR_MAX, &conf->nbinds,
		    aerr, sizeof(aerr)) == -1) {
			snprintf(err, errlen, "bind: %s", aerr);
			return -1;
		}
		free(conf->bind_text);
		if ((conf->bind_text = config_list_text(value)) == NULL)
			goto nomem;
		return 0;
	case CK_PREFIXES:
		if (addr_prefix_parse(value, conf->proxy_trusted,
		    ADDR_PREFIX_MAX, &conf->nproxy_trusted, aerr,
		    sizeof(aerr)) == -1) {
			snprintf(err, errlen, "%s: %s", key->name, aerr);
			return -1;
		}
		free(conf->proxy_trusted_text);
		if ((conf->proxy_trusted_text = config_list_text(value)) ==
		    NULL)
			goto nomem;
		return 0;
	case CK_BOOL:
		if (strcmp(value, "yes") == 0)
			*(int *)p = 1;
		else if (strcmp(value, "no") == 0)
			*(int *)p = 0;
		else {
			snprintf(err, errlen, "%s: '%s' is not yes or no",
			    key->name, value);
			return -1;
		}
		return 0;
	case CK_HOSTPORT:
		return config_hostport(key, value, (struct listen_addr *)p, err,
		    errlen);
	case CK_MESSAGE:
		len = strlen(value);
		if (len < (size_t)key->min || len > (size_t)key->max) {
			snprintf(err, errlen, "message: length %zu is out of "
			    "range (%lld to %lld bytes)", len, key->min,
			    key->max);
			return -1;
		}
		for (c = value; *c != '\0'; c++) {
			if ((unsigned char)*c < 0x20 || *c == 0x7f) {
				snprintf(err, errlen, "message: control "
				    "character 0x%02x at offset %zu is not "
				    "allowed", (unsigned char)*c,
				    (size_t)(c - value));
				return -1;
			}
		}
		if (config_message_sequences(value, err, errlen) == -1)
			return -1;
		/* Laid out once the name is known too: config_layout(). */
		free(conf->message);
		if ((conf->message = strdup(value)) == NULL)
			goto nomem;
		return 0;
	case CK_NAME:
		len = strlen(value);
		if (len < (size_t)key->min || len > (size_t)key->max) {
			snprintf(err, errlen, "%s: length %zu is out of range "
			    "(%lld to %lld bytes)", key->name, len, key->min,
			    key->max);
			return -1;
		}
		for (c = value; *c != '\0'; c++) {
			if ((unsigned char)*c < 0x20 ||
			    (unsigned char)*c >= 0x7f) {
				snprintf(err, errlen, "%s: byte 0x%02x at "
				    "offset %zu is not printable ASCII",
				    key->name, (unsigned char)*c,
				    (size_t)(c - value));
				return -1;
			}
		}
		/* It would read as a template, and is not one. */
		if ((c = strchr(value, '%')) != NULL) {
			snprintf(err, errlen, "%s: '%%' at offset %zu is not "
			    "allowed", key->name, (size_t)(c - value));
			return -1;
		}
		break;
	case CK_LEVEL:
		if ((level = config_level_parse(value)) == -1) {
			snprintf(err, errlen, "log_level: '%s' is not one of "
			    "error, warning, notice, info, debug", value);
			return -1;
		}
		conf->log_level = level;
		return 0;
	case CK_PATH:
		if (value[0] != '/') {
			snprintf(err, errlen, "%s: '%s' is not an absolute "
			    "path", key->name, value);
			return -1;
		}
		if (strlen(value) > CONFIG_PATH_MAX) {
			snprintf(err, errlen, "%s: path longer than %d bytes",
			    key->name, CONFIG_PATH_MAX);
			return -1;
		}
		break;
	case CK_USER:
		if (getpwnam(value) == NULL) {
			snprintf(err, errlen, "user: no such user '%s'", value);
			return -1;
		}
		break;
	}
	/* The string kinds. */
	free(*(char **)p);
	if ((*(char **)p = strdup(value)) == NULL)
		goto nomem;
	return 0;

nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static const struct config_key *
config_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

struct config *
config_default(void)
{
	struct config	*conf;
	char		 err[256];
	size_t		 i;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return NULL;
	conf->refs = 1;
	for (i = 0; i < NKEYS; i++) {
		if (config_keys[i].def == NULL)
			continue;
		if (config_set(conf, &config_keys[i], config_keys[i].def, err,
		    sizeof(err)) == -1) {
			config_free(conf);
			return NULL;
		}
	}
	config_host(conf->host, sizeof(conf->host));
	if (config_layout(conf, err, sizeof(err)) == -1) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

void
config_free(struct config *conf)
{
	if (conf == NULL)
		return;
	free(conf->path);
	free(conf->bind_text);
	free(conf->message);
	free(conf->name);
	free(conf->reply);
	free(conf->pidfile);
	free(conf->user);
	free(conf->proxy_trusted_text);
	free(conf);
}

/*
 * The limits of conf, as many as fit in n, in the order of config_keys[]:
 * each key marked as one, its unit from its kind.  Returns how many.
 */
size_t
config_limits(const struct config *conf, struct config_limit *out, size_t n)
{
	const struct config_key	*k;
	const char		*field;
	unsigned		 u;
	size_t			 i, count = 0, z;

	for (i = 0; i < NKEYS && count < n; i++) {
		k = &config_keys[i];
		if (!k->limit)
			continue;
		field = (const char *)conf + k->offset;
		out[count].name = k->name;
		out[count].unit = NULL;
		switch (k->kind) {
		case CK_SIZE:
			memcpy(&z, field, sizeof(z));
			out[count].value = z;
			out[count].unit = "bytes";
			break;
		case CK_SECONDS:
			out[count].unit = "seconds";
			/* FALLTHROUGH */
		default:	/* CK_UINT */
			memcpy(&u, field, sizeof(u));
			out[count].value = u;
			break;
		}
		count++;
	}
	return count;
}

/* The server and every worker hold a reference to the config they use. */
struct config *
config_ref(struct config *conf)
{
	__atomic_add_fetch(&conf->refs, 1, __ATOMIC_RELAXED);
	return conf;
}

void
config_unref(struct config *conf)
{
	if (conf != NULL &&
	    __atomic_sub_fetch(&conf->refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(conf);
}

static char *
config_trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * The quote that closes the quoted value starting after s: the first one
 * after which the line is blank or a comment.  NULL if none does.
 */
static char *
config_closing_quote(char *s)
{
	char	*q, *rest;

	for (q = strchr(s, '"'); q != NULL; q = strchr(q + 1, '"')) {
		rest = q + 1 + strspn(q + 1, " \t\r\n\v\f");
		if (*rest == '\0' || *rest == '#')
			return q;
	}
	return NULL;
}

/*
 * Split one line into key and value.  Returns 0 for a blank or comment line,
 * 1 for a setting, -1 with err set for a malformed line.  '#' starts a
 * comment wherever it stands outside a quoted value, also before the '='.
 * An unquoted value ends at '#'.  A value in double quotes keeps its blanks
 * and may hold '#' and quotes: it ends at the first quote after which the
 * line is blank or a comment, so a comment may hold quotes too.
 */
static int
config_split(char *line, char **key, char **value, char *err, size_t errlen)
{
	char	*eq, *hash, *v, *q;

	eq = line + strcspn(line, "=#");
	if (*eq != '=') {
		/* A comment or the end of the line before any '='. */
		hash = *eq == '#' ? eq : NULL;
		*eq = '\0';
		if (*config_trim(line) == '\0')
			return 0;
		snprintf(err, errlen, "expected 'key = value'%s",
		    hash != NULL && strchr(hash + 1, '=') != NULL ?
		    " (the '=' is in a comment)" : "");
		return -1;
	}
	*eq = '\0';
	*key = config_trim(line);
	if (**key == '\0') {
		snprintf(err, errlen, "missing key before '='");
		return -1;
	}
	v = eq + 1;
	while (isspace((unsigned char)*v))
		v++;
	if (*v == '"') {
		if ((q = config_closing_quote(v + 1)) == NULL) {
			snprintf(err, errlen, "%s: %s", *key,
			    strchr(v + 1, '"') != NULL ?
			    "text after the closing quote" :
			    "unterminated quote");
			return -1;
		}
		*q = '\0';
		*value = v + 1;
		return 1;
	}
	if ((hash = strchr(v, '#')) != NULL)
		*hash = '\0';
	v = config_trim(v);
	if (*v == '\0') {
		snprintf(err, errlen, "%s: missing value", *key);
		return -1;
	}
	*value = v;
	return 1;
}

/*
 * Where a key got its value: a line of the file, or an option.  Errors
 * about the key name that place, as "file:line" or "--key=value".
 */
struct config_origin {
	size_t				 line;	/* 0: not in the file */
	const struct config_override	*opt;	/* set: an option won */
};

static void
config_where(char *buf, size_t len, const char *name,
    const struct config_origin *o)
{
	if (o->opt != NULL)
		snprintf(buf, len, "--%s=%s", o->opt->key, o->opt->value);
	else
		snprintf(buf, len, "%s:%zu", name, o->line);
}

/*
 * Where a load's errors go: every one is counted, the first
 * CONFIG_ERRORS_MAX are written, and the rest summed up at the end, so that
 * a file of a million bad lines costs neither unbounded memory nor output.
 */
struct config_errors {
	FILE	*ef;
	int	 n;
};

static void HELLOD_PRINTF(2, 3)
config_error(struct config_errors *e, const char *fmt, ...)
{
	va_list	 ap;

	if (++e->n > CONFIG_ERRORS_MAX)
		return;
	va_start(ap, fmt);
	vfprintf(e->ef, fmt, ap);
	va_end(ap);
	fputc('\n', e->ef);
}

/*
 * A side endpoint (metrics_listen, agent_listen; key its row) is not
 * where clients are answered, else -t passes a config whose start fails
 * on the second bind.  Port 0 asks for a port of the kernel's choosing,
 * which no other socket has.
 */
static void
config_check_side(const struct config *conf, const struct config_key *key,
    const struct config_origin *origin, const char *name,
    struct config_errors *e)
{
	const struct listen_addr *la;
	struct listen_addr	 a;
	char			 where[CONFIG_LINE_MAX], addr[ADDR_STRLEN];
	size_t			 i;

	la = (const struct listen_addr *)((const char *)conf + key->offset);
	if (la->len == 0 || addr_get_port((const struct sockaddr *)&la->ss) ==
	    0)
		return;
	addr_fmt((const struct sockaddr *)&la->ss, addr, sizeof(addr));
	config_where(where, sizeof(where), name, &origin[key - config_keys]);
	for (i = 0; conf->port != 0 && i < conf->nbinds; i++) {
		a = conf->binds[i];
		addr_set_port(&a, conf->port);
		if (!addr_overlap(&a, la))
			continue;
		config_error(e, "%s: %s: %s is where hellod answers clients "
		    "(port = %d, bind = %s)", where, key->name, addr,
		    conf->port, conf->bind_text);
		return;
	}
	/* The agent's is checked against the metrics endpoint's. */
	if (la != &conf->agent_listen || conf->metrics_listen.len == 0 ||
	    !addr_overlap(la, &conf->metrics_listen))
		return;
	config_error(e, "%s: %s: %s is the metrics endpoint's "
	    "(metrics_listen)", where, key->name, addr);
}

/*
 * What one key alone cannot say: proxy_protocol and proxy_trusted go
 * together, and metrics_listen and agent_listen are neither where clients
 * are answered nor each other, whether the file or an option set them.  A
 * key whose own value was bad has been reported already and is not
 * reported again.
 */
static void
config_check(const struct config *conf, const struct config_origin *origin,
    const char *name, struct config_errors *e)
{
	char			 where[CONFIG_LINE_MAX];
	size_t			 proto, trusted;

	proto = config_find("proxy_protocol") - config_keys;
	trusted = config_find("proxy_trusted") - config_keys;
	if (conf->proxy_protocol && origin[trusted].line == 0 &&
	    origin[trusted].opt == NULL) {
		config_where(where, sizeof(where), name, &origin[proto]);
		config_error(e, "%s: proxy_protocol = yes needs proxy_trusted, "
		    "the addresses of the load balancers", where);
	}
	if (conf->proxy_trusted_text != NULL && !conf->proxy_protocol) {
		config_where(where, sizeof(where), name, &origin[trusted]);
		config_error(e, "%s: proxy_trusted is set but proxy_protocol "
		    "is not yes", where);
	}
	config_check_side(conf, config_find("metrics_listen"), origin, name,
	    e);
	config_check_side(conf, config_find("agent_listen"), origin, name, e);
}

/* "port, bind, ...": every key, for an error and for the usage. */
void
config_known_keys(char *buf, size_t len)
{
	size_t	 i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < NKEYS && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
		    config_keys[i].name);
}

enum config_read {
	CONFIG_READ_LINE,
	CONFIG_READ_LONG,	/* over CONFIG_LINE_MAX: the rest thrown away */
	CONFIG_READ_EOF,
	CONFIG_READ_ERROR,	/* errno says why */
};

/*
 * Read one line into buf, which holds CONFIG_LINE_MAX + 2 bytes, less its LF
 * or CRLF and NUL-terminated; *len is its length (a NUL byte in it makes that
 * more than strlen).  Nothing is allocated: of a longer line, what does not
 * fit is read and thrown away, so that the next line is found.  A read error
 * is reported as one, never taken for the end of the file.
 */
static enum config_read
config_read_line(FILE *fp, char *buf, size_t *len)
{
	size_t	 n = 0;
	int	 c, over = 0;

	/* The file is this thread's alone: no locking per byte. */
	while ((c = getc_unlocked(fp)) != EOF && c != '\n') {
		if (n <= CONFIG_LINE_MAX)	/* one more: a CR may go */
			buf[n++] = (char)c;
		else
			over = 1;
	}
	if (c == EOF && ferror(fp))
		return CONFIG_READ_ERROR;
	if (c == EOF && n == 0)
		return CONFIG_READ_EOF;
	if (!over && n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return over || n > CONFIG_LINE_MAX ? CONFIG_READ_LONG :
	    CONFIG_READ_LINE;
}

/*
 * The file's lines over conf; origin[] gets the line that set each key.
 * Each error goes to e as "name:line: ...".
 */
static void
config_read_file(struct config *conf, FILE *fp, const char *name,
    struct config_origin *origin, struct config_errors *e)
{
	const struct config_key	*k;
	enum config_read	 rd;
	char			 line[CONFIG_LINE_MAX + 2], *key, *value;
	char			 err[512], known[512];
	size_t			 lineno = 0, len;
	int			 r;

	while ((rd = config_read_line(fp, line, &len)) != CONFIG_READ_EOF) {
		lineno++;
		if (rd == CONFIG_READ_ERROR) {
			config_error(e, "%s:%zu: read error: %s", name, lineno,
			    strerror(errno));
			break;
		}
		if (rd == CONFIG_READ_LONG) {
			config_error(e, "%s:%zu: line longer than %d bytes",
			    name, lineno, CONFIG_LINE_MAX);
			continue;
		}
		if (memchr(line, '\0', len) != NULL) {
			config_error(e, "%s:%zu: NUL byte in line", name,
			    lineno);
			continue;
		}
		r = config_split(line, &key, &value, err, sizeof(err));
		if (r == 0)
			continue;
		if (r == -1) {
			config_error(e, "%s:%zu: %s", name, lineno, err);
			continue;
		}
		if ((k = config_find(key)) == NULL) {
			config_known_keys(known, sizeof(known));
			config_error(e, "%s:%zu: unknown key '%s' (known "
			    "keys: %s)", name, lineno, key, known);
			continue;
		}
		if (origin[k - config_keys].line != 0) {
			config_error(e, "%s:%zu: duplicate key '%s' (first "
			    "set on line %zu)", name, lineno, key,
			    origin[k - config_keys].line);
			continue;
		}
		origin[k - config_keys].line = lineno;
		if (config_set(conf, k, value, err, sizeof(err)) == -1)
			config_error(e, "%s:%zu: %s", name, lineno, err);
	}
}

/*
 * The options over conf, checked as the file's lines are but each error
 * named by its option: "--port=70000: port: 70000 is out of range (0 to
 * 65535)".  A key may be given once; the file's value of it is replaced.
 * The value is taken as it is: the shell did the quoting.
 */
static void
config_apply(struct config *conf, const struct config_overrides *ov,
    struct config_origin *origin, struct config_errors *e)
{
	const struct config_override	*o;
	const struct config_key		*k;
	const struct config_override	*first[NKEYS] = { NULL };
	char				 err[512], known[512];
	size_t				 i;

	for (i = 0; ov != NULL && i < ov->n; i++) {
		o = &ov->v[i];
		if ((k = config_find(o->key)) == NULL) {
			config_known_keys(known, sizeof(known));
			config_error(e, "--%s=%s: unknown key '%s' (known "
			    "keys: %s)", o->key, o->value, o->key, known);
			continue;
		}
		if (first[k - config_keys] != NULL) {
			config_error(e, "--%s=%s: duplicate key '%s' (first "
			    "set by --%s=%s)", o->key, o->value, o->key,
			    first[k - config_keys]->key,
			    first[k - config_keys]->value);
			continue;
		}
		first[k - config_keys] = o;
		origin[k - config_keys].opt = o;
		if (o->value[0] == '\0')
			config_error(e, "--%s=: %s: missing value", o->key,
			    o->key);
		else if (config_set(conf, k, o->value, err, sizeof(err)) == -1)
			config_error(e, "--%s=%s: %s", o->key, o->value, err);
	}
}

/*
 * The defaults, the file over them when fp is not NULL, the options over
 * both, then the checks across keys.  Every error is reported, one per
 * line in *errors (the caller frees it); then NULL is returned.
 */
static struct config *
config_build(FILE *fp, const char *name, const struct config_overrides *ov,
    char **errors)
{
	struct config		*conf;
	struct config_origin	 origin[NKEYS];
	struct config_errors	 e = { NULL, 0 };
	char			 where[CONFIG_LINE_MAX], err[256];
	size_t			 errlen = 0;

	*errors = NULL;
	memset(origin, 0, sizeof(origin));
	if ((e.ef = open_memstream(errors, &errlen)) == NULL)
		return NULL;
	if ((conf = config_default()) == NULL) {
		config_error(&e, "%s: out of memory", name);
		goto done;
	}
	if (fp != NULL)
		config_read_file(conf, fp, name, origin, &e);
	config_apply(conf, ov, origin, &e);
	config_check(conf, origin, name, &e);
	/* The message and the name are known now. */
	if (config_layout(conf, err, sizeof(err)) == -1) {
		config_where(where, sizeof(where), name,
		    &origin[config_find("message") - config_keys]);
		config_error(&e, "%s: %s", where, err);
	}
	if (e.n == 0 && fp != NULL && (conf->path = strdup(name)) == NULL)
		config_error(&e, "%s: out of memory", name);
done:
	if (e.n > CONFIG_ERRORS_MAX)
		fprintf(e.ef, "%s: ... and %d more error%s\n", name,
		    e.n - CONFIG_ERRORS_MAX,
		    e.n - CONFIG_ERRORS_MAX == 1 ? "" : "s");
	fclose(e.ef);
	if (e.n != 0) {
		config_free(conf);
		return NULL;
	}
	free(*errors);
	*errors = NULL;
	return conf;
}

/*
 * Parse a whole file.  Every error is reported, as "name:line: message" lines
 * in *errors (the caller frees it); then NULL is returned and nothing is
 * changed.
 */
struct config *
config_parse(FILE *fp, const char *name, char **errors)
{
	return config_build(fp, name, NULL, errors);
}

/*
 * Load a file, then the options (ov, NULL for none) over it.  A missing
 * file is an error only when must_exist is set; otherwise the options go
 * over the built-in defaults, and path is NULL.
 */
struct config *
config_load(const char *path, int must_exist,
    const struct config_overrides *ov, char **errors)
{
	struct config	*conf;
	struct stat	 st;
	FILE		*fp;
	int		 fd;

	*errors = NULL;
	/* Not blocking on a FIFO: what it is is looked at first. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && !must_exist)
			return config_build(NULL, path, ov, errors);
		goto fail;
	}
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		if (asprintf(errors, "%s: not a regular file\n", path) == -1)
			*errors = NULL;
		return NULL;
	}
	if (fcntl(fd, F_SETFL, 0) == -1 || (fp = fdopen(fd, "r")) == NULL)
		goto fail;
	conf = config_build(fp, path, ov, errors);
	fclose(fp);
	return conf;

fail:
	if (asprintf(errors, "%s: %s\n", path, strerror(errno)) == -1)
		*errors = NULL;
	if (fd != -1)
		close(fd);
	return NULL;
}

/*
 * One "--KEY=VALUE" option (value NULL) or "--KEY VALUE" (key and value),
 * less its "--", kept for every load.  Nothing is checked here: the key and
 * the value are checked at each load, with the file.  -1: out of memory.
 */
int
config_override_add(struct config_overrides *ov, const char *key,
    const char *value)
{
	struct config_override	*v, o;
	const char		*eq;

	if (value == NULL && (eq = strchr(key, '=')) != NULL) {
		o.key = strndup(key, eq - key);
		o.value = strdup(eq + 1);
	} else {
		o.key = strdup(key);
		o.value = strdup(value != NULL ? value : "");
	}
	if (o.key == NULL || o.value == NULL ||
	    (v = reallocarray(ov->v, ov->n + 1, sizeof(*v))) == NULL) {
		free(o.key);
		free(o.value);
		return -1;
	}
	ov->v = v;
	ov->v[ov->n++] = o;
	return 0;
}

void
config_overrides_clear(struct config_overrides *ov)
{
	size_t	 i;

	for (i = 0; i < ov->n; i++) {
		free(ov->v[i].key);
		free(ov->v[i].value);
	}
	free(ov->v);
	ov->v = NULL;
	ov->n = 0;
}

/* The option that set this key, or NULL. */
static const struct config_override *
config_override_find(const struct config_overrides *ov, const char *name)
{
	size_t	 i;

	for (i = 0; ov != NULL && i < ov->n; i++) {
		if (strcmp(ov->v[i].key, name) == 0)
			return &ov->v[i];
	}
	return NULL;
}

/*
 * The effective configuration, in the file's own syntax; a key an option
 * set (ov, NULL for none) says so in a comment after its value.
 */
void
config_dump(const struct config *conf, const struct config_overrides *ov,
    FILE *fp)
{
	const struct config_key	*k;
	const struct listen_addr *la;
	const char		*p;
	char			 addr[ADDR_STRLEN];
	size_t			 i;

	fprintf(fp, "# hellod effective configuration (%s", conf->path !=
	    NULL ? conf->path : "built-in defaults");
	if (ov != NULL && ov->n > 0)
		fprintf(fp, ", and the command line");
	fprintf(fp, ")\n");
	for (i = 0; i < NKEYS; i++) {
		k = &config_keys[i];
		p = (const char *)conf + k->offset;
		switch (k->kind) {
		case CK_INT:
			fprintf(fp, "%s = %d", k->name, *(const int *)p);
			break;
		case CK_UINT:
		case CK_SECONDS:
			fprintf(fp, "%s = %u", k->name, *(const unsigned *)p);
			break;
		case CK_SIZE:
			fprintf(fp, "%s = %zu", k->name, *(const size_t *)p);
			break;
		case CK_BIND:
			fprintf(fp, "%s = %s", k->name, conf->bind_text);
			break;
		case CK_HOSTPORT:
			la = (const struct listen_addr *)p;
			if (la->len == 0)
				fprintf(fp, "#%s =", k->name);
			else
				fprintf(fp, "%s = %s", k->name, addr_fmt(
				    (const struct sockaddr *)&la->ss, addr,
				    sizeof(addr)));
			break;
		case CK_MESSAGE:	/* as written, a template */
			fprintf(fp, "%s = \"%s\"", k->name, conf->message);
			break;
		case CK_NAME:
			if (conf->name == NULL)
				fprintf(fp, "#%s =\t# the host name: %s",
				    k->name, conf->host);
			else
				fprintf(fp, "%s = \"%s\"", k->name, conf->name);
			break;
		case CK_LEVEL:
			fprintf(fp, "%s = %s", k->name,
			    config_level_name(conf->log_level));
			break;
		case CK_BOOL:
			fprintf(fp, "%s = %s", k->name,
			    *(const int *)p ? "yes" : "no");
			break;
		case CK_PREFIXES:
			if (conf->proxy_trusted_text == NULL)
				fprintf(fp, "#%s =", k->name);
			else
				fprintf(fp, "%s = %s", k->name,
				    conf->proxy_trusted_text);
			break;
		case CK_PATH:
		case CK_USER:
			if (*(char *const *)p == NULL)
				fprintf(fp, "#%s =", k->name);
			else
				fprintf(fp, "%s = \"%s\"", k->name,
				    *(char *const *)p);
			break;
		}
		if (config_override_find(ov, k->name) != NULL)
			fprintf(fp, "\t# --%s", k->name);
		fputc('\n', fp);
	}
}

int
config_same_listen(const struct config *a, const struct config *b)
{
	size_t	 i;

	if (a->port != b->port || a->nbinds != b->nbinds)
		return 0;
	for (i = 0; i < a->nbinds; i++) {
		if (!addr_equal(&a->binds[i], &b->binds[i]) ||
		    a->binds[i].optional != b->binds[i].optional)
			return 0;
	}
	return 1;
}
