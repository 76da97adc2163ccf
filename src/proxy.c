/* SPDX-License-Identifier: ISC */
/*
 * The PROXY protocol header a load balancer puts before the client's
 * bytes, versions 1 (text) and 2 (binary), as HAProxy's
 * doc/proxy-protocol.txt specifies them.
 *
 * proxy_parse() is pure: it is handed every byte received so far, from
 * the connection's first, and answers MORE, OK or BAD.  It keeps no state
 * between calls, never allocates and never reads past the length it is
 * given, so the caller may collect the bytes however it likes (one recv()
 * into a buffer of PROXY_HEADER_MAX bytes is enough) and simply ask again
 * when more arrive.  The bytes are read left to right and the answer
 * depends only on the bytes read: a prefix found bad stays bad whatever
 * follows, with the same reason, and MORE is never the answer once
 * PROXY_HEADER_MAX bytes are there.  BAD is given as early as the bytes
 * allow (a first byte that is neither 'P' nor CR, a byte that no valid
 * header has at that place), not only once the line or the announced
 * length is complete.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <string.h>

#include "hellod.h"

#define PROXY_V1_SIG		"PROXY "
#define PROXY_V1_SIG_LEN	6
#define PROXY_V2_SIG_LEN	12

/* v2: byte 13, version and command. */
#define PROXY_V2_VERSION	0x2
#define PROXY_V2_CMD_LOCAL	0x0
#define PROXY_V2_CMD_PROXY	0x1
/* v2: byte 14, address family (high nibble) and transport (low). */
#define PROXY_V2_FAM_UNSPEC	0x0
#define PROXY_V2_FAM_INET	0x1
#define PROXY_V2_FAM_INET6	0x2
#define PROXY_V2_FAM_UNIX	0x3
#define PROXY_V2_TRANS_MAX	0x2	/* DGRAM; 0x1 is STREAM */
#define PROXY_V2_TCP4		0x11	/* INET, STREAM */
#define PROXY_V2_TCP6		0x21	/* INET6, STREAM */
/* v2: the address block of each family, ports included. */
#define PROXY_V2_ADDR_INET	(4 + 4 + 2 + 2)
#define PROXY_V2_ADDR_INET6	(16 + 16 + 2 + 2)
#define PROXY_V2_ADDR_UNIX	(108 + 108)
/* v2: TLVs after the addresses: type, 16-bit length, value. */
#define PROXY_TLV_HEADER	3
#define PROXY_TLV_CRC32C	0x03
#define PROXY_TLV_CRC32C_LEN	4

/* v1: the longest field of each kind, in characters. */
#define PROXY_V1_IP4_MAX	15	/* 255.255.255.255 */
#define PROXY_V1_IP6_MAX	(INET6_ADDRSTRLEN - 1)
#define PROXY_V1_PORT_MAX	5	/* 65535 */

#define PROXY_MIN(a, b)		((a) < (b) ? (a) : (b))

#define PROXY_NOT_HEADER	"not a PROXY header"

/* "\r\n\r\n\0\r\nQUIT\n" holds a NUL: compared as bytes, never as a string. */
static const uint8_t proxy_v2_sig[PROXY_V2_SIG_LEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

enum proxy_v1_field {
	PROXY_V1_SRC,
	PROXY_V1_DST,
	PROXY_V1_SPORT,
	PROXY_V1_DPORT,
	PROXY_V1_NFIELDS,
};

static const char *const proxy_v1_bad[2][PROXY_V1_NFIELDS] = {
	{ "v1: bad TCP4 source address", "v1: bad TCP4 destination address",
	    "v1: bad source port", "v1: bad destination port" },
	{ "v1: bad TCP6 source address", "v1: bad TCP6 destination address",
	    "v1: bad source port", "v1: bad destination port" },
};

static enum proxy_status
proxy_bad(struct proxy_result *res, const char *reason)
{
	res->reason = reason;
	return PROXY_BAD;
}

/* v1 ran out of bytes before its CRLF: wait, unless at the bound. */
static enum proxy_status
proxy_v1_more(size_t lim, struct proxy_result *res)
{
	if (lim == PROXY_V1_MAX)
		return proxy_bad(res, "v1: no CRLF within 107 bytes");
	return PROXY_MORE;
}

/* The client and its destination: addresses as bytes, ports as sent. */
static void
proxy_set(struct proxy_result *res, sa_family_t family, const void *src,
    const void *dst, uint16_t sport, uint16_t dport, const char *kind)
{
	res->family = family;
	if (family == AF_INET) {
		res->len = sizeof(struct sockaddr_in);
		res->src.sin.sin_family = AF_INET;
		memcpy(&res->src.sin.sin_addr, src, 4);
		res->src.sin.sin_port = sport;
		res->dst.sin.sin_family = AF_INET;
		memcpy(&res->dst.sin.sin_addr, dst, 4);
		res->dst.sin.sin_port = dport;
	} else {
		res->len = sizeof(struct sockaddr_in6);
		res->src.sin6.sin6_family = AF_INET6;
		memcpy(&res->src.sin6.sin6_addr, src, 16);
		res->src.sin6.sin6_port = sport;
		res->dst.sin6.sin6_family = AF_INET6;
		memcpy(&res->dst.sin6.sin6_addr, dst, 16);
		res->dst.sin6.sin6_port = dport;
	}
	res->reason = kind;
}

/*
 * A decimal number of 1 to max digits without a leading zero ("0" itself
 * is fine), at most limit: what the spec asks of v1's ports and of each
 * part of a dotted quad.  -1 if it is not one.
 */
static long
proxy_decimal(const uint8_t *s, size_t len, size_t max, long limit)
{
	long	 v = 0;
	size_t	 i;

	if (len == 0 || len > max || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= limit ? v : -1;
}

/*
 * "Exactly 4 integers in the range [0..255] inclusive written in decimal
 * representation separated by exactly one dot", no heading zeroes: the
 * spec's words, checked here rather than left to inet_pton(), whose
 * handling of leading zeros differs from one libc to the next.
 */
static int
proxy_v1_ip4(const uint8_t *s, size_t len, struct in_addr *out)
{
	uint32_t	 a = 0;
	size_t		 i, start = 0, part = 0;
	long		 v;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (part == 4 ||
		    (v = proxy_decimal(s + start, i - start, 3, 255)) == -1)
			return -1;
		a = a << 8 | (uint32_t)v;
		part++;
		start = i + 1;
	}
	if (part != 4)
		return -1;
	out->s_addr = htonl(a);
	return 0;
}

/*
 * Hex digits, colons and, for an embedded IPv4 address ("::ffff:192.0.2.1",
 * which HAProxy sends when the two ends differ in family), dots; the
 * whole address is then left to inet_pton(), which counts the 128 bits.
 */
static int
proxy_v1_ip6(const uint8_t *s, size_t len, struct in6_addr *out)
{
	char	 buf[INET6_ADDRSTRLEN];

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

/* Can c be part of the field?  Only to reject a bad byte early. */
static int
proxy_v1_char(int v6, enum proxy_v1_field f, uint8_t c)
{
	if (c >= '0' && c <= '9')
		return 1;
	if (f >= PROXY_V1_SPORT)
		return 0;
	if (c == '.')
		return 1;
	return v6 && (c == ':' || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F'));
}

/*
 * "PROXY TCP4 " or "PROXY TCP6 " has been seen at p[0..start).  Then the
 * four fields, each ended by exactly one space, the last by CRLF.  lim is
 * the bytes there are, at most PROXY_V1_MAX.
 */
static enum proxy_status
proxy_v1_inet(const uint8_t *p, size_t start, size_t lim, int v6,
    struct proxy_result *res, size_t *used)
{
	struct in6_addr		 a6[2];
	struct in_addr		 a4[2];
	enum proxy_v1_field	 f;
	size_t			 i = start, fstart, max;
	long			 port[2];
	int			 ok;

	for (f = PROXY_V1_SRC; f < PROXY_V1_NFIELDS; f++) {
		fstart = i;
		max = f >= PROXY_V1_SPORT ? PROXY_V1_PORT_MAX :
		    v6 ? PROXY_V1_IP6_MAX : PROXY_V1_IP4_MAX;
		while (i < lim && proxy_v1_char(v6, f, p[i])) {
			/* Too long, or a port with a heading zero. */
			if (i - fstart == max || (f >= PROXY_V1_SPORT &&
			    i - fstart == 1 && p[fstart] == '0'))
				return proxy_bad(res, proxy_v1_bad[v6][f]);
			i++;
		}
		if (i == lim)
			goto more;
		if (p[i] == '\n')
			return proxy_bad(res, "v1: LF without CR");
		if (p[i] != (f == PROXY_V1_DPORT ? '\r' : ' ') || i == fstart)
			return proxy_bad(res, proxy_v1_bad[v6][f]);
		switch (f) {
		case PROXY_V1_SRC:
		case PROXY_V1_DST:
			ok = v6 ? proxy_v1_ip6(p + fstart, i - fstart, &a6[f]) :
			    proxy_v1_ip4(p + fstart, i - fstart, &a4[f]);
			break;
		default:
			port[f - PROXY_V1_SPORT] = proxy_decimal(p + fstart,
			    i - fstart, PROXY_V1_PORT_MAX, 65535);
			ok = port[f - PROXY_V1_SPORT] == -1 ? -1 : 0;
			break;
		}
		if (ok == -1)
			return proxy_bad(res, proxy_v1_bad[v6][f]);
		i++;
	}
	/* p[i - 1] is the CR. */
	if (i == lim)
		goto more;
	if (p[i] != '\n')
		return proxy_bad(res, "v1: CR without LF");

	if (v6)
		proxy_set(res, AF_INET6, &a6[0], &a6[1],
		    htons((uint16_t)port[0]), htons((uint16_t)port[1]),
		    "v1 TCP6");
	else
		proxy_set(res, AF_INET, &a4[0], &a4[1],
		    htons((uint16_t)port[0]), htons((uint16_t)port[1]),
		    "v1 TCP4");
	*used = i + 1;
	return PROXY_OK;

more:
	return proxy_v1_more(lim, res);
}

/*
 * "PROXY UNKNOWN" has been seen: then CRLF at once, or a space and
 * anything up to CRLF, which "the receiver must ignore".  Anything but a
 * lone CR or LF, which no line holds.
 */
static enum proxy_status
proxy_v1_unknown(const uint8_t *p, size_t start, size_t lim,
    struct proxy_result *res, size_t *used)
{
	size_t	 i = start;

	if (i == lim)
		goto more;
	if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ')
		return proxy_bad(res, "v1: unknown protocol (not TCP4, TCP6 "
		    "or UNKNOWN)");
	for (; i < lim; i++) {
		if (p[i] == '\n')
			return proxy_bad(res, "v1: LF without CR");
		if (p[i] != '\r')
			continue;
		if (i + 1 == lim)
			goto more;
		if (p[i + 1] != '\n')
			return proxy_bad(res, "v1: CR without LF");
		res->family = AF_UNSPEC;
		res->reason = "v1 UNKNOWN";
		*used = i + 2;
		return PROXY_OK;
	}
more:
	return proxy_v1_more(lim, res);
}

static enum proxy_status
proxy_v1(const uint8_t *p, size_t len, struct proxy_result *res,
    size_t *used)
{
	static const struct {
		const char	*name;
		size_t		 len;
	} protos[] = {
		{ "TCP4 ", 5 },
		{ "TCP6 ", 5 },
		{ "UNKNOWN", 7 },
	};
	size_t	 lim = PROXY_MIN(len, PROXY_V1_MAX), i, n, start;
	int	 partial = 0;

	res->version = 1;
	/* "PROXY " matched already. */
	start = PROXY_V1_SIG_LEN;
	n = lim - start;
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (memcmp(p + start, protos[i].name,
		    PROXY_MIN(n, protos[i].len)) != 0)
			continue;
		if (n < protos[i].len) {
			partial = 1;
			continue;
		}
		start += protos[i].len;
		if (i == 2)	/* UNKNOWN */
			return proxy_v1_unknown(p, start, lim, res, used);
		return proxy_v1_inet(p, start, lim, i == 1, res, used);
	}
	if (!partial)
		return proxy_bad(res, "v1: unknown protocol (not TCP4, TCP6 "
		    "or UNKNOWN)");
	return PROXY_MORE;
}

/* CRC-32C (Castagnoli, reflected 0x82f63b78), one bit at a time. */
static uint32_t
proxy_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	size_t	 i;
	int	 k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78U & -(crc & 1));
	}
	return crc;
}

/*
 * The CRC-32C of the whole header with the value of the CRC32C TLV at
 * offset at read as zeros, as the spec has the sender compute it.
 */
static int
proxy_v2_crc_ok(const uint8_t *p, size_t total, size_t at)
{
	static const uint8_t	 zero[PROXY_TLV_CRC32C_LEN];
	uint32_t		 crc, want;

	want = (uint32_t)p[at] << 24 | (uint32_t)p[at + 1] << 16 |
	    (uint32_t)p[at + 2] << 8 | p[at + 3];
	crc = proxy_crc32c(0xffffffffU, p, at);
	crc = proxy_crc32c(crc, zero, sizeof(zero));
	crc = proxy_crc32c(crc, p + at + PROXY_TLV_CRC32C_LEN,
	    total - at - PROXY_TLV_CRC32C_LEN);
	return (crc ^ 0xffffffffU) == want;
}

/*
 * The TLVs in p[off..total): skipped, but each must fit whole, and a
 * CRC32C one, since it is there, must be right.
 */
static enum proxy_status
proxy_v2_tlvs(const uint8_t *p, size_t off, size_t total,
    struct proxy_result *res)
{
	size_t	 vlen;

	while (off < total) {
		if (total - off < PROXY_TLV_HEADER)
			return proxy_bad(res, "v2: truncated TLV");
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (vlen > total - off - PROXY_TLV_HEADER)
			return proxy_bad(res, "v2: TLV longer than the header");
		if (p[off] == PROXY_TLV_CRC32C) {
			if (vlen != PROXY_TLV_CRC32C_LEN)
				return proxy_bad(res, "v2: CRC32C TLV not 4 "
				    "bytes long");
			if (!proxy_v2_crc_ok(p, total, off + PROXY_TLV_HEADER))
				return proxy_bad(res, "v2: CRC32C mismatch");
		}
		off += PROXY_TLV_HEADER + vlen;
	}
	return PROXY_OK;
}

static enum proxy_status
proxy_v2(const uint8_t *p, size_t len, struct proxy_result *res,
    size_t *used)
{
	const uint8_t	*a;
	size_t		 alen, total;
	uint16_t	 port[2];	/* network order */
	unsigned	 cmd = 0, fam = 0;

	res->version = 2;
	if (len > PROXY_V2_SIG_LEN) {
		if (p[12] >> 4 != PROXY_V2_VERSION)
			return proxy_bad(res, "v2: unsupported version");
		cmd = p[12] & 0x0f;
		if (cmd != PROXY_V2_CMD_LOCAL && cmd != PROXY_V2_CMD_PROXY)
			return proxy_bad(res, "v2: unknown command");
	}
	/* LOCAL: "the family ... is ignored", whatever it says. */
	if (len > 13 && cmd == PROXY_V2_CMD_PROXY) {
		fam = p[13];
		if (fam >> 4 > PROXY_V2_FAM_UNIX ||
		    (fam & 0x0f) > PROXY_V2_TRANS_MAX)
			return proxy_bad(res, "v2: unknown address family or "
			    "transport");
	}
	if (len < PROXY_V2_HEADER)
		return PROXY_MORE;

	alen = (size_t)p[14] << 8 | p[15];
	if (alen > PROXY_V2_LEN_MAX)
		return proxy_bad(res, "v2: header longer than 552 bytes");
	total = PROXY_V2_HEADER + alen;
	a = p + PROXY_V2_HEADER;
	if (cmd == PROXY_V2_CMD_LOCAL) {
		if (len < total)
			return PROXY_MORE;
		/* "discard the protocol block": addresses, TLVs, all. */
		res->family = AF_UNSPEC;
		res->reason = "v2 LOCAL";
		*used = total;
		return PROXY_OK;
	}

	switch (fam >> 4) {
	case PROXY_V2_FAM_INET:
		alen = PROXY_V2_ADDR_INET;
		break;
	case PROXY_V2_FAM_INET6:
		alen = PROXY_V2_ADDR_INET6;
		break;
	case PROXY_V2_FAM_UNIX:
		alen = PROXY_V2_ADDR_UNIX;
		break;
	case PROXY_V2_FAM_UNSPEC:
	default:
		alen = 0;
		break;
	}
	if (total - PROXY_V2_HEADER < alen)
		return proxy_bad(res, "v2: length too short for the addresses");
	if (len < total)
		return PROXY_MORE;
	if (proxy_v2_tlvs(p, PROXY_V2_HEADER + alen, total, res) != PROXY_OK)
		return PROXY_BAD;

	switch (fam) {
	case PROXY_V2_TCP4:
		memcpy(&port[0], a + 8, 2);
		memcpy(&port[1], a + 10, 2);
		proxy_set(res, AF_INET, a, a + 4, port[0], port[1],
		    "v2 PROXY TCP4");
		break;
	case PROXY_V2_TCP6:
		memcpy(&port[0], a + 32, 2);
		memcpy(&port[1], a + 34, 2);
		proxy_set(res, AF_INET6, a, a + 16, port[0], port[1],
		    "v2 PROXY TCP6");
		break;
	default:
		/*
		 * UNSPEC, UDP, UNIX: "falls back to the UNSPEC mode for the
		 * valid combinations ... that it does not support".
		 */
		res->family = AF_UNSPEC;
		res->reason = "v2 PROXY, not TCP over IPv4 or IPv6";
		break;
	}
	*used = total;
	return PROXY_OK;
}

enum proxy_status
proxy_parse(const void *buf, size_t len, struct proxy_result *res,
    size_t *used)
{
	const uint8_t	*p = buf;

	memset(res, 0, sizeof(*res));
	*used = 0;
	if (len == 0)
		return PROXY_MORE;
	/* Told apart by their first byte, each checked as far as it goes. */
	if (p[0] == 'P') {
		if (memcmp(p, PROXY_V1_SIG, PROXY_MIN(len,
		    PROXY_V1_SIG_LEN)) != 0)
			return proxy_bad(res, PROXY_NOT_HEADER);
		if (len < PROXY_V1_SIG_LEN)
			return PROXY_MORE;
		return proxy_v1(p, len, res, used);
	}
	if (p[0] == '\r') {
		if (memcmp(p, proxy_v2_sig, PROXY_MIN(len,
		    PROXY_V2_SIG_LEN)) != 0)
			return proxy_bad(res, PROXY_NOT_HEADER);
		if (len < PROXY_V2_SIG_LEN)
			return PROXY_MORE;
		return proxy_v2(p, len, res, used);
	}
	return proxy_bad(res, PROXY_NOT_HEADER);
}
