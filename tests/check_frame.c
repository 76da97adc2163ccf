/* SPDX-License-Identifier: ISC */
/*
 * check_frame.c: line framing in src/frame.c: over a buffer
 * (frame_feed()), over an evbuffer's chains (frame_evbuffer()), and the
 * reply budget (frame_budget()).
 *
 * The framer sees a byte stream cut wherever the network cut it, so most
 * tests feed the same input in many ways and compare with ref_scan(), a
 * plain count over the whole input at once.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "check_hellod.h"
#include "hellod.h"

/* A fixed seed, so every run feeds the same inputs. */
#define RANDOM_SEED	0x68656c6cU
#define RANDOM_ROUNDS	5000
#define RANDOM_LEN_MAX	300
#define RANDOM_CUTS_MAX	12

/* What a whole input should give, worked out in one pass. */
struct ref {
	enum frame_status status;
	size_t		 lines;		/* good lines */
	size_t		 bad_start;	/* TOO_LONG: the bad line */
	size_t		 bad_end;	/* its LF, or the input's end */
	int		 owed;		/* OK: partial line at EOF */
};

/* What frame_feed() gave, fed in chunks. */
struct fed {
	enum frame_status status;
	size_t		 lines;
	size_t		 consumed;	/* bytes taken in all */
	size_t		 fail_start;	/* TOO_LONG: chunk start */
	int		 owed;		/* frame_eof() at the end */
};

static void
ref_scan(const char *buf, size_t len, size_t max, struct ref *r)
{
	size_t	 start = 0, i, linelen;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		linelen = i - start;
		if (linelen > 0 && buf[i - 1] == '\r')
			linelen--;
		if (linelen > max) {
			r->status = FRAME_TOO_LONG;
			r->bad_start = start;
			r->bad_end = i;
			return;
		}
		r->lines++;
		start = i + 1;
	}
	/* The unfinished line: a last CR may be half of a CRLF. */
	linelen = len - start;
	if (linelen > 0 && linelen > max + (buf[len - 1] == '\r')) {
		r->status = FRAME_TOO_LONG;
		r->bad_start = start;
		r->bad_end = len;
		return;
	}
	r->status = FRAME_OK;
	r->owed = linelen > 0;
}

/*
 * Feed buf in chunks ending at the ncuts offsets in cuts (ascending, each
 * at most len) and then at len.
 */
static void
feed_chunks(const char *buf, size_t len, size_t max, const size_t *cuts,
    size_t ncuts, struct fed *out)
{
	struct frame		 f;
	enum frame_status	 st;
	size_t			 i, a, b, n, used;

	memset(&f, 0, sizeof(f));
	memset(out, 0, sizeof(*out));
	for (i = 0, a = 0; i <= ncuts; i++, a = b) {
		b = i < ncuts ? cuts[i] : len;
		ck_assert_uint_le(a, b);
		n = used = 12345;
		st = frame_feed(&f, buf + a, b - a, max, &n, &used);
		out->lines += n;
		if (st == FRAME_TOO_LONG) {
			ck_assert_uint_le(used, b - a);
			out->status = st;
			out->consumed = a + used;
			out->fail_start = a;
			return;
		}
		ck_assert_int_eq(st, FRAME_OK);
		ck_assert_uint_eq(used, b - a);
	}
	out->status = FRAME_OK;
	out->consumed = len;
	out->owed = frame_eof(&f);
	/* EOF starts afresh. */
	ck_assert_uint_eq(f.partial, 0);
	ck_assert_int_eq(f.last_cr, 0);
}

/* Feed in the given chunks and compare with the one-pass count. */
static void
check_cuts(const char *buf, size_t len, size_t max, const size_t *cuts,
    size_t ncuts)
{
	struct ref	 r;
	struct fed	 fed;
	size_t		 seen, want;

	ref_scan(buf, len, max, &r);
	feed_chunks(buf, len, max, cuts, ncuts, &fed);
	ck_assert_msg(fed.status == r.status, "len %zu max %zu cuts %zu: "
	    "status %d, want %d", len, max, ncuts, fed.status, r.status);
	ck_assert_msg(fed.lines == r.lines, "len %zu max %zu cuts %zu: "
	    "%zu lines, want %zu", len, max, ncuts, fed.lines, r.lines);
	if (r.status == FRAME_OK) {
		ck_assert_uint_eq(fed.consumed, len);
		ck_assert_int_eq(fed.owed, r.owed);
		return;
	}
	/* Everything before the bad line was taken, and nothing after. */
	want = fed.fail_start > r.bad_start ? fed.fail_start : r.bad_start;
	ck_assert_uint_eq(fed.consumed, want);
	/* Found in the chunk that completes the evidence, not later. */
	ck_assert_uint_le(fed.fail_start, r.bad_end);
	if (fed.fail_start > r.bad_start) {
		seen = fed.fail_start - r.bad_start;
		ck_assert_msg(seen <= max + (buf[fed.fail_start - 1] == '\r'),
		    "%zu bytes of a bad line seen before it was found (max "
		    "%zu)", seen, max);
	}
}

/* One feed of a string; checks *used and returns the line count. */
static size_t
feed_str(struct frame *f, const char *s, size_t max, enum frame_status want)
{
	enum frame_status	 st;
	size_t			 lines, used;

	st = frame_feed(f, s, strlen(s), max, &lines, &used);
	ck_assert_msg(st == want, "%zu-byte feed: status %d, want %d",
	    strlen(s), st, want);
	if (st == FRAME_OK)
		ck_assert_uint_eq(used, strlen(s));
	return (lines);
}

START_TEST(test_lf)
{
	struct frame	 f;

	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "a\nbb\nccc\n", 8, FRAME_OK), 3);
	ck_assert_uint_eq(f.partial, 0);
	ck_assert_uint_eq(feed_str(&f, "hello", 8, FRAME_OK), 0);
	ck_assert_uint_eq(f.partial, 5);
	ck_assert_int_eq(f.last_cr, 0);
	ck_assert_uint_eq(feed_str(&f, "\n", 8, FRAME_OK), 1);
	ck_assert_uint_eq(f.partial, 0);
	ck_assert_int_eq(frame_eof(&f), 0);
}
END_TEST

START_TEST(test_crlf)
{
	struct frame	 f;

	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "a\r\nbb\r\n", 8, FRAME_OK), 2);
	ck_assert_uint_eq(f.partial, 0);
	ck_assert_uint_eq(feed_str(&f, "x\r\ny\nz\r\n", 8, FRAME_OK), 3);
	/* CR and LF in different feeds. */
	ck_assert_uint_eq(feed_str(&f, "abc\r", 8, FRAME_OK), 0);
	ck_assert_uint_eq(f.partial, 4);
	ck_assert_int_eq(f.last_cr, 1);
	ck_assert_uint_eq(feed_str(&f, "\n", 8, FRAME_OK), 1);
	ck_assert_uint_eq(f.partial, 0);
	ck_assert_int_eq(f.last_cr, 0);
	ck_assert_int_eq(frame_eof(&f), 0);
}
END_TEST

START_TEST(test_empty_lines)
{
	struct frame	 f;

	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "\n\n\r\n\n", 1, FRAME_OK), 4);
	ck_assert_uint_eq(feed_str(&f, "\n", 1, FRAME_OK), 1);
	ck_assert_uint_eq(feed_str(&f, "\r", 1, FRAME_OK), 0);
	ck_assert_uint_eq(feed_str(&f, "\n", 1, FRAME_OK), 1);
	ck_assert_int_eq(frame_eof(&f), 0);
	/* Feeding nothing changes nothing. */
	ck_assert_uint_eq(feed_str(&f, "", 1, FRAME_OK), 0);
	ck_assert_uint_eq(f.partial, 0);
}
END_TEST

START_TEST(test_many_lines)
{
	struct frame	 f;
	char		*buf;
	size_t		 i, off, lines, used, want = 0;

	/* Lines of 0 to 99 bytes, alternately LF and CRLF. */
	buf = malloc(100 * 102 * 100);
	ck_assert_ptr_nonnull(buf);
	for (i = 0, off = 0; i < 10000; i++) {
		memset(buf + off, 'x', i % 100);
		off += i % 100;
		if (i % 2)
			buf[off++] = '\r';
		buf[off++] = '\n';
		want++;
	}
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(frame_feed(&f, buf, off, 99, &lines, &used),
	    FRAME_OK);
	ck_assert_uint_eq(lines, want);
	ck_assert_uint_eq(used, off);
	/* One byte less of room and the first 99-byte line is too long. */
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(frame_feed(&f, buf, off, 98, &lines, &used),
	    FRAME_TOO_LONG);
	ck_assert_uint_eq(lines, 99);
	ck_assert_uint_eq(used, 99 * 98 / 2 + 99 + 49);
	free(buf);
}
END_TEST

START_TEST(test_binary)
{
	struct frame	 f;
	char		 buf[512];
	size_t		 i, len = 0, lines, used;

	/* Every byte value but LF, NUL included, in one line. */
	for (i = 0; i < 256; i++) {
		if (i != '\n')
			buf[len++] = (char)i;
	}
	buf[len++] = '\n';
	memcpy(buf + len, "\0\n\0\0\0\n\xff\xfe\r\n", 10);
	len += 10;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(frame_feed(&f, buf, len, 255, &lines, &used),
	    FRAME_OK);
	ck_assert_uint_eq(lines, 4);
	ck_assert_uint_eq(used, len);

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(frame_feed(&f, buf, len, 254, &lines, &used),
	    FRAME_TOO_LONG);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(used, 0);

	/* A NUL alone is a partial line, owed at EOF. */
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(frame_feed(&f, "\0", 1, 8, &lines, &used),
	    FRAME_OK);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(f.partial, 1);
	ck_assert_int_eq(frame_eof(&f), 1);
}
END_TEST

START_TEST(test_lone_cr)
{
	struct frame	 f;

	/* A CR inside a line is content: "a\rb" is three bytes. */
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "a\rb\n", 3, FRAME_OK), 1);
	memset(&f, 0, sizeof(f));
	feed_str(&f, "a\rb\n", 2, FRAME_TOO_LONG);
	/* "\r\r\n" is a line holding one CR. */
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "\r\r\n", 1, FRAME_OK), 1);
	/* A CR that turns out not to start a CRLF counts as content. */
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "abc\r", 4, FRAME_OK), 0);
	ck_assert_int_eq(f.last_cr, 1);
	ck_assert_uint_eq(feed_str(&f, "x", 4, FRAME_TOO_LONG), 0);
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "abc\r", 5, FRAME_OK), 0);
	ck_assert_uint_eq(feed_str(&f, "x", 5, FRAME_OK), 0);
	ck_assert_int_eq(f.last_cr, 0);
	ck_assert_uint_eq(feed_str(&f, "\n", 5, FRAME_OK), 1);
	/* A CR followed, in the next feed, by a CRLF. */
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "abc\r", 4, FRAME_OK), 0);
	ck_assert_uint_eq(feed_str(&f, "\r\n", 4, FRAME_OK), 1);
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "abc\r", 3, FRAME_OK), 0);
	feed_str(&f, "\r\n", 3, FRAME_TOO_LONG);
}
END_TEST

START_TEST(test_exact_max)
{
	struct frame	 f;
	size_t		 max = 8;

	/* max bytes are fine, with LF or CRLF; max + 1 are not. */
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "12345678\n", max, FRAME_OK), 1);
	ck_assert_uint_eq(feed_str(&f, "12345678\r\n", max, FRAME_OK), 1);
	memset(&f, 0, sizeof(f));
	feed_str(&f, "123456789\n", max, FRAME_TOO_LONG);
	memset(&f, 0, sizeof(f));
	feed_str(&f, "123456789\r\n", max, FRAME_TOO_LONG);

	/* The same, the line arriving in pieces. */
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "1234", max, FRAME_OK), 0);
	ck_assert_uint_eq(feed_str(&f, "5678", max, FRAME_OK), 0);
	ck_assert_uint_eq(feed_str(&f, "\n", max, FRAME_OK), 1);
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "12345678", max, FRAME_OK), 0);
	ck_assert_uint_eq(feed_str(&f, "\r\n", max, FRAME_OK), 1);

	/* CR and LF in different feeds, with exactly max before them. */
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "12345678\r", max, FRAME_OK), 0);
	ck_assert_uint_eq(f.partial, max + 1);
	ck_assert_uint_eq(feed_str(&f, "\n", max, FRAME_OK), 1);
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "1234", max, FRAME_OK), 0);
	ck_assert_uint_eq(feed_str(&f, "5678\r", max, FRAME_OK), 0);
	ck_assert_uint_eq(feed_str(&f, "\nnext\n", max, FRAME_OK), 2);
	/* ... and with max + 1: found before the LF arrives. */
	memset(&f, 0, sizeof(f));
	feed_str(&f, "123456789\r", max, FRAME_TOO_LONG);
	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(feed_str(&f, "123456789", max, FRAME_TOO_LONG), 0);
}
END_TEST

START_TEST(test_used)
{
	struct frame		 f;
	const char		*in = "ok\nfine\nxxxxxxxxxxxx\nmore\n";
	enum frame_status	 st;
	size_t			 lines, used;

	/* *used ends after "fine\n", the last good line. */
	memset(&f, 0, sizeof(f));
	st = frame_feed(&f, in, strlen(in), 8, &lines, &used);
	ck_assert_int_eq(st, FRAME_TOO_LONG);
	ck_assert_uint_eq(lines, 2);
	ck_assert_uint_eq(used, 8);

	/* A bad first line: nothing used. */
	memset(&f, 0, sizeof(f));
	st = frame_feed(&f, in + 8, strlen(in + 8), 8, &lines, &used);
	ck_assert_int_eq(st, FRAME_TOO_LONG);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(used, 0);

	/* The bad line began in an earlier feed: nothing of this one. */
	memset(&f, 0, sizeof(f));
	st = frame_feed(&f, "ok\nxxxxx", 8, 8, &lines, &used);
	ck_assert_int_eq(st, FRAME_OK);
	ck_assert_uint_eq(lines, 1);
	ck_assert_uint_eq(used, 8);
	st = frame_feed(&f, "xxxx\nnext\n", 10, 8, &lines, &used);
	ck_assert_int_eq(st, FRAME_TOO_LONG);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(used, 0);

	/* Found in the unfinished tail: used ends at its start. */
	memset(&f, 0, sizeof(f));
	st = frame_feed(&f, "a\r\nbc\nxxxxxxxxxx", 16, 8, &lines, &used);
	ck_assert_int_eq(st, FRAME_TOO_LONG);
	ck_assert_uint_eq(lines, 2);
	ck_assert_uint_eq(used, 6);
}
END_TEST

START_TEST(test_early_too_long)
{
	struct frame		 f;
	enum frame_status	 st;
	size_t			 i, lines, used, max = 16;

	/* Byte by byte, no LF ever: caught at byte max + 1. */
	memset(&f, 0, sizeof(f));
	for (i = 1; i <= max; i++) {
		st = frame_feed(&f, "y", 1, max, &lines, &used);
		ck_assert_int_eq(st, FRAME_OK);
		ck_assert_uint_eq(f.partial, i);
	}
	st = frame_feed(&f, "y", 1, max, &lines, &used);
	ck_assert_int_eq(st, FRAME_TOO_LONG);
	ck_assert_uint_eq(lines, 0);
	ck_assert_uint_eq(used, 0);

	/* A CR as byte max + 1 waits for one more byte. */
	memset(&f, 0, sizeof(f));
	for (i = 1; i <= max; i++)
		ck_assert_int_eq(frame_feed(&f, "y", 1, max, &lines, &used),
		    FRAME_OK);
	ck_assert_int_eq(frame_feed(&f, "\r", 1, max, &lines, &used),
	    FRAME_OK);
	ck_assert_int_eq(frame_feed(&f, "\r", 1, max, &lines, &used),
	    FRAME_TOO_LONG);
}
END_TEST

START_TEST(test_eof)
{
	struct frame	 f;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(frame_eof(&f), 0);

	ck_assert_uint_eq(feed_str(&f, "abc", 8, FRAME_OK), 0);
	ck_assert_int_eq(frame_eof(&f), 1);
	ck_assert_uint_eq(f.partial, 0);
	ck_assert_int_eq(frame_eof(&f), 0);	/* owed once only */

	ck_assert_uint_eq(feed_str(&f, "abc\n", 8, FRAME_OK), 1);
	ck_assert_int_eq(frame_eof(&f), 0);

	ck_assert_uint_eq(feed_str(&f, "abc\ndef", 8, FRAME_OK), 1);
	ck_assert_int_eq(frame_eof(&f), 1);

	/* A lone CR is an unfinished line too. */
	ck_assert_uint_eq(feed_str(&f, "\r", 8, FRAME_OK), 0);
	ck_assert_int_eq(frame_eof(&f), 1);
	ck_assert_int_eq(f.last_cr, 0);
	/* After EOF the state is fresh: a LF is an empty line. */
	ck_assert_uint_eq(feed_str(&f, "12345678", 8, FRAME_OK), 0);
	ck_assert_int_eq(frame_eof(&f), 1);
	ck_assert_uint_eq(feed_str(&f, "12345678\n", 8, FRAME_OK), 1);
}
END_TEST

/* Every one and every two split points of a few inputs. */
START_TEST(test_split_everywhere)
{
	static const struct {
		const char	*in;
		size_t		 max;
	} cases[] = {
		{ "hello\r\nworld\n\nfoo\rbar\r\n\r\n\rx\n\nlast", 8 },
		{ "12345678\r\n12345678\n1234567\r\r\n\n", 8 },
		{ "ok\nok\r\n123456789\r\nafter\n", 8 },
		{ "ok\r\n12345678\r\r\n", 8 },
		{ "a\nb\n123456789", 8 },
		{ "a\nb\n12345678\r", 8 },
		{ "\r\r\r\n\n\r", 1 },
	};
	struct ref	 whole;
	struct fed	 fed;
	size_t		 c, i, j, len, cuts[2];
	const char	*in;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		in = cases[c].in;
		len = strlen(in);
		ref_scan(in, len, cases[c].max, &whole);
		/* Unsplit first: the reference count itself. */
		feed_chunks(in, len, cases[c].max, NULL, 0, &fed);
		ck_assert_int_eq(fed.status, whole.status);
		ck_assert_uint_eq(fed.lines, whole.lines);
		for (i = 0; i <= len; i++) {
			cuts[0] = i;
			check_cuts(in, len, cases[c].max, cuts, 1);
			for (j = i; j <= len; j++) {
				cuts[1] = j;
				check_cuts(in, len, cases[c].max, cuts, 2);
			}
		}
	}
}
END_TEST

/* xorshift32: the same numbers on every libc. */
static uint32_t
rnd(uint32_t *state)
{
	uint32_t	 x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return (*state = x);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t	 x = *(const size_t *)a, y = *(const size_t *)b;

	return (x < y ? -1 : x > y);
}

START_TEST(test_random)
{
	static const char	 alphabet[] = "aaaaaaab\r\r\n\n\n\0";
	struct ref		 r;
	char			 buf[RANDOM_LEN_MAX];
	size_t			 cuts[RANDOM_CUTS_MAX], round, i, len;
	size_t			 max, ncuts, too_long = 0, ok = 0;
	uint32_t		 state = RANDOM_SEED;

	for (round = 0; round < RANDOM_ROUNDS; round++) {
		len = rnd(&state) % RANDOM_LEN_MAX;
		for (i = 0; i < len; i++)
			buf[i] = alphabet[rnd(&state) %
			    (sizeof(alphabet) - 1)];
		max = 1 + rnd(&state) % 24;
		ncuts = rnd(&state) % RANDOM_CUTS_MAX;
		for (i = 0; i < ncuts; i++)
			cuts[i] = len ? rnd(&state) % (len + 1) : 0;
		qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);
		check_cuts(buf, len, max, cuts, ncuts);
		ref_scan(buf, len, max, &r);
		if (r.status == FRAME_OK)
			ok++;
		else
			too_long++;
	}
	/* The inputs exercised both outcomes, many times. */
	ck_assert_uint_gt(ok, RANDOM_ROUNDS / 10);
	ck_assert_uint_gt(too_long, RANDOM_ROUNDS / 10);
}
END_TEST

/*
 * Framing over an input buffer's chains (frame_evbuffer()) and the reply
 * budget (frame_budget()), as conn.c uses them.
 *
 * An evbuffer built with evbuffer_add_reference() keeps every piece in a
 * chain of its own, so a test can cut the input wherever it likes, into
 * more chains than one evbuffer_peek() looks at.  The reference is always
 * frame_feed_n() over the whole input at once.
 */
#define CHAINS_SEED	0x63686e73U
#define CHAINS_ROUNDS	3000
#define CHAINS_LEN_MAX	200
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
	char			 buf[CHAINS_LEN_MAX];
	size_t			 cuts[PIECES_MAX], len, ncuts, i, max, budget;
	size_t			 lines, used, rlines, rused;
	struct frame		 f, rf;
	struct evbuffer		*in;
	enum frame_status	 st, rst;
	unsigned		 seed = CHAINS_SEED;
	int			 round;

	for (round = 0; round < CHAINS_ROUNDS; round++) {
		len = 1 + rand_r(&seed) % CHAINS_LEN_MAX;
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
frame_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("frame");

	tc = tcase_create("lines");
	tcase_add_test(tc, test_lf);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_empty_lines);
	tcase_add_test(tc, test_many_lines);
	tcase_add_test(tc, test_binary);
	tcase_add_test(tc, test_lone_cr);
	tcase_add_test(tc, test_eof);
	suite_add_tcase(s, tc);

	tc = tcase_create("limit");
	tcase_add_test(tc, test_exact_max);
	tcase_add_test(tc, test_used);
	tcase_add_test(tc, test_early_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("split");
	tcase_add_test(tc, test_split_everywhere);
	tcase_add_test(tc, test_random);
	suite_add_tcase(s, tc);

	tc = tcase_create("frame_evbuffer");
	tcase_add_test(tc, test_chains_fixed);
	tcase_add_test(tc, test_chains_budget_stops);
	tcase_add_test(tc, test_chains_long_line_taken_whole);
	tcase_add_test(tc, test_chains_too_long);
	tcase_add_test(tc, test_chains_random);
	suite_add_tcase(s, tc);

	tc = tcase_create("budget");
	tcase_add_test(tc, test_budget);
	suite_add_tcase(s, tc);

	return (s);
}
