/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The console's sessions: in memory only (a restart logs everyone
 * out), each a random id (the cookie), a random CSRF token (every form
 * carries it), the name the engineer gave at login, and an expiry.
 * The engineer token itself is never kept here.
 */
#include "config.h"


#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/digest.h"
#include "console.h"
#include "base/banned.h"

void
csess_init(struct csess_table *t, long long ttl)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	t->ttl = ttl;
}

void
csess_destroy(struct csess_table *t)
{
	explicit_bzero(t->v, sizeof(t->v));
	pthread_mutex_destroy(&t->mu);
}

int
csess_name_valid(const char *name)
{
	const char *p;

	if (name == NULL || *name == '\0' || strlen(name) > CSESS_NAME)
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._@+- ", *p) != NULL))
			return 0;
	return name[0] != ' ' && name[0] != '-';
}

/* CSESS_HEX hex digits of fresh random bytes into `out`: 0, or -1. */
static int
random_hex(char out[CSESS_HEX + 1])
{
	return bf_random_hex(out, CSESS_HEX / 2) < 0 ? -1 : 0;
}

/* The slot a new session takes: free, expired, or the oldest. */
static struct csess *
free_slot(struct csess_table *t, long long now)
{
	struct csess *old = &t->v[0];
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].expires <= now)
			return &t->v[i];
		if (t->v[i].expires < old->expires)
			old = &t->v[i];
	}
	if (t->n < CSESS_MAX)
		return &t->v[t->n++];
	return old;
}

int
csess_create(struct csess_table *t, const char *name, long long now,
    struct csess *out)
{
	struct csess s, *slot;

	memset(&s, 0, sizeof(s));
	if (!csess_name_valid(name) || random_hex(s.id) < 0 ||
	    random_hex(s.csrf) < 0)
		return -1;
	snprintf(s.name, sizeof(s.name), "%s", name);
	s.expires = now + t->ttl;
	pthread_mutex_lock(&t->mu);
	slot = free_slot(t, now);
	*slot = s;
	pthread_mutex_unlock(&t->mu);
	*out = s;
	explicit_bzero(&s, sizeof(s));
	return 0;
}

/* The index of session `id` (with t->mu held), or -1. */
static long
find(struct csess_table *t, const char *id)
{
	size_t i;
	long at = -1;

	/* Every slot compared, each in constant time. */
	for (i = 0; i < t->n; i++)
		if (t->v[i].id[0] != '\0' && console_str_eq(t->v[i].id, id))
			at = (long)i;
	return at;
}

int
csess_lookup(struct csess_table *t, const char *id, long long now,
    struct csess *out)
{
	long i;
	int ok = 0;

	if (id == NULL || strlen(id) != CSESS_HEX)
		return 0;
	pthread_mutex_lock(&t->mu);
	if ((i = find(t, id)) >= 0 && t->v[i].expires > now) {
		*out = t->v[i];
		ok = 1;
	}
	pthread_mutex_unlock(&t->mu);
	return ok;
}

void
csess_delete(struct csess_table *t, const char *id)
{
	long i;

	if (id == NULL || strlen(id) != CSESS_HEX)
		return;
	pthread_mutex_lock(&t->mu);
	if ((i = find(t, id)) >= 0)
		memset(&t->v[i], 0, sizeof(t->v[i]));
	pthread_mutex_unlock(&t->mu);
}
