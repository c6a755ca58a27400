/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The builder's /metrics without HTTP: builder/metrics.c renders a
 * hand-made struct metrics (every state and result, even at 0; a
 * cumulative histogram; label values escaped), and metrics_collect()
 * reads a real database through builder/db-metrics.c (profiles not in
 * the configuration left out; counters added to; reused jobs not in
 * the histogram; a worker's last heartbeat by its section).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "builder/builder.h"
#include "tap.h"

static int
has(const struct bf_buf *b, const char *line)
{
	const char *p = b->buf;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == b->buf || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p++;
	}
	printf("# missing: %s\n", line);
	return 0;
}

static void
test_render(void)
{
	struct metrics_profile p[2];
	struct worker_row w[2];
	struct metrics_worker seen[1] = { { "b", 1600000000 } };
	struct metrics m;
	struct bf_buf out = BF_BUF_INIT;

	memset(&m, 0, sizeof(m));
	memset(p, 0, sizeof(p));
	memset(w, 0, sizeof(w));
	p[0].name = "web";
	p[0].jobs[JOB_READY] = 2;
	p[0].jobs[JOB_WAITING] = 3;
	p[0].jobs[JOB_DONE] = 4;
	p[0].hist[0] = 1;		/* <= 1 s */
	p[0].hist[2] = 2;		/* <= 15 s */
	p[0].hist[METRICS_NBUCKETS] = 1;	/* > 14400 s */
	p[0].sum = 20000;
	p[0].finished[METRICS_DONE] = 4;
	p[0].finished[METRICS_FAILED] = 1;
	p[1].name = "odd\"\\\nname";
	m.profiles = p;
	m.nprofiles = 2;
	w[0].name = (char *)"b1";
	w[0].last_seen = 1700000000;
	w[0].alive = 1;
	w[1].name = (char *)"b2";
	w[1].last_seen = 1600000000;
	m.workers = w;
	m.nworkers = 2;
	m.seen = seen;
	m.nseen = 1;
	m.rebuilds[REBUILD_COMPLETE] = 7;
	m.leases = 9;
	m.uploads[METRICS_UP_OK] = 4;
	m.uploads[METRICS_UP_REFUSED] = 2;
	m.started = 1700000001;
	m.version = "1.2";
	metrics_render(&m, &out);
	ok(has(&out, "# TYPE binfarm_builder_jobs gauge") &&
	    has(&out, "binfarm_builder_jobs{profile=\"web\",state=\"done\"} 4") &&
	    has(&out, "binfarm_builder_jobs{profile=\"web\",state=\"cancelled\"}"
	    " 0"), "jobs by profile and every state");
	ok(has(&out, "binfarm_builder_queue_depth{profile=\"web\"} 5"),
	    "queue depth: ready and waiting");
	ok(has(&out, "# TYPE binfarm_builder_job_duration_seconds histogram") &&
	    has(&out, "binfarm_builder_job_duration_seconds_bucket{profile="
	    "\"web\",le=\"1\"} 1") &&
	    has(&out, "binfarm_builder_job_duration_seconds_bucket{profile="
	    "\"web\",le=\"5\"} 1") &&
	    has(&out, "binfarm_builder_job_duration_seconds_bucket{profile="
	    "\"web\",le=\"15\"} 3") &&
	    has(&out, "binfarm_builder_job_duration_seconds_bucket{profile="
	    "\"web\",le=\"14400\"} 3") &&
	    has(&out, "binfarm_builder_job_duration_seconds_bucket{profile="
	    "\"web\",le=\"+Inf\"} 4") &&
	    has(&out, "binfarm_builder_job_duration_seconds_sum{profile="
	    "\"web\"} 20000") &&
	    has(&out, "binfarm_builder_job_duration_seconds_count{profile="
	    "\"web\"} 4"), "the histogram is cumulative; +Inf is the count");
	ok(has(&out, "binfarm_builder_jobs_finished_total{profile=\"web\","
	    "result=\"failed\"} 1"), "finished by result");
	ok(has(&out, "binfarm_builder_jobs{profile=\"odd\\\"\\\\\\nname\","
	    "state=\"done\"} 0"), "label values escaped");
	ok(has(&out, "binfarm_builder_workers{state=\"alive\"} 1") &&
	    has(&out, "binfarm_builder_workers{state=\"stale\"} 1") &&
	    has(&out, "binfarm_builder_worker_last_seen_seconds{worker=\"b\"} "
	    "1600000000") && strstr(out.buf, "worker=\"b2\"") == NULL,
	    "workers alive and stale, last seen by section");
	ok(has(&out, "binfarm_builder_rebuilds{state=\"complete\"} 7") &&
	    has(&out, "binfarm_builder_rebuilds{state=\"error\"} 0") &&
	    has(&out, "binfarm_builder_leases_total 9") &&
	    has(&out, "binfarm_builder_uploads_total{result=\"refused\"} 2") &&
	    has(&out, "binfarm_builder_uploads_total{result=\"error\"} 0") &&
	    has(&out, "binfarm_builder_start_time_seconds 1700000001") &&
	    has(&out, "binfarm_builder_build_info{version=\"1.2\"} 1"),
	    "rebuilds, leases, uploads, start time, build info");
	ok(out.len > 0 && out.buf[out.len - 1] == '\n', "ends in a newline");
	bf_buf_release(&out);
}

static const char rows[] =
    "INSERT INTO rebuilds(id, profile, state, env, trees) VALUES"
    " (1, 'p', 'complete', '{}', '[]'), (2, 'gone', 'failed', '{}', '[]');"
    "INSERT INTO jobs(id, rebuild, profile, cpv, key, spec, ord, state,"
    " waiting, started, finished, reused) VALUES"
    " (1, 1, 'p', 'a/a-1', 'k1', '{}', 1, 'done', 0, 100, 103, 0),"
    " (2, 1, 'p', 'a/b-1', 'k2', '{}', 2, 'done', 0, 100, 200, 0),"
    " (3, 1, 'p', 'a/c-1', 'k3', '{}', 3, 'done', 0, NULL, 50, 1),"
    " (4, 1, 'p', 'a/d-1', 'k4', '{}', 4, 'ready', 0, NULL, NULL, 0),"
    " (5, 2, 'gone', 'a/e-1', 'k5', '{}', 1, 'done', 0, 1, 9, 0);"
    "INSERT INTO workers(name, tags, slots, registered, last_seen) VALUES"
    " ('w', '[]', 1, 0, 100), ('w-1', '[]', 1, 0, 300),"
    " ('w-x', '[]', 1, 0, 400), ('gone', '[]', 1, 0, 500);";

static void
test_collect(struct builder *b)
{
	struct metrics m;

	ok(db_counter_add(b, "finished", "p", "done", 2) == 0 &&
	    db_counter_add(b, "finished", "p", "failed", 1) == 0 &&
	    db_counter_add(b, "finished", "gone", "done", 1) == 0 &&
	    db_counter_add(b, "leases", "p", "", 3) == 0 &&
	    db_counter_add(b, "leases", "p", "", 2) == 0 &&
	    db_counter_add(b, "uploads", "", "ok", 2) == 0, "counters added");
	if (!ok(metrics_collect(b, &m) == 0, "collected"))
		return;
	is_int(m.nprofiles, 1, "the configured profile only");
	is_int(m.profiles[0].jobs[JOB_DONE], 3, "done jobs, reused too");
	is_int(m.profiles[0].jobs[JOB_READY], 1, "ready jobs");
	is_int(m.profiles[0].hist[1], 1, "3 s in the 5 s bucket");
	is_int(m.profiles[0].hist[5], 1, "100 s in the 120 s bucket");
	is_int(m.profiles[0].hist[METRICS_NBUCKETS], 0, "none over");
	is_int(m.profiles[0].sum, 103, "the sum of durations, reused aside");
	is_int(m.profiles[0].finished[METRICS_DONE], 2, "finished done");
	is_int(m.profiles[0].finished[METRICS_FAILED], 1, "finished failed");
	is_int(m.leases, 5, "leases added up");
	is_int(m.uploads[METRICS_UP_OK], 2, "uploads ok");
	is_int(m.rebuilds[REBUILD_COMPLETE], 1, "rebuilds complete");
	is_int(m.rebuilds[REBUILD_FAILED], 1, "rebuilds of any profile");
	is_int(m.nworkers, 4, "every registered worker counted");
	if (ok(m.nseen == 1, "last seen: one configured section")) {
		is_str(m.seen[0].name, "w", "its name");
		is_int(m.seen[0].last_seen, 300, "the latest of w and w-1");
	}
	metrics_release(&m);
}

int
main(void)
{
	char dir[] = "/tmp/u-metrics.XXXXXX", cmd[256];
	struct bcfg_profile p;
	struct bcfg_worker w;
	struct builder b;
	struct bf_err e = BF_ERR_INIT;

	test_render();
	if (mkdtemp(dir) == NULL)
		return 2;
	memset(&b, 0, sizeof(b));
	memset(&p, 0, sizeof(p));
	b.cfg.state = dir;
	b.cfg.lease_timeout = 60;
	p.name = (char *)"p";
	b.cfg.profiles = &p;
	b.cfg.nprofiles = 1;
	memset(&w, 0, sizeof(w));
	w.name = (char *)"w";
	b.cfg.workers = &w;
	b.cfg.nworkers = 1;
	pthread_mutex_init(&b.mu, NULL);
	log_init(0, 0, "u-metrics");
	ok(db_open(&b, &e) == 0, "database opened");
	ok(db_exec(&b, rows) == 0, "rows");
	test_collect(&b);
	db_close(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 2;
	return tap_done();
}
