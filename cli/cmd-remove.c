/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm remove: take packages out of a profile's working set.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store/repo.h"
#include "repocli.h"
#include "base/banned.h"

static const char remove_usage[] = "[-R DIR] --profile P ATOM...";

static const char remove_help[] =
    "Removes packages from the profile's working set, so that the next\n"
    "snapshot lacks them.  The pool and existing snapshots are untouched.\n"
    "ATOM is cat/pn (every entry of the package) or [=]cat/pn-version.\n"
    "\n"
    "  -R DIR          the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P hw-profile\n"
    "\n"
    "Exit status: 0, or 1 if an ATOM matched nothing (nothing is removed).\n";

static void
removed(void *arg, const char *cpv, const char *build_id)
{
	(void)arg;
	printf("removed %s%s%s\n", cpv, build_id != NULL && *build_id ?
	    " build " : "", build_id != NULL ? build_id : "");
}

int
cmd_remove(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_workset w;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL, *profile = NULL;
	int c, i, rc, ret = BF_EXIT_ERROR, have_w = 0;

	while ((c = getopt_long(argc, argv, "R:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			dir = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 'h':
			return cli_help(cli, remove_usage, remove_help);
		default:
			return cli_usage(cli, remove_usage);
		}
	}
	if (profile == NULL || optind == argc)
		return cli_usage(cli, remove_usage);
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	if (!bf_repo_profile_exists(r, profile)) {
		cli_error(cli, "no profile '%s' in this repository", profile);
		goto out;
	}
	if (repocli_lock(cli, r) < 0)
		goto out;
	if ((rc = bf_workset_load(r, profile, &w, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	have_w = 1;
	for (i = optind; i < argc; i++) {
		if ((rc = bf_workset_remove(&w, argv[i], NULL, NULL, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			goto out;
		}
		if (rc == 0) {
			cli_error(cli, "no package in the working set of '%s' "
			    "matches '%s'; nothing removed", profile, argv[i]);
			ret = BF_EXIT_FAIL;
			goto out;
		}
	}
	/* All or nothing: check every atom matches before saving. */
	bf_workset_release(&w);
	have_w = 0;
	if ((rc = bf_workset_load(r, profile, &w, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	have_w = 1;
	for (i = optind; i < argc; i++) {
		if ((rc = bf_workset_remove(&w, argv[i], removed, NULL, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			goto out;
		}
	}
	if ((rc = bf_workset_save(r, profile, &w, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	ret = BF_EXIT_OK;
out:
	fflush(stdout);
	if (have_w)
		bf_workset_release(&w);
	bf_repo_free(r);
	return ret;
}
