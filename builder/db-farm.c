/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The farm's rows in the database (schema: db.c): workers and their
 * leases' heartbeats, the jobs an upload is for, the rebuilds and
 * packages publish.c takes to the repository.  Only here (and in the
 * other db*.c) is SQL; the callers get C structs (builder.h).
 *
 * Three columns hold JSON text, their storage format since the first
 * schema: workers.tags (a list of strings), rebuilds.env and
 * rebuilds.trees (written by rebuild.c) and jobs.spec (the plan
 * entry).  The column_*() helpers below decode them: that is a stored
 * format, not the HTTP API, and it stays with the table.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "builder.h"
#include "base/banned.h"

/* Column `i` as a copy; NULL for SQL NULL (and, with errno, ENOMEM). */
static char *
col_strdup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s != NULL ? strdup(s) : NULL;
}

/* Column `i` as JSON (NULL when it is not JSON). */
static json_t *
col_json(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s != NULL ? json_loads(s, 0, NULL) : NULL;
}

/* A string member of a stored JSON object, copied; "" when absent. */
static int
json_member(json_t *o, const char *key, char **out)
{
	const char *s = json_string_value(json_object_get(o, key));

	return (*out = strdup(s != NULL ? s : "")) != NULL ? 0 : -ENOMEM;
}

/* The strings of a stored JSON list into `sv`; others are skipped. */
static int
column_strings(json_t *a, struct bf_strv *sv)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && bf_strv_push(sv, json_string_value(v))
		    < 0)
			return -ENOMEM;
	return 0;
}

/* workers.tags: a JSON list of strings. */
static char *
column_tags_encode(const struct bf_strv *tags)
{
	json_t *a = json_array();
	char *s = NULL;
	size_t i;

	for (i = 0; a != NULL && i < tags->n; i++)
		if (json_array_append_new(a, json_string(tags->v[i])) < 0)
			goto out;
	if (a != NULL)
		s = json_dumps(a, JSON_COMPACT);
out:
	json_decref(a);
	return s;
}

/* rebuilds.trees: [{"name": N, "commit": C, ...}, ...]. */
static int
column_trees(json_t *a, struct farm_pin **vp, size_t *np)
{
	struct farm_pin *v;
	size_t i, n = 0;
	json_t *t;

	if ((v = calloc(json_array_size(a) + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	*vp = v;
	json_array_foreach(a, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		const char *commit = json_string_value(json_object_get(t,
		    "commit"));

		/* An entry without a name or a commit pins nothing. */
		if (name == NULL || commit == NULL)
			continue;
		if ((v[n].name = strdup(name)) == NULL ||
		    (v[n].commit = strdup(commit)) == NULL) {
			*np = n + 1;
			return -ENOMEM;
		}
		n++;
	}
	*np = n;
	return 0;
}

static void
pins_free(struct farm_pin *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].commit);
	}
	free(v);
}

/* rebuilds.env: {"chost", "cflags", ..., "index_header": {K: V}}. */
static int
column_env(json_t *o, struct farm_env *env)
{
	const char *k;
	json_t *v;

	if (json_member(o, "chost", &env->chost) < 0 ||
	    json_member(o, "cflags", &env->cflags) < 0 ||
	    json_member(o, "cxxflags", &env->cxxflags) < 0 ||
	    json_member(o, "ldflags", &env->ldflags) < 0)
		return -ENOMEM;
	json_object_foreach(json_object_get(o, "index_header"), k, v)
		if (json_is_string(v) &&
		    (bf_strv_push(&env->header_keys, k) < 0 ||
		    bf_strv_push(&env->header_values, json_string_value(v)) < 0))
			return -ENOMEM;
	return 0;
}

static void
farm_env_release(struct farm_env *env)
{
	free(env->chost);
	free(env->cflags);
	free(env->cxxflags);
	free(env->ldflags);
	bf_strv_release(&env->header_keys);
	bf_strv_release(&env->header_values);
}

/* jobs.spec: {"cpv", "repo", "iuse": [...], "use": [...], ...}. */
static int
column_spec(json_t *o, struct farm_spec *sp)
{
	if (json_member(o, "cpv", &sp->cpv) < 0 ||
	    json_member(o, "repo", &sp->repo) < 0 ||
	    column_strings(json_object_get(o, "iuse"), &sp->iuse) < 0 ||
	    column_strings(json_object_get(o, "use"), &sp->use) < 0)
		return -ENOMEM;
	return 0;
}

int
db_worker_put(struct builder *b, const char *name, const struct bf_strv *tags,
    int slots)
{
	sqlite3_stmt *st;
	char *s = column_tags_encode(tags);
	int ok;

	st = db_prep(b, "INSERT INTO workers(name, tags, slots, registered, "
	    "last_seen) VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(name) DO "
	    "UPDATE SET tags=?2, slots=?3, registered=?4, last_seen=?4");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, s ? s : "[]", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, slots);
	sqlite3_bind_int64(st, 4, now_s());
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	free(s);
	return ok ? 0 : -1;
}

int
db_worker_tags(struct builder *b, const char *name, struct bf_strv *tags)
{
	static const char sql[] = "SELECT tags FROM workers WHERE name=?";
	sqlite3_stmt *st = db_stmt(b, sql);
	json_t *t = NULL;
	int rc = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		t = col_json(st, 0);
	sqlite3_reset(st);
	if (t != NULL)
		rc = column_strings(t, tags) < 0 ? -ENOMEM : 1;
	json_decref(t);
	return rc;
}

void
db_worker_seen(struct builder *b, const char *name)
{
	static const char sql[] = "UPDATE workers SET last_seen=? WHERE "
	    "name=?";
	sqlite3_stmt *st = db_stmt(b, sql);

	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, now_s());
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_reset(st);
}

int
db_lease_extend(struct builder *b, long long job, const char *worker,
    const char *lease, long long expires)
{
	static const char sql[] = "UPDATE jobs SET lease_expires=? "
	    "WHERE id=? AND state='running' AND worker=? AND lease=?";
	sqlite3_stmt *st = db_stmt(b, sql);
	int ok;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, expires);
	sqlite3_bind_int64(st, 2, job);
	sqlite3_bind_text(st, 3, worker, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, lease, -1, SQLITE_TRANSIENT);
	ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(b->db) == 1;
	sqlite3_reset(st);
	return ok;
}

void
worker_rows_free(struct worker_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		bf_strv_release(&v[i].tags);
		bf_strv_release(&v[i].may_build);
	}
	free(v);
}

/* One row of the workers list into `w`. */
static int
worker_row_read(sqlite3_stmt *st, struct worker_row *w)
{
	json_t *tags = col_json(st, 1);
	int rc;

	memset(w, 0, sizeof(*w));
	w->name = col_strdup(st, 0);
	rc = column_strings(tags, &w->tags);
	json_decref(tags);
	w->slots = sqlite3_column_int(st, 2);
	w->last_seen = sqlite3_column_int64(st, 3);
	w->running = sqlite3_column_int64(st, 4);
	return w->name == NULL || rc < 0 ? -ENOMEM : 0;
}

int
db_workers_list(struct builder *b, struct worker_row **vp, size_t *np)
{
	struct worker_row *v = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int rc = 0;

	st = db_prep(b, "SELECT w.name, w.tags, w.slots, w.last_seen, "
	    "(SELECT count(*) FROM jobs j WHERE j.worker = w.name AND "
	    "j.state='running') FROM workers w ORDER BY w.name");
	while (rc == 0 && st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		if (bf_grow(&v, &alloc, n + 1, sizeof(*v), 8) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = worker_row_read(st, &v[n++]);
	}
	sqlite3_finalize(st);
	if (rc < 0) {
		worker_rows_free(v, n);
		return rc;
	}
	*vp = v;
	*np = n;
	return 0;
}

void
upload_job_release(struct upload_job *j)
{
	free(j->state);
	free(j->worker);
	free(j->lease);
	free(j->profile);
	free(j->spec.cpv);
	free(j->spec.repo);
	bf_strv_release(&j->spec.iuse);
	bf_strv_release(&j->spec.use);
	farm_env_release(&j->env);
	pins_free(j->trees, j->ntrees);
	memset(j, 0, sizeof(*j));
}

/* The stored JSON columns of an upload's job: -ENOMEM when one is bad. */
static int
upload_job_columns(sqlite3_stmt *st, struct upload_job *j)
{
	json_t *spec = col_json(st, 4), *env = col_json(st, 5),
	    *trees = col_json(st, 6);
	int rc = -ENOMEM;

	if (spec != NULL && env != NULL && trees != NULL &&
	    column_spec(spec, &j->spec) == 0 &&
	    column_env(env, &j->env) == 0 &&
	    column_trees(trees, &j->trees, &j->ntrees) == 0)
		rc = 0;
	json_decref(spec);
	json_decref(env);
	json_decref(trees);
	return rc;
}

int
db_upload_job(struct builder *b, long long job, struct upload_job *j)
{
	sqlite3_stmt *st;
	int rc = 0;

	memset(j, 0, sizeof(*j));
	st = db_prep(b, "SELECT j.state, j.worker, j.lease, j.profile, "
	    "j.spec, r.env, r.trees FROM jobs j JOIN rebuilds r ON r.id = "
	    "j.rebuild WHERE j.id = ?");
	sqlite3_bind_int64(st, 1, job);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		rc = 1;
		j->state = col_strdup(st, 0);
		j->worker = col_strdup(st, 1);
		j->lease = col_strdup(st, 2);
		j->profile = col_strdup(st, 3);
		if (j->state == NULL || j->profile == NULL ||
		    (j->worker == NULL && sqlite3_column_type(st, 1) !=
		    SQLITE_NULL) || (j->lease == NULL &&
		    sqlite3_column_type(st, 2) != SQLITE_NULL) ||
		    upload_job_columns(st, j) < 0)
			rc = -ENOMEM;
	}
	sqlite3_finalize(st);
	if (rc <= 0)
		upload_job_release(j);
	return rc;
}

void
db_job_set_error(struct builder *b, long long job, const char *msg)
{
	sqlite3_stmt *st = db_prep(b, "UPDATE jobs SET error=? WHERE id=? AND "
	    "state='running'");

	sqlite3_bind_text(st, 1, msg, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, job);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

void
pub_rebuild_release(struct pub_rebuild *r)
{
	free(r->profile);
	free(r->by);
	farm_env_release(&r->env);
	pins_free(r->trees, r->ntrees);
	memset(r, 0, sizeof(*r));
}

int
db_pub_rebuild(struct builder *b, long long id, struct pub_rebuild *r)
{
	sqlite3_stmt *st;
	json_t *trees = NULL, *env = NULL;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	st = db_prep(b, "SELECT profile, trees, by, env FROM rebuilds WHERE "
	    "id=?");
	sqlite3_bind_int64(st, 1, id);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		trees = col_json(st, 1);
		env = col_json(st, 3);
		if ((r->profile = col_strdup(st, 0)) == NULL ||
		    (sqlite3_column_type(st, 2) != SQLITE_NULL &&
		    (r->by = col_strdup(st, 2)) == NULL) ||
		    column_trees(trees, &r->trees, &r->ntrees) < 0 ||
		    column_env(env, &r->env) < 0)
			rc = -ENOMEM;
	}
	sqlite3_finalize(st);
	json_decref(trees);
	json_decref(env);
	if (rc < 0)
		pub_rebuild_release(r);
	return rc;
}

int
db_pub_packages(struct builder *b, long long id, struct pubpkg **vp,
    size_t *np)
{
	struct pubpkg *v = NULL;
	size_t n = 0, alloc = 0, i;
	sqlite3_stmt *st;
	int src = SQLITE_ERROR;

	st = db_prep(b, "SELECT j.path, p.pool FROM jobs j LEFT JOIN "
	    "published p ON p.profile=j.profile AND p.path=j.path WHERE "
	    "j.rebuild=? AND j.state='done' ORDER BY j.ord");
	sqlite3_bind_int64(st, 1, id);
	while (st != NULL && (src = sqlite3_step(st)) == SQLITE_ROW) {
		if (bf_grow(&v, &alloc, n + 1, sizeof(*v), 64) < 0)
			break;
		memset(&v[n], 0, sizeof(v[n]));
		if ((v[n].path = col_strdup(st, 0)) == NULL)
			break;
		n++;
		if (sqlite3_column_type(st, 1) != SQLITE_NULL &&
		    (v[n - 1].pool = col_strdup(st, 1)) == NULL)
			break;
	}
	sqlite3_finalize(st);
	if (src == SQLITE_DONE) {
		*vp = v;
		*np = n;
		return 0;
	}
	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].pool);
	}
	free(v);
	return src == SQLITE_ROW ? -ENOMEM : -EIO;
}

void
db_published_put(struct builder *b, const char *profile,
    const struct pubpkg *v, size_t n)
{
	sqlite3_stmt *st;
	size_t i;

	if (db_begin(b) < 0)
		return;
	st = db_prep(b, "INSERT OR REPLACE INTO published (profile, path, "
	    "pool) VALUES (?, ?, ?)");
	for (i = 0; i < n && st != NULL; i++) {
		if (!v[i].added)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, profile, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, v[i].path, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, v[i].pool, -1, SQLITE_STATIC);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	db_commit(b);
}

long long
db_publishing_next(struct builder *b)
{
	return db_int(b, "SELECT min(id) FROM rebuilds WHERE "
	    "state='publishing'", -1);
}

void
db_publishing_end(struct builder *b, long long id, const char *snapshot,
    const char *error)
{
	sqlite3_stmt *st;

	st = db_prep(b, "UPDATE rebuilds SET state=?, finished=?, snapshot=?, "
	    "error=? WHERE id=? AND state='publishing'");
	sqlite3_bind_text(st, 1, error != NULL ? "failed" : "complete", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_s());
	if (snapshot != NULL)
		sqlite3_bind_text(st, 3, snapshot, -1, SQLITE_STATIC);
	if (error != NULL)
		sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

size_t
db_rebuilds_running(struct builder *b, long long *ids, size_t max)
{
	sqlite3_stmt *st;
	size_t n = 0;

	st = db_prep(b, "SELECT id FROM rebuilds WHERE state='running'");
	while (st != NULL && n < max && sqlite3_step(st) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}
