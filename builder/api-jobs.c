/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scheduler's structs as the HTTP API writes them: a job, the
 * status page, a rebuild's answer; and the JSON texts a rebuild records
 * for its workers (the environment, the pins, each job's plan entry),
 * which the lease hands over as they are.  The only place the
 * scheduler's data becomes JSON.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/conf.h"
#include "base/err.h"
#include "portage/atom.h"
#include "portage/plan.h"
#include "portage/profile.h"
#include "portage/tree.h"
#include "builder.h"
#include "base/banned.h"

static json_t *
strv_json(const struct bf_strv *sv)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

/* A JSON value as compact text (the caller's), dropping the value. */
static char *
dump(json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

/*
 * PKGUSE, as Portage's config.setcpv() takes it from /etc/portage: the
 * words of the hw-profile's package.use lines that match the package,
 * in the order of the file (Portage orders several matching atoms by
 * their specificity, least specific first).
 */
static json_t *
pkguse_json(const struct bf_profile *p, const struct bf_plan_node *nd)
{
	json_t *a = json_array();
	size_t i, j;

	for (i = 0; i < p->package_use.n; i++) {
		const struct bf_pkgent *pe = &p->package_use.v[i];

		if (!bf_atom_match(&pe->atom, &nd->cpv, nd->slot, nd->subslot,
		    nd->repo))
			continue;
		for (j = 0; j < pe->words.n; j++)
			json_array_append_new(a, json_string(pe->words.v[j]));
	}
	return a;
}

static const char *
mk(const struct bf_profile *p, const char *k)
{
	const char *v = bf_conf_get(&p->make, k);

	return v ? v : "";
}

/* The Packages header keys for the plan's configuration (lib/portage/plan.h). */
static json_t *
index_header(const struct bf_plan *plan, struct bf_err *e)
{
	struct bf_conf hdr = BF_CONF_INIT;
	json_t *o = NULL;
	size_t i;

	if (bf_plan_index_header(plan, &hdr, e) == 0 &&
	    (o = json_object()) != NULL)
		for (i = 0; i < hdr.n; i++)
			json_object_set_new(o, hdr.v[i].key,
			    json_string(hdr.v[i].val));
	bf_conf_release(&hdr);
	return o;
}

int
api_rebuild_env(const char *profile, const struct bf_profile *p,
    const struct bf_plan *plan, char **out, struct bf_err *e)
{
	struct bf_strv feat = BF_STRV_INIT, implicit = BF_STRV_INIT;
	json_t *env, *hdr;
	int rc;

	*out = NULL;
	env = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s}", "profile", profile, "chost", p->chost, "cflags",
	    p->cflags, "cxxflags", p->cxxflags, "ldflags", p->ldflags,
	    "features", mk(p, "FEATURES"), "makeopts", mk(p, "MAKEOPTS"),
	    "distcc_hosts", mk(p, "DISTCC_HOSTS"),
	    "arch", p->arch ? p->arch : "",
	    "portage_profile", p->portage_profile ? p->portage_profile : "");
	if (env == NULL || (hdr = index_header(plan, e)) == NULL) {
		json_decref(env);
		return bf_err_nomem(e);
	}
	json_object_set_new(env, "index_header", hdr);
	/*
	 * What the sandbox driver writes as Portage does: FEATURES stacked
	 * over the Portage profile and make.conf, and the flags implicitly
	 * in every package's IUSE_EFFECTIVE.
	 */
	if ((rc = bf_plan_incremental(plan, "FEATURES", &feat, e)) < 0 ||
	    (rc = bf_plan_iuse_implicit(plan, &implicit, e)) < 0) {
		json_decref(env);
		goto out;
	}
	json_object_set_new(env, "features", strv_json(&feat));
	json_object_set_new(env, "iuse_implicit", strv_json(&implicit));
	rc = (*out = dump(env)) != NULL ? 0 : bf_err_nomem(e);
out:
	bf_strv_release(&feat);
	bf_strv_release(&implicit);
	return rc;
}

char *
api_rebuild_trees(const struct bf_pins *pins)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < pins->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}",
		    "name", pins->v[i].name, "uri", pins->v[i].uri, "ref",
		    pins->v[i].ref, "commit", pins->v[i].commit));
	return dump(a);
}

char *
api_job_spec(const struct bf_profile *p, const struct bf_plan_node *nd)
{
	return dump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
	    "cpv", nd->cpvstr, "repo", nd->repo, "slot", nd->slot,
	    "subslot", nd->subslot, "key", nd->key,
	    "use", strv_json(&nd->use), "iuse", strv_json(&nd->iuse),
	    "pkguse", pkguse_json(p, nd)));
}

/* A job as status lists it. */
static json_t *
job_json(const struct job *j)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I}",
	    "job", (json_int_t)j->id, "cpv", j->cpv, "profile", j->profile,
	    "state", job_state_name(j->state),
	    "attempts", (json_int_t)j->attempts,
	    "rebuild", (json_int_t)j->rebuild);

	if (j->worker != NULL)
		json_object_set_new(o, "worker", json_string(j->worker));
	if (j->error != NULL)
		json_object_set_new(o, "error", json_string(j->error));
	if (j->has_started)
		json_object_set_new(o, "started", json_integer(j->started));
	return o;
}

json_t *
api_job_json(struct builder *b, long long id)
{
	struct job j;
	json_t *o = NULL;

	if (sched_job(b, id, &j) > 0) {
		o = job_json(&j);
		if (j.path != NULL)
			json_object_set_new(o, "path", json_string(j.path));
		json_object_set_new(o, "reused", json_boolean(j.reused));
	}
	job_release(&j);
	return o;
}

static json_t *
jobs_json(const struct job_list *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < l->n; i++)
		json_array_append_new(a, job_json(&l->v[i]));
	return a;
}

static json_t *
rebuild_json(const struct rebuild *r)
{
	json_t *o = json_pack("{s:I, s:s, s:I}", "id", (json_int_t)r->id,
	    "state", rebuild_state_name(r->state),
	    "created", (json_int_t)r->created);

	if (r->has_finished)
		json_object_set_new(o, "finished", json_integer(r->finished));
	if (r->snapshot != NULL)
		json_object_set_new(o, "snapshot", json_string(r->snapshot));
	if (r->error != NULL)
		json_object_set_new(o, "error", json_string(r->error));
	json_object_set_new(o, "trees", json_loads(r->trees ? r->trees : "",
	    0, NULL));
	return o;
}

static json_t *
counts_json(const struct job_counts *c)
{
	static const enum job_state order[] = { JOB_DONE, JOB_RUNNING,
	    JOB_READY, JOB_WAITING, JOB_FAILED, JOB_BLOCKED, JOB_CANCELLED };
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		json_object_set_new(o, job_state_name(order[i]),
		    json_integer(c->n[order[i]]));
		if (order[i] == JOB_DONE)
			json_object_set_new(o, "reused",
			    json_integer(c->reused));
	}
	json_object_set_new(o, "total", json_integer(c->total));
	return o;
}

static json_t *
profile_json(const struct profile_status *ps)
{
	json_t *o = json_pack("{s:s}", "profile", ps->profile);

	if (ps->has_rebuild) {
		json_object_set_new(o, "rebuild", rebuild_json(&ps->rebuild));
		json_object_set_new(o, "jobs", counts_json(&ps->counts));
	}
	if (ps->testing != NULL)
		json_object_set_new(o, "testing", json_string(ps->testing));
	return o;
}

json_t *
api_status_json(struct builder *b)
{
	struct sched_status s;
	json_t *res = json_object(), *a;
	size_t i;

	/* What could be read, as before: a database error shows as less. */
	sched_status(b, &s);
	a = json_array();
	for (i = 0; i < s.nprofiles; i++)
		json_array_append_new(a, profile_json(&s.profiles[i]));
	json_object_set_new(res, "profiles", a);
	json_object_set_new(res, "running", jobs_json(&s.running));
	json_object_set_new(res, "problems", jobs_json(&s.problems));
	json_object_set_new(res, "queue", jobs_json(&s.queue));
	json_object_set_new(res, "queued", json_integer(s.queued));
	a = json_array();
	for (i = 0; i < s.nrefused; i++)
		json_array_append_new(a, json_pack("{s:s, s:I, s:s}", "profile",
		    s.refused[i].profile, "time",
		    (json_int_t)s.refused[i].created, "error",
		    s.refused[i].error));
	json_object_set_new(res, "refused", a);
	json_object_set_new(res, "workers", workers_json(b));
	json_object_set_new(res, "ingested", json_integer((json_int_t)
	    b->ingested));
	json_object_set_new(res, "ingest_ms", json_real((double)b->ingest_ns /
	    1e6));
	sched_status_release(&s);
	return res;
}

json_t *
api_rebuild_get_json(struct builder *b, long long id)
{
	struct job_counts c;
	struct rebuild r;
	json_t *o = NULL, *ro;

	if (sched_rebuild_get(b, id, &r, &c) > 0 &&
	    (ro = rebuild_json(&r)) != NULL) {
		json_object_set_new(ro, "profile", json_string(r.profile));
		if (r.by != NULL)
			json_object_set_new(ro, "by", json_string(r.by));
		o = json_pack("{s:o, s:o}", "rebuild", ro, "jobs",
		    counts_json(&c));
	}
	rebuild_release(&r);
	return o;
}

json_t *
api_rebuild_json(const char *profile, const struct rebuild_started *s)
{
	return json_pack("{s:I, s:s, s:I, s:I, s:I, s:o}", "rebuild",
	    (json_int_t)s->id, "profile", profile, "jobs",
	    (json_int_t)s->njobs, "to_build",
	    (json_int_t)(s->njobs - s->nreused), "reused",
	    (json_int_t)s->nreused, "trees", json_loads(s->trees ? s->trees :
	    "[]", 0, NULL));
}
