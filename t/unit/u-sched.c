/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scheduler's state machine (builder/sched.c) on a real database,
 * without HTTP: leases follow the group DAG, a done job releases what
 * waited for its group, a failure is retried with backoff then blocks
 * its dependents and fails the rebuild, retry reopens both, an expired
 * lease counts as a failed attempt, cancel closes a job, and a rebuild
 * whose jobs are all done goes to publishing; status and a job's JSON
 * read the typed rows (sched_status(), api_job_json()).
 *
 *	A (group 1) <- B, C (group 2, a runtime cycle) <- D (group 3)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "builder/builder.h"
#include "tap.h"

static long long
num(struct builder *b, const char *sql)
{
	return db_int(b, sql, -1);
}

static const char *
state(struct builder *b, long long job)
{
	static char s[32];
	sqlite3_stmt *st = db_prep(b, "SELECT state FROM jobs WHERE id=?");

	sqlite3_bind_int64(st, 1, job);
	snprintf(s, sizeof(s), "%s", sqlite3_step(st) == SQLITE_ROW ?
	    (const char *)sqlite3_column_text(st, 0) : "(none)");
	sqlite3_finalize(st);
	return s;
}

static const char *
rebuild_state(struct builder *b)
{
	static char s[32];
	sqlite3_stmt *st = db_prep(b, "SELECT state FROM rebuilds WHERE id=1");

	snprintf(s, sizeof(s), "%s", sqlite3_step(st) == SQLITE_ROW ?
	    (const char *)sqlite3_column_text(st, 0) : "(none)");
	sqlite3_finalize(st);
	return s;
}

/*
 * Leases a job to w1: its id, 0 for none; its lease token in `lease`,
 * the jobs it is built after in `deps` (may be NULL).
 */
static long long
lease(struct builder *b, char lease[64], struct lease *deps)
{
	struct bf_strv may = BF_STRV_INIT;
	struct lease l;
	struct bf_strv tags = BF_STRV_INIT;
	long long id;
	int r;

	r = workers_get_tags(b, "w1", &tags) >= 0 &&
	    workers_profiles(b, &tags, &may) == 0 ?
	    sched_lease(b, "w1", &may, deps != NULL, &l) : -1;
	bf_strv_release(&tags);
	bf_strv_release(&may);
	if (r <= 0)
		return 0;
	id = l.job;
	snprintf(lease, 64, "%s", l.token);
	if (deps != NULL)
		*deps = l;
	else
		lease_release(&l);
	return id;
}

static const char schema[] =
    "INSERT INTO rebuilds(id, profile, state, env, trees, by, created)"
    " VALUES (1, 'p', 'running', '{}', '[]', 'u-sched', 0);"
    "INSERT INTO groups(id, rebuild, waiting) VALUES (1, 1, 1), (2, 1, 3),"
    " (3, 1, 2);"
    "INSERT INTO gdeps(grp, dep) VALUES (2, 1), (3, 2);"
    "INSERT INTO jobs(id, rebuild, profile, cpv, key, spec, ord, state,"
    " waiting, grp) VALUES"
    " (1, 1, 'p', 'cat/a-1', 'ka', '{\"cpv\":\"cat/a-1\"}', 1, 'ready', 0, 1),"
    " (2, 1, 'p', 'cat/b-1', 'kb', '{\"cpv\":\"cat/b-1\"}', 2, 'waiting', 1, 2),"
    " (3, 1, 'p', 'cat/c-1', 'kc', '{\"cpv\":\"cat/c-1\"}', 3, 'waiting', 1, 2),"
    " (4, 1, 'p', 'cat/d-1', 'kd', '{\"cpv\":\"cat/d-1\"}', 4, 'waiting', 1, 3);"
    "INSERT INTO deps(job, dep) VALUES (2, 1), (3, 1), (4, 2);";

int
main(void)
{
	char dir[] = "/tmp/u-sched.XXXXXX", path[256], l[64], l2[64];
	struct bcfg_profile prof;
	struct builder b;
	struct bf_err e = BF_ERR_INIT;
	struct lease deps;
	struct bf_strv tags = BF_STRV_INIT;
	struct sched_status st;
	json_t *js;
	char *text;
	static const char want_d[] = "{\"job\":4,\"cpv\":\"cat/d-1\","
	    "\"profile\":\"p\",\"state\":\"done\",\"attempts\":0,"
	    "\"rebuild\":1,\"started\":";

	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/logs", dir);
	mkdir(path, 0755);
	memset(&b, 0, sizeof(b));
	memset(&prof, 0, sizeof(prof));
	prof.name = (char *)"p";
	b.cfg.state = dir;
	b.cfg.profiles = &prof;
	b.cfg.nprofiles = 1;
	b.cfg.lease_timeout = 60;
	b.cfg.max_attempts = 2;
	b.cfg.backoff = 0;
	b.cfg.backoff_max = 0;
	pthread_mutex_init(&b.mu, NULL);
	log_init(0, 0, "u-sched");

	ok(db_open(&b, &e) == 0, "database opened");
	ok(db_exec(&b, schema) == 0, "a rebuild of four jobs in three groups");
	bf_strv_push(&tags, "p");
	ok(workers_register(&b, "w1", &tags, 1) == 0, "worker w1 may build p");
	bf_strv_release(&tags);

	/* Only A is ready. */
	is_int(lease(&b, l, &deps), 1, "A is leased first");
	is_int(deps.ndeps, 0, "A is built after nothing");
	is_str(deps.cpv, "cat/a-1", "the lease names A");
	is_int(deps.attempt, 1, "first attempt");
	lease_release(&deps);
	is_str(state(&b, 1), "running", "A runs");
	is_int(lease(&b, l2, NULL), 0, "nothing else is ready");
	ok(sched_fail(&b, 1, "w2", l, "not mine", 1) == -BF_ENOTFOUND,
	    "another worker cannot fail A");
	ok(sched_done(&b, 1, "cat/a/a-1-1.gpkg.tar", "00", 1) == 0, "A done");
	is_str(state(&b, 2), "ready", "B ready once group 1 is complete");
	is_str(state(&b, 3), "ready", "C ready too");
	is_str(state(&b, 4), "waiting", "D waits for group 2");
	is_int(num(&b, "SELECT waiting FROM groups WHERE id=2"), 2,
	    "group 2 waits for B and C only");

	/* B carries A as its dependency. */
	is_int(lease(&b, l, &deps), 2, "B leased (build order)");
	is_int(deps.ndeps, 1, "B is built after one package");
	is_int(deps.ndeps > 0 ? deps.deps[0].job : 0, 1, "... A");
	lease_release(&deps);
	is_int(lease(&b, l2, NULL), 3, "C leased");
	ok(sched_done(&b, 2, "cat/b/b-1-2.gpkg.tar", "00", 1) == 0, "B done");
	is_str(state(&b, 4), "waiting", "D waits while C (same group) runs");

	/* C fails once: retried; twice: failed, D blocked, rebuild failed. */
	ok(sched_fail(&b, 3, "w1", l2, "boom", 1) == 0, "C fails once");
	is_str(state(&b, 3), "ready", "C is ready again (attempt 1 of 2)");
	is_int(lease(&b, l2, NULL), 3, "C leased again");
	ok(sched_fail(&b, 3, "w1", l2, "boom again", 1) == 0, "C fails twice");
	is_str(state(&b, 3), "failed", "C failed after max-attempts");
	is_str(state(&b, 4), "blocked", "D blocked by C");
	is_str(rebuild_state(&b), "failed", "the rebuild failed");
	is_int(lease(&b, l, NULL), 0, "nothing to lease in a failed rebuild");

	/* Retry C: the rebuild runs again; C then D build. */
	ok(sched_retry(&b, 4, &e) == -BF_ECONFLICT, "a blocked job is not retried");
	bf_err_clear(&e);
	ok(sched_retry(&b, 3, &e) == 0, "C retried");
	is_str(rebuild_state(&b), "running", "the rebuild runs again");
	is_str(state(&b, 4), "waiting", "D unblocked, waiting");
	is_int(lease(&b, l2, NULL), 3, "C leased after the retry");

	/* An expired lease is a failed attempt. */
	ok(db_exec(&b, "UPDATE jobs SET lease_expires = 0 WHERE id = 3") == 0,
	    "C's lease runs out");
	is_int(sched_expire(&b), 1, "one lease expired");
	is_str(state(&b, 3), "ready", "C ready again");
	is_int(num(&b, "SELECT attempts FROM jobs WHERE id=3"), 1,
	    "the expiry counted as an attempt");
	is_int(lease(&b, l2, NULL), 3, "C leased");
	ok(sched_done(&b, 3, "cat/c/c-1-3.gpkg.tar", "00", 1) == 0, "C done");
	is_str(state(&b, 4), "ready", "D ready once group 2 is complete");
	is_str(rebuild_state(&b), "running", "still running (D open)");

	/* Cancel D, retry it, finish: the rebuild goes to publishing. */
	ok(sched_cancel(&b, 4, &e) == 0, "D cancelled");
	is_str(state(&b, 4), "cancelled", "D is cancelled");
	is_str(rebuild_state(&b), "failed", "a cancelled job fails the rebuild");
	ok(sched_retry(&b, 4, &e) == 0, "D retried");
	is_int(lease(&b, l, NULL), 4, "D leased");
	ok(sched_done(&b, 4, "cat/d/d-1-4.gpkg.tar", "00", 1) == 0, "D done");
	is_str(rebuild_state(&b), "publishing", "every job done: publishing");
	is_int(num(&b, "SELECT count(*) FROM built WHERE profile='p'"), 4,
	    "four build keys recorded as built");

	/* What status and a job's page are made of, typed and as JSON. */
	ok(sched_status(&b, &st) == 0, "status read");
	is_int(st.nprofiles, 1, "status lists the profile");
	is_int(st.profiles[0].counts.n[JOB_DONE], 4, "four jobs done");
	is_int(st.profiles[0].counts.total, 4, "four jobs in all");
	is_str(rebuild_state_name(st.profiles[0].rebuild.state), "publishing",
	    "status shows the rebuild publishing");
	sched_status_release(&st);
	js = api_job_json(&b, 4);
	text = js != NULL ? json_dumps(js, JSON_COMPACT) : NULL;
	if (!ok(text != NULL && strncmp(text, want_d, strlen(want_d)) == 0,
	    "job D as the API writes it"))
		printf("#   got %s\n#  want %s...\n", text ? text : "(null)",
		    want_d);
	is_str(json_string_value(json_object_get(js, "path")),
	    "cat/d/d-1-4.gpkg.tar", "... with its package");
	ok(json_is_false(json_object_get(js, "reused")), "... not reused");
	ok(json_object_get(js, "worker") == NULL, "... and no worker");
	free(text);
	json_decref(js);
	ok(api_job_json(&b, 99) == NULL, "no job 99");

	db_close(&b);
	pthread_mutex_destroy(&b.mu);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 2;
	return tap_done();
}
