/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Durable state: one SQLite database, <state>/builder.db, in WAL mode
 * with synchronous=FULL, so that a committed transaction survives
 * kill -9 and power loss.  Every state change of a job is one
 * transaction.  The statements of the hot paths (lease, heartbeat,
 * upload) are prepared once and kept (db_stmt()).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "builder.h"
#include "base/banned.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS rebuilds ("
    " id INTEGER PRIMARY KEY, profile TEXT NOT NULL, state TEXT NOT NULL,"
    " env TEXT NOT NULL, trees TEXT NOT NULL, by TEXT, created INTEGER,"
    " finished INTEGER, snapshot TEXT, error TEXT);"
    "CREATE TABLE IF NOT EXISTS jobs ("
    " id INTEGER PRIMARY KEY, rebuild INTEGER NOT NULL, profile TEXT NOT NULL,"
    " cpv TEXT NOT NULL, key TEXT NOT NULL, spec TEXT NOT NULL,"
    " ord INTEGER NOT NULL, state TEXT NOT NULL, waiting INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, not_before INTEGER DEFAULT 0,"
    " worker TEXT, lease TEXT, lease_expires INTEGER, started INTEGER,"
    " finished INTEGER, reused INTEGER DEFAULT 0, path TEXT, sha256 TEXT,"
    " size INTEGER, error TEXT, grp INTEGER);"
    "CREATE INDEX IF NOT EXISTS jobs_ready ON jobs(state, profile, ord);"
    "CREATE INDEX IF NOT EXISTS jobs_rebuild ON jobs(rebuild, state);"
    "CREATE INDEX IF NOT EXISTS jobs_cpv ON jobs(cpv);"
    /*
     * A group is a strongly connected component of a rebuild's runtime
     * dependency graph (usually one job).  groups.waiting counts its
     * jobs not done plus the groups it runtime-depends on (gdeps) that
     * are not "installable"; at 0 the group and its whole runtime
     * closure are done.  deps(job, dep): `job` is built after group
     * `dep` (the group of one of its build dependencies) is installable,
     * and jobs.waiting counts those groups that are not.  This keeps
     * the graph linear in the plan's edges, where listing every
     * package of each runtime closure grew with the square of the DAG.
     */
    "CREATE TABLE IF NOT EXISTS groups (id INTEGER PRIMARY KEY,"
    " rebuild INTEGER NOT NULL, waiting INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS gdeps (grp INTEGER NOT NULL,"
    " dep INTEGER NOT NULL, PRIMARY KEY(grp, dep)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS gdeps_dep ON gdeps(dep, grp);"
    "CREATE TABLE IF NOT EXISTS deps (job INTEGER NOT NULL,"
    " dep INTEGER NOT NULL, PRIMARY KEY(job, dep)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS deps_dep ON deps(dep, job);"
    "CREATE INDEX IF NOT EXISTS jobs_grp ON jobs(grp);"
    "CREATE TABLE IF NOT EXISTS built (profile TEXT NOT NULL,"
    " key TEXT NOT NULL, cpv TEXT NOT NULL, path TEXT NOT NULL,"
    " job INTEGER, PRIMARY KEY(profile, key));"
    "CREATE TABLE IF NOT EXISTS published (profile TEXT NOT NULL,"
    " path TEXT NOT NULL, pool TEXT NOT NULL, PRIMARY KEY(profile, path));"
    "CREATE TABLE IF NOT EXISTS workers (name TEXT PRIMARY KEY,"
    " tags TEXT NOT NULL, slots INTEGER, registered INTEGER,"
    " last_seen INTEGER);"
    /*
     * Counters kept with the state change they count, in its
     * transaction (db-metrics.c): a restart neither resets nor
     * repeats them.  name: finished (label done/failed), leases,
     * uploads (label ok/refused/error).
     */
    "CREATE TABLE IF NOT EXISTS counters (name TEXT NOT NULL,"
    " profile TEXT NOT NULL, label TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(name, profile, label)) WITHOUT ROWID;"
    /* At most one rebuild of a profile runs (sched_rebuild checks too). */
    "CREATE UNIQUE INDEX IF NOT EXISTS rebuilds_one_running ON"
    " rebuilds(profile) WHERE state IN ('running', 'publishing');";

/*
 * Databases of schema version 0 have no groups: deps(job, dep) named
 * every job of the build-time closure.  Each of their jobs becomes a
 * group of its own, with the job's id, so that those deps rows keep
 * their meaning.
 */
static const char migrate_1[] =
    "ALTER TABLE jobs ADD COLUMN grp INTEGER;"
    "UPDATE jobs SET grp = id;"
    "INSERT INTO groups(id, rebuild, waiting) SELECT id, rebuild,"
    " state <> 'done' FROM jobs;";

/*
 * Version 2 forbids two open rebuilds of one profile.  A database that
 * already has them (sched_rebuild could start a second one while the
 * first was planning) keeps the newest; the older ones are cancelled
 * as an engineer's cancel would.
 */
static const char migrate_2[] =
    "CREATE TEMP TABLE stale AS SELECT id FROM rebuilds r WHERE state IN"
    " ('running', 'publishing') AND EXISTS (SELECT 1 FROM rebuilds n WHERE"
    " n.profile = r.profile AND n.id > r.id AND n.state IN ('running',"
    " 'publishing'));"
    "UPDATE jobs SET state='cancelled', worker=NULL, lease=NULL,"
    " error='rebuild cancelled' WHERE rebuild IN (SELECT id FROM stale)"
    " AND state IN ('waiting', 'ready', 'running');"
    "UPDATE rebuilds SET state='cancelled', error='cancelled on upgrade:"
    " a newer rebuild of the profile was running; testing not moved'"
    " WHERE id IN (SELECT id FROM stale);"
    "DROP TABLE stale;";

/*
 * Version 3 counts finished jobs in `counters`; a database that has
 * some already starts from them (reused ones were not built here).
 */
static const char migrate_3[] =
    "INSERT OR IGNORE INTO counters(name, profile, label, n) SELECT"
    " 'finished', profile, state, count(*) FROM jobs WHERE reused = 0 AND"
    " state IN ('done', 'failed') GROUP BY profile, state;";

#define SCHEMA_VERSION	3

long long
now_s(void)
{
	return (long long)time(NULL);
}

int
db_exec(struct builder *b, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(b->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("database: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
db_begin(struct builder *b)
{
	return db_exec(b, "BEGIN IMMEDIATE");
}

int
db_commit(struct builder *b)
{
	return db_exec(b, "COMMIT");
}

void
db_rollback(struct builder *b)
{
	if (!sqlite3_get_autocommit(b->db))
		db_exec(b, "ROLLBACK");
}

sqlite3_stmt *
db_prep(struct builder *b, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("database: cannot prepare '%s': %s", sql,
		    sqlite3_errmsg(b->db));
		return NULL;
	}
	return st;
}

long long
db_int(struct builder *b, const char *sql, long long dflt)
{
	sqlite3_stmt *st = db_prep(b, sql);
	long long v = dflt;

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Creates the schema, or brings an older one up to date, in one go. */
static int
db_migrate(struct builder *b)
{
	long long v = db_int(b, "PRAGMA user_version", 0);
	long long old = db_int(b, "SELECT count(*) FROM sqlite_master WHERE "
	    "type='table' AND name='jobs'", 0);
	char pragma[64];

	if (v >= SCHEMA_VERSION)
		return db_exec(b, schema);
	if (db_begin(b) < 0)
		return -1;
	if (old > 0 && v < 1) {
		/* Old tables first: schema[] would index the missing column. */
		if (db_exec(b, "CREATE TABLE IF NOT EXISTS groups (id INTEGER "
		    "PRIMARY KEY, rebuild INTEGER NOT NULL, waiting INTEGER "
		    "NOT NULL)") < 0 || db_exec(b, migrate_1) < 0)
			goto fail;
		log_info("database: every job of older rebuilds is now a group "
		    "of its own (schema version 1)");
	}
	if (old > 0 && v < 2) {
		if (db_exec(b, migrate_2) < 0)
			goto fail;
		if (sqlite3_changes(b->db) > 0)
			log_info("database: older of two running rebuilds of one "
			    "profile cancelled (schema version 2)");
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d",
	    SCHEMA_VERSION);
	if (db_exec(b, schema) < 0 || (old > 0 && v < 3 &&
	    db_exec(b, migrate_3) < 0) || db_exec(b, pragma) < 0 ||
	    db_commit(b) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(b);
	return -1;
}

sqlite3_stmt *
db_stmt(struct builder *b, const char *sql)
{
	sqlite3_stmt *st;
	size_t i;

	for (i = 0; i < b->nstmts; i++)
		if (b->stmts[i].sql == sql) {
			st = b->stmts[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	if ((st = db_prep(b, sql)) == NULL)
		return NULL;
	if (b->nstmts == sizeof(b->stmts) / sizeof(b->stmts[0])) {
		/* Full: a programming error, but keep working, uncached. */
		log_warnx("database: statement cache full at '%s'", sql);
		sqlite3_finalize(st);
		return NULL;
	}
	b->stmts[b->nstmts].sql = sql;
	b->stmts[b->nstmts++].st = st;
	return st;
}

int
db_open(struct builder *b, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&path, "%s/builder.db", b->cfg.state);
	rc = sqlite3_open_v2(path.buf, &b->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = bf_err_set(e, BF_ECONFIG, "cannot open '%s': %s", path.buf,
		    b->db ? sqlite3_errmsg(b->db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(b->db, 5000);
	if (db_exec(b, "PRAGMA journal_mode=WAL") < 0 ||
	    db_exec(b, "PRAGMA synchronous=FULL") < 0 ||
	    db_exec(b, "PRAGMA foreign_keys=ON") < 0 ||
	    db_migrate(b) < 0) {
		rc = bf_err_set(e, BF_ECONFIG, "cannot set up '%s': %s",
		    path.buf, sqlite3_errmsg(b->db));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && b->db != NULL) {
		sqlite3_close(b->db);
		b->db = NULL;
	}
	bf_buf_release(&path);
	return rc;
}

void
db_close(struct builder *b)
{
	size_t i;

	for (i = 0; i < b->nstmts; i++)
		sqlite3_finalize(b->stmts[i].st);
	b->nstmts = 0;
	if (b->db != NULL)
		sqlite3_close(b->db);
	b->db = NULL;
}

int
db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static const char *const job_states[JOB_NSTATES] = {
	[JOB_WAITING] = "waiting",
	[JOB_READY] = "ready",
	[JOB_RUNNING] = "running",
	[JOB_DONE] = "done",
	[JOB_FAILED] = "failed",
	[JOB_BLOCKED] = "blocked",
	[JOB_CANCELLED] = "cancelled",
};

const char *
job_state_name(enum job_state s)
{
	return (unsigned)s < JOB_NSTATES ? job_states[s] : "?";
}

int
job_state_parse(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < JOB_NSTATES; i++)
		if (strcmp(name, job_states[i]) == 0)
			return i;
	return -1;
}

int
db_step_once(struct builder *b, sqlite3_stmt *st)
{
	int r;

	if (st == NULL)
		return -1;
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? sqlite3_changes(b->db) : -1;
}

int
db_step_cached(struct builder *b, sqlite3_stmt *st)
{
	int r;

	if (st == NULL)
		return -1;
	r = sqlite3_step(st);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? sqlite3_changes(b->db) : -1;
}

int
db_exec_id(struct builder *b, const char *sql, long long id)
{
	sqlite3_stmt *st = db_prep(b, sql);

	if (st != NULL)
		sqlite3_bind_int64(st, 1, id);
	return db_step_once(b, st);
}
