/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_BUILDER_H
#define BF_BUILDER_H

#include <sys/types.h>

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "base/conf.h"
#include "base/log.h"
#include "net/penalty.h"
#include "jobs.h"

struct bf_buf;
struct bf_err;
struct bf_repo;
struct bf_signer;
struct builder;
struct api_state;
struct console;

/*
 * binfarm-builder: configuration (builder.conf, binfarm-builder.conf(5)),
 * durable state (SQLite), scheduling (sched.c), workers (workers.c),
 * ingest and snapshots (ingest.c), the HTTP API (api.c).
 */

struct bcfg_profile {
	char		*name;		/* the section name: [profile NAME] */
	char		*dir;		/* the hw-profile directory */
	unsigned	 line;
	struct bf_strv	 tags;		/* profile.conf worker-tags */
};

/*
 * [worker NAME]: one worker's credentials and what it may build.  The
 * builder, not the worker, decides its name and its tags: a worker
 * presenting `token` acts as NAME (or NAME-N for the N-th process of
 * binfarm-worker -j), and may build the hw-profiles in `profiles` and
 * those whose worker-tags `tags` covers.
 */
struct bcfg_worker {
	char		*name;
	char		*token;
	struct bf_strv	 profiles;
	struct bf_strv	 tags;
	unsigned	 line;
};

struct bcfg_repo {
	char		*name;
	char		*uri;
	char		*ref;
};

struct bcfg {
	char			*file;
	char			*listen;	/* "127.0.0.1:0" */
	char			*state;		/* state directory */
	char			*mirrors;	/* default: <state>/mirrors */
	char			*repository;	/* default: <state>/repo */
	char			*engineer_token;
	char			*metrics_token;	/* NULL: GET /metrics only
						   with the engineer's */
	char			*user;		/* drop to it (started as root) */
	char			*tls_cert;	/* PEM files: TLS when both set */
	char			*tls_key;
	int			 max_connections;	/* all addresses */
	int			 max_connections_per_ip;
	int			 request_timeout;	/* s, for a request head */
	long long		 max_upload_size;	/* bytes */
	int			 auth_failures;	/* per source and minute;
						   0: no penalties */
	int			 auth_penalty;	/* s */
	struct bf_cidr		*auth_exempt;	/* never penalised */
	size_t			 nauth_exempt;
	struct bcfg_worker	*workers;
	size_t			 nworkers, aworkers;
	int			 lease_timeout;	/* seconds */
	int			 max_attempts;
	int			 backoff;	/* base seconds, doubled per try */
	int			 backoff_max;
	struct bcfg_profile	*profiles;
	size_t			 nprofiles, aprofiles;
	struct bcfg_repo	*repos;
	size_t			 nrepos, arepos;
};

int	bcfg_load(struct bcfg *c, const char *file, struct bf_err *e);
void	bcfg_release(struct bcfg *c);
const struct bcfg_profile *bcfg_profile(const struct bcfg *c,
	    const char *name);
/* The worker whose token is `token` (compared in constant time), or NULL. */
const struct bcfg_worker *bcfg_worker_by_token(const struct bcfg *c,
	    const char *token);
/* Whether `a` and `b` are equal, in time independent of where they differ. */
int	bcfg_token_eq(const char *a, const char *b);
/*
 * Writes a fresh builder.conf with random tokens into `state`, and
 * makes its repository, <state>/repo, when there is none: signed with
 * a new key unless `unsigned_repo`.
 */
int	bcfg_generate(const char *state, const char *listen,
	    char *const *profiles, size_t nprofiles, int unsigned_repo,
	    struct bf_err *e);
/*
 * Opens the configured repository; if it is signed, checks that its key
 * is configured and outside the tree (the signing process opens it).
 */
int	builder_open_repo(struct builder *b, struct bf_err *e);

struct builder {
	struct bcfg		 cfg;
	sqlite3			*db;
	pthread_mutex_t		 mu;	/* the database and everything below */
	/*
	 * Held (without `mu`) while a rebuild fetches its trees and plans:
	 * one at a time, as they share the git mirrors.
	 */
	pthread_mutex_t		 plan_mu;
	struct MHD_Daemon	*mhd;
	struct api_state	*api;	/* api.c's: TLS, the head deadline */
	struct console		*console;	/* console.c's: sessions */
	struct bf_penalty	 penalty;	/* wrong credentials, per source */
	int			 port;
	volatile sig_atomic_t	 stop;
	struct bf_repo		*repo;	/* where rebuilds are published */
	struct bf_signer	*signer;	/* NULL: unsigned repository;
						   else the signing process's */
	pid_t			 signer_pid;	/* -1: none */
	long long		 started;	/* unix time, api_start() */
	uint64_t		 ingest_ns;	/* time spent verifying uploads */
	uint64_t		 ingested;
	struct {
		const char	*sql;		/* a string literal: its address */
		sqlite3_stmt	*st;
	}			 stmts[64];	/* db_stmt()'s cache */
	size_t			 nstmts;
};

/* db.c */
int	db_open(struct builder *b, struct bf_err *e);
void	db_close(struct builder *b);
int	db_exec(struct builder *b, const char *sql);
int	db_begin(struct builder *b);
int	db_commit(struct builder *b);
void	db_rollback(struct builder *b);
sqlite3_stmt *db_prep(struct builder *b, const char *sql);
/*
 * A prepared statement for `sql`, a string literal, kept until
 * db_close(): reset and unbound, owned by the cache (never finalize
 * it; sqlite3_reset() it when done so that it holds no read
 * transaction).  NULL on error.
 */
sqlite3_stmt *db_stmt(struct builder *b, const char *sql);
/* Steps st once and finalizes it (db_prep()'s): sqlite3_changes(), or -1. */
int	db_step_once(struct builder *b, sqlite3_stmt *st);
/* Steps st once and resets it (db_stmt()'s): sqlite3_changes(), or -1. */
int	db_step_cached(struct builder *b, sqlite3_stmt *st);
/* One statement whose only parameter is a row id: changes, or -1. */
int	db_exec_id(struct builder *b, const char *sql, long long id);
long long db_int(struct builder *b, const char *sql, long long dflt);
long long now_s(void);
/* sqlite3_bind_text() of a C string, copied (SQLITE_TRANSIENT). */
int	db_bind_text(sqlite3_stmt *st, int i, const char *s);

/*
 * pin.c: the repositories of a rebuild of `profile` (the builder's
 * [repo NAME] over the profile's), `commit` ("OID" or "NAME=OID", may
 * be NULL) pinning one of them.
 */
struct bf_pins;
struct bf_profile;
int	rebuild_pins(struct builder *b, const char *profile,
	    const struct bf_profile *prof, const char *commit,
	    struct bf_pins *pins, struct bf_err *e);

/* rebuild.c: pins, plans and queues a rebuild; with b->mu held. */
struct rebuild_started {
	long long	 id;
	size_t		 njobs;
	size_t		 nreused;	/* of njobs, already built */
	char		*trees;		/* its pins (JSON text) */
};

int	sched_rebuild(struct builder *b, const char *profile,
	    const char *commit, const char *by, struct rebuild_started *out,
	    struct bf_err *e);
void	rebuild_started_release(struct rebuild_started *s);

/* sched.c: every call with b->mu held. */
/* A job leased to a worker (sched_lease()); api.c writes it as JSON. */
struct lease_dep {
	long long	 job;
	char		*cpv;
};

struct lease {
	long long	 job;
	long long	 rebuild;
	long long	 attempt;	/* 1 for the first */
	char		*cpv;
	char		*profile;
	char		*spec;		/* the job's plan entry (JSON text) */
	char		*env;		/* the rebuild's configuration (JSON) */
	char		*trees;		/* the rebuild's pins (JSON) */
	char		 token[33];	/* the lease */
	struct lease_dep *deps;		/* the packages it is built after */
	size_t		 ndeps;
	size_t		 adeps;
};

/*
 * Leases the first ready job of `profiles` (those `worker` may build,
 * workers_profiles()) into `l` (with its dependencies when
 * `want_deps`): 1, or 0 when there is none, or -1.
 */
int	sched_lease(struct builder *b, const char *worker,
	    const struct bf_strv *profiles, int want_deps, struct lease *l);
void	lease_release(struct lease *l);
int	sched_fail(struct builder *b, long long job, const char *worker,
	    const char *lease, const char *why, int count_attempt);
int	sched_done(struct builder *b, long long job, const char *path,
	    const char *sha256, long long size);
int	sched_expire(struct builder *b);
int	sched_retry(struct builder *b, long long job, struct bf_err *e);
int	sched_cancel(struct builder *b, long long job, struct bf_err *e);
int	sched_cancel_rebuild(struct builder *b, const char *profile,
	    struct bf_err *e);
int	sched_check_rebuild(struct builder *b, long long rebuild);
/* The status page's data into `s` (sched_status_release()); 0 or -1. */
int	sched_status(struct builder *b, struct sched_status *s);
/*
 * Rebuild `id` into `r` (rebuild_release()) and its job counts into
 * `c`: 1, 0 when there is none, -1.
 */
int	sched_rebuild_get(struct builder *b, long long id, struct rebuild *r,
	    struct job_counts *c);
/* Job `job` into `j` (job_release()): 1, 0 when there is none, -1. */
int	sched_job(struct builder *b, long long job, struct job *j);
/* Whether job `job` runs on `worker` under `lease`: 1, 0, -1. */
int	sched_job_leased(struct builder *b, long long job, const char *worker,
	    const char *lease);
long long sched_lookup(struct builder *b, const char *cpv,
	    const char *profile);
void	job_log(struct builder *b, long long job, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * The farm's rows (db-farm.c reads and writes them; workers.c,
 * ingest.c and publish.c work on them; api-farm.c writes them as JSON).
 */
/* A tree of a rebuild at its pinned commit. */
struct farm_pin {
	char		*name;
	char		*commit;
};

/* A rebuild's configuration (rebuilds.env) as ingest and publish use it. */
struct farm_env {
	char		*chost;
	char		*cflags;
	char		*cxxflags;
	char		*ldflags;
	struct bf_strv	 header_keys;	/* index_header: the snapshot's */
	struct bf_strv	 header_values;	/* extra Packages header */
};

/* A job's plan entry (jobs.spec) as ingest checks a package against it. */
struct farm_spec {
	char		*cpv;
	char		*repo;
	struct bf_strv	 iuse;
	struct bf_strv	 use;
};

/* A job an upload is for (db_upload_job()). */
struct upload_job {
	char		*state;
	char		*worker;	/* NULL: leased to none */
	char		*lease;		/* NULL: none */
	char		*profile;
	struct farm_spec spec;
	struct farm_env	 env;
	struct farm_pin	*trees;
	size_t		 ntrees;
};
void	upload_job_release(struct upload_job *j);

/* A complete rebuild as publish.c takes it to the repository. */
struct pub_rebuild {
	char		*profile;	/* NULL: no such rebuild */
	char		*by;		/* NULL: the builder's own */
	struct farm_env	 env;
	struct farm_pin	*trees;
	size_t		 ntrees;
};
void	pub_rebuild_release(struct pub_rebuild *r);

/* A package of a rebuild, by its path under <state>/pkgdir/<profile>. */
struct pubpkg {
	char		*path;
	char		*pool;		/* PATH in the repository; NULL: not yet */
	int		 added;		/* added to the repository by this run */
};

/* A registered worker (db_workers_list(), workers_list()). */
struct worker_row {
	char		*name;
	struct bf_strv	 tags;
	int		 slots;
	long long	 last_seen;	/* s */
	long long	 running;	/* jobs it holds */
	struct bf_strv	 may_build;	/* workers_list(): the profiles */
	int		 alive;		/* workers_list() */
};
void	worker_rows_free(struct worker_row *v, size_t n);

/* A job a heartbeat says the worker holds. */
struct hb_job {
	long long	 job;
	const char	*lease;		/* "" when it sent none */
};

/* db-farm.c: every call with b->mu held. */
int	db_worker_put(struct builder *b, const char *name,
	    const struct bf_strv *tags, int slots);
/* Worker `name`'s registered tags into `tags`: 1, or 0 when none. */
int	db_worker_tags(struct builder *b, const char *name,
	    struct bf_strv *tags);
void	db_worker_seen(struct builder *b, const char *name);
/* Extends a running job's lease held by `worker`: 1, or 0 if it is not. */
int	db_lease_extend(struct builder *b, long long job, const char *worker,
	    const char *lease, long long expires);
int	db_workers_list(struct builder *b, struct worker_row **v, size_t *n);
/* Job `job` for an upload: 1, 0 when there is none, or -ENOMEM. */
int	db_upload_job(struct builder *b, long long job, struct upload_job *j);
/* Sets a running job's error (an upload refused before verification). */
void	db_job_set_error(struct builder *b, long long job, const char *msg);
/* Rebuild `id` into `r`: 0 (r->profile NULL if none), or -ENOMEM. */
int	db_pub_rebuild(struct builder *b, long long id, struct pub_rebuild *r);
/*
 * The built packages of rebuild `id` in plan order, with where each is
 * already in the pool: 0, -ENOMEM or -EIO.  All or nothing.
 */
int	db_pub_packages(struct builder *b, long long id, struct pubpkg **v,
	    size_t *n);
/* Remembers where the packages `added` went in `profile`'s pool. */
void	db_published_put(struct builder *b, const char *profile,
	    const struct pubpkg *v, size_t n);
/* The oldest rebuild waiting to be published, or -1. */
long long db_publishing_next(struct builder *b);
/* Its end: complete with `snapshot`, or failed with `error`. */
void	db_publishing_end(struct builder *b, long long id,
	    const char *snapshot, const char *error);
/* Up to `max` rebuilds in state 'running', oldest first: their count. */
size_t	db_rebuilds_running(struct builder *b, long long *ids, size_t max);

/* workers.c */
int	workers_register(struct builder *b, const char *name,
	    const struct bf_strv *tags, int slots);
/*
 * A heartbeat: extends the leases of `jobs` the worker holds; the ones
 * it must abandon into *abandon (malloc'd), their count in *nabandon.
 */
int	workers_heartbeat(struct builder *b, const char *name,
	    const struct hb_job *jobs, size_t njobs, long long **abandon,
	    size_t *nabandon);
/* Worker `name`'s registered tags into `tags`: 1, or 0 when none. */
int	workers_get_tags(struct builder *b, const char *name,
	    struct bf_strv *tags);
/*
 * Whether worker `w` (by its token) may act under the name `claimed`:
 * its own name, or NAME-N (digits) that names no other configured
 * worker.
 */
int	workers_name_ok(const struct bcfg *c, const struct bcfg_worker *w,
	    const char *claimed);
/*
 * The tags worker `w` registers with, into `out`: `declared` (the
 * worker's own list) when every one of them is among the profiles and
 * tags its section allows, else -1 with *bad set to the first one that
 * is not; all it allows when `declared` is empty.  0, -1, or -ENOMEM.
 */
int	workers_allowed(const struct bcfg_worker *w,
	    const struct bf_strv *declared, struct bf_strv *out,
	    const char **bad);
/* Whether a worker with `tags` may build `p`. */
int	workers_may_build(const struct bf_strv *tags,
	    const struct bcfg_profile *p);
/* The profiles a worker with `tags` may build, in builder.conf's order. */
int	workers_profiles(struct builder *b, const struct bf_strv *tags,
	    struct bf_strv *out);
/* Every registered worker, with what it may build and whether alive. */
int	workers_list(struct builder *b, struct worker_row **v, size_t *n);

/* api-farm.c: the workers' calls as JSON */
/*
 * Register's "tags" into `tags`, up to the first that is not a string
 * (*not_string set then).  0 or -ENOMEM.
 */
int	api_farm_tags(json_t *in, struct bf_strv *tags, int *not_string);
json_t *api_farm_registered(const char *name, int lease_timeout,
	    const struct bf_strv *tags);
/* A heartbeat's "jobs" (its leases point into `in`). 0 or -ENOMEM. */
int	api_farm_heartbeat_jobs(json_t *in, struct hb_job **v, size_t *n);
json_t *api_farm_heartbeat_reply(const long long *abandon, size_t n,
	    int lease_timeout);
json_t *workers_json(struct builder *b);

/* ingest.c */
struct ingest;
int	ingest_start(struct builder *b, struct ingest **ip, long long job,
	    const char *worker, const char *lease, const char *checksum,
	    int *http_status, struct bf_err *e);
int	ingest_data(struct ingest *in, const char *data, size_t n,
	    struct bf_err *e);
/* Verifies and stages the upload; *http_status is the answer. */
int	ingest_finish(struct builder *b, struct ingest *in, int *http_status,
	    struct bf_err *e);
void	ingest_free(struct ingest *in);
/* Removes leftovers of a killed builder in incoming/. */
void	ingest_cleanup(struct builder *b);

/* publish.c */
/*
 * Publishes a complete rebuild to the repository (snapshot, testing);
 * takes b->mu only around its database work.
 */
int	publish_snapshot(struct builder *b, long long rebuild,
	    struct bf_buf *id, struct bf_err *e);
/* Publishes rebuilds in state 'publishing'; called without b->mu. */
void	publish_pending(struct builder *b);

/* signer.c: the signing process; privilege separation */
/* Forks the signing process (before any thread); b->signer talks to it. */
int	signer_start(struct builder *b, struct bf_err *e);
/* 1 while it runs; 0 (logged) when it has died. */
int	signer_alive(struct builder *b);
/* Closes its socket (it exits) and waits for it. */
void	signer_stop(struct builder *b);
/* USER's ids and home directory (*home malloc'd); refuses root, non-root. */
int	privsep_lookup(const char *user, uid_t *uid, gid_t *gid, char **home,
	    struct bf_err *e);
/* setgroups, setresgid, setresuid to USER for good; HOME=home. */
int	privsep_drop(uid_t uid, gid_t gid, const char *home, struct bf_err *e);

/* api-jobs.c: the scheduler's structs as JSON (text: the caller's). */
struct bf_pins;
struct bf_plan;
struct bf_plan_node;
int	api_rebuild_env(const char *profile, const struct bf_profile *p,
	    const struct bf_plan *plan, char **out, struct bf_err *e);
char	*api_rebuild_trees(const struct bf_pins *pins);
char	*api_job_spec(const struct bf_profile *p,
	    const struct bf_plan_node *nd);
/* GET /v1/jobs/N (NULL: no such job), GET /v1/status, POST /v1/rebuild. */
json_t	*api_job_json(struct builder *b, long long job);
json_t	*api_status_json(struct builder *b);
/* GET /v1/rebuild?id=N: {"rebuild": {...}, "jobs": {...}}, or NULL. */
json_t	*api_rebuild_get_json(struct builder *b, long long id);
json_t	*api_rebuild_json(const char *profile,
	    const struct rebuild_started *s);

/*
 * metrics.c: GET /metrics in Prometheus' text format, from the database
 * (binfarm-builder(8), METRICS).  Labels come from builder.conf's
 * profiles and the registered workers only.
 */
#define METRICS_NBUCKETS	13

enum { METRICS_DONE, METRICS_FAILED, METRICS_NRESULTS };
enum { METRICS_UP_OK, METRICS_UP_REFUSED, METRICS_UP_ERROR, METRICS_NUP };

struct metrics_profile {
	const char	*name;		/* builder.conf's */
	long long	 jobs[JOB_NSTATES];
	long long	 hist[METRICS_NBUCKETS + 1];	/* not cumulative;
							   last: +Inf */
	long long	 sum;		/* s, of the built ones */
	long long	 finished[METRICS_NRESULTS];
};

/* A [worker NAME] section: the latest heartbeat of NAME and its NAME-N. */
struct metrics_worker {
	const char	*name;		/* builder.conf's */
	long long	 last_seen;	/* unix time */
};

struct metrics {
	struct metrics_profile *profiles;
	size_t		 nprofiles;
	struct metrics_worker *seen;	/* the sections heard from */
	size_t		 nseen;
	long long	 rebuilds[REBUILD_NSTATES];
	long long	 leases;
	long long	 uploads[METRICS_NUP];
	struct worker_row *workers;
	size_t		 nworkers;
	long long	 started;	/* unix time */
	const char	*version;
	struct metrics_release *releases;	/* the running ones */
	size_t		 nreleases;
	struct bf_penalty_stats auth;	/* wrong credentials, penalties */
};

/* A running release of the repository (store/release.h), as far as it got. */
struct metrics_release {
	char		 channel[130];
	unsigned long long id;
	int		 paused;
	size_t		 waves, waves_done, nodes, nodes_fetched;
};

/* Reads the metrics into `m` (metrics_release()), with b->mu held: 0, -1. */
int	metrics_collect(struct builder *b, struct metrics *m);
void	metrics_render(const struct metrics *m, struct bf_buf *out);
void	metrics_release(struct metrics *m);

/* db-metrics.c: every call with b->mu held; 0 or -1. */
/* Adds `n` to counter `name` (of `profile`, `label`: "" if none). */
int	db_counter_add(struct builder *b, const char *name,
	    const char *profile, const char *label, long long n);
/* Jobs by profile and state, of m->profiles (others are left out). */
int	db_metrics_jobs(struct builder *b, struct metrics *m);
/*
 * Built jobs' durations (finished - started), reused ones aside, into
 * m->profiles' hist over the upper bounds `le` (METRICS_NBUCKETS).
 */
int	db_metrics_durations(struct builder *b, struct metrics *m,
	    const long long *le);
/* The counters (db_counter_add()) and rebuilds by state. */
int	db_metrics_counters(struct builder *b, struct metrics *m);
int	db_metrics_rebuilds(struct builder *b, struct metrics *m);

struct MHD_Connection;

/* auth.c */
/* The client's address, for a log line. */
const char *auth_client_str(struct MHD_Connection *c, char *ab, size_t n);
/*
 * Penalties for wrong credentials (auth-failures, auth-penalty,
 * auth-exempt): the seconds the client's address is still refused for,
 * or 0; and a wrong credential from it (`what`: for the log line).
 */
unsigned auth_penalty_left(struct builder *b, struct MHD_Connection *c);
void	auth_penalty_fail(struct builder *b, struct MHD_Connection *c,
	    const char *what);

/* api.c */
/* GET .../jobs/N/log[?offset=O]: the log from O, its size and job state. */
int	api_send_log(struct builder *b, struct MHD_Connection *c, long long job);
int	api_init(struct builder *b, struct bf_err *e);
int	api_start(struct builder *b, struct bf_err *e);
void	api_stop(struct builder *b);

#endif
