/*
 * Listening addresses: the "bind" value of the config, and printing
 * socket addresses for the log.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "hellod.h"

#define ADDR_SEPARATORS	" \t,"

static int
addr_parse_one(const char *tok, struct listen_addr *la)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&la->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&la->ss;
	char			 buf[INET6_ADDRSTRLEN + 2];
	size_t			 len = strlen(tok);

	memset(la, 0, sizeof(*la));
	if (len >= sizeof(buf))
		return -1;
	/* "[::1]" is how people write IPv6 next to a port; take it too. */
	if (len >= 2 && tok[0] == '[' && tok[len - 1] == ']') {
		memcpy(buf, tok + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		la->len = sizeof(*sin6);
		return 0;
	}
	if (inet_pton(AF_INET, tok, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		la->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, tok, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		la->len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/*
 * Parse a list of numeric addresses separated by blanks or commas.  "*"
 * stands for every IPv4 and every IPv6 address; its IPv6 half is optional so
 * that a host without IPv6 still starts.
 */
int
addr_parse(const char *text, struct listen_addr *out, size_t max, size_t *n,
    char *err, size_t errlen)
{
	char	 copy[1024], *tok, *last;
	size_t	 i, j, count = 0;

	if (strlen(text) >= sizeof(copy)) {
		snprintf(err, errlen, "address list too long");
		return -1;
	}
	snprintf(copy, sizeof(copy), "%s", text);
	for (tok = strtok_r(copy, ADDR_SEPARATORS, &last); tok != NULL;
	    tok = strtok_r(NULL, ADDR_SEPARATORS, &last)) {
		if (strcmp(tok, "*") == 0) {
			if (count + 2 > max)
				goto toomany;
			addr_parse_one("0.0.0.0", &out[count++]);
			addr_parse_one("::", &out[count]);
			out[count++].optional = 1;
		} else {
			if (count + 1 > max)
				goto toomany;
			if (addr_parse_one(tok, &out[count]) == -1) {
				snprintf(err, errlen, "'%s' is not a numeric "
				    "IPv4 or IPv6 address (or *)", tok);
				return -1;
			}
			count++;
		}
		/* Every pair: "*" adds two, either may be the repeat. */
		for (i = 0; i + 1 < count; i++) {
			for (j = i + 1; j < count; j++) {
				if (!addr_equal(&out[i], &out[j]))
					continue;
				snprintf(err, errlen, "'%s' is listed twice",
				    tok);
				return -1;
			}
		}
	}
	if (count == 0) {
		snprintf(err, errlen, "no address given");
		return -1;
	}
	*n = count;
	return 0;

toomany:
	snprintf(err, errlen, "too many addresses (at most %zu)", max);
	return -1;
}

void
addr_set_port(struct listen_addr *la, int port)
{
	if (la->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&la->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&la->ss)->sin6_port = htons(port);
}

int
addr_get_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

/* "127.0.0.1:5000", "[::1]:5000". */
const char *
addr_fmt(const struct sockaddr *sa, char *buf, size_t len)
{
	char	 host[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    host, sizeof(host));
		snprintf(buf, len, "%s:%d", host, addr_get_port(sa));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, host,
		    sizeof(host));
		snprintf(buf, len, "[%s]:%d", host, addr_get_port(sa));
		break;
	default:
		snprintf(buf, len, "(family %d)", sa->sa_family);
		break;
	}
	return buf;
}

int
addr_equal(const struct listen_addr *a, const struct listen_addr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}
