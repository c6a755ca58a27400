/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A rebuild of a hw-profile, from request to queue:
 *
 *	pin (pin.c) -> fetch and plan (lib/portage/plan.c, unlocked)
 *	  -> the group DAG (lib/portage/groups.c) -> rows in the database
 *
 * Everything a rebuild needs is written in one transaction: the
 * rebuild, its runtime groups and their edges, its jobs (done at once
 * when the profile already has that build key) and each job's build
 * dependencies as groups.  The scheduler (sched.c) takes it from there.
 * The rows go through db-rebuilds.c and db-jobs.c; the texts recorded
 * for the workers (environment, pins, each job's plan entry) are made
 * by api-jobs.c.
 */
#include "config.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "portage/atom.h"
#include "portage/groups.h"
#include "portage/plan.h"
#include "portage/profile.h"
#include "portage/tree.h"
#include "builder.h"
#include "db-jobs.h"
#include "base/banned.h"

/* What a rebuild request gathers before it writes anything. */
struct rebuild_req {
	const char	*profile;
	const char	*by;
	struct bf_profile prof;
	int		 loaded;
	struct bf_pins	 pins;
	struct bf_tree	**trees;
	size_t		 ntrees;
	struct bf_plan	*plan;
	char		*env;		/* what its jobs are built with */
	char		*jtrees;	/* its pins */
	long long	 id;
	size_t		 njobs, nreused;
};

static int
dberr(struct builder *b, struct bf_err *e)
{
	return bf_err_set(e, EIO, "database: %s", db_errmsg(b));
}

/* BF_ECONFLICT when `profile` has a rebuild running or publishing. */
static int
rebuild_in_progress(struct builder *b, const char *profile, struct bf_err *e)
{
	long long id = 0;
	int r;

	if ((r = db_rebuild_open(b, profile, &id)) < 0)
		return dberr(b, e);
	if (r > 0)
		return bf_err_set(e, BF_ECONFLICT, "profile '%s' has a rebuild "
		    "in progress (rebuild %lld); cancel it first", profile, id);
	return 0;
}

/* Resolves the pins in the mirrors, opens the trees, plans. */
static int
fetch_and_plan(struct builder *b, struct rebuild_req *rb, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	int rc;

	rc = bf_pins_resolve(&rb->pins, b->cfg.mirrors, e);
	if (rc == 0 && (rb->trees = calloc(rb->pins.n,
	    sizeof(*rb->trees))) == NULL)
		rc = bf_err_nomem(e);
	for (; rc == 0 && rb->ntrees < rb->pins.n; rb->ntrees++) {
		const struct bf_pin *pn = &rb->pins.v[rb->ntrees];

		bf_buf_reset(&path);
		bf_tree_mirror_path(b->cfg.mirrors, pn->name, &path);
		if ((rc = bf_tree_open(&rb->trees[rb->ntrees], path.buf,
		    pn->commit, pn->name, e)) < 0)
			break;
	}
	if (rc == 0)
		rc = bf_plan_run(&rb->plan, &rb->prof, rb->trees, rb->ntrees, e);
	bf_buf_release(&path);
	return rc;
}

/*
 * Fetching and planning may take a while: they run without the
 * builder's lock, one rebuild at a time (plan_mu); a request that
 * waited for another of the same profile is refused once that one has
 * started (`busy`: not recorded as a failed rebuild).  Called and
 * returns with b->mu held.
 */
static int
plan_unlocked(struct builder *b, struct rebuild_req *rb, int *busy,
    struct bf_err *e)
{
	int rc;

	pthread_mutex_unlock(&b->mu);
	pthread_mutex_lock(&b->plan_mu);
	pthread_mutex_lock(&b->mu);
	rc = rebuild_in_progress(b, rb->profile, e);
	pthread_mutex_unlock(&b->mu);
	*busy = rc < 0;
	if (rc == 0)
		rc = fetch_and_plan(b, rb, e);
	pthread_mutex_unlock(&b->plan_mu);
	pthread_mutex_lock(&b->mu);
	return rc;
}

/* The rebuild's environment and pins, as the jobs and publishing see them. */
static int
describe(struct rebuild_req *rb, struct bf_err *e)
{
	int rc;

	if ((rc = api_rebuild_env(rb->profile, &rb->prof, rb->plan, &rb->env,
	    e)) < 0)
		return rc;
	if ((rb->jtrees = api_rebuild_trees(&rb->pins)) == NULL)
		return bf_err_nomem(e);
	return 0;
}

/*
 * The path of what is already built for the profile with each node's
 * build key (NULL: to build).
 */
static int
find_reused(struct builder *b, struct rebuild_req *rb, char **reused,
    struct bf_err *e)
{
	size_t i;

	for (i = 0; i < rb->njobs; i++) {
		if (db_built_path(b, rb->profile,
		    bf_plan_node(rb->plan, i)->key, &reused[i]) < 0)
			return dberr(b, e);
		if (reused[i] != NULL)
			rb->nreused++;
	}
	return 0;
}

/*
 * The groups' rows and edges.  A group waits for its jobs not done and
 * for the groups it needs that are not complete (lower numbers, so
 * already counted).
 */
static int
insert_groups(struct builder *b, struct rebuild_req *rb,
    const struct bf_groups *g, char **reused, size_t *gwait,
    long long *gids, struct bf_err *e)
{
	size_t i;

	for (i = 0; i < rb->njobs; i++)
		if (reused[i] == NULL)
			gwait[g->of[i]]++;
	/* Sorted by `from`, and every `to` is lower than its `from`. */
	for (i = 0; i < g->nedges; i++)
		if (gwait[g->edges[i].to] > 0)
			gwait[g->edges[i].from]++;
	for (i = 0; i < g->ngroups; i++)
		if (db_group_insert(b, rb->id, (long long)gwait[i],
		    &gids[i]) < 0)
			return dberr(b, e);
	for (i = 0; i < g->nedges; i++)
		if (db_gdep_insert(b, gids[g->edges[i].from],
		    gids[g->edges[i].to]) < 0)
			return dberr(b, e);
	return 0;
}

/* The groups of node i's build dependencies, each once, in `hard`. */
static size_t
hard_groups(const struct bf_plan_node *nd, const struct bf_groups *g,
    size_t *hard)
{
	size_t j, n = 0;

	for (j = 0; j < nd->nedges; j++)
		if (bf_dep_class_hard(nd->edges[j].cls))
			hard[n++] = g->of[nd->edges[j].to->order - 1];
	return bf_groups_uniq(hard, n);
}

/* One job's row and its build dependencies' groups. */
static int
insert_job(struct builder *b, struct rebuild_req *rb, size_t i,
    const char *reused, size_t *hard, const size_t *gwait,
    const long long *gids, const struct bf_groups *g)
{
	const struct bf_plan_node *nd = bf_plan_node(rb->plan, i);
	struct job_new jn;
	size_t nhard = 0, waiting = 0, j;
	long long id;
	char *spec;
	int rc;

	if (reused == NULL)
		nhard = hard_groups(nd, g, hard);
	for (j = 0; j < nhard; j++)
		waiting += gwait[hard[j]] > 0;
	if ((spec = api_job_spec(&rb->prof, nd)) == NULL)
		return -1;
	memset(&jn, 0, sizeof(jn));
	jn.rebuild = rb->id;
	jn.profile = rb->profile;
	jn.cpv = nd->cpvstr;
	jn.key = nd->key;
	jn.spec = spec;
	jn.ord = (long long)nd->order;
	jn.state = reused ? JOB_DONE : waiting > 0 ? JOB_WAITING : JOB_READY;
	jn.waiting = (long long)waiting;
	jn.reused = reused;
	jn.now = now_s();
	jn.grp = gids[g->of[i]];
	rc = db_job_insert(b, &jn, &id);
	free(spec);
	for (j = 0; rc == 0 && j < nhard; j++)
		rc = db_dep_insert(b, id, gids[hard[j]]);
	return rc;
}

static int
insert_jobs(struct builder *b, struct rebuild_req *rb, struct bf_err *e)
{
	struct bf_graph gr = BF_GRAPH_INIT;
	struct bf_groups g = BF_GROUPS_INIT;
	size_t i, n = rb->njobs, maxe = 0, *gwait = NULL, *hard = NULL;
	long long *gids = NULL;
	char **reused;
	int rc;

	for (i = 0; i < n; i++)
		if (bf_plan_node(rb->plan, i)->nedges > maxe)
			maxe = bf_plan_node(rb->plan, i)->nedges;
	if ((reused = calloc(n + 1, sizeof(*reused))) == NULL ||
	    bf_plan_runtime_graph(rb->plan, &gr) < 0 ||
	    bf_groups_compute(&gr, &g) < 0 ||
	    (gwait = calloc(g.ngroups + 1, sizeof(*gwait))) == NULL ||
	    (gids = calloc(g.ngroups + 1, sizeof(*gids))) == NULL ||
	    (hard = calloc(maxe + 1, sizeof(*hard))) == NULL) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = find_reused(b, rb, reused, e)) < 0 ||
	    (rc = insert_groups(b, rb, &g, reused, gwait, gids, e)) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (insert_job(b, rb, i, reused[i], hard, gwait, gids, &g) < 0) {
			rc = dberr(b, e);
			break;
		}
out:
	for (i = 0; reused != NULL && i < n; i++)
		free(reused[i]);
	free(reused);
	free(gwait);
	free(gids);
	free(hard);
	bf_groups_release(&g);
	bf_graph_release(&gr);
	return rc;
}

/* The rebuild's rows, in one transaction. */
static int
store(struct builder *b, struct rebuild_req *rb, struct bf_err *e)
{
	int rc;

	if (db_begin(b) < 0)
		return dberr(b, e);
	rb->njobs = bf_plan_count(rb->plan);
	if (db_rebuild_insert(b, rb->profile, rb->env, rb->jtrees, rb->by,
	    now_s(), &rb->id) < 0) {
		rc = dberr(b, e);
		db_rollback(b);
		return rc;
	}
	if ((rc = insert_jobs(b, rb, e)) < 0) {
		db_rollback(b);
		return rc;
	}
	if (db_commit(b) < 0) {
		rc = dberr(b, e);
		db_rollback(b);
	}
	return rc;
}

static void
rebuild_req_release(struct rebuild_req *rb)
{
	size_t i;

	free(rb->env);
	free(rb->jtrees);
	bf_plan_free(rb->plan);
	for (i = 0; i < rb->ntrees; i++)
		bf_tree_close(rb->trees[i]);
	free(rb->trees);
	if (rb->loaded)
		bf_profile_release(&rb->prof);
	bf_pins_release(&rb->pins);
#ifdef __GLIBC__
	/*
	 * Give the plan's memory back: every gpg that signing forks at
	 * publication copies the page tables of what the builder maps.
	 */
	malloc_trim(0);
#endif
}

/* A request that could not start: logged, and recorded for status. */
static void
refuse(struct builder *b, const char *profile, const char *by,
    const char *msg)
{
	log_warnx("rebuild of %s by %s refused: %s", profile, by, msg);
	db_rebuild_refuse(b, profile, by, msg, now_s());
}

/* The rebuild queued: what the request is answered with. */
static int
started(struct rebuild_req *rb, struct rebuild_started *out)
{
	out->id = rb->id;
	out->njobs = rb->njobs;
	out->nreused = rb->nreused;
	out->trees = rb->jtrees;
	rb->jtrees = NULL;
	log_info("rebuild %lld of %s by %s: %zu packages, %zu to build, "
	    "%zu already built", rb->id, rb->profile, rb->by, rb->njobs,
	    rb->njobs - rb->nreused, rb->nreused);
	return 0;
}

int
sched_rebuild(struct builder *b, const char *profile, const char *commit,
    const char *by, struct rebuild_started *out, struct bf_err *e)
{
	const struct bcfg_profile *cp = bcfg_profile(&b->cfg, profile);
	struct rebuild_req rb;
	int rc, busy = 0;

	memset(out, 0, sizeof(*out));
	if (cp == NULL)
		return bf_err_set(e, BF_ENOTFOUND, "no profile '%s' in %s",
		    profile, b->cfg.file);
	if ((rc = rebuild_in_progress(b, profile, e)) < 0)
		return rc;
	memset(&rb, 0, sizeof(rb));
	rb.profile = profile;
	rb.by = by;
	rb.pins = (struct bf_pins)BF_PINS_INIT;
	if ((rc = bf_profile_load(&rb.prof, cp->dir, e)) < 0)
		goto refused;
	rb.loaded = 1;
	if ((rc = rebuild_pins(b, profile, &rb.prof, commit, &rb.pins, e)) < 0 ||
	    (rc = plan_unlocked(b, &rb, &busy, e)) < 0)
		goto refused;
	/* Another request may have started one while the lock was down. */
	if ((rc = rebuild_in_progress(b, profile, e)) < 0 ||
	    (rc = describe(&rb, e)) < 0 || (rc = store(b, &rb, e)) < 0)
		goto out;
	started(&rb, out);
	sched_check_rebuild(b, rb.id);
	goto out;
refused:
	if (!busy)
		refuse(b, profile, by, bf_err_msg(e, rc));
out:
	rebuild_req_release(&rb);
	return rc;
}

void
rebuild_started_release(struct rebuild_started *s)
{
	free(s->trees);
	memset(s, 0, sizeof(*s));
}
