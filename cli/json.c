/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The --json output the commands share (json.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/repo.h"
#include "json.h"
#include "base/banned.h"

int
cli_json_print(const struct bf_cli *cli, json_t *j)
{
	int rc;

	if (j == NULL) {
		cli_error(cli, "out of memory");
		return BF_EXIT_ERROR;
	}
	rc = json_dumpf(j, stdout, JSON_INDENT(2));
	json_decref(j);
	if (rc < 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		cli_error(cli, "cannot write the output: %s", strerror(errno));
		return BF_EXIT_ERROR;
	}
	return BF_EXIT_OK;
}

int
cli_json_set_time(json_t *o, const char *key, long long t)
{
	char k[64], s[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (snprintf(k, sizeof(k), "%s_utc", key) >= (int)sizeof(k) ||
	    gmtime_r(&tt, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	if (json_object_set_new(o, key, json_integer(t)) < 0 ||
	    json_object_set_new(o, k, json_string(s)) < 0)
		return -1;
	return 0;
}

json_t *
cli_json_str_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

static json_t *
build_or_null(const char *cpv, long long build)
{
	return cpv != NULL && build > 0 ? json_integer(build) : json_null();
}

json_t *
cli_json_diff(const struct bf_diff *d)
{
	json_t *changes = json_array(), *counts, *it;
	size_t i;

	counts = json_pack("{s:I, s:I, s:I, s:I, s:I}",
	    "added", (json_int_t)d->count[BF_CHG_ADDED],
	    "removed", (json_int_t)d->count[BF_CHG_REMOVED],
	    "upgraded", (json_int_t)d->count[BF_CHG_UPGRADED],
	    "downgraded", (json_int_t)d->count[BF_CHG_DOWNGRADED],
	    "rebuilt", (json_int_t)d->count[BF_CHG_REBUILT]);
	if (changes == NULL || counts == NULL)
		goto oom;
	for (i = 0; i < d->n; i++) {
		const struct bf_diff_item *c = &d->v[i];

		it = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}",
		    "change", bf_change_name(c->kind), "key", c->key,
		    "old_cpv", cli_json_str_or_null(c->old_cpv),
		    "old_build", build_or_null(c->old_cpv, c->old_build),
		    "new_cpv", cli_json_str_or_null(c->new_cpv),
		    "new_build", build_or_null(c->new_cpv, c->new_build));
		if (it == NULL || json_array_append_new(changes, it) < 0)
			goto oom;
	}
	return json_pack("{s:o, s:o}", "changes", changes, "counts", counts);
oom:
	json_decref(changes);
	json_decref(counts);
	return NULL;
}
