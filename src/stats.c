/* SPDX-License-Identifier: ISC */
/*
 * Counters for every limit event, from STATS_TABLE (hellod.h): their sum,
 * the SIGUSR1 line of name=value pairs, and the table as data for the
 * metrics endpoint and the tests.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "hellod.h"

#define STATS_NAME_CLOSE(name, value)	[STATS_CLOSE_##name] = (value),
static const char *const stats_close_names[STATS_CLOSE_MAX] = {
	STATS_TABLE(STATS_NONE, STATS_NONE, STATS_NONE, STATS_NAME_CLOSE)
};

#define STATS_ROW_HEAD(family, type, label, help)			\
	{ NULL, family, type, label, help, NULL, 0 },
#define STATS_ROW_ONE(field, family, type, help)			\
	STATS_ROW_HEAD(family, #type, NULL, help)			\
	STATS_ROW_BY(field, NULL)
#define STATS_ROW_FAMILY(family, label, help)				\
	STATS_ROW_HEAD(family, "counter", label, help)
#define STATS_ROW_BY(field, value)					\
	{ #field, NULL, NULL, NULL, NULL, value,			\
	    offsetof(struct stats, field) },
#define STATS_ROW_CLOSE(name, value)					\
	{ STATS_CLOSE_PREFIX value, NULL, NULL, NULL, NULL, value,		\
	    offsetof(struct stats, closed[STATS_CLOSE_##name]) },
static const struct stats_row stats_table[] = {
	STATS_TABLE(STATS_ROW_ONE, STATS_ROW_FAMILY, STATS_ROW_BY,
	    STATS_ROW_CLOSE)
};

/* The table, heads and counters in order; *n rows. */
const struct stats_row *
stats_rows(size_t *n)
{
	*n = sizeof(stats_table) / sizeof(stats_table[0]);
	return stats_table;
}

const char *
stats_close_name(enum stats_close why)
{
	if ((unsigned)why >= STATS_CLOSE_MAX)
		return "unknown";
	return stats_close_names[why];
}

/* The counter at offset, read whole. */
static uint64_t
stats_get(const struct stats *st, size_t offset)
{
	const uint64_t	*v = (const uint64_t *)((const char *)st + offset);

	return STATS_GET(*v);
}

/* "name=value" for each counter, in the table's order, one blank apart. */
void
stats_format(const struct stats *st, char *buf, size_t len)
{
	size_t	 i, n = 0;
	int	 k;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < sizeof(stats_table) / sizeof(stats_table[0]); i++) {
		if (stats_table[i].name == NULL)
			continue;
		k = snprintf(buf + n, len - n, "%s%s=%" PRIu64,
		    n == 0 ? "" : " ", stats_table[i].name,
		    stats_get(st, stats_table[i].offset));
		if (k < 0 || (size_t)k >= len - n)
			return;		/* cut short, terminated */
		n += (size_t)k;
	}
}

/* Add one set of counters to a total, reading each counter whole. */
#define STATS_ADD_ONE(field, ...)	STATS_ADD_BY(field, NULL)
#define STATS_ADD_BY(field, value)	total->field += STATS_GET(st->field);
void
stats_add(struct stats *total, const struct stats *st)
{
	int	 i;

	STATS_TABLE(STATS_ADD_ONE, STATS_NONE, STATS_ADD_BY, STATS_NONE)
	for (i = 0; i < STATS_CLOSE_MAX; i++)
		total->closed[i] += STATS_GET(st->closed[i]);
}
