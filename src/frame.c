/*
 * Line framing.  The reply never depends on what a line says, so a request
 * is never copied or stored: the framer only counts line ends and remembers
 * how long the unfinished line is, which is what max_line_length needs.
 */
#include "config.h"

#include <string.h>

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
	const char	*p = buf, *end = buf + len, *nl;
	size_t		 n = 0, linelen;
	int		 cr;

	*lines = 0;
	*used = 0;
	while (p < end) {
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
	*used = len;
	return FRAME_OK;

toolong:
	*lines = n;
	*used = p - buf;
	return FRAME_TOO_LONG;
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
