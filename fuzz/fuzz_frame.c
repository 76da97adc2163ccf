/* SPDX-License-Identifier: ISC */
/*
 * fuzz_frame.c: line framing, with the stream cut at arbitrary places.
 *
 * The input is
 *	byte 0		max_line_length: 1 + (b % 64), or the largest value
 *			the config allows when b >= FUZZ_MAX_BIG
 *	byte 1		how many read sizes follow (low 4 bits; 0: one read)
 *	read sizes	one byte each, 0 to 255, used in turn until the
 *			stream is fed (a 0 is an empty read)
 *	the rest	the byte stream a client sends
 *
 * Every read is handed to frame_feed() in a buffer of exactly its size, the
 * way a socket delivers it, then frame_eof() ends the stream.  The outcome
 * is compared with ref_scan(), which looks at the whole stream at once:
 * the replies owed (complete lines, plus one for a line cut off by EOF)
 * must be the same whatever the cuts, a too-long line must be found in the
 * read that holds the byte proving it too long, and *used must stop exactly
 * where that line starts.
 *
 * Then the same stream goes through frame_evbuffer() as conn.c uses it:
 * the reads as chains of one evbuffer (more of them than one
 * evbuffer_peek() looks at), framed a few lines at a time (a budget from
 * byte 0) and drained as it goes.  The lines and the verdict must be the
 * same again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "hellod.h"
#include "fuzz.h"

#define FUZZ_MAX_BIG		0xf0
#define FUZZ_MAX_BIG_VALUE	((size_t)16 << 20)	/* config's maximum */
#define FUZZ_MAX_SMALL		64
#define FUZZ_SIZES_MASK		0x0f

/* What the whole stream must give. */
struct ref {
	enum frame_status status;
	size_t		 lines;		/* complete lines before any bad one */
	size_t		 bad_start;	/* TOO_LONG: where the bad line starts */
	size_t		 bad_at;	/* TOO_LONG: the byte that proves it */
	int		 owed;		/* OK: a partial line left at EOF */
};

/*
 * One pass, one byte at a time.  A line is too long once its bytes so far,
 * less a last CR that may turn out to be half of a CRLF, pass max; at its
 * LF, once its length without the LF or CRLF passes max.
 */
static void
ref_scan(const uint8_t *s, size_t len, size_t max, struct ref *r)
{
	size_t	 i, start = 0, seen, body;

	memset(r, 0, sizeof(*r));
	r->status = FRAME_OK;
	for (i = 0; i < len; i++) {
		seen = i - start + 1;
		if (s[i] == '\n') {
			body = seen - 1;
			if (body > 0 && s[i - 1] == '\r')
				body--;
			if (body > max)
				goto toolong;
			r->lines++;
			start = i + 1;
			continue;
		}
		if (seen > max + (s[i] == '\r'))
			goto toolong;
	}
	r->owed = start < len;
	return;

toolong:
	r->status = FRAME_TOO_LONG;
	r->bad_start = start;
	r->bad_at = i;
}

static void
fuzz_fail(const char *what, size_t max, size_t len, size_t pos, size_t n,
    size_t got, size_t want)
{
	fprintf(stderr, "frame: %s: got %zu, want %zu (max %zu, stream %zu "
	    "bytes, read of %zu at %zu)\n", what, got, want, max, len, n, pos);
	abort();
}

/*
 * The stream as chains, framed budget lines at a time, drained as conn.c
 * does; returns the lines and the status it ends with.
 */
static enum frame_status
chained_feed(const uint8_t *stream, size_t len, const uint8_t *sizes,
    size_t nsizes, int any, size_t max, size_t budget, size_t *lines)
{
	struct evbuffer		*in;
	struct frame		 f;
	enum frame_status	 st = FRAME_OK;
	size_t			 pos, n, i, got, used;

	if ((in = evbuffer_new()) == NULL)
		abort();
	for (pos = 0, i = 0; pos < len; pos += n, i++) {
		n = any ? sizes[i % nsizes] : len - pos;
		if (n > len - pos)
			n = len - pos;
		if (n > 0 && evbuffer_add_reference(in, stream + pos, n, NULL,
		    NULL) == -1)
			abort();
	}
	memset(&f, 0, sizeof(f));
	*lines = 0;
	while (evbuffer_get_length(in) > 0) {
		st = frame_evbuffer(&f, in, max, budget, &got, &used);
		if (got > budget || used > evbuffer_get_length(in))
			fuzz_fail("frame_evbuffer bounds", max, len, 0, 0, got,
			    budget);
		*lines += got;
		if (st != FRAME_OK)
			break;
		if (used == 0 && got == 0)
			fuzz_fail("frame_evbuffer made no progress", max, len,
			    0, 0, 0, 1);
		evbuffer_drain(in, used);
	}
	evbuffer_free(in);
	return st;
}

/* The chained pass must agree with the whole stream. */
static void
chained_check(const uint8_t *stream, size_t len, const uint8_t *sizes,
    size_t nsizes, int any, size_t max, uint8_t b0, const struct ref *r)
{
	enum frame_status	 st;
	size_t			 lines, budget = 1 + b0 % 5;

	st = chained_feed(stream, len, sizes, nsizes, any, max, budget,
	    &lines);
	if (st != r->status)
		fuzz_fail("chained status", max, len, 0, 0, st, r->status);
	if (lines != r->lines)
		fuzz_fail("chained lines", max, len, 0, 0, lines, r->lines);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*sizes, *stream;
	struct ref		 r;
	struct frame		 f;
	enum frame_status	 st;
	size_t			 max, nsizes, len, pos, n, i, lines, used, want;
	size_t			 total = 0;
	char			*chunk;
	int			 any = 0;

	if (size < 2)
		return 0;
	max = data[0] >= FUZZ_MAX_BIG ? FUZZ_MAX_BIG_VALUE :
	    1 + (size_t)data[0] % FUZZ_MAX_SMALL;
	nsizes = data[1] & FUZZ_SIZES_MASK;
	if (size < 2 + nsizes)
		return 0;
	sizes = data + 2;
	stream = sizes + nsizes;
	len = size - 2 - nsizes;
	for (i = 0; i < nsizes; i++)
		any |= sizes[i] != 0;

	ref_scan(stream, len, max, &r);

	memset(&f, 0, sizeof(f));
	for (pos = 0, i = 0; pos < len; pos += n, i++) {
		/* Only empty reads would never end: then read it all. */
		n = any ? sizes[i % nsizes] : len - pos;
		if (n > len - pos)
			n = len - pos;
		/* An empty read gets a valid pointer to nothing. */
		chunk = NULL;
		if (n > 0 && (chunk = malloc(n)) == NULL)
			abort();
		if (n > 0)
			memcpy(chunk, stream + pos, n);
		lines = used = (size_t)-1;
		st = frame_feed(&f, n > 0 ? chunk : (const char *)stream + pos,
		    n, max, &lines, &used);
		free(chunk);
		if (lines > n)
			fuzz_fail("lines in one read", max, len, pos, n, lines,
			    n);
		total += lines;
		if (st == FRAME_TOO_LONG) {
			if (r.status != FRAME_TOO_LONG)
				fuzz_fail("too long where the whole stream "
				    "is fine", max, len, pos, n, 1, 0);
			if (r.bad_at < pos || r.bad_at >= pos + n)
				fuzz_fail("too long found at the wrong read",
				    max, len, pos, n, pos, r.bad_at);
			want = r.bad_start > pos ? r.bad_start - pos : 0;
			if (used != want)
				fuzz_fail("used by the failing read", max,
				    len, pos, n, used, want);
			if (total != r.lines)
				fuzz_fail("lines before the bad one", max,
				    len, pos, n, total, r.lines);
			chained_check(stream, len, sizes, nsizes, any, max,
			    data[0], &r);
			return 0;
		}
		if (st != FRAME_OK)
			fuzz_fail("status", max, len, pos, n, st, FRAME_OK);
		if (used != n)
			fuzz_fail("used", max, len, pos, n, used, n);
	}
	if (r.status == FRAME_TOO_LONG)
		fuzz_fail("too long line never found", max, len, pos, 0, 0, 1);
	if (total != r.lines)
		fuzz_fail("complete lines", max, len, pos, 0, total, r.lines);
	if (frame_eof(&f) != r.owed)
		fuzz_fail("owed at EOF", max, len, pos, 0, !r.owed, r.owed);
	if (f.partial != 0 || f.last_cr != 0)
		fuzz_fail("state left after EOF", max, len, pos, 0, f.partial,
		    0);
	chained_check(stream, len, sizes, nsizes, any, max, data[0], &r);
	return 0;
}
