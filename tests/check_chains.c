/* SPDX-License-Identifier: ISC */
/*
 * check_chains.c: framing over an input buffer's chains (frame_evbuffer())
 * and the reply budget (frame_budget()), as conn.c uses them.
 *
 * An evbuffer built with evbuffer_add_reference() keeps every piece in a
 * chain of its own, so a test can cut the input wherever it likes, into
 * more chains than one evbuffer_peek() looks at.  The reference is always
 * frame_feed_n() over the whole input at once.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "check_hellod.h"
#include "hellod.h"

#define RANDOM_SEED	0x63686e73U
#define RANDOM_ROUNDS	3000
#define RANDOM_LEN_MAX	200
#define PIECES_MAX	(3 * FRAME_IOV)

/* An evbuffer holding buf cut at the given points, one chain per piece. */
static struct evbuffer *
chained(const char *buf, size_t len, const size_t *cuts, size_t ncuts)
{
	struct evbuffer	*in = evbuffer_new();
	size_t		 a = 0, b, i;

	ck_assert_ptr_nonnull(in);
	for (i = 0; i <= ncuts; i++) {
		b = i < ncuts ? cuts[i] : len;
		if (b > a)
			ck_assert_int_eq(evbuffer_add_reference(in, buf + a,
			    b - a, NULL, NULL), 0);
		a = b;
	}
	return in;
}

START_TEST(test_chains_fixed)
{
	static const char	 buf[] = "ab" "c\nde" "\r" "\nf\n" "gh";
	static const size_t	 cuts[] = { 2, 6, 7, 10 };
	struct evbuffer		*in = chained(buf, sizeof(buf) - 1, cuts, 4);
	struct frame		 f = { 0, 0 };
	size_t			 lines, used;

	ck_assert_int_eq(evbuffer_peek(in, -1, NULL, NULL, 0), 5);
	ck_assert_int_eq(frame_evbuffer(&f, in, 100, SIZE_MAX, &lines, &used),
	    FRAME_OK);
	ck_assert_uint_eq(lines, 3);
	ck_assert_uint_eq(used, sizeof(buf) - 1);
	ck_assert_uint_eq(f.partial, 2);
	/* Nothing is drained by the framer itself. */
	ck_assert_uint_eq(evbuffer_get_length(in), sizeof(buf) - 1);
	evbuffer_free(in);
}
END_TEST

/* A budget stops right after the last line it allows, mid-chain. */
START_TEST(test_chains_budget_stops)
{
	static const char	 buf[] = "a\nb\nc\nd\n";
	static const size_t	 cuts[] = { 3, 5 };
	struct evbuffer		*in = chained(buf, sizeof(buf) - 1, cuts, 2);
	struct frame		 f = { 0, 0 };
	size_t			 lines, used;

	ck_assert_int_eq(frame_evbuffer(&f, in, 100, 2, &lines, &used),
	    FRAME_OK);
	ck_assert_uint_eq(lines, 2);
	ck_assert_uint_eq(used, 4);
	/* What was held back is answered on the next call. */
	evbuffer_drain(in, used);
	ck_assert_int_eq(frame_evbuffer(&f, in, 100, 5, &lines, &used),
	    FRAME_OK);
	ck_assert_uint_eq(lines, 2);
	ck_assert_uint_eq(used, 4);
	evbuffer_drain(in, used);
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
	ck_assert_int_eq(frame_evbuffer(&f, in, 100, 5, &lines, &used),
	    FRAME_OK);
	ck_assert_uint_eq(lines + used, 0);
	evbuffer_free(in);
}
END_TEST

/*
 * A long line has no reply yet, so a budget of one line must not slow its
 * reading: every byte of it is taken, whatever the budget.
 */
START_TEST(test_chains_long_line_taken_whole)
{
	char		*buf;
	size_t		 cuts[PIECES_MAX], i, lines, used, len = 100000;
	struct evbuffer	*in;
	struct frame	 f = { 0, 0 };

	ck_assert_ptr_nonnull(buf = malloc(len));
	memset(buf, 'x', len);
	for (i = 0; i < PIECES_MAX; i++)
		cuts[i] = (i + 1) * (len / (PIECES_MAX + 1));
	in = chained(buf, len, cuts, PIECES_MAX);
	ck_assert_int_eq(frame_evbuffer(&f, in, 1 << 20, 1, &lines, &used),
	    FRAME_OK);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(used, len);
	ck_assert_uint_eq(f.partial, len);
	evbuffer_free(in);
	free(buf);
}
END_TEST

START_TEST(test_chains_too_long)
{
	static const char	 buf[] = "ok\n" "toolong" "line\nnext\n";
	static const size_t	 cuts[] = { 3, 10 };
	struct evbuffer		*in = chained(buf, sizeof(buf) - 1, cuts, 2);
	struct frame		 f = { 0, 0 };
	size_t			 lines, used;

	ck_assert_int_eq(frame_evbuffer(&f, in, 5, SIZE_MAX, &lines, &used),
	    FRAME_TOO_LONG);
	ck_assert_uint_eq(lines, 1);
	ck_assert_uint_eq(used, 3);
	evbuffer_free(in);
}
END_TEST

/* Random inputs, cuts and budgets against frame_feed_n() on the whole. */
START_TEST(test_chains_random)
{
	static const char	 alphabet[] = "ab\r\n\n";
	char			 buf[RANDOM_LEN_MAX];
	size_t			 cuts[PIECES_MAX], len, ncuts, i, max, budget;
	size_t			 lines, used, rlines, rused;
	struct frame		 f, rf;
	struct evbuffer		*in;
	enum frame_status	 st, rst;
	unsigned		 seed = RANDOM_SEED;
	int			 round;

	for (round = 0; round < RANDOM_ROUNDS; round++) {
		len = 1 + rand_r(&seed) % RANDOM_LEN_MAX;
		for (i = 0; i < len; i++)
			buf[i] = alphabet[rand_r(&seed) %
			    (sizeof(alphabet) - 1)];
		ncuts = rand_r(&seed) % (PIECES_MAX + 1);
		for (i = 0; i < ncuts; i++)
			cuts[i] = rand_r(&seed) % (len + 1);
		/* Cuts in order; equal ones make no empty chain. */
		for (i = 1; i < ncuts; i++)
			if (cuts[i] < cuts[i - 1])
				cuts[i] = cuts[i - 1];
		max = rand_r(&seed) % 8;
		budget = rand_r(&seed) % 4 == 0 ? SIZE_MAX :
		    (size_t)rand_r(&seed) % 10;
		memset(&f, 0, sizeof(f));
		memset(&rf, 0, sizeof(rf));
		in = chained(buf, len, cuts, ncuts);
		st = frame_evbuffer(&f, in, max, budget, &lines, &used);
		rst = frame_feed_n(&rf, buf, len, max, budget, &rlines, &rused);
		ck_assert_msg(st == rst && lines == rlines, "round %d: got "
		    "%d/%zu, want %d/%zu", round, st, lines, rst, rlines);
		/* A too long line may have begun in an earlier chain, taken
		 * already, as with frame_feed() across reads; the caller
		 * closes then, so only the good lines before it matter. */
		if (st == FRAME_TOO_LONG)
			ck_assert_msg(used >= rused && used <= len,
			    "round %d: used %zu, want %zu..%zu", round, used,
			    rused, len);
		else
			ck_assert_msg(used == rused && f.partial ==
			    rf.partial && f.last_cr == rf.last_cr,
			    "round %d: used %zu, want %zu", round, used, rused);
		ck_assert_uint_le(lines, budget);
		evbuffer_free(in);
	}
}
END_TEST

START_TEST(test_budget)
{
	/* The default config: 64k of 12-byte replies, and one more. */
	ck_assert_uint_eq(frame_budget(0, 65536, 12), 65536 / 12 + 1);
	ck_assert_uint_eq(frame_budget(65535, 65536, 12), 1);
	ck_assert_uint_eq(frame_budget(65536, 65536, 12), 0);
	ck_assert_uint_eq(frame_budget(70000, 65536, 12), 0);
	/* A reply almost as long as max_output: still lines, not bytes. */
	ck_assert_uint_eq(frame_budget(0, 1024, 1001), 2);
	ck_assert_uint_eq(frame_budget(1001, 1024, 1001), 1);
	/* Longer than max_output: one at a time, never none while empty. */
	ck_assert_uint_eq(frame_budget(0, 1024, 5000), 1);
	ck_assert_uint_eq(frame_budget(0, 1024, 0), 0);
}
END_TEST

Suite *
chains_suite(void)
{
	Suite	*s = suite_create("chains");
	TCase	*tc = tcase_create("frame_evbuffer");

	tcase_add_test(tc, test_chains_fixed);
	tcase_add_test(tc, test_chains_budget_stops);
	tcase_add_test(tc, test_chains_long_line_taken_whole);
	tcase_add_test(tc, test_chains_too_long);
	tcase_add_test(tc, test_chains_random);
	tcase_add_test(tc, test_budget);
	suite_add_tcase(s, tc);
	return s;
}
