/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rebuilds in the database, and the rows a new rebuild writes (its
 * groups and their edges; its jobs are in db-jobs.c): one function per
 * statement, typed in and out (db-jobs.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "builder.h"
#include "db-jobs.h"
#include "base/banned.h"

static const char *const rebuild_states[REBUILD_NSTATES] = {
	[REBUILD_RUNNING] = "running",
	[REBUILD_PUBLISHING] = "publishing",
	[REBUILD_COMPLETE] = "complete",
	[REBUILD_FAILED] = "failed",
	[REBUILD_CANCELLED] = "cancelled",
	[REBUILD_ERROR] = "error",
};

const char *
rebuild_state_name(enum rebuild_state s)
{
	return (unsigned)s < REBUILD_NSTATES ? rebuild_states[s] : "?";
}

int
rebuild_state_parse(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < REBUILD_NSTATES; i++)
		if (strcmp(name, rebuild_states[i]) == 0)
			return i;
	return -1;
}

void
rebuild_release(struct rebuild *r)
{
	free(r->profile);
	free(r->snapshot);
	free(r->error);
	free(r->trees);
	free(r->by);
	memset(r, 0, sizeof(*r));
}

static int
col_str(sqlite3_stmt *st, int i, char **out)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	*out = NULL;
	if (s == NULL)
		return 0;
	return (*out = strdup(s)) == NULL ? -1 : 0;
}

#define REBUILD_COLS "id, profile, state, created, finished, snapshot, " \
	"error, trees, by"

static int
row_rebuild(sqlite3_stmt *st, struct rebuild *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->state = rebuild_state_parse((const char *)
	    sqlite3_column_text(st, 2));
	r->created = sqlite3_column_int64(st, 3);
	r->has_finished = sqlite3_column_type(st, 4) != SQLITE_NULL;
	r->finished = sqlite3_column_int64(st, 4);
	if (col_str(st, 1, &r->profile) < 0 || col_str(st, 5, &r->snapshot) < 0 ||
	    col_str(st, 6, &r->error) < 0 || col_str(st, 7, &r->trees) < 0 ||
	    col_str(st, 8, &r->by) < 0) {
		rebuild_release(r);
		return -1;
	}
	return 0;
}

/* One rebuild from `st` (its text parameter 1 bound): 1, 0, -1. */
static int
rebuild_one(sqlite3_stmt *st, struct rebuild *r)
{
	int s, rc;

	memset(r, 0, sizeof(*r));
	if (st == NULL)
		return -1;
	s = sqlite3_step(st);
	rc = s == SQLITE_ROW ? (row_rebuild(st, r) < 0 ? -1 : 1) :
	    s == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

int
db_rebuild_get(struct builder *b, long long id, struct rebuild *r)
{
	sqlite3_stmt *st = db_prep(b, "SELECT " REBUILD_COLS " FROM rebuilds "
	    "WHERE id=?");

	if (st != NULL)
		sqlite3_bind_int64(st, 1, id);
	return rebuild_one(st, r);
}

int
db_rebuild_latest(struct builder *b, const char *profile, struct rebuild *r)
{
	sqlite3_stmt *st = db_prep(b, "SELECT " REBUILD_COLS " FROM rebuilds "
	    "WHERE profile=? ORDER BY id DESC LIMIT 1");

	if (st != NULL)
		db_bind_text(st, 1, profile);
	return rebuild_one(st, r);
}

/* The integer of `st`'s first row (parameter 1 `text` bound): 1, 0, -1. */
static int
id_query(struct builder *b, const char *sql, const char *text,
    long long *id)
{
	sqlite3_stmt *st = db_prep(b, sql);
	int r;

	if (st == NULL)
		return -1;
	db_bind_text(st, 1, text);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

int
db_rebuild_open(struct builder *b, const char *profile, long long *id)
{
	return id_query(b, "SELECT id FROM rebuilds WHERE state IN "
	    "('running', 'publishing') AND profile=?", profile, id);
}

int
db_rebuild_running(struct builder *b, const char *profile, long long *id)
{
	return id_query(b, "SELECT id FROM rebuilds WHERE profile=? AND "
	    "state='running'", profile, id);
}

int
db_rebuild_testing(struct builder *b, const char *profile, char **snapshot)
{
	sqlite3_stmt *st = db_prep(b, "SELECT snapshot FROM rebuilds WHERE "
	    "profile=? AND state='complete' ORDER BY id DESC LIMIT 1");
	int r, rc = 0;

	*snapshot = NULL;
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, profile);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		rc = col_str(st, 0, snapshot);
	else if (r != SQLITE_DONE)
		rc = -1;
	sqlite3_finalize(st);
	return rc;
}

int
db_rebuilds_refused(struct builder *b, int max, struct rebuild **v,
    size_t *n)
{
	sqlite3_stmt *st = db_prep(b, "SELECT " REBUILD_COLS " FROM rebuilds "
	    "WHERE state='error' ORDER BY id DESC LIMIT ?");
	size_t alloc = 0;
	int r, rc = 0;

	*v = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, max);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (bf_grow(v, &alloc, *n + 1, sizeof(**v), 8) < 0 ||
		    row_rebuild(st, &(*v)[*n]) < 0) {
			rc = -1;
			break;
		}
		(*n)++;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = -1;
	sqlite3_finalize(st);
	return rc;
}

int
db_rebuild_has_open(struct builder *b, long long id)
{
	/* Cheap (index jobs_rebuild). */
	sqlite3_stmt *st = db_prep(b, "SELECT 1 FROM jobs WHERE rebuild=? AND "
	    "state IN ('waiting','ready','running') LIMIT 1");
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

int
db_rebuild_tally(struct builder *b, long long id, long long *open,
    long long *bad, long long *failed, long long *blocked)
{
	sqlite3_stmt *st = db_prep(b, "SELECT sum(state IN ('waiting','ready',"
	    "'running')), sum(state <> 'done'), sum(state = 'failed'), "
	    "sum(state = 'blocked') FROM jobs WHERE rebuild=?");
	int r;

	*open = *bad = *failed = *blocked = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		*open = sqlite3_column_int64(st, 0);
		*bad = sqlite3_column_int64(st, 1);
		*failed = sqlite3_column_int64(st, 2);
		*blocked = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -1;
}

int
db_rebuild_reopen(struct builder *b, long long id)
{
	return db_exec_id(b, "UPDATE rebuilds SET state='running', "
	    "finished=NULL, error=NULL WHERE id=? AND state IN ('failed', "
	    "'running')", id) < 0 ? -1 : 0;
}

int
db_rebuild_publishing(struct builder *b, long long id)
{
	return db_exec_id(b, "UPDATE rebuilds SET state='publishing' "
	    "WHERE id=?", id) < 0 ? -1 : 0;
}

int
db_rebuild_failed(struct builder *b, long long id, long long now,
    const char *error)
{
	sqlite3_stmt *st = db_prep(b, "UPDATE rebuilds SET state='failed', "
	    "finished=?, error=? WHERE id=?");

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, now);
		db_bind_text(st, 2, error);
		sqlite3_bind_int64(st, 3, id);
	}
	return db_step_once(b, st) < 0 ? -1 : 0;
}

int
db_rebuild_cancel(struct builder *b, long long id, long long now)
{
	sqlite3_stmt *st = db_prep(b, "UPDATE jobs SET state='cancelled', "
	    "worker=NULL, lease=NULL, error='rebuild cancelled' WHERE "
	    "rebuild=? AND state IN ('waiting', 'ready', 'running')");

	if (st != NULL)
		sqlite3_bind_int64(st, 1, id);
	if (db_step_once(b, st) < 0)
		return -1;
	st = db_prep(b, "UPDATE rebuilds SET state='cancelled', finished=?, "
	    "error='cancelled by an engineer; testing not moved' WHERE id=?");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, id);
	}
	return db_step_once(b, st) < 0 ? -1 : 0;
}

int
db_rebuild_refuse(struct builder *b, const char *profile, const char *by,
    const char *error, long long now)
{
	sqlite3_stmt *st = db_prep(b, "INSERT INTO rebuilds(profile, state, "
	    "env, trees, by, created, finished, error) VALUES (?, 'error', "
	    "'{}', '[]', ?, ?, ?, ?)");

	if (st != NULL) {
		db_bind_text(st, 1, profile);
		db_bind_text(st, 2, by);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_int64(st, 4, now);
		db_bind_text(st, 5, error);
	}
	return db_step_once(b, st) < 0 ? -1 : 0;
}

int
db_rebuild_insert(struct builder *b, const char *profile, const char *env,
    const char *trees, const char *by, long long now, long long *id)
{
	sqlite3_stmt *st = db_prep(b, "INSERT INTO rebuilds(profile, state, "
	    "env, trees, by, created) VALUES (?, 'running', ?, ?, ?, ?)");

	if (st != NULL) {
		db_bind_text(st, 1, profile);
		db_bind_text(st, 2, env);
		db_bind_text(st, 3, trees);
		db_bind_text(st, 4, by);
		sqlite3_bind_int64(st, 5, now);
	}
	if (db_step_once(b, st) < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(b->db);
	return 0;
}

int
db_built_path(struct builder *b, const char *profile, const char *key,
    char **path)
{
	static const char sql[] = "SELECT path FROM built WHERE profile=? AND "
	    "key=?";
	sqlite3_stmt *st = db_stmt(b, sql);
	int r, rc = 0;

	*path = NULL;
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, profile);
	db_bind_text(st, 2, key);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		rc = col_str(st, 0, path);
	else if (r != SQLITE_DONE)
		rc = -1;
	sqlite3_reset(st);
	return rc;
}

int
db_group_insert(struct builder *b, long long rebuild, long long waiting,
    long long *id)
{
	static const char sql[] = "INSERT INTO groups(rebuild, waiting) VALUES "
	    "(?, ?)";
	sqlite3_stmt *st = db_stmt(b, sql);
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rebuild);
	sqlite3_bind_int64(st, 2, waiting);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return -1;
	*id = sqlite3_last_insert_rowid(b->db);
	return 0;
}

int
db_gdep_insert(struct builder *b, long long grp, long long dep)
{
	static const char sql[] = "INSERT INTO gdeps(grp, dep) VALUES (?, ?)";
	sqlite3_stmt *st = db_stmt(b, sql);
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, grp);
	sqlite3_bind_int64(st, 2, dep);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : -1;
}
