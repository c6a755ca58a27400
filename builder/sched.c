/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scheduling (xbps-fbulk's item states, kept in SQLite):
 *
 *	waiting -> ready -> running -> done
 *	                       |  \--> ready (retry after backoff)
 *	                       \-----> failed -> dependents blocked
 *	any open state -> cancelled (dependents blocked)
 *
 * A job is ready when every job it is built after (the planner's
 * "after" set: its build dependencies and their runtime closure) is
 * done.  A package whose build key is already built for the profile is
 * done at once, reusing the built file.  When no job of a rebuild is
 * open, the rebuild is complete (every job done: a testing snapshot is
 * cut) or failed (testing stays where it was).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "plan.h"
#include "profile.h"
#include "tree.h"
#include "builder.h"
#include "banned.h"

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

/* The Packages header keys for the plan's configuration (lib/plan.h). */
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

static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
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
	bind_text(st, 1, profile);
	bind_text(st, 2, by);
	sqlite3_bind_int64(st, 3, now_s());
	sqlite3_bind_int64(st, 4, now_s());
	bind_text(st, 5, msg);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/*
 * The runtime groups of a plan: the strongly connected components of
 * its RDEPEND/IDEPEND graph (Tarjan, iteratively), numbered in the
 * order Tarjan finds them, so that every group a group runtime-depends
 * on has a lower number.  of[i] is the group of the plan's node i.
 */
static int
runtime_groups(const struct bf_plan *plan, size_t n, size_t *of,
    size_t *ngroups)
{
	struct frame { size_t v, e; } *fr = NULL;
	size_t *idx = NULL, *low = NULL, *stk = NULL, nfr = 0, nstk = 0;
	size_t next = 1, ng = 0, s, i;
	char *on = NULL;
	int rc = -ENOMEM;

	/* idx[v] == 0: not yet visited. */
	if ((idx = calloc(n + 1, sizeof(*idx))) == NULL ||
	    (low = calloc(n + 1, sizeof(*low))) == NULL ||
	    (stk = calloc(n + 1, sizeof(*stk))) == NULL ||
	    (fr = calloc(n + 1, sizeof(*fr))) == NULL ||
	    (on = calloc(n + 1, 1)) == NULL)
		goto out;
	for (s = 0; s < n; s++) {
		if (idx[s] != 0)
			continue;
		idx[s] = low[s] = next++;
		stk[nstk++] = s;
		on[s] = 1;
		fr[nfr].v = s;
		fr[nfr++].e = 0;
		while (nfr > 0) {
			struct frame *f = &fr[nfr - 1];
			const struct bf_plan_node *nd = bf_plan_node(plan, f->v);
			size_t v = f->v, w = n;

			while (f->e < nd->nedges && w == n) {
				const struct bf_plan_edge *ed = &nd->edges[f->e++];

				if (bf_dep_class_runtime(ed->cls) &&
				    ed->to->order >= 1 && ed->to->order <= n)
					w = ed->to->order - 1;
			}
			if (w < n) {
				if (idx[w] == 0) {
					idx[w] = low[w] = next++;
					stk[nstk++] = w;
					on[w] = 1;
					fr[nfr].v = w;
					fr[nfr++].e = 0;
				} else if (on[w] && idx[w] < low[v])
					low[v] = idx[w];
				continue;
			}
			nfr--;
			if (low[v] == idx[v]) {
				do {
					i = stk[--nstk];
					on[i] = 0;
					of[i] = ng;
				} while (i != v);
				ng++;
			}
			if (nfr > 0 && low[v] < low[fr[nfr - 1].v])
				low[fr[nfr - 1].v] = low[v];
		}
	}
	*ngroups = ng;
	rc = 0;
out:
	free(idx);
	free(low);
	free(stk);
	free(fr);
	free(on);
	return rc;
}

struct gedge {
	size_t	from, to;
};

static int
gedge_cmp(const void *a, const void *b)
{
	const struct gedge *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

static int
size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
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
	bind_text(st, 1, profile);
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = bf_err_set(e, BF_ECONFLICT, "profile '%s' has a rebuild "
		    "in progress (rebuild %lld); cancel it first", profile,
		    sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	return rc;
}

int
sched_rebuild(struct builder *b, const char *profile, const char *commit,
    const char *by, json_t **out, struct bf_err *e)
{
	const struct bcfg_profile *cp = bcfg_profile(&b->cfg, profile);
	struct bf_pins pins = BF_PINS_INIT;
	struct bf_buf path = BF_BUF_INIT;
	struct bf_strv feat = BF_STRV_INIT, implicit = BF_STRV_INIT;
	struct bf_profile prof;
	struct bf_tree **trees = NULL;
	struct bf_plan *plan = NULL;
	sqlite3_stmt *st = NULL, *dst = NULL, *bst = NULL;
	json_t *env = NULL, *jtrees = NULL, *spec, *hdr;
	long long rid = 0, *ids = NULL, *gids = NULL;
	size_t i, j, n = 0, ntrees = 0, nreused = 0, ng = 0, nge = 0;
	size_t *grp = NULL;
	size_t *gwait = NULL, *hard = NULL;
	struct gedge *ge = NULL;
	char **reused = NULL;
	int rc, loaded = 0, intx = 0;
	char *s;

	*out = NULL;
	if (cp == NULL)
		return bf_err_set(e, BF_ENOTFOUND, "no profile '%s' in %s",
		    profile, b->cfg.file);
	if ((rc = rebuild_in_progress(b, profile, e)) < 0)
		return rc;
	if ((rc = bf_profile_load(&prof, cp->dir, e)) < 0)
		goto fail;
	loaded = 1;
	for (i = 0; i < prof.nrepos; i++) {
		const struct bf_repospec *r = &prof.repos[i];
		const char *uri = r->uri, *ref = r->ref;

		for (j = 0; j < b->cfg.nrepos; j++)
			if (strcmp(b->cfg.repos[j].name, r->name) == 0) {
				uri = b->cfg.repos[j].uri;
				if (b->cfg.repos[j].ref != NULL)
					ref = b->cfg.repos[j].ref;
			}
		if ((rc = bf_pins_add(&pins, r->name, uri, ref, NULL, e)) < 0)
			goto fail;
	}
	if (pins.n == 0)
		for (j = 0; j < b->cfg.nrepos; j++)
			if ((rc = bf_pins_add(&pins, b->cfg.repos[j].name,
			    b->cfg.repos[j].uri, b->cfg.repos[j].ref ?
			    b->cfg.repos[j].ref : "HEAD", NULL, e)) < 0)
				goto fail;
	if (pins.n == 0) {
		rc = bf_err_set(e, BF_ECONFIG, "profile '%s' names no ebuild "
		    "repository ([repo NAME] in profile.conf or %s)", profile,
		    b->cfg.file);
		goto fail;
	}
	if (commit != NULL && *commit != '\0') {
		const char *eq = strchr(commit, '=');
		struct bf_pin *pn = &pins.v[0];

		if (eq != NULL) {
			pn = NULL;
			for (i = 0; i < pins.n; i++)
				if (strlen(pins.v[i].name) == (size_t)(eq - commit)
				    && strncmp(pins.v[i].name, commit,
				    (size_t)(eq - commit)) == 0)
					pn = &pins.v[i];
			if (pn == NULL) {
				rc = bf_err_set(e, BF_EUSAGE, "commit '%s': "
				    "profile '%s' has no repository of that "
				    "name", commit, profile);
				goto fail;
			}
			commit = eq + 1;
		}
		free(pn->ref);
		if ((pn->ref = strdup(commit)) == NULL) {
			rc = bf_err_set(e, ENOMEM, "out of memory");
			goto fail;
		}
	}
	/*
	 * Fetch and plan without the lock (it may take a while), one
	 * rebuild at a time; a request that waited here for another of
	 * the same profile is refused once that one has started.
	 */
	pthread_mutex_unlock(&b->mu);
	pthread_mutex_lock(&b->plan_mu);
	pthread_mutex_lock(&b->mu);
	rc = rebuild_in_progress(b, profile, e);
	pthread_mutex_unlock(&b->mu);
	if (rc < 0) {
		pthread_mutex_unlock(&b->plan_mu);
		pthread_mutex_lock(&b->mu);
		goto out;
	}
	rc = bf_pins_resolve(&pins, b->cfg.mirrors, e);
	if (rc == 0 && (trees = calloc(pins.n, sizeof(*trees))) == NULL)
		rc = bf_err_set(e, ENOMEM, "out of memory");
	for (; rc == 0 && ntrees < pins.n; ntrees++) {
		bf_buf_reset(&path);
		bf_tree_mirror_path(b->cfg.mirrors, pins.v[ntrees].name, &path);
		if ((rc = bf_tree_open(&trees[ntrees], path.buf,
		    pins.v[ntrees].commit, pins.v[ntrees].name, e)) < 0)
			break;
	}
	if (rc == 0)
		rc = bf_plan_run(&plan, &prof, trees, ntrees, e);
	pthread_mutex_unlock(&b->plan_mu);
	pthread_mutex_lock(&b->mu);
	if (rc < 0)
		goto fail;
	/* Another request may have started one while the lock was down. */
	if ((rc = rebuild_in_progress(b, profile, e)) < 0)
		goto out;

	env = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "profile", profile, "chost", prof.chost, "cflags", prof.cflags,
	    "cxxflags", prof.cxxflags, "ldflags", prof.ldflags,
	    "features", mk(&prof, "FEATURES"), "makeopts", mk(&prof, "MAKEOPTS"),
	    "distcc_hosts", mk(&prof, "DISTCC_HOSTS"),
	    "arch", prof.arch ? prof.arch : "",
	    "portage_profile", prof.portage_profile ? prof.portage_profile : "");
	if ((hdr = index_header(plan, e)) == NULL) {
		rc = bf_err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	json_object_set_new(env, "index_header", hdr);
	/*
	 * What the sandbox driver writes as Portage does: FEATURES stacked
	 * over the Portage profile and make.conf, and the flags implicitly
	 * in every package's IUSE_EFFECTIVE.
	 */
	if ((rc = bf_plan_incremental(plan, "FEATURES", &feat, e)) < 0 ||
	    (rc = bf_plan_iuse_implicit(plan, &implicit, e)) < 0)
		goto out;
	json_object_set_new(env, "features", strv_json(&feat));
	json_object_set_new(env, "iuse_implicit", strv_json(&implicit));
	jtrees = json_array();
	for (i = 0; i < pins.n; i++)
		json_array_append_new(jtrees, json_pack("{s:s, s:s, s:s, s:s}",
		    "name", pins.v[i].name, "uri", pins.v[i].uri, "ref",
		    pins.v[i].ref, "commit", pins.v[i].commit));
	if (db_begin(b) < 0) {
		rc = bf_err_set(e, EIO, "database: %s", sqlite3_errmsg(b->db));
		goto out;
	}
	intx = 1;
	st = db_prep(b, "INSERT INTO rebuilds(profile, state, env, trees, by, "
	    "created) VALUES (?, 'running', ?, ?, ?, ?)");
	s = json_dumps(env, JSON_COMPACT);
	bind_text(st, 1, profile);
	bind_text(st, 2, s);
	free(s);
	s = json_dumps(jtrees, JSON_COMPACT);
	bind_text(st, 3, s);
	free(s);
	bind_text(st, 4, by);
	sqlite3_bind_int64(st, 5, now_s());
	if (sqlite3_step(st) != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	rid = sqlite3_last_insert_rowid(b->db);

	n = bf_plan_count(plan);
	if ((ids = calloc(n + 1, sizeof(*ids))) == NULL ||
	    (grp = calloc(n + 1, sizeof(*grp))) == NULL ||
	    (reused = calloc(n + 1, sizeof(*reused))) == NULL ||
	    runtime_groups(plan, n, grp, &ng) < 0 ||
	    (gwait = calloc(ng + 1, sizeof(*gwait))) == NULL ||
	    (gids = calloc(ng + 1, sizeof(*gids))) == NULL) {
		rc = bf_err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	/* What is already built for the profile is done at once. */
	bst = db_prep(b, "SELECT path FROM built WHERE profile=? AND key=?");
	if (bst == NULL)
		goto dberr;
	for (i = 0; i < n; i++) {
		const struct bf_plan_node *nd = bf_plan_node(plan, i);

		sqlite3_reset(bst);
		bind_text(bst, 1, profile);
		bind_text(bst, 2, nd->key);
		if (sqlite3_step(bst) == SQLITE_ROW && (reused[i] = strdup(
		    (const char *)sqlite3_column_text(bst, 0))) == NULL) {
			rc = bf_err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		if (reused[i] == NULL)
			gwait[grp[i]]++;
		else
			nreused++;
		for (j = 0; j < nd->nedges; j++)
			if (bf_dep_class_runtime(nd->edges[j].cls))
				nge++;
	}
	/*
	 * Group edges, deduplicated; then what each group waits for: its
	 * jobs not done and the groups it needs that are not installable
	 * (lower numbers, so already counted).
	 */
	if ((ge = calloc(nge + 1, sizeof(*ge))) == NULL) {
		rc = bf_err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	nge = 0;
	for (i = 0; i < n; i++) {
		const struct bf_plan_node *nd = bf_plan_node(plan, i);

		for (j = 0; j < nd->nedges; j++) {
			size_t k = nd->edges[j].to->order - 1;

			if (bf_dep_class_runtime(nd->edges[j].cls) &&
			    grp[k] != grp[i]) {
				ge[nge].from = grp[i];
				ge[nge++].to = grp[k];
			}
		}
	}
	qsort(ge, nge, sizeof(*ge), gedge_cmp);
	for (i = 0, j = 0; i < nge; i++)
		if (j == 0 || gedge_cmp(&ge[i], &ge[j - 1]) != 0)
			ge[j++] = ge[i];
	nge = j;
	/* Sorted by `from`, and every `to` is lower than its `from`. */
	for (i = 0; i < nge; i++)
		if (gwait[ge[i].to] > 0)
			gwait[ge[i].from]++;

	st = db_prep(b, "INSERT INTO groups(rebuild, waiting) VALUES (?, ?)");
	if (st == NULL)
		goto dberr;
	for (i = 0; i < ng; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, rid);
		sqlite3_bind_int64(st, 2, (long long)gwait[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto dberr;
		gids[i] = sqlite3_last_insert_rowid(b->db);
	}
	sqlite3_finalize(st);
	st = db_prep(b, "INSERT INTO gdeps(grp, dep) VALUES (?, ?)");
	if (st == NULL)
		goto dberr;
	for (i = 0; i < nge; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, gids[ge[i].from]);
		sqlite3_bind_int64(st, 2, gids[ge[i].to]);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto dberr;
	}
	sqlite3_finalize(st);

	st = db_prep(b, "INSERT INTO jobs(rebuild, profile, cpv, key, spec, "
	    "ord, state, waiting, reused, path, finished, grp) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	dst = db_prep(b, "INSERT INTO deps(job, dep) VALUES (?, ?)");
	if (st == NULL || dst == NULL)
		goto dberr;
	for (i = 0; i < n; i++) {
		const struct bf_plan_node *nd = bf_plan_node(plan, i);
		size_t nhard = 0, waiting = 0, k;
		void *p;

		/* The groups of its build dependencies, each once. */
		if (reused[i] == NULL && nd->nedges > 0) {
			if ((p = realloc(hard, nd->nedges * sizeof(*hard))) ==
			    NULL) {
				rc = bf_err_set(e, ENOMEM, "out of memory");
				goto out;
			}
			hard = p;
			for (j = 0; j < nd->nedges; j++)
				if (bf_dep_class_hard(nd->edges[j].cls))
					hard[nhard++] =
					    grp[nd->edges[j].to->order - 1];
			qsort(hard, nhard, sizeof(*hard), size_cmp);
			for (j = 0, k = 0; j < nhard; j++)
				if (k == 0 || hard[j] != hard[k - 1])
					hard[k++] = hard[j];
			nhard = k;
			for (j = 0; j < nhard; j++)
				waiting += gwait[hard[j]] > 0;
		}
		spec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
		    "cpv", nd->cpvstr, "repo", nd->repo, "slot", nd->slot,
		    "subslot", nd->subslot, "key", nd->key,
		    "use", strv_json(&nd->use), "iuse", strv_json(&nd->iuse));
		json_object_set_new(spec, "pkguse", pkguse_json(&prof, nd));
		s = json_dumps(spec, JSON_COMPACT);
		json_decref(spec);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		sqlite3_bind_int64(st, 1, rid);
		bind_text(st, 2, profile);
		bind_text(st, 3, nd->cpvstr);
		bind_text(st, 4, nd->key);
		bind_text(st, 5, s);
		free(s);
		sqlite3_bind_int64(st, 6, (long long)nd->order);
		bind_text(st, 7, reused[i] ? JS_DONE : waiting > 0 ?
		    JS_WAITING : JS_READY);
		sqlite3_bind_int64(st, 8, (long long)waiting);
		sqlite3_bind_int(st, 9, reused[i] != NULL);
		if (reused[i]) {
			bind_text(st, 10, reused[i]);
			sqlite3_bind_int64(st, 11, now_s());
		}
		sqlite3_bind_int64(st, 12, gids[grp[i]]);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto dberr;
		ids[i] = sqlite3_last_insert_rowid(b->db);
		for (j = 0; j < nhard; j++) {
			sqlite3_reset(dst);
			sqlite3_bind_int64(dst, 1, ids[i]);
			sqlite3_bind_int64(dst, 2, gids[hard[j]]);
			if (sqlite3_step(dst) != SQLITE_DONE)
				goto dberr;
		}
	}
	if (db_commit(b) < 0)
		goto dberr;
	intx = 0;
	*out = json_pack("{s:I, s:s, s:I, s:I, s:I, s:O}", "rebuild",
	    (json_int_t)rid, "profile", profile, "jobs", (json_int_t)n,
	    "to_build", (json_int_t)(n - nreused), "reused",
	    (json_int_t)nreused, "trees", jtrees);
	log_info("rebuild %lld of %s by %s: %zu packages, %zu to build, "
	    "%zu already built", rid, profile, by, n, n - nreused, nreused);
	sched_check_rebuild(b, rid);
	rc = 0;
	goto out;
dberr:
	rc = bf_err_set(e, EIO, "database: %s", sqlite3_errmsg(b->db));
	goto out;
fail:
	log_warnx("rebuild of %s by %s refused: %s", profile, by,
	    bf_err_msg(e, rc));
	rebuild_error(b, profile, by, bf_err_msg(e, rc));
out:
	if (intx)
		db_rollback(b);
	sqlite3_finalize(st);
	sqlite3_finalize(dst);
	sqlite3_finalize(bst);
	for (i = 0; reused != NULL && i < n; i++)
		free(reused[i]);
	free(reused);
	free(ids);
	free(gids);
	free(grp);
	free(gwait);
	free(hard);
	free(ge);
	json_decref(env);
	json_decref(jtrees);
	bf_plan_free(plan);
	for (i = 0; i < ntrees; i++)
		bf_tree_close(trees[i]);
	free(trees);
	if (loaded)
		bf_profile_release(&prof);
	bf_pins_release(&pins);
	bf_buf_release(&path);
	bf_strv_release(&feat);
	bf_strv_release(&implicit);
#ifdef __GLIBC__
	/*
	 * Give the plan's memory back: every gpg that signing forks at
	 * publication copies the page tables of what the builder maps.
	 */
	malloc_trim(0);
#endif
	return rc;
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
    "SELECT j.id, j.spec, r.env, r.trees, j.attempts, j.rebuild FROM jobs j "
    "JOIN rebuilds r ON r.id = j.rebuild WHERE j.state = 'ready' AND "
    "j.profile = ? AND j.not_before <= ? AND r.state = 'running' ORDER BY "
    "j.ord, j.id LIMIT 1";
static const char sql_lease_take[] =
    "UPDATE jobs SET state='running', worker=?, lease=?, lease_expires=?, "
    "started=? WHERE id=? AND state='ready'";
/* Every job of the groups the job is built after and of their closure. */
static const char sql_lease_deps[] =
    "WITH RECURSIVE g(id) AS (SELECT dep FROM deps WHERE job = ?1 UNION "
    "SELECT gd.dep FROM gdeps gd JOIN g ON gd.grp = g.id) SELECT x.id, "
    "x.cpv FROM jobs x WHERE x.grp IN g ORDER BY x.ord";

json_t *
sched_lease(struct builder *b, const char *worker, int want_deps)
{
	sqlite3_stmt *st = NULL, *up = NULL;
	json_t *res = NULL, *deps, *tags;
	long long job = 0, now = now_s();
	char lease[33];
	size_t i;

	if ((st = db_stmt(b, sql_lease_pick)) == NULL)
		return NULL;
	tags = workers_tags(b, worker);
	for (i = 0; i < b->cfg.nprofiles && job == 0; i++) {
		const char *p = b->cfg.profiles[i].name;

		if (tags == NULL || !workers_tags_may_build(tags,
		    &b->cfg.profiles[i]))
			continue;
		sqlite3_reset(st);
		bind_text(st, 1, p);
		sqlite3_bind_int64(st, 2, now);
		if (sqlite3_step(st) != SQLITE_ROW)
			continue;
		job = sqlite3_column_int64(st, 0);
		res = json_loads((const char *)sqlite3_column_text(st, 1), 0,
		    NULL);
		json_object_set_new(res, "env", json_loads((const char *)
		    sqlite3_column_text(st, 2), 0, NULL));
		json_object_set_new(res, "trees", json_loads((const char *)
		    sqlite3_column_text(st, 3), 0, NULL));
		json_object_set_new(res, "attempt",
		    json_integer(sqlite3_column_int64(st, 4) + 1));
		json_object_set_new(res, "rebuild",
		    json_integer(sqlite3_column_int64(st, 5)));
		json_object_set_new(res, "profile", json_string(p));
	}
	sqlite3_reset(st);
	json_decref(tags);
	if (job == 0)
		return NULL;
	random_hex(lease, sizeof(lease));
	if ((up = db_stmt(b, sql_lease_take)) == NULL || db_begin(b) < 0)
		goto fail;
	bind_text(up, 1, worker);
	bind_text(up, 2, lease);
	sqlite3_bind_int64(up, 3, now + b->cfg.lease_timeout);
	sqlite3_bind_int64(up, 4, now);
	sqlite3_bind_int64(up, 5, job);
	if (sqlite3_step(up) != SQLITE_DONE || db_commit(b) < 0) {
		sqlite3_reset(up);
		db_rollback(b);
		goto fail;
	}
	sqlite3_reset(up);
	if (want_deps) {
		deps = json_array();
		st = db_stmt(b, sql_lease_deps);
		sqlite3_bind_int64(st, 1, job);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(deps, json_pack("{s:I, s:s}",
			    "job", (json_int_t)sqlite3_column_int64(st, 0),
			    "cpv", (const char *)sqlite3_column_text(st, 1)));
		sqlite3_reset(st);
		json_object_set_new(res, "deps", deps);
	}
	json_object_set_new(res, "job", json_integer(job));
	json_object_set_new(res, "build_id", json_integer(job));
	json_object_set_new(res, "lease", json_string(lease));
	json_object_set_new(res, "lease_timeout",
	    json_integer(b->cfg.lease_timeout));
	job_log(b, job, "attempt %lld of %s on worker %s",
	    (long long)json_integer_value(json_object_get(res, "attempt")),
	    json_string_value(json_object_get(res, "cpv")), worker);
	log_info("job %lld (%s) leased to %s", job,
	    json_string_value(json_object_get(res, "cpv")), worker);
	return res;
fail:
	json_decref(res);
	return NULL;
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
set_dependents(struct builder *b, long long job, const char *to,
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
		bind_text(st, 1, to);
		if (error != NULL)
			bind_text(st, 2, error);
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
	rc = set_dependents(b, job, JS_BLOCKED, why.buf, 1);
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
		bind_text(st, 2, worker);
	if (lease)
		bind_text(st, 3, lease);
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
		bind_text(st, 3, why);
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
	bind_text(st, 2, why);
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
	bind_text(st, 1, path);
	bind_text(st, 2, sha256);
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
	int ok;

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
	if (strcmp(state, JS_FAILED) != 0 && strcmp(state, JS_CANCELLED) != 0)
		return bf_err_set(e, BF_ECONFLICT, "job %lld is %s; only failed "
		    "or cancelled jobs can be retried%s", job, state,
		    strcmp(state, JS_BLOCKED) == 0 ? " (retry the job that "
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
	ok = ok && set_dependents(b, job, JS_WAITING, NULL, 0) >= 0;
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
	bind_text(st, 1, profile);
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
	bind_text(st, 2, msg.buf);
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

	bind_text(st, 1, cpv);
	if (profile != NULL)
		bind_text(st, 2, profile);
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
		bind_text(st, 1, p);
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

			bind_text(ts, 1, p);
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
