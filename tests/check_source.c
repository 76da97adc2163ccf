/* SPDX-License-Identifier: ISC */
/*
 * check_source.c: the table of connections open per source (src/source.c)
 * that max_connections_per_source is enforced with.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "check_hellod.h"
#include "hellod.h"

static struct addr_source
key4(const char *a)
{
	struct sockaddr_in	 sin;
	struct addr_source	 k;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, a, &sin.sin_addr), 1);
	addr_source_key((struct sockaddr *)&sin, &k);
	return k;
}

static struct addr_source
key6(const char *a)
{
	struct sockaddr_in6	 sin6;
	struct addr_source	 k;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, a, &sin6.sin6_addr), 1);
	addr_source_key((struct sockaddr *)&sin6, &k);
	return k;
}

START_TEST(test_source_limit)
{
	struct source_table	*t = source_table_new();
	struct addr_source	 a = key4("192.0.2.1"), b = key4("192.0.2.2");
	size_t			 entries;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(source_take(t, &a, 2), 0);
	ck_assert_int_eq(source_take(t, &a, 2), 0);
	ck_assert_int_eq(source_take(t, &a, 2), -1);	/* the third */
	ck_assert_int_eq(source_take(t, &b, 2), 0);	/* others unaffected */
	ck_assert_uint_eq(source_count(t, &a, &entries), 2);
	ck_assert_uint_eq(entries, 2);
	source_release(t, &a);
	ck_assert_int_eq(source_take(t, &a, 2), 0);	/* a slot again */
	source_release(t, &a);
	source_release(t, &a);
	source_release(t, &b);
	/* A source with nothing open leaves no entry behind. */
	ck_assert_uint_eq(source_count(t, &a, &entries), 0);
	ck_assert_uint_eq(entries, 0);
	/* Releasing what is not there changes nothing. */
	source_release(t, &a);
	ck_assert_uint_eq(source_count(t, &a, &entries), 0);
	source_table_free(t);
}
END_TEST

/* With no cap every connection is still counted, and a cap given later
 * holds against what is open already. */
START_TEST(test_source_counted_without_cap)
{
	struct source_table	*t = source_table_new();
	struct addr_source	 a = key4("192.0.2.1");
	int			 i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(source_take(t, &a, 0), 0);
	ck_assert_uint_eq(source_count(t, &a, NULL), 6);
	ck_assert_int_eq(source_take(t, &a, 2), -1);	/* over the new cap */
	for (i = 0; i < 5; i++)
		source_release(t, &a);
	ck_assert_int_eq(source_take(t, &a, 2), 0);	/* one below it */
	ck_assert_uint_eq(source_count(t, &a, NULL), 2);
	source_table_free(t);
}
END_TEST

/* An IPv6 /64 is one source; the next /64 another. */
START_TEST(test_source_v6_64)
{
	struct source_table	*t = source_table_new();
	struct addr_source	 a = key6("2001:db8:1:2::1");
	struct addr_source	 a2 = key6("2001:db8:1:2:ffff:ffff:ffff:ffff");
	struct addr_source	 c = key6("2001:db8:1:3::1");

	ck_assert_int_eq(source_take(t, &a, 1), 0);
	ck_assert_int_eq(source_take(t, &a2, 1), -1);
	ck_assert_int_eq(source_take(t, &c, 1), 0);
	source_table_free(t);	/* frees what is still counted */
}
END_TEST

/* Many sources, many in each bucket: every count kept apart. */
START_TEST(test_source_many)
{
	struct source_table	*t = source_table_new();
	struct addr_source	 k;
	char			 a[32];
	size_t			 entries;
	int			 i;

	for (i = 0; i < 3 * SOURCE_BUCKETS; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
		    i & 255);
		k = key4(a);
		ck_assert_int_eq(source_take(t, &k, 3), 0);
		if (i % 2 == 0)
			ck_assert_int_eq(source_take(t, &k, 3), 0);
	}
	ck_assert_uint_eq(source_count(t, &k, &entries), 1);
	ck_assert_uint_eq(entries, 3 * SOURCE_BUCKETS);
	for (i = 0; i < 3 * SOURCE_BUCKETS; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
		    i & 255);
		k = key4(a);
		ck_assert_uint_eq(source_count(t, &k, NULL), i % 2 == 0 ? 2 :
		    1);
		source_release(t, &k);
		if (i % 2 == 0)
			source_release(t, &k);
	}
	ck_assert_uint_eq(source_count(t, &k, &entries), 0);
	ck_assert_uint_eq(entries, 0);
	source_table_free(t);
}
END_TEST

Suite *
source_suite(void)
{
	Suite	*s = suite_create("source");
	TCase	*tc = tcase_create("table");

	tcase_add_test(tc, test_source_limit);
	tcase_add_test(tc, test_source_counted_without_cap);
	tcase_add_test(tc, test_source_v6_64);
	tcase_add_test(tc, test_source_many);
	suite_add_tcase(s, tc);
	return s;
}
