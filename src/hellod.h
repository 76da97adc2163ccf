/* SPDX-License-Identifier: ISC */
/*
 * hellod: answers every line with a configured message.
 *
 * This header reads as the table of contents of the daemon: one section per
 * source file, public names prefixed with that file's name.  HACKING.md has
 * the map of the layers (main.c, server.c, worker.c, conn.c; listener.c,
 * httpd.c; the leaves).
 *
 * Threads, and how what they share is synchronised (HACKING.md too):
 *
 *  main thread	server.c, worker 0 and its conns, listener.c.  Writes the
 *		server's config pointer and last reload result under the
 *		server's conf_lock (and reads them without it); posts to
 *		each worker's mailbox under that worker's mutex.
 *  hellod/wN	one worker.c loop and its conns.  Writes its own struct
 *		stats alone: STATS_ADD is a relaxed load and a relaxed
 *		store, safe with one writer per counter, read whole by
 *		others with STATS_GET.  Reads its config, which nobody
 *		changes once it is built (a reload hands over a new one;
 *		config_ref()/config_unref() are atomic).
 *  any worker	worker_shared: conns_open and next_conn_id by atomic
 *		adds; the source table under its own mutex (source.c).
 *  hellod/metrics  httpd.c, metrics.c, proc.c.  Writes nothing shared;
 *		reads a snapshot the server fills: counters by STATS_GET,
 *		the running config's limits and the reload result under
 *		conf_lock; the server's draining flag (/readyz, the
 *		hellod_draining gauge) by an atomic load.
 *  main thread	also agent.c, and the draining flag: written by the main
 *		thread alone, with an atomic store, at the first stop signal.
 *  every thread	log.c: log_level and log_target are written by the main
 *		thread only, with atomic stores, and loaded atomically;
 *		the other log settings are set before any thread starts.
 *		systemd.c: the dropped-notification count, written by the
 *		main thread alone (STATS_ADD), read with STATS_GET.
 *		readsize.c: the map of connections' descriptors, each entry
 *		written (atomic stores) by the worker that owns that
 *		connection and loaded atomically by whichever thread calls
 *		ioctl(); the map itself is built before any thread starts.
 *		Its answers are counted in the owning worker's stats,
 *		through the entry: only that worker reads the socket.
 */
#ifndef HELLOD_H
#define HELLOD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <pthread.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

struct event_base;
struct event;
struct evconnlistener;
struct bufferevent;

#ifndef TAILQ_FOREACH_SAFE	/* not in glibc's sys/queue.h */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#define HELLOD_PRINTF(f, a) __attribute__((__format__(__printf__, f, a)))

/* Exit codes, documented in hellod(8). */
#define HELLOD_EXIT_OK		0
#define HELLOD_EXIT_FAILURE	1	/* runtime error: cannot listen, ... */
#define HELLOD_EXIT_USAGE	2	/* bad command line */
#define HELLOD_EXIT_CONFIG	3	/* configuration file invalid */

/*
 * What the daemon tells those who ask whether to send it clients: the
 * agent (agent.c) and /readyz (httpd.c), through a callback the server
 * hands them, which may be called from any thread.
 */
enum hellod_state {
	HELLOD_SERVING,
	HELLOD_DRAINING,	/* a stop signal came: stop_grace, the stop */
};
typedef enum hellod_state (*hellod_state_cb)(void *);

/* The leaves, which know nothing above them. */

/* addr.c */
struct listen_addr {
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			optional;	/* "*" IPv6 half: skip if no IPv6 */
};
int	 addr_parse(const char *, struct listen_addr *, size_t, size_t *,
	     char *, size_t);
void	 addr_set_port(struct listen_addr *, int);
int	 addr_get_port(const struct sockaddr *);
const char *addr_fmt(const struct sockaddr *, char *, size_t);
const char *addr_fmt_host(const struct sockaddr *, char *, size_t);
int	 addr_equal(const struct listen_addr *, const struct listen_addr *);
int	 addr_overlap(const struct listen_addr *,
	     const struct listen_addr *);
#define ADDR_STRLEN	(INET6_ADDRSTRLEN + 8)	/* "[addr]:port" */
#define ADDR_MAX	16	/* addresses in one "bind" value */
/*
 * A network, "10.0.0.0/8" or "fd00::/8" (a bare address is a /32 or a
 * /128), for proxy_trusted.  An IPv4-mapped IPv6 prefix of /96 or more is
 * kept as the IPv4 prefix it is, and an IPv4-mapped peer is matched as
 * IPv4 too, so "127.0.0.1" trusts ::ffff:127.0.0.1 on a dual-stack socket.
 */
struct addr_prefix {
	sa_family_t	 family;	/* AF_INET or AF_INET6 */
	unsigned	 bits;		/* 0-32 or 0-128 */
	uint8_t		 addr[16];	/* network order, host bits zero */
};
int	 addr_prefix_parse(const char *, struct addr_prefix *, size_t,
	     size_t *, char *, size_t);
int	 addr_prefix_match(const struct addr_prefix *, size_t,
	     const struct sockaddr *);
#define ADDR_PREFIX_MAX	64	/* prefixes in one proxy_trusted value */
/*
 * Whose connections max_connections_per_source counts together: one IPv4
 * address (an IPv4-mapped IPv6 one included), or one IPv6 /64, the
 * smallest block a site or a host's SLAAC addresses are given.  Zeroed
 * past the bytes that count, so that memcmp() and hashing work on it.
 */
struct addr_source {
	sa_family_t	 family;	/* AF_INET, AF_INET6, AF_UNSPEC */
	uint8_t		 addr[8];	/* 4 IPv4 bytes, or the /64 */
};
void	 addr_source_key(const struct sockaddr *, struct addr_source *);
int	 addr_source_equal(const struct addr_source *,
	     const struct addr_source *);
uint32_t addr_source_hash(const struct addr_source *, uint32_t);
const char *addr_source_fmt(const struct addr_source *, char *, size_t);
#define ADDR_SOURCE_V6_BITS	64

/* config.c */
#define CONFIG_NAME_MAX		64	/* bytes in name, and the host name */
struct config {
	char			*path;		/* file it came from, or NULL */
	int			 port;
	struct listen_addr	 binds[ADDR_MAX];
	size_t			 nbinds;
	char			*bind_text;	/* as written, for the dump */
	struct listen_addr	 metrics_listen; /* with its port; len 0: off */
	struct listen_addr	 agent_listen;	/* likewise */
	char			*message;	/* as written, a template */
	char			*name;		/* NULL: the host name */
	char			 host[CONFIG_NAME_MAX + 1]; /* at load */
	/*
	 * The message laid out, with "\n": %n, %h and %% at load.  A
	 * message with fields of a connection (%a, %p, %l) keeps them
	 * as marks, for config_reply() to lay out per connection.
	 */
	char			*reply;
	size_t			 reply_len;
	int			 reply_per_conn; /* has fields: config_reply() */
	unsigned		 max_connections;
	unsigned		 idle_timeout;	/* seconds, 0 = never */
	size_t			 max_line_length;
	size_t			 max_output;	/* queued reply bytes per client */
	unsigned		 shutdown_timeout; /* seconds */
	unsigned		 stop_grace;	/* seconds still serving at TERM */
	int			 log_level;	/* LOG_ERR .. LOG_DEBUG */
	char			*pidfile;
	char			*user;
	unsigned		 workers;	/* 0 = one per CPU */
	unsigned		 max_connections_per_source; /* 0 = off */
	int			 proxy_protocol; /* a PROXY header first */
	struct addr_prefix	 proxy_trusted[ADDR_PREFIX_MAX];
	size_t			 nproxy_trusted;
	char			*proxy_trusted_text; /* as written, or NULL */
	unsigned		 proxy_timeout;	/* seconds for the header */
	int			 refs;		/* server and workers */
};
/*
 * Keys given on the command line ("--port=6001"), applied over the file
 * at start and at every reload; checked at each load, not when added.
 */
struct config_override {
	char			*key;
	char			*value;
};
struct config_overrides {
	struct config_override	*v;
	size_t			 n;
};
struct config	*config_default(void);
struct config	*config_load(const char *, int,
		     const struct config_overrides *, char **);
struct config	*config_parse(FILE *, const char *, char **);
void		 config_free(struct config *);
struct config	*config_ref(struct config *);
void		 config_unref(struct config *);
void		 config_dump(const struct config *,
		     const struct config_overrides *, FILE *);
int		 config_override_add(struct config_overrides *, const char *,
		     const char *);
void		 config_overrides_clear(struct config_overrides *);
void		 config_known_keys(char *, size_t);
int		 config_same_listen(const struct config *,
		     const struct config *);
const char	*config_level_name(int);
int		 config_level_parse(const char *);
int		 config_log_level(const struct config *, int);
/* A limit of the config, for metrics: unit "seconds", "bytes" or NULL. */
struct config_limit {
	const char	*name;		/* the key */
	const char	*unit;
	uint64_t	 value;
};
size_t		 config_limits(const struct config *, struct config_limit *,
		     size_t);
const char	*config_name(const struct config *);
size_t		 config_reply(const struct config *, const struct sockaddr *,
		     const struct sockaddr *, char *, size_t);
#define CONFIG_LIMITS_MAX	8	/* keys config_limits() reports */
#define CONFIG_LINE_MAX		4096	/* bytes in a line, less LF or CRLF */
#define WORKER_MAX		256	/* the workers key's most: event loops */
#define CONFIG_ERRORS_MAX	20	/* errors told of one load; then a count */
#define CONFIG_MESSAGE_MAX	1024	/* bytes in message */
#define CONFIG_REPLY_MAX	4096	/* bytes in a reply laid out, "\n" too */
#define CONFIG_PATH_MAX		1024	/* bytes in a path: the dump's line
					   fits in CONFIG_LINE_MAX too */

/* frame.c: counts lines; the reply never depends on a line's content */
struct evbuffer;
enum frame_status {
	FRAME_OK,
	FRAME_TOO_LONG,
};
struct frame {
	size_t		partial;	/* bytes of the unfinished line */
	int		last_cr;	/* unfinished line ends in CR */
};
enum frame_status frame_feed(struct frame *, const char *, size_t, size_t,
		    size_t *, size_t *);
enum frame_status frame_feed_n(struct frame *, const char *, size_t, size_t,
		    size_t, size_t *, size_t *);
enum frame_status frame_evbuffer(struct frame *, struct evbuffer *, size_t,
		    size_t, size_t *, size_t *);
size_t		 frame_budget(size_t, size_t, size_t);
int		 frame_eof(struct frame *);
#define FRAME_IOV	8	/* input chains looked at in one pass */

/*
 * proxy.c: the PROXY protocol header, v1 and v2 (HAProxy's
 * doc/proxy-protocol.txt).  proxy_parse(buf, len, res, &used) looks at the
 * first len bytes the connection received, all of them each time, and
 * keeps no state: ask again with more bytes after PROXY_MORE.
 *  PROXY_MORE	every byte so far fits a header: wait (never once len
 *		reaches PROXY_HEADER_MAX)
 *  PROXY_OK	a header of *used bytes; what follows it is the client's
 *		data.  res->family AF_INET or AF_INET6: the client is
 *		res->src (res->len bytes), the address it asked for
 *		res->dst; AF_UNSPEC (v2 LOCAL, v1 UNKNOWN, v2 PROXY for
 *		UNSPEC, UDP or UNIX): use the socket's own addresses.
 *		res->reason names the kind ("v2 LOCAL").
 *  PROXY_BAD	not a valid header, decided as early as the bytes allow;
 *		res->reason, a static string, says why ("not a PROXY
 *		header", "v1: no CRLF within 107 bytes"); never a byte of
 *		the header, since it is logged.
 * The bytes to collect are at most PROXY_HEADER_MAX: *used never exceeds
 * it, and MORE is never the answer at that length.
 */
enum proxy_status {
	PROXY_MORE,
	PROXY_OK,
	PROXY_BAD,
};
union proxy_addr {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};
struct proxy_result {
	int			 version;	/* 1, 2; 0: no signature yet */
	sa_family_t		 family;	/* AF_UNSPEC: the socket's */
	socklen_t		 len;		/* of src and dst */
	union proxy_addr	 src;		/* the client */
	union proxy_addr	 dst;		/* where it connected to */
	const char		*reason;
};
enum proxy_status proxy_parse(const void *, size_t, struct proxy_result *,
		    size_t *);
#define PROXY_V1_MAX		107	/* the line and its CRLF, at most */
#define PROXY_V2_HEADER		16	/* signature, command, family, len */
/*
 * The v2 length field's largest value: addresses and TLVs.  The spec fits
 * the whole header in 536 bytes (the smallest MSS); 536 after the fixed 16
 * leaves room for a sender that adds a TLV more than it should.
 */
#define PROXY_V2_LEN_MAX	536
#define PROXY_HEADER_MAX	(PROXY_V2_HEADER + PROXY_V2_LEN_MAX)

/*
 * log.c: the priority of each function is documented in log.c; every
 * message is logged whole, on one line, whatever its length (syslogd and
 * journald may cut lines of their own limits, 8 KiB and 48 KiB by default).
 */
enum log_target {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
};
void	log_init(enum log_target, int, const char *);
void	log_to_syslog(void);
void	log_set_journal(int);
void	log_setlevel(int);
int	log_getlevel(void);
const char *log_level_name(int);
int	log_level_parse(const char *);
void	log_warn(const char *, ...) HELLOD_PRINTF(1, 2);
void	log_warnx(const char *, ...) HELLOD_PRINTF(1, 2);
void	log_notice(const char *, ...) HELLOD_PRINTF(1, 2);
void	log_info(const char *, ...) HELLOD_PRINTF(1, 2);
void	log_debug(const char *, ...) HELLOD_PRINTF(1, 2);
void	log_errorx(const char *, ...) HELLOD_PRINTF(1, 2);
void	vlog(int, const char *, va_list) HELLOD_PRINTF(2, 0);
__dead void fatal(const char *, ...) HELLOD_PRINTF(1, 2);
__dead void fatalx(const char *, ...) HELLOD_PRINTF(1, 2);
/*
 * A rate-limited line: log_limited(lim, now, pri, fmt, ...) logs at most
 * one line per LOG_LIMIT_MS for each limiter, now being clock_ms() (or any
 * clock a test drives).  The lines it holds back are counted, and the next
 * line it logs ends in " (N similar suppressed)", N then starting again
 * from 0.  A limiter is a struct its caller owns, zeroed to start, one per
 * kind of event (so that it counts only its own), and used by one thread.
 */
struct log_limit {
	uint64_t	next_ms;	/* no line before this */
	unsigned long	suppressed;	/* held back since the last line */
};
void	log_limited(struct log_limit *, uint64_t, int, const char *, ...)
	    HELLOD_PRINTF(4, 5);
#define LOG_LIMIT_MS	1000	/* one line a second, per limiter */
/*
 * Bytes a client sent, fit for a line of the log: printable ASCII as is,
 * the rest as \\, \r, \n, \t or \xHH, cut with "..." to fit.
 */
char	*log_escape(char *, size_t, const void *, size_t);
#define LOG_ESCAPE_MAX		256	/* a client's field, escaped, with NUL */

/* clock.c: the one clock for intervals, monotonic and coarse */
uint64_t clock_ms(void);

/*
 * stats.c: counters for every limit event.
 *
 * STATS_TABLE is the one list of them (memcached's THREAD_STATS_FIELDS):
 * struct stats, enum stats_close, the sum of two sets, the SIGUSR1 line
 * and the counters' families on /metrics are all expanded from it, in its
 * order.  A row is one of:
 *  ONE(field, family, type, help)  a counter that is a family of its own
 *  FAMILY(family, label, help)     a family of counters by label; the rows
 *				   after it, up to the next ONE or FAMILY,
 *				   are its members
 *  BY(field, value)                a member: its label's value
 *  CLOSE(NAME, value)              a member that is a close reason: value
 *				   of enum stats_close STATS_CLOSE_NAME,
 *				   counted in closed[], "closed_value" on
 *				   the SIGUSR1 line
 * field is the counter's member of struct stats and its name on the
 * SIGUSR1 line; type is counter or gauge; a FAMILY is of counters.  Each
 * name is documented once, in hellod.conf(5) METRICS.
 */
#define STATS_TABLE(ONE, FAMILY, BY, CLOSE)				\
	ONE(conns_current, "hellod_connections_active", gauge,		\
	    "Connections open now.")					\
	ONE(conns_accepted, "hellod_connections_accepted_total", counter, \
	    "Connections accepted and served (within max_connections).") \
	FAMILY("hellod_connections_rejected_total", "reason",		\
	    "Connections refused with an error line, by reason.")	\
	BY(conns_rejected, "max_connections")				\
	BY(conns_rejected_source, "per_source")				\
	BY(conns_rejected_proxy, "proxy")	/* bad or untrusted */	\
	ONE(requests, "hellod_requests_total", counter,			\
	    "Lines answered.")						\
	ONE(bytes_received, "hellod_bytes_received_total", counter,	\
	    "Bytes read from clients.")					\
	ONE(bytes_sent, "hellod_bytes_sent_total", counter,		\
	    "Reply bytes written to clients.")				\
	FAMILY("hellod_connections_closed_total", "reason",		\
	    "Connections closed, by reason.")				\
	CLOSE(CLIENT, "client")		/* client closed, or reset */	\
	CLOSE(IDLE, "idle")		/* idle_timeout */		\
	CLOSE(TOO_LONG, "line_too_long") /* max_line_length */		\
	CLOSE(ERROR, "error")		/* socket error, out of memory */ \
	CLOSE(SHUTDOWN, "shutdown")	/* the server stops */		\
	CLOSE(PROBE, "probe")		/* closed without a byte */	\
	CLOSE(REJECTED, "rejected")	/* PROXY header, per-source cap */ \
	ONE(output_paused, "hellod_output_paused_total", counter,	\
	    "Times reading from a client paused, its replies queued past " \
	    "max_output.")						\
	ONE(accept_paused, "hellod_accept_paused_total", counter,	\
	    "Times accepting paused for want of descriptors or memory.") \
	ONE(reloads, "hellod_reloads_total", counter,			\
	    "Configuration reloads applied.")				\
	ONE(reloads_failed, "hellod_reload_failures_total", counter,	\
	    "Configuration reloads refused; the running one was kept.")	\
	ONE(proxy_local, "hellod_proxy_local_total", counter,		\
	    "PROXY headers with no client address (v2 LOCAL, v1 UNKNOWN), " \
	    "as a load balancer's health checks send.")		\
	ONE(fionread_answered, "hellod_fionread_answered_total", counter, \
	    "Reads of a connection libevent sized with hellod's answer to " \
	    "FIONREAD instead of the kernel's (readsize.c).")

#define STATS_NONE(...)
#define STATS_CLOSE_PREFIX	"closed_"	/* a close reason's SIGUSR1 name */
#define STATS_ENUM_CLOSE(name, value)	STATS_CLOSE_##name,
enum stats_close {
	STATS_TABLE(STATS_NONE, STATS_NONE, STATS_NONE, STATS_ENUM_CLOSE)
	STATS_CLOSE_MAX
};
/*
 * One set per worker, written by that worker's thread alone (and one for
 * the server, written by the main thread); readers in other threads load
 * each counter whole (STATS_GET) and add the sets up.
 */
#define STATS_FIELD_ONE(field, ...)	uint64_t field;
#define STATS_FIELD_BY(field, value)	uint64_t field;
struct stats {
	STATS_TABLE(STATS_FIELD_ONE, STATS_NONE, STATS_FIELD_BY, STATS_NONE)
	uint64_t	closed[STATS_CLOSE_MAX];
};
/*
 * Not an atomic add: a relaxed load, then a relaxed store of the sum.
 * Safe only from the one thread that owns the set (its worker, or the
 * main thread for the server's): it keeps a reader in another thread from
 * seeing a torn value, nothing more.  Two writers would lose counts; a
 * counter with many writers is an __atomic_add_fetch() of its own
 * (struct worker_shared).
 */
#define STATS_ADD(field, n)						\
	__atomic_store_n(&(field), __atomic_load_n(&(field),		\
	    __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define STATS_GET(field)	__atomic_load_n(&(field), __ATOMIC_RELAXED)
/*
 * STATS_TABLE as data, in its order: a family's head (name NULL), then
 * its counters.  A ONE row is a head and its counter.
 */
struct stats_row {
	const char	*name;		/* on the SIGUSR1 line; NULL: a head */
	const char	*family;	/* head: the metric's name */
	const char	*type;		/* head: "counter" or "gauge" */
	const char	*label;		/* head: its members' label, or NULL */
	const char	*help;		/* head */
	const char	*value;		/* counter: its label's value, or NULL */
	size_t		 offset;	/* counter: its uint64_t in struct stats */
};
const struct stats_row *stats_rows(size_t *);
/*
 * The longest text of stats_format(): each name, '=', 20 digits and a
 * blank, summed as the size of a struct of char arrays.
 */
#define STATS_LEN_ONE(field, ...)	char field[sizeof(#field) + 21];
#define STATS_LEN_BY(field, value)	char field[sizeof(#field) + 21];
#define STATS_LEN_CLOSE(name, value)					\
	char name[sizeof(STATS_CLOSE_PREFIX value) + 21];
struct stats_format_len {
	STATS_TABLE(STATS_LEN_ONE, STATS_NONE, STATS_LEN_BY, STATS_LEN_CLOSE)
};
#define STATS_FORMAT_MAX	(sizeof(struct stats_format_len) + 1)
void		 stats_add(struct stats *, const struct stats *);
void		 stats_format(const struct stats *, char *, size_t);
const char	*stats_close_name(enum stats_close);

/*
 * readsize.c: hellod's own ioctl(), found before libc's by the dynamic
 * linker, which answers libevent's FIONREAD on a connection's socket
 * without a system call, and hands every other ioctl to libc.  conn.c
 * marks a socket at accept, with the counter of its worker to count the
 * answers in, and unmarks it before it closes it.  Without
 * HELLOD_READSIZE (configure --disable-readsize) these do nothing.
 */
void	 readsize_init(void);
void	 readsize_mark(int, uint64_t *);
void	 readsize_unmark(int);
#define READSIZE_ANSWER	960	/* fits libevent's 1 KiB chain: see readsize.c */
#define READSIZE_FD_MAX	(1 << 20) /* descriptors in the map at most: the
				   kernel's default fs.nr_open */

/* source.c: connections open per source, for max_connections_per_source */
struct source_table;
struct source_table *source_table_new(void);
void		 source_table_free(struct source_table *);
int		 source_take(struct source_table *, const struct addr_source *,
		     unsigned);
void		 source_release(struct source_table *,
		     const struct addr_source *);
unsigned	 source_count(struct source_table *,
		     const struct addr_source *, size_t *);
#define SOURCE_BUCKETS	4096

/*
 * admit.c: who gets a connection: proxy_trusted, max_connections_per_source
 * and max_connections, each refusal decided, counted (the owner's struct
 * stats) and logged (rate-limited) there.  One struct admit per worker,
 * used by its thread alone: by worker.c at accept, by conn.c once a PROXY
 * header names the client.
 */
struct admit {
	uint64_t		*open;		/* every worker's: atomic */
	struct source_table	*sources;	/* locked inside */
	struct stats		*stats;		/* the owning thread's */
	struct log_limit	 lim_full;
	struct log_limit	 lim_source;
	struct log_limit	 lim_proxy;
};
void	 admit_init(struct admit *, uint64_t *, struct source_table *,
	     struct stats *);
int	 admit_accept(struct admit *, const struct config *,
	     const struct sockaddr *, int *, const char **);
void	 admit_leave(struct admit *);
int	 admit_source(struct admit *, const struct config *,
	     const struct sockaddr *);
void	 admit_leave_source(struct admit *, const struct sockaddr *);
void	 admit_proxy_refused(struct admit *, const struct sockaddr *,
	     const char *);
void	 admit_refuse(int, const char *);
#define ADMIT_FULL_LINE		"ERROR too many connections\n"
#define ADMIT_SOURCE_LINE	"ERROR too many connections from your address\n"
#define ADMIT_REFUSE_DRAIN	4	/* reads of early input before close */

/* proc.c: the process's CPU time, memory and descriptors, /proc/self */
#define PROC_UNKNOWN	UINT64_MAX	/* could not be read */
struct proc_stat {
	uint64_t	 cpu_ticks;	/* utime + stime, clock ticks */
	uint64_t	 vsize;		/* bytes */
	uint64_t	 rss_pages;
};
struct proc_usage {
	uint64_t	 cpu_ms;	/* user + system */
	uint64_t	 open_fds;
	uint64_t	 max_fds;	/* soft RLIMIT_NOFILE */
	uint64_t	 virtual_bytes;
	uint64_t	 resident_bytes;
};
int	proc_stat_parse(const char *, size_t, struct proc_stat *);
void	proc_usage(struct proc_usage *);

/*
 * metrics.c: the counters in the Prometheus text format 0.0.4, from a
 * snapshot handed to it.  A value of PROC_UNKNOWN is left out.
 */
struct metrics {
	struct stats	 total;		/* the server's and every worker's */
	unsigned	 workers;
	uint64_t	 accepted[WORKER_MAX];	/* by worker, workers of them */
	const char	*version;
	uint64_t	 start_ms;	/* process start, ms since the epoch */
	uint64_t	 notify_dropped;
	uint64_t	 reload_ok;	/* the last load succeeded: 1 or 0 */
	uint64_t	 reload_ms;	/* last success, ms since the epoch */
	uint64_t	 draining;	/* 1 from the first stop signal on */
	struct config_limit limits[CONFIG_LIMITS_MAX]; /* the running config */
	size_t		 nlimits;
	struct proc_usage proc;
};
size_t	metrics_format(const struct metrics *, char *, size_t);
size_t	metrics_escape(char *, size_t, const char *, int);
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
/* One scrape's text: the families, and a line for each worker. */
#define METRICS_MAX		(8192 + WORKER_MAX * 80)

/* daemon.c */
int	daemon_stdio(void);
int	daemon_start(void);
void	daemon_ready(int);
int	daemon_drop_privileges(const char *);
rlim_t	daemon_fd_need(unsigned, unsigned, size_t);
int	daemon_fd_limit(rlim_t, unsigned);
int	daemon_pidfile_write(const char *);
void	daemon_pidfile_remove(const char *);
/* What daemon_fd_need() counts, as server.c, worker.c and libevent 2.1
 * open them. */
#define DAEMON_FD_PROCESS	7	/* stdio, syslog, readiness pipe, the
					 * server's done eventfd and reserve */
#define DAEMON_FD_BASE		3	/* an event base: epoll, signal pipe */
#define DAEMON_FD_WORKER	1	/* a threaded worker's eventfd */
#define DAEMON_FD_SPARE		32	/* comes and goes */

/* systemd.c: sd_notify, socket activation, watchdog, journald; no libsystemd */
struct sockaddr_un;
enum systemd_state {
	SYSTEMD_READY,		/* READY=1 */
	SYSTEMD_RELOADING,	/* RELOADING=1 + MONOTONIC_USEC= */
	SYSTEMD_STOPPING,	/* STOPPING=1 */
	SYSTEMD_WATCHDOG,	/* WATCHDOG=1 */
	SYSTEMD_STATUS,		/* STATUS= alone */
};
#define SYSTEMD_LISTEN_FDS_START 3	/* first passed fd, sd_listen_fds(3) */
#define SYSTEMD_LISTEN_FDS_MAX	1024	/* more than any .socket unit has */
#define SYSTEMD_FDNAME_MAX	255	/* one LISTEN_FDNAMES or FDNAME= name */
#define SYSTEMD_FDNAME_PREFIX	"hellod-"	/* hellod's own in the fd store */
#define SYSTEMD_STATUS_MAX	512	/* STATUS= text */
#define SYSTEMD_MSG_MAX		(SYSTEMD_STATUS_MAX + 64)
int	systemd_format(char *, size_t, enum systemd_state, uint64_t,
	    const char *);
int	systemd_notify_addr(const char *, struct sockaddr_un *, socklen_t *,
	    char **);
int	systemd_listen_parse(const char *, const char *, const char *, pid_t,
	    char **);
char	**systemd_listen_names(const char *, int);
void	systemd_listen_free(char **, int);
int	systemd_fdname_valid(const char *);
int	systemd_fdname(char *, size_t, const char *);
int	systemd_fdname_stored(const char *);
int	systemd_fdstore_format(char *, size_t, int, const char *);
int	systemd_watchdog_parse(const char *, const char *, pid_t, uint64_t *,
	    char **);
int	systemd_journal_match(const char *, dev_t, ino_t);
void	systemd_status(char *, size_t, const char **, size_t, uint64_t);
int	systemd_notify_send(const char *, size_t, char **);
int	systemd_notify_send_fd(const char *, size_t, int, char **);
void	systemd_notify(enum systemd_state, const char *);
int	systemd_fdstore(int, const char *);
int	systemd_fdstore_remove(const char *);
int	systemd_listen_fds(char ***, char **);
int	systemd_journal_stderr(void);
uint64_t systemd_watchdog_interval(void);
uint64_t systemd_notify_dropped(void);

/* The layers above them, from the bottom up: the listening sockets and
 * the metrics endpoint, one connection, one event loop, the main loop. */

/*
 * listener.c: the set of listening sockets, one per address, opened from
 * the config or inherited; worker 0 accepts from dups of them.
 */
struct listener {
	TAILQ_ENTRY(listener)	 entry;
	int			 fd;
	struct listen_addr	 addr;		/* bound to, real port */
	char			 name[ADDR_STRLEN];
	struct listener		*from;		/* reload: running one reused */
	int			 inherited;	/* systemd's: never retired */
	int			 stored;	/* in systemd's fd store */
	int			 adopted;	/* from the store, at start */
	int			 shared;	/* SO_REUSEPORT, for a moment */
	char			 fdname[SYSTEMD_FDNAME_MAX + 1]; /* stored */
};
TAILQ_HEAD(listener_list, listener);
int	listener_open_config(struct listener_list *, const struct config *,
	    struct listener_list *, char **);
int	listener_open_fd(int, struct listener_list *);
int	listener_open_stored(int, const char *, struct listener_list *);
void	listener_commit(struct listener_list *, struct listener_list *);
int	*listener_dup(const struct listener_list *, size_t *);
size_t	listener_names(const struct listener_list *, const char **, size_t);
void	listener_retire_all(struct listener_list *);
void	listener_stop_all(struct listener_list *);
void	listener_close_all(struct listener_list *);
int	listener_open_one(const struct listen_addr *, char *, size_t,
	    char **);
#define LISTENER_BACKLOG	SOMAXCONN

/*
 * httpd.c: GET /metrics on libevent's evhttp, in a thread and an event
 * base of its own; the counters come from the callback given to it.
 */
struct httpd;
typedef void	(*httpd_snapshot_cb)(struct metrics *, void *);
struct httpd	*httpd_open(const struct listen_addr *, httpd_snapshot_cb,
		     hellod_state_cb, void *, char **);
int		 httpd_start(struct httpd *);
void		 httpd_free(struct httpd *);
#define HTTPD_PATH		"/metrics"
#define HTTPD_HEALTHZ		"/healthz"	/* 200 while the process runs */
#define HTTPD_READYZ		"/readyz"	/* 200 serving, 503 draining */
#define HTTPD_CONN_MAX		8	/* connections at once */
#define HTTPD_TIMEOUT		5	/* seconds for a request and its reply */
#define HTTPD_HEADERS_MAX	8192	/* request line and headers, bytes */
#define HTTPD_ACCEPT_RETRY_MS	100	/* pause after EMFILE/ENFILE */

/*
 * agent.c: HAProxy's agent check (agent_listen): every connection gets one
 * line, what the state callback says, and is closed; in the event base it
 * is given (the main loop's).  The socket is opened by listener.c.
 */
struct agent;
struct agent	*agent_open(struct event_base *, const struct listen_addr *,
		     hellod_state_cb, void *, char **);
void		 agent_free(struct agent *);
/*
 * "ready" as well as "up": HAProxy keeps a DRAIN that an agent set until
 * an agent says "ready", so the hellod started after one that drained
 * must say it, or its server would stay drained for good.
 */
#define AGENT_LINE_SERVING	"up ready\n"
#define AGENT_LINE_DRAINING	"drain\n"
#define AGENT_ACCEPT_RETRY_MS	100	/* pause after EMFILE/ENFILE */

/*
 * conn.c: one connection, a socket bufferevent from accept to close.
 *
 * The seam between a connection and its worker, the only ways across:
 *  down	worker.c calls conn_accept() (after admission), conn_drain(),
 *		conn_reconfigure() (after it has changed its conn_ctx),
 *		conn_close() (idle, exit) and conn_last_request().
 *  up		conn.c calls three functions of worker.c: the connection
 *		was opened (worker_conn_opened(): its id, the worker's
 *		list), answered a line (worker_conn_touched(): the idle
 *		order) and closed (worker_conn_closed(): off the list, its
 *		slot free, maybe accept again or end the loop).
 *  context	everything else a connection has of its worker is its
 *		struct conn_ctx: read-only but for the thread's own counters
 *		and admission state, which the worker's thread alone uses.
 */
struct worker;
#define CONN_WHY_BITS	3	/* of struct conn, for enum stats_close */
/*
 * What the worker hands each of its connections.  The worker owns it and
 * changes it only in its own thread, between callbacks (a reload: conf
 * and the replies, then conn_reconfigure() on each connection).
 */
struct conn_ctx {
	struct worker		*w;		/* for the three calls up */
	struct event_base	*base;
	const struct config	*conf;		/* the worker's current one */
	const char		*replies;	/* conf->reply, back to back;
						   NULL: per connection */
	size_t			 nreplies;
	char			*scratch;	/* WORKER_WBUF bytes where a
						   connection with a reply of
						   its own lays it out n times
						   to send (the block, unused
						   then); NULL: shared */
	struct stats		*mine;		/* this thread's counters, this
						   thread only (STATS_ADD) */
	struct admit		*admit;		/* this thread's, likewise */
	int			 stopping;	/* the worker finishes them all */
};
enum conn_state {
	CONN_OPEN,
	CONN_FLUSHING,		/* replies owed are written, then FIN */
	CONN_LINGERING,		/* FIN sent; input discarded until EOF */
	CONN_PROXY,		/* waiting for the PROXY header */
};
struct conn {
	TAILQ_ENTRY(conn)	 entry;		/* worker's, by last request */
	const struct conn_ctx	*ctx;		/* its worker's */
	struct bufferevent	*bev;		/* owns the socket */
	struct event		*ev_timer;	/* PROXY header, linger */
	uint64_t		 id;
	uint64_t		 last_request;	/* monotonic ms */
	const char		*reason;	/* why it is closing */
	char			*reply;		/* its own, laid out: a message
						   with %a, %p, %l; NULL:
						   the worker's block */
	struct frame		 frame;
	uint32_t		 unsent;	/* output not counted as sent */
	uint32_t		 reply_len;	/* of reply */
	int			 fd;		/* the bufferevent's, for send() */
	unsigned		 state:2;	/* enum conn_state */
	unsigned		 why:CONN_WHY_BITS; /* enum stats_close */
	unsigned		 paused:1;	/* output over max_output */
	unsigned		 peer_eof:1;	/* client sent FIN */
	unsigned		 draining:1;	/* server stopping */
	unsigned		 spoke:1;	/* sent a byte (after PROXY) */
	unsigned		 sourced:1;	/* counted in the source table */
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	}			 peer;
};
TAILQ_HEAD(conn_list, conn);
_Static_assert(STATS_CLOSE_MAX <= 1 << CONN_WHY_BITS,
    "struct conn's why holds every value of enum stats_close");
int		conn_accept(const struct conn_ctx *, int,
		    const struct sockaddr *, socklen_t, int);
void		conn_finish(struct conn *, enum stats_close, const char *);
void		conn_close(struct conn *, enum stats_close, const char *);
void		conn_drain(struct conn *);
int		conn_reconfigure(struct conn *);
uint64_t	conn_last_request(const struct conn *);
#define CONN_LINGER_SECS	2	/* discard input after our FIN */
#define CONN_QUIET_MS		500	/* stopping: client quiet this long */

/*
 * worker.c: one event loop with its connections.  Worker 0 runs in the
 * main thread on the server's base and alone has evconnlisteners: it
 * deals each socket it accepts to the workers in turn.  The others run in
 * threads of their own, told what to do, and handed their sockets, through
 * a mailbox and an eventfd.  A socket a worker takes goes through
 * admission (admit.c) before it becomes a connection (worker_accept());
 * see conn.c above for the seam.
 */
enum worker_cmd {
	WORKER_CMD_NONE,
	WORKER_CMD_RECONF,	/* new config */
	WORKER_CMD_STOP,	/* graceful: finish every connection */
	WORKER_CMD_HALT,	/* now */
};
/* Shared by every worker, owned by the server: the only counters with
 * many writers, each changed atomically; and every worker, for worker 0
 * to deal sockets to (set before any loop runs, read by worker 0). */
struct worker_shared {
	uint64_t		 conns_open;	/* against max_connections */
	uint64_t		 next_conn_id;
	struct source_table	*sources;	/* locked inside */
	struct worker		**workers;	/* NULL: each keeps its own */
	unsigned		 nworkers;
};
typedef void	(*worker_done_cb)(void *);
struct worker	*worker_new(unsigned, struct event_base *, struct config *,
		     struct worker_shared *, uint64_t, worker_done_cb, void *);
int		 worker_listen(struct worker *, int *, size_t);
int		 worker_deal(struct worker *, struct worker **, unsigned);
int		 worker_start(struct worker *);
void		 worker_post(struct worker *, enum worker_cmd, struct config *,
		     uint64_t);
uint64_t	 worker_acked(struct worker *);
int		 worker_threaded(const struct worker *);
int		 worker_alive(struct worker *);
int		 worker_finished(struct worker *);
void		 worker_stats(struct worker *, struct stats *);
uint64_t	 worker_accepted(struct worker *);
uint64_t	 worker_conns(struct worker *);
void		 worker_free(struct worker *);
void		 worker_accept(struct worker *, int, const struct sockaddr *,
		     socklen_t);
/* The three calls up from conn.c, in the worker's thread. */
void		 worker_conn_opened(struct worker *, struct conn *);
void		 worker_conn_touched(struct worker *, struct conn *);
void		 worker_conn_closed(struct worker *, struct conn *);
#define WORKER_WBUF		65536	/* replies written at once */
#define WORKER_ACCEPT_RETRY_MS	100	/* pause after EMFILE/ENFILE */

/* server.c: the main loop: signals, reload, the workers, the watchdog */
struct server;
struct server	*server_new(struct config *, const char *, int,
		     const struct config_overrides *, int, char **);
int		 server_listen(struct server *);
int		 server_prepare(struct server *);
int		 server_start(struct server *);
int		 server_dispatch(struct server *);
void		 server_signals_hold(void);
void		 server_free(struct server *);
void		 server_set_verbose(struct server *, int);
#define SERVER_ACK_TIMEOUT	5	/* seconds a reload waits on workers */
#define SERVER_STATS_MAX	(512 + WORKER_MAX * 21)	/* the USR1 text */
#define SERVER_STATS_INLINE	16	/* workers listed on the first line */
#define SERVER_STATS_CHUNK	32	/* workers on a continuation line */
#define SERVER_LIBEVENT_LOG_MAX	2048	/* a libevent line, escaped */
_Static_assert(STATS_FORMAT_MAX + 64 <= SERVER_STATS_MAX,
    "the USR1 text holds every counter of STATS_TABLE, and notify_dropped");

#endif /* HELLOD_H */
