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
#include "base/banned.h"

/* What a rebuild request gathers before it writes anything. */
struct rebuild {
	const char	*profile;
	const char	*by;
	struct bf_profile prof;
	int		 loaded;
	struct bf_pins	 pins;
	struct bf_tree	**trees;
	size_t		 ntrees;
	struct bf_plan	*plan;
	json_t		*env, *jtrees;
	long long	 id;
	size_t		 njobs, nreused;
};

static json_t *
strv_json(const struct bf_strv *sv)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

/*
 * PKGUSE, as Portage's config.setcpv() takes it from /etc/portage: the
 * words of the hw-profile's package.use lines that match the package,
 * in the order of the file (Portage orders several matching atoms by
 * their specificity, least specific first).
 */
static json_t *
pkguse_json(const struct bf_profile *p, const struct bf_plan_node *nd)
{
	json_t *a = json_array();
	size_t i, j;

	for (i = 0; i < p->package_use.n; i++) {
		const struct bf_pkgent *pe = &p->package_use.v[i];

		if (!bf_atom_match(&pe->atom, &nd->cpv, nd->slot, nd->subslot,
		    nd->repo))
			continue;
		for (j = 0; j < pe->words.n; j++)
			json_array_append_new(a, json_string(pe->words.v[j]));
	}
	return a;
}

static const char *
mk(const struct bf_profile *p, const char *k)
{
	const char *v = bf_conf_get(&p->make, k);

	return v ? v : "";
}

/* The Packages header keys for the plan's configuration (lib/portage/plan.h). */
static json_t *
index_header(const struct bf_plan *plan, struct bf_err *e)
{
	struct bf_conf hdr = BF_CONF_INIT;
	json_t *o = NULL;
	size_t i;

	if (bf_plan_index_header(plan, &hdr, e) == 0 &&
	    (o = json_object()) != NULL)
		for (i = 0; i < hdr.n; i++)
			json_object_set_new(o, hdr.v[i].key,
			    json_string(hdr.v[i].val));
	bf_conf_release(&hdr);
	return o;
}

/* Records a rebuild that could not start, so that status shows why. */
static void
rebuild_error(struct builder *b, const char *profile, const char *by,
    const char *msg)
{
	sqlite3_stmt *st = db_prep(b, "INSERT INTO rebuilds(profile, state, "
	    "env, trees, by, created, finished, error) VALUES (?, 'error', "
	    "'{}', '[]', ?, ?, ?, ?)");

	if (st == NULL)
		return;
	db_bind_text(st, 1, profile);
	db_bind_text(st, 2, by);
	sqlite3_bind_int64(st, 3, now_s());
	sqlite3_bind_int64(st, 4, now_s());
	db_bind_text(st, 5, msg);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* BF_ECONFLICT when `profile` has a rebuild running or publishing. */
static int
rebuild_in_progress(struct builder *b, const char *profile, struct bf_err *e)
{
	sqlite3_stmt *st;
	int rc = 0;

	st = db_prep(b, "SELECT id FROM rebuilds WHERE state IN "
	    "('running', 'publishing') AND profile=?");
	if (st == NULL)
		return bf_err_set(e, EIO, "database: %s", sqlite3_errmsg(b->db));
	db_bind_text(st, 1, profile);
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = bf_err_set(e, BF_ECONFLICT, "profile '%s' has a rebuild "
		    "in progress (rebuild %lld); cancel it first", profile,
		    sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	return rc;
}

/* Resolves the pins in the mirrors, opens the trees, plans. */
static int
fetch_and_plan(struct builder *b, struct rebuild *rb, struct bf_err *e)
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
plan_unlocked(struct builder *b, struct rebuild *rb, int *busy,
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
describe(struct rebuild *rb, struct bf_err *e)
{
	const struct bf_profile *p = &rb->prof;
	struct bf_strv feat = BF_STRV_INIT, implicit = BF_STRV_INIT;
	json_t *hdr;
	size_t i;
	int rc;

	rb->env = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s}", "profile", rb->profile, "chost", p->chost, "cflags",
	    p->cflags, "cxxflags", p->cxxflags, "ldflags", p->ldflags,
	    "features", mk(p, "FEATURES"), "makeopts", mk(p, "MAKEOPTS"),
	    "distcc_hosts", mk(p, "DISTCC_HOSTS"),
	    "arch", p->arch ? p->arch : "",
	    "portage_profile", p->portage_profile ? p->portage_profile : "");
	if (rb->env == NULL || (hdr = index_header(rb->plan, e)) == NULL)
		return bf_err_nomem(e);
	json_object_set_new(rb->env, "index_header", hdr);
	/*
	 * What the sandbox driver writes as Portage does: FEATURES stacked
	 * over the Portage profile and make.conf, and the flags implicitly
	 * in every package's IUSE_EFFECTIVE.
	 */
	if ((rc = bf_plan_incremental(rb->plan, "FEATURES", &feat, e)) < 0 ||
	    (rc = bf_plan_iuse_implicit(rb->plan, &implicit, e)) < 0)
		goto out;
	json_object_set_new(rb->env, "features", strv_json(&feat));
	json_object_set_new(rb->env, "iuse_implicit", strv_json(&implicit));
	rb->jtrees = json_array();
	for (i = 0; i < rb->pins.n; i++)
		json_array_append_new(rb->jtrees, json_pack("{s:s, s:s, s:s, "
		    "s:s}", "name", rb->pins.v[i].name, "uri",
		    rb->pins.v[i].uri, "ref", rb->pins.v[i].ref, "commit",
		    rb->pins.v[i].commit));
	rc = 0;
out:
	bf_strv_release(&feat);
	bf_strv_release(&implicit);
	return rc;
}

static int
dberr(struct builder *b, struct bf_err *e)
{
	return bf_err_set(e, EIO, "database: %s", sqlite3_errmsg(b->db));
}

static int
insert_rebuild(struct builder *b, struct rebuild *rb, struct bf_err *e)
{
	sqlite3_stmt *st;
	char *s;
	int ok;

	st = db_prep(b, "INSERT INTO rebuilds(profile, state, env, trees, by, "
	    "created) VALUES (?, 'running', ?, ?, ?, ?)");
	if (st == NULL)
		return dberr(b, e);
	db_bind_text(st, 1, rb->profile);
	s = json_dumps(rb->env, JSON_COMPACT);
	db_bind_text(st, 2, s);
	free(s);
	s = json_dumps(rb->jtrees, JSON_COMPACT);
	db_bind_text(st, 3, s);
	free(s);
	db_bind_text(st, 4, rb->by);
	sqlite3_bind_int64(st, 5, now_s());
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!ok)
		return dberr(b, e);
	rb->id = sqlite3_last_insert_rowid(b->db);
	return 0;
}

/*
 * The path of what is already built for the profile with each node's
 * build key (NULL: to build).
 */
static int
find_reused(struct builder *b, struct rebuild *rb, char **reused,
    struct bf_err *e)
{
	sqlite3_stmt *st;
	size_t i;
	int rc = 0;

	st = db_prep(b, "SELECT path FROM built WHERE profile=? AND key=?");
	if (st == NULL)
		return dberr(b, e);
	for (i = 0; i < rb->njobs && rc == 0; i++) {
		sqlite3_reset(st);
		db_bind_text(st, 1, rb->profile);
		db_bind_text(st, 2, bf_plan_node(rb->plan, i)->key);
		if (sqlite3_step(st) == SQLITE_ROW && (reused[i] = strdup(
		    (const char *)sqlite3_column_text(st, 0))) == NULL)
			rc = bf_err_nomem(e);
		if (reused[i] != NULL)
			rb->nreused++;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * The groups' rows and edges.  A group waits for its jobs not done and
 * for the groups it needs that are not complete (lower numbers, so
 * already counted).
 */
static int
insert_groups(struct builder *b, struct rebuild *rb,
    const struct bf_groups *g, char **reused, size_t *gwait,
    long long *gids, struct bf_err *e)
{
	sqlite3_stmt *st;
	size_t i;

	for (i = 0; i < rb->njobs; i++)
		if (reused[i] == NULL)
			gwait[g->of[i]]++;
	/* Sorted by `from`, and every `to` is lower than its `from`. */
	for (i = 0; i < g->nedges; i++)
		if (gwait[g->edges[i].to] > 0)
			gwait[g->edges[i].from]++;
	if ((st = db_prep(b, "INSERT INTO groups(rebuild, waiting) VALUES "
	    "(?, ?)")) == NULL)
		return dberr(b, e);
	for (i = 0; i < g->ngroups; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, rb->id);
		sqlite3_bind_int64(st, 2, (long long)gwait[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			break;
		gids[i] = sqlite3_last_insert_rowid(b->db);
	}
	sqlite3_finalize(st);
	if (i < g->ngroups ||
	    (st = db_prep(b, "INSERT INTO gdeps(grp, dep) VALUES (?, ?)")) ==
	    NULL)
		return dberr(b, e);
	for (i = 0; i < g->nedges; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, gids[g->edges[i].from]);
		sqlite3_bind_int64(st, 2, gids[g->edges[i].to]);
		if (sqlite3_step(st) != SQLITE_DONE)
			break;
	}
	sqlite3_finalize(st);
	return i < g->nedges ? dberr(b, e) : 0;
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

static char *
job_spec(const struct bf_profile *p, const struct bf_plan_node *nd)
{
	json_t *spec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
	    "cpv", nd->cpvstr, "repo", nd->repo, "slot", nd->slot,
	    "subslot", nd->subslot, "key", nd->key,
	    "use", strv_json(&nd->use), "iuse", strv_json(&nd->iuse),
	    "pkguse", pkguse_json(p, nd));
	char *s = json_dumps(spec, JSON_COMPACT);

	json_decref(spec);
	return s;
}

/* One job's row and its build dependencies' groups. */
static int
insert_job(struct builder *b, struct rebuild *rb, sqlite3_stmt *st,
    sqlite3_stmt *dst, size_t i, const char *reused, size_t *hard,
    const size_t *gwait, const long long *gids, const struct bf_groups *g)
{
	const struct bf_plan_node *nd = bf_plan_node(rb->plan, i);
	size_t nhard = 0, waiting = 0, j;
	long long id;
	char *s;

	if (reused == NULL)
		nhard = hard_groups(nd, g, hard);
	for (j = 0; j < nhard; j++)
		waiting += gwait[hard[j]] > 0;
	s = job_spec(&rb->prof, nd);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_int64(st, 1, rb->id);
	db_bind_text(st, 2, rb->profile);
	db_bind_text(st, 3, nd->cpvstr);
	db_bind_text(st, 4, nd->key);
	db_bind_text(st, 5, s);
	free(s);
	sqlite3_bind_int64(st, 6, (long long)nd->order);
	db_bind_text(st, 7, job_state_name(reused ? JOB_DONE : waiting > 0 ?
	    JOB_WAITING : JOB_READY));
	sqlite3_bind_int64(st, 8, (long long)waiting);
	sqlite3_bind_int(st, 9, reused != NULL);
	if (reused) {
		db_bind_text(st, 10, reused);
		sqlite3_bind_int64(st, 11, now_s());
	}
	sqlite3_bind_int64(st, 12, gids[g->of[i]]);
	if (sqlite3_step(st) != SQLITE_DONE)
		return -1;
	id = sqlite3_last_insert_rowid(b->db);
	for (j = 0; j < nhard; j++) {
		sqlite3_reset(dst);
		sqlite3_bind_int64(dst, 1, id);
		sqlite3_bind_int64(dst, 2, gids[hard[j]]);
		if (sqlite3_step(dst) != SQLITE_DONE)
			return -1;
	}
	return 0;
}

static int
insert_jobs(struct builder *b, struct rebuild *rb, struct bf_err *e)
{
	struct bf_graph gr = BF_GRAPH_INIT;
	struct bf_groups g = BF_GROUPS_INIT;
	sqlite3_stmt *st = NULL, *dst = NULL;
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
	st = db_prep(b, "INSERT INTO jobs(rebuild, profile, cpv, key, spec, "
	    "ord, state, waiting, reused, path, finished, grp) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	dst = db_prep(b, "INSERT INTO deps(job, dep) VALUES (?, ?)");
	for (i = 0; st != NULL && dst != NULL && i < n; i++)
		if (insert_job(b, rb, st, dst, i, reused[i], hard, gwait, gids,
		    &g) < 0)
			break;
	if (st == NULL || dst == NULL || i < n)
		rc = dberr(b, e);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(dst);
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
store(struct builder *b, struct rebuild *rb, struct bf_err *e)
{
	int rc;

	if (db_begin(b) < 0)
		return dberr(b, e);
	rb->njobs = bf_plan_count(rb->plan);
	if ((rc = insert_rebuild(b, rb, e)) < 0 ||
	    (rc = insert_jobs(b, rb, e)) < 0) {
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
rebuild_release(struct rebuild *rb)
{
	size_t i;

	json_decref(rb->env);
	json_decref(rb->jtrees);
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

int
sched_rebuild(struct builder *b, const char *profile, const char *commit,
    const char *by, json_t **out, struct bf_err *e)
{
	const struct bcfg_profile *cp = bcfg_profile(&b->cfg, profile);
	struct rebuild rb;
	int rc, busy = 0;

	*out = NULL;
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
	*out = json_pack("{s:I, s:s, s:I, s:I, s:I, s:O}", "rebuild",
	    (json_int_t)rb.id, "profile", profile, "jobs",
	    (json_int_t)rb.njobs, "to_build",
	    (json_int_t)(rb.njobs - rb.nreused), "reused",
	    (json_int_t)rb.nreused, "trees", rb.jtrees);
	log_info("rebuild %lld of %s by %s: %zu packages, %zu to build, "
	    "%zu already built", rb.id, profile, by, rb.njobs,
	    rb.njobs - rb.nreused, rb.nreused);
	sched_check_rebuild(b, rb.id);
	goto out;
refused:
	if (busy)
		goto out;
	log_warnx("rebuild of %s by %s refused: %s", profile, by,
	    bf_err_msg(e, rc));
	rebuild_error(b, profile, by, bf_err_msg(e, rc));
out:
	rebuild_release(&rb);
	return rc;
}
