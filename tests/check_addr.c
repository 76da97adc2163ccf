/*
 * check_addr.c: the "bind" value parser and the address helpers in
 * src/addr.c.
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

Suite *
addr_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("addr");

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_ipv4);
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

	return (s);
}
