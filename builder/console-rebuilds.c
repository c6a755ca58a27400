/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The console's rebuilds: the latest ones, and one with what changed
 * in its inputs since the profile's previous rebuild and why each of
 * its packages was built rather than reused (console-why.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "portage/atom.h"
#include "builder.h"
#include "console.h"
#include "base/banned.h"

static const char *
col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s != NULL ? s : "";
}

static void
rebuild_row(struct cpage *p, sqlite3_stmt *st)
{
	long long id = sqlite3_column_int64(st, 0);

	cp_addf(p, "<tr><td><a href=\"/console/rebuilds/%lld\">%lld</a></td>"
	    "<td>%s</td><td class=\"state-%s\">%s</td><td>%s</td><td>", id, id,
	    col(st, 1), col(st, 2), col(st, 2), col(st, 7));
	cp_time(p, sqlite3_column_int64(st, 3));
	cp_addf(p, "</td><td>%lld built, %lld reused</td><td>%s</td><td>%s"
	    "</td></tr>", sqlite3_column_int64(st, 8),
	    sqlite3_column_int64(st, 9), col(st, 5), col(st, 6));
}

void
console_rebuilds(struct cpage *p)
{
	sqlite3_stmt *st;

	p->title = "Rebuilds";
	cp_addf(p, "<h1>Rebuilds</h1><table id=\"rebuilds\"><tr><th>rebuild"
	    "</th><th>profile</th><th>state</th><th>by</th><th>created</th>"
	    "<th>jobs</th><th>snapshot</th><th>error</th></tr>");
	pthread_mutex_lock(&p->b->mu);
	st = db_prep(p->b, "SELECT id, profile, state, created, finished, "
	    "snapshot, error, by, (SELECT count(*) FROM jobs WHERE rebuild = "
	    "r.id AND reused = 0), (SELECT count(*) FROM jobs WHERE rebuild = "
	    "r.id AND reused <> 0) FROM rebuilds r ORDER BY id DESC LIMIT 100");
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		rebuild_row(p, st);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&p->b->mu);
	cp_addf(p, "</table>");
}

/* A rebuild as its page shows it; JSON texts parsed. */
struct rb {
	long long	 id;
	struct bf_buf	 profile, state, by, snapshot, error;
	long long	 created, finished;
	json_t		*env, *trees;
};

static void
rb_release(struct rb *r)
{
	bf_buf_release(&r->profile);
	bf_buf_release(&r->state);
	bf_buf_release(&r->by);
	bf_buf_release(&r->snapshot);
	bf_buf_release(&r->error);
	json_decref(r->env);
	json_decref(r->trees);
}

/* Rebuild `id` into `r`, with b->mu held: 1, or 0 when there is none. */
static int
rb_load(struct builder *b, long long id, struct rb *r)
{
	sqlite3_stmt *st = db_prep(b, "SELECT profile, state, by, snapshot, "
	    "error, created, finished, env, trees FROM rebuilds WHERE id = ?");
	int found = 0;

	r->id = id;
	if (st != NULL && sqlite3_bind_int64(st, 1, id) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		bf_buf_adds(&r->profile, col(st, 0));
		bf_buf_adds(&r->state, col(st, 1));
		bf_buf_adds(&r->by, col(st, 2));
		bf_buf_adds(&r->snapshot, col(st, 3));
		bf_buf_adds(&r->error, col(st, 4));
		r->created = sqlite3_column_int64(st, 5);
		r->finished = sqlite3_column_int64(st, 6);
		r->env = json_loads(col(st, 7), 0, NULL);
		r->trees = json_loads(col(st, 8), 0, NULL);
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

/* The profile's rebuild before `r` that has jobs, or 0. */
static long long
rb_previous(struct builder *b, const struct rb *r)
{
	sqlite3_stmt *st = db_prep(b, "SELECT max(rebuild) FROM jobs WHERE "
	    "profile = ? AND rebuild < ?");
	long long id = 0;

	if (st != NULL && db_bind_text(st, 1, r->profile.buf) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 2, r->id) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* Rebuild `id`'s plan entries by "cat/pn:slot", with b->mu held. */
static json_t *
prev_specs(struct builder *b, long long id)
{
	sqlite3_stmt *st = db_prep(b, "SELECT spec FROM jobs WHERE "
	    "rebuild = ?");
	struct bf_buf k = BF_BUF_INIT;
	json_t *m = json_object(), *spec;

	if (st != NULL && sqlite3_bind_int64(st, 1, id) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW) {
			spec = json_loads(col(st, 0), 0, NULL);
			if (spec != NULL && why_slot_key(spec, &k) == 0)
				json_object_set(m, k.buf, spec);
			json_decref(spec);
		}
	sqlite3_finalize(st);
	bf_buf_release(&k);
	return m;
}

/* The configuration keys whose values differ, in `changed`. */
static void
env_changes(struct cpage *p, json_t *old, json_t *new, struct bf_strv *changed)
{
	const char *k;
	json_t *v;

	json_object_foreach(new, k, v) {
		json_t *o = json_object_get(old, k);

		if (o != NULL && json_equal(o, v))
			continue;
		bf_strv_push(changed, k);
		cp_addf(p, "<li class=\"input-env\">configuration %s", k);
		if (json_is_string(v) && json_is_string(o))
			cp_addf(p, ": &quot;%s&quot; &rarr; &quot;%s&quot;",
			    json_string_value(o), json_string_value(v));
		cp_addf(p, "</li>");
	}
}

/* The pinned trees whose commit moved, as "name a → b" in `moved`. */
static void
tree_changes(struct cpage *p, json_t *old, json_t *new, struct bf_buf *moved)
{
	size_t i, j;
	json_t *t, *o;

	json_array_foreach(new, i, t) {
		const char *name = json_string_value(json_object_get(t,
		    "name"));
		const char *c = json_string_value(json_object_get(t, "commit"));
		const char *oc = NULL;

		json_array_foreach(old, j, o)
			if (name != NULL && json_equal(json_object_get(o,
			    "name"), json_object_get(t, "name")))
				oc = json_string_value(json_object_get(o,
				    "commit"));
		if (c == NULL || (oc != NULL && strcmp(oc, c) == 0))
			continue;
		cp_addf(p, "<li class=\"input-tree\">tree %s: %s &rarr; %s"
		    "</li>", name ? name : "?", oc ? oc : "(new)", c);
		bf_buf_addf(moved, "%s%s %.12s..%.12s", moved->len ? ", " : "",
		    name ? name : "?", oc ? oc : "", c);
	}
}

static void
inputs(struct cpage *p, const struct rb *r, const struct rb *pr,
    struct why_ctx *in)
{
	if (pr == NULL) {
		cp_addf(p, "<p id=\"inputs\">The first rebuild of %s: every "
		    "package is built (or reused from an earlier profile "
		    "build).</p>", r->profile.buf);
		return;
	}
	cp_addf(p, "<h2>Inputs changed since rebuild <a href=\"/console/"
	    "rebuilds/%lld\">%lld</a></h2><ul id=\"inputs\">", pr->id, pr->id);
	env_changes(p, pr->env, r->env, &in->env);
	tree_changes(p, pr->trees, r->trees, &in->moved);
	if (in->env.n == 0 && in->moved.len == 0)
		cp_addf(p, "<li>none: same configuration and trees</li>");
	cp_addf(p, "</ul>");
}

/* A package of the rebuild, and why it was built. */
struct rrow {
	long long	 id;
	char		*cpv, *state;
	int		 reused;
	json_t		*spec;		/* NULL: reused */
	int		 look;		/* why_tree() to tell */
	struct bf_strv	 why;
};

struct rrows {
	struct rrow	*v;
	size_t		 n, alloc;
};

static void
rrows_release(struct rrows *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].cpv);
		free(l->v[i].state);
		json_decref(l->v[i].spec);
		bf_strv_release(&l->v[i].why);
	}
	free(l->v);
}

/* The rebuild's packages and what the database tells of why, b->mu held. */
static void
rows_load(struct why_ctx *w, long long rebuild, struct rrows *l)
{
	sqlite3_stmt *st = db_prep(w->b, "SELECT id, cpv, state, reused, spec "
	    "FROM jobs WHERE rebuild = ? ORDER BY reused, ord");
	struct rrow *r;

	if (st == NULL || sqlite3_bind_int64(st, 1, rebuild) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW &&
	    bf_grow(&l->v, &l->alloc, l->n + 1, sizeof(*l->v), 64) == 0) {
		r = &l->v[l->n++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->cpv = strdup(col(st, 1));
		r->state = strdup(col(st, 2));
		r->reused = sqlite3_column_int(st, 3) != 0;
		if (!r->reused && (r->spec = json_loads(col(st, 4), 0,
		    NULL)) != NULL)
			r->look = why_job(w, r->id, r->spec, &r->why);
	}
out:
	sqlite3_finalize(st);
}

/*
 * The rows no recorded input explains: their md5-cache entries, read
 * from the mirrors without b->mu, and only while no rebuild is fetching
 * or planning (plan_mu; else the generic reason).
 */
static void
rows_look(struct why_ctx *w, struct rrows *l)
{
	int locked = pthread_mutex_trylock(&w->b->plan_mu) == 0;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!l->v[i].look)
			continue;
		if (locked && w->old_trees != NULL)
			why_tree(w, l->v[i].spec, &l->v[i].why);
		else if (l->v[i].why.n == 0)
			bf_strv_push(&l->v[i].why, "the ebuild, an eclass or a "
			    "dependency's build key changed");
	}
	if (locked)
		pthread_mutex_unlock(&w->b->plan_mu);
}

static void
rows_show(struct cpage *p, const struct rrows *l)
{
	const struct rrow *r;
	size_t i, j;

	cp_addf(p, "<h2>Packages</h2><table id=\"jobs\"><tr><th>job</th><th>"
	    "package</th><th>state</th><th></th><th>why built</th></tr>");
	for (i = 0; i < l->n; i++) {
		r = &l->v[i];
		cp_addf(p, "<tr class=\"job\" data-cpv=\"%s\"><td><a href=\""
		    "/console/jobs/%lld\">%lld</a></td><td class=\"cpv\">%s"
		    "</td><td class=\"state-%s\">%s</td><td class=\"built\">%s"
		    "</td><td class=\"reason\">", r->cpv, r->id, r->id, r->cpv,
		    r->state, r->state, r->reused ? "reused" : "built");
		for (j = 0; j < r->why.n; j++)
			cp_addf(p, "%s%s", j ? "; " : "", r->why.v[j]);
		cp_addf(p, "</td></tr>");
	}
	cp_addf(p, "</table>");
}

static void
rebuild_head(struct cpage *p, const struct rb *r)
{
	p->title = "Rebuild";
	cp_addf(p, "<h1>Rebuild %lld of %s</h1><table><tr><th>state</th><td "
	    "id=\"rebuild-state\">%s</td></tr><tr><th>by</th><td>%s</td></tr>"
	    "<tr><th>created</th><td>", r->id, r->profile.buf, r->state.buf,
	    r->by.len ? r->by.buf : "the builder");
	cp_time(p, r->created);
	cp_addf(p, "</td></tr><tr><th>finished</th><td>");
	cp_time(p, r->finished);
	cp_addf(p, "</td></tr><tr><th>snapshot</th><td><a href=\"/console/"
	    "snapshots?profile=%s\" id=\"rebuild-snapshot\">%s</a></td></tr>"
	    "<tr><th>error</th><td>%s</td></tr></table>", cp_u(p,
	    r->profile.buf), r->snapshot.buf, r->error.buf);
}

static void
rb_init(struct rb *r)
{
	memset(r, 0, sizeof(*r));
	r->profile = r->state = r->by = r->snapshot = r->error =
	    (struct bf_buf)BF_BUF_INIT;
}

void
console_rebuild(struct cpage *p)
{
	struct why_ctx w;
	struct rrows rows = { NULL, 0, 0 };
	struct rb r, pr;
	char *end;
	long long id = strtoll(p->url + strlen("/console/rebuilds/"), &end,
	    10), prev;

	memset(&w, 0, sizeof(w));
	w.b = p->b;
	w.moved = (struct bf_buf)BF_BUF_INIT;
	rb_init(&r);
	rb_init(&pr);
	pthread_mutex_lock(&p->b->mu);
	if (id <= 0 || *end != '\0' || !rb_load(p->b, id, &r)) {
		pthread_mutex_unlock(&p->b->mu);
		cp_error(p, 404, "no such rebuild");
		return;
	}
	rebuild_head(p, &r);
	if ((prev = rb_previous(p->b, &r)) > 0 && rb_load(p->b, prev, &pr))
		w.prev = prev_specs(p->b, prev);
	inputs(p, &r, w.prev != NULL ? &pr : NULL, &w);
	w.old_trees = w.prev != NULL ? pr.trees : NULL;
	w.new_trees = r.trees;
	rows_load(&w, id, &rows);
	pthread_mutex_unlock(&p->b->mu);
	rows_look(&w, &rows);
	rows_show(p, &rows);
	rrows_release(&rows);
	why_release(&w);
	rb_release(&r);
	rb_release(&pr);
}
