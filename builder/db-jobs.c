/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scheduler's jobs in the database: one function per statement,
 * typed in and out (db-jobs.h).  The statements of the hot paths
 * (lease, done, the group DAG) are kept prepared (db_stmt()); the rest
 * are prepared when used.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "builder.h"
#include "db-jobs.h"
#include "base/banned.h"

const char *
db_errmsg(struct builder *b)
{
	return b->db != NULL ? sqlite3_errmsg(b->db) : "not open";
}

int
idq_push(struct idq *q, long long id)
{
	if (bf_grow(&q->v, &q->cap, q->n + 1, sizeof(*q->v), 64) < 0)
		return -1;
	q->v[q->n++] = id;
	return 0;
}

/* Column i as a malloc'd string, NULL for NULL; -1 when out of memory. */
static int
col_str(sqlite3_stmt *st, int i, char **out)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	*out = NULL;
	if (s == NULL)
		return 0;
	return (*out = strdup(s)) == NULL ? -1 : 0;
}

void
job_release(struct job *j)
{
	free(j->cpv);
	free(j->profile);
	free(j->worker);
	free(j->error);
	free(j->path);
	memset(j, 0, sizeof(*j));
}

void
job_list_release(struct job_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		job_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

#define JOB_COLS "id, cpv, profile, state, worker, attempts, error, " \
	"started, rebuild, path, reused, grp"

/* A row of JOB_COLS into `j`; 0 or -1. */
static int
row_job(sqlite3_stmt *st, struct job *j)
{
	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(st, 0);
	j->state = job_state_parse((const char *)sqlite3_column_text(st, 3));
	j->attempts = sqlite3_column_int64(st, 5);
	j->has_started = sqlite3_column_type(st, 7) != SQLITE_NULL;
	j->started = sqlite3_column_int64(st, 7);
	j->rebuild = sqlite3_column_int64(st, 8);
	j->reused = sqlite3_column_int(st, 10);
	j->grp = sqlite3_column_int64(st, 11);
	if (col_str(st, 1, &j->cpv) < 0 || col_str(st, 2, &j->profile) < 0 ||
	    col_str(st, 4, &j->worker) < 0 || col_str(st, 6, &j->error) < 0 ||
	    col_str(st, 9, &j->path) < 0) {
		job_release(j);
		return -1;
	}
	return 0;
}

int
db_job_get(struct builder *b, long long id, struct job *j)
{
	static const char sql[] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?";
	sqlite3_stmt *st = db_stmt(b, sql);
	int r, rc;

	memset(j, 0, sizeof(*j));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	r = sqlite3_step(st);
	rc = r == SQLITE_ROW ? (row_job(st, j) < 0 ? -1 : 1) :
	    r == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
	return rc;
}

/* The jobs of a query with no parameters (or one integer), appended. */
static int
jobs_query(struct builder *b, const char *sql, int nparam, long long p,
    struct job_list *out)
{
	sqlite3_stmt *st = db_prep(b, sql);
	int r, rc = 0;

	if (st == NULL)
		return -1;
	if (nparam > 0)
		sqlite3_bind_int64(st, 1, p);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (bf_grow(&out->v, &out->alloc, out->n + 1, sizeof(*out->v),
		    16) < 0 || row_job(st, &out->v[out->n]) < 0) {
			rc = -1;
			break;
		}
		out->n++;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = -1;
	sqlite3_finalize(st);
	return rc;
}

int
db_jobs_expired(struct builder *b, long long now, struct job_list *out)
{
	return jobs_query(b, "SELECT " JOB_COLS " FROM jobs WHERE "
	    "state='running' AND lease_expires < ?", 1, now, out);
}

int
db_jobs_running(struct builder *b, struct job_list *out)
{
	return jobs_query(b, "SELECT " JOB_COLS " FROM jobs WHERE "
	    "state='running' ORDER BY started", 0, 0, out);
}

int
db_jobs_problems(struct builder *b, struct job_list *out)
{
	return jobs_query(b, "SELECT " JOB_COLS " FROM jobs WHERE "
	    "(state='failed' OR (state='ready' AND error IS NOT NULL)) AND "
	    "rebuild IN (SELECT max(id) FROM rebuilds GROUP BY profile) ORDER "
	    "BY id LIMIT 100", 0, 0, out);
}

int
db_jobs_queue(struct builder *b, int max, struct job_list *out)
{
	return jobs_query(b, "SELECT " JOB_COLS " FROM jobs WHERE "
	    "state='ready' AND rebuild IN (SELECT id FROM rebuilds WHERE "
	    "state='running') ORDER BY ord LIMIT ?", 1, max, out);
}

long long
db_jobs_ready_count(struct builder *b)
{
	return db_int(b, "SELECT count(*) FROM jobs WHERE state='ready'", 0);
}

int
db_job_counts(struct builder *b, long long rebuild, struct job_counts *c)
{
	sqlite3_stmt *st = db_prep(b, "SELECT state, reused, count(*) FROM "
	    "jobs WHERE rebuild=? GROUP BY state, reused");
	int r;

	memset(c, 0, sizeof(*c));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rebuild);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int s = job_state_parse((const char *)
		    sqlite3_column_text(st, 0));
		long long n = sqlite3_column_int64(st, 2);

		if (sqlite3_column_int(st, 1))
			c->reused += n;
		else if (s >= 0)
			c->n[s] += n;
		c->total += n;
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

long long
db_job_lookup(struct builder *b, const char *cpv, const char *profile)
{
	sqlite3_stmt *st = db_prep(b, "SELECT id FROM jobs WHERE (cpv = ?1 OR "
	    "cpv LIKE ?1 || '-%' OR cpv LIKE '%/' || ?1 OR cpv LIKE '%/' || "
	    "?1 || '-%') AND (?2 IS NULL OR profile = ?2) ORDER BY "
	    "(cpv = ?1) DESC, id DESC LIMIT 1");
	long long id = -1;

	if (st == NULL)
		return -1;
	db_bind_text(st, 1, cpv);
	if (profile != NULL)
		db_bind_text(st, 2, profile);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return strdup(s != NULL ? s : "");
}

int
db_job_pick(struct builder *b, const char *profile, long long now,
    struct lease *l)
{
	static const char sql[] =
	    "SELECT j.id, j.spec, r.env, r.trees, j.attempts, j.rebuild, j.cpv "
	    "FROM jobs j JOIN rebuilds r ON r.id = j.rebuild WHERE j.state = "
	    "'ready' AND j.profile = ? AND j.not_before <= ? AND r.state = "
	    "'running' ORDER BY j.ord, j.id LIMIT 1";
	sqlite3_stmt *st = db_stmt(b, sql);
	int found;

	if (st == NULL)
		return -1;
	db_bind_text(st, 1, profile);
	sqlite3_bind_int64(st, 2, now);
	if ((found = sqlite3_step(st) == SQLITE_ROW)) {
		l->job = sqlite3_column_int64(st, 0);
		l->spec = col_dup(st, 1);
		l->env = col_dup(st, 2);
		l->trees = col_dup(st, 3);
		l->attempt = sqlite3_column_int64(st, 4) + 1;
		l->rebuild = sqlite3_column_int64(st, 5);
		l->cpv = col_dup(st, 6);
	}
	sqlite3_reset(st);
	return found;
}

int
db_job_lease(struct builder *b, long long id, const char *worker,
    const char *token, long long expires, long long now)
{
	static const char sql[] = "UPDATE jobs SET state='running', worker=?, "
	    "lease=?, lease_expires=?, started=? WHERE id=? AND state='ready'";
	sqlite3_stmt *st = db_stmt(b, sql);
	int r;

	if (st == NULL)
		return -1;
	db_bind_text(st, 1, worker);
	db_bind_text(st, 2, token);
	sqlite3_bind_int64(st, 3, expires);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, id);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : -1;
}

int
db_job_lease_deps(struct builder *b, struct lease *l)
{
	/* Every job of the groups the job is built after and of their closure. */
	static const char sql[] =
	    "WITH RECURSIVE g(id) AS (SELECT dep FROM deps WHERE job = ?1 UNION "
	    "SELECT gd.dep FROM gdeps gd JOIN g ON gd.grp = g.id) SELECT x.id, "
	    "x.cpv FROM jobs x WHERE x.grp IN g ORDER BY x.ord";
	sqlite3_stmt *st = db_stmt(b, sql);
	int rc = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, l->job);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		if (bf_grow(&l->deps, &l->adeps, l->ndeps + 1,
		    sizeof(*l->deps), 16) < 0 ||
		    (l->deps[l->ndeps].cpv = col_dup(st, 1)) == NULL) {
			rc = -1;
			break;
		}
		l->deps[l->ndeps++].job = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc;
}

int
db_job_attempts(struct builder *b, long long id, const char *worker,
    const char *lease, long long *attempts)
{
	sqlite3_stmt *st = db_prep(b, "SELECT attempts FROM jobs WHERE id = ? "
	    "AND state = 'running' AND (?2 IS NULL OR worker = ?2) AND (?3 IS "
	    "NULL OR lease = ?3)");
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (worker)
		db_bind_text(st, 2, worker);
	if (lease)
		db_bind_text(st, 3, lease);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*attempts = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

int
db_job_leased(struct builder *b, long long id, const char *worker,
    const char *lease)
{
	sqlite3_stmt *st = db_prep(b, "SELECT 1 FROM jobs WHERE id=? AND "
	    "state='running' AND worker=? AND lease=?");
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, worker);
	db_bind_text(st, 3, lease);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

int
db_job_retry_later(struct builder *b, long long id, long long attempts,
    long long not_before, const char *why)
{
	sqlite3_stmt *st = db_prep(b, "UPDATE jobs SET state='ready', "
	    "attempts=?, not_before=?, worker=NULL, lease=NULL, error=? WHERE "
	    "id=?");

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, attempts);
		sqlite3_bind_int64(st, 2, not_before);
		db_bind_text(st, 3, why);
		sqlite3_bind_int64(st, 4, id);
	}
	return db_step_once(b, st) < 0 ? -1 : 0;
}

int
db_job_fail(struct builder *b, long long id, long long attempts,
    const char *why, long long now)
{
	sqlite3_stmt *st = db_prep(b, "UPDATE jobs SET state='failed', "
	    "attempts=?, worker=NULL, lease=NULL, error=?, finished=? WHERE "
	    "id=?");

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, attempts);
		db_bind_text(st, 2, why);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_int64(st, 4, id);
	}
	return db_step_once(b, st) < 0 ? -1 : 0;
}

int
db_job_done(struct builder *b, long long id, const char *path,
    const char *sha256, long long size, long long now)
{
	static const char sql[] = "UPDATE jobs SET state='done', path=?, "
	    "sha256=?, size=?, finished=?, worker=NULL, lease=NULL, error=NULL "
	    "WHERE id=? AND state='running'";
	sqlite3_stmt *st = db_stmt(b, sql);
	int n;

	if (st != NULL) {
		db_bind_text(st, 1, path);
		db_bind_text(st, 2, sha256);
		sqlite3_bind_int64(st, 3, size);
		sqlite3_bind_int64(st, 4, now);
		sqlite3_bind_int64(st, 5, id);
	}
	n = db_step_cached(b, st);
	return n < 0 ? -1 : n == 1;
}

int
db_built_add(struct builder *b, long long id)
{
	static const char sql[] = "INSERT OR REPLACE INTO built(profile, "
	    "key, cpv, path, job) SELECT profile, key, cpv, path, id FROM jobs "
	    "WHERE id=?";
	sqlite3_stmt *st = db_stmt(b, sql);

	if (st != NULL)
		sqlite3_bind_int64(st, 1, id);
	return db_step_cached(b, st) < 0 ? -1 : 0;
}

int
db_job_requeue(struct builder *b, long long id)
{
	return db_exec_id(b, "UPDATE jobs SET state='waiting', attempts=0, "
	    "not_before=0, error=NULL, finished=NULL WHERE id=?", id) < 0 ?
	    -1 : 0;
}

int
db_job_cancel(struct builder *b, long long id, long long now)
{
	sqlite3_stmt *st = db_prep(b, "UPDATE jobs SET state='cancelled', "
	    "worker=NULL, lease=NULL, error='cancelled by an engineer', "
	    "finished=? WHERE id=? AND state IN ('waiting', 'ready', "
	    "'running')");

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, id);
	}
	return db_step_once(b, st);
}

int
db_job_set_dependent(struct builder *b, long long id, enum job_state to,
    const char *error, int from_open)
{
	static const char sql_block[] = "UPDATE jobs SET state=?, error=? "
	    "WHERE id=? AND state IN ('waiting', 'ready')";
	static const char sql_unblock[] = "UPDATE jobs SET state=?, error=? "
	    "WHERE id=? AND state = 'blocked'";
	sqlite3_stmt *st = db_stmt(b, from_open ? sql_block : sql_unblock);

	if (st != NULL) {
		db_bind_text(st, 1, job_state_name(to));
		if (error != NULL)
			db_bind_text(st, 2, error);
		sqlite3_bind_int64(st, 3, id);
	}
	return db_step_cached(b, st);
}

int
db_jobs_ready_free(struct builder *b, long long rebuild)
{
	sqlite3_stmt *st = db_prep(b, "UPDATE jobs SET state='ready' WHERE "
	    "rebuild=? AND state='waiting' AND waiting=0");

	if (st != NULL)
		sqlite3_bind_int64(st, 1, rebuild);
	return db_step_once(b, st) < 0 ? -1 : 0;
}

/* The first two integer columns of `sql` for `id`, appended. */
static int
ids_query(struct builder *b, const char *sql, long long id, struct idq *a,
    struct idq *c)
{
	sqlite3_stmt *st = db_stmt(b, sql);
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if (idq_push(a, sqlite3_column_int64(st, 0)) < 0 ||
		    (c != NULL && idq_push(c, sqlite3_column_int64(st, 1)) < 0)) {
			r = SQLITE_ERROR;
			break;
		}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : -1;
}

int
db_group_needing(struct builder *b, long long grp, struct idq *out)
{
	static const char sql[] = "SELECT grp FROM gdeps WHERE dep = ?";

	return ids_query(b, sql, grp, out, NULL);
}

int
db_group_after(struct builder *b, long long grp, struct idq *jobs,
    struct idq *grps)
{
	static const char sql[] = "SELECT d.job, coalesce(j.grp, 0) FROM "
	    "deps d JOIN jobs j ON j.id = d.job WHERE d.dep = ?";

	return ids_query(b, sql, grp, jobs, grps);
}

int
db_group_countdown(struct builder *b, long long grp)
{
	static const char sql_dec[] = "UPDATE groups SET waiting = waiting - 1 "
	    "WHERE id = ? AND waiting > 0";
	static const char sql_left[] = "SELECT waiting FROM groups WHERE id = ?";
	sqlite3_stmt *st = db_stmt(b, sql_dec);
	int n;

	if (st != NULL)
		sqlite3_bind_int64(st, 1, grp);
	if ((n = db_step_cached(b, st)) != 1)
		return n < 0 ? -1 : 0;
	if ((st = db_stmt(b, sql_left)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, grp);
	n = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == 0;
	sqlite3_reset(st);
	return n;
}

int
db_group_release_jobs(struct builder *b, long long grp)
{
	static const char sql[] = "UPDATE jobs SET waiting = waiting - 1, "
	    "state = CASE WHEN waiting = 1 AND state = 'waiting' THEN 'ready' "
	    "ELSE state END WHERE id IN (SELECT job FROM deps WHERE dep = ?) "
	    "AND waiting > 0";
	sqlite3_stmt *st = db_stmt(b, sql);

	if (st != NULL)
		sqlite3_bind_int64(st, 1, grp);
	return db_step_cached(b, st) < 0 ? -1 : 0;
}

int
db_job_insert(struct builder *b, const struct job_new *j, long long *id)
{
	static const char sql[] = "INSERT INTO jobs(rebuild, profile, cpv, "
	    "key, spec, ord, state, waiting, reused, path, finished, grp) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st = db_stmt(b, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, j->rebuild);
	db_bind_text(st, 2, j->profile);
	db_bind_text(st, 3, j->cpv);
	db_bind_text(st, 4, j->key);
	db_bind_text(st, 5, j->spec);
	sqlite3_bind_int64(st, 6, j->ord);
	db_bind_text(st, 7, job_state_name(j->state));
	sqlite3_bind_int64(st, 8, j->waiting);
	sqlite3_bind_int(st, 9, j->reused != NULL);
	if (j->reused != NULL) {
		db_bind_text(st, 10, j->reused);
		sqlite3_bind_int64(st, 11, j->now);
	}
	sqlite3_bind_int64(st, 12, j->grp);
	if (db_step_cached(b, st) < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(b->db);
	return 0;
}

int
db_dep_insert(struct builder *b, long long job, long long grp)
{
	static const char sql[] = "INSERT INTO deps(job, dep) VALUES (?, ?)";
	sqlite3_stmt *st = db_stmt(b, sql);

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, job);
		sqlite3_bind_int64(st, 2, grp);
	}
	return db_step_cached(b, st) < 0 ? -1 : 0;
}
