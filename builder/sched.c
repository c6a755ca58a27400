/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scheduling: xbps-fbulk's item states, kept in SQLite (enum job_state
 * in builder.h draws them).  A job is ready when every job it is built
 * after (the planner's "after" set: its build dependencies and their
 * runtime closure) is done.  A package whose build key is already built for the profile is
 * done at once, reusing the built file.  When no job of a rebuild is
 * open, the rebuild is complete (every job done: a testing snapshot is
 * cut) or failed (testing stays where it was).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "builder.h"
#include "base/banned.h"

void
job_log(struct builder *b, long long job, const char *fmt, ...)
{
	struct bf_buf path = BF_BUF_INIT, line = BF_BUF_INIT;
	va_list ap;
	int fd;

	bf_buf_addf(&path, "%s/logs/%lld.log", b->cfg.state, job);
	bf_buf_adds(&line, "binfarm-builder: ");
	va_start(ap, fmt);
	bf_buf_vaddf(&line, fmt, ap);
	va_end(ap);
	bf_buf_addch(&line, '\n');
	if ((fd = open(path.buf, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) >= 0) {
		if (write(fd, line.buf, line.len) < 0)
			log_warnx("cannot write '%s'", path.buf);
		close(fd);
	}
	bf_buf_release(&path);
	bf_buf_release(&line);
}

static void
random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[32];
	int fd;
	size_t i;

	memset(r, 0, sizeof(r));
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) >= 0) {
		if (read(fd, r, sizeof(r)) < 0)
			memset(r, 0, sizeof(r));
		close(fd);
	}
	for (i = 0; i + 1 < n && i < 64; i++)
		out[i] = hex[(r[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
	out[i] = '\0';
}

static const char sql_lease_pick[] =
    "SELECT j.id, j.spec, r.env, r.trees, j.attempts, j.rebuild, j.cpv "
    "FROM jobs j JOIN rebuilds r ON r.id = j.rebuild WHERE j.state = "
    "'ready' AND j.profile = ? AND j.not_before <= ? AND r.state = "
    "'running' ORDER BY j.ord, j.id LIMIT 1";
static const char sql_lease_take[] =
    "UPDATE jobs SET state='running', worker=?, lease=?, lease_expires=?, "
    "started=? WHERE id=? AND state='ready'";
/* Every job of the groups the job is built after and of their closure. */
static const char sql_lease_deps[] =
    "WITH RECURSIVE g(id) AS (SELECT dep FROM deps WHERE job = ?1 UNION "
    "SELECT gd.dep FROM gdeps gd JOIN g ON gd.grp = g.id) SELECT x.id, "
    "x.cpv FROM jobs x WHERE x.grp IN g ORDER BY x.ord";

void
lease_release(struct lease *l)
{
	size_t i;

	free(l->cpv);
	free(l->profile);
	free(l->spec);
	free(l->env);
	free(l->trees);
	for (i = 0; i < l->ndeps; i++)
		free(l->deps[i].cpv);
	free(l->deps);
	memset(l, 0, sizeof(*l));
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return strdup(s != NULL ? s : "");
}

/* The first ready job of a profile `worker` may build, into `l`. */
static int
pick(struct builder *b, const char *worker, long long now, struct lease *l)
{
	sqlite3_stmt *st;
	json_t *tags;
	size_t i;

	if ((st = db_stmt(b, sql_lease_pick)) == NULL)
		return -1;
	tags = workers_tags(b, worker);
	for (i = 0; i < b->cfg.nprofiles && l->job == 0; i++) {
		const char *p = b->cfg.profiles[i].name;

		if (tags == NULL || !workers_tags_may_build(tags,
		    &b->cfg.profiles[i]))
			continue;
		sqlite3_reset(st);
		db_bind_text(st, 1, p);
		sqlite3_bind_int64(st, 2, now);
		if (sqlite3_step(st) != SQLITE_ROW)
			continue;
		l->job = sqlite3_column_int64(st, 0);
		l->spec = col_dup(st, 1);
		l->env = col_dup(st, 2);
		l->trees = col_dup(st, 3);
		l->attempt = sqlite3_column_int64(st, 4) + 1;
		l->rebuild = sqlite3_column_int64(st, 5);
		l->cpv = col_dup(st, 6);
		l->profile = strdup(p);
	}
	sqlite3_reset(st);
	json_decref(tags);
	if (l->job != 0 && (l->spec == NULL || l->env == NULL ||
	    l->trees == NULL || l->cpv == NULL || l->profile == NULL))
		return -1;
	return l->job != 0;
}

/* Every job of the groups the job is built after and of their closure. */
static int
lease_deps(struct builder *b, struct lease *l)
{
	sqlite3_stmt *st = db_stmt(b, sql_lease_deps);
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
sched_lease(struct builder *b, const char *worker, int want_deps,
    struct lease *l)
{
	sqlite3_stmt *up;
	long long now = now_s();
	int rc;

	memset(l, 0, sizeof(*l));
	if ((rc = pick(b, worker, now, l)) <= 0)
		goto fail;
	random_hex(l->token, sizeof(l->token));
	if ((up = db_stmt(b, sql_lease_take)) == NULL || db_begin(b) < 0)
		goto fail;
	db_bind_text(up, 1, worker);
	db_bind_text(up, 2, l->token);
	sqlite3_bind_int64(up, 3, now + b->cfg.lease_timeout);
	sqlite3_bind_int64(up, 4, now);
	sqlite3_bind_int64(up, 5, l->job);
	if (sqlite3_step(up) != SQLITE_DONE || db_commit(b) < 0) {
		sqlite3_reset(up);
		db_rollback(b);
		goto fail;
	}
	sqlite3_reset(up);
	if (want_deps && lease_deps(b, l) < 0)
		log_warnx("job %lld: out of memory listing its dependencies",
		    l->job);
	job_log(b, l->job, "attempt %lld of %s on worker %s", l->attempt,
	    l->cpv, worker);
	log_info("job %lld (%s) leased to %s", l->job, l->cpv, worker);
	return 1;
fail:
	lease_release(l);
	return rc < 0 ? -1 : 0;
}

/* A set of row ids (open addressing; 0 marks a free slot). */
struct idset {
	long long	*v;
	size_t		 cap, n;
};

/* 1: added, 0: already there, -1: out of memory. */
static int
idset_add(struct idset *s, long long id)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct idset t = { NULL, s->cap ? 2 * s->cap : 64, 0 };

		if ((t.v = calloc(t.cap, sizeof(*t.v))) == NULL)
			return -1;
		for (i = 0; i < s->cap; i++)
			if (s->v[i] != 0)
				idset_add(&t, s->v[i]);
		free(s->v);
		*s = t;
	}
	for (i = ((unsigned long long)id * 0x9e3779b97f4a7c15ull) &
	    (s->cap - 1); s->v[i] != 0; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == id)
			return 0;
	s->v[i] = id;
	s->n++;
	return 1;
}

/* A queue of row ids. */
struct idq {
	long long	*v;
	size_t		 head, n, cap;
};

static int
idq_push(struct idq *q, long long id)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 64;
		void *p = realloc(q->v, cap * sizeof(*q->v));

		if (p == NULL)
			return -1;
		q->v = p;
		q->cap = cap;
	}
	q->v[q->n++] = id;
	return 0;
}

/*
 * Appends to `q` the groups that runtime-depend on group `grp` (those
 * not yet in `seen`, when it is given, adding them).  -1 on error.
 */
static int
push_needing(struct builder *b, long long grp, struct idset *seen,
    struct idq *q)
{
	static const char sql[] = "SELECT grp FROM gdeps WHERE dep = ?";
	sqlite3_stmt *st = db_stmt(b, sql);
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, grp);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		long long g = sqlite3_column_int64(st, 0);
		int added = seen != NULL ? idset_add(seen, g) : 1;

		if (added < 0 || (added && idq_push(q, g) < 0)) {
			r = SQLITE_ERROR;
			break;
		}
	}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : -1;
}

/*
 * The jobs that need `job` built first, directly or through others:
 * the jobs built after a group that reaches job's group, and, since
 * they will not be built either, the jobs that need those.  Appends
 * them to `out` (each once); -1 on error.
 */
static int
dependents(struct builder *b, long long job, struct idq *out)
{
	static const char sql_grp[] = "SELECT grp FROM jobs WHERE id = ?";
	static const char sql_after[] = "SELECT d.job, j.grp FROM deps d "
	    "JOIN jobs j ON j.id = d.job WHERE d.dep = ?";
	struct idset groups = { NULL, 0, 0 }, jobs = { NULL, 0, 0 };
	struct idq q = { NULL, 0, 0, 0 };
	sqlite3_stmt *st;
	int rc = -1, r;

	if ((st = db_stmt(b, sql_grp)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, job);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (idset_add(&groups, sqlite3_column_int64(st, 0)) < 0 ||
	    idq_push(&q, sqlite3_column_int64(st, 0)) < 0))
		r = SQLITE_ERROR;
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		goto out;
	while (q.head < q.n) {
		long long g = q.v[q.head++];

		if ((st = db_stmt(b, sql_after)) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, g);
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			long long j = sqlite3_column_int64(st, 0);
			long long jg = sqlite3_column_int64(st, 1);
			int added = idset_add(&jobs, j);

			if (added < 0 || (added && idq_push(out, j) < 0) ||
			    (sqlite3_column_type(st, 1) != SQLITE_NULL &&
			    (added = idset_add(&groups, jg)) != 0 &&
			    (added < 0 || idq_push(&q, jg) < 0))) {
				r = SQLITE_ERROR;
				break;
			}
		}
		sqlite3_reset(st);
		if (r != SQLITE_DONE || push_needing(b, g, &groups, &q) < 0)
			goto out;
	}
	rc = 0;
out:
	free(groups.v);
	free(jobs.v);
	free(q.v);
	return rc;
}

/*
 * Sets the jobs that need `job` (dependents()) to state `to`, with
 * `error`: those waiting or ready when `from_open`, else those blocked.
 * The number changed, or -1.
 */
static int
set_dependents(struct builder *b, long long job, enum job_state to,
    const char *error, int from_open)
{
	static const char sql_block[] = "UPDATE jobs SET state=?, error=? "
	    "WHERE id=? AND state IN ('waiting', 'ready')";
	static const char sql_unblock[] = "UPDATE jobs SET state=?, error=? "
	    "WHERE id=? AND state = 'blocked'";
	struct idq q = { NULL, 0, 0, 0 };
	sqlite3_stmt *st;
	size_t i;
	int n = 0;

	if (dependents(b, job, &q) < 0 ||
	    (st = db_stmt(b, from_open ? sql_block : sql_unblock)) == NULL) {
		free(q.v);
		return -1;
	}
	for (i = 0; i < q.n && n >= 0; i++) {
		sqlite3_reset(st);
		db_bind_text(st, 1, job_state_name(to));
		if (error != NULL)
			db_bind_text(st, 2, error);
		else
			sqlite3_bind_null(st, 2);
		sqlite3_bind_int64(st, 3, q.v[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			n = -1;
		else
			n += sqlite3_changes(b->db);
	}
	sqlite3_reset(st);
	free(q.v);
	return n;
}

/* Marks every job after `job` blocked (transitively). */
static int
block_dependents(struct builder *b, long long job, const char *cpv)
{
	struct bf_buf why = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&why, "blocked: %s (job %lld) did not build", cpv, job);
	rc = set_dependents(b, job, JOB_BLOCKED, why.buf, 1);
	bf_buf_release(&why);
	return rc;
}

static long long
job_rebuild(struct builder *b, long long job, char *cpv, size_t cpvsz)
{
	static const char sql[] = "SELECT rebuild, cpv FROM jobs WHERE id = ?";
	sqlite3_stmt *st = db_stmt(b, sql);
	long long r = -1;

	sqlite3_bind_int64(st, 1, job);
	if (sqlite3_step(st) == SQLITE_ROW) {
		r = sqlite3_column_int64(st, 0);
		snprintf(cpv, cpvsz, "%s", sqlite3_column_text(st, 1));
	}
	sqlite3_reset(st);
	return r;
}

/*
 * One job of group `grp` is done, or one group it needs became
 * installable: counts it down, and when the group has nothing left to
 * wait for, releases what is built after it (jobs.waiting) and the
 * groups that need it, in turn.  Each group gets to 0 once, so a whole
 * rebuild costs time linear in its edges.  -1 on a database error.
 */
static int
release_group(struct builder *b, long long grp)
{
	static const char sql_dec[] = "UPDATE groups SET waiting = waiting - 1 "
	    "WHERE id = ? AND waiting > 0";
	static const char sql_left[] = "SELECT waiting FROM groups WHERE id = ?";
	static const char sql_jobs[] = "UPDATE jobs SET waiting = waiting - 1, "
	    "state = CASE WHEN waiting = 1 AND state = 'waiting' THEN 'ready' "
	    "ELSE state END WHERE id IN (SELECT job FROM deps WHERE dep = ?) "
	    "AND waiting > 0";
	struct idq q = { NULL, 0, 0, 0 }, up = { NULL, 0, 0, 0 };
	sqlite3_stmt *st;
	size_t i;
	int rc = -1, r;

	if (idq_push(&up, grp) < 0)
		goto out;
	for (;;) {
		/* Count down the groups in `up`; those at 0 go to `q`. */
		for (i = 0; i < up.n; i++) {
			if ((st = db_stmt(b, sql_dec)) == NULL)
				goto out;
			sqlite3_bind_int64(st, 1, up.v[i]);
			r = sqlite3_step(st);
			sqlite3_reset(st);
			if (r != SQLITE_DONE)
				goto out;
			if (sqlite3_changes(b->db) != 1)
				continue;
			if ((st = db_stmt(b, sql_left)) == NULL)
				goto out;
			sqlite3_bind_int64(st, 1, up.v[i]);
			r = sqlite3_step(st) == SQLITE_ROW &&
			    sqlite3_column_int64(st, 0) == 0;
			sqlite3_reset(st);
			if (r && idq_push(&q, up.v[i]) < 0)
				goto out;
		}
		up.n = 0;
		if (q.head == q.n)
			break;
		grp = q.v[q.head++];
		if ((st = db_stmt(b, sql_jobs)) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, grp);
		r = sqlite3_step(st);
		sqlite3_reset(st);
		if (r != SQLITE_DONE || push_needing(b, grp, NULL, &up) < 0)
			goto out;
	}
	rc = 0;
out:
	free(q.v);
	free(up.v);
	return rc;
}

int
sched_fail(struct builder *b, long long job, const char *worker,
    const char *lease, const char *why, int count_attempt)
{
	sqlite3_stmt *st;
	long long attempts = 0, rebuild, delay;
	char cpv[512];
	int found = 0, nblocked = 0;

	st = db_prep(b, "SELECT attempts FROM jobs WHERE id = ? AND state = "
	    "'running' AND (?2 IS NULL OR worker = ?2) AND (?3 IS NULL OR "
	    "lease = ?3)");
	sqlite3_bind_int64(st, 1, job);
	if (worker)
		db_bind_text(st, 2, worker);
	if (lease)
		db_bind_text(st, 3, lease);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		attempts = sqlite3_column_int64(st, 0) + (count_attempt != 0);
	}
	sqlite3_finalize(st);
	if (!found)
		return -BF_ENOTFOUND;
	rebuild = job_rebuild(b, job, cpv, sizeof(cpv));
	if (db_begin(b) < 0)
		return -EIO;
	if (attempts < b->cfg.max_attempts) {
		int sh = attempts > 0 ? (int)attempts - 1 : 0;

		delay = (long long)b->cfg.backoff << (sh > 20 ? 20 : sh);
		if (delay > b->cfg.backoff_max)
			delay = b->cfg.backoff_max;
		st = db_prep(b, "UPDATE jobs SET state='ready', attempts=?, "
		    "not_before=?, worker=NULL, lease=NULL, error=? WHERE id=?");
		sqlite3_bind_int64(st, 1, attempts);
		sqlite3_bind_int64(st, 2, now_s() + delay);
		db_bind_text(st, 3, why);
		sqlite3_bind_int64(st, 4, job);
		sqlite3_step(st);
		sqlite3_finalize(st);
		if (db_commit(b) < 0)
			goto err;
		log_warnx("job %lld (%s) attempt %lld failed: %s; retrying in "
		    "%lld s", job, cpv, attempts, why, delay);
		job_log(b, job, "attempt %lld failed: %s; retry %lld of %d in "
		    "%lld s", attempts, why, attempts + 1, b->cfg.max_attempts,
		    delay);
		return 0;
	}
	st = db_prep(b, "UPDATE jobs SET state='failed', attempts=?, "
	    "worker=NULL, lease=NULL, error=?, finished=? WHERE id=?");
	sqlite3_bind_int64(st, 1, attempts);
	db_bind_text(st, 2, why);
	sqlite3_bind_int64(st, 3, now_s());
	sqlite3_bind_int64(st, 4, job);
	sqlite3_step(st);
	sqlite3_finalize(st);
	nblocked = block_dependents(b, job, cpv);
	if (nblocked < 0 || db_commit(b) < 0)
		goto err;
	log_warnx("job %lld (%s) failed after %lld attempts: %s; %d "
	    "dependents blocked", job, cpv, attempts, why, nblocked);
	job_log(b, job, "failed after %lld attempts: %s; %d dependent "
	    "packages blocked", attempts, why, nblocked);
	sched_check_rebuild(b, rebuild);
	return 0;
err:
	db_rollback(b);
	return -EIO;
}

int
sched_done(struct builder *b, long long job, const char *path,
    const char *sha256, long long size)
{
	static const char sql_done[] = "UPDATE jobs SET state='done', path=?, "
	    "sha256=?, size=?, finished=?, worker=NULL, lease=NULL, error=NULL "
	    "WHERE id=? AND state='running'";
	static const char sql_built[] = "INSERT OR REPLACE INTO built(profile, "
	    "key, cpv, path, job) SELECT profile, key, cpv, path, id FROM jobs "
	    "WHERE id=?";
	static const char sql_grp[] = "SELECT rebuild, cpv, grp FROM jobs "
	    "WHERE id = ?";
	sqlite3_stmt *st;
	long long rebuild = -1, grp = 0;
	char cpv[512] = "";
	int ok;

	if ((st = db_stmt(b, sql_grp)) == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, job);
	if (sqlite3_step(st) == SQLITE_ROW) {
		rebuild = sqlite3_column_int64(st, 0);
		snprintf(cpv, sizeof(cpv), "%s", sqlite3_column_text(st, 1));
		grp = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (db_begin(b) < 0)
		return -EIO;
	st = db_stmt(b, sql_done);
	db_bind_text(st, 1, path);
	db_bind_text(st, 2, sha256);
	sqlite3_bind_int64(st, 3, size);
	sqlite3_bind_int64(st, 4, now_s());
	sqlite3_bind_int64(st, 5, job);
	ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(b->db) == 1;
	sqlite3_reset(st);
	if (!ok)
		goto err;
	st = db_stmt(b, sql_built);
	sqlite3_bind_int64(st, 1, job);
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_reset(st);
	ok = ok && release_group(b, grp) == 0;
	if (!ok || db_commit(b) < 0)
		goto err;
	job_log(b, job, "done: %s (%lld bytes, sha256 %s)", path, size, sha256);
	log_info("job %lld (%s) done: %s", job, cpv, path);
	sched_check_rebuild(b, rebuild);
	return 0;
err:
	db_rollback(b);
	return -EIO;
}

int
sched_expire(struct builder *b)
{
	sqlite3_stmt *st;
	struct bf_buf why = BF_BUF_INIT;
	long long *ids = NULL;
	char **workers = NULL;
	size_t n = 0, i;
	void *p;

	st = db_prep(b, "SELECT id, worker FROM jobs WHERE state='running' "
	    "AND lease_expires < ?");
	sqlite3_bind_int64(st, 1, now_s());
	while (sqlite3_step(st) == SQLITE_ROW) {
		if ((p = realloc(ids, (n + 1) * sizeof(*ids))) == NULL)
			break;
		ids = p;
		if ((p = realloc(workers, (n + 1) * sizeof(*workers))) == NULL)
			break;
		workers = p;
		ids[n] = sqlite3_column_int64(st, 0);
		workers[n] = strdup((const char *)sqlite3_column_text(st, 1));
		n++;
	}
	sqlite3_finalize(st);
	for (i = 0; i < n; i++) {
		bf_buf_reset(&why);
		bf_buf_addf(&why, "lease expired: worker %s sent no heartbeat "
		    "for %d s", workers[i] ? workers[i] : "?",
		    b->cfg.lease_timeout);
		sched_fail(b, ids[i], NULL, NULL, why.buf, 1);
		free(workers[i]);
	}
	free(ids);
	free(workers);
	bf_buf_release(&why);
	return (int)n;
}

static int
reopen_rebuild(struct builder *b, long long rebuild)
{
	sqlite3_stmt *st = db_prep(b, "UPDATE rebuilds SET state='running', "
	    "finished=NULL, error=NULL WHERE id=? AND state IN ('failed', "
	    "'running')");
	int ok;

	sqlite3_bind_int64(st, 1, rebuild);
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

int
sched_retry(struct builder *b, long long job, struct bf_err *e)
{
	sqlite3_stmt *st;
	const char *state = NULL;
	char stbuf[32] = "", cpv[512];
	long long rebuild;
	int ok, js;

	st = db_prep(b, "SELECT j.state, r.state FROM jobs j JOIN rebuilds r "
	    "ON r.id = j.rebuild WHERE j.id = ?");
	sqlite3_bind_int64(st, 1, job);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(stbuf, sizeof(stbuf), "%s", sqlite3_column_text(st, 0));
		state = stbuf;
		if (strcmp((const char *)sqlite3_column_text(st, 1), "running")
		    != 0 && strcmp((const char *)sqlite3_column_text(st, 1),
		    "failed") != 0) {
			sqlite3_finalize(st);
			return bf_err_set(e, BF_ECONFLICT, "job %lld belongs to "
			    "a rebuild that is over; start a new rebuild", job);
		}
	}
	sqlite3_finalize(st);
	if (state == NULL)
		return bf_err_set(e, BF_ENOTFOUND, "no job %lld", job);
	js = job_state_parse(state);
	if (js != JOB_FAILED && js != JOB_CANCELLED)
		return bf_err_set(e, BF_ECONFLICT, "job %lld is %s; only failed "
		    "or cancelled jobs can be retried%s", job, state,
		    js == JOB_BLOCKED ? " (retry the job that "
		    "blocks it)" : "");
	rebuild = job_rebuild(b, job, cpv, sizeof(cpv));
	if (db_begin(b) < 0)
		return bf_err_set(e, EIO, "database busy");
	st = db_prep(b, "UPDATE jobs SET state='waiting', attempts=0, "
	    "not_before=0, error=NULL, finished=NULL WHERE id=?");
	sqlite3_bind_int64(st, 1, job);
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	/*
	 * Unblock the dependents.  The waiting counts need no recount:
	 * they follow what is done, and failing or blocking a job leaves
	 * that unchanged.
	 */
	ok = ok && set_dependents(b, job, JOB_WAITING, NULL, 0) >= 0;
	st = db_prep(b, "UPDATE jobs SET state='ready' WHERE rebuild=? AND "
	    "state='waiting' AND waiting=0");
	sqlite3_bind_int64(st, 1, rebuild);
	ok = ok && sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	ok = ok && reopen_rebuild(b, rebuild) == 0;
	if (!ok || db_commit(b) < 0) {
		db_rollback(b);
		return bf_err_set(e, EIO, "database: %s", sqlite3_errmsg(b->db));
	}
	job_log(b, job, "retry requested");
	log_info("job %lld (%s) will be retried", job, cpv);
	return 0;
}

int
sched_cancel(struct builder *b, long long job, struct bf_err *e)
{
	sqlite3_stmt *st;
	char cpv[512];
	long long rebuild;
	int ok;

	rebuild = job_rebuild(b, job, cpv, sizeof(cpv));
	if (rebuild < 0)
		return bf_err_set(e, BF_ENOTFOUND, "no job %lld", job);
	if (db_begin(b) < 0)
		return bf_err_set(e, EIO, "database busy");
	st = db_prep(b, "UPDATE jobs SET state='cancelled', worker=NULL, "
	    "lease=NULL, error='cancelled by an engineer', finished=? "
	    "WHERE id=? AND state IN ('waiting', 'ready', 'running')");
	sqlite3_bind_int64(st, 1, now_s());
	sqlite3_bind_int64(st, 2, job);
	ok = sqlite3_step(st) == SQLITE_DONE;
	if (ok && sqlite3_changes(b->db) == 0) {
		sqlite3_finalize(st);
		db_rollback(b);
		return bf_err_set(e, BF_ECONFLICT, "job %lld is not open", job);
	}
	sqlite3_finalize(st);
	ok = ok && block_dependents(b, job, cpv) >= 0;
	if (!ok || db_commit(b) < 0) {
		db_rollback(b);
		return bf_err_set(e, EIO, "database: %s", sqlite3_errmsg(b->db));
	}
	job_log(b, job, "cancelled");
	log_info("job %lld (%s) cancelled", job, cpv);
	sched_check_rebuild(b, rebuild);
	return 0;
}

int
sched_cancel_rebuild(struct builder *b, const char *profile,
    struct bf_err *e)
{
	sqlite3_stmt *st;
	long long rid = -1;
	int ok;

	st = db_prep(b, "SELECT id FROM rebuilds WHERE profile=? AND "
	    "state='running'");
	db_bind_text(st, 1, profile);
	if (sqlite3_step(st) == SQLITE_ROW)
		rid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rid < 0)
		return bf_err_set(e, BF_ENOTFOUND, "no rebuild of '%s' is "
		    "running", profile);
	if (db_begin(b) < 0)
		return bf_err_set(e, EIO, "database busy");
	st = db_prep(b, "UPDATE jobs SET state='cancelled', worker=NULL, "
	    "lease=NULL, error='rebuild cancelled' WHERE rebuild=? AND state "
	    "IN ('waiting', 'ready', 'running')");
	sqlite3_bind_int64(st, 1, rid);
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	st = db_prep(b, "UPDATE rebuilds SET state='cancelled', finished=?, "
	    "error='cancelled by an engineer; testing not moved' WHERE id=?");
	sqlite3_bind_int64(st, 1, now_s());
	sqlite3_bind_int64(st, 2, rid);
	ok = ok && sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!ok || db_commit(b) < 0) {
		db_rollback(b);
		return bf_err_set(e, EIO, "database: %s", sqlite3_errmsg(b->db));
	}
	log_info("rebuild %lld of %s cancelled", rid, profile);
	return (int)rid;
}

int
sched_check_rebuild(struct builder *b, long long rebuild)
{
	struct bf_buf msg = BF_BUF_INIT;
	sqlite3_stmt *st;
	long long open = 0, bad = 0, failed = 0, blocked = 0;
	int rc = 0;

	/* Cheap test first (index jobs_rebuild): is anything still open? */
	st = db_prep(b, "SELECT 1 FROM jobs WHERE rebuild=? AND state IN "
	    "('waiting','ready','running') LIMIT 1");
	sqlite3_bind_int64(st, 1, rebuild);
	open = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (open)
		return 0;
	st = db_prep(b, "SELECT sum(state IN ('waiting','ready','running')), "
	    "sum(state <> 'done'), sum(state = 'failed'), sum(state = "
	    "'blocked') FROM jobs WHERE rebuild=?");
	sqlite3_bind_int64(st, 1, rebuild);
	if (sqlite3_step(st) == SQLITE_ROW) {
		open = sqlite3_column_int64(st, 0);
		bad = sqlite3_column_int64(st, 1);
		failed = sqlite3_column_int64(st, 2);
		blocked = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	if (open > 0)
		return 0;
	st = db_prep(b, "SELECT state FROM rebuilds WHERE id=?");
	sqlite3_bind_int64(st, 1, rebuild);
	if (sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)
	    sqlite3_column_text(st, 0), "running") != 0) {
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	if (bad == 0) {
		/* publish_pending() publishes it, without b->mu held. */
		st = db_prep(b, "UPDATE rebuilds SET state='publishing' WHERE "
		    "id=?");
		sqlite3_bind_int64(st, 1, rebuild);
		sqlite3_step(st);
		sqlite3_finalize(st);
		log_info("rebuild %lld: every job done; publishing", rebuild);
		return 0;
	}
	bf_buf_addf(&msg, "%lld failed, %lld blocked, %lld cancelled; "
	    "testing not moved", failed, blocked, bad - failed - blocked);
	st = db_prep(b, "UPDATE rebuilds SET state='failed', finished=?, "
	    "error=? WHERE id=?");
	sqlite3_bind_int64(st, 1, now_s());
	db_bind_text(st, 2, msg.buf);
	sqlite3_bind_int64(st, 3, rebuild);
	sqlite3_step(st);
	sqlite3_finalize(st);
	log_warnx("rebuild %lld finished: %s", rebuild, msg.buf);
	bf_buf_release(&msg);
	return rc;
}

static json_t *
row_job(sqlite3_stmt *st)
{
	/* id, cpv, profile, state, worker, attempts, error, started, rebuild */
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I}",
	    "job", (json_int_t)sqlite3_column_int64(st, 0),
	    "cpv", (const char *)sqlite3_column_text(st, 1),
	    "profile", (const char *)sqlite3_column_text(st, 2),
	    "state", (const char *)sqlite3_column_text(st, 3),
	    "attempts", (json_int_t)sqlite3_column_int64(st, 5),
	    "rebuild", (json_int_t)sqlite3_column_int64(st, 8));

	if (sqlite3_column_type(st, 4) != SQLITE_NULL)
		json_object_set_new(j, "worker", json_string((const char *)
		    sqlite3_column_text(st, 4)));
	if (sqlite3_column_type(st, 6) != SQLITE_NULL)
		json_object_set_new(j, "error", json_string((const char *)
		    sqlite3_column_text(st, 6)));
	if (sqlite3_column_type(st, 7) != SQLITE_NULL)
		json_object_set_new(j, "started",
		    json_integer(sqlite3_column_int64(st, 7)));
	return j;
}

#define JOB_COLS "id, cpv, profile, state, worker, attempts, error, " \
	"started, rebuild"

json_t *
sched_job_json(struct builder *b, long long job)
{
	sqlite3_stmt *st = db_prep(b, "SELECT " JOB_COLS ", path, reused, "
	    "spec FROM jobs WHERE id=?");
	json_t *j = NULL;

	sqlite3_bind_int64(st, 1, job);
	if (sqlite3_step(st) == SQLITE_ROW) {
		j = row_job(st);
		if (sqlite3_column_type(st, 9) != SQLITE_NULL)
			json_object_set_new(j, "path", json_string((const char *)
			    sqlite3_column_text(st, 9)));
		json_object_set_new(j, "reused",
		    json_boolean(sqlite3_column_int(st, 10)));
	}
	sqlite3_finalize(st);
	return j;
}

long long
sched_lookup(struct builder *b, const char *cpv, const char *profile)
{
	sqlite3_stmt *st = db_prep(b, "SELECT id FROM jobs WHERE (cpv = ?1 OR "
	    "cpv LIKE ?1 || '-%' OR cpv LIKE '%/' || ?1 OR cpv LIKE '%/' || "
	    "?1 || '-%') AND (?2 IS NULL OR profile = ?2) ORDER BY "
	    "(cpv = ?1) DESC, id DESC LIMIT 1");
	long long id = -1;

	db_bind_text(st, 1, cpv);
	if (profile != NULL)
		db_bind_text(st, 2, profile);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* The jobs a query returns, as a JSON array of row_job() objects. */
static json_t *
jobs_json(struct builder *b, const char *sql)
{
	json_t *a = json_array();
	sqlite3_stmt *st = db_prep(b, sql);

	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, row_job(st));
	sqlite3_finalize(st);
	return a;
}

json_t *
sched_status(struct builder *b)
{
	json_t *res = json_object(), *profiles = json_array(), *a;
	sqlite3_stmt *st, *cs;
	size_t i;

	cs = db_prep(b, "SELECT state, reused, count(*) FROM jobs WHERE "
	    "rebuild=? GROUP BY state, reused");
	st = db_prep(b, "SELECT id, state, created, finished, snapshot, error, "
	    "trees, by FROM rebuilds WHERE profile=? ORDER BY id DESC LIMIT 1");
	for (i = 0; i < b->cfg.nprofiles; i++) {
		const char *p = b->cfg.profiles[i].name;
		json_t *pj = json_pack("{s:s}", "profile", p), *counts;
		long long rid, total = 0;

		sqlite3_reset(st);
		db_bind_text(st, 1, p);
		if (sqlite3_step(st) == SQLITE_ROW) {
			json_t *r;

			rid = sqlite3_column_int64(st, 0);
			r = json_pack("{s:I, s:s, s:I}", "id", (json_int_t)rid,
			    "state", (const char *)sqlite3_column_text(st, 1),
			    "created", (json_int_t)sqlite3_column_int64(st, 2));
			if (sqlite3_column_type(st, 3) != SQLITE_NULL)
				json_object_set_new(r, "finished", json_integer(
				    sqlite3_column_int64(st, 3)));
			if (sqlite3_column_type(st, 4) != SQLITE_NULL)
				json_object_set_new(r, "snapshot", json_string(
				    (const char *)sqlite3_column_text(st, 4)));
			if (sqlite3_column_type(st, 5) != SQLITE_NULL)
				json_object_set_new(r, "error", json_string(
				    (const char *)sqlite3_column_text(st, 5)));
			json_object_set_new(r, "trees", json_loads((const char *)
			    sqlite3_column_text(st, 6), 0, NULL));
			json_object_set_new(pj, "rebuild", r);
			counts = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
			    "s:i}", "done", 0, "reused", 0, "running", 0,
			    "ready", 0, "waiting", 0, "failed", 0, "blocked", 0,
			    "cancelled", 0);
			sqlite3_reset(cs);
			sqlite3_bind_int64(cs, 1, rid);
			while (sqlite3_step(cs) == SQLITE_ROW) {
				const char *s = (const char *)
				    sqlite3_column_text(cs, 0);
				long long c = sqlite3_column_int64(cs, 2);
				json_t *o = json_object_get(counts, s);

				if (sqlite3_column_int(cs, 1))
					o = json_object_get(counts, "reused");
				if (o != NULL)
					json_integer_set(o,
					    json_integer_value(o) + c);
				total += c;
			}
			json_object_set_new(counts, "total", json_integer(total));
			json_object_set_new(pj, "jobs", counts);
		}
		{
			sqlite3_stmt *ts = db_prep(b, "SELECT snapshot FROM "
			    "rebuilds WHERE profile=? AND state='complete' "
			    "ORDER BY id DESC LIMIT 1");

			db_bind_text(ts, 1, p);
			if (sqlite3_step(ts) == SQLITE_ROW)
				json_object_set_new(pj, "testing", json_string(
				    (const char *)sqlite3_column_text(ts, 0)));
			sqlite3_finalize(ts);
		}
		json_array_append_new(profiles, pj);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(cs);
	json_object_set_new(res, "profiles", profiles);

	json_object_set_new(res, "running", jobs_json(b, "SELECT " JOB_COLS
	    " FROM jobs WHERE state='running' ORDER BY started"));

	json_object_set_new(res, "problems", jobs_json(b, "SELECT " JOB_COLS
	    " FROM jobs WHERE (state='failed' OR (state='ready' AND error IS NOT "
	    "NULL)) AND rebuild IN (SELECT max(id) FROM rebuilds GROUP BY "
	    "profile) ORDER BY id LIMIT 100"));

	json_object_set_new(res, "queue", jobs_json(b, "SELECT " JOB_COLS
	    " FROM jobs WHERE state='ready' AND rebuild IN (SELECT id FROM "
	    "rebuilds WHERE state='running') ORDER BY ord LIMIT 20"));
	json_object_set_new(res, "queued", json_integer(db_int(b, "SELECT "
	    "count(*) FROM jobs WHERE state='ready'", 0)));

	a = json_array();
	st = db_prep(b, "SELECT profile, created, error FROM rebuilds WHERE "
	    "state='error' ORDER BY id DESC LIMIT 5");
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_pack("{s:s, s:I, s:s}", "profile",
		    (const char *)sqlite3_column_text(st, 0), "time",
		    (json_int_t)sqlite3_column_int64(st, 1), "error",
		    (const char *)sqlite3_column_text(st, 2)));
	sqlite3_finalize(st);
	json_object_set_new(res, "refused", a);
	json_object_set_new(res, "workers", workers_json(b));
	json_object_set_new(res, "ingested", json_integer((json_int_t)
	    b->ingested));
	json_object_set_new(res, "ingest_ms", json_real((double)b->ingest_ns /
	    1e6));
	return res;
}
