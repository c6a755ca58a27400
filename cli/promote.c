/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the channel commands share (promote.h): opening the repository
 * for a move, printing a move, the options of the views.
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

/* promote's options; rollback's are those that do not move forward */
const struct option promote_longopts[] = {
	{ "profile", required_argument, NULL, 'p' },
	{ "channel", required_argument, NULL, 'c' },
	{ "from", required_argument, NULL, 'f' },
	{ "wave", required_argument, NULL, 'w' },
	{ "next", no_argument, NULL, 'N' },
	{ "all-waves", no_argument, NULL, 'A' },
	{ "allow-downgrade", no_argument, NULL, 'a' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct bf_repo *
promote_open(struct bf_cli *cli, const char *dir, struct bf_move_opts *mo,
    char *who, size_t whosz)
{
	struct bf_repo *r;

	if ((r = repocli_open(cli, dir)) == NULL)
		return NULL;
	mo->by = repocli_who(who, whosz);
	repocli_warn_unsigned(cli, r);
	if (repocli_lock(cli, r) < 0) {
		bf_repo_free(r);
		return NULL;
	}
	return r;
}

int
promote_report(struct bf_cli *cli, const char *action, const char *channel,
    const char *profile, const struct bf_move_opts *mo,
    const struct bf_move_result *res, int rc, struct bf_err *e)
{
	if (res->to[0] != '\0') {
		printf("%s %s/%s: %s -> %s\n", action, channel, profile,
		    res->from[0] ? res->from : "(none)", res->to);
		repocli_print_diff(&res->diff, "  ");
		if (strcmp(action, "rollback") == 0 &&
		    res->diff.count[BF_CHG_DOWNGRADED] > 0)
			printf("rollback downgrades %zu package(s)\n",
			    res->diff.count[BF_CHG_DOWNGRADED]);
	}
	if (rc < 0) {
		cli_error(cli, "%s", bf_err_msg(e, rc));
		return rc == -BF_ECONFLICT || rc == -BF_ENOTFOUND ?
		    BF_EXIT_FAIL : BF_EXIT_ERROR;
	}
	if (res->moved)
		printf("channel %s of %s now at %s\n", channel, profile,
		    res->to);
	else if (mo->dry_run)
		printf("dry run: nothing changed\n");
	else
		printf("channel %s of %s already at %s\n", channel, profile,
		    res->to);
	return BF_EXIT_OK;
}

int
promote_view_opts(struct bf_cli *cli, int argc, char **argv, const char *usage,
    const char *help, const char **dir, const char **profile,
    const char **channel)
{
	return promote_view_opts_json(cli, argc, argv, usage, help, dir,
	    profile, channel, NULL);
}

int
promote_view_opts_json(struct bf_cli *cli, int argc, char **argv,
    const char *usage, const char *help, const char **dir,
    const char **profile, const char **channel, int *json)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "channel", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "R:p:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			*dir = optarg;
			break;
		case 'p':
			*profile = optarg;
			break;
		case 'c':
			*channel = optarg;
			break;
		case 'j':
			if (json == NULL)
				return cli_usage(cli, usage);
			*json = 1;
			break;
		case 'h':
			return cli_help(cli, usage, help);
		default:
			return cli_usage(cli, usage);
		}
	}
	return optind != argc ? cli_usage(cli, usage) : -1;
}
