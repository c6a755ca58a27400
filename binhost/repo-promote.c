/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm promote, rollback and history: moving channels.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "promote.h"
#include "repo.h"
#include "repocli.h"
#include "banned.h"

static const char promote_usage[] =
    "[-R DIR] --profile P --channel C [--allow-downgrade] [-n] "
    "(SNAPSHOT | --from CHANNEL)";

static const char promote_help[] =
    "Moves channel C of profile P to SNAPSHOT (or to the snapshot channel\n"
    "--from points at) in one atomic step, after printing what changes.\n"
    "Any downgrade against C's current snapshot (a lower version, or an\n"
    "older build of the same version) is refused unless --allow-downgrade.\n"
    "The move is recorded in the history log.\n"
    "\n"
    "  -R DIR               the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P      hw-profile\n"
    "  -c, --channel C      the channel to move (e.g. production)\n"
    "      --from CHANNEL   promote what CHANNEL points at (e.g. testing)\n"
    "      --allow-downgrade  move even if that downgrades packages\n"
    "  -n, --dry-run        show the diff and the decision; change nothing\n"
    "\n"
    "Exit status: 0 moved (or already there), 1 refused, 2 error.\n";

static const char rollback_usage[] =
    "[-R DIR] --profile P --channel C [-n]";

static const char rollback_help[] =
    "Returns channel C of profile P to the snapshot it pointed at before\n"
    "the current one, printing exactly what that downgrades.  Repeated\n"
    "rollbacks walk further back through the channel's history.\n"
    "\n"
    "  -R DIR           the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P  hw-profile\n"
    "  -c, --channel C  the channel\n"
    "  -n, --dry-run    show what would happen\n";

static const char history_usage[] = "[-R DIR] [--profile P] [--channel C]";

static const char history_help[] =
    "Prints every channel move (promote, rollback, recover), oldest first:\n"
    "time, action, profile, channel, from, to, and who.\n";

static int
move_common(struct bf_cli *cli, int argc, char **argv, int rollback)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "channel", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "allow-downgrade", no_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = rollback ? rollback_usage : promote_usage;
	struct bf_move_opts mo;
	struct bf_move_result res;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL, *profile = NULL, *channel = NULL, *from = NULL;
	char who[128], id[32];
	int c, rc, ret = BF_EXIT_ERROR;

	memset(&mo, 0, sizeof(mo));
	memset(&res, 0, sizeof(res));
	while ((c = getopt_long(argc, argv, "R:p:c:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			dir = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 'c':
			channel = optarg;
			break;
		case 'f':
			if (rollback)
				return cli_usage(cli, usage);
			from = optarg;
			break;
		case 'a':
			if (rollback)
				return cli_usage(cli, usage);
			mo.allow_downgrade = 1;
			break;
		case 'n':
			mo.dry_run = 1;
			break;
		case 'h':
			return cli_help(cli, usage, rollback ? rollback_help :
			    promote_help);
		default:
			return cli_usage(cli, usage);
		}
	}
	if (profile == NULL || channel == NULL)
		return cli_usage(cli, usage);
	if (rollback ? optind != argc :
	    (from != NULL ? optind != argc : optind + 1 != argc))
		return cli_usage(cli, usage);
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	mo.by = repocli_who(who, sizeof(who));
	repocli_warn_unsigned(cli, r);
	if (repocli_lock(cli, r) < 0)
		goto out;
	if (rollback)
		rc = bf_repo_rollback(r, profile, channel, &mo, &res, &e);
	else {
		if (from != NULL) {
			if (!bf_repo_name_valid(from)) {
				cli_error(cli, "invalid channel name '%s'", from);
				goto out;
			}
			if ((rc = bf_channel_get(r, from, profile, id, &e)) < 0) {
				cli_error(cli, "%s", bf_err_msg(&e, rc));
				ret = BF_EXIT_FAIL;
				goto out;
			}
		} else
			snprintf(id, sizeof(id), "%s", argv[optind]);
		rc = bf_repo_promote(r, profile, channel, id, &mo, &res, &e);
	}
	if (res.to[0] != '\0') {
		printf("%s %s/%s: %s -> %s\n", rollback ? "rollback" : "promote",
		    channel, profile, res.from[0] ? res.from : "(none)", res.to);
		repocli_print_diff(&res.diff, "  ");
		if (rollback && res.diff.count[BF_CHG_DOWNGRADED] > 0)
			printf("rollback downgrades %zu package(s)\n",
			    res.diff.count[BF_CHG_DOWNGRADED]);
	}
	if (rc < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		ret = rc == -BF_ECONFLICT || rc == -BF_ENOTFOUND ? BF_EXIT_FAIL :
		    BF_EXIT_ERROR;
		goto out;
	}
	if (res.moved)
		printf("channel %s of %s now at %s\n", channel, profile, res.to);
	else if (mo.dry_run)
		printf("dry run: nothing changed\n");
	else
		printf("channel %s of %s already at %s\n", channel, profile, res.to);
	ret = BF_EXIT_OK;
out:
	fflush(stdout);
	bf_move_result_release(&res);
	bf_repo_free(r);
	return ret;
}

int
cmd_promote(struct bf_cli *cli, int argc, char **argv)
{
	return move_common(cli, argc, argv, 0);
}

int
cmd_rollback(struct bf_cli *cli, int argc, char **argv)
{
	return move_common(cli, argc, argv, 1);
}

int
cmd_history(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "channel", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_history_entry *v = NULL;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL, *profile = NULL, *channel = NULL;
	size_t n = 0, i;
	int c, rc;

	while ((c = getopt_long(argc, argv, "R:p:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			dir = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 'c':
			channel = optarg;
			break;
		case 'h':
			return cli_help(cli, history_usage, history_help);
		default:
			return cli_usage(cli, history_usage);
		}
	}
	if (optind != argc)
		return cli_usage(cli, history_usage);
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
