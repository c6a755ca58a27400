/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The console's pages of the scheduler: the queue (every profile's
 * latest rebuild, the running jobs, the problems, the ready queue),
 * and a job with its live log.  Every value goes through cp_addf()'s
 * %s, which escapes it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "builder.h"
#include "console.h"
#include "base/banned.h"

static void
job_row(struct cpage *p, const struct job *j)
{
	cp_addf(p, "<tr><td><a href=\"/console/jobs/%lld\">%lld</a></td>"
	    "<td class=\"cpv\">%s</td><td>%s</td><td class=\"state-%s\">%s"
	    "</td><td>%s</td><td>%lld</td><td>", j->id, j->id, j->cpv,
	    j->profile, job_state_name(j->state), job_state_name(j->state),
	    j->worker ? j->worker : "", j->attempts);
	if (j->has_started)
		cp_time(p, j->started);
	cp_addf(p, "</td><td>%s</td></tr>", j->error ? j->error : "");
}

static void
job_table(struct cpage *p, const char *id, const char *title,
    const struct job_list *l)
{
	size_t i;

	cp_addf(p, "<h2>%s</h2>", title);
	if (l->n == 0) {
		cp_addf(p, "<p id=\"%s\">none</p>", id);
		return;
	}
	cp_addf(p, "<table id=\"%s\"><tr><th>job</th><th>package</th>"
	    "<th>profile</th><th>state</th><th>worker</th><th>attempts</th>"
	    "<th>started</th><th>error</th></tr>", id);
	for (i = 0; i < l->n; i++)
		job_row(p, &l->v[i]);
	cp_addf(p, "</table>");
}

static void
profile_row(struct cpage *p, const struct profile_status *ps)
{
	const struct rebuild *r = &ps->rebuild;
	const struct job_counts *n = &ps->counts;

	cp_addf(p, "<tr><td>%s</td>", ps->profile);
	if (!ps->has_rebuild) {
		cp_addf(p, "<td colspan=\"4\">no rebuild yet</td>");
	} else {
		cp_addf(p, "<td><a href=\"/console/rebuilds/%lld\">%lld</a> by "
		    "%s</td><td class=\"state-%s\">%s</td><td>%lld of %lld "
		    "done (%lld reused), %lld running, %lld failed</td><td>%s"
		    "</td>", r->id, r->id, r->by ? r->by : "the builder",
		    rebuild_state_name(r->state), rebuild_state_name(r->state),
		    n->n[JOB_DONE] + n->reused, n->total, n->reused,
		    n->n[JOB_RUNNING], n->n[JOB_FAILED], r->error ? r->error :
		    "");
	}
	cp_addf(p, "<td><a href=\"/console/snapshots?profile=%s\">%s</a>"
	    "</td></tr>", cp_u(p, ps->profile), ps->testing ? ps->testing :
	    "none");
}

void
console_overview(struct cpage *p)
{
	struct sched_status s;
	size_t i;
	int rc;

	pthread_mutex_lock(&p->b->mu);
	rc = sched_status(p->b, &s);
	pthread_mutex_unlock(&p->b->mu);
	if (rc < 0) {
		cp_error(p, 500, "cannot read the queue from the database");
		return;
	}
	p->title = "Queue";
	cp_addf(p, "<h1>Queue</h1><table id=\"profiles\"><tr><th>profile</th>"
	    "<th>latest rebuild</th><th>state</th><th>jobs</th><th>error</th>"
	    "<th>testing</th></tr>");
	for (i = 0; i < s.nprofiles; i++)
		profile_row(p, &s.profiles[i]);
	cp_addf(p, "</table>");
	job_table(p, "running", "Running", &s.running);
	cp_addf(p, "<p>%lld ready to build.</p>", s.queued);
	job_table(p, "queue", "Ready", &s.queue);
	job_table(p, "problems", "Failed or retried", &s.problems);
	sched_status_release(&s);
}

/* "/console/jobs/N[/log]": N and whether it is the log; -1 if neither. */
static long long
job_url(const char *url, int *log)
{
	char *end;
	long long id = strtoll(url + strlen("/console/jobs/"), &end, 10);

	*log = strcmp(end, "/log") == 0;
	if (id <= 0 || (*end != '\0' && !*log) ||
	    !(url[14] >= '0' && url[14] <= '9'))
		return -1;
	return id;
}

void
console_job(struct cpage *p)
{
	struct job j;
	long long id;
	int log, rc;

	if ((id = job_url(p->url, &log)) < 0) {
		cp_error(p, 404, "no such page");
		return;
	}
	if (log) {
		p->ret = api_send_log(p->b, p->c, id);
		p->sent = 1;
		return;
	}
	pthread_mutex_lock(&p->b->mu);
	rc = sched_job(p->b, id, &j);
	pthread_mutex_unlock(&p->b->mu);
	if (rc <= 0) {
		cp_error(p, 404, "no such job");
		return;
	}
	p->title = "Job";
	cp_addf(p, "<h1>Job %lld: <span id=\"cpv\">%s</span></h1><table>"
	    "<tr><th>profile</th><td>%s</td></tr><tr><th>rebuild</th><td>"
	    "<a href=\"/console/rebuilds/%lld\">%lld</a></td></tr><tr><th>"
	    "state</th><td id=\"job-state\">%s</td></tr><tr><th>worker</th>"
	    "<td>%s</td></tr><tr><th>attempts</th><td>%lld</td></tr><tr><th>"
	    "error</th><td>%s</td></tr></table><h2>Log (<span id=\"log-state\">"
	    "loading</span>)</h2><pre class=\"log\" id=\"log\" data-src=\""
	    "/console/jobs/%lld/log\"></pre>", j.id, j.cpv, j.profile,
	    j.rebuild, j.rebuild, job_state_name(j.state), j.worker ?
	    j.worker : "", j.attempts, j.error ? j.error : "", j.id);
	job_release(&j);
}
