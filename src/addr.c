/* SPDX-License-Identifier: ISC */
/*
 * Addresses: the "bind" value of the config and printing socket addresses
 * for the log; the prefixes of proxy_trusted and the per-source key of
 * max_connections_per_source.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
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

/* The address alone, "127.0.0.1" or "::1": a message's %a. */
const char *
addr_fmt_host(const struct sockaddr *sa, char *buf, size_t len)
{
	const void	*a;

	switch (sa->sa_family) {
	case AF_INET:
		a = &((const struct sockaddr_in *)sa)->sin_addr;
		break;
	case AF_INET6:
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		break;
	default:
		snprintf(buf, len, "(family %d)", sa->sa_family);
		return buf;
	}
	if (inet_ntop(sa->sa_family, a, buf, len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

int
addr_equal(const struct listen_addr *a, const struct listen_addr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/*
 * Whether two listening sockets would fight over their port: one family,
 * one port, and the same address or the wildcard on either side.  IPv6
 * sockets are IPV6_V6ONLY here, so "::" does not take IPv4's port.
 */
int
addr_overlap(const struct listen_addr *a, const struct listen_addr *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss.ss_family != b->ss.ss_family ||
	    addr_get_port((const struct sockaddr *)&a->ss) !=
	    addr_get_port((const struct sockaddr *)&b->ss))
		return 0;
	switch (a->ss.ss_family) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)&a->ss;
		b4 = (const struct sockaddr_in *)&b->ss;
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
		    a4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		    b4->sin_addr.s_addr == htonl(INADDR_ANY);
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)&a->ss;
		b6 = (const struct sockaddr_in6 *)&b->ss;
		return IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr) ||
		    IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ||
		    IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr);
	}
	return 0;
}

/* The token as an address, IPv6 in brackets or not; its family or -1. */
static int
addr_prefix_host(const char *tok, size_t len, uint8_t *out)
{
	char	 buf[INET6_ADDRSTRLEN];

	if (len >= 2 && tok[0] == '[' && tok[len - 1] == ']') {
		tok++;
		len -= 2;
		if (len >= sizeof(buf))
			return -1;
		memcpy(buf, tok, len);
		buf[len] = '\0';
		return inet_pton(AF_INET6, buf, out) == 1 ? AF_INET6 : -1;
	}
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, tok, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, buf, out) == 1)
		return AF_INET6;
	return -1;
}

/* Does the address (4 or 16 bytes) lie inside the prefix? */
static int
addr_prefix_contains(const struct addr_prefix *p, const uint8_t *a)
{
	unsigned	 full = p->bits / 8, rest = p->bits % 8;
	uint8_t		 mask;

	if (memcmp(p->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (p->addr[full] & mask) == (a[full] & mask);
}

/* Host bits zero?  Then the prefix is a network as written. */
static int
addr_prefix_clean(const struct addr_prefix *p, size_t alen)
{
	unsigned	 i;

	for (i = p->bits; i < alen * 8; i++) {
		if (p->addr[i / 8] & (0x80 >> (i % 8)))
			return 0;
	}
	return 1;
}

/* An IPv4-mapped IPv6 prefix of /96 or more becomes an IPv4 one. */
static void
addr_prefix_unmap(struct addr_prefix *p)
{
	if (p->family != AF_INET6 || p->bits < 96 ||
	    !IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)p->addr))
		return;
	p->family = AF_INET;
	p->bits -= 96;
	memmove(p->addr, p->addr + 12, 4);
	memset(p->addr + 4, 0, sizeof(p->addr) - 4);
}

static int
addr_prefix_parse_one(const char *tok, size_t len, struct addr_prefix *p,
    char *err, size_t errlen)
{
	struct in6_addr	 a;
	const char	*slash;
	char		 host[INET6_ADDRSTRLEN];
	size_t		 hlen, alen, i;
	unsigned	 max, bits;
	int		 family;

	memset(p, 0, sizeof(*p));
	slash = memchr(tok, '/', len);
	hlen = slash != NULL ? (size_t)(slash - tok) : len;
	if ((family = addr_prefix_host(tok, hlen, p->addr)) == -1) {
		snprintf(err, errlen, "'%.*s' is not a numeric IPv4 or IPv6 "
		    "address or ADDR/LEN prefix", (int)len, tok);
		return -1;
	}
	p->family = family;
	alen = family == AF_INET ? 4 : 16;
	max = alen * 8;
	bits = max;
	if (slash != NULL) {
		/* Up to three digits, no sign, no blanks. */
		bits = 0;
		for (i = hlen + 1; i < len; i++) {
			if (tok[i] < '0' || tok[i] > '9' || i - hlen > 3)
				break;
			bits = bits * 10 + (tok[i] - '0');
		}
		if (i != len || i == hlen + 1 || bits > max) {
			snprintf(err, errlen, "'%.*s': the prefix length is "
			    "not 0 to %u", (int)len, tok, max);
			return -1;
		}
	}
	p->bits = bits;
	if (!addr_prefix_clean(p, alen)) {
		memcpy(&a, p->addr, sizeof(a));
		for (i = bits; i < max; i++)
			((uint8_t *)&a)[i / 8] &= ~(0x80 >> (i % 8));
		inet_ntop(family, &a, host, sizeof(host));
		snprintf(err, errlen, "'%.*s' has bits set past the prefix "
		    "length (the network is %s/%u)", (int)len, tok, host,
		    bits);
		return -1;
	}
	addr_prefix_unmap(p);
	return 0;
}

/*
 * Parse a list of prefixes, ADDR or ADDR/LEN, separated by blanks or
 * commas as in "bind".  A prefix with host bits set ("10.0.0.1/8") is an
 * error, not silently widened: it is usually a typo for a narrower one.
 */
int
addr_prefix_parse(const char *text, struct addr_prefix *out, size_t max,
    size_t *n, char *err, size_t errlen)
{
	struct addr_prefix	 p;
	const char		*tok = text;
	size_t			 len, i, count = 0;

	for (;;) {
		tok += strspn(tok, ADDR_SEPARATORS);
		if (*tok == '\0')
			break;
		len = strcspn(tok, ADDR_SEPARATORS);
		if (addr_prefix_parse_one(tok, len, &p, err, errlen) == -1)
			return -1;
		for (i = 0; i < count; i++) {
			if (out[i].family == p.family &&
			    out[i].bits == p.bits &&
			    memcmp(out[i].addr, p.addr, sizeof(p.addr)) == 0) {
				snprintf(err, errlen, "'%.*s' is listed twice",
				    (int)len, tok);
				return -1;
			}
		}
		if (count == max) {
			snprintf(err, errlen, "too many prefixes (at most %zu)",
			    max);
			return -1;
		}
		out[count++] = p;
		tok += len;
	}
	if (count == 0) {
		snprintf(err, errlen, "no address given");
		return -1;
	}
	*n = count;
	return 0;
}

/* Is the address inside any of the n prefixes? */
int
addr_prefix_match(const struct addr_prefix *set, size_t n,
    const struct sockaddr *sa)
{
	const uint8_t	*a4 = NULL, *a6 = NULL;
	size_t		 i;

	if (sa->sa_family == AF_INET)
		a4 = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6) {
		a6 = (const uint8_t *)
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a6))
			a4 = a6 + 12;
	}
	for (i = 0; i < n; i++) {
		if (set[i].family == AF_INET && a4 != NULL &&
		    addr_prefix_contains(&set[i], a4))
			return 1;
		if (set[i].family == AF_INET6 && a6 != NULL &&
		    addr_prefix_contains(&set[i], a6))
			return 1;
	}
	return 0;
}

void
addr_source_key(const struct sockaddr *sa, struct addr_source *key)
{
	const struct in6_addr	*a6;

	memset(key, 0, sizeof(*key));
	if (sa->sa_family == AF_INET) {
		key->family = AF_INET;
		memcpy(key->addr, &((const struct sockaddr_in *)sa)->sin_addr,
		    4);
	} else if (sa->sa_family == AF_INET6) {
		a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			key->family = AF_INET;
			memcpy(key->addr, (const uint8_t *)a6 + 12, 4);
		} else {
			key->family = AF_INET6;
			memcpy(key->addr, a6, ADDR_SOURCE_V6_BITS / 8);
		}
	} else
		key->family = AF_UNSPEC;
}

int
addr_source_equal(const struct addr_source *a, const struct addr_source *b)
{
	return a->family == b->family &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/*
 * For a table of sources: a seed chosen at random when the table is made
 * keeps a client from picking addresses that all land in one bucket.  Not
 * a cryptographic hash; the table should still bound its chains.
 */
uint32_t
addr_source_hash(const struct addr_source *key, uint32_t seed)
{
	uint64_t	 x = 0;
	size_t		 i;

	for (i = 0; i < sizeof(key->addr); i++)
		x = x << 8 | key->addr[i];
	x ^= ((uint64_t)seed << 32 | seed) * 0x9e3779b97f4a7c15ULL;
	x += key->family;
	/* splitmix64's finaliser */
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (uint32_t)(x ^ (x >> 32));
}

/* "192.0.2.1", "2001:db8:1:2::/64"; len of ADDR_STRLEN is enough. */
const char *
addr_source_fmt(const struct addr_source *key, char *buf, size_t len)
{
	uint8_t	 a6[16] = { 0 };
	char	 host[INET6_ADDRSTRLEN];

	switch (key->family) {
	case AF_INET:
		inet_ntop(AF_INET, key->addr, buf, len);
		break;
	case AF_INET6:
		memcpy(a6, key->addr, sizeof(key->addr));
		inet_ntop(AF_INET6, a6, host, sizeof(host));
		snprintf(buf, len, "%s/%d", host, ADDR_SOURCE_V6_BITS);
		break;
	default:
		snprintf(buf, len, "(no address)");
		break;
	}
	return buf;
}
