/* SPDX-License-Identifier: ISC */
/*
 * check_addr.c: the "bind" value parser, the address helpers, the
 * proxy_trusted prefixes and the per-source key in src/addr.c.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "check_hellod.h"
#include "hellod.h"

/* Parse text that must be valid; returns the count. */
static size_t
parse_ok(const char *text, struct listen_addr *out, size_t max)
{
	char	 err[256];
	size_t	 n = 9999;

	err[0] = '\0';
	ck_assert_msg(addr_parse(text, out, max, &n, err, sizeof(err)) == 0,
	    "\"%s\" rejected: %s", text, err);
	ck_assert_uint_le(n, max);
	return (n);
}

/* Parse text that must be rejected with exactly the message want. */
static void
parse_bad(const char *text, size_t max, const char *want)
{
	struct listen_addr	 out[ADDR_MAX + 2];
	char			 err[256];
	size_t			 n = 9999;

	ck_assert_uint_le(max, ADDR_MAX + 2);
	err[0] = '\0';
	ck_assert_msg(addr_parse(text, out, max, &n, err, sizeof(err)) == -1,
	    "\"%s\" accepted", text);
	ck_assert_str_eq(err, want);
	/* The count is left alone on failure. */
	ck_assert_uint_eq(n, 9999);
}

static struct listen_addr
la(const char *text, int port)
{
	struct listen_addr	 a;

	parse_ok(text, &a, 1);
	addr_set_port(&a, port);
	return a;
}

/* Two sockets that would fight over a port, and those that would not. */
START_TEST(test_overlap)
{
	struct listen_addr	 a, b;

	a = la("127.0.0.1", 5000);
	b = la("127.0.0.1", 5000);
	ck_assert(addr_overlap(&a, &b));
	b = la("0.0.0.0", 5000);
	ck_assert(addr_overlap(&a, &b) && addr_overlap(&b, &a));
	b = la("127.0.0.2", 5000);
	ck_assert(!addr_overlap(&a, &b));
	b = la("127.0.0.1", 5001);
	ck_assert(!addr_overlap(&a, &b));
	b = la("::", 5000);			/* V6ONLY: not IPv4's port */
	ck_assert(!addr_overlap(&a, &b));
	a = la("::1", 5000);
	ck_assert(addr_overlap(&a, &b) && addr_overlap(&b, &a));
	b = la("::2", 5000);
	ck_assert(!addr_overlap(&a, &b));
}
END_TEST

START_TEST(test_parse_ipv4)
{
	struct listen_addr		 la[ADDR_MAX];
	const struct sockaddr_in	*sin;
	char				 buf[INET6_ADDRSTRLEN];

	ck_assert_uint_eq(parse_ok("192.0.2.7", la, ADDR_MAX), 1);
	sin = (const struct sockaddr_in *)&la[0].ss;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(la[0].len, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0xc0000207);
	ck_assert_int_eq(sin->sin_port, 0);
	ck_assert_int_eq(la[0].optional, 0);

	ck_assert_uint_eq(parse_ok("0.0.0.0", la, ADDR_MAX), 1);
	ck_assert_str_eq(check_host(&la[0], buf, sizeof(buf)), "0.0.0.0");
	ck_assert_uint_eq(parse_ok("255.255.255.255", la, ADDR_MAX), 1);
	ck_assert_str_eq(check_host(&la[0], buf, sizeof(buf)), "255.255.255.255");
}
END_TEST

START_TEST(test_parse_ipv6)
{
	struct listen_addr		 la[ADDR_MAX];
	const struct sockaddr_in6	*sin6;
	char				 buf[INET6_ADDRSTRLEN];

	ck_assert_uint_eq(parse_ok("::1", la, ADDR_MAX), 1);
	sin6 = (const struct sockaddr_in6 *)&la[0].ss;
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(la[0].len, sizeof(struct sockaddr_in6));
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_int_eq(sin6->sin6_port, 0);
	ck_assert_int_eq(la[0].optional, 0);

	ck_assert_uint_eq(parse_ok("2001:db8::42", la, ADDR_MAX), 1);
	ck_assert_str_eq(check_host(&la[0], buf, sizeof(buf)), "2001:db8::42");
	ck_assert_uint_eq(parse_ok("::", la, ADDR_MAX), 1);
	ck_assert_str_eq(check_host(&la[0], buf, sizeof(buf)), "::");
	/* A v4-mapped address is IPv6, not IPv4. */
	ck_assert_uint_eq(parse_ok("::ffff:192.0.2.1", la, ADDR_MAX), 1);
	ck_assert_int_eq(la[0].ss.ss_family, AF_INET6);
	/* The longest textual form still fits. */
	ck_assert_uint_eq(parse_ok("ffff:ffff:ffff:ffff:ffff:ffff:"
	    "255.255.255.255", la, ADDR_MAX), 1);
	ck_assert_int_eq(la[0].ss.ss_family, AF_INET6);
}
END_TEST

START_TEST(test_parse_bracketed)
{
	struct listen_addr	 la[ADDR_MAX], plain[ADDR_MAX];
	char			 buf[INET6_ADDRSTRLEN];

	ck_assert_uint_eq(parse_ok("[2001:db8::1]", la, ADDR_MAX), 1);
	ck_assert_int_eq(la[0].ss.ss_family, AF_INET6);
	ck_assert_str_eq(check_host(&la[0], buf, sizeof(buf)), "2001:db8::1");
	ck_assert_uint_eq(parse_ok("2001:db8::1", plain, ADDR_MAX), 1);
	ck_assert(addr_equal(&la[0], &plain[0]));

	ck_assert_uint_eq(parse_ok("[::]", la, ADDR_MAX), 1);
	ck_assert_str_eq(check_host(&la[0], buf, sizeof(buf)), "::");
}
END_TEST

START_TEST(test_parse_star)
{
	struct listen_addr	 la[ADDR_MAX];
	char			 buf[INET6_ADDRSTRLEN];

	ck_assert_uint_eq(parse_ok("*", la, ADDR_MAX), 2);
	ck_assert_int_eq(la[0].ss.ss_family, AF_INET);
	ck_assert_str_eq(check_host(&la[0], buf, sizeof(buf)), "0.0.0.0");
	ck_assert_int_eq(la[0].optional, 0);
	ck_assert_int_eq(la[1].ss.ss_family, AF_INET6);
	ck_assert_str_eq(check_host(&la[1], buf, sizeof(buf)), "::");
	ck_assert_int_eq(la[1].optional, 1);

	/* With others, in order; only the IPv6 half of "*" is optional. */
	ck_assert_uint_eq(parse_ok("::1 * 127.0.0.1", la, ADDR_MAX), 4);
	ck_assert_str_eq(check_host(&la[0], buf, sizeof(buf)), "::1");
	ck_assert_str_eq(check_host(&la[1], buf, sizeof(buf)), "0.0.0.0");
	ck_assert_str_eq(check_host(&la[2], buf, sizeof(buf)), "::");
	ck_assert_str_eq(check_host(&la[3], buf, sizeof(buf)), "127.0.0.1");
	ck_assert_int_eq(la[0].optional, 0);
	ck_assert_int_eq(la[1].optional, 0);
	ck_assert_int_eq(la[2].optional, 1);
	ck_assert_int_eq(la[3].optional, 0);

	/* "*" needs room for two. */
	ck_assert_uint_eq(parse_ok("*", la, 2), 2);
	parse_bad("*", 1, "too many addresses (at most 1)");
}
END_TEST

START_TEST(test_parse_list)
{
	static const char	*lists[] = {
		"127.0.0.1,::1,192.0.2.1",
		"127.0.0.1 ::1 192.0.2.1",
		"127.0.0.1, ::1, 192.0.2.1",
		"  127.0.0.1\t,, ::1 ,\t192.0.2.1 ",
		",127.0.0.1 ,::1,192.0.2.1,",
	};
	static const char	*want[] = { "127.0.0.1", "::1", "192.0.2.1" };
	struct listen_addr	 la[ADDR_MAX];
	char			 buf[INET6_ADDRSTRLEN];
	size_t			 i, j, n;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		n = parse_ok(lists[i], la, ADDR_MAX);
		ck_assert_msg(n == 3, "\"%s\": %zu addresses", lists[i], n);
		for (j = 0; j < n; j++)
			ck_assert_str_eq(check_host(&la[j], buf, sizeof(buf)),
			    want[j]);
	}
}
END_TEST

START_TEST(test_parse_bad_tokens)
{
	static const char	*bad[] = {
		"127.0.0.256", "127.0.0", "127.0.0.1.2", "1.2.3.4/24",
		"::1::", "2001:db8:::1", "[::1", "::1]", "[]", "[127.0.0.1]",
		"fe80::1%lo", "127.0.0.1:5000", "[::1]:5000", "**", "-",
		"0x7f000001", "2001:db8::g",
	};
	char			 want[256];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "'%s' is not a numeric IPv4 or "
		    "IPv6 address (or *)", bad[i]);
		parse_bad(bad[i], ADDR_MAX, want);
	}
	/* The bad token is named, not the whole list. */
	parse_bad("127.0.0.1, 10.0.0.300 ::1", ADDR_MAX,
	    "'10.0.0.300' is not a numeric IPv4 or IPv6 address (or *)");
}
END_TEST

START_TEST(test_parse_hostnames)
{
	static const char	*names[] = { "localhost", "example.com",
	    "ip6-localhost", "any" };
	char			 want[256];
	size_t			 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(want, sizeof(want), "'%s' is not a numeric IPv4 or "
		    "IPv6 address (or *)", names[i]);
		parse_bad(names[i], ADDR_MAX, want);
	}
}
END_TEST

START_TEST(test_parse_too_many)
{
	struct listen_addr	 la[ADDR_MAX];
	char			 text[1024], want[64];
	size_t			 i, off = 0;

	for (i = 0; i < ADDR_MAX; i++)
		off += snprintf(text + off, sizeof(text) - off, "%s10.0.0.%zu",
		    i ? ", " : "", i + 1);
	ck_assert_uint_eq(parse_ok(text, la, ADDR_MAX), ADDR_MAX);
	ck_assert_int_eq(ntohl(((struct sockaddr_in *)
	    &la[ADDR_MAX - 1].ss)->sin_addr.s_addr), 0x0a000000 + ADDR_MAX);

	snprintf(want, sizeof(want), "too many addresses (at most %d)",
	    ADDR_MAX);
	snprintf(text + off, sizeof(text) - off, ", 10.0.1.1");
	parse_bad(text, ADDR_MAX, want);

	/* "*" as the 16th token makes 17. */
	off = 0;
	for (i = 0; i < ADDR_MAX - 1; i++)
		off += snprintf(text + off, sizeof(text) - off, "10.0.0.%zu ",
		    i + 1);
	snprintf(text + off, sizeof(text) - off, "*");
	parse_bad(text, ADDR_MAX, want);

	/* A smaller array is honoured too. */
	parse_bad("::1 ::2 ::3", 2, "too many addresses (at most 2)");
}
END_TEST

START_TEST(test_parse_duplicates)
{
	struct listen_addr	 la[ADDR_MAX];

	parse_bad("127.0.0.1 127.0.0.1", ADDR_MAX,
	    "'127.0.0.1' is listed twice");
	parse_bad("::1, 10.0.0.1, 0:0:0:0:0:0:0:1", ADDR_MAX,
	    "'0:0:0:0:0:0:0:1' is listed twice");
	parse_bad("[::1] ::1", ADDR_MAX, "'::1' is listed twice");
	parse_bad("* *", ADDR_MAX, "'*' is listed twice");
	parse_bad("* ::", ADDR_MAX, "'::' is listed twice");
	parse_bad(":: *", ADDR_MAX, "'*' is listed twice");
	parse_bad("* 0.0.0.0", ADDR_MAX, "'0.0.0.0' is listed twice");
	/* Either half of "*" can be the repeated one. */
	parse_bad("0.0.0.0 *", ADDR_MAX, "'*' is listed twice");

	/* Same address in both families is not a duplicate. */
	ck_assert_uint_eq(parse_ok("0.0.0.0 ::", la, ADDR_MAX), 2);
	ck_assert_uint_eq(parse_ok("127.0.0.1 ::ffff:127.0.0.1", la,
	    ADDR_MAX), 2);
}
END_TEST

START_TEST(test_parse_empty)
{
	parse_bad("", ADDR_MAX, "no address given");
	parse_bad(" \t ", ADDR_MAX, "no address given");
	parse_bad(",, ,", ADDR_MAX, "no address given");
}
END_TEST

START_TEST(test_parse_too_long)
{
	char	 text[1100];

	memset(text, ' ', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	memcpy(text, "127.0.0.1", 9);
	parse_bad(text, ADDR_MAX, "address list too long");
}
END_TEST

START_TEST(test_fmt)
{
	struct listen_addr	 la[ADDR_MAX];
	char			 buf[ADDR_STRLEN];

	ck_assert_uint_eq(parse_ok("127.0.0.1 ::1", la, ADDR_MAX), 2);
	addr_set_port(&la[0], 5000);
	addr_set_port(&la[1], 5000);
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&la[0].ss, buf,
	    sizeof(buf)), "127.0.0.1:5000");
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&la[1].ss, buf,
	    sizeof(buf)), "[::1]:5000");
	/* It returns the buffer it was given. */
	ck_assert_ptr_eq(addr_fmt((struct sockaddr *)&la[1].ss, buf,
	    sizeof(buf)), buf);

	ck_assert_uint_eq(parse_ok("*", la, ADDR_MAX), 2);
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&la[0].ss, buf,
	    sizeof(buf)), "0.0.0.0:0");
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&la[1].ss, buf,
	    sizeof(buf)), "[::]:0");
}
END_TEST

START_TEST(test_fmt_longest)
{
	struct listen_addr	 la[1];
	char			 buf[ADDR_STRLEN];

	/* ADDR_STRLEN holds the longest address and port uncut. */
	ck_assert_uint_eq(parse_ok("ffff:ffff:ffff:ffff:ffff:ffff:"
	    "255.255.255.255", la, 1), 1);
	addr_set_port(&la[0], 65535);
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&la[0].ss, buf,
	    sizeof(buf)), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	ck_assert_uint_eq(parse_ok("255.255.255.255", la, 1), 1);
	addr_set_port(&la[0], 65535);
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&la[0].ss, buf,
	    sizeof(buf)), "255.255.255.255:65535");
}
END_TEST

START_TEST(test_fmt_unknown)
{
	struct sockaddr_storage	 ss;
	char			 buf[ADDR_STRLEN];

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "(family 1)");
	ck_assert_int_eq(addr_get_port((struct sockaddr *)&ss), -1);
}
END_TEST

START_TEST(test_port)
{
	struct listen_addr	 la[ADDR_MAX];
	static const int	 ports[] = { 0, 1, 80, 5000, 32768, 65535 };
	size_t			 i, j;

	ck_assert_uint_eq(parse_ok("192.0.2.1 2001:db8::1", la, ADDR_MAX), 2);
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		for (j = 0; j < 2; j++) {
			addr_set_port(&la[j], ports[i]);
			ck_assert_int_eq(addr_get_port(
			    (struct sockaddr *)&la[j].ss), ports[i]);
		}
	}
	/* Network byte order in the socket address itself. */
	addr_set_port(&la[0], 0x1234);
	ck_assert_uint_eq(((struct sockaddr_in *)&la[0].ss)->sin_port,
	    htons(0x1234));
	addr_set_port(&la[1], 0x1234);
	ck_assert_uint_eq(((struct sockaddr_in6 *)&la[1].ss)->sin6_port,
	    htons(0x1234));
}
END_TEST

START_TEST(test_equal)
{
	struct listen_addr	 a[ADDR_MAX], b[ADDR_MAX];

	ck_assert_uint_eq(parse_ok("127.0.0.1 ::1 ::", a, ADDR_MAX), 3);
	ck_assert_uint_eq(parse_ok("127.0.0.1 [::1] 127.0.0.2", b, ADDR_MAX),
	    3);
	ck_assert(addr_equal(&a[0], &b[0]));
	ck_assert(addr_equal(&a[1], &b[1]));
	ck_assert(!addr_equal(&a[0], &b[2]));
	ck_assert(!addr_equal(&a[0], &a[1]));	/* families differ */
	ck_assert(!addr_equal(&a[1], &a[2]));

	/* The port is part of the address. */
	addr_set_port(&a[0], 5000);
	ck_assert(!addr_equal(&a[0], &b[0]));
	addr_set_port(&b[0], 5000);
	ck_assert(addr_equal(&a[0], &b[0]));

	/* The optional flag is not. */
	ck_assert_uint_eq(parse_ok("*", a, ADDR_MAX), 2);
	ck_assert_uint_eq(parse_ok("::", b, ADDR_MAX), 1);
	ck_assert_int_ne(a[1].optional, b[0].optional);
	ck_assert(addr_equal(&a[1], &b[0]));
}
END_TEST

/* Parse prefixes that must be valid; returns the count. */
static size_t
prefix_ok(const char *text, struct addr_prefix *out, size_t max)
{
	char	 err[256];
	size_t	 n = 9999;

	err[0] = '\0';
	ck_assert_msg(addr_prefix_parse(text, out, max, &n, err,
	    sizeof(err)) == 0, "\"%s\" rejected: %s", text, err);
	ck_assert_uint_le(n, max);
	return (n);
}

static void
prefix_bad(const char *text, size_t max, const char *want)
{
	struct addr_prefix	 out[ADDR_PREFIX_MAX + 1];
	char			 err[256];
	size_t			 n = 9999;

	ck_assert_uint_le(max, ADDR_PREFIX_MAX + 1);
	err[0] = '\0';
	ck_assert_msg(addr_prefix_parse(text, out, max, &n, err,
	    sizeof(err)) == -1, "\"%s\" accepted", text);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(n, 9999);
}

/* The prefix as "addr/bits". */
static const char *
prefix_str(const struct addr_prefix *p, char *buf, size_t len)
{
	char	 host[INET6_ADDRSTRLEN];

	ck_assert_ptr_nonnull(inet_ntop(p->family, p->addr, host,
	    sizeof(host)));
	snprintf(buf, len, "%s/%u", host, p->bits);
	return (buf);
}

/* A socket address from text, port 0. */
static const struct sockaddr *
sockaddr_of(const char *host, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, host, &sin6->sin6_addr),
		    1);
		sin6->sin6_family = AF_INET6;
	}
	return ((const struct sockaddr *)ss);
}

static int
matches(const struct addr_prefix *set, size_t n, const char *host)
{
	struct sockaddr_storage	 ss;

	return (addr_prefix_match(set, n, sockaddr_of(host, &ss)));
}

START_TEST(test_prefix_parse)
{
	static const struct {
		const char	*text;
		const char	*want;	/* as inet_ntop() writes it */
		int		 family;
	} ok[] = {
		{ "127.0.0.1", "127.0.0.1/32", AF_INET },
		{ "10.0.0.0/8", "10.0.0.0/8", AF_INET },
		{ "172.16.0.0/12", "172.16.0.0/12", AF_INET },
		{ "192.0.2.128/25", "192.0.2.128/25", AF_INET },
		{ "0.0.0.0/0", "0.0.0.0/0", AF_INET },
		{ "192.0.2.1/32", "192.0.2.1/32", AF_INET },
		{ "::1", "::1/128", AF_INET6 },
		{ "fd00::/8", "fd00::/8", AF_INET6 },
		{ "[2001:db8::]/32", "2001:db8::/32", AF_INET6 },
		{ "[::1]", "::1/128", AF_INET6 },
		{ "::/0", "::/0", AF_INET6 },
		{ "2001:db8::/064", "2001:db8::/64", AF_INET6 },
		/* IPv4-mapped, /96 or more: kept as the IPv4 prefix. */
		{ "::ffff:10.0.0.0/104", "10.0.0.0/8", AF_INET },
		{ "::ffff:192.0.2.1", "192.0.2.1/32", AF_INET },
		{ "::ffff:0.0.0.0/96", "0.0.0.0/0", AF_INET },
	};
	struct addr_prefix	 p[ADDR_PREFIX_MAX];
	char			 buf[64];
	size_t			 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_uint_eq(prefix_ok(ok[i].text, p, ADDR_PREFIX_MAX),
		    1);
		ck_assert_int_eq(p[0].family, ok[i].family);
		ck_assert_str_eq(prefix_str(&p[0], buf, sizeof(buf)),
		    ok[i].want);
	}
	/* Shorter than /96, a mapped prefix stays IPv6. */
	ck_assert_uint_eq(prefix_ok("::fffe:0:0/95", p, ADDR_PREFIX_MAX), 1);
	ck_assert_int_eq(p[0].family, AF_INET6);
	ck_assert_uint_eq(p[0].bits, 95);

	/* Lists as "bind" takes them, in order. */
	ck_assert_uint_eq(prefix_ok("127.0.0.1 10.0.0.0/8 ::1 fd00::/8", p,
	    ADDR_PREFIX_MAX), 4);
	ck_assert_str_eq(prefix_str(&p[1], buf, sizeof(buf)), "10.0.0.0/8");
	ck_assert_str_eq(prefix_str(&p[3], buf, sizeof(buf)), "fd00::/8");
	ck_assert_uint_eq(prefix_ok(" ,127.0.0.1,\t::1 , 10.0.0.0/8,", p,
	    ADDR_PREFIX_MAX), 3);
	ck_assert_str_eq(prefix_str(&p[2], buf, sizeof(buf)), "10.0.0.0/8");
	/* Overlapping is fine, only the very same prefix is a repeat. */
	ck_assert_uint_eq(prefix_ok("10.0.0.0/8 10.0.0.0/16 10.0.0.1", p,
	    ADDR_PREFIX_MAX), 3);
}
END_TEST

START_TEST(test_prefix_bad)
{
	static const char	*notaddr[] = { "localhost", "*", "10.0.0",
	    "10.0.0.256", "1.2.3.4.5", "::1::", "[::1", "[10.0.0.1]",
	    "fe80::1%lo", "/8", "10.0.0.0:8", "0x0a000000" };
	struct addr_prefix	 p[ADDR_PREFIX_MAX];
	char			 want[256], text[4096];
	size_t			 i, off;

	for (i = 0; i < sizeof(notaddr) / sizeof(notaddr[0]); i++) {
		snprintf(want, sizeof(want), "'%s' is not a numeric IPv4 or "
		    "IPv6 address or ADDR/LEN prefix", notaddr[i]);
		prefix_bad(notaddr[i], ADDR_PREFIX_MAX, want);
	}
	/* Prefix lengths. */
	prefix_bad("10.0.0.0/33", ADDR_PREFIX_MAX,
	    "'10.0.0.0/33': the prefix length is not 0 to 32");
	prefix_bad("::/129", ADDR_PREFIX_MAX,
	    "'::/129': the prefix length is not 0 to 128");
	prefix_bad("10.0.0.0/", ADDR_PREFIX_MAX,
	    "'10.0.0.0/': the prefix length is not 0 to 32");
	prefix_bad("10.0.0.0/-8", ADDR_PREFIX_MAX,
	    "'10.0.0.0/-8': the prefix length is not 0 to 32");
	prefix_bad("10.0.0.0/+8", ADDR_PREFIX_MAX,
	    "'10.0.0.0/+8': the prefix length is not 0 to 32");
	prefix_bad("10.0.0.0/8a", ADDR_PREFIX_MAX,
	    "'10.0.0.0/8a': the prefix length is not 0 to 32");
	prefix_bad("10.0.0.0/8/8", ADDR_PREFIX_MAX,
	    "'10.0.0.0/8/8': the prefix length is not 0 to 32");
	prefix_bad("::/0128", ADDR_PREFIX_MAX,
	    "'::/0128': the prefix length is not 0 to 128");
	prefix_bad("10.0.0.0/99999999999", ADDR_PREFIX_MAX,
	    "'10.0.0.0/99999999999': the prefix length is not 0 to 32");
	/* Host bits: a typo more often than not, so refused. */
	prefix_bad("10.1.0.0/8", ADDR_PREFIX_MAX, "'10.1.0.0/8' has bits set "
	    "past the prefix length (the network is 10.0.0.0/8)");
	prefix_bad("192.0.2.1/31", ADDR_PREFIX_MAX, "'192.0.2.1/31' has bits "
	    "set past the prefix length (the network is 192.0.2.0/31)");
	prefix_bad("127.0.0.1/0", ADDR_PREFIX_MAX, "'127.0.0.1/0' has bits "
	    "set past the prefix length (the network is 0.0.0.0/0)");
	prefix_bad("fd00::1/8", ADDR_PREFIX_MAX, "'fd00::1/8' has bits set "
	    "past the prefix length (the network is fd00::/8)");
	prefix_bad("::ffff:0:0/95", ADDR_PREFIX_MAX, "'::ffff:0:0/95' has "
	    "bits set past the prefix length (the network is ::fffe:0:0/95)");
	/* Repeats, also when written another way. */
	prefix_bad("::1 ::1", ADDR_PREFIX_MAX, "'::1' is listed twice");
	prefix_bad("10.0.0.0/8, 10.0.0.0/8", ADDR_PREFIX_MAX,
	    "'10.0.0.0/8' is listed twice");
	prefix_bad("127.0.0.1 127.0.0.1/32", ADDR_PREFIX_MAX,
	    "'127.0.0.1/32' is listed twice");
	prefix_bad("127.0.0.1 ::ffff:127.0.0.1", ADDR_PREFIX_MAX,
	    "'::ffff:127.0.0.1' is listed twice");
	prefix_bad("::1 [0::1]/128", ADDR_PREFIX_MAX,
	    "'[0::1]/128' is listed twice");
	/* Nothing, or too much. */
	prefix_bad("", ADDR_PREFIX_MAX, "no address given");
	prefix_bad(" , \t,", ADDR_PREFIX_MAX, "no address given");
	prefix_bad("::1 ::2 ::3", 2, "too many prefixes (at most 2)");
	for (i = 0, off = 0; i <= ADDR_PREFIX_MAX; i++)
		off += snprintf(text + off, sizeof(text) - off,
		    "2001:db8:0:%zu::/64 ", i);
	snprintf(want, sizeof(want), "too many prefixes (at most %d)",
	    ADDR_PREFIX_MAX);
	prefix_bad(text, ADDR_PREFIX_MAX, want);
	/* One less fits: a long list is not cut short, as "bind"'s is. */
	text[strlen(text) - strlen("2001:db8:0:64::/64 ")] = '\0';
	ck_assert_uint_gt(strlen(text), 1024);
	ck_assert_uint_eq(prefix_ok(text, p, ADDR_PREFIX_MAX), ADDR_PREFIX_MAX);
	/* A token too long for any address. */
	memset(text, '1', 300);
	text[300] = '\0';
	snprintf(want, sizeof(want), "'%s' is not a numeric IPv4 or IPv6 "
	    "address or ADDR/LEN prefix", text);
	prefix_bad(text, ADDR_PREFIX_MAX, want);
}
END_TEST

START_TEST(test_prefix_match)
{
	struct addr_prefix	 p[ADDR_PREFIX_MAX];
	struct sockaddr_storage	 ss;
	size_t			 n;

	n = prefix_ok("127.0.0.1 10.0.0.0/8 172.16.0.0/12 ::1 fd00::/8 "
	    "2001:db8:0:1::/64", p, ADDR_PREFIX_MAX);
	ck_assert(matches(p, n, "127.0.0.1"));
	ck_assert(!matches(p, n, "127.0.0.2"));
	ck_assert(matches(p, n, "10.0.0.0"));
	ck_assert(matches(p, n, "10.255.255.255"));
	ck_assert(!matches(p, n, "11.0.0.0"));
	ck_assert(!matches(p, n, "9.255.255.255"));
	/* A /12 ends inside a byte. */
	ck_assert(matches(p, n, "172.16.0.1"));
	ck_assert(matches(p, n, "172.31.255.255"));
	ck_assert(!matches(p, n, "172.32.0.0"));
	ck_assert(!matches(p, n, "172.15.255.255"));
	ck_assert(matches(p, n, "::1"));
	ck_assert(!matches(p, n, "::2"));
	ck_assert(matches(p, n, "fd12:3456::1"));
	ck_assert(!matches(p, n, "fc00::1"));
	ck_assert(!matches(p, n, "fe00::1"));
	ck_assert(matches(p, n, "2001:db8:0:1:ffff:ffff:ffff:ffff"));
	ck_assert(!matches(p, n, "2001:db8:0:2::"));
	/* IPv4 on a dual-stack socket: matched as IPv4. */
	ck_assert(matches(p, n, "::ffff:127.0.0.1"));
	ck_assert(matches(p, n, "::ffff:10.1.2.3"));
	ck_assert(!matches(p, n, "::ffff:11.1.2.3"));
	/* Not IPv4-compatible or other embeddings. */
	ck_assert(!matches(p, n, "::127.0.0.1"));
	ck_assert(!matches(p, n, "64:ff9b::10.1.2.3"));
	/* No prefixes, no match; no IP address, no match. */
	ck_assert(!matches(p, 0, "127.0.0.1"));
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert(!addr_prefix_match(p, n, (struct sockaddr *)&ss));

	/* /0 is a whole family, and only that one. */
	n = prefix_ok("0.0.0.0/0", p, ADDR_PREFIX_MAX);
	ck_assert(matches(p, n, "255.255.255.255"));
	ck_assert(matches(p, n, "::ffff:1.2.3.4"));
	ck_assert(!matches(p, n, "::1"));
	n = prefix_ok("::/0", p, ADDR_PREFIX_MAX);
	ck_assert(matches(p, n, "::1"));
	ck_assert(matches(p, n, "::ffff:1.2.3.4"));
	ck_assert(!matches(p, n, "1.2.3.4"));
	/* A mapped prefix trusts plain IPv4 peers. */
	n = prefix_ok("::ffff:192.0.2.0/120", p, ADDR_PREFIX_MAX);
	ck_assert(matches(p, n, "192.0.2.77"));
	ck_assert(matches(p, n, "::ffff:192.0.2.77"));
	ck_assert(!matches(p, n, "192.0.3.1"));
}
END_TEST

/* Every prefix length, at both edges of the network. */
START_TEST(test_prefix_every_length)
{
	struct addr_prefix	 p[1];
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6;
	char			 text[64];
	unsigned		 bits;
	size_t			 n;

	for (bits = 0; bits <= 128; bits++) {
		snprintf(text, sizeof(text), "2001:db8::/%u", bits);
		if (bits < 29) {
			/* 2001:db8:: has bits set past a short length. */
			snprintf(text, sizeof(text), "::/%u", bits);
		}
		n = prefix_ok(text, p, 1);
		sockaddr_of(bits < 29 ? "::" : "2001:db8::", &ss);
		sin6 = (struct sockaddr_in6 *)&ss;
		ck_assert(addr_prefix_match(p, n, (struct sockaddr *)&ss));
		/* The last bit inside the prefix, flipped: out. */
		if (bits > 0) {
			sin6->sin6_addr.s6_addr[(bits - 1) / 8] ^=
			    0x80 >> ((bits - 1) % 8);
			ck_assert_msg(!addr_prefix_match(p, n,
			    (struct sockaddr *)&ss), "%s", text);
			sin6->sin6_addr.s6_addr[(bits - 1) / 8] ^=
			    0x80 >> ((bits - 1) % 8);
		}
		/* The first bit past it: still in. */
		if (bits < 128) {
			sin6->sin6_addr.s6_addr[bits / 8] ^= 0x80 >> (bits % 8);
			ck_assert_msg(addr_prefix_match(p, n,
			    (struct sockaddr *)&ss), "%s", text);
		}
	}
}
END_TEST

static void
source_of(const char *host, struct addr_source *key)
{
	struct sockaddr_storage	 ss;

	addr_source_key(sockaddr_of(host, &ss), key);
}

START_TEST(test_source_key)
{
	struct addr_source	 a, b;
	struct sockaddr_storage	 ss;
	char			 buf[ADDR_STRLEN];

	/* IPv4: the address. */
	source_of("192.0.2.1", &a);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_str_eq(addr_source_fmt(&a, buf, sizeof(buf)), "192.0.2.1");
	source_of("192.0.2.2", &b);
	ck_assert(!addr_source_equal(&a, &b));
	/* The port is not part of it. */
	sockaddr_of("192.0.2.1", &ss);
	((struct sockaddr_in *)&ss)->sin_port = htons(4242);
	addr_source_key((struct sockaddr *)&ss, &b);
	ck_assert(addr_source_equal(&a, &b));
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	/* IPv4-mapped is the same IPv4 source. */
	source_of("::ffff:192.0.2.1", &b);
	ck_assert_int_eq(b.family, AF_INET);
	ck_assert(addr_source_equal(&a, &b));
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);

	/* IPv6: the /64, whatever the interface identifier. */
	source_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd", &a);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_str_eq(addr_source_fmt(&a, buf, sizeof(buf)),
	    "2001:db8:1:2::/64");
	source_of("2001:db8:1:2::1", &b);
	ck_assert(addr_source_equal(&a, &b));
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	source_of("2001:db8:1:3::1", &b);
	ck_assert(!addr_source_equal(&a, &b));
	source_of("::1", &a);
	ck_assert_str_eq(addr_source_fmt(&a, buf, sizeof(buf)), "::/64");
	/* Same bytes, other family: another source. */
	source_of("192.0.2.1", &a);
	source_of("c000:201::", &b);
	ck_assert_int_eq(memcmp(a.addr, b.addr, sizeof(a.addr)), 0);
	ck_assert(!addr_source_equal(&a, &b));

	/* No IP address: a key of its own, all zeros. */
	memset(&ss, 0xff, sizeof(ss));
	ss.ss_family = AF_UNIX;
	addr_source_key((struct sockaddr *)&ss, &a);
	ck_assert_int_eq(a.family, AF_UNSPEC);
	ck_assert_str_eq(addr_source_fmt(&a, buf, sizeof(buf)),
	    "(no address)");
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);

	/* The longest form fits ADDR_STRLEN. */
	source_of("ffff:ffff:ffff:ffff::", &a);
	ck_assert_str_eq(addr_source_fmt(&a, buf, sizeof(buf)),
	    "ffff:ffff:ffff:ffff::/64");
}
END_TEST

START_TEST(test_source_hash)
{
	struct addr_source	 a, b;
	char			 host[64];
	uint32_t		 h[256];
	size_t			 i, j, same = 0;

	source_of("2001:db8:1:2::1", &a);
	source_of("2001:db8:1:2::2", &b);
	ck_assert_uint_eq(addr_source_hash(&a, 1), addr_source_hash(&b, 1));
	/* The seed changes it. */
	ck_assert_uint_ne(addr_source_hash(&a, 1), addr_source_hash(&a, 2));
	/* Neighbouring sources spread over the low bits a table uses. */
	for (i = 0; i < 256; i++) {
		snprintf(host, sizeof(host), "10.0.0.%zu", i);
		source_of(host, &a);
		h[i] = addr_source_hash(&a, 0x12345678U);
	}
	for (i = 0; i < 256; i++)
		for (j = i + 1; j < 256; j++)
			same += (h[i] & 0xff) == (h[j] & 0xff);
	/* About 128 pairs collide in 8 bits by chance; all would be 32640. */
	ck_assert_uint_lt(same, 400);
}
END_TEST

Suite *
addr_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("addr");

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_ipv4);
	tcase_add_test(tc, test_overlap);
	tcase_add_test(tc, test_parse_ipv6);
	tcase_add_test(tc, test_parse_bracketed);
	tcase_add_test(tc, test_parse_star);
	tcase_add_test(tc, test_parse_list);
	tcase_add_test(tc, test_parse_bad_tokens);
	tcase_add_test(tc, test_parse_hostnames);
	tcase_add_test(tc, test_parse_too_many);
	tcase_add_test(tc, test_parse_duplicates);
	tcase_add_test(tc, test_parse_empty);
	tcase_add_test(tc, test_parse_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, test_fmt);
	tcase_add_test(tc, test_fmt_longest);
	tcase_add_test(tc, test_fmt_unknown);
	tcase_add_test(tc, test_port);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);

	tc = tcase_create("prefix");
	tcase_add_test(tc, test_prefix_parse);
	tcase_add_test(tc, test_prefix_bad);
	tcase_add_test(tc, test_prefix_match);
	tcase_add_test(tc, test_prefix_every_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("source");
	tcase_add_test(tc, test_source_key);
	tcase_add_test(tc, test_source_hash);
	suite_add_tcase(s, tc);

	return (s);
}
