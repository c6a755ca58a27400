/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The farm's rows (builder/db-farm.c) on a real database and the JSON
 * of the workers' calls (builder/api-farm.c), without HTTP: a worker's
 * tags round-trip, a heartbeat extends only the leases the worker
 * holds, the tags a worker may register with, an upload's job and a
 * rebuild decoded from their stored JSON, the packages a publication
 * takes and remembers, the replies' keys and types, and REPO_REVISIONS
 * read back.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/conf.h"
#include "base/err.h"
#include "builder/builder.h"
#include "builder/db-jobs.h"
#include "portage/tree.h"
#include "tap.h"

static const char rows[] =
    "INSERT INTO rebuilds(id, profile, state, env, trees, by, created)"
    " VALUES (1, 'p', 'publishing', '{\"chost\":\"x86_64-pc-linux-gnu\","
    "\"cflags\":\"-O2 -march=x86-64-v3\",\"index_header\":{\"ARCH\":"
    "\"amd64\",\"N\":3}}', '[{\"name\":\"gentoo\",\"commit\":\"abc\"},"
    "{\"name\":\"nocommit\"},{\"name\":\"local\",\"commit\":\"def\"}]',"
    " 'alice', 0),"
    " (2, 'q', 'running', '{}', '[]', NULL, 0),"
    " (3, 'r', 'running', '{}', '[]', NULL, 0);"
    "INSERT INTO jobs(id, rebuild, profile, cpv, key, spec, ord, state,"
    " waiting, worker, lease, path) VALUES"
    " (1, 1, 'p', 'cat/a-1', 'ka', '{\"cpv\":\"cat/a-1\",\"repo\":\"gentoo\","
    "\"iuse\":[\"ssl\",\"x\",7],\"use\":[\"ssl\"]}', 1, 'running', 0, 'w1',"
    " 'L1', NULL),"
    " (2, 1, 'p', 'cat/b-1', 'kb', '{}', 2, 'done', 0, NULL, NULL,"
    " 'cat/b/b-1-2.gpkg.tar'),"
    " (3, 1, 'p', 'cat/c-1', 'kc', '{}', 3, 'done', 0, NULL, NULL,"
    " 'cat/c/c-1-3.gpkg.tar'),"
    " (4, 1, 'p', 'cat/d-1', 'kd', 'not json', 4, 'running', 0, 'w2', 'L4',"
    " NULL);"
    "INSERT INTO published(profile, path, pool) VALUES"
    " ('p', 'cat/c/c-1-3.gpkg.tar', 'cat/c/c-1-1.gpkg.tar');";

static void
test_workers(struct builder *b, struct bcfg_worker *w)
{
	struct bf_strv tags = BF_STRV_INIT, got = BF_STRV_INIT,
	    out = BF_STRV_INIT;
	struct bcfg_profile prof;
	struct hb_job hb[2] = { { 1, "L1" }, { 4, "L4" } };
	long long *abandon = NULL;
	size_t nabandon = 0;
	const char *bad = NULL;

	is_int(workers_get_tags(b, "w1", &got), 0, "no tags before register");
	bf_strv_push(&tags, "p");
	bf_strv_push(&tags, "avx2");
	ok(workers_register(b, "w1", &tags, 2) == 0, "w1 registered");
	is_int(workers_get_tags(b, "w1", &got), 1, "w1's tags read back");
	is_int(got.n, 2, "two tags");
	is_str(got.n == 2 ? got.v[1] : NULL, "avx2", "in order");

	memset(&prof, 0, sizeof(prof));
	prof.name = (char *)"other";
	ok(!workers_may_build(&got, &prof), "no tag for profile other");
	bf_strv_push(&prof.tags, "avx2");
	ok(workers_may_build(&got, &prof), "other's worker-tags are covered");
	bf_strv_push(&prof.tags, "avx512");
	ok(!workers_may_build(&got, &prof), "not when one is missing");
	bf_strv_release(&prof.tags);

	ok(workers_allowed(w, &got, &out, &bad) == 0 && bad == NULL,
	    "tags the section allows are allowed");
	bf_strv_release(&out);
	bf_strv_push(&got, "gpu");
	ok(workers_allowed(w, &got, &out, &bad) == -1, "gpu is refused");
	is_str(bad, "gpu", "and named");
	bf_strv_release(&out);
	bf_strv_release(&got);
	ok(workers_allowed(w, &got, &out, &bad) == 0 && out.n == 2,
	    "none declared: all the section allows");
	bf_strv_release(&out);

	ok(workers_heartbeat(b, "w1", hb, 2, &abandon, &nabandon) == 0,
	    "heartbeat");
	is_int(nabandon, 1, "one job to abandon");
	is_int(nabandon ? abandon[0] : 0, 4, "w2's job");
	free(abandon);
	hb[0].lease = "wrong";
	ok(workers_heartbeat(b, "w1", hb, 1, &abandon, &nabandon) == 0 &&
	    nabandon == 1, "a wrong lease is abandoned");
	free(abandon);
	ok(db_job_leased(b, 1, "w1", "L1") == 1 && db_job_leased(b, 1, "w2",
	    "L1") == 0, "job 1 is leased to w1 only");
	bf_strv_release(&tags);
}

static void
test_workers_json(struct builder *b)
{
	json_t *a = workers_json(b), *w = json_array_get(a, 0);
	json_t *hb = json_pack("{s:[{s:i, s:s}, {s:i}]}", "jobs", "job", 1,
	    "lease", "L1", "job", 9);
	struct hb_job *v = NULL;
	long long ab[2] = { 9, 12 };
	size_t n = 0;
	char *s;

	is_int(json_array_size(a), 1, "status lists one worker");
	is_str(json_string_value(json_object_get(w, "name")), "w1", "w1");
	ok(json_is_array(json_object_get(w, "tags")) &&
	    json_is_array(json_object_get(w, "may_build")) &&
	    json_is_integer(json_object_get(w, "slots")) &&
	    json_is_integer(json_object_get(w, "last_seen")) &&
	    json_is_integer(json_object_get(w, "running")) &&
	    json_is_boolean(json_object_get(w, "alive")),
	    "its keys and types");
	is_str(json_string_value(json_array_get(json_object_get(w,
	    "may_build"), 0)), "p", "it may build p");
	is_int(json_integer_value(json_object_get(w, "running")), 1,
	    "it holds job 1");
	json_decref(a);

	ok(api_farm_heartbeat_jobs(hb, &v, &n) == 0 && n == 2,
	    "a heartbeat's jobs");
	is_str(n == 2 ? v[1].lease : NULL, "", "a job without a lease");
	free(v);
	json_decref(hb);
	a = api_farm_heartbeat_reply(ab, 2, 60);
	s = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	is_str(s, "{\"abandon\":[9,12],\"lease_timeout\":60}",
	    "the heartbeat's answer");
	free(s);
	json_decref(a);
}

static void
test_upload_job(struct builder *b)
{
	struct upload_job j;

	is_int(db_upload_job(b, 99, &j), 0, "no job 99");
	is_int(db_upload_job(b, 4, &j), -ENOMEM, "a spec that is not JSON");
	is_int(db_upload_job(b, 1, &j), 1, "job 1");
	is_str(j.state, "running", "its state");
	is_str(j.worker, "w1", "its worker");
	is_str(j.spec.cpv, "cat/a-1", "its cpv");
	is_int(j.spec.iuse.n, 2, "iuse: the strings only");
	is_str(j.env.chost, "x86_64-pc-linux-gnu", "chost");
	is_str(j.env.ldflags, "", "ldflags: not set");
	is_int(j.ntrees, 2, "a tree without a commit pins nothing");
	is_str(j.ntrees == 2 ? j.trees[1].commit : NULL, "def", "local's");
	upload_job_release(&j);
}

static void
test_publish(struct builder *b)
{
	struct pub_rebuild r;
	struct pubpkg *v = NULL;
	long long ids[4];
	size_t n = 0, i;

	ok(db_pub_rebuild(b, 1, &r) == 0 && r.profile != NULL, "rebuild 1");
	is_str(r.by, "alice", "by alice");
	is_int(r.env.header_keys.n, 1, "index_header: the strings only");
	is_str(r.env.header_values.v[0], "amd64", "ARCH");
	pub_rebuild_release(&r);
	ok(db_pub_rebuild(b, 7, &r) == 0 && r.profile == NULL, "no rebuild 7");
	is_int(db_publishing_next(b), 1, "rebuild 1 waits to be published");
	ok(db_pub_packages(b, 1, &v, &n) == 0 && n == 2, "two built");
	ok(n == 2 && v[0].pool == NULL, "b is not in the pool yet");
	is_str(n == 2 ? v[1].pool : NULL, "cat/c/c-1-1.gpkg.tar", "c is");
	if (n == 2 && (v[0].pool = strdup("cat/b/b-1-1.gpkg.tar")) != NULL)
		v[0].added = 1;
	db_published_put(b, "p", v, n);
	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].pool);
	}
	free(v);
	ok(db_pub_packages(b, 1, &v, &n) == 0 && n == 2 && v[0].pool != NULL,
	    "b is remembered");
	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].pool);
	}
	free(v);
	db_publishing_end(b, 1, "20260101T000000Z", NULL);
	is_int(db_publishing_next(b), -1, "none waits after");
	is_int(db_rebuilds_running(b, ids, 1), 1, "at most one asked for");
	is_int(db_rebuilds_running(b, ids, 4), 2, "two running");
}

/* REPO_REVISIONS read back (lib/portage/tree.c), as ingest checks it. */
static void
test_revisions(void)
{
	struct bf_strv names = BF_STRV_INIT, commits = BF_STRV_INIT;

	ok(bf_repo_revisions_parse("{\"gentoo\": \"abc\", \"x\": 5}",
	    &names, &commits) == 0, "REPO_REVISIONS read");
	is_int(names.n, 2, "two repositories");
	is_str(names.n == 2 ? names.v[1] : NULL, "x", "in the order written");
	is_str(commits.n == 2 ? commits.v[1] : NULL, "",
	    "a commit that is not a string reads as empty");
	bf_strv_release(&names);
	bf_strv_release(&commits);
	is_int(bf_repo_revisions_parse("[\"gentoo\"]", &names, &commits),
	    -EINVAL, "a list is not REPO_REVISIONS");
	is_int(bf_repo_revisions_parse("{\"a\": \"1\", \"a\": \"2\"}",
	    &names, &commits), -EINVAL, "nor an object naming one twice");
	is_int(bf_repo_revisions_parse("gentoo=abc", &names, &commits),
	    -EINVAL, "nor text");
	bf_strv_release(&names);
	bf_strv_release(&commits);
}

int
main(void)
{
	char dir[] = "/tmp/u-farm.XXXXXX", path[256];
	struct bcfg_worker w;
	struct builder b;
	struct bf_err e = BF_ERR_INIT;

	if (mkdtemp(dir) == NULL)
		return 2;
	memset(&b, 0, sizeof(b));
	memset(&w, 0, sizeof(w));
	b.cfg.state = dir;
	b.cfg.lease_timeout = 60;
	w.name = (char *)"w1";
	bf_strv_push(&w.profiles, "p");
	bf_strv_push(&w.tags, "avx2");
	pthread_mutex_init(&b.mu, NULL);
	log_init(0, 0, "u-farm");

	ok(db_open(&b, &e) == 0, "database opened");
	ok(db_exec(&b, rows) == 0, "rows");
	{
		struct bcfg_profile p;

		memset(&p, 0, sizeof(p));
		p.name = (char *)"p";
		b.cfg.profiles = &p;
		b.cfg.nprofiles = 1;
		test_workers(&b, &w);
		test_workers_json(&b);
		b.cfg.profiles = NULL;
		b.cfg.nprofiles = 0;
	}
	test_upload_job(&b);
	test_publish(&b);
	test_revisions();

	db_close(&b);
	bf_strv_release(&w.profiles);
	bf_strv_release(&w.tags);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 2;
	return tap_done();
}
