/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scheduling: xbps-fbulk's item states (enum job_state in jobs.h draws
 * them).  A job is ready when every job it is built after (the
 * planner's "after" set: its build dependencies and their runtime
 * closure) is done.  A package whose build key is already built for the
 * profile is done at once, reusing the built file.  When no job of a
 * rebuild is open, the rebuild is complete (every job done: a testing
 * snapshot is cut) or failed (testing stays where it was).
 *
 * Each step is a call into the database layer (db-jobs.h), inside a
 * transaction per state change; the API layer (api-jobs.c) renders
 * what sched_status() and sched_job() return.
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
#include "base/map.h"
#include "builder.h"
#include "db-jobs.h"
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

/* The first ready job of the `profiles` (in that order), into `l`. */
static int
pick(struct builder *b, const struct bf_strv *profiles, long long now,
    struct lease *l)
{
	size_t i;
	int r = 0;

	for (i = 0; i < profiles->n && r == 0; i++)
		if ((r = db_job_pick(b, profiles->v[i], now, l)) > 0)
			l->profile = strdup(profiles->v[i]);
	if (r < 0)
		return -1;
	if (l->job != 0 && (l->spec == NULL || l->env == NULL ||
	    l->trees == NULL || l->cpv == NULL || l->profile == NULL))
		return -1;
	return l->job != 0;
}

int
sched_lease(struct builder *b, const char *worker,
    const struct bf_strv *profiles, int want_deps, struct lease *l)
{
	long long now = now_s();
	int rc;

	memset(l, 0, sizeof(*l));
	if ((rc = pick(b, profiles, now, l)) <= 0)
		goto fail;
	random_hex(l->token, sizeof(l->token));
	if (db_begin(b) < 0)
		goto fail;
	if (db_job_lease(b, l->job, worker, l->token,
	    now + b->cfg.lease_timeout, now) < 0 ||
	    db_counter_add(b, "leases", l->profile, "", 1) < 0 ||
	    db_commit(b) < 0) {
		db_rollback(b);
		goto fail;
	}
	if (want_deps && db_job_lease_deps(b, l) < 0)
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

/* A set of row ids: 1 added, 0 already there, < 0 out of memory. */
static int
idset_add(struct bf_map *s, long long id)
{
	return bf_map_add_n(s, &id, sizeof(id), 0);
}

/*
 * Appends to `q` the groups that runtime-depend on group `grp` (those
 * not yet in `seen`, when it is given, adding them).  -1 on error.
 */
static int
push_needing(struct builder *b, long long grp, struct bf_map *seen,
    struct idq *q)
{
	struct idq found = IDQ_INIT;
	size_t i;
	int rc = 0, added;

	if (seen == NULL)
		return db_group_needing(b, grp, q);
	if (db_group_needing(b, grp, &found) < 0)
		rc = -1;
	for (i = 0; rc == 0 && i < found.n; i++)
		if ((added = idset_add(seen, found.v[i])) < 0 ||
		    (added && idq_push(q, found.v[i]) < 0))
			rc = -1;
	free(found.v);
	return rc;
}

/*
 * Adds the jobs built after group `g` to `out` (each once) and their
 * groups to `q` (each once).  -1 on error.
 */
static int
push_after(struct builder *b, long long g, struct bf_map *groups,
    struct bf_map *jobs, struct idq *q, struct idq *out)
{
	struct idq after = IDQ_INIT, grps = IDQ_INIT;
	size_t i;
	int rc = 0, added;

	if (db_group_after(b, g, &after, &grps) < 0)
		rc = -1;
	for (i = 0; rc == 0 && i < after.n; i++) {
		long long j = after.v[i], jg = grps.v[i];

		added = idset_add(jobs, j);
		if (added < 0 || (added && idq_push(out, j) < 0) ||
		    (jg != 0 && (added = idset_add(groups, jg)) != 0 &&
		    (added < 0 || idq_push(q, jg) < 0)))
			rc = -1;
	}
	free(after.v);
	free(grps.v);
	return rc;
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
	struct bf_map groups = BF_MAP_INIT, jobs = BF_MAP_INIT;
	struct idq q = IDQ_INIT;
	struct job j;
	int rc = -1, r;

	if ((r = db_job_get(b, job, &j)) < 0)
		goto out;
	if (r > 0 && j.grp != 0 && (idset_add(&groups, j.grp) < 0 ||
	    idq_push(&q, j.grp) < 0))
		goto out;
	while (q.head < q.n) {
		long long g = q.v[q.head++];

		if (push_after(b, g, &groups, &jobs, &q, out) < 0 ||
		    push_needing(b, g, &groups, &q) < 0)
			goto out;
	}
	rc = 0;
out:
	job_release(&j);
	bf_map_release(&groups);
	bf_map_release(&jobs);
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
	struct idq q = IDQ_INIT;
	size_t i;
	int n = 0, r;

	if (dependents(b, job, &q) < 0) {
		free(q.v);
		return -1;
	}
	for (i = 0; i < q.n && n >= 0; i++) {
		if ((r = db_job_set_dependent(b, q.v[i], to, error,
		    from_open)) < 0)
			n = -1;
		else
			n += r;
	}
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
	struct idq q = IDQ_INIT, up = IDQ_INIT;
	size_t i;
	int rc = -1, r;

	if (idq_push(&up, grp) < 0)
		goto out;
	for (;;) {
		/* Count down the groups in `up`; those at 0 go to `q`. */
		for (i = 0; i < up.n; i++) {
			if ((r = db_group_countdown(b, up.v[i])) < 0)
				goto out;
			if (r && idq_push(&q, up.v[i]) < 0)
				goto out;
		}
		up.n = 0;
		if (q.head == q.n)
			break;
		grp = q.v[q.head++];
		if (db_group_release_jobs(b, grp) < 0 ||
		    push_needing(b, grp, NULL, &up) < 0)
			goto out;
	}
	rc = 0;
out:
	free(q.v);
	free(up.v);
	return rc;
}

/* The delay before attempt `attempts` + 1: backoff, doubled per try. */
static long long
backoff(const struct builder *b, long long attempts)
{
	int sh = attempts > 0 ? (int)attempts - 1 : 0;
	long long delay = (long long)b->cfg.backoff << (sh > 20 ? 20 : sh);

	return delay > b->cfg.backoff_max ? b->cfg.backoff_max : delay;
}

/* A failed attempt with attempts left: ready again after a delay. */
static int
fail_retry(struct builder *b, const struct job *j, long long attempts,
    const char *why)
{
	long long delay = backoff(b, attempts);

	if (db_job_retry_later(b, j->id, attempts, now_s() + delay, why) < 0 ||
	    db_commit(b) < 0)
		return -1;
	log_warnx("job %lld (%s) attempt %lld failed: %s; retrying in "
	    "%lld s", j->id, j->cpv, attempts, why, delay);
	job_log(b, j->id, "attempt %lld failed: %s; retry %lld of %d in "
	    "%lld s", attempts, why, attempts + 1, b->cfg.max_attempts, delay);
	return 0;
}

/* The last attempt failed: the job fails, its dependents are blocked. */
static int
fail_final(struct builder *b, const struct job *j, long long attempts,
    const char *why)
{
	int nblocked;

	if (db_job_fail(b, j->id, attempts, why, now_s()) < 0 ||
	    db_counter_add(b, "finished", j->profile, "failed", 1) < 0 ||
	    (nblocked = block_dependents(b, j->id, j->cpv)) < 0 ||
	    db_commit(b) < 0)
		return -1;
	log_warnx("job %lld (%s) failed after %lld attempts: %s; %d "
	    "dependents blocked", j->id, j->cpv, attempts, why, nblocked);
	job_log(b, j->id, "failed after %lld attempts: %s; %d dependent "
	    "packages blocked", attempts, why, nblocked);
	sched_check_rebuild(b, j->rebuild);
	return 0;
}

int
sched_fail(struct builder *b, long long job, const char *worker,
    const char *lease, const char *why, int count_attempt)
{
	long long attempts = 0;
	struct job j;
	int rc;

	if ((rc = db_job_attempts(b, job, worker, lease, &attempts)) <= 0)
		return rc < 0 ? -EIO : -BF_ENOTFOUND;
	attempts += count_attempt != 0;
	if (db_job_get(b, job, &j) <= 0) {
		job_release(&j);
		return -EIO;
	}
	if (db_begin(b) < 0) {
		job_release(&j);
		return -EIO;
	}
	if (attempts < b->cfg.max_attempts)
		rc = fail_retry(b, &j, attempts, why);
	else
		rc = fail_final(b, &j, attempts, why);
	if (rc < 0) {
		db_rollback(b);
		rc = -EIO;
	}
	job_release(&j);
	return rc;
}

int
sched_done(struct builder *b, long long job, const char *path,
    const char *sha256, long long size)
{
	struct job j;
	int r;

	if ((r = db_job_get(b, job, &j)) < 0 || db_begin(b) < 0) {
		job_release(&j);
		return -EIO;
	}
	if (db_job_done(b, job, path, sha256, size, now_s()) != 1 ||
	    db_built_add(b, job) < 0 || release_group(b, j.grp) < 0 ||
	    db_counter_add(b, "finished", j.profile, "done", 1) < 0 ||
	    db_commit(b) < 0) {
		db_rollback(b);
		job_release(&j);
		return -EIO;
	}
	job_log(b, job, "done: %s (%lld bytes, sha256 %s)", path, size, sha256);
	log_info("job %lld (%s) done: %s", job, r > 0 ? j.cpv : "", path);
	sched_check_rebuild(b, r > 0 ? j.rebuild : -1);
	job_release(&j);
	return 0;
}

int
sched_expire(struct builder *b)
{
	struct job_list l = JOB_LIST_INIT;
	struct bf_buf why = BF_BUF_INIT;
	size_t i;
	int n;

	/* Out of memory part way: those listed expire, the rest next time. */
	db_jobs_expired(b, now_s(), &l);
	for (i = 0; i < l.n; i++) {
		bf_buf_reset(&why);
		bf_buf_addf(&why, "lease expired: worker %s sent no heartbeat "
		    "for %d s", l.v[i].worker ? l.v[i].worker : "?",
		    b->cfg.lease_timeout);
		sched_fail(b, l.v[i].id, NULL, NULL, why.buf, 1);
	}
	n = (int)l.n;
	job_list_release(&l);
	bf_buf_release(&why);
	return n;
}

static int
dberr(struct builder *b, struct bf_err *e)
{
	return bf_err_set(e, EIO, "database: %s", db_errmsg(b));
}

/* Whether job `j` may be retried: 0, or the reason in `e`. */
static int
retry_allowed(struct builder *b, const struct job *j, struct bf_err *e)
{
	struct rebuild r;
	int rs, found;

	if ((found = db_rebuild_get(b, j->rebuild, &r)) < 0)
		return dberr(b, e);
	rs = r.state;
	rebuild_release(&r);
	if (!found)
		return bf_err_set(e, BF_ENOTFOUND, "no job %lld", j->id);
	if (rs != REBUILD_RUNNING && rs != REBUILD_FAILED)
		return bf_err_set(e, BF_ECONFLICT, "job %lld belongs to a "
		    "rebuild that is over; start a new rebuild", j->id);
	if (j->state != JOB_FAILED && j->state != JOB_CANCELLED)
		return bf_err_set(e, BF_ECONFLICT, "job %lld is %s; only failed "
		    "or cancelled jobs can be retried%s", j->id,
		    job_state_name(j->state), j->state == JOB_BLOCKED ?
		    " (retry the job that blocks it)" : "");
	return 0;
}

int
sched_retry(struct builder *b, long long job, struct bf_err *e)
{
	struct job j;
	int rc;

	if ((rc = db_job_get(b, job, &j)) <= 0) {
		job_release(&j);
		return rc < 0 ? dberr(b, e) : bf_err_set(e, BF_ENOTFOUND,
		    "no job %lld", job);
	}
	if ((rc = retry_allowed(b, &j, e)) < 0)
		goto out;
	if (db_begin(b) < 0) {
		rc = bf_err_set(e, EIO, "database busy");
		goto out;
	}
	/*
	 * Unblock the dependents.  The waiting counts need no recount:
	 * they follow what is done, and failing or blocking a job leaves
	 * that unchanged.
	 */
	if (db_job_requeue(b, job) < 0 ||
	    set_dependents(b, job, JOB_WAITING, NULL, 0) < 0 ||
	    db_jobs_ready_free(b, j.rebuild) < 0 ||
	    db_rebuild_reopen(b, j.rebuild) < 0 || db_commit(b) < 0) {
		rc = dberr(b, e);
		db_rollback(b);
		goto out;
	}
	job_log(b, job, "retry requested");
	log_info("job %lld (%s) will be retried", job, j.cpv);
out:
	job_release(&j);
	return rc;
}

int
sched_cancel(struct builder *b, long long job, struct bf_err *e)
{
	struct job j;
	int rc, n;

	if ((rc = db_job_get(b, job, &j)) <= 0) {
		job_release(&j);
		return rc < 0 ? dberr(b, e) : bf_err_set(e, BF_ENOTFOUND,
		    "no job %lld", job);
	}
	rc = 0;
	if (db_begin(b) < 0) {
		rc = bf_err_set(e, EIO, "database busy");
		goto out;
	}
	if ((n = db_job_cancel(b, job, now_s())) == 0) {
		db_rollback(b);
		rc = bf_err_set(e, BF_ECONFLICT, "job %lld is not open", job);
		goto out;
	}
	if (n < 0 || block_dependents(b, job, j.cpv) < 0 || db_commit(b) < 0) {
		rc = dberr(b, e);
		db_rollback(b);
		goto out;
	}
	job_log(b, job, "cancelled");
	log_info("job %lld (%s) cancelled", job, j.cpv);
	sched_check_rebuild(b, j.rebuild);
out:
	job_release(&j);
	return rc;
}

int
sched_cancel_rebuild(struct builder *b, const char *profile,
    struct bf_err *e)
{
	long long rid = -1;
	int r;

	if ((r = db_rebuild_running(b, profile, &rid)) < 0)
		return dberr(b, e);
	if (r == 0)
		return bf_err_set(e, BF_ENOTFOUND, "no rebuild of '%s' is "
		    "running", profile);
	if (db_begin(b) < 0)
		return bf_err_set(e, EIO, "database busy");
	if (db_rebuild_cancel(b, rid, now_s()) < 0 || db_commit(b) < 0) {
		r = dberr(b, e);
		db_rollback(b);
		return r;
	}
	log_info("rebuild %lld of %s cancelled", rid, profile);
	return (int)rid;
}

int
sched_check_rebuild(struct builder *b, long long rebuild)
{
	struct bf_buf msg = BF_BUF_INIT;
	long long open = 0, bad = 0, failed = 0, blocked = 0;
	struct rebuild r;
	int rs;

	if (db_rebuild_has_open(b, rebuild) != 0 ||
	    db_rebuild_tally(b, rebuild, &open, &bad, &failed, &blocked) < 0 ||
	    open > 0)
		return 0;
	if (db_rebuild_get(b, rebuild, &r) <= 0) {
		rebuild_release(&r);
		return 0;
	}
	rs = r.state;
	rebuild_release(&r);
	if (rs != REBUILD_RUNNING)
		return 0;
	if (bad == 0) {
		/* publish_pending() publishes it, without b->mu held. */
		db_rebuild_publishing(b, rebuild);
		log_info("rebuild %lld: every job done; publishing", rebuild);
		return 0;
	}
	bf_buf_addf(&msg, "%lld failed, %lld blocked, %lld cancelled; "
	    "testing not moved", failed, blocked, bad - failed - blocked);
	db_rebuild_failed(b, rebuild, now_s(), msg.buf);
	log_warnx("rebuild %lld finished: %s", rebuild, msg.buf);
	bf_buf_release(&msg);
	return 0;
}

long long
sched_lookup(struct builder *b, const char *cpv, const char *profile)
{
	return db_job_lookup(b, cpv, profile);
}

int
sched_rebuild_get(struct builder *b, long long id, struct rebuild *r,
    struct job_counts *c)
{
	int found;

	memset(c, 0, sizeof(*c));
	if ((found = db_rebuild_get(b, id, r)) <= 0)
		return found;
	return db_job_counts(b, id, c) < 0 ? -1 : 1;
}

int
sched_job(struct builder *b, long long job, struct job *j)
{
	return db_job_get(b, job, j);
}

int
sched_job_leased(struct builder *b, long long job, const char *worker,
    const char *lease)
{
	return db_job_leased(b, job, worker, lease);
}

/* Profile `p`'s latest rebuild, its job counts, its testing snapshot. */
static int
profile_status(struct builder *b, const char *p, struct profile_status *ps)
{
	int r;

	memset(ps, 0, sizeof(*ps));
	ps->profile = p;
	if ((r = db_rebuild_latest(b, p, &ps->rebuild)) < 0)
		return -1;
	ps->has_rebuild = r > 0;
	if (ps->has_rebuild &&
	    db_job_counts(b, ps->rebuild.id, &ps->counts) < 0)
		return -1;
	return db_rebuild_testing(b, p, &ps->testing);
}

int
sched_status(struct builder *b, struct sched_status *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	if (b->cfg.nprofiles > 0 && (s->profiles = calloc(b->cfg.nprofiles,
	    sizeof(*s->profiles))) == NULL)
		return -1;
	for (i = 0; i < b->cfg.nprofiles; i++) {
		s->nprofiles++;
		if (profile_status(b, b->cfg.profiles[i].name,
		    &s->profiles[i]) < 0)
			return -1;
	}
	if (db_jobs_running(b, &s->running) < 0 ||
	    db_jobs_problems(b, &s->problems) < 0 ||
	    db_jobs_queue(b, 20, &s->queue) < 0)
		return -1;
	s->queued = db_jobs_ready_count(b);
	return db_rebuilds_refused(b, 5, &s->refused, &s->nrefused);
}

void
sched_status_release(struct sched_status *s)
{
	size_t i;

	for (i = 0; i < s->nprofiles; i++) {
		rebuild_release(&s->profiles[i].rebuild);
		free(s->profiles[i].testing);
	}
	free(s->profiles);
	job_list_release(&s->running);
	job_list_release(&s->problems);
	job_list_release(&s->queue);
	for (i = 0; i < s->nrefused; i++)
		rebuild_release(&s->refused[i]);
	free(s->refused);
	memset(s, 0, sizeof(*s));
}
