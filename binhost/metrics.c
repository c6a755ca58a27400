/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prometheus metrics.  A series per (channel, profile) that exists,
 * found under one mutex and then counted with relaxed atomics, so the
 * lock is held for a short scan only.  Unknown names never create a
 * series (they all count as channel="", profile=""), which bounds the
 * label cardinality whatever clients ask for.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binhost.h"
#include "base/buf.h"
#include "base/banned.h"

static const int codes[BH_NCODES] = {
	200, 206, 304, 400, 401, 403, 404, 405, 414, 416, 429, 500, 503, 0
};

static const double buckets[BH_NBUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10
};

static void
series_init(struct bh_series *s, const char *channel, const char *profile)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->channel, sizeof(s->channel), "%s", channel);
	snprintf(s->profile, sizeof(s->profile), "%s", profile);
	pthread_mutex_init(&s->lm_mu, NULL);
}

int
bh_metrics_init(struct bh_metrics *m)
{
	memset(m, 0, sizeof(*m));
	if (pthread_mutex_init(&m->mu, NULL) != 0)
		return -1;
	series_init(&m->other, "", "");
	m->started = time(NULL);
	return 0;
}

void
bh_metrics_release(struct bh_metrics *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		pthread_mutex_destroy(&m->v[i]->lm_mu);
		free(m->v[i]);
	}
	pthread_mutex_destroy(&m->other.lm_mu);
	pthread_mutex_destroy(&m->mu);
	m->n = 0;
}

struct bh_series *
bh_metrics_series(struct bh_metrics *m, const char *channel,
    const char *profile)
{
	struct bh_series *s = &m->other;
	size_t i;

	if (channel == NULL || *channel == '\0')
		return s;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i]->channel, channel) == 0 &&
		    strcmp(m->v[i]->profile, profile) == 0) {
			s = m->v[i];
			goto out;
		}
	if (m->n < BH_MAX_SERIES && (s = malloc(sizeof(*s))) != NULL) {
		series_init(s, channel, profile);
		m->v[m->n++] = s;
	} else
		s = &m->other;
out:
	pthread_mutex_unlock(&m->mu);
	return s;
}

void
bh_metrics_count(struct bh_series *s, int status, uint64_t bytes,
    uint64_t ns)
{
	size_t i;
	double sec = (double)ns / 1e9;

	for (i = 0; i < BH_NCODES - 1; i++)
		if (codes[i] == status)
			break;
	__atomic_fetch_add(&s->requests[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->bytes, bytes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->sum_ns, ns, __ATOMIC_RELAXED);
	for (i = 0; i < BH_NBUCKETS; i++)
		if (sec <= buckets[i])
			break;
	__atomic_fetch_add(&s->hist[i], 1, __ATOMIC_RELAXED);
}

time_t
bh_metrics_index_lm(struct bh_series *s, int which, uint64_t id, time_t lm)
{
	pthread_mutex_lock(&s->lm_mu);
	if (s->lm_id[which] == 0 || s->lm_id[which] == id) {
		if (s->lm[which] > lm && s->lm_id[which] == id)
			lm = s->lm[which];
	} else if (lm <= s->lm[which])
		lm = s->lm[which] + 1;
	s->lm_id[which] = id;
	s->lm[which] = lm;
	pthread_mutex_unlock(&s->lm_mu);
	return lm;
}

static uint64_t
ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void
render_series(struct bf_buf *out, const struct bh_series *s, int part)
{
	uint64_t cum = 0, n;
	size_t i;
	char lbl[160];

	snprintf(lbl, sizeof(lbl), "channel=\"%s\",profile=\"%s\"",
	    s->channel, s->profile);
	switch (part) {
	case 0:
		for (i = 0; i < BH_NCODES; i++) {
			if ((n = ld(&s->requests[i])) == 0)
				continue;
			if (codes[i] == 0)
				bf_buf_addf(out, "binhost_requests_total{%s,"
				    "code=\"other\"} %llu\n", lbl,
				    (unsigned long long)n);
			else
				bf_buf_addf(out, "binhost_requests_total{%s,"
				    "code=\"%d\"} %llu\n", lbl, codes[i],
				    (unsigned long long)n);
		}
		break;
	case 1:
		bf_buf_addf(out, "binhost_response_bytes_total{%s} %llu\n", lbl,
		    (unsigned long long)ld(&s->bytes));
		break;
	case 2:
		for (i = 0; i < BH_NBUCKETS; i++) {
			cum += ld(&s->hist[i]);
			bf_buf_addf(out, "binhost_request_duration_seconds_bucket"
			    "{%s,le=\"%g\"} %llu\n", lbl, buckets[i],
			    (unsigned long long)cum);
		}
		cum += ld(&s->hist[BH_NBUCKETS]);
		bf_buf_addf(out, "binhost_request_duration_seconds_bucket"
		    "{%s,le=\"+Inf\"} %llu\n", lbl, (unsigned long long)cum);
		bf_buf_addf(out, "binhost_request_duration_seconds_sum{%s} %.9f\n",
		    lbl, (double)ld(&s->sum_ns) / 1e9);
		bf_buf_addf(out, "binhost_request_duration_seconds_count{%s} "
		    "%llu\n", lbl, (unsigned long long)cum);
		break;
	}
}

void
bh_metrics_render(struct bh_metrics *m, struct bf_buf *out,
    unsigned connections)
{
	static const char *const head[] = {
		"# HELP binhost_requests_total HTTP requests answered, by "
		"channel, profile and status code.\n"
		"# TYPE binhost_requests_total counter\n",
		"# HELP binhost_response_bytes_total Response body bytes of "
		"completed requests.\n"
		"# TYPE binhost_response_bytes_total counter\n",
		"# HELP binhost_request_duration_seconds Time from the request "
		"line to the last byte queued.\n"
		"# TYPE binhost_request_duration_seconds histogram\n",
	};
	struct bh_series *v[BH_MAX_SERIES];
	size_t i, n;
	int part;

	pthread_mutex_lock(&m->mu);
	n = m->n;
	memcpy(v, m->v, n * sizeof(v[0]));
	pthread_mutex_unlock(&m->mu);
	for (part = 0; part < 3; part++) {
		bf_buf_adds(out, head[part]);
		render_series(out, &m->other, part);
		for (i = 0; i < n; i++)
			render_series(out, v[i], part);
	}
	bf_buf_addf(out, "# HELP binhost_connections Open client connections.\n"
	    "# TYPE binhost_connections gauge\n"
	    "binhost_connections %u\n", connections);
	bf_buf_addf(out, "# HELP binhost_request_timeouts_total Connections "
	    "closed because a request did not arrive whole within "
	    "request-timeout.\n"
	    "# TYPE binhost_request_timeouts_total counter\n"
	    "binhost_request_timeouts_total %llu\n",
	    (unsigned long long)ld(&m->request_timeouts));
	bf_buf_addf(out, "# HELP binhost_file_loop_requests_total Requests "
	    "answered by the file loop (plain GET and HEAD of a file).\n"
	    "# TYPE binhost_file_loop_requests_total counter\n"
	    "binhost_file_loop_requests_total %llu\n"
	    "# HELP binhost_file_loop_handoffs_total Connections the file "
	    "loop handed to libmicrohttpd (any other request).\n"
	    "# TYPE binhost_file_loop_handoffs_total counter\n"
	    "binhost_file_loop_handoffs_total %llu\n",
	    (unsigned long long)ld(&m->floop_requests),
	    (unsigned long long)ld(&m->floop_handoffs));
	bf_buf_addf(out, "# HELP binhost_file_cache_hits_total Package files "
	    "the file loop sent from a descriptor it kept open.\n"
	    "# TYPE binhost_file_cache_hits_total counter\n"
	    "binhost_file_cache_hits_total %llu\n"
	    "# HELP binhost_file_cache_misses_total Package files the file "
	    "loop opened.\n"
	    "# TYPE binhost_file_cache_misses_total counter\n"
	    "binhost_file_cache_misses_total %llu\n",
	    (unsigned long long)ld(&m->fcache_hits),
	    (unsigned long long)ld(&m->fcache_misses));
	bf_buf_addf(out, "# HELP binhost_start_time_seconds When the server "
	    "started, unix time.\n"
	    "# TYPE binhost_start_time_seconds gauge\n"
	    "binhost_start_time_seconds %lld\n", (long long)m->started);
}

void
bh_metrics_render_penalty(struct bf_penalty *p, struct bf_buf *out)
{
	struct bf_penalty_stats st;

	bf_penalty_stats(p, time(NULL), &st);
	bf_buf_addf(out, "# HELP binhost_auth_failures_total Requests with "
	    "wrong credentials (auth-file users, node tokens).\n"
	    "# TYPE binhost_auth_failures_total counter\n"
	    "binhost_auth_failures_total %llu\n"
	    "# HELP binhost_auth_penalties_total Times an address reached "
	    "auth-failures.\n"
	    "# TYPE binhost_auth_penalties_total counter\n"
	    "binhost_auth_penalties_total %llu\n"
	    "# HELP binhost_auth_refused_total Requests with credentials "
	    "refused (429) under a penalty.\n"
	    "# TYPE binhost_auth_refused_total counter\n"
	    "binhost_auth_refused_total %llu\n"
	    "# HELP binhost_auth_penalised_addresses Addresses under a "
	    "penalty now.\n"
	    "# TYPE binhost_auth_penalised_addresses gauge\n"
	    "binhost_auth_penalised_addresses %zu\n",
	    (unsigned long long)st.failures, (unsigned long long)st.penalties,
	    (unsigned long long)st.refused, st.active);
}
