/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm history: every channel move, oldest first.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "store/promote.h"
#include "store/repo.h"
#include "promote.h"
#include "base/banned.h"

static const char history_usage[] = "[-R DIR] [--profile P] [--channel C]";

static const char history_help[] =
    "Prints every channel move (promote, rollback, recover), oldest first:\n"
    "time, action, profile, channel, from, to, and who.\n";

int
cmd_history(struct bf_cli *cli, int argc, char **argv)
{
	struct bf_history_entry *v = NULL;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL, *profile = NULL, *channel = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = promote_view_opts(cli, argc, argv, history_usage, history_help, &dir,
	    &profile, &channel)) >= 0)
		return rc;
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	if ((rc = bf_history_load(r, &v, &n, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		bf_repo_free(r);
		return BF_EXIT_ERROR;
	}
	for (i = 0; i < n; i++) {
		char when[64];
		time_t t = (time_t)v[i].time;
		struct tm tm;

		if ((profile != NULL && strcmp(profile, v[i].profile) != 0) ||
		    (channel != NULL && strcmp(channel, v[i].channel) != 0))
			continue;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		printf("%s  %-8s  %s/%s  %s -> %s  by %s\n", when, v[i].action,
		    v[i].channel, v[i].profile, v[i].from[0] ? v[i].from : "(none)",
		    v[i].to, v[i].by);
	}
	free(v);
	bf_repo_free(r);
	return fflush(stdout) == 0 ? BF_EXIT_OK : BF_EXIT_ERROR;
}
