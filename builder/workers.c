/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker registry: name, tags, slots, last heartbeat.  The tags a
 * worker registers with are bounded by its [worker NAME] section (the
 * profiles and tags it may build).  A worker may
 * build hw-profile P when it carries the tag "P" or every tag of P's
 * worker-tags (profile.conf).  The rows are db-farm.c's; the JSON of
 * the calls is api-farm.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "builder.h"
#include "base/banned.h"

int
workers_register(struct builder *b, const char *name,
    const struct bf_strv *tags, int slots)
{
	return db_worker_put(b, name, tags, slots);
}

int
workers_get_tags(struct builder *b, const char *name, struct bf_strv *tags)
{
	return db_worker_tags(b, name, tags);
}

int
workers_may_build(const struct bf_strv *tags, const struct bcfg_profile *p)
{
	size_t i;

	if (bf_strv_find(tags, p->name) >= 0)
		return 1;
	if (p->tags.n == 0)
		return 0;
	for (i = 0; i < p->tags.n; i++)
		if (bf_strv_find(tags, p->tags.v[i]) < 0)
			return 0;
	return 1;
}

int
workers_profiles(struct builder *b, const struct bf_strv *tags,
    struct bf_strv *out)
{
	size_t i;

	for (i = 0; i < b->cfg.nprofiles; i++)
		if (workers_may_build(tags, &b->cfg.profiles[i]) &&
		    bf_strv_push(out, b->cfg.profiles[i].name) < 0)
			return -1;
	return 0;
}

/*
 * A heartbeat: the worker says which jobs it holds.  Their leases are
 * extended; the answer lists those it must abandon (cancelled, or
 * leased to someone else after an expiry).
 */
int
workers_heartbeat(struct builder *b, const char *name,
    const struct hb_job *jobs, size_t njobs, long long **abandon,
    size_t *nabandon)
{
	long long *v;
	size_t i, n = 0;
	int tx;

	*abandon = NULL;
	*nabandon = 0;
	if ((v = calloc(njobs + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	/* One transaction (one fsync) for the worker and all its leases. */
	tx = db_begin(b) == 0;
	db_worker_seen(b, name);
	for (i = 0; i < njobs; i++)
		if (!db_lease_extend(b, jobs[i].job, name, jobs[i].lease,
		    now_s() + b->cfg.lease_timeout))
			v[n++] = jobs[i].job;
	if (tx && db_commit(b) < 0)
		db_rollback(b);
	*abandon = v;
	*nabandon = n;
	return 0;
}

int
workers_list(struct builder *b, struct worker_row **vp, size_t *np)
{
	struct worker_row *v;
	size_t n, i, j;
	int rc;

	if ((rc = db_workers_list(b, &v, &n)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		for (j = 0; j < b->cfg.nprofiles; j++)
			if (workers_may_build(&v[i].tags, &b->cfg.profiles[j]) &&
			    bf_strv_push(&v[i].may_build,
			    b->cfg.profiles[j].name) < 0) {
				worker_rows_free(v, n);
				return -ENOMEM;
			}
		v[i].alive = now_s() - v[i].last_seen <=
		    2 * b->cfg.lease_timeout;
	}
	*vp = v;
	*np = n;
	return 0;
}

int
workers_name_ok(const struct bcfg *c, const struct bcfg_worker *w,
    const char *claimed)
{
	size_t n = strlen(w->name), i;

	if (strcmp(claimed, w->name) == 0)
		return 1;
	/* NAME-N: binfarm-worker -j N's processes share NAME's token. */
	if (strncmp(claimed, w->name, n) != 0 || claimed[n] != '-' ||
	    claimed[n + 1] == '\0' || claimed[n + 1] == '0' ||
	    strspn(claimed + n + 1, "0123456789") != strlen(claimed + n + 1) ||
	    strlen(claimed + n + 1) > 4)
		return 0;
	for (i = 0; i < c->nworkers; i++)
		if (strcmp(c->workers[i].name, claimed) == 0)
			return 0;
	return 1;
}

int
workers_allowed(const struct bcfg_worker *w, const struct bf_strv *declared,
    struct bf_strv *out, const char **bad)
{
	size_t i;

	*bad = NULL;
	if (declared->n == 0) {
		for (i = 0; i < w->profiles.n; i++)
			if (bf_strv_push(out, w->profiles.v[i]) < 0)
				return -ENOMEM;
		for (i = 0; i < w->tags.n; i++)
			if (bf_strv_push(out, w->tags.v[i]) < 0)
				return -ENOMEM;
		return 0;
	}
	for (i = 0; i < declared->n; i++) {
		const char *s = declared->v[i];

		if (bf_strv_find(&w->profiles, s) < 0 &&
		    bf_strv_find(&w->tags, s) < 0) {
			*bad = s;
			return -1;
		}
		if (bf_strv_push(out, s) < 0)
			return -ENOMEM;
	}
	return 0;
}
