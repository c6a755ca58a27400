/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gc: deletes the snapshots no channel, history grace, keep count,
 * release or node retains, then the pool files nothing retained
 * references.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/map.h"
#include "format/pkgindex.h"
#include "store/channel.h"
#include "store/fleet.h"
#include "store/gc.h"
#include "store/nodes.h"
#include "store/release.h"
#include "store/repo.h"
#include "base/banned.h"

/* ------------------------------------------------------------------ */
/* gc.                                                                 */

struct refs {
	struct bf_map	 paths;		/* PATHs referenced */
};

static int
add_refs(struct refs *refs, const struct bf_pkgindex *idx)
{
	size_t i;

	for (i = 0; i < idx->npkgs; i++) {
		const char *p = bf_pkgindex_get(&idx->pkgs[i], "PATH");

		if (p != NULL && bf_map_put(&refs->paths, p, 1) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct chlist {
	struct chent {
		char	 chan[130];
		char	 prof[130];
		char	 id[32];
	}		*v;
	size_t		 n;
	size_t		 alloc;
};

static int
chlist_add(void *arg, const char *channel, const char *profile, const char *id)
{
	struct chlist *c = arg;
	struct chent *ce;

	if (bf_grow(&c->v, &c->alloc, c->n + 1, sizeof(*c->v), 16) < 0)
		return -ENOMEM;
	ce = &c->v[c->n];
	snprintf(ce->chan, sizeof(ce->chan), "%s", channel);
	snprintf(ce->prof, sizeof(ce->prof), "%s", profile);
	snprintf(ce->id, sizeof(ce->id), "%s", id != NULL ? id : "");
	c->n++;
	return 0;
}

static void
chlist_release(struct chlist *c)
{
	free(c->v);
}

static void
gc_say(const struct bf_gc_opts *o, const char *what, const char *path)
{
	if (o->report != NULL)
		o->report(o->arg, what, path);
}

/* One gc run. */
struct gc {
	struct bf_repo	*r;
	const struct bf_gc_opts *o;
	struct bf_gc_stats *st;
	struct bf_err	*e;
	long long	 now;
	struct bf_history_entry *hv;	/* the history log */
	size_t		 nh;
	struct chlist	 ch;		/* where every channel points */
};

/* The profiles with a pool or snapshots (those without a pool too). */
static int
gc_profiles(struct gc *g, char ***vp, size_t *np)
{
	char **v = NULL, **sp = NULL;
	size_t n = 0, ns = 0, alloc, i, k;
	int rc;

	if ((rc = bf_list_dir(g->r->root_fd, "pool", &v, &n)) < 0)
		return bf_err_set(g->e, -rc, "cannot read 'pool'");
	if ((rc = bf_list_dir(g->r->root_fd, "snapshots", &sp, &ns)) < 0) {
		rc = bf_err_set(g->e, -rc, "cannot read 'snapshots'");
		goto out;
	}
	alloc = n;
	for (i = 0; i < ns; i++) {
		for (k = 0; k < n && strcmp(v[k], sp[i]) != 0; k++)
			;
		if (k < n)
			continue;
		if (bf_grow(&v, &alloc, n + 1, sizeof(*v), 16) < 0) {
			rc = bf_err_nomem(g->e);
			goto out;
		}
		v[n++] = sp[i];
		sp[i] = NULL;
	}
out:
	bf_names_free(sp, ns);
	if (rc < 0) {
		bf_names_free(v, n);
		return rc;
	}
	*vp = v;
	*np = n;
	return 0;
}

/*
 * Is snapshot ids[i] of `prof` retained: among the `keep` newest, on a
 * channel, or moved to or from within the grace period?
 */
static int
retained(const struct gc *g, const char *prof, char **ids, size_t nids,
    size_t i)
{
	const struct bf_history_entry *h;
	size_t k;

	if (i + (size_t)g->o->keep >= nids)
		return 1;
	for (k = 0; k < g->ch.n; k++)
		if (strcmp(g->ch.v[k].prof, prof) == 0 &&
		    strcmp(g->ch.v[k].id, ids[i]) == 0)
			return 1;
	for (k = 0; k < g->nh; k++) {
		h = &g->hv[k];
		if (strcmp(h->profile, prof) == 0 &&
		    h->time > g->now - g->o->grace &&
		    (strcmp(h->from, ids[i]) == 0 || strcmp(h->to, ids[i]) == 0))
			return 1;
	}
	return 0;
}

/* The packages a retained snapshot names are referenced. */
static int
keep_snapshot(struct gc *g, const char *prof, const char *id,
    struct refs *refs)
{
	struct bf_pkgindex idx = BF_PKGINDEX_INIT;
	int rc;

	g->st->snapshots_kept++;
	if ((rc = bf_snapshot_load_index(g->r, prof, id, &idx, g->e)) == 0 &&
	    (rc = add_refs(refs, &idx)) == -ENOMEM)
		rc = bf_err_nomem(g->e);
	bf_pkgindex_release(&idx);
	return rc;
}

/* A snapshot disappears in one rename into tmp/, then is removed. */
static int
delete_snapshot(struct gc *g, const char *prof, const char *id)
{
	struct bf_buf path = BF_BUF_INIT, t = BF_BUF_INIT;
	int rc = 0;

	bf_buf_addf(&path, "snapshots/%s/%s", prof, id);
	gc_say(g->o, "delete snapshot", path.buf);
	g->st->snapshots_deleted++;
	if (!g->o->dry_run) {
		bf_buf_addf(&t, "tmp/gc-%s-%s", prof, id);
		if (renameat(g->r->root_fd, path.buf, g->r->root_fd, t.buf) < 0)
			rc = bf_err_errno(g->e, "cannot remove '%s'", path.buf);
		else
			rc = bf_rmtree(g->r->root_fd, t.buf, g->e);
	}
	bf_buf_release(&path);
	bf_buf_release(&t);
	return rc;
}

/* Snapshots: each kept (its packages referenced) or deleted. */
static int
gc_snapshots(struct gc *g, const char *prof, struct refs *refs)
{
	char **ids = NULL;
	size_t nids = 0, i;
	int rc;

	if ((rc = bf_snapshot_list(g->r, prof, &ids, &nids, g->e)) < 0)
		return rc;
	for (i = 0; i < nids && rc == 0; i++)
		rc = retained(g, prof, ids, nids, i) ?
		    keep_snapshot(g, prof, ids[i], refs) :
		    delete_snapshot(g, prof, ids[i]);
	bf_snapshot_list_free(ids, nids);
	return rc;
}

/* The working set's packages are referenced too. */
static int
keep_workset(struct gc *g, const char *prof, struct refs *refs)
{
	struct bf_workset w;
	int rc;

	if ((rc = bf_workset_load(g->r, prof, &w, g->e)) < 0)
		return rc;
	rc = add_refs(refs, &w.idx);
	bf_workset_release(&w);
	return rc < 0 ? bf_err_nomem(g->e) : 0;
}

/*
 * The files of pool/<prof>/<cat>/<pn>/ nothing references; the
 * directory too when none is left.
 */
static int
gc_pool_pn(struct gc *g, const char *prof, const char *cat, const char *pn,
    const struct refs *refs)
{
	struct bf_buf path = BF_BUF_INIT, rel = BF_BUF_INIT;
	struct stat fst;
	char **files = NULL;
	size_t nfiles = 0, f, left = 0;
	int rc = 0;

	bf_buf_addf(&path, "pool/%s/%s/%s", prof, cat, pn);
	if (bf_list_dir(g->r->root_fd, path.buf, &files, &nfiles) < 0)
		goto out;
	for (f = 0; f < nfiles; f++) {
		bf_buf_reset(&rel);
		bf_buf_addf(&rel, "%s/%s/%s", cat, pn, files[f]);
		if (bf_map_get(&refs->paths, rel.buf, NULL)) {
			g->st->files_kept++;
			left++;
			continue;
		}
		bf_buf_reset(&path);
		bf_buf_addf(&path, "pool/%s/%s", prof, rel.buf);
		gc_say(g->o, "delete", path.buf);
		g->st->files_deleted++;
		if (fstatat(g->r->root_fd, path.buf, &fst,
		    AT_SYMLINK_NOFOLLOW) == 0)
			g->st->bytes_deleted += (unsigned long long)fst.st_size;
		if (!g->o->dry_run && unlinkat(g->r->root_fd, path.buf, 0) < 0 &&
		    errno != ENOENT) {
			rc = bf_err_errno(g->e, "cannot remove '%s'", path.buf);
			goto out;
		}
	}
	if (left == 0 && !g->o->dry_run) {
		bf_buf_reset(&path);
		bf_buf_addf(&path, "pool/%s/%s/%s", prof, cat, pn);
		unlinkat(g->r->root_fd, path.buf, AT_REMOVEDIR);
	}
out:
	bf_names_free(files, nfiles);
	bf_buf_release(&path);
	bf_buf_release(&rel);
	return rc;
}

/* Pool files nothing retained references. */
static int
gc_pool(struct gc *g, const char *prof, const struct refs *refs)
{
	struct bf_buf path = BF_BUF_INIT;
	char **cats = NULL, **pns = NULL;
	size_t ncats = 0, npns = 0, c, q;
	int rc;

	bf_buf_addf(&path, "pool/%s", prof);
	if ((rc = bf_list_dir(g->r->root_fd, path.buf, &cats, &ncats)) < 0) {
		rc = bf_err_set(g->e, -rc, "cannot read '%s'", path.buf);
		goto out;
	}
	for (c = 0; c < ncats && rc == 0; c++) {
		bf_buf_reset(&path);
		bf_buf_addf(&path, "pool/%s/%s", prof, cats[c]);
		if (bf_list_dir(g->r->root_fd, path.buf, &pns, &npns) < 0)
			continue;
		for (q = 0; q < npns && rc == 0; q++)
			rc = gc_pool_pn(g, prof, cats[c], pns[q], refs);
		bf_names_free(pns, npns);
		pns = NULL;
		npns = 0;
	}
out:
	bf_names_free(cats, ncats);
	bf_buf_release(&path);
	return rc;
}

/* One profile: its snapshots, then its pool. */
static int
gc_profile(struct gc *g, const char *prof)
{
	struct refs refs = { BF_MAP_INIT };
	int rc;

	if ((rc = gc_snapshots(g, prof, &refs)) == 0 &&
	    (rc = keep_workset(g, prof, &refs)) == 0)
		rc = gc_pool(g, prof, &refs);
	bf_map_release(&refs.paths);
	return rc;
}

/* Snapshots of running releases (from and to) keep as channels do. */
static int
keep_releases(struct gc *g)
{
	const struct bf_release_target *t;
	struct bf_release rel;
	struct bf_err e2 = BF_ERR_INIT;
	char **names = NULL;
	size_t n = 0, i, k;
	int rc = 0;

	if (bf_list_dir(g->r->root_fd, BF_RELEASES_DIR, &names, &n) < 0)
		return bf_err_set(g->e, EIO, "cannot read '%s'",
		    BF_RELEASES_DIR);
	for (i = 0; i < n && rc == 0; i++) {
		bf_release_init(&rel);
		bf_err_clear(&e2);
		if (bf_repo_name_valid(names[i]) &&
		    bf_release_load(g->r->root_fd, names[i], &rel, &e2) == 0 &&
		    bf_release_active(&rel))
			for (k = 0; k < rel.ntargets && rc == 0; k++) {
				t = &rel.targets[k];
				rc = chlist_add(&g->ch, "release", t->profile,
				    t->to);
				if (rc == 0 && t->from[0] != '\0')
					rc = chlist_add(&g->ch, "release",
					    t->profile, t->from);
			}
		bf_release_free(&rel);
	}
	bf_names_free(names, n);
	return rc < 0 ? bf_err_nomem(g->e) : 0;
}

/*
 * The snapshot each node of the inventory has (fleet/nodes.state) keeps
 * too: its next package download is from it.
 */
static int
keep_nodes(struct gc *g)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_fetches f = BF_FETCHES_INIT;
	const struct bf_fetch *rec;
	size_t i;
	int rc;

	if ((rc = bf_nodes_load(g->r, &ns, g->e)) == 0 &&
	    (rc = bf_fetches_load(g->r->root_fd, &f, g->e)) == 0)
		for (i = 0; i < ns.n && rc == 0; i++)
			if ((rec = bf_fetches_find(&f, ns.v[i].name)) != NULL &&
			    rec->snapshot[0] != '\0' && (rc = chlist_add(&g->ch,
			    "node", rec->profile, rec->snapshot)) < 0)
				rc = bf_err_nomem(g->e);
	bf_nodes_release(&ns);
	bf_fetches_release(&f);
	return rc;
}

int
bf_repo_gc(struct bf_repo *r, const struct bf_gc_opts *o, struct bf_gc_stats *st,
    struct bf_err *e)
{
	struct gc g = { r, o, st, e, 0, NULL, 0, { NULL, 0, 0 } };
	char **profiles = NULL;
	size_t nprof = 0, p;
	int rc;

	memset(st, 0, sizeof(*st));
	g.now = o->now >= 0 ? o->now : (long long)time(NULL);
	if ((rc = bf_history_load(r, &g.hv, &g.nh, e)) < 0)
		goto out;
	if ((rc = bf_channel_each(r, chlist_add, &g.ch, e)) < 0) {
		rc = bf_err_set(e, -rc, "cannot list channels");
		goto out;
	}
	if ((rc = keep_releases(&g)) < 0 || (rc = keep_nodes(&g)) < 0)
		goto out;
	if ((rc = gc_profiles(&g, &profiles, &nprof)) < 0)
		goto out;
	for (p = 0; p < nprof && rc == 0; p++)
		if (bf_repo_name_valid(profiles[p]))
			rc = gc_profile(&g, profiles[p]);
	if (rc == 0 && !o->dry_run)
		rc = bf_repo_sync(r, e);
out:
	free(g.hv);
	chlist_release(&g.ch);
	bf_names_free(profiles, nprof);
	return rc;
}
