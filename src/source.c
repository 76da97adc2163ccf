/* SPDX-License-Identifier: ISC */
/*
 * Connections open at once per source (max_connections_per_source): one
 * table for all workers, keyed by addr_source_key() (an IPv4 address or an
 * IPv6 /64), under a mutex.  It is touched once when a connection opens
 * and once when it closes, never per request, so one lock is cheap enough;
 * an entry lives only while its source has a connection open, so the
 * table holds at most max_connections entries.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hellod.h"

struct source_entry {
	struct source_entry	*next;
	struct addr_source	 key;
	unsigned		 count;
};

struct source_table {
	pthread_mutex_t		 lock;
	uint32_t		 seed;		/* per process: no chosen collisions */
	size_t			 entries;
	struct source_entry	*buckets[SOURCE_BUCKETS];
};

struct source_table *
source_table_new(void)
{
	struct source_table	*t;
	struct timespec		 ts;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t->seed = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16;
	return t;
}

void
source_table_free(struct source_table *t)
{
	struct source_entry	*e;
	size_t			 i;

	if (t == NULL)
		return;
	for (i = 0; i < SOURCE_BUCKETS; i++) {
		while ((e = t->buckets[i]) != NULL) {
			t->buckets[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct source_entry **
source_find(struct source_table *t, const struct addr_source *key)
{
	struct source_entry	**ep;

	ep = &t->buckets[addr_source_hash(key, t->seed) % SOURCE_BUCKETS];
	while (*ep != NULL && !addr_source_equal(&(*ep)->key, key))
		ep = &(*ep)->next;
	return ep;
}

/*
 * One more connection from key, if it has fewer than max open (max 0: no
 * cap, it is only counted, so that a cap set later sees it): returns 0 and
 * counts it, -1 when it has max already (or memory is short: then the
 * connection is refused rather than let past a limit).
 */
int
source_take(struct source_table *t, const struct addr_source *key,
    unsigned max)
{
	struct source_entry	**ep, *e;
	int			 rc = 0;

	pthread_mutex_lock(&t->lock);
	ep = source_find(t, key);
	if ((e = *ep) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			rc = -1;
		else {
			e->key = *key;
			e->count = 1;
			*ep = e;
			t->entries++;
		}
	} else if (max != 0 && e->count >= max)
		rc = -1;
	else
		e->count++;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* A connection counted by source_take() has closed. */
void
source_release(struct source_table *t, const struct addr_source *key)
{
	struct source_entry	**ep, *e;

	pthread_mutex_lock(&t->lock);
	ep = source_find(t, key);
	if ((e = *ep) != NULL && --e->count == 0) {
		*ep = e->next;
		free(e);
		t->entries--;
	}
	pthread_mutex_unlock(&t->lock);
}

/* Connections open from key, and sources in the table (for tests). */
unsigned
source_count(struct source_table *t, const struct addr_source *key,
    size_t *entries)
{
	struct source_entry	*e;
	unsigned		 n;

	pthread_mutex_lock(&t->lock);
	e = *source_find(t, key);
	n = e != NULL ? e->count : 0;
	if (entries != NULL)
		*entries = t->entries;
	pthread_mutex_unlock(&t->lock);
	return n;
}
