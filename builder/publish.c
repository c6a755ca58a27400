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
#include "base/log.h"
#include "portage/profile.h"
#include "portage/tree.h"
#include "store/promote.h"
#include "store/recover.h"
#include "store/repo.h"
#include "store/treesnap.h"
#include "builder.h"
#include "base/banned.h"

/* What one publication works on. */
struct publication {
	long long	 rebuild;
	struct pub_rebuild r;
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
	pub_rebuild_release(&p->r);
	bf_buf_release(&p->by);
}

/*
 * The rebuild's profile, pins, configuration and who asked, and the
 * packages of its plan with where each already is in the pool.  b->mu
 * held.  A partial list would drop packages from testing: all or
 * nothing.
 */
static int
load(struct builder *b, struct publication *p, struct bf_err *e)
{
	int rc;

	if (db_pub_rebuild(b, p->rebuild, &p->r) < 0)
		return bf_err_nomem(e);
	if (p->r.profile == NULL || !bf_repo_name_valid(p->r.profile))
		return bf_err_set(e, BF_ENOTFOUND, "rebuild %lld: no such "
		    "rebuild or a bad profile name", p->rebuild);
	bf_buf_addf(&p->by, "%s (binfarm-builder rebuild %lld)",
	    p->r.by != NULL ? p->r.by : "builder", p->rebuild);
	if ((rc = db_pub_packages(b, p->rebuild, &p->v, &p->n)) == 0)
		return 0;
	return rc == -ENOMEM ? bf_err_nomem(e) : bf_err_set(e, EIO,
	    "database: cannot list the packages of rebuild %lld", p->rebuild);
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
		bf_buf_addf(&src, "%s/pkgdir/%s/%s", b->cfg.state, p->r.profile,
		    v->path);
		if ((rc = bf_repo_add(b->repo, p->r.profile, src.buf, &ao, &p->w,
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
	if (p->nadded == 0)
		return;
	pthread_mutex_lock(&b->mu);
	db_published_put(b, p->r.profile, p->v, p->n);
	pthread_mutex_unlock(&b->mu);
}

/*
 * REPO_REVISIONS: the commit of every tree (the last of a name given
 * twice), as Portage writes it (lib/portage/tree.c).
 */
static int
repo_revisions(const struct pub_rebuild *r, struct bf_conf *hdr)
{
	struct bf_buf s = BF_BUF_INIT;
	const char **names, **commits;
	size_t i, j, n = 0;
	int rc = -ENOMEM;

	names = calloc(r->ntrees + 1, sizeof(*names));
	commits = calloc(r->ntrees + 1, sizeof(*commits));
	if (names == NULL || commits == NULL)
		goto out;
	for (i = 0; i < r->ntrees; i++) {
		for (j = 0; j < n && strcmp(names[j], r->trees[i].name) != 0;
		    j++)
			;
		names[j] = r->trees[i].name;
		commits[j] = r->trees[i].commit;
		if (j == n)
			n++;
	}
	rc = 0;
	if (n > 0 && (rc = bf_repo_revisions(names, commits, n, &s)) == 0)
		rc = bf_conf_set(hdr, "REPO_REVISIONS", s.buf, "", 0);
out:
	free(names);
	free(commits);
	bf_buf_release(&s);
	return rc;
}

/*
 * The snapshot's extra Packages header: the build configuration the
 * rebuild was planned with (rebuild.c), and REPO_REVISIONS.
 */
static int
snapshot_header(const struct pub_rebuild *r, struct bf_conf *hdr,
    struct bf_err *e)
{
	const struct farm_env *env = &r->env;
	size_t i;
	int rc = 0;

	for (i = 0; rc >= 0 && i < env->header_keys.n; i++)
		rc = bf_conf_set(hdr, env->header_keys.v[i],
		    env->header_values.v[i], "", 0);
	if (rc >= 0)
		rc = repo_revisions(r, hdr);
	return rc < 0 ? bf_err_nomem(e) : 0;
}

/* The snapshot's message: the trees at their commits. */
static void
cut_message(const struct publication *p, struct bf_buf *msg)
{
	size_t i;

	for (i = 0; i < p->r.ntrees; i++)
		bf_buf_addf(msg, "%s%s=%s", msg->len ? " " : "rebuild of ",
		    p->r.trees[i].name, p->r.trees[i].commit);
	if (msg->len == 0)
		bf_buf_addf(msg, "rebuild %lld", p->rebuild);
}

/*
 * The x86-64 level the profile's binaries need (binfarm-node refuses a
 * CPU below it), into level[3]; "" when the profile does not say.
 */
static void
profile_level(struct builder *b, const char *profile, char level[3])
{
	struct bf_profile prof;
	struct bf_err e = BF_ERR_INIT;
	size_t i;

	level[0] = '\0';
	for (i = 0; i < b->cfg.nprofiles; i++)
		if (strcmp(b->cfg.profiles[i].name, profile) == 0)
			break;
	if (i == b->cfg.nprofiles)
		return;
	if (bf_profile_load(&prof, b->cfg.profiles[i].dir, &e) == 0)
		snprintf(level, 3, "%s", prof.x86_64_level);
	else
		log_warnx("profile %s: %s (no x86-64 level recorded)", profile,
		    e.msg);
	bf_profile_release(&prof);
}

/* Snapshot: tree commits in the record; its id into `snap`. */
static int
snapshot(struct builder *b, struct publication *p, char snap[32],
    size_t *npkgs, struct bf_err *e)
{
	struct bf_snapshot_opts so;
	struct bf_conf hdr = BF_CONF_INIT;
	struct bf_buf msg = BF_BUF_INIT;
	char level[3];
	int rc;

	cut_message(p, &msg);
	profile_level(b, p->r.profile, level);
	if ((rc = snapshot_header(&p->r, &hdr, e)) == 0) {
		memset(&so, 0, sizeof(so));
		so.header = &hdr;
		so.by = p->by.buf;
		/* The first tree is the snapshot's tree-commit. */
		so.tree_commit = p->r.ntrees ? p->r.trees[0].commit : NULL;
		so.tree_repo = p->r.ntrees ? p->r.trees[0].name : NULL;
		so.message = msg.buf;
		so.threads = 2;
		so.x86_64_level = level[0] != '\0' ? level : NULL;
		rc = bf_snapshot_create(b->repo, p->r.profile, &so, snap, npkgs,
		    e);
	}
	bf_conf_release(&hdr);
	bf_buf_release(&msg);
	return rc;
}

/*
 * The snapshot's pinned trees, signed, for binfarm-node
 * (store/treesnap.h), from the mirrors the rebuild pinned in.  A
 * snapshot without them is still published: `binfarm snapshot tree`
 * can make them later.
 */
static void
trees(struct builder *b, const struct publication *p, const char *snap)
{
	struct bf_err e = BF_ERR_INIT;
	int rc;

	pthread_mutex_lock(&b->plan_mu);
	rc = bf_treesnap_create(b->repo, p->r.profile, snap, b->cfg.mirrors,
	    b->signer, NULL, &e);
	pthread_mutex_unlock(&b->plan_mu);
	if (rc < 0)
		log_warnx("rebuild %lld: snapshot %s of %s without its trees: "
		    "%s", p->rebuild, snap, p->r.profile, bf_err_msg(&e, rc));
}

/* Promote: testing moves to snapshot `snap`. */
static int
promote(struct builder *b, struct publication *p, const char *snap,
    size_t npkgs, struct bf_err *e)
{
	struct bf_move_opts mo;
	struct bf_move_result mr;
	int rc;

	memset(&mr, 0, sizeof(mr));
	memset(&mo, 0, sizeof(mo));
	mo.by = p->by.buf;
	mo.allow_downgrade = 1;	/* testing follows the tree, down as well */
	if ((rc = bf_repo_promote(b->repo, p->r.profile, "testing", snap, &mo,
	    &mr, e)) == 0)
		log_info("rebuild %lld: snapshot %s of %s (%zu packages, %zu "
		    "added, %zu dropped); testing %s -> %s, %zu upgraded, %zu "
		    "downgraded", p->rebuild, snap, p->r.profile, npkgs,
		    p->nadded, p->ndropped, mr.from[0] ? mr.from : "(none)",
		    snap, mr.diff.count[BF_CHG_UPGRADED],
		    mr.diff.count[BF_CHG_DOWNGRADED]);
	bf_move_result_release(&mr);
	return rc;
}

/*
 * With the repository locked: stage, drop, the working set saved,
 * remembered, snapshot, promote.
 */
static int
publish_locked(struct builder *b, struct publication *p, struct bf_buf *id,
    struct bf_err *e)
{
	char snap[32] = "";
	size_t npkgs = 0;
	int rc;

	if ((rc = bf_workset_load(b->repo, p->r.profile, &p->w, e)) < 0)
		return rc;
	p->have_w = 1;
	if ((rc = stage(b, p, e)) < 0 || (rc = drop(p, e)) < 0)
		return rc;
	if (p->w.dirty && ((rc = bf_repo_sync(b->repo, e)) < 0 ||
	    (rc = bf_workset_save(b->repo, p->r.profile, &p->w, e)) < 0))
		return rc;
	remember(b, p);
	if ((rc = snapshot(b, p, snap, &npkgs, e)) < 0)
		return rc;
	trees(b, p, snap);
	if ((rc = promote(b, p, snap, npkgs, e)) < 0)
		return rc;
	bf_buf_adds(id, snap);
	return 0;
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
	rc = load(b, &p, e);
	pthread_mutex_unlock(&b->mu);
	if (rc == 0 && (rc = bf_repo_lock(b->repo, NULL, NULL, e)) == 0) {
		rc = publish_locked(b, &p, id, e);
		bf_repo_unlock(b->repo);
	}
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
	long long rebuild;
	int rc;

	pthread_mutex_lock(&b->mu);
	rebuild = db_publishing_next(b);
	pthread_mutex_unlock(&b->mu);
	if (rebuild < 0)
		return;
	if ((rc = publish_snapshot(b, rebuild, &id, &e)) < 0)
		bf_buf_addf(&msg, "cannot publish the testing snapshot: %s",
		    bf_err_msg(&e, rc));
	pthread_mutex_lock(&b->mu);
	db_publishing_end(b, rebuild, id.len ? id.buf : NULL,
	    msg.len ? msg.buf : NULL);
	pthread_mutex_unlock(&b->mu);
	if (msg.len)
		log_warnx("rebuild %lld failed: %s", rebuild, msg.buf);
	else
		log_info("rebuild %lld complete: testing -> snapshot %s",
		    rebuild, id.buf);
	bf_buf_release(&id);
	bf_buf_release(&msg);
}
