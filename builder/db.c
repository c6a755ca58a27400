/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Durable state: one SQLite database, <state>/builder.db, in WAL mode
 * with synchronous=FULL, so that a committed transaction survives
 * kill -9 and power loss.  Every state change of a job is one
 * transaction.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "builder.h"
#include "banned.h"

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
    " size INTEGER, error TEXT);"
    "CREATE INDEX IF NOT EXISTS jobs_ready ON jobs(state, profile, ord);"
    "CREATE INDEX IF NOT EXISTS jobs_rebuild ON jobs(rebuild, state);"
    "CREATE INDEX IF NOT EXISTS jobs_cpv ON jobs(cpv);"
    "CREATE TABLE IF NOT EXISTS deps (job INTEGER NOT NULL,"
    " dep INTEGER NOT NULL, PRIMARY KEY(job, dep)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS deps_dep ON deps(dep, job);"
    "CREATE TABLE IF NOT EXISTS built (profile TEXT NOT NULL,"
    " key TEXT NOT NULL, cpv TEXT NOT NULL, path TEXT NOT NULL,"
    " job INTEGER, PRIMARY KEY(profile, key));"
    "CREATE TABLE IF NOT EXISTS published (profile TEXT NOT NULL,"
    " path TEXT NOT NULL, pool TEXT NOT NULL, PRIMARY KEY(profile, path));"
    "CREATE TABLE IF NOT EXISTS workers (name TEXT PRIMARY KEY,"
    " tags TEXT NOT NULL, slots INTEGER, registered INTEGER,"
    " last_seen INTEGER);";

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
	    db_exec(b, schema) < 0) {
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
	if (b->db != NULL)
		sqlite3_close(b->db);
	b->db = NULL;
}
