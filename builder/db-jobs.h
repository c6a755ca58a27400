/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_BUILDER_DB_JOBS_H
#define BF_BUILDER_DB_JOBS_H

/*
 * The database calls of the scheduler (db-jobs.c, db-rebuilds.c): one
 * function per statement, typed in and out (jobs.h).  Only sched.c and
 * rebuild.c use them; only db*.c speak SQL.  Every call with b->mu
 * held.
 */

#include <stddef.h>

#include "jobs.h"

struct builder;
struct lease;

/* A list of row ids, used as a queue (head) by the scheduler. */
struct idq {
	long long	*v;
	size_t		 head, n, cap;
};

#define IDQ_INIT	{ NULL, 0, 0, 0 }

int	idq_push(struct idq *q, long long id);

/* The database's last error message (for "database: %s"). */
const char *db_errmsg(struct builder *b);

/* db-jobs.c: jobs, their groups and edges. */
/* Job `id` into `j`: 1, 0 when there is none, -1 on error. */
int	db_job_get(struct builder *b, long long id, struct job *j);
/* The newest job whose cpv is or starts with `cpv`: its id, or -1. */
long long db_job_lookup(struct builder *b, const char *cpv,
	    const char *profile);
/*
 * The first ready job of `profile` due by `now` into `l` (job, spec,
 * env, trees, attempt, rebuild, cpv): 1, 0 when none, -1.
 */
int	db_job_pick(struct builder *b, const char *profile, long long now,
	    struct lease *l);
/* Leases ready job `id`; 0 or -1. */
int	db_job_lease(struct builder *b, long long id, const char *worker,
	    const char *token, long long expires, long long now);
/* Every job of the groups `l->job` is built after, into l->deps. */
int	db_job_lease_deps(struct builder *b, struct lease *l);
/*
 * The attempts of running job `id` (held by `worker` with `lease` when
 * they are not NULL): 1, 0 when it is not so, -1.
 */
int	db_job_attempts(struct builder *b, long long id, const char *worker,
	    const char *lease, long long *attempts);
/* Whether job `id` runs on `worker` under `lease`: 1, 0, -1. */
int	db_job_leased(struct builder *b, long long id, const char *worker,
	    const char *lease);
/* Running job `id` back to ready after `not_before`; 0 or -1. */
int	db_job_retry_later(struct builder *b, long long id,
	    long long attempts, long long not_before, const char *why);
int	db_job_fail(struct builder *b, long long id, long long attempts,
	    const char *why, long long now);
/* Running job `id` done; 1, 0 when it was not running, -1. */
int	db_job_done(struct builder *b, long long id, const char *path,
	    const char *sha256, long long size, long long now);
/* Records job `id`'s package as built for its profile and key. */
int	db_built_add(struct builder *b, long long id);
/* Failed or cancelled job `id` back to waiting; 0 or -1. */
int	db_job_requeue(struct builder *b, long long id);
/* Open job `id` cancelled: 1, 0 when it was not open, -1. */
int	db_job_cancel(struct builder *b, long long id, long long now);
/*
 * Job `id` to `to` with `error` (may be NULL) if it is waiting or ready
 * (`from_open`), else if it is blocked: 1 changed, 0 not, -1.
 */
int	db_job_set_dependent(struct builder *b, long long id,
	    enum job_state to, const char *error, int from_open);
/* Waiting jobs of `rebuild` with nothing to wait for to ready. */
int	db_jobs_ready_free(struct builder *b, long long rebuild);
/* Running jobs whose lease expired before `now`. */
int	db_jobs_expired(struct builder *b, long long now,
	    struct job_list *out);
int	db_jobs_running(struct builder *b, struct job_list *out);
/* Failed or retried jobs of each profile's latest rebuild (100 at most). */
int	db_jobs_problems(struct builder *b, struct job_list *out);
/* The first `max` ready jobs of running rebuilds, in build order. */
int	db_jobs_queue(struct builder *b, int max, struct job_list *out);
long long db_jobs_ready_count(struct builder *b);
/* Rebuild `id`'s job counts. */
int	db_job_counts(struct builder *b, long long rebuild,
	    struct job_counts *c);

/* Appends the groups that runtime-depend on group `grp` to `out`. */
int	db_group_needing(struct builder *b, long long grp, struct idq *out);
/*
 * Appends the jobs built after group `grp` to `jobs` and their groups
 * (0 for none) to `grps`, row by row.
 */
int	db_group_after(struct builder *b, long long grp, struct idq *jobs,
	    struct idq *grps);
/* Counts group `grp` down: 1 when it reached 0 now, else 0; -1. */
int	db_group_countdown(struct builder *b, long long grp);
/* Counts down the jobs built after group `grp`; those at 0 get ready. */
int	db_group_release_jobs(struct builder *b, long long grp);

/* db-rebuilds.c: rebuilds, and the rows a new one writes. */
int	db_rebuild_get(struct builder *b, long long id, struct rebuild *r);
/* The running or publishing rebuild of `profile`: 1 (*id), 0, -1. */
int	db_rebuild_open(struct builder *b, const char *profile,
	    long long *id);
/* The running rebuild of `profile`: 1 (*id), 0, -1. */
int	db_rebuild_running(struct builder *b, const char *profile,
	    long long *id);
/* The latest rebuild of `profile` into `r`: 1, 0, -1. */
int	db_rebuild_latest(struct builder *b, const char *profile,
	    struct rebuild *r);
/* The snapshot of the latest complete rebuild of `profile` (or NULL). */
int	db_rebuild_testing(struct builder *b, const char *profile,
	    char **snapshot);
/* The last `max` refused requests (profile, created, error). */
int	db_rebuilds_refused(struct builder *b, int max, struct rebuild **v,
	    size_t *n);
/* Whether rebuild `id` has a job waiting, ready or running: 1, 0, -1. */
int	db_rebuild_has_open(struct builder *b, long long id);
/* Rebuild `id`'s jobs: open, not done, failed, blocked. */
int	db_rebuild_tally(struct builder *b, long long id, long long *open,
	    long long *bad, long long *failed, long long *blocked);
/* Rebuild `id` to `to`: running (reopened), publishing, failed, cancelled. */
int	db_rebuild_reopen(struct builder *b, long long id);
int	db_rebuild_publishing(struct builder *b, long long id);
int	db_rebuild_failed(struct builder *b, long long id, long long now,
	    const char *error);
/* Cancels running rebuild `id` and its open jobs. */
int	db_rebuild_cancel(struct builder *b, long long id, long long now);
/* Records a request refused with `error`. */
int	db_rebuild_refuse(struct builder *b, const char *profile,
	    const char *by, const char *error, long long now);
/* A new running rebuild; *id its id. */
int	db_rebuild_insert(struct builder *b, const char *profile,
	    const char *env, const char *trees, const char *by, long long now,
	    long long *id);
/* The path built for `profile` with build key `key` (*path, or NULL). */
int	db_built_path(struct builder *b, const char *profile, const char *key,
	    char **path);
int	db_group_insert(struct builder *b, long long rebuild,
	    long long waiting, long long *id);
int	db_gdep_insert(struct builder *b, long long grp, long long dep);

/* A job as a new rebuild writes it. */
struct job_new {
	long long	 rebuild;
	const char	*profile;
	const char	*cpv;
	const char	*key;
	const char	*spec;		/* JSON text */
	long long	 ord;
	enum job_state	 state;
	long long	 waiting;
	const char	*reused;	/* the built path, or NULL */
	long long	 now;
	long long	 grp;
};

int	db_job_insert(struct builder *b, const struct job_new *j,
	    long long *id);
int	db_dep_insert(struct builder *b, long long job, long long grp);

#endif
