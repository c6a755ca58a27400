/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The JSON of the workers' calls (api.c serves them over HTTP):
 * register's tags, a heartbeat's jobs and its answer, the workers in
 * /v1/status.  The keys and types are binfarm-builder(8)'s and
 * binfarm-worker's; workers.c works on the C structs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "builder.h"
#include "base/banned.h"

static json_t *
strv_json(const struct bf_strv *sv)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

int
api_farm_tags(json_t *in, struct bf_strv *tags, int *not_string)
{
	json_t *a = json_object_get(in, "tags"), *v;
	size_t i;

	*not_string = 0;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			/* The strings before it are checked first. */
			*not_string = 1;
			break;
		}
		if (bf_strv_push(tags, json_string_value(v)) < 0)
			return -ENOMEM;
	}
	return 0;
}

json_t *
api_farm_registered(const char *name, int lease_timeout,
    const struct bf_strv *tags)
{
	return json_pack("{s:s, s:i, s:o}", "name", name, "lease_timeout",
	    lease_timeout, "tags", strv_json(tags));
}

int
api_farm_heartbeat_jobs(json_t *in, struct hb_job **vp, size_t *np)
{
	json_t *jobs = json_object_get(in, "jobs"), *v;
	struct hb_job *hb;
	size_t i;

	*np = 0;
	if ((*vp = hb = calloc(json_array_size(jobs) + 1, sizeof(*hb))) ==
	    NULL)
		return -ENOMEM;
	json_array_foreach(jobs, i, v) {
		const char *lease = json_string_value(json_object_get(v,
		    "lease"));

		hb[i].job = (long long)json_integer_value(json_object_get(v,
		    "job"));
		hb[i].lease = lease != NULL ? lease : "";
	}
	*np = json_array_size(jobs);
	return 0;
}

json_t *
api_farm_heartbeat_reply(const long long *abandon, size_t n,
    int lease_timeout)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_integer(abandon[i]));
	return json_pack("{s:o, s:i}", "abandon", a, "lease_timeout",
	    lease_timeout);
}

json_t *
workers_json(struct builder *b)
{
	struct worker_row *v = NULL;
	json_t *a = json_array();
	size_t i, n = 0;

	if (workers_list(b, &v, &n) < 0)
		return a;
	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:o, s:i, s:I, s:o, "
		    "s:I, s:b}", "name", v[i].name, "tags", strv_json(&v[i].tags),
		    "slots", v[i].slots, "last_seen", (json_int_t)v[i].last_seen,
		    "may_build", strv_json(&v[i].may_build), "running",
		    (json_int_t)v[i].running, "alive", v[i].alive));
	worker_rows_free(v, n);
	return a;
}
