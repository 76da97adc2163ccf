/* SPDX-License-Identifier: ISC */
/*
 * Line framing.  The reply never depends on what a line says, so a request
 * is never copied or stored: the framer only counts line ends and remembers
 * how long the unfinished line is, which is what max_line_length needs.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

#include "hellod.h"

/*
 * Feed len bytes.  *lines is set to the number of lines completed; *used to
 * the bytes consumed, which is all of them unless a line longer than max
 * (not counting its LF or CRLF) is found: then *used ends after the last
 * good line and FRAME_TOO_LONG is returned.
 */
enum frame_status
frame_feed(struct frame *f, const char *buf, size_t len, size_t max,
    size_t *lines, size_t *used)
{
	return frame_feed_n(f, buf, len, max, SIZE_MAX, lines, used);
}

/*
 * The same, but stop after max_lines lines: *used then ends right after
 * the last one, and the rest is left for a later call.
 */
enum frame_status
frame_feed_n(struct frame *f, const char *buf, size_t len, size_t max,
    size_t max_lines, size_t *lines, size_t *used)
{
	const char	*p = buf, *end = buf + len, *nl;
	size_t		 n = 0, linelen;
	int		 cr;

	*lines = 0;
	*used = 0;
	while (p < end && n < max_lines) {
		if ((nl = memchr(p, '\n', end - p)) == NULL) {
			f->partial += end - p;
			f->last_cr = end[-1] == '\r';
			/* A trailing CR may still be half of a CRLF. */
			if (f->partial > max + f->last_cr)
				goto toolong;
			break;
		}
		linelen = f->partial + (nl - p);
		cr = nl > p ? nl[-1] == '\r' : f->last_cr;
		if (linelen - cr > max)
			goto toolong;
		n++;
		f->partial = 0;
		f->last_cr = 0;
		p = nl + 1;
	}
	*lines = n;
	*used = n < max_lines ? len : (size_t)(p - buf);
	return FRAME_OK;

toolong:
	*lines = n;
	*used = p - buf;
	return FRAME_TOO_LONG;
}

/*
 * Frame what an input buffer holds, chain by chain where it lies (no copy,
 * no allocation), up to max_lines lines.  Nothing is drained: *used says
 * how much the caller may drain, all of it unless a line is too long or
 * max_lines was reached.
 */
enum frame_status
frame_evbuffer(struct frame *f, struct evbuffer *in, size_t max,
    size_t max_lines, size_t *lines, size_t *used)
{
	struct evbuffer_iovec	 v[FRAME_IOV];
	struct evbuffer_ptr	 pos;
	enum frame_status	 st = FRAME_OK;
	size_t			 n, u, total = evbuffer_get_length(in);
	int			 i, nv;

	*lines = 0;
	*used = 0;
	while (*used < total && *lines < max_lines) {
		if (*used == 0)
			nv = evbuffer_peek(in, -1, NULL, v, FRAME_IOV);
		else {
			if (evbuffer_ptr_set(in, &pos, *used,
			    EVBUFFER_PTR_SET) == -1)
				break;
			nv = evbuffer_peek(in, -1, &pos, v, FRAME_IOV);
		}
		if (nv > FRAME_IOV)
			nv = FRAME_IOV;
		if (nv <= 0)
			break;
		for (i = 0; i < nv && *lines < max_lines; i++) {
			st = frame_feed_n(f, v[i].iov_base, v[i].iov_len, max,
			    max_lines - *lines, &n, &u);
			*lines += n;
			*used += u;
			if (st != FRAME_OK || u < v[i].iov_len)
				return st;
		}
	}
	return st;
}

/*
 * How many more lines may be answered now: until the queued replies reach
 * max_output, and one more, so that a reply longer than max_output is not
 * stuck behind its own bound.  Counting lines instead of bytes read keeps
 * the reads large even when a reply is almost as long as max_output.
 */
size_t
frame_budget(size_t queued, size_t max_output, size_t reply_len)
{
	if (queued >= max_output || reply_len == 0)
		return 0;
	return (max_output - queued) / reply_len + 1;
}

/* At EOF an unfinished line still counts as a request. */
int
frame_eof(struct frame *f)
{
	int	 owed = f->partial > 0;

	f->partial = 0;
	f->last_cr = 0;
	return owed;
}
