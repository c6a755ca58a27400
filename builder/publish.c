/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Publish: a complete rebuild goes into the binfarm repository through
 * lib/store, as `binfarm add`, `binfarm snapshot create` and `binfarm
 * promote --channel testing` would do it:
 *
 *	stage    every package the plan needs is in the profile's working
 *	         set (each build added, verified and signed once; one
 *	         already published is kept);
 *	drop     packages no longer in the plan leave the working set;
 *	snapshot a snapshot is cut with the rebuild's configuration and
 *	         tree commits in its Packages header;
 *	promote  testing moves to it.
 *
 * Pool files are durable before the working set names them, and the
 * working set before the snapshot; a builder killed at any point
 * publishes again on restart, and gc removes what an interrupted run
 * left in pool/.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "format/pkgindex.h"
#include "store/promote.h"
#include "store/recover.h"
#include "store/repo.h"
#include "builder.h"
#include "base/banned.h"

/* One package of the rebuild, by its path under <state>/pkgdir/<profile>. */
struct pubpkg {
	char	*path;
	char	*pool;		/* PATH in the repository; NULL: not yet */
	int	 added;		/* added to the repository by this run */
};

/* What one publication works on. */
struct publication {
	long long	 rebuild;
	char		 profile[256];
	json_t		*trees, *env;
	struct bf_buf	 by;
	struct pubpkg	*v;
	size_t		 n;
	struct bf_workset w;
	int		 have_w;
	size_t		 nadded, ndropped;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
publication_release(struct publication *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].path);
		free(p->v[i].pool);
	}
	free(p->v);
	if (p->have_w)
		bf_workset_release(&p->w);
	json_decref(p->trees);
	json_decref(p->env);
	bf_buf_release(&p->by);
}

/* The rebuild's profile, pins, configuration and who asked. b->mu held. */
static int
load_rebuild(struct builder *b, struct publication *p, struct bf_err *e)
{
	sqlite3_stmt *st;

	st = db_prep(b, "SELECT profile, trees, by, env FROM rebuilds WHERE "
	    "id=?");
	sqlite3_bind_int64(st, 1, p->rebuild);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(p->profile, sizeof(p->profile), "%s",
		    sqlite3_column_text(st, 0));
		p->trees = json_loads((const char *)sqlite3_column_text(st, 1),
		    0, NULL);
		p->env = json_loads((const char *)sqlite3_column_text(st, 3), 0,
		    NULL);
		bf_buf_addf(&p->by, "%s (binfarm-builder rebuild %lld)",
		    sqlite3_column_type(st, 2) == SQLITE_NULL ? "builder" :
		    (const char *)sqlite3_column_text(st, 2), p->rebuild);
	}
	sqlite3_finalize(st);
	if (p->profile[0] == '\0' || !bf_repo_name_valid(p->profile))
		return bf_err_set(e, BF_ENOTFOUND, "rebuild %lld: no such "
		    "rebuild or a bad profile name", p->rebuild);
	return 0;
}

/*
 * The packages of the plan, and where each already is in the pool.
 * b->mu held.  A partial list would drop packages from testing: all or
 * nothing.
 */
static int
load_packages(struct builder *b, struct publication *p, struct bf_err *e)
{
	sqlite3_stmt *st;
	int src;

	st = db_prep(b, "SELECT j.path, p.pool FROM jobs j LEFT JOIN "
	    "published p ON p.profile=j.profile AND p.path=j.path WHERE "
	    "j.rebuild=? AND j.state='done' ORDER BY j.ord");
	sqlite3_bind_int64(st, 1, p->rebuild);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct pubpkg *v = realloc(p->v, (p->n + 1) * sizeof(*v));

		if (v == NULL)
			break;
		p->v = v;
		v = &p->v[p->n];
		memset(v, 0, sizeof(*v));
		v->path = strdup((const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL &&
		    (v->pool = strdup((const char *)
		    sqlite3_column_text(st, 1))) == NULL) {
			free(v->path);
			v->path = NULL;
		}
		if (v->path == NULL)
			break;
		p->n++;
	}
	sqlite3_finalize(st);
	if (src == SQLITE_DONE)
		return 0;
	return src == SQLITE_ROW ? bf_err_nomem(e) :
	    bf_err_set(e, EIO, "database: cannot list the packages of rebuild "
	    "%lld", p->rebuild);
}

/*
 * The working set's paths, sorted: a lookup per package, not a scan.
 * Copies: bf_repo_add() may replace the entries.
 */
static int
staged_paths(const struct bf_workset *w, char ***vp, size_t *np,
    struct bf_err *e)
{
	char **v;
	size_t i, n = 0;

	if ((v = calloc(w->idx.npkgs + 1, sizeof(*v))) == NULL)
		return bf_err_nomem(e);
	for (i = 0; i < w->idx.npkgs; i++) {
		const char *path = bf_pkgindex_get(&w->idx.pkgs[i], "PATH");

		if (path != NULL && (v[n++] = strdup(path)) == NULL) {
			bf_names_free(v, n);
			return bf_err_nomem(e);
		}
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*vp = v;
	*np = n;
	return 0;
}

/* Stage: adds each build the working set does not have yet. */
static int
stage(struct builder *b, struct publication *p, struct bf_err *e)
{
	struct bf_repo_add_opts ao;
	struct bf_repo_added res;
	struct bf_buf src = BF_BUF_INIT;
	char **staged = NULL, why[600];
	size_t nstaged = 0, i;
	int rc;

	if ((rc = staged_paths(&p->w, &staged, &nstaged, e)) < 0)
		return rc;
	memset(&ao, 0, sizeof(ao));
	ao.signer = b->signer;
	ao.mtime = -1;
	for (i = 0; i < p->n; i++) {
		struct pubpkg *v = &p->v[i];

		if (v->pool != NULL && bsearch(&v->pool, staged, nstaged,
		    sizeof(*staged), cmp_str) != NULL)
			continue;
		bf_buf_reset(&src);
		bf_buf_addf(&src, "%s/pkgdir/%s/%s", b->cfg.state, p->profile,
		    v->path);
		if ((rc = bf_repo_add(b->repo, p->profile, src.buf, &ao, &p->w,
		    &res, e)) < 0) {
			snprintf(why, sizeof(why), "%s", bf_err_msg(e, rc));
			bf_err_clear(e);
			rc = bf_err_set(e, -rc, "adding %s to the repository: %s",
			    v->path, why);
			break;
		}
		free(v->pool);
		if ((v->pool = strdup(res.path)) == NULL) {
			rc = bf_err_nomem(e);
			break;
		}
		v->added = 1;
		p->nadded++;
	}
	bf_names_free(staged, nstaged);
	bf_buf_release(&src);
	return rc < 0 ? rc : 0;
}

/* Drop: what the plan no longer has (a package left the world set). */
static int
drop(struct publication *p, struct bf_err *e)
{
	struct bf_buf atom = BF_BUF_INIT;
	char **keep;
	size_t i, nkeep = 0;
	int rc = 0;

	if ((keep = calloc(p->n + 1, sizeof(*keep))) == NULL)
		return bf_err_nomem(e);
	for (i = 0; i < p->n; i++)
		keep[nkeep++] = p->v[i].pool;
	qsort(keep, nkeep, sizeof(*keep), cmp_str);
	for (i = p->w.idx.npkgs; rc == 0 && i-- > 0;) {
		const char *path = bf_pkgindex_get(&p->w.idx.pkgs[i], "PATH");
		const char *cpv = bf_pkgindex_get(&p->w.idx.pkgs[i], "CPV");

		if (cpv == NULL || (path != NULL && bsearch(&path, keep, nkeep,
		    sizeof(*keep), cmp_str) != NULL))
			continue;
		bf_buf_reset(&atom);
		bf_buf_addf(&atom, "=%s", cpv);
		if ((rc = bf_workset_remove(&p->w, atom.buf, NULL, NULL, e)) < 0)
			break;
		rc = 0;
		p->ndropped++;
	}
	bf_buf_release(&atom);
	free(keep);
	return rc < 0 ? rc : 0;
}

/* Remembers where each build went, so that it is added only once. */
static void
remember(struct builder *b, struct publication *p)
{
	sqlite3_stmt *st;
	size_t i;

	pthread_mutex_lock(&b->mu);
	if (p->nadded > 0 && db_begin(b) == 0) {
		st = db_prep(b, "INSERT OR REPLACE INTO published (profile, "
		    "path, pool) VALUES (?, ?, ?)");
		for (i = 0; i < p->n && st != NULL; i++) {
			if (!p->v[i].added)
				continue;
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, p->profile, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, p->v[i].path, -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(st, 3, p->v[i].pool, -1,
			    SQLITE_STATIC);
			sqlite3_step(st);
		}
		sqlite3_finalize(st);
		db_commit(b);
	}
	pthread_mutex_unlock(&b->mu);
}

/*
 * The snapshot's extra Packages header: the build configuration the
 * rebuild was planned with (rebuild.c), and REPO_REVISIONS with the
 * commit of every tree, as JSON with sorted keys as Portage writes it.
 */
static int
snapshot_header(json_t *env, json_t *trees, struct bf_conf *hdr,
    struct bf_err *e)
{
	json_t *rev, *t, *v;
	const char *k;
	char *s = NULL;
	size_t i;
	int rc = 0;

	json_object_foreach(json_object_get(env, "index_header"), k, v)
		if (json_is_string(v) && (rc = bf_conf_set(hdr, k,
		    json_string_value(v), "", 0)) < 0)
			break;
	if (rc == 0 && (rev = json_object()) == NULL)
		rc = -ENOMEM;
	if (rc == 0) {
		json_array_foreach(trees, i, t)
			if (json_is_string(json_object_get(t, "name")) &&
			    json_is_string(json_object_get(t, "commit")))
				json_object_set(rev, json_string_value(
				    json_object_get(t, "name")),
				    json_object_get(t, "commit"));
		if (json_object_size(rev) > 0 &&
		    (s = json_dumps(rev, JSON_SORT_KEYS)) == NULL)
			rc = -ENOMEM;
		if (s != NULL)
			rc = bf_conf_set(hdr, "REPO_REVISIONS", s, "", 0);
		free(s);
		json_decref(rev);
	}
	return rc < 0 ? bf_err_nomem(e) : 0;
}

/* Snapshot and promote: tree commits in the record, then testing. */
static int
cut(struct builder *b, struct publication *p, struct bf_buf *id,
    struct bf_err *e)
{
	struct bf_snapshot_opts so;
	struct bf_move_opts mo;
	struct bf_move_result mr;
	struct bf_conf hdr = BF_CONF_INIT;
	struct bf_buf msg = BF_BUF_INIT;
	const char *tree_repo = NULL, *tree_commit = NULL;
	char snap[32] = "";
	size_t i, npkgs = 0;
	json_t *t;
	int rc;

	memset(&mr, 0, sizeof(mr));
	json_array_foreach(p->trees, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		const char *commit = json_string_value(json_object_get(t,
		    "commit"));

		if (name == NULL || commit == NULL)
			continue;
		if (tree_commit == NULL) {
			tree_repo = name;
			tree_commit = commit;
		}
		bf_buf_addf(&msg, "%s%s=%s", msg.len ? " " : "rebuild of ",
		    name, commit);
	}
	if (msg.len == 0)
		bf_buf_addf(&msg, "rebuild %lld", p->rebuild);
	if ((rc = snapshot_header(p->env, p->trees, &hdr, e)) < 0)
		goto out;
	memset(&so, 0, sizeof(so));
	so.header = &hdr;
	so.by = p->by.buf;
	so.tree_commit = tree_commit;
	so.tree_repo = tree_repo;
	so.message = msg.buf;
	so.threads = 2;
	if ((rc = bf_snapshot_create(b->repo, p->profile, &so, snap, &npkgs,
	    e)) < 0)
		goto out;
	memset(&mo, 0, sizeof(mo));
	mo.by = p->by.buf;
	mo.allow_downgrade = 1;	/* testing follows the tree, down as well */
	if ((rc = bf_repo_promote(b->repo, p->profile, "testing", snap, &mo,
	    &mr, e)) < 0)
		goto out;
	bf_buf_adds(id, snap);
	log_info("rebuild %lld: snapshot %s of %s (%zu packages, %zu added, "
	    "%zu dropped); testing %s -> %s, %zu upgraded, %zu downgraded",
	    p->rebuild, snap, p->profile, npkgs, p->nadded, p->ndropped,
	    mr.from[0] ? mr.from : "(none)", snap,
	    mr.diff.count[BF_CHG_UPGRADED], mr.diff.count[BF_CHG_DOWNGRADED]);
out:
	bf_move_result_release(&mr);
	bf_conf_release(&hdr);
	bf_buf_release(&msg);
	return rc;
}

int
publish_snapshot(struct builder *b, long long rebuild, struct bf_buf *id,
    struct bf_err *e)
{
	struct publication p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.rebuild = rebuild;
	p.by = (struct bf_buf)BF_BUF_INIT;
	pthread_mutex_lock(&b->mu);
	if ((rc = load_rebuild(b, &p, e)) == 0)
		rc = load_packages(b, &p, e);
	pthread_mutex_unlock(&b->mu);
	if (rc < 0)
		goto out;
	if ((rc = bf_repo_lock(b->repo, NULL, NULL, e)) < 0)
		goto out;
	if ((rc = bf_workset_load(b->repo, p.profile, &p.w, e)) == 0) {
		p.have_w = 1;
		if ((rc = stage(b, &p, e)) == 0 && (rc = drop(&p, e)) == 0 &&
		    p.w.dirty && (rc = bf_repo_sync(b->repo, e)) == 0)
			rc = bf_workset_save(b->repo, p.profile, &p.w, e);
		if (rc == 0) {
			remember(b, &p);
			rc = cut(b, &p, id, e);
		}
	}
	bf_repo_unlock(b->repo);
out:
	publication_release(&p);
	return rc;
}

/*
 * Publishes the rebuilds whose jobs are all done (state 'publishing'),
 * oldest first, with b->mu NOT held: signing and writing thousands of
 * packages must not stall the API (heartbeats, leases).  Also resumes a
 * publication a killed builder left half done.
 */
void
publish_pending(struct builder *b)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_buf id = BF_BUF_INIT, msg = BF_BUF_INIT;
	sqlite3_stmt *st;
	long long rebuild;
	int rc;

	pthread_mutex_lock(&b->mu);
	rebuild = db_int(b, "SELECT min(id) FROM rebuilds WHERE "
	    "state='publishing'", -1);
	pthread_mutex_unlock(&b->mu);
	if (rebuild < 0)
		return;
	if ((rc = publish_snapshot(b, rebuild, &id, &e)) < 0)
		bf_buf_addf(&msg, "cannot publish the testing snapshot: %s",
		    bf_err_msg(&e, rc));
	pthread_mutex_lock(&b->mu);
	st = db_prep(b, "UPDATE rebuilds SET state=?, finished=?, snapshot=?, "
	    "error=? WHERE id=? AND state='publishing'");
	sqlite3_bind_text(st, 1, msg.len ? "failed" : "complete", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_s());
	if (id.len)
		sqlite3_bind_text(st, 3, id.buf, -1, SQLITE_STATIC);
	if (msg.len)
		sqlite3_bind_text(st, 4, msg.buf, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, rebuild);
	sqlite3_step(st);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&b->mu);
	if (msg.len)
		log_warnx("rebuild %lld failed: %s", rebuild, msg.buf);
	else
		log_info("rebuild %lld complete: testing -> snapshot %s",
		    rebuild, id.buf);
	bf_buf_release(&id);
	bf_buf_release(&msg);
}
