/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm promote: a channel (or a wave of it) moved to a snapshot.
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

static const char promote_usage[] =
    "[-R DIR] --profile P --channel C [--wave W | --next | --all-waves]\n"
    "       [--allow-downgrade] [-n] (SNAPSHOT | --from CHANNEL)";

static const char promote_help[] =
    "Moves channel C of profile P to SNAPSHOT (or to the snapshot channel\n"
    "--from points at) in one atomic step, after printing what changes.\n"
    "Any downgrade against C's current snapshot (a lower version, or an\n"
    "older build of the same version) is refused unless --allow-downgrade.\n"
    "The move is recorded in the history log.\n"
    "\n"
    "A channel with waves (waves.C in binfarm-repo.conf) goes to the nodes\n"
    "of each wave in turn (channel C.W, e.g. production.canary), then to\n"
    "all (C itself); a wave gets SNAPSHOT only after the wave before it.\n"
    "\n"
    "  -R DIR               the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P      hw-profile\n"
    "  -c, --channel C      the channel to move (e.g. production)\n"
    "      --from CHANNEL   promote what CHANNEL points at (e.g. testing)\n"
    "  -w, --wave W         move wave W of C only\n"
    "      --next           move the first wave (then C) without SNAPSHOT\n"
    "      --all-waves      move every wave in order, then C\n"
    "      --allow-downgrade  move even if that downgrades packages\n"
    "  -n, --dry-run        show the diff and the decision; change nothing\n"
    "\n"
    "Exit status: 0 moved (or already there), 1 refused, 2 error.\n";

/* What the options say. */
struct promote_args {
	const char		*dir;
	const char		*profile;
	const char		*channel;
	const char		*from;		/* --from CHANNEL */
	const char		*wave;		/* --wave W */
	enum bf_wave_mode	 mode;
	int			 all;		/* --all-waves */
	struct bf_move_opts	 mo;
};

/* -1 to go on (optind at SNAPSHOT), or the exit status. */
static int
promote_args(struct bf_cli *cli, int argc, char **argv, struct promote_args *a)
{
	int c;

	while ((c = getopt_long(argc, argv, "R:p:c:w:nh", promote_longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'R': a->dir = optarg; break;
		case 'p': a->profile = optarg; break;
		case 'c': a->channel = optarg; break;
		case 'f': a->from = optarg; break;
		case 'w':
			if (a->mode != BF_WAVE_CHANNEL)
				return cli_usage(cli, promote_usage);
			a->mode = BF_WAVE_ONE;
			a->wave = optarg;
			break;
		case 'N':
		case 'A':
			if (a->mode != BF_WAVE_CHANNEL)
				return cli_usage(cli, promote_usage);
			a->mode = BF_WAVE_NEXT;
			a->all = c == 'A';
			break;
		case 'a': a->mo.allow_downgrade = 1; break;
		case 'n': a->mo.dry_run = 1; break;
		case 'h':
			return cli_help(cli, promote_usage, promote_help);
		default:
			return cli_usage(cli, promote_usage);
		}
	}
	if (a->profile == NULL || a->channel == NULL ||
	    (a->from != NULL ? optind != argc : optind + 1 != argc))
		return cli_usage(cli, promote_usage);
	return -1;
}

/* The snapshot to promote: SNAPSHOT, or what --from points at; the exit
 * status of an error, else -1. */
static int
promote_snapshot(struct bf_cli *cli, struct bf_repo *r,
    const struct promote_args *a, const char *arg, char *id, size_t idsz)
{
	struct bf_err e = BF_ERR_INIT;
	int rc;

	if (a->from == NULL) {
		snprintf(id, idsz, "%s", arg);
		return -1;
	}
	if (!bf_repo_name_valid(a->from)) {
		cli_error(cli, "invalid channel name '%s'", a->from);
		return BF_EXIT_ERROR;
	}
	if ((rc = bf_channel_get(r, a->from, a->profile, id, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		return BF_EXIT_FAIL;
	}
	return -1;
}

/* Moves the channel, or its waves one by one (--all-waves). */
static int
promote_moves(struct bf_cli *cli, struct bf_repo *r, struct promote_args *a,
    const char *id)
{
	struct bf_move_result res;
	struct bf_err e = BF_ERR_INIT;
	char target[BF_CHANNEL_MAX];
	int rc, moved_any = 0, ret = BF_EXIT_ERROR;

	memset(&res, 0, sizeof(res));
	do {
		bf_move_result_release(&res);
		memset(&res, 0, sizeof(res));
		if (!bf_repo_name_valid(a->channel))
			rc = bf_err_set(&e, BF_EUSAGE, "invalid channel name "
			    "'%s'", a->channel);
		else
			rc = bf_wave_target(r, a->profile, a->channel, a->mode,
			    a->wave, id, target, &e);
		if (rc == 1) {	/* --next, --all-waves: everyone has it */
			if (!moved_any)
				printf("channel %s of %s and all its waves "
				    "already at %s\n", a->channel, a->profile,
				    id);
			ret = BF_EXIT_OK;
			break;
		}
		if (rc == 0)
			rc = bf_repo_promote(r, a->profile, target, id, &a->mo,
			    &res, &e);
		ret = promote_report(cli, "promote", target, a->profile, &a->mo,
		    &res, rc, &e);
		moved_any |= res.moved;
		/* a dry run moves nothing: --all-waves shows the first step */
	} while (a->all && ret == BF_EXIT_OK && res.moved);
	bf_move_result_release(&res);
	return ret;
}

int
cmd_promote(struct bf_cli *cli, int argc, char **argv)
{
	struct promote_args a;
	struct bf_repo *r;
	char who[128], id[32];
	int ret;

	memset(&a, 0, sizeof(a));
	a.mode = BF_WAVE_CHANNEL;
	if ((ret = promote_args(cli, argc, argv, &a)) >= 0)
		return ret;
	if ((r = promote_open(cli, a.dir, &a.mo, who, sizeof(who))) == NULL)
		return BF_EXIT_ERROR;
	if ((ret = promote_snapshot(cli, r, &a, argv[optind], id,
	    sizeof(id))) < 0)
		ret = promote_moves(cli, r, &a, id);
	fflush(stdout);
	bf_repo_free(r);
	return ret;
}
