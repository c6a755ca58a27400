/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm retry: failed or cancelled jobs queued again.
 */
#include "config.h"

#include <getopt.h>

#include "farm.h"
#include "base/banned.h"

int
cmd_retry(struct bf_cli *cli, int argc, char **argv)
{
	static const char usage[] = "[--profile P] JOB|CPV...";
	struct farm_opts o;
	struct farm f;
	const char *profile;
	int ret;

	if ((ret = farm_job_opts(cli, argc, argv, usage, "Retries failed or "
	    "cancelled jobs; their blocked dependents are queued again.\n",
	    &o, &profile)) >= 0)
		return ret;
	if (optind == argc)
		return cli_usage(cli, usage);
	if (farm_open(cli, &f, &o) < 0)
		return BF_EXIT_ERROR;
	ret = farm_job_action(cli, &f, argc - optind, argv + optind, profile,
	    "retry");
	farm_close(&f);
	return ret;
}
