/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GET /metrics: the builder in Prometheus' text format (0.0.4), named
 * and shaped as the binhost's (binhost/metrics.c), binfarm_builder_*.
 *
 * Everything is read from the database at scrape time, not counted in
 * memory: a restart must not make a gauge or a counter lie.  Build
 * durations come from the jobs' own started and finished times (the
 * last attempt's lease to its accepted upload), so the histogram holds
 * every build the database remembers and its count always equals the
 * built jobs; the *_total counters are rows the scheduler adds to in
 * the transaction of the change they count (leases, finished jobs) or
 * right after it (uploads), in db-metrics.c.  Labels take
 * their values from builder.conf's profiles and worker sections, never
 * from a request nor from the names worker processes register under.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "store/fleet.h"
#include "store/release.h"
#include "store/repo.h"
#include "builder.h"
#include "base/banned.h"

/* Upper bounds, in seconds, of a build's duration buckets. */
static const long long buckets[METRICS_NBUCKETS] = {
	1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400
};

/*
 * The latest heartbeat of each [worker NAME] section, over NAME and the
 * NAME-N of binfarm-worker -j: a label per section, however many
 * processes a worker token registers.
 */
static int
collect_seen(struct builder *b, struct metrics *m)
{
	const struct bcfg_worker *w;
	struct metrics_worker *s;
	size_t i, k;

	if (b->cfg.nworkers > 0 && (m->seen = calloc(b->cfg.nworkers,
	    sizeof(*m->seen))) == NULL)
		return -1;
	for (i = 0; i < b->cfg.nworkers; i++) {
		w = &b->cfg.workers[i];
		s = NULL;
		for (k = 0; k < m->nworkers; k++) {
			if (!workers_name_ok(&b->cfg, w, m->workers[k].name))
				continue;
			if (s == NULL) {
				s = &m->seen[m->nseen++];
				s->name = w->name;
			}
			if (m->workers[k].last_seen > s->last_seen)
				s->last_seen = m->workers[k].last_seen;
		}
	}
	return 0;
}

/* One channel's release, if it is running or paused. */
static void
collect_release(struct metrics *m, int fd, const char *channel,
    const struct bf_fetches *f)
{
	struct metrics_release *mr;
	struct bf_release rel;
	struct bf_err e = BF_ERR_INIT;
	size_t i, j;

	bf_release_init(&rel);
	if (bf_release_load(fd, channel, &rel, &e) == 0 &&
	    bf_release_active(&rel)) {
		mr = &m->releases[m->nreleases++];
		memset(mr, 0, sizeof(*mr));
		snprintf(mr->channel, sizeof(mr->channel), "%s", channel);
		mr->id = rel.id;
		mr->paused = rel.state == BF_RELEASE_PAUSED;
		mr->waves = rel.nwaves;
		for (i = 0; i < rel.nwaves; i++) {
			mr->waves_done += bf_release_wave_done(&rel, i, f);
			for (j = 0; j < rel.waves[i].n; j++)
				mr->nodes_fetched += (size_t)bf_release_node_done(
				    &rel, rel.waves[i].v[j].name,
				    rel.waves[i].v[j].profile, f);
			mr->nodes += rel.waves[i].n;
		}
	}
	bf_release_free(&rel);
}

/*
 * Release progress, from the repository's files at scrape time (the
 * binhost writes what nodes fetched; the builder only reads).
 */
static int
collect_releases(struct builder *b, struct metrics *m)
{
	struct bf_fetches f = BF_FETCHES_INIT;
	struct bf_err e = BF_ERR_INIT;
	char **names = NULL;
	size_t n = 0, i;

	if (b->repo == NULL || bf_list_dir(b->repo->root_fd, BF_RELEASES_DIR,
	    &names, &n) < 0 || n == 0)
		return 0;
	if ((m->releases = calloc(n, sizeof(*m->releases))) == NULL) {
		bf_names_free(names, n);
		return -1;
	}
	if (bf_fetches_load(b->repo->root_fd, &f, &e) < 0)
		bf_fetches_release(&f);		/* nothing fetched, then */
	for (i = 0; i < n; i++)
		if (bf_repo_name_valid(names[i]))
			collect_release(m, b->repo->root_fd, names[i], &f);
	bf_fetches_release(&f);
	bf_names_free(names, n);
	return 0;
}

int
metrics_collect(struct builder *b, struct metrics *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->started = b->started;
	m->version = PACKAGE_VERSION;
	bf_penalty_stats(&b->penalty, now_s(), &m->auth);
	if (b->cfg.nprofiles > 0 && (m->profiles = calloc(b->cfg.nprofiles,
	    sizeof(*m->profiles))) == NULL)
		return -1;
	m->nprofiles = b->cfg.nprofiles;
	for (i = 0; i < m->nprofiles; i++)
		m->profiles[i].name = b->cfg.profiles[i].name;
	if (db_metrics_jobs(b, m) < 0 ||
	    db_metrics_durations(b, m, buckets) < 0 ||
	    db_metrics_counters(b, m) < 0 || db_metrics_rebuilds(b, m) < 0 ||
	    workers_list(b, &m->workers, &m->nworkers) < 0 ||
	    collect_seen(b, m) < 0 || collect_releases(b, m) < 0) {
		metrics_release(m);
		return -1;
	}
	return 0;
}

void
metrics_release(struct metrics *m)
{
	free(m->profiles);
	free(m->seen);
	free(m->releases);
	worker_rows_free(m->workers, m->nworkers);
	memset(m, 0, sizeof(*m));
}

/* A label value: `"`, `\` and newlines escaped as the format says. */
static void
add_label(struct bf_buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			bf_buf_addf(out, "\\%c", *s);
		else if (*s == '\n')
			bf_buf_adds(out, "\\n");
		else
			bf_buf_add(out, s, 1);
	}
}

static void
head(struct bf_buf *out, const char *name, const char *type,
    const char *help)
{
	bf_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* name{profile="P"[,key="value"]} n */
static void
profile_line(struct bf_buf *out, const char *name, const char *profile,
    const char *key, const char *value, long long n)
{
	bf_buf_addf(out, "%s{profile=\"", name);
	add_label(out, profile);
	if (key != NULL)
		bf_buf_addf(out, "\",%s=\"%s", key, value);
	bf_buf_addf(out, "\"} %lld\n", n);
}

static void
render_jobs(const struct metrics *m, struct bf_buf *out)
{
	const struct metrics_profile *p;
	size_t i;
	int s;

	head(out, "binfarm_builder_jobs", "gauge", "Jobs in the database, by "
	    "profile and state (reused packages count as done).");
	for (i = 0; i < m->nprofiles; i++)
		for (s = 0; s < JOB_NSTATES; s++)
			profile_line(out, "binfarm_builder_jobs",
			    m->profiles[i].name, "state", job_state_name(s),
			    m->profiles[i].jobs[s]);
	head(out, "binfarm_builder_queue_depth", "gauge", "Jobs not yet "
	    "leased: ready and waiting for their dependencies.");
	for (i = 0; i < m->nprofiles; i++) {
		p = &m->profiles[i];
		profile_line(out, "binfarm_builder_queue_depth", p->name, NULL,
		    NULL, p->jobs[JOB_READY] + p->jobs[JOB_WAITING]);
	}
	head(out, "binfarm_builder_jobs_finished_total", "counter", "Jobs "
	    "built (done) or failed after their last attempt.");
	for (i = 0; i < m->nprofiles; i++) {
		p = &m->profiles[i];
		profile_line(out, "binfarm_builder_jobs_finished_total",
		    p->name, "result", "done", p->finished[METRICS_DONE]);
		profile_line(out, "binfarm_builder_jobs_finished_total",
		    p->name, "result", "failed", p->finished[METRICS_FAILED]);
	}
}

static void
render_durations(const struct metrics *m, struct bf_buf *out)
{
	const struct metrics_profile *p;
	long long cum;
	char le[32];
	size_t i, k;

	head(out, "binfarm_builder_job_duration_seconds", "histogram", "Built jobs' durations, from the lease of "
	    "their last attempt to their accepted upload.");
	for (i = 0; i < m->nprofiles; i++) {
		p = &m->profiles[i];
		for (k = cum = 0; k <= METRICS_NBUCKETS; k++) {
			cum += p->hist[k];
			if (k < METRICS_NBUCKETS)
				snprintf(le, sizeof(le), "%lld", buckets[k]);
			else
				snprintf(le, sizeof(le), "+Inf");
			profile_line(out, "binfarm_builder_job_duration_seconds"
			    "_bucket", p->name, "le", le, cum);
		}
		profile_line(out, "binfarm_builder_job_duration_seconds_sum",
		    p->name, NULL, NULL, p->sum);
		profile_line(out, "binfarm_builder_job_duration_seconds_count",
		    p->name, NULL, NULL, cum);
	}
}

static void
render_workers(const struct metrics *m, struct bf_buf *out)
{
	long long alive = 0;
	size_t i;

	for (i = 0; i < m->nworkers; i++)
		alive += m->workers[i].alive != 0;
	head(out, "binfarm_builder_workers", "gauge", "Registered workers, "
	    "alive (a heartbeat within twice lease-timeout) or stale.");
	bf_buf_addf(out, "binfarm_builder_workers{state=\"alive\"} %lld\n"
	    "binfarm_builder_workers{state=\"stale\"} %lld\n", alive,
	    (long long)m->nworkers - alive);
	head(out, "binfarm_builder_worker_last_seen_seconds", "gauge", "When "
	    "each [worker NAME] section (NAME and its NAME-N processes) was "
	    "last heard from, unix time.");
	for (i = 0; i < m->nseen; i++) {
		bf_buf_adds(out, "binfarm_builder_worker_last_seen_seconds"
		    "{worker=\"");
		add_label(out, m->seen[i].name);
		bf_buf_addf(out, "\"} %lld\n", m->seen[i].last_seen);
	}
}

static void
render_farm(const struct metrics *m, struct bf_buf *out)
{
	static const char *const up[METRICS_NUP] = { "ok", "refused",
	    "error" };
	int s;

	head(out, "binfarm_builder_rebuilds", "gauge", "Rebuilds in the "
	    "database, by state.");
	for (s = 0; s < REBUILD_NSTATES; s++)
		bf_buf_addf(out, "binfarm_builder_rebuilds{state=\"%s\"} %lld\n",
		    rebuild_state_name(s), m->rebuilds[s]);
	head(out, "binfarm_builder_leases_total", "counter", "Jobs leased to "
	    "workers (every attempt).");
	bf_buf_addf(out, "binfarm_builder_leases_total %lld\n", m->leases);
	head(out, "binfarm_builder_uploads_total", "counter", "Package "
	    "uploads: accepted (ok), refused (the job, lease or package was "
	    "wrong) or lost to a builder error.");
	for (s = 0; s < METRICS_NUP; s++)
		bf_buf_addf(out, "binfarm_builder_uploads_total{result=\"%s\"} "
		    "%lld\n", up[s], m->uploads[s]);
}

static void
render_releases(const struct metrics *m, struct bf_buf *out)
{
	static const struct { const char *name, *help; } g[] = {
		{ "binfarm_builder_release_waves", "Waves of the channel's "
		    "running release." },
		{ "binfarm_builder_release_waves_done", "Of them, done: every "
		    "node fetched, or advanced by an operator." },
		{ "binfarm_builder_release_nodes", "Nodes of the channel's "
		    "running release." },
		{ "binfarm_builder_release_nodes_fetched", "Of them, those that "
		    "fetched its snapshot." },
		{ "binfarm_builder_release_paused", "1 while the release is "
		    "paused." },
	};
	const struct metrics_release *r;
	size_t k, i, v;

	for (k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		head(out, g[k].name, "gauge", g[k].help);
		for (i = 0; i < m->nreleases; i++) {
			r = &m->releases[i];
			v = k == 0 ? r->waves : k == 1 ? r->waves_done :
			    k == 2 ? r->nodes : k == 3 ? r->nodes_fetched :
			    (size_t)r->paused;
			bf_buf_addf(out, "%s{channel=\"", g[k].name);
			add_label(out, r->channel);
			bf_buf_addf(out, "\",release=\"%llu\"} %zu\n", r->id, v);
		}
	}
}

/* Penalties for wrong credentials (auth-failures). */
static void
render_auth(const struct metrics *m, struct bf_buf *out)
{
	head(out, "binfarm_builder_auth_failures_total", "counter", "Requests "
	    "and console logins with a wrong credential.");
	bf_buf_addf(out, "binfarm_builder_auth_failures_total %llu\n",
	    (unsigned long long)m->auth.failures);
	head(out, "binfarm_builder_auth_penalties_total", "counter", "Times "
	    "an address reached auth-failures and was refused for "
	    "auth-penalty seconds.");
	bf_buf_addf(out, "binfarm_builder_auth_penalties_total %llu\n",
	    (unsigned long long)m->auth.penalties);
	head(out, "binfarm_builder_auth_refused_total", "counter", "Requests "
	    "refused (429) because their address is under a penalty.");
	bf_buf_addf(out, "binfarm_builder_auth_refused_total %llu\n",
	    (unsigned long long)m->auth.refused);
	head(out, "binfarm_builder_auth_penalised_addresses", "gauge",
	    "Addresses under a penalty now.");
	bf_buf_addf(out, "binfarm_builder_auth_penalised_addresses %zu\n",
	    m->auth.active);
}

void
metrics_render(const struct metrics *m, struct bf_buf *out)
{
	render_jobs(m, out);
	render_releases(m, out);
	render_durations(m, out);
	render_workers(m, out);
	render_farm(m, out);
	render_auth(m, out);
	head(out, "binfarm_builder_start_time_seconds", "gauge", "When the "
	    "builder started, unix time.");
	bf_buf_addf(out, "binfarm_builder_start_time_seconds %lld\n",
	    m->started);
	head(out, "binfarm_builder_build_info", "gauge", "Always 1; the "
	    "builder's version as a label.");
	bf_buf_adds(out, "binfarm_builder_build_info{version=\"");
	add_label(out, m->version ? m->version : "");
	bf_buf_adds(out, "\"} 1\n");
}
