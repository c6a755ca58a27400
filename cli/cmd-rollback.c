/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm rollback: a channel (or a wave of it) back to the snapshot it
 * pointed at before.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store/promote.h"
#include "store/repo.h"
#include "promote.h"
#include "base/banned.h"

static const char rollback_usage[] =
    "[-R DIR] --profile P --channel C [--wave W] [-n]";

static const char rollback_help[] =
    "Returns channel C of profile P to the snapshot it pointed at before\n"
    "the current one, printing exactly what that downgrades.  Repeated\n"
    "rollbacks walk further back through the channel's history.\n"
    "\n"
    "  -R DIR           the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P  hw-profile\n"
    "  -c, --channel C  the channel\n"
    "  -w, --wave W     roll back wave W of C (channel C.W)\n"
    "  -n, --dry-run    show what would happen\n";

/* The channel to roll back: C, or C.W with --wave W; the exit status
 * of an error, else -1. */
static int
rollback_target(struct bf_cli *cli, struct bf_repo *r, const char *channel,
    const char *wave, char *target, size_t len)
{
	struct bf_strv w = BF_STRV_INIT;
	int ret = -1;

	snprintf(target, len, "%s", channel);
	if (wave == NULL)
		return -1;
	if (bf_repo_waves(r, channel, &w) < 0 || bf_strv_find(&w, wave) < 0) {
		cli_error(cli, "channel '%s' has no wave '%s'", channel, wave);
		ret = BF_EXIT_FAIL;
	} else
		snprintf(target, len, "%s.%s", channel, wave);
	bf_strv_release(&w);
	return ret;
}

int
cmd_rollback(struct bf_cli *cli, int argc, char **argv)
{
	struct bf_move_opts mo;
	struct bf_move_result res;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL, *profile = NULL, *channel = NULL;
	const char *wave = NULL;
	char who[128], target[BF_CHANNEL_MAX];
	int c, rc, ret;

	memset(&mo, 0, sizeof(mo));
	memset(&res, 0, sizeof(res));
	while ((c = getopt_long(argc, argv, "R:p:c:w:nh", promote_longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'R': dir = optarg; break;
		case 'p': profile = optarg; break;
		case 'c': channel = optarg; break;
		case 'w':
			if (wave != NULL)
				return cli_usage(cli, rollback_usage);
			wave = optarg;
			break;
		case 'n': mo.dry_run = 1; break;
		case 'h':
			return cli_help(cli, rollback_usage, rollback_help);
		default:
			return cli_usage(cli, rollback_usage);
		}
	}
	if (profile == NULL || channel == NULL || optind != argc)
		return cli_usage(cli, rollback_usage);
	if ((r = promote_open(cli, dir, &mo, who, sizeof(who))) == NULL)
		return BF_EXIT_ERROR;
	if ((ret = rollback_target(cli, r, channel, wave, target,
	    sizeof(target))) < 0) {
		rc = bf_repo_rollback(r, profile, target, &mo, &res, &e);
		ret = promote_report(cli, "rollback", target, profile, &mo,
		    &res, rc, &e);
	}
	fflush(stdout);
	bf_move_result_release(&res);
	bf_repo_free(r);
	return ret;
}
