/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The console's rebuilds: the latest ones, and one with why each of
 * its packages was built rather than reused.  A package is reused when
 * the profile already has its build key (lib/portage/plan.h: the
 * ebuild's and eclasses' md5, USE, CHOST and the flags, the keys of
 * what is installed to build it, slot operators).  The builder records
 * each job's plan entry (version, slot, USE, key), each rebuild's
 * configuration and pins, and which groups a job is built after; the
 * reasons compare those with the profile's previous rebuild:
 *
 *	new            the package was not in the previous rebuild
 *	version        another version
 *	USE            flags turned on (+) or off (-)
 *	configuration  CHOST, CFLAGS, ... (the rebuild's, named)
 *	dependency     a build dependency built anew in this rebuild
 *	tree           none of those: the ebuild or an eclass changed,
 *	               in the pinned trees whose commit moved
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

/* "cat/pn:slot" of a plan entry, into `out`: 0, or -1. */
static int
slot_key(json_t *spec, struct bf_buf *out)
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

/* Rebuild `id`'s plan entries by "cat/pn:slot", with b->mu held. */
static json_t *
prev_specs(struct builder *b, long long id)
{
	sqlite3_stmt *st = db_prep(b, "SELECT spec FROM jobs WHERE rebuild = ?");
	struct bf_buf k = BF_BUF_INIT;
	json_t *m = json_object(), *spec;

	if (st != NULL && sqlite3_bind_int64(st, 1, id) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW) {
			spec = json_loads(col(st, 0), 0, NULL);
			if (spec != NULL && slot_key(spec, &k) == 0)
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
		const char *name = json_string_value(json_object_get(t, "name"));
		const char *c = json_string_value(json_object_get(t, "commit"));
		const char *oc = NULL;

		json_array_foreach(old, j, o)
			if (name != NULL && json_equal(json_object_get(o, "name"),
			    json_object_get(t, "name")))
				oc = json_string_value(json_object_get(o,
				    "commit"));
		if (c == NULL || (oc != NULL && strcmp(oc, c) == 0))
			continue;
		cp_addf(p, "<li class=\"input-tree\">tree %s: %s &rarr; %s</li>",
		    name ? name : "?", oc ? oc : "(new)", c);
		bf_buf_addf(moved, "%s%s %.12s..%.12s", moved->len ? ", " : "",
		    name ? name : "?", oc ? oc : "", c);
	}
}

/* What the rebuild's own inputs changed; `env` and `moved` for the jobs. */
struct rb_inputs {
	struct bf_strv	 env;
	struct bf_buf	 moved;
	json_t		*prev;		/* plan entries by slot; NULL: none */
	long long	 prev_id;
};

static void
inputs(struct cpage *p, const struct rb *r, const struct rb *pr,
    struct rb_inputs *in)
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
			bf_strv_push(out, col(st, 0));
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

/* Why job `id` (plan entry `spec`) was built: its reasons, into `why`. */
static void
job_reasons(struct builder *b, long long id, json_t *spec,
    const struct rb_inputs *in, struct bf_strv *why)
{
	struct bf_buf k = BF_BUF_INIT, s = BF_BUF_INIT;
	struct bf_strv deps = BF_STRV_INIT;
	json_t *old = NULL;
	size_t i;

	if (in->prev != NULL && slot_key(spec, &k) == 0)
		old = json_object_get(in->prev, k.buf);
	if (in->prev == NULL)
		bf_strv_push(why, "first rebuild of the profile");
	else if (old == NULL)
		bf_strv_push(why, "new: not in the previous rebuild");
	else if (!json_equal(json_object_get(old, "cpv"),
	    json_object_get(spec, "cpv"))) {
		bf_buf_addf(&s, "version: %s -> %s", json_string_value(
		    json_object_get(old, "cpv")), json_string_value(
		    json_object_get(spec, "cpv")));
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
	for (i = 0; old != NULL && i < in->env.n; i++) {
		bf_buf_reset(&s);
		bf_buf_addf(&s, "configuration: %s", in->env.v[i]);
		bf_strv_push(why, s.buf);
	}
	deps_built(b, id, &deps);
	for (i = 0; i < deps.n; i++) {
		bf_buf_reset(&s);
		bf_buf_addf(&s, "dependency built anew: %s", deps.v[i]);
		bf_strv_push(why, s.buf);
	}
	if (why->n == 0) {
		bf_buf_reset(&s);
		if (json_equal(json_object_get(old, "key"),
		    json_object_get(spec, "key")))
			bf_buf_adds(&s, "same build key as before, but not in "
			    "the profile's packages");
		else
			bf_buf_addf(&s, "ebuild or eclass changed%s%s",
			    in->moved.len ? ": tree " : "", in->moved.len ?
			    in->moved.buf : "");
		bf_strv_push(why, s.buf);
	}
	bf_strv_release(&deps);
	bf_buf_release(&k);
	bf_buf_release(&s);
}

static void
job_line(struct cpage *p, sqlite3_stmt *st, const struct rb_inputs *in)
{
	struct bf_strv why = BF_STRV_INIT;
	long long id = sqlite3_column_int64(st, 0);
	int reused = sqlite3_column_int(st, 3) != 0;
	json_t *spec = reused ? NULL : json_loads(col(st, 4), 0, NULL);
	size_t i;

	cp_addf(p, "<tr class=\"job\" data-cpv=\"%s\"><td><a href=\"/console/"
	    "jobs/%lld\">%lld</a></td><td class=\"cpv\">%s</td><td class=\""
	    "state-%s\">%s</td><td class=\"built\">%s</td><td class=\"reason\">",
	    col(st, 1), id, id, col(st, 1), col(st, 2), col(st, 2), reused ?
	    "reused" : "built");
	if (spec != NULL)
		job_reasons(p->b, id, spec, in, &why);
	for (i = 0; i < why.n; i++)
		cp_addf(p, "%s%s", i ? "; " : "", why.v[i]);
	cp_addf(p, "</td></tr>");
	bf_strv_release(&why);
	json_decref(spec);
}

static void
job_lines(struct cpage *p, const struct rb *r, const struct rb_inputs *in)
{
	sqlite3_stmt *st = db_prep(p->b, "SELECT id, cpv, state, reused, spec "
	    "FROM jobs WHERE rebuild = ? ORDER BY reused, ord");

	cp_addf(p, "<h2>Packages</h2><table id=\"jobs\"><tr><th>job</th><th>"
	    "package</th><th>state</th><th></th><th>why built</th></tr>");
	if (st != NULL && sqlite3_bind_int64(st, 1, r->id) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW)
			job_line(p, st, in);
	sqlite3_finalize(st);
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
	    "<tr><th>error</th><td>%s</td></tr></table>", r->profile.buf,
	    r->snapshot.buf, r->error.buf);
}

void
console_rebuild(struct cpage *p)
{
	struct rb r, pr;
	struct rb_inputs in = { BF_STRV_INIT, BF_BUF_INIT, NULL, 0 };
	char *end;
	long long id = strtoll(p->url + strlen("/console/rebuilds/"), &end,
	    10);

	memset(&r, 0, sizeof(r));
	memset(&pr, 0, sizeof(pr));
	r.profile = r.state = r.by = r.snapshot = r.error =
	    (struct bf_buf)BF_BUF_INIT;
	pr.profile = pr.state = pr.by = pr.snapshot = pr.error =
	    (struct bf_buf)BF_BUF_INIT;
	pthread_mutex_lock(&p->b->mu);
	if (id <= 0 || *end != '\0' || !rb_load(p->b, id, &r)) {
		pthread_mutex_unlock(&p->b->mu);
		cp_error(p, 404, "no such rebuild");
		return;
	}
	rebuild_head(p, &r);
	if ((in.prev_id = rb_previous(p->b, &r)) > 0 &&
	    rb_load(p->b, in.prev_id, &pr))
		in.prev = prev_specs(p->b, in.prev_id);
	inputs(p, &r, in.prev != NULL ? &pr : NULL, &in);
	job_lines(p, &r, &in);
	pthread_mutex_unlock(&p->b->mu);
	json_decref(in.prev);
	bf_strv_release(&in.env);
	bf_buf_release(&in.moved);
	rb_release(&r);
	rb_release(&pr);
}
