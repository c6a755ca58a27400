/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker registry: name, tags, slots, last heartbeat.  The tags a
 * worker registers with are bounded by its [worker NAME] section (the
 * profiles and tags it may build).  A worker may
 * build hw-profile P when it carries the tag "P" or every tag of P's
 * worker-tags (profile.conf).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "builder.h"
#include "base/banned.h"

int
workers_register(struct builder *b, const char *name, json_t *tags,
    int slots)
{
	sqlite3_stmt *st;
	char *s = json_dumps(tags, JSON_COMPACT);
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

json_t *
workers_tags(struct builder *b, const char *name)
{
	static const char sql[] = "SELECT tags FROM workers WHERE name=?";
	sqlite3_stmt *st = db_stmt(b, sql);
	json_t *t = NULL;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		t = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	sqlite3_reset(st);
	return t;
}

static int
has_tag(json_t *tags, const char *tag)
{
	size_t i;
	json_t *v;

	json_array_foreach(tags, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), tag) == 0)
			return 1;
	return 0;
}

int
workers_tags_may_build(json_t *tags, const struct bcfg_profile *p)
{
	size_t i;

	if (has_tag(tags, p->name))
		return 1;
	if (p->tags.n == 0)
		return 0;
	for (i = 0; i < p->tags.n; i++)
		if (!has_tag(tags, p->tags.v[i]))
			return 0;
	return 1;
}

/*
 * A heartbeat: the worker says which jobs it holds.  Their leases are
 * extended; the answer lists those it must abandon (cancelled, or
 * leased to someone else after an expiry).
 */
json_t *
workers_heartbeat(struct builder *b, const char *name, json_t *jobs)
{
	static const char sql_seen[] = "UPDATE workers SET last_seen=? WHERE "
	    "name=?";
	static const char sql_extend[] = "UPDATE jobs SET lease_expires=? "
	    "WHERE id=? AND state='running' AND worker=? AND lease=?";
	sqlite3_stmt *st, *up;
	json_t *abandon = json_array(), *v;
	size_t i;
	int tx;

	/* One transaction (one fsync) for the worker and all its leases. */
	tx = db_begin(b) == 0;
	st = db_stmt(b, sql_seen);
	sqlite3_bind_int64(st, 1, now_s());
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_reset(st);
	up = db_stmt(b, sql_extend);
	json_array_foreach(jobs, i, v) {
		json_int_t id = json_integer_value(json_object_get(v, "job"));
		const char *lease = json_string_value(json_object_get(v,
		    "lease"));

		sqlite3_reset(up);
		sqlite3_bind_int64(up, 1, now_s() + b->cfg.lease_timeout);
		sqlite3_bind_int64(up, 2, (long long)id);
		sqlite3_bind_text(up, 3, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(up, 4, lease ? lease : "", -1,
		    SQLITE_TRANSIENT);
		if (sqlite3_step(up) != SQLITE_DONE ||
		    sqlite3_changes(b->db) != 1)
			json_array_append_new(abandon, json_integer(id));
	}
	sqlite3_reset(up);
	if (tx && db_commit(b) < 0)
		db_rollback(b);
	return json_pack("{s:o, s:i}", "abandon", abandon, "lease_timeout",
	    b->cfg.lease_timeout);
}

json_t *
workers_json(struct builder *b)
{
	sqlite3_stmt *st = db_prep(b, "SELECT w.name, w.tags, w.slots, "
	    "w.last_seen, (SELECT count(*) FROM jobs j WHERE j.worker = w.name "
	    "AND j.state='running') FROM workers w ORDER BY w.name");
	json_t *a = json_array();
	size_t i;

	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *tags = json_loads((const char *)sqlite3_column_text(st,
		    1), 0, NULL), *may = json_array();
		long long seen = sqlite3_column_int64(st, 3);

		for (i = 0; tags != NULL && i < b->cfg.nprofiles; i++)
			if (workers_tags_may_build(tags, &b->cfg.profiles[i]))
				json_array_append_new(may, json_string(
				    b->cfg.profiles[i].name));
		json_array_append_new(a, json_pack("{s:s, s:o, s:i, s:I, s:o, "
		    "s:I, s:b}", "name", (const char *)sqlite3_column_text(st, 0),
		    "tags", tags ? tags : json_array(), "slots",
		    sqlite3_column_int(st, 2), "last_seen", (json_int_t)seen,
		    "may_build", may, "running",
		    (json_int_t)sqlite3_column_int64(st, 4), "alive",
		    now_s() - seen <= 2 * b->cfg.lease_timeout));
	}
	sqlite3_finalize(st);
	return a;
}

int
workers_name_ok(const struct bcfg *c, const struct bcfg_worker *w,
    const char *claimed)
{
	size_t n = strlen(w->name), i;

	if (strcmp(claimed, w->name) == 0)
		return 1;
	/* NAME-N: binfarm-worker -j N's processes share NAME's token. */
	if (strncmp(claimed, w->name, n) != 0 || claimed[n] != '-' ||
	    claimed[n + 1] == '\0' || claimed[n + 1] == '0' ||
	    strspn(claimed + n + 1, "0123456789") != strlen(claimed + n + 1) ||
	    strlen(claimed + n + 1) > 4)
		return 0;
	for (i = 0; i < c->nworkers; i++)
		if (strcmp(c->workers[i].name, claimed) == 0)
			return 0;
	return 1;
}

static int
strv_has(const struct bf_strv *sv, const char *s)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}

json_t *
workers_allowed_tags(const struct bcfg_worker *w, json_t *declared,
    const char **bad)
{
	json_t *t = json_array(), *v;
	size_t i;

	*bad = NULL;
	if (t == NULL)
		return NULL;
	if (json_array_size(declared) == 0) {
		for (i = 0; i < w->profiles.n; i++)
			json_array_append_new(t, json_string(w->profiles.v[i]));
		for (i = 0; i < w->tags.n; i++)
			json_array_append_new(t, json_string(w->tags.v[i]));
		return t;
	}
	json_array_foreach(declared, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || (!strv_has(&w->profiles, s) &&
		    !strv_has(&w->tags, s))) {
			*bad = s ? s : "(not a string)";
			json_decref(t);
			return NULL;
		}
		json_array_append_new(t, json_string(s));
	}
	return t;
}
