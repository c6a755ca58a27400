/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm cancel: jobs (their dependents are blocked), or the running
 * rebuild of a profile.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "farm.h"
#include "base/banned.h"

/* --profile P alone: the profile's running rebuild. */
static int
cancel_rebuild(struct bf_cli *cli, struct farm *f, const char *profile)
{
	json_t *out = NULL, *body;
	int st, ret = BF_EXIT_OK;

	body = json_pack("{s:s}", "profile", profile);
	st = farm_call(cli, f, "POST", "/v1/rebuild/cancel", body, &out, NULL);
	json_decref(body);
	if (st == 200)
		printf("cancelled rebuild %lld of %s\n", ji(out, "cancelled"),
		    profile);
	else
		ret = farm_fail(cli, st, out);
	json_decref(out);
	return ret;
}

int
cmd_cancel(struct bf_cli *cli, int argc, char **argv)
{
	static const char usage[] = "JOB|CPV... | --profile P (the whole "
	    "running rebuild)";
	struct farm_opts o;
	struct farm f;
	const char *profile;
	int ret;

	if ((ret = farm_job_opts(cli, argc, argv, usage, "Cancels jobs "
	    "(their dependents are blocked) or a rebuild.\n", &o,
	    &profile)) >= 0)
		return ret;
	if (optind == argc && profile == NULL)
		return cli_usage(cli, usage);
	if (farm_open(cli, &f, &o) < 0)
		return BF_EXIT_ERROR;
	if (optind == argc)
		ret = cancel_rebuild(cli, &f, profile);
	else
		ret = farm_job_action(cli, &f, argc - optind, argv + optind,
		    profile, "cancel");
	farm_close(&f);
	return ret;
}
