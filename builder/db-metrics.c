/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What GET /metrics reads from the database (metrics.c renders it),
 * and the counters kept there.  A counter is added to in the
 * transaction of the change it counts, so that the numbers survive a
 * restart and a rolled back change is not counted.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "builder.h"
#include "base/banned.h"

int
db_counter_add(struct builder *b, const char *name, const char *profile,
    const char *label, long long n)
{
	static const char sql[] = "INSERT INTO counters(name, profile, label, "
	    "n) VALUES (?, ?, ?, ?) ON CONFLICT(name, profile, label) DO "
	    "UPDATE SET n = n + excluded.n";
	sqlite3_stmt *st = db_stmt(b, sql);

	if (st != NULL) {
		db_bind_text(st, 1, name);
		db_bind_text(st, 2, profile ? profile : "");
		db_bind_text(st, 3, label ? label : "");
		sqlite3_bind_int64(st, 4, n);
	}
	return db_step_cached(b, st) < 0 ? -1 : 0;
}

/* The entry of profile column `i` of `st`, or NULL: not configured. */
static struct metrics_profile *
row_profile(struct metrics *m, sqlite3_stmt *st, int i)
{
	const char *p = (const char *)sqlite3_column_text(st, i);
	size_t k;

	for (k = 0; p != NULL && k < m->nprofiles; k++)
		if (strcmp(m->profiles[k].name, p) == 0)
			return &m->profiles[k];
	return NULL;
}

/* Steps to the end of `st` (db_prep()'s, finalized): 0, or -1. */
static int
finish(sqlite3_stmt *st, int r)
{
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

int
db_metrics_jobs(struct builder *b, struct metrics *m)
{
	sqlite3_stmt *st = db_prep(b, "SELECT profile, state, count(*) FROM "
	    "jobs GROUP BY profile, state");
	struct metrics_profile *p;
	int r, s;

	if (st == NULL)
		return -1;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if ((p = row_profile(m, st, 0)) != NULL &&
		    (s = job_state_parse((const char *)sqlite3_column_text(st,
		    1))) >= 0)
			p->jobs[s] += sqlite3_column_int64(st, 2);
	return finish(st, r);
}

int
db_metrics_durations(struct builder *b, struct metrics *m,
    const long long *le)
{
	/* Whole seconds: one row per profile and distinct duration. */
	sqlite3_stmt *st = db_prep(b, "SELECT profile, max(finished - "
	    "started, 0), count(*) FROM jobs WHERE state = 'done' AND "
	    "reused = 0 AND started IS NOT NULL AND finished IS NOT NULL "
	    "GROUP BY 1, 2");
	struct metrics_profile *p;
	long long d, n;
	size_t i;
	int r;

	if (st == NULL)
		return -1;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = row_profile(m, st, 0)) == NULL)
			continue;
		d = sqlite3_column_int64(st, 1);
		n = sqlite3_column_int64(st, 2);
		for (i = 0; i < METRICS_NBUCKETS && d > le[i]; i++)
			;
		p->hist[i] += n;
		p->sum += d * n;
	}
	return finish(st, r);
}

int
db_metrics_counters(struct builder *b, struct metrics *m)
{
	static const char *const up[METRICS_NUP] = { "ok", "refused",
	    "error" };
	sqlite3_stmt *st = db_prep(b, "SELECT name, profile, label, n FROM "
	    "counters");
	struct metrics_profile *p;
	const char *name, *label;
	long long n;
	int r, i;

	if (st == NULL)
		return -1;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		label = (const char *)sqlite3_column_text(st, 2);
		n = sqlite3_column_int64(st, 3);
		if (name == NULL || label == NULL)
			continue;
		if (strcmp(name, "leases") == 0)
			m->leases += n;
		else if (strcmp(name, "uploads") == 0) {
			for (i = 0; i < METRICS_NUP; i++)
				if (strcmp(label, up[i]) == 0)
					m->uploads[i] += n;
		} else if (strcmp(name, "finished") == 0 &&
		    (p = row_profile(m, st, 1)) != NULL) {
			if (strcmp(label, "done") == 0)
				p->finished[METRICS_DONE] += n;
			else if (strcmp(label, "failed") == 0)
				p->finished[METRICS_FAILED] += n;
		}
	}
	return finish(st, r);
}

int
db_metrics_rebuilds(struct builder *b, struct metrics *m)
{
	sqlite3_stmt *st = db_prep(b, "SELECT state, count(*) FROM rebuilds "
	    "GROUP BY state");
	int r, s;

	if (st == NULL)
		return -1;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if ((s = rebuild_state_parse((const char *)
		    sqlite3_column_text(st, 0))) >= 0)
			m->rebuilds[s] += sqlite3_column_int64(st, 1);
	return finish(st, r);
}
