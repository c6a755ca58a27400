/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_BUILDER_JOBS_H
#define BF_BUILDER_JOBS_H

/*
 * The scheduler's data as plain C: job and rebuild states, a job, a
 * rebuild, the status page.  sched.c and rebuild.c work on these; the
 * database layer (db-jobs.h) reads and writes them, the API layer
 * (api-jobs.c) writes them as JSON.  Strings in the structs are
 * malloc'd and the struct's own (freed by *_release()); NULL stands
 * for a NULL column.
 */

#include <stddef.h>

/*
 * Job states (sched.c):
 *
 *	waiting -> ready -> running -> done
 *	                       |  \--> ready (retry after backoff)
 *	                       \-----> failed -> dependents blocked
 *	any open state -> cancelled (dependents blocked)
 *
 * The database keeps their names (job_state_name()).
 */
enum job_state {
	JOB_WAITING,
	JOB_READY,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_BLOCKED,
	JOB_CANCELLED,
	JOB_NSTATES
};

const char *job_state_name(enum job_state s);
/* The state named `name`, or -1. */
int	job_state_parse(const char *name);

/*
 * Rebuild states: running -> publishing -> complete (or failed, by
 * publish.c); running -> failed (a job failed) -> running (retry);
 * running -> cancelled; error: a request refused before it started.
 */
enum rebuild_state {
	REBUILD_RUNNING,
	REBUILD_PUBLISHING,
	REBUILD_COMPLETE,
	REBUILD_FAILED,
	REBUILD_CANCELLED,
	REBUILD_ERROR,
	REBUILD_NSTATES
};

const char *rebuild_state_name(enum rebuild_state s);
/* The state named `name`, or -1. */
int	rebuild_state_parse(const char *name);

/* A row of `jobs`: what status, a job's page and the log show. */
struct job {
	long long	 id;
	long long	 rebuild;
	long long	 grp;		/* 0: none */
	char		*cpv;
	char		*profile;
	int		 state;		/* enum job_state, -1: unknown */
	char		*worker;
	long long	 attempts;
	char		*error;
	long long	 started;
	int		 has_started;	/* started is not NULL */
	char		*path;		/* the built package, under pkgdir */
	int		 reused;
};

struct job_list {
	struct job	*v;
	size_t		 n, alloc;
};

#define JOB_LIST_INIT	{ NULL, 0, 0 }

void	job_release(struct job *j);
void	job_list_release(struct job_list *l);

/* A row of `rebuilds`. */
struct rebuild {
	long long	 id;
	char		*profile;
	int		 state;		/* enum rebuild_state, -1: unknown */
	long long	 created;
	long long	 finished;
	int		 has_finished;
	char		*snapshot;
	char		*error;
	char		*trees;		/* its pins, JSON text */
	char		*by;
};

void	rebuild_release(struct rebuild *r);

/* A rebuild's jobs by state, reused ones apart (whatever their state). */
struct job_counts {
	long long	 n[JOB_NSTATES];
	long long	 reused;
	long long	 total;
};

/* GET /v1/status, sched_status(). */
struct profile_status {
	const char	*profile;	/* the configuration's */
	int		 has_rebuild;
	struct rebuild	 rebuild;	/* the latest */
	struct job_counts counts;	/* of the latest */
	char		*testing;	/* the last complete snapshot, or NULL */
};

struct sched_status {
	struct profile_status *profiles;
	size_t		 nprofiles;
	struct job_list	 running;	/* by start time */
	struct job_list	 problems;	/* failed or retried, latest rebuilds */
	struct job_list	 queue;		/* the first ready ones */
	long long	 queued;	/* every ready one */
	struct rebuild	*refused;	/* the last requests refused */
	size_t		 nrefused;
};

void	sched_status_release(struct sched_status *s);

#endif
