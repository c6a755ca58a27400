/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Why a rebuild built a package rather than reusing it (the rebuild
 * page, console-rebuilds.c).  A package is reused when the profile
 * already has its build key (lib/portage/plan.h), which hashes the
 * ebuild's and its eclasses' md5 from md5-cache, USE, CHOST and the
 * flags, the keys of what is installed to build it, and the slots of
 * its slot-operator dependencies.  The builder records each job's plan
 * entry (version, slot, USE, key), each rebuild's configuration and
 * pins, and which groups a job is built after; the reasons compare
 * those with the profile's previous rebuild:
 *
 *	new            the package was not in the previous rebuild
 *	version        another version
 *	USE            flags turned on (+) or off (-)
 *	configuration  CHOST, CFLAGS, ... (the rebuild's, named)
 *	dependency     a build dependency built anew in this rebuild
 *	ebuild, eclass the same version's md5-cache entries at the two
 *	               rebuilds' pinned commits differ in _md5_ or in
 *	               an eclass's md5
 *
 * and when none of those, a dependency's build key changed (its
 * runtime closure, or a slot operator's sub-slot).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "portage/atom.h"
#include "portage/tree.h"
#include "builder.h"
#include "console.h"
#include "base/banned.h"

/* A pinned tree opened for its md5-cache. */
struct why_tree {
	char		*name;
	char		*commit;
	struct bf_tree	*t;		/* NULL: could not be opened */
};

int
why_slot_key(json_t *spec, struct bf_buf *out)
{
	const char *cpv = json_string_value(json_object_get(spec, "cpv"));
	const char *slot = json_string_value(json_object_get(spec, "slot"));
	struct bf_err e = BF_ERR_INIT;
	struct bf_cpv c;

	bf_buf_reset(out);
	if (cpv == NULL || bf_cpv_split(&c, cpv, &e) < 0)
		return -1;
	bf_buf_addf(out, "%s/%s:%s", c.cat, c.pn, slot ? slot : "");
	bf_cpv_release(&c);
	return 0;
}

/* The build dependencies of job `id` built anew in its rebuild. */
static void
deps_built(struct builder *b, long long id, struct bf_strv *out)
{
	sqlite3_stmt *st = db_prep(b, "SELECT DISTINCT j.cpv FROM deps d JOIN "
	    "jobs j ON j.grp = d.dep WHERE d.job = ? AND j.reused = 0 AND "
	    "j.id <> ? ORDER BY j.cpv");

	if (st != NULL && sqlite3_bind_int64(st, 1, id) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 2, id) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW)
			bf_strv_push(out, (const char *)
			    sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* USE flags in `a` not in `b`, each with `sign`, appended to `out`. */
static size_t
use_minus(json_t *a, json_t *b, const char *sign, struct bf_buf *out)
{
	size_t i, j, n = 0;
	json_t *f, *g;
	int found;

	json_array_foreach(a, i, f) {
		found = 0;
		json_array_foreach(b, j, g)
			found |= json_equal(f, g);
		if (!found && json_is_string(f)) {
			bf_buf_addf(out, " %s%s", sign, json_string_value(f));
			n++;
		}
	}
	return n;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "?";
}

/* Not in the previous rebuild, another version, other USE flags. */
static void
why_plan(json_t *spec, json_t *old, int have_prev, struct bf_strv *why)
{
	struct bf_buf s = BF_BUF_INIT;

	if (!have_prev)
		bf_strv_push(why, "first rebuild of the profile");
	else if (old == NULL)
		bf_strv_push(why, "new: not in the previous rebuild");
	else if (!json_equal(json_object_get(old, "cpv"),
	    json_object_get(spec, "cpv"))) {
		bf_buf_addf(&s, "version: %s -> %s", jstr(old, "cpv"),
		    jstr(spec, "cpv"));
		bf_strv_push(why, s.buf);
	}
	if (old != NULL) {
		bf_buf_reset(&s);
		bf_buf_adds(&s, "USE:");
		if (use_minus(json_object_get(spec, "use"), json_object_get(old,
		    "use"), "+", &s) + use_minus(json_object_get(old, "use"),
		    json_object_get(spec, "use"), "-", &s) > 0)
			bf_strv_push(why, s.buf);
	}
	bf_buf_release(&s);
}

int
why_job(struct why_ctx *w, long long id, json_t *spec, struct bf_strv *why)
{
	struct bf_buf k = BF_BUF_INIT, s = BF_BUF_INIT;
	struct bf_strv deps = BF_STRV_INIT;
	json_t *old = NULL;
	size_t i;

	if (w->prev != NULL && why_slot_key(spec, &k) == 0)
		old = json_object_get(w->prev, k.buf);
	why_plan(spec, old, w->prev != NULL, why);
	for (i = 0; old != NULL && i < w->env.n; i++) {
		bf_buf_reset(&s);
		bf_buf_addf(&s, "configuration: %s", w->env.v[i]);
		bf_strv_push(why, s.buf);
	}
	deps_built(w->b, id, &deps);
	for (i = 0; i < deps.n; i++) {
		bf_buf_reset(&s);
		bf_buf_addf(&s, "dependency built anew: %s", deps.v[i]);
		bf_strv_push(why, s.buf);
	}
	bf_strv_release(&deps);
	bf_buf_release(&k);
	bf_buf_release(&s);
	/* The same version: its ebuild or an eclass may have changed. */
	return old != NULL && json_equal(json_object_get(old, "cpv"),
	    json_object_get(spec, "cpv"));
}

/*
 * The pin of repository `repo` among a rebuild's pins (its only one,
 * when the names differ), or NULL.
 */
static json_t *
pin_of(json_t *trees, const char *repo)
{
	size_t i;
	json_t *t;

	json_array_foreach(trees, i, t)
		if (strcmp(jstr(t, "name"), repo) == 0)
			return t;
	return json_array_size(trees) == 1 ? json_array_get(trees, 0) : NULL;
}

/* Tree `name` at `commit`, opened once per page; NULL if it cannot be. */
static struct bf_tree *
tree_at(struct why_ctx *w, const char *name, const char *commit)
{
	struct bf_buf path = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct why_tree *wt;
	size_t i;

	for (i = 0; i < w->ntrees; i++)
		if (strcmp(w->trees[i].name, name) == 0 &&
		    strcmp(w->trees[i].commit, commit) == 0)
			return w->trees[i].t;
	if (bf_grow(&w->trees, &w->atrees, w->ntrees + 1, sizeof(*w->trees),
	    4) < 0)
		return NULL;
	wt = &w->trees[w->ntrees];
	memset(wt, 0, sizeof(*wt));
	if ((wt->name = strdup(name)) == NULL ||
	    (wt->commit = strdup(commit)) == NULL) {
		free(wt->name);
		return NULL;
	}
	w->ntrees++;
	bf_tree_mirror_path(w->b->cfg.mirrors, name, &path);
	if (bf_tree_open(&wt->t, path.buf, commit, name, &e) < 0)
		wt->t = NULL;
	bf_buf_release(&path);
	return wt->t;
}

/* Value of KEY= in an md5-cache entry, into `out` ("" if none). */
static void
cache_value(const char *entry, const char *key, struct bf_buf *out)
{
	size_t kl = strlen(key);
	const char *l, *end;

	bf_buf_reset(out);
	for (l = entry; l != NULL && *l != '\0'; l = end ? end + 1 : NULL) {
		end = strchr(l, '\n');
		if (strncmp(l, key, kl) == 0 && l[kl] == '=') {
			bf_buf_add(out, l + kl + 1, end ? (size_t)(end - l -
			    (ptrdiff_t)kl - 1) : strlen(l + kl + 1));
			return;
		}
	}
}

/* The md5 of eclass `name` in an _eclasses_ value, into `out`. */
static void
eclass_md5(const char *list, const char *name, struct bf_buf *out)
{
	struct bf_strv f = BF_STRV_INIT;
	const char *p = list, *tab;
	size_t i;

	bf_buf_reset(out);
	for (; *p != '\0'; p = tab ? tab + 1 : p + strlen(p)) {
		tab = strchr(p, '\t');
		bf_strv_pushn(&f, p, tab ? (size_t)(tab - p) : strlen(p));
		if (tab == NULL)
			break;
	}
	for (i = 0; i + 1 < f.n; i += 2)
		if (strcmp(f.v[i], name) == 0)
			bf_buf_adds(out, f.v[i + 1]);
	bf_strv_release(&f);
}

/* The eclasses whose md5 differs between two _eclasses_ values. */
static void
eclass_changes(const char *old, const char *new, struct bf_strv *why)
{
	struct bf_buf a = BF_BUF_INIT, s = BF_BUF_INIT;
	struct bf_strv f = BF_STRV_INIT;
	size_t i;

	while (*new != '\0') {
		const char *tab = strchr(new, '\t');

		bf_strv_pushn(&f, new, tab ? (size_t)(tab - new) : strlen(new));
		new = tab ? tab + 1 : new + strlen(new);
	}
	for (i = 0; i < f.n; i += 2) {
		eclass_md5(old, f.v[i], &a);
		if (i + 1 < f.n && strcmp(a.buf, f.v[i + 1]) == 0)
			continue;
		bf_buf_reset(&s);
		bf_buf_addf(&s, "eclass %s changed", f.v[i]);
		bf_strv_push(why, s.buf);
	}
	bf_strv_release(&f);
	bf_buf_release(&a);
	bf_buf_release(&s);
}

/* md5-cache entry of `cpv` in tree `repo` of `trees`: 0, or -1. */
static int
cache_entry(struct why_ctx *w, json_t *trees, const char *repo,
    const char *cpv, struct bf_buf *out)
{
	struct bf_buf path = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;
	json_t *pin = pin_of(trees, repo);
	struct bf_tree *t;
	int rc = -1;

	if (pin != NULL && json_is_string(json_object_get(pin, "commit")) &&
	    (t = tree_at(w, jstr(pin, "name"), jstr(pin, "commit"))) != NULL) {
		bf_buf_addf(&path, "metadata/md5-cache/%s", cpv);
		rc = bf_tree_read_path(t, path.buf, out, &e) < 0 ? -1 : 0;
	}
	bf_buf_release(&path);
	return rc;
}

void
why_tree(struct why_ctx *w, json_t *spec, struct bf_strv *why)
{
	struct bf_buf a = BF_BUF_INIT, b = BF_BUF_INIT;
	struct bf_buf va = BF_BUF_INIT, vb = BF_BUF_INIT;
	const char *cpv = jstr(spec, "cpv"), *repo = jstr(spec, "repo");

	if (cache_entry(w, w->old_trees, repo, cpv, &a) < 0 ||
	    cache_entry(w, w->new_trees, repo, cpv, &b) < 0) {
		if (why->n == 0)
			bf_strv_push(why, "the ebuild, an eclass or a "
			    "dependency's build key changed (the trees could "
			    "not be read)");
		goto out;
	}
	cache_value(a.buf, "_md5_", &va);
	cache_value(b.buf, "_md5_", &vb);
	if (strcmp(va.buf, vb.buf) != 0)
		bf_strv_push(why, "ebuild changed");
	cache_value(a.buf, "_eclasses_", &va);
	cache_value(b.buf, "_eclasses_", &vb);
	eclass_changes(va.buf, vb.buf, why);
	if (why->n == 0)
		bf_strv_push(why, "a dependency's build key changed (its "
		    "runtime closure or a slot operator's sub-slot)");
out:
	bf_buf_release(&a);
	bf_buf_release(&b);
	bf_buf_release(&va);
	bf_buf_release(&vb);
}

void
why_release(struct why_ctx *w)
{
	size_t i;

	for (i = 0; i < w->ntrees; i++) {
		if (w->trees[i].t != NULL)
			bf_tree_close(w->trees[i].t);
		free(w->trees[i].name);
		free(w->trees[i].commit);
	}
	free(w->trees);
	json_decref(w->prev);
	bf_strv_release(&w->env);
	bf_buf_release(&w->moved);
}
