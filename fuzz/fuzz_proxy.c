/* SPDX-License-Identifier: ISC */
/*
 * fuzz_proxy.c: the PROXY protocol header parser on arbitrary bytes.
 *
 * The input is the byte stream a connection starts with.  It is parsed at
 * every prefix length up to one past PROXY_HEADER_MAX (the parser never
 * looks further) and at its whole length, each time from a buffer that
 * ends where the prefix does, so that a read past it is caught.  Then:
 *  - the answer is MORE up to some length and the same from there on:
 *    status, *used, reason and result, whatever follows;
 *  - MORE never at PROXY_HEADER_MAX bytes or more;
 *  - an OK header is decided by its own last byte, and is what it claims:
 *    a v1 line ends at its first CRLF, within 107 bytes, and a TCP4 or
 *    TCP6 line says exactly the addresses and ports of the result (the
 *    IPv4 text and the ports are canonical, so printing the result gives
 *    the line back); a v2 header is 16 bytes plus its length field, with
 *    the command and family bytes that the result reflects;
 *  - the socket's own addresses (AF_UNSPEC) leave src and dst zeroed.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hellod.h"
#include "fuzz.h"

#define FUZZ_V2_SIG	"\r\n\r\n\0\r\nQUIT\n"

static __attribute__((__noreturn__)) void
fuzz_fail(const char *what, size_t n, const struct proxy_result *r)
{
	fprintf(stderr, "proxy: %s (prefix of %zu bytes, reason %s)\n", what,
	    n, r->reason != NULL ? r->reason : "none");
	abort();
}

static enum proxy_status
fuzz_parse(uint8_t *end, const uint8_t *data, size_t n,
    struct proxy_result *r, size_t *used)
{
	memcpy(end - n, data, n);
	*used = (size_t)-1;
	return proxy_parse(end - n, n, r, used);
}

/*
 * proxy_parse() zeroes the whole result first, so every byte of an
 * address, padding included, is defined: compared as bytes.
 */
static int
fuzz_same_bytes(const void *a, const void *b, size_t len)
{
	return memcmp(a, b, len) == 0;
}

static int
fuzz_same(const struct proxy_result *a, const struct proxy_result *b)
{
	return a->version == b->version && a->family == b->family &&
	    a->len == b->len &&
	    fuzz_same_bytes(&a->src, &b->src, sizeof(a->src)) &&
	    fuzz_same_bytes(&a->dst, &b->dst, sizeof(a->dst)) &&
	    a->reason == b->reason;
}

/* A v1 TCP4 or TCP6 line, printed from the result. */
static void
fuzz_v1_print(const struct proxy_result *r, char *buf, size_t len)
{
	char	 src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	if (r->family == AF_INET) {
		inet_ntop(AF_INET, &r->src.sin.sin_addr, src, sizeof(src));
		inet_ntop(AF_INET, &r->dst.sin.sin_addr, dst, sizeof(dst));
		snprintf(buf, len, "PROXY TCP4 %s %s %u %u\r\n", src, dst,
		    ntohs(r->src.sin.sin_port), ntohs(r->dst.sin.sin_port));
	} else {
		inet_ntop(AF_INET6, &r->src.sin6.sin6_addr, src, sizeof(src));
		inet_ntop(AF_INET6, &r->dst.sin6.sin6_addr, dst, sizeof(dst));
		snprintf(buf, len, "PROXY TCP6 %s %s %u %u\r\n", src, dst,
		    ntohs(r->src.sin6.sin6_port),
		    ntohs(r->dst.sin6.sin6_port));
	}
}

/* The IPv6 text of the line may be written many ways: compare values. */
static void
fuzz_v1_tcp6(const uint8_t *h, size_t used, const struct proxy_result *r)
{
	char		 line[PROXY_V1_MAX + 1], *f[6], *last, *end;
	struct in6_addr	 a;
	size_t		 i;

	memcpy(line, h, used - 2);
	line[used - 2] = '\0';
	for (i = 0; i < 6; i++) {
		f[i] = strtok_r(i == 0 ? line : NULL, " ", &last);
		if (f[i] == NULL)
			fuzz_fail("TCP6 line with too few fields", used, r);
	}
	if (strtok_r(NULL, " ", &last) != NULL)
		fuzz_fail("TCP6 line with more than 6 fields", used, r);
	if (inet_pton(AF_INET6, f[2], &a) != 1 ||
	    memcmp(&a, &r->src.sin6.sin6_addr, sizeof(a)) != 0)
		fuzz_fail("TCP6 source is not the line's", used, r);
	if (inet_pton(AF_INET6, f[3], &a) != 1 ||
	    memcmp(&a, &r->dst.sin6.sin6_addr, sizeof(a)) != 0)
		fuzz_fail("TCP6 destination is not the line's", used, r);
	if (strtoul(f[4], &end, 10) != ntohs(r->src.sin6.sin6_port) ||
	    *end != '\0' ||
	    strtoul(f[5], &end, 10) != ntohs(r->dst.sin6.sin6_port) ||
	    *end != '\0')
		fuzz_fail("TCP6 ports are not the line's", used, r);
}

static void
fuzz_check_v1(const uint8_t *h, size_t used, const struct proxy_result *r)
{
	char	 again[256];
	size_t	 i;

	if (used < 15 || used > PROXY_V1_MAX || memcmp(h, "PROXY ", 6) != 0)
		fuzz_fail("v1 header of a wrong size or start", used, r);
	for (i = 0; i < used - 2; i++) {
		if (h[i] == '\r' || h[i] == '\n')
			fuzz_fail("v1 header with a CR or LF inside", used, r);
	}
	if (h[used - 2] != '\r' || h[used - 1] != '\n')
		fuzz_fail("v1 header not ending in CRLF", used, r);
	if (r->family == AF_UNSPEC) {
		if (memcmp(h + 6, "UNKNOWN", 7) != 0 ||
		    (used > 15 && h[13] != ' '))
			fuzz_fail("v1 local but not UNKNOWN", used, r);
		return;
	}
	if (memcmp(h + 6, r->family == AF_INET ? "TCP4 " : "TCP6 ", 5) != 0)
		fuzz_fail("v1 family not the protocol's", used, r);
	if (r->family == AF_INET6) {
		fuzz_v1_tcp6(h, used, r);
		return;
	}
	fuzz_v1_print(r, again, sizeof(again));
	if (strlen(again) != used || memcmp(again, h, used) != 0)
		fuzz_fail("TCP4 line is not what the result prints", used, r);
}

static void
fuzz_check_v2(const uint8_t *h, size_t used, const struct proxy_result *r)
{
	const uint8_t	*a = h + PROXY_V2_HEADER;
	uint16_t	 port;

	if (used < PROXY_V2_HEADER ||
	    memcmp(h, FUZZ_V2_SIG, 12) != 0 ||
	    used != PROXY_V2_HEADER + ((size_t)h[14] << 8 | h[15]))
		fuzz_fail("v2 header of a wrong size or start", used, r);
	if (h[12] != 0x20 && h[12] != 0x21)
		fuzz_fail("v2 header of another version or command", used, r);
	if (r->family == AF_UNSPEC) {
		if (h[12] == 0x21 && (h[13] == 0x11 || h[13] == 0x21))
			fuzz_fail("v2 TCP taken as local", used, r);
		return;
	}
	if (h[12] != 0x21 || h[13] != (r->family == AF_INET ? 0x11 : 0x21))
		fuzz_fail("v2 family not the header's", used, r);
	if (r->family == AF_INET) {
		memcpy(&port, a + 8, 2);
		if (memcmp(&r->src.sin.sin_addr, a, 4) != 0 ||
		    memcmp(&r->dst.sin.sin_addr, a + 4, 4) != 0 ||
		    r->src.sin.sin_port != port ||
		    memcmp(&r->dst.sin.sin_port, a + 10, 2) != 0)
			fuzz_fail("v2 TCP4 addresses not the header's", used,
			    r);
		return;
	}
	memcpy(&port, a + 32, 2);
	if (memcmp(&r->src.sin6.sin6_addr, a, 16) != 0 ||
	    memcmp(&r->dst.sin6.sin6_addr, a + 16, 16) != 0 ||
	    r->src.sin6.sin6_port != port ||
	    memcmp(&r->dst.sin6.sin6_port, a + 34, 2) != 0)
		fuzz_fail("v2 TCP6 addresses not the header's", used, r);
}

static void
fuzz_check_ok(const uint8_t *h, size_t used, const struct proxy_result *r)
{
	union proxy_addr	 zero;

	memset(&zero, 0, sizeof(zero));
	switch (r->family) {
	case AF_INET:
		if (r->len != sizeof(struct sockaddr_in) ||
		    r->src.sa.sa_family != AF_INET ||
		    r->dst.sa.sa_family != AF_INET)
			fuzz_fail("AF_INET result inconsistent", used, r);
		break;
	case AF_INET6:
		if (r->len != sizeof(struct sockaddr_in6) ||
		    r->src.sa.sa_family != AF_INET6 ||
		    r->dst.sa.sa_family != AF_INET6)
			fuzz_fail("AF_INET6 result inconsistent", used, r);
		break;
	case AF_UNSPEC:
		if (r->len != 0 ||
		    !fuzz_same_bytes(&r->src, &zero, sizeof(zero)) ||
		    !fuzz_same_bytes(&r->dst, &zero, sizeof(zero)))
			fuzz_fail("local result with addresses", used, r);
		break;
	default:
		fuzz_fail("unknown family", used, r);
	}
	if (r->version == 1)
		fuzz_check_v1(h, used, r);
	else if (r->version == 2)
		fuzz_check_v2(h, used, r);
	else
		fuzz_fail("OK without a version", used, r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_result	 r, first;
	enum proxy_status	 st, decided = PROXY_MORE;
	uint8_t			*buf, *end;
	size_t			 n, last, used, first_used = 0;

	/* The parser reads no further than PROXY_HEADER_MAX bytes. */
	last = size < PROXY_HEADER_MAX + 1 ? size : PROXY_HEADER_MAX + 1;
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	end = buf + size;
	memset(&first, 0, sizeof(first));
	for (n = 0; n <= size; n = n == last && n < size ? size : n + 1) {
		st = fuzz_parse(end, data, n, &r, &used);
		if (st == PROXY_MORE) {
			if (decided != PROXY_MORE)
				fuzz_fail("MORE after an answer", n, &r);
			if (n >= PROXY_HEADER_MAX)
				fuzz_fail("MORE at PROXY_HEADER_MAX bytes", n,
				    &r);
			if (used != 0 || r.reason != NULL)
				fuzz_fail("MORE with used or a reason", n, &r);
			continue;
		}
		if (st != PROXY_OK && st != PROXY_BAD)
			fuzz_fail("unknown status", n, &r);
		if (r.reason == NULL || strlen(r.reason) == 0 ||
		    strlen(r.reason) > 80)
			fuzz_fail("no reason", n, &r);
		if (decided == PROXY_MORE) {
			decided = st;
			first = r;
			first_used = used;
			if (st == PROXY_OK) {
				if (used != n)
					fuzz_fail("OK not at its last byte", n,
					    &r);
				fuzz_check_ok(end - n, used, &r);
			} else if (used != 0)
				fuzz_fail("BAD with used", n, &r);
			continue;
		}
		if (st != decided || used != first_used ||
		    !fuzz_same(&r, &first))
			fuzz_fail("answer changed with more bytes", n, &r);
	}
	free(buf);
	return 0;
}
