/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fcache.c: open package files kept for the next request (the file loop).
 *
 * A release wave is hundreds of nodes fetching the same few dozen files.
 * Opening, fstat-ing and closing a file per request was three of the
 * file loop's eight system calls per package; nginx spends the same three
 * unless its open_file_cache is on.  Package files of a snapshot never
 * change (a snapshot is written once, under a name never used again), so
 * an open descriptor and its fstat stay right for as long as the snapshot
 * is what the request resolved to.
 *
 * One cache per file-loop thread: no lock, and a descriptor is only ever
 * used by the thread that holds it.  An entry is found by the path
 * beneath the root ("snapshots/<profile>/<id>/<cat>/<pn>/<file>"), which
 * names the snapshot, and is good while
 *   - the channel cache's epoch is the one it was opened under (any
 *     channel link seen to change moves the epoch: a snapshot deleted
 *     and made again under the same name cannot be served from an old
 *     descriptor), and
 *   - it is younger than BH_FCACHE_TTL seconds (a hand repair of the
 *     tree is seen within that time).
 * The cache is small and scanned linearly by a 64-bit hash of the path:
 * a wave's working set is its changed packages, and a miss costs what
 * every request cost before.  Entries in use by a response in flight
 * are never closed under it (users); the least recently used idle one
 * makes room.  Once a second the thread closes the idle entries past
 * their lifetime (bh_fcache_expire()), so that a snapshot removed by gc
 * does not keep its disk space through a descriptor nobody asks for.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binhost.h"

void
bh_fcache_init(struct bh_fcache *fc, size_t cap)
{
	memset(fc, 0, sizeof(*fc));
	if (cap > BH_FCACHE_MAX)
		cap = BH_FCACHE_MAX;
	fc->cap = cap;
}

static void
ent_drop(struct bh_fcent *e)
{
	if (e->fd >= 0)
		close(e->fd);
	free(e->key);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}

void
bh_fcache_release_all(struct bh_fcache *fc)
{
	size_t i;

	for (i = 0; i < fc->n; i++)
		if (fc->v[i].key != NULL)
			ent_drop(&fc->v[i]);
	fc->n = 0;
}

/* The entry may serve a request that resolved under `epoch` at `now`. */
static int
ent_fresh(const struct bh_fcent *e, uint64_t epoch, time_t now)
{
	return !e->dead && e->epoch == epoch && now >= e->born &&
	    now - e->born < BH_FCACHE_TTL;
}

int
bh_fcache_get(struct bh_fcache *fc, const struct bh_target *t,
    uint64_t hash, time_t now)
{
	struct bh_fcent *e;
	size_t i;

	for (i = 0; i < fc->n; i++) {
		e = &fc->v[i];
		if (e->hash != hash || e->key == NULL || e->dead ||
		    strcmp(e->key, t->rel) != 0)
			continue;
		if (!ent_fresh(e, t->epoch, now)) {
			/* Stale: gone now, or when its last response ends. */
			if (e->users == 0)
				ent_drop(e);
			else
				e->dead = 1;
			return -1;
		}
		e->users++;
		e->used = ++fc->clock;
		return (int)i;
	}
	return -1;
}

/* A slot for a new entry: a free one, else the idle least recently used. */
static struct bh_fcent *
slot(struct bh_fcache *fc)
{
	struct bh_fcent *victim = NULL;
	size_t i;

	for (i = 0; i < fc->n; i++) {
		if (fc->v[i].key == NULL)
			return &fc->v[i];
		if (fc->v[i].users == 0 &&
		    (victim == NULL || fc->v[i].used < victim->used))
			victim = &fc->v[i];
	}
	if (fc->n < fc->cap) {
		fc->v[fc->n].fd = -1;
		return &fc->v[fc->n++];
	}
	if (victim != NULL)
		ent_drop(victim);
	return victim;
}

int
bh_fcache_put(struct bh_fcache *fc, const struct bh_target *t,
    uint64_t hash, time_t now)
{
	struct bh_fcent *e;
	char *key;

	if (fc->cap == 0 || (key = strdup(t->rel)) == NULL)
		return -1;
	if ((e = slot(fc)) == NULL) {
		free(key);
		return -1;		/* every entry has a response in flight */
	}
	e->key = key;
	e->hash = hash;
	e->fd = t->fd;
	e->st = t->st;
	e->epoch = t->epoch;
	e->born = now;
	e->users = 1;
	e->dead = 0;
	e->used = ++fc->clock;
	return (int)(e - fc->v);
}

void
bh_fcache_expire(struct bh_fcache *fc, time_t now)
{
	size_t i;

	for (i = 0; i < fc->n; i++)
		if (fc->v[i].key != NULL && fc->v[i].users == 0 &&
		    (fc->v[i].dead || now < fc->v[i].born ||
		    now - fc->v[i].born >= BH_FCACHE_TTL))
			ent_drop(&fc->v[i]);
}

void
bh_fcache_unuse(struct bh_fcache *fc, int i)
{
	struct bh_fcent *e = &fc->v[i];

	if (e->users > 0)
		e->users--;
	if (e->users == 0 && e->dead)
		ent_drop(e);
}
