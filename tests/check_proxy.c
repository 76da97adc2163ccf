/* SPDX-License-Identifier: ISC */
/*
 * check_proxy.c: the PROXY protocol header parser in src/proxy.c.
 *
 * Every input is handed to proxy_parse() in a buffer of exactly its
 * length, so that a read past it is caught under ASan or valgrind.  Most
 * tests feed every prefix of an input: a valid header must give MORE for
 * each proper prefix and OK at its full length, a bad one MORE up to the
 * byte that proves it bad and BAD, always with the same reason, from
 * there on.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_hellod.h"
#include "hellod.h"

#define V2_SIG		"\r\n\r\n\0\r\nQUIT\n"
#define V2_SIG_LEN	12
#define TRAILER		"hello\r\nworld\n"
#define NOT_HEADER	"not a PROXY header"
#define NO_CRLF		"v1: no CRLF within 107 bytes"
#define TOO_LONG	"v2: header longer than 552 bytes"

/* proxy_parse() on a copy of exactly len bytes. */
static enum proxy_status
parse_exact(const void *in, size_t len, struct proxy_result *r, size_t *used)
{
	enum proxy_status	 st;
	void			*copy;

	copy = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, in, len);
	st = proxy_parse(copy, len, r, used);
	free(copy);
	return (st);
}

static int
same_result(const struct proxy_result *a, const struct proxy_result *b)
{
	return (a->version == b->version && a->family == b->family &&
	    a->len == b->len && memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	    memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0 &&
	    a->reason == b->reason);
}

/*
 * Check's ck_assert*() records every passing assertion too (a write to a
 * pipe when it forks), which the loops below would pay millions of times:
 * they test, and only a failure calls into Check.
 */
#define REQUIRE(cond, ...)						\
	do {								\
		if (!(cond))						\
			ck_abort_msg(__VA_ARGS__);			\
	} while (0)

/*
 * Every prefix of in: the answer is MORE up to some length, then never
 * changes.  Returns that length (len + 1 if in is MORE throughout) and
 * the final answer.
 */
static size_t
decide(const void *in, size_t len, struct proxy_result *final,
    size_t *final_used, enum proxy_status *final_st)
{
	struct proxy_result	 r;
	enum proxy_status	 st, first = PROXY_MORE;
	size_t			 n, used, at = len + 1;
	uint8_t			*end;

	/* Each prefix at the very end of one allocation: a read past it
	 * is past the allocation. */
	end = malloc(len > 0 ? len : 1);
	REQUIRE(end != NULL, "malloc");
	end += len;
	memset(final, 0, sizeof(*final));
	*final_used = 0;
	for (n = 0; n <= len; n++) {
		used = 12345;
		memcpy(end - n, in, n);
		st = proxy_parse(end - n, n, &r, &used);
		REQUIRE(st == PROXY_MORE || st == PROXY_OK || st == PROXY_BAD,
		    "status %d", st);
		if (st == PROXY_MORE) {
			REQUIRE(first == PROXY_MORE, "MORE at %zu after %d at "
			    "%zu", n, first, at);
			REQUIRE(n < PROXY_HEADER_MAX, "MORE at %zu bytes", n);
			REQUIRE(used == 0, "MORE with used %zu", used);
			continue;
		}
		if (first == PROXY_MORE) {
			first = st;
			at = n;
			*final = r;
			*final_used = used;
			REQUIRE(r.reason != NULL, "no reason at %zu", n);
			/* OK is decided by the header's very last byte. */
			REQUIRE(used == (st == PROXY_OK ? n : 0), "%zu bytes: "
			    "status %d, used %zu", n, st, used);
			continue;
		}
		REQUIRE(st == first, "%zu bytes: status %d, %d at %zu", n, st,
		    first, at);
		REQUIRE(used == *final_used, "%zu bytes: used %zu, %zu at %zu",
		    n, used, *final_used, at);
		REQUIRE(same_result(&r, final), "%zu bytes: result differs "
		    "from the one at %zu (%s, %s)", n, at, r.reason,
		    final->reason);
	}
	free(end - len);
	*final_st = first;
	return (at);
}

/* A valid header of len bytes: OK exactly at len, also with more after. */
static void
check_ok(const void *hdr, size_t len, struct proxy_result *out)
{
	struct proxy_result	 r, again;
	enum proxy_status	 st;
	size_t			 used, at, tlen = sizeof(TRAILER) - 1;
	uint8_t			*buf;

	buf = malloc(len + tlen);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, hdr, len);
	memcpy(buf + len, TRAILER, tlen);
	at = decide(buf, len + tlen, &r, &used, &st);
	ck_assert_msg(st == PROXY_OK, "status %d (%s)", st,
	    r.reason != NULL ? r.reason : "");
	ck_assert_uint_eq(at, len);
	ck_assert_uint_eq(used, len);
	/* The bytes after it are the client's, left alone. */
	ck_assert_int_eq(memcmp(buf + used, TRAILER, tlen), 0);
	ck_assert_int_eq(parse_exact(buf, len, &again, &used), PROXY_OK);
	ck_assert(same_result(&r, &again));
	free(buf);
	if (out != NULL)
		*out = r;
}

/* A bad input: MORE before byte at, BAD from there with reason. */
static void
check_bad(const void *in, size_t len, size_t at, const char *reason)
{
	struct proxy_result	 r;
	enum proxy_status	 st;
	size_t			 used, got;

	got = decide(in, len, &r, &used, &st);
	ck_assert_msg(st == PROXY_BAD, "status %d (%s), want BAD (%s)", st,
	    r.reason != NULL ? r.reason : "", reason);
	ck_assert_str_eq(r.reason, reason);
	ck_assert_msg(got == at, "%.*s: found bad at %zu bytes, want %zu (%s)",
	    (int)len, (const char *)in, got, at, reason);
}

static void
check_bad_str(const char *in, size_t at, const char *reason)
{
	check_bad(in, strlen(in), at, reason);
}

static void
check_sin(const union proxy_addr *a, const char *host, int port)
{
	struct in_addr	 want;

	ck_assert_int_eq(a->sin.sin_family, AF_INET);
	ck_assert_int_eq(inet_pton(AF_INET, host, &want), 1);
	ck_assert_uint_eq(a->sin.sin_addr.s_addr, want.s_addr);
	ck_assert_uint_eq(ntohs(a->sin.sin_port), port);
}

static void
check_sin6(const union proxy_addr *a, const char *host, int port)
{
	struct in6_addr	 want;

	ck_assert_int_eq(a->sin6.sin6_family, AF_INET6);
	ck_assert_int_eq(inet_pton(AF_INET6, host, &want), 1);
	ck_assert_int_eq(memcmp(&a->sin6.sin6_addr, &want, 16), 0);
	ck_assert_uint_eq(ntohs(a->sin6.sin6_port), port);
	ck_assert_uint_eq(a->sin6.sin6_flowinfo, 0);
	ck_assert_uint_eq(a->sin6.sin6_scope_id, 0);
}

static void
check_unspec(const struct proxy_result *r)
{
	union proxy_addr	 zero;

	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(r->family, AF_UNSPEC);
	ck_assert_uint_eq(r->len, 0);
	ck_assert_int_eq(memcmp(&r->src, &zero, sizeof(zero)), 0);
	ck_assert_int_eq(memcmp(&r->dst, &zero, sizeof(zero)), 0);
}

/* A v1 TCP4 or TCP6 line that must give exactly these. */
static void
v1_inet(int family, const char *line, const char *src, const char *dst,
    int sport, int dport)
{
	struct proxy_result	 r;

	check_ok(line, strlen(line), &r);
	ck_assert_int_eq(r.version, 1);
	ck_assert_int_eq(r.family, family);
	if (family == AF_INET) {
		ck_assert_uint_eq(r.len, sizeof(struct sockaddr_in));
		check_sin(&r.src, src, sport);
		check_sin(&r.dst, dst, dport);
		ck_assert_str_eq(r.reason, "v1 TCP4");
	} else {
		ck_assert_uint_eq(r.len, sizeof(struct sockaddr_in6));
		check_sin6(&r.src, src, sport);
		check_sin6(&r.dst, dst, dport);
		ck_assert_str_eq(r.reason, "v1 TCP6");
	}
}

START_TEST(test_v1_tcp4)
{
	/* The spec's own example. */
	v1_inet(AF_INET, "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
	    "192.168.0.1", "192.168.0.11", 56324, 443);
	/* Its longest TCP4 line, 56 bytes, and the smallest values. */
	ck_assert_uint_eq(strlen("PROXY TCP4 255.255.255.255 255.255.255.255 "
	    "65535 65535\r\n"), 56);
	v1_inet(AF_INET, "PROXY TCP4 255.255.255.255 255.255.255.255 "
	    "65535 65535\r\n", "255.255.255.255", "255.255.255.255", 65535,
	    65535);
	v1_inet(AF_INET, "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", "0.0.0.0",
	    "0.0.0.0", 0, 0);
	v1_inet(AF_INET, "PROXY TCP4 10.0.0.1 10.20.100.200 1 10\r\n",
	    "10.0.0.1", "10.20.100.200", 1, 10);
	v1_inet(AF_INET, "PROXY TCP4 127.0.0.7 127.0.0.1 4242 5000\r\n",
	    "127.0.0.7", "127.0.0.1", 4242, 5000);
}
END_TEST

START_TEST(test_v1_tcp6)
{
	v1_inet(AF_INET6, "PROXY TCP6 2001:db8::1 2001:db8::2 4242 5000\r\n",
	    "2001:db8::1", "2001:db8::2", 4242, 5000);
	v1_inet(AF_INET6, "PROXY TCP6 ::1 :: 0 65535\r\n", "::1", "::", 0,
	    65535);
	/* Upper case, leading zeros in a group, every group written. */
	v1_inet(AF_INET6, "PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:00Ff "
	    "FE80::a 1 2\r\n", "2001:db8::ff", "fe80::a", 1, 2);
	/* The embedded IPv4 form HAProxy sends for mixed families. */
	v1_inet(AF_INET6, "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 4242 "
	    "5000\r\n", "::ffff:192.0.2.1", "2001:db8::2", 4242, 5000);
	/* The spec's longest TCP6 line: 104 bytes. */
	ck_assert_uint_eq(strlen("PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"), 104);
	v1_inet(AF_INET6, "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 65535);
}
END_TEST

START_TEST(test_v1_unknown)
{
	struct proxy_result	 r;
	char			 line[PROXY_V1_MAX + 8];
	size_t			 len;

	check_ok("PROXY UNKNOWN\r\n", 15, &r);
	ck_assert_int_eq(r.version, 1);
	check_unspec(&r);
	ck_assert_str_eq(r.reason, "v1 UNKNOWN");

	/* Whatever follows "UNKNOWN " is ignored, addresses or not. */
#define LONG_FORM	"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff " \
			"65535 65535\r\n"
	check_ok(LONG_FORM, sizeof(LONG_FORM) - 1, &r);
	check_unspec(&r);
	check_ok("PROXY UNKNOWN \r\n", 16, &r);
	check_unspec(&r);
#define ODD_BYTES "PROXY UNKNOWN \0\x01\xff\t\r\n"
	check_ok(ODD_BYTES, sizeof(ODD_BYTES) - 1, &r);
	check_unspec(&r);

	/* The spec's worst case, 107 bytes, is the longest line taken. */
	len = snprintf(line, sizeof(line), "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n");
	ck_assert_uint_eq(len, PROXY_V1_MAX);
	check_ok(line, len, &r);
	check_unspec(&r);
	/* One more byte and no CRLF is found in the first 107. */
	memcpy(line + 105, "5\r\n", 4);
	check_bad(line, len + 1, PROXY_V1_MAX, NO_CRLF);
	/* A CR as byte 107, its LF the 108th. */
	memcpy(line + 105, "5\r", 2);
	check_bad(line, 107, PROXY_V1_MAX, NO_CRLF);
}
END_TEST

/* The v1 line bound, whatever the line says. */
START_TEST(test_v1_bound)
{
	char	 buf[300];
	size_t	 len;

	/* No CRLF ever: found bad at byte 107, not later. */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	check_bad(buf, sizeof(buf), PROXY_V1_MAX, NO_CRLF);
	/* The longest IPv6 text is 45 bytes: a valid TCP6 line can pass
	 * 107, and is refused at 107. */
	len = snprintf(buf, sizeof(buf), "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n");
	ck_assert_uint_gt(len, PROXY_V1_MAX);
	check_bad(buf, len, PROXY_V1_MAX, NO_CRLF);
	/* One such address fits. */
	v1_inet(AF_INET6, "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 ::1 65535 65535\r\n",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1", 65535, 65535);
	/* The reason names the bound the header defines. */
	snprintf(buf, sizeof(buf), "v1: no CRLF within %d bytes",
	    PROXY_V1_MAX);
	ck_assert_str_eq(buf, NO_CRLF);
}
END_TEST

START_TEST(test_v1_bad)
{
	static const struct {
		const char	*in;
		size_t		 at;	/* bytes that prove it bad */
		const char	*reason;
	} bad[] = {
		/* The signature and the protocol. */
		{ "PROXX TCP4", 5, NOT_HEADER },
		{ "PROXY\tTCP4", 6, NOT_HEADER },
		{ "PROXY\r\n", 6, NOT_HEADER },
		{ "proxy TCP4", 1, NOT_HEADER },
		{ "PROXY  TCP4", 7, "v1: unknown protocol (not TCP4, TCP6 "
		    "or UNKNOWN)" },
		{ "PROXY tcp4", 7, "v1: unknown protocol (not TCP4, TCP6 or "
		    "UNKNOWN)" },
		{ "PROXY TCP5 ", 10, "v1: unknown protocol (not TCP4, TCP6 "
		    "or UNKNOWN)" },
		{ "PROXY TCP4\r\n", 11, "v1: unknown protocol (not TCP4, "
		    "TCP6 or UNKNOWN)" },
		{ "PROXY UDP4 ", 8, "v1: unknown protocol (not TCP4, TCP6 or "
		    "UNKNOWN)" },
		{ "PROXY UNKNOWNX\r\n", 14, "v1: unknown protocol (not TCP4, "
		    "TCP6 or UNKNOWN)" },
		{ "PROXY UNKNOWN\n", 14, "v1: LF without CR" },
		{ "PROXY UNKNOWN foo\nbar\r\n", 18, "v1: LF without CR" },
		{ "PROXY UNKNOWN\rX", 15, "v1: CR without LF" },
		{ "PROXY UNKNOWN foo\r\r\n", 19, "v1: CR without LF" },
		/* Addresses. */
		{ "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", 20,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", 20,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.00 1 2\r\n", 28,
		    "v1: bad TCP4 destination address" },
		{ "PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n", 21,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", 17,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", 21,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", 18,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n", 20,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 .1.2.3 5.6.7.8 1 2\r\n", 18,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8.9 1 2\r\n", 29,
		    "v1: bad TCP4 destination address" },
		{ "PROXY TCP4 1111.2.3.4 5.6.7.8 1 2\r\n", 22,
		    "v1: bad TCP4 source address" },
		/* Too long for any IPv4 address: found at byte 16. */
		{ "PROXY TCP4 1.2.3.4567890123456 5.6.7.8 1 2\r\n", 27,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 ::1 ::1 1 2\r\n", 12,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 1.2.3.4 ::1 1 2\r\n", 20,
		    "v1: bad TCP4 destination address" },
		{ "PROXY TCP4 0x1.2.3.4 5.6.7.8 1 2\r\n", 13,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 localhost 5.6.7.8 1 2\r\n", 12,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", 19,
		    "v1: bad TCP6 source address" },
		{ "PROXY TCP6 ::1 1.2.3.4 1 2\r\n", 23,
		    "v1: bad TCP6 destination address" },
		{ "PROXY TCP6 fe80::1%lo ::1 1 2\r\n", 19,
		    "v1: bad TCP6 source address" },
		{ "PROXY TCP6 [::1] ::1 1 2\r\n", 12,
		    "v1: bad TCP6 source address" },
		{ "PROXY TCP6 1::2::3 ::1 1 2\r\n", 19,
		    "v1: bad TCP6 source address" },
		{ "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", 29,
		    "v1: bad TCP6 source address" },
		{ "PROXY TCP6 12345::1 ::1 1 2\r\n", 20,
		    "v1: bad TCP6 source address" },
		{ "PROXY TCP6 ::g ::1 1 2\r\n", 14,
		    "v1: bad TCP6 source address" },
		/* Ports. */
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", 29,
		    "v1: bad source port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n", 29,
		    "v1: bad source port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 02\r\n", 31,
		    "v1: bad destination port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", 33,
		    "v1: bad source port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", 35,
		    "v1: bad destination port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n", 33,
		    "v1: bad source port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", 28,
		    "v1: bad source port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", 28,
		    "v1: bad source port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 0x1 2\r\n", 29,
		    "v1: bad source port" },
		{ "PROXY TCP6 ::1 ::2 1 2a\r\n", 23,
		    "v1: bad destination port" },
		/* Spaces: exactly one between fields, none at either end. */
		{ "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", 12,
		    "v1: bad TCP4 source address" },
		{ "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", 20,
		    "v1: bad TCP4 destination address" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n", 28,
		    "v1: bad source port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n", 30,
		    "v1: bad destination port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", 31,
		    "v1: bad destination port" },
		{ "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", 19,
		    "v1: bad TCP4 source address" },
		/* Fields missing. */
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 29,
		    "v1: bad source port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8\r\n", 27,
		    "v1: bad TCP4 destination address" },
		{ "PROXY TCP4 \r\n", 12, "v1: bad TCP4 source address" },
		/* Line ends: CRLF, nothing else. */
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 31, "v1: LF without CR" },
		{ "PROXY TCP4 1.2.3.4\n", 19, "v1: LF without CR" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", 32,
		    "v1: CR without LF" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", 32,
		    "v1: CR without LF" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r", 31,
		    "v1: LF without CR" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad_str(bad[i].in, bad[i].at, bad[i].reason);
}
END_TEST

/* The first byte decides; so does every byte of either signature. */
START_TEST(test_not_header)
{
	static const char	*bad[] = { "GET / HTTP/1.1\r\n", "hello\n",
	    "\n", " PROXY TCP4", "\x16\x03\x01", "SSH-2.0-x\r\n", "Q", "p" };
	struct proxy_result	 r;
	char			 buf[32];
	size_t			 i, used;
	int			 c;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad_str(bad[i], 1, NOT_HEADER);
	/* Every first byte but 'P' and CR, NUL included. */
	for (c = 0; c < 256; c++) {
		buf[0] = (char)c;
		if (c == 'P' || c == '\r')
			ck_assert_int_eq(parse_exact(buf, 1, &r, &used),
			    PROXY_MORE);
		else {
			ck_assert_int_eq(parse_exact(buf, 1, &r, &used),
			    PROXY_BAD);
			ck_assert_str_eq(r.reason, NOT_HEADER);
			ck_assert_int_eq(r.version, 0);
		}
	}
	/* Nothing yet is a valid beginning. */
	ck_assert_int_eq(parse_exact("", 0, &r, &used), PROXY_MORE);
	ck_assert_int_eq(parse_exact("PROX", 4, &r, &used), PROXY_MORE);
	ck_assert_int_eq(r.version, 0);

	/* An empty line, as a client sends, is not the v2 signature. */
	check_bad_str("\r\n\r\nhello\n", 5, NOT_HEADER);
	check_bad_str("\r\nhello\n", 3, NOT_HEADER);
	check_bad_str("\r\r", 2, NOT_HEADER);
	/* Each byte of the v2 signature, wrong. */
	for (i = 1; i < V2_SIG_LEN; i++) {
		memcpy(buf, V2_SIG "\x21\x11\x00\x00", 16);
		buf[i] ^= 0x40;
		check_bad(buf, 16, i + 1, NOT_HEADER);
	}
	/* Each byte of "PROXY ", wrong. */
	for (i = 1; i < 6; i++) {
		memcpy(buf, "PROXY UNKNOWN\r\n", 15);
		buf[i] ^= 0x20;
		check_bad(buf, 15, i + 1, NOT_HEADER);
	}
}
END_TEST

/* What HAProxy 2.6 sent, send-proxy-v2 proxy-v2-options crc32c. */
START_TEST(test_v2_haproxy)
{
	static const uint8_t	 check[] =
	    V2_SIG "\x20\x00\x00\x07" "\x03\x00\x04\xa9\xb8\x7e\x8f";
	static const uint8_t	 conn[] =
	    V2_SIG "\x21\x11\x00\x13" "\x7f\x00\x00\x07\x7f\x00\x00\x01"
	    "\xd8\xd3\x84\xeb" "\x03\x00\x04\xa2\xff\xfe\x40";
	struct proxy_result	 r;
	uint8_t			 buf[64];

	/* A health check: LOCAL, with only the checksum in its block. */
	check_ok(check, sizeof(check) - 1, &r);
	check_unspec(&r);
	ck_assert_str_eq(r.reason, "v2 LOCAL");
	/* A client's connection from 127.0.0.7:55507 to 127.0.0.1:34027. */
	check_ok(conn, sizeof(conn) - 1, &r);
	check_sin(&r.src, "127.0.0.7", 55507);
	check_sin(&r.dst, "127.0.0.1", 34027);
	/* Its checksum is checked: a port changed is noticed. */
	memcpy(buf, conn, sizeof(conn) - 1);
	buf[24] ^= 1;
	check_bad(buf, sizeof(conn) - 1, sizeof(conn) - 1,
	    "v2: CRC32C mismatch");
}
END_TEST

/* A v2 header: the 16 fixed bytes, then body. */
static size_t
v2(uint8_t *buf, uint8_t ver_cmd, uint8_t fam, const void *body, size_t len)
{
	memcpy(buf, V2_SIG, V2_SIG_LEN);
	buf[12] = ver_cmd;
	buf[13] = fam;
	buf[14] = (uint8_t)(len >> 8);
	buf[15] = (uint8_t)len;
	if (len > 0)
		memcpy(buf + PROXY_V2_HEADER, body, len);
	return (PROXY_V2_HEADER + len);
}

/* The TCP over IPv4 block: 127.0.0.7:4242 to 127.0.0.1:5000. */
static const uint8_t	 v2_ip4[12] = {
	127, 0, 0, 7, 127, 0, 0, 1, 0x10, 0x92, 0x13, 0x88
};
/* TCP over IPv6: [2001:db8::1]:1 to [::1]:65535. */
static const uint8_t	 v2_ip6[36] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x00, 0x01, 0xff, 0xff
};

START_TEST(test_v2_proxy)
{
	struct proxy_result	 r;
	uint8_t			 buf[PROXY_HEADER_MAX + 16];
	size_t			 len;

	len = v2(buf, 0x21, 0x11, v2_ip4, sizeof(v2_ip4));
	ck_assert_uint_eq(len, 28);
	check_ok(buf, len, &r);
	ck_assert_int_eq(r.version, 2);
	ck_assert_int_eq(r.family, AF_INET);
	ck_assert_uint_eq(r.len, sizeof(struct sockaddr_in));
	check_sin(&r.src, "127.0.0.7", 4242);
	check_sin(&r.dst, "127.0.0.1", 5000);
	ck_assert_str_eq(r.reason, "v2 PROXY TCP4");

	len = v2(buf, 0x21, 0x21, v2_ip6, sizeof(v2_ip6));
	ck_assert_uint_eq(len, 52);
	check_ok(buf, len, &r);
	ck_assert_int_eq(r.version, 2);
	ck_assert_int_eq(r.family, AF_INET6);
	ck_assert_uint_eq(r.len, sizeof(struct sockaddr_in6));
	check_sin6(&r.src, "2001:db8::1", 1);
	check_sin6(&r.dst, "::1", 65535);
	ck_assert_str_eq(r.reason, "v2 PROXY TCP6");
}
END_TEST

START_TEST(test_v2_local)
{
	struct proxy_result	 r;
	uint8_t			 buf[PROXY_HEADER_MAX + 16], body[600];
	size_t			 len;
	int			 fam;

	/* What HAProxy's health checks send: LOCAL, UNSPEC, no address. */
	len = v2(buf, 0x20, 0x00, NULL, 0);
	check_ok(buf, len, &r);
	ck_assert_int_eq(r.version, 2);
	check_unspec(&r);
	ck_assert_str_eq(r.reason, "v2 LOCAL");

	/* The length is honoured, and the block skipped unread. */
	len = v2(buf, 0x20, 0x11, v2_ip4, sizeof(v2_ip4));
	check_ok(buf, len, &r);
	check_unspec(&r);
	memset(body, 0xff, sizeof(body));
	len = v2(buf, 0x20, 0x00, body, 7);
	check_ok(buf, len, &r);
	check_unspec(&r);
	len = v2(buf, 0x20, 0x00, body, PROXY_V2_LEN_MAX);
	check_ok(buf, len, &r);
	check_unspec(&r);
	/* The family of a LOCAL header is ignored, even one undefined. */
	for (fam = 0; fam < 256; fam++) {
		len = v2(buf, 0x20, (uint8_t)fam, NULL, 0);
		check_ok(buf, len, &r);
		check_unspec(&r);
	}
	/* But not the length bound. */
	buf[14] = (PROXY_V2_LEN_MAX + 1) >> 8;
	buf[15] = (PROXY_V2_LEN_MAX + 1) & 0xff;
	check_bad(buf, 16, 16, TOO_LONG);
}
END_TEST

/* PROXY for what hellod does not serve: the socket's addresses. */
START_TEST(test_v2_fallback)
{
	static const struct {
		uint8_t	 fam;
		size_t	 len;
	} fb[] = {
		{ 0x00, 0 },	/* UNSPEC */
		{ 0x01, 0 },	/* UNSPEC family, STREAM */
		{ 0x02, 0 },
		{ 0x10, 12 },	/* INET, transport UNSPEC */
		{ 0x12, 12 },	/* UDP over IPv4 */
		{ 0x20, 36 },
		{ 0x22, 36 },	/* UDP over IPv6 */
		{ 0x30, 216 },
		{ 0x31, 216 },	/* UNIX stream */
		{ 0x32, 216 },	/* UNIX datagram */
	};
	struct proxy_result	 r;
	uint8_t			 buf[PROXY_HEADER_MAX + 16], body[300];
	size_t			 i, len;

	memset(body, 0x41, sizeof(body));
	for (i = 0; i < sizeof(fb) / sizeof(fb[0]); i++) {
		len = v2(buf, 0x21, fb[i].fam, body, fb[i].len);
		check_ok(buf, len, &r);
		ck_assert_int_eq(r.version, 2);
		check_unspec(&r);
		ck_assert_str_eq(r.reason,
		    "v2 PROXY, not TCP over IPv4 or IPv6");
		/* Its addresses must still be all there. */
		if (fb[i].len > 0) {
			len = v2(buf, 0x21, fb[i].fam, body, fb[i].len - 1);
			check_bad(buf, len, 16,
			    "v2: length too short for the addresses");
		}
		/* And TLVs may follow them. */
		memcpy(body + fb[i].len, "\x04\x00\x02xy", 5);
		len = v2(buf, 0x21, fb[i].fam, body, fb[i].len + 5);
		check_ok(buf, len, &r);
		check_unspec(&r);
		memset(body, 0x41, sizeof(body));
	}
}
END_TEST

START_TEST(test_v2_bad)
{
	uint8_t		 buf[PROXY_HEADER_MAX + 16];
	size_t		 len;
	int		 v;

	/* Version: the high nibble of byte 13 is 2, nothing else. */
	for (v = 0; v < 16; v++) {
		if (v == 2)
			continue;
		len = v2(buf, (uint8_t)(v << 4 | 1), 0x11, v2_ip4, 12);
		check_bad(buf, len, 13, "v2: unsupported version");
	}
	/* Command: LOCAL or PROXY. */
	for (v = 2; v < 16; v++) {
		len = v2(buf, (uint8_t)(0x20 | v), 0x11, v2_ip4, 12);
		check_bad(buf, len, 13, "v2: unknown command");
	}
	/* Family 0-3, transport 0-2. */
	for (v = 0; v < 256; v++) {
		if (v >> 4 <= 3 && (v & 0xf) <= 2)
			continue;
		len = v2(buf, 0x21, (uint8_t)v, v2_ip6, 36);
		check_bad(buf, len, 14, "v2: unknown address family or "
		    "transport");
	}
	/* Too short for the addresses: known from the length field. */
	len = v2(buf, 0x21, 0x11, v2_ip4, 11);
	check_bad(buf, len, 16, "v2: length too short for the addresses");
	len = v2(buf, 0x21, 0x11, NULL, 0);
	check_bad(buf, len, 16, "v2: length too short for the addresses");
	len = v2(buf, 0x21, 0x21, v2_ip6, 35);
	check_bad(buf, len, 16, "v2: length too short for the addresses");
	len = v2(buf, 0x21, 0x21, v2_ip4, 12);
	check_bad(buf, len, 16, "v2: length too short for the addresses");
}
END_TEST

/* The length field: bounded, and decided on before the bytes come. */
START_TEST(test_v2_length)
{
	struct proxy_result	 r;
	uint8_t			 buf[PROXY_HEADER_MAX + 16], body[600];
	size_t			 len, used;
	char			 want[64];

	/* The largest taken: addresses and a NOOP TLV filling the rest. */
	memset(body, 0, sizeof(body));
	memcpy(body, v2_ip4, 12);
	body[12] = 0x04;
	body[13] = (PROXY_V2_LEN_MAX - 12 - 3) >> 8;
	body[14] = (PROXY_V2_LEN_MAX - 12 - 3) & 0xff;
	len = v2(buf, 0x21, 0x11, body, PROXY_V2_LEN_MAX);
	ck_assert_uint_eq(len, PROXY_HEADER_MAX);
	check_ok(buf, len, &r);
	check_sin(&r.src, "127.0.0.7", 4242);
	/* One byte short of it is still MORE: the last MORE there is. */
	ck_assert_int_eq(parse_exact(buf, len - 1, &r, &used), PROXY_MORE);

	/* One more is refused at once, without waiting for the bytes. */
	buf[14] = (PROXY_V2_LEN_MAX + 1) >> 8;
	buf[15] = (PROXY_V2_LEN_MAX + 1) & 0xff;
	check_bad(buf, 16, 16, TOO_LONG);
	buf[14] = 0xff;
	buf[15] = 0xff;
	check_bad(buf, 16, 16, TOO_LONG);
	snprintf(want, sizeof(want), "v2: header longer than %d bytes",
	    PROXY_HEADER_MAX);
	ck_assert_str_eq(want, TOO_LONG);
}
END_TEST

/* CRC-32C, written apart from the parser's, to build headers. */
static uint32_t
crc32c(const uint8_t *p, size_t len)
{
	uint32_t	 crc = 0xffffffffU;
	size_t		 i;
	int		 k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78U : crc >> 1;
	}
	return (~crc);
}

/* Fill in the CRC32C TLV whose value starts at offset at. */
static void
v2_sign(uint8_t *buf, size_t len, size_t at)
{
	uint32_t	 crc;

	memset(buf + at, 0, 4);
	crc = crc32c(buf, len);
	buf[at] = (uint8_t)(crc >> 24);
	buf[at + 1] = (uint8_t)(crc >> 16);
	buf[at + 2] = (uint8_t)(crc >> 8);
	buf[at + 3] = (uint8_t)crc;
}

START_TEST(test_v2_tlvs)
{
	struct proxy_result	 r;
	uint8_t			 buf[PROXY_HEADER_MAX + 16], body[600];
	size_t			 len, n, i;

	/* The check value of the CRC-32C itself (RFC 3720, B.4). */
	ck_assert_uint_eq(crc32c((const uint8_t *)"123456789", 9),
	    0xe3069283U);

	/* Several TLVs, the last of them empty, all skipped. */
	memcpy(body, v2_ip6, 36);
	n = 36;
	memcpy(body + n, "\x01\x00\x02h2", 5);		/* ALPN */
	n += 5;
	memcpy(body + n, "\x02\x00\x0b" "example.com", 14);	/* AUTHORITY */
	n += 14;
	memcpy(body + n, "\x20\x00\x05\x01\x00\x00\x00\x00", 8); /* SSL */
	n += 8;
	memcpy(body + n, "\xee\x00\x00", 3);		/* unknown, empty */
	n += 3;
	len = v2(buf, 0x21, 0x21, body, n);
	check_ok(buf, len, &r);
	check_sin6(&r.src, "2001:db8::1", 1);

	/* A TLV running past the length, by one byte or by its header. */
	body[n - 1] = 1;
	len = v2(buf, 0x21, 0x21, body, n);
	check_bad(buf, len, len, "v2: TLV longer than the header");
	body[n - 1] = 0;
	for (i = 1; i < 3; i++) {
		len = v2(buf, 0x21, 0x21, body, n - i);
		check_bad(buf, len, len, "v2: truncated TLV");
	}
	/* One stray byte after the addresses. */
	len = v2(buf, 0x21, 0x11, "\x7f\x00\x00\x07\x7f\x00\x00\x01"
	    "\x10\x92\x13\x88\x04", 13);
	check_bad(buf, len, len, "v2: truncated TLV");

	/* CRC32C: right, wrong, or of the wrong size. */
	memcpy(body, v2_ip4, 12);
	memcpy(body + 12, "\x03\x00\x04\0\0\0\0", 7);
	memcpy(body + 19, "\x04\x00\x01z", 4);
	len = v2(buf, 0x21, 0x11, body, 23);
	v2_sign(buf, len, PROXY_V2_HEADER + 15);
	check_ok(buf, len, &r);
	check_sin(&r.src, "127.0.0.7", 4242);
	/* Each bit flipped is noticed, but for the one that makes the
	 * CRC32C TLV another type: then nothing asks for a checksum. */
	for (i = PROXY_V2_HEADER; i < len; i++) {
		if (i == PROXY_V2_HEADER + 12)
			continue;
		buf[i] ^= 0x01;
		ck_assert_int_ne(parse_exact(buf, len, &r, &n), PROXY_OK);
		buf[i] ^= 0x01;
	}
	buf[len - 1] ^= 0x80;
	check_bad(buf, len, len, "v2: CRC32C mismatch");
	buf[len - 1] ^= 0x80;
	buf[PROXY_V2_HEADER + 16] ^= 1;
	check_bad(buf, len, len, "v2: CRC32C mismatch");
	memcpy(body + 12, "\x03\x00\x03\0\0\0", 6);
	len = v2(buf, 0x21, 0x11, body, 18);
	check_bad(buf, len, len, "v2: CRC32C TLV not 4 bytes long");
	/* A LOCAL header's block is not read at all, CRC32C or not. */
	len = v2(buf, 0x20, 0x00, "\x03\x00\x04\0\0\0\0", 7);
	check_ok(buf, len, &r);
}
END_TEST

/*
 * Every byte of valid v2 headers set to every value: the answer is
 * consistent for every prefix (decide() checks), never reads past the
 * buffer, and a signature byte changed is never a header.
 */
START_TEST(test_v2_corrupt)
{
	struct proxy_result	 r;
	enum proxy_status	 st;
	uint8_t			 hdrs[4][PROXY_HEADER_MAX + 16], buf[128];
	size_t			 lens[4], h, i, pos, used, at, want;
	int			 v;

	lens[0] = v2(hdrs[0], 0x21, 0x11, v2_ip4, 12);
	lens[1] = v2(hdrs[1], 0x21, 0x21, v2_ip6, 36);
	lens[2] = v2(hdrs[2], 0x20, 0x00, NULL, 0);
	memcpy(buf, v2_ip4, 12);
	memcpy(buf + 12, "\x03\x00\x04\0\0\0\0\x01\x00\x01x", 11);
	lens[3] = v2(hdrs[3], 0x21, 0x11, buf, 23);
	v2_sign(hdrs[3], lens[3], PROXY_V2_HEADER + 15);
	for (h = 0; h < 4; h++) {
		for (i = 0; i < lens[h] * 256; i++) {
			pos = i / 256;
			v = i % 256;
			memcpy(buf, hdrs[h], lens[h]);
			buf[pos] = (uint8_t)v;
			at = decide(buf, lens[h], &r, &used, &st);
			/* "P\n" is a v1 start, wrong at its second byte. */
			want = pos == 0 && v == 'P' ? 2 : pos + 1;
			if (pos < V2_SIG_LEN && v != hdrs[h][pos])
				REQUIRE(st == PROXY_BAD && at == want &&
				    strcmp(r.reason, NOT_HEADER) == 0,
				    "byte %zu = %d: %d at %zu (%s)", pos, v, st,
				    at, r.reason);
			REQUIRE(st != PROXY_OK || used <= lens[h],
			    "used %zu of %zu", used, lens[h]);
		}
	}
}
END_TEST

/* Every byte of valid v1 lines set to every value, likewise. */
START_TEST(test_v1_corrupt)
{
	static const char	*lines[] = {
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		"PROXY TCP6 2001:db8::1 ::ffff:1.2.3.4 1 65535\r\n",
		"PROXY UNKNOWN 1 2\r\n",
	};
	struct proxy_result	 r;
	enum proxy_status	 st;
	char			 buf[PROXY_V1_MAX + 1], host[INET6_ADDRSTRLEN];
	char			 again[PROXY_V1_MAX + 1];
	size_t			 l, i, len, used;
	int			 v, ok = 0;

	for (l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
		len = strlen(lines[l]);
		for (i = 0; i < len; i++) {
			for (v = 0; v < 256; v++) {
				memcpy(buf, lines[l], len);
				buf[i] = (char)v;
				decide(buf, len, &r, &used, &st);
				if (st != PROXY_OK || r.family != AF_INET)
					continue;
				/* IPv4 text is canonical: printing the
				 * result gives the line back. */
				ok++;
				snprintf(again, sizeof(again), "PROXY TCP4 %s ",
				    inet_ntop(AF_INET, &r.src.sin.sin_addr,
				    host, sizeof(host)));
				snprintf(again + strlen(again), sizeof(again) -
				    strlen(again), "%s %d %d\r\n",
				    inet_ntop(AF_INET, &r.dst.sin.sin_addr,
				    host, sizeof(host)),
				    ntohs(r.src.sin.sin_port),
				    ntohs(r.dst.sin.sin_port));
				REQUIRE(strlen(again) == used &&
				    memcmp(again, buf, used) == 0,
				    "%.*s parsed as %s", (int)used, buf, again);
			}
		}
	}
	/* Digits changed into other digits, at least. */
	ck_assert_int_gt(ok, 100);
}
END_TEST

/* The result is wiped first: nothing of an earlier call shows through. */
START_TEST(test_result_reset)
{
	struct proxy_result	 r;
	size_t			 used;

	memset(&r, 0x5a, sizeof(r));
	used = 99;
	ck_assert_int_eq(parse_exact("PROXY UNKNOWN\r\n", 15, &r, &used),
	    PROXY_OK);
	check_unspec(&r);
	memset(&r, 0x5a, sizeof(r));
	ck_assert_int_eq(parse_exact("PROXY", 5, &r, &used), PROXY_MORE);
	ck_assert_uint_eq(used, 0);
	ck_assert_ptr_null(r.reason);
	ck_assert_int_eq(r.family, AF_UNSPEC);
}
END_TEST

/* Random bytes with the signatures in front: consistent, never a crash. */
START_TEST(test_random)
{
	struct proxy_result	 r;
	enum proxy_status	 st;
	uint8_t			 buf[PROXY_HEADER_MAX + 64];
	uint32_t		 x = 0x70726f78U;
	size_t			 round, i, len, used;
	size_t			 seen[3] = { 0, 0, 0 };

	for (round = 0; round < 3000; round++) {
		len = 1 + (x >> 7) % sizeof(buf);
		for (i = 0; i < len; i++) {
			x = x * 1103515245U + 12345U;
			buf[i] = (uint8_t)(x >> 16);
		}
		if (round % 2 == 0 && len >= 16) {
			memcpy(buf, V2_SIG, V2_SIG_LEN);
			buf[12] = 0x20 | (round % 4 == 0);
			buf[13] = round % 8 < 4 ? 0x11 : 0x21;
			buf[14] = 0;
			buf[15] = buf[15] % 80;
		} else if (round % 3 == 0 && len >= 11)
			memcpy(buf, "PROXY TCP4 ", 11);
		decide(buf, len, &r, &used, &st);
		seen[st]++;
	}
	ck_assert_uint_gt(seen[PROXY_OK], 10);
	ck_assert_uint_gt(seen[PROXY_BAD], 10);
	ck_assert_uint_gt(seen[PROXY_MORE], 10);
}
END_TEST

Suite *
proxy_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("proxy");

	tc = tcase_create("v1");
	tcase_add_test(tc, test_v1_tcp4);
	tcase_add_test(tc, test_v1_tcp6);
	tcase_add_test(tc, test_v1_unknown);
	tcase_add_test(tc, test_v1_bound);
	tcase_add_test(tc, test_v1_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("v2");
	tcase_add_test(tc, test_v2_proxy);
	tcase_add_test(tc, test_v2_local);
	tcase_add_test(tc, test_v2_fallback);
	tcase_add_test(tc, test_v2_bad);
	tcase_add_test(tc, test_v2_length);
	tcase_add_test(tc, test_v2_tlvs);
	tcase_add_test(tc, test_v2_haproxy);
	suite_add_tcase(s, tc);

	tc = tcase_create("any");
	tcase_add_test(tc, test_not_header);
	tcase_add_test(tc, test_result_reset);
	suite_add_tcase(s, tc);

	/* Many parses each: longer under valgrind or the sanitizers. */
	tc = tcase_create("exhaustive");
	tcase_add_test(tc, test_v2_corrupt);
	tcase_add_test(tc, test_v1_corrupt);
	tcase_add_test(tc, test_random);
	suite_add_tcase(s, tc);

	return (s);
}
