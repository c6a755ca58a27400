/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm add: verify, number, sign and stage packages.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "store/keys.h"
#include "store/repo.h"
#include "repocli.h"
#include "store/sign.h"
#include "base/banned.h"

static const char add_usage[] =
    "[-R DIR] --profile P [--require-signature --keyring K] [--max-entries N] [-q] "
    "(FILE... | --files-from LIST)";

static const char add_help[] =
    "Verifies each package as 'binfarm verify' does (refusing it with the\n"
    "reason), gives it the next BUILD_ID of its CPV in the profile's pool\n"
    "(rewriting BUILD_ID and the container directory if needed; the image\n"
    "is copied unchanged), signs it with the repository key, places it in\n"
    "pool/P/<cat>/<pn>/<pf>-<BUILD_ID>.gpkg.tar and stages it in the\n"
    "profile's working set, replacing the entry of the same package slot.\n"
    "\n"
    "  -R DIR                   the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P          hw-profile\n"
    "      --require-signature  refuse packages not signed by a key of K\n"
    "      --keyring K          GnuPG home (trust as Portage) or key file\n"
    "      --files-from LIST    read file names from LIST, one a line (- = stdin)\n"
    "      --max-entries N      refuse an image of more than N entries\n"
    "                           (default 1000000)\n"
    "  -q, --quiet              print only errors\n"
    "\n"
    "Exit status: 0 if all were added, 1 if any was refused, 2 on errors.\n";

static int
add_one(struct bf_cli *cli, struct bf_repo *r, const char *profile,
    const char *file, const struct bf_repo_add_opts *ao, struct bf_workset *w,
    int *bad)
{
	struct bf_repo_added res;
	struct bf_err e = BF_ERR_INIT;
	int rc;

	rc = bf_repo_add(r, profile, file, ao, w, &res, &e);
	if (rc < 0) {
		(*bad)++;
		printf("%s: REFUSED: %s\n", file, bf_err_msg(&e, rc));
		/* A failing repository (not package) stops the batch. */
		return rc == -ENOSPC || rc == -EIO || rc == -EROFS ? rc : 0;
	}
	if (!cli->quiet) {
		printf("%s: added %s build %lld as %s%s", file, res.cpv,
		    res.build_id, res.path, res.rewritten ? " (BUILD_ID rewritten)" : "");
		if (res.replaced[0] != '\0')
			printf(", replacing %s", res.replaced);
		putchar('\n');
	}
	return 0;
}

int
cmd_add(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "require-signature", no_argument, NULL, 's' },
		{ "keyring", required_argument, NULL, 'k' },
		{ "files-from", required_argument, NULL, 'f' },
		{ "max-entries", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_repo_add_opts ao = { NULL, NULL, -1, 0 };
	struct bf_workset w;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r = NULL;
	struct bf_signer *signer = NULL;
	struct bf_verifier *ver = NULL;
	const char *dir = NULL, *profile = NULL, *keyring = NULL, *list = NULL;
	int c, i, rc, require = 0, bad = 0, ret = BF_EXIT_ERROR, have_w = 0;
	long long sde, max;

	while ((c = getopt_long(argc, argv, "R:p:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			dir = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 's':
			require = 1;
			break;
		case 'k':
			keyring = optarg;
			break;
		case 'f':
			list = optarg;
			break;
		case 'n':
			if (cli_parse_ll(cli, "--max-entries", optarg, 1,
			    LLONG_MAX, &max) < 0)
				return cli_usage(cli, add_usage);
			ao.max_entries = (uint64_t)max;
			break;
		case 'q':
			cli->quiet = 1;
			break;
		case 'h':
			return cli_help(cli, add_usage, add_help);
		default:
			return cli_usage(cli, add_usage);
		}
	}
	if (profile == NULL) {
		cli_error(cli, "--profile is required");
		return cli_usage(cli, add_usage);
	}
	if (!bf_repo_name_valid(profile)) {
		cli_error(cli, "invalid profile name '%s'", profile);
		return BF_EXIT_ERROR;
	}
	if (optind == argc && list == NULL) {
		cli_error(cli, "no package given");
		return cli_usage(cli, add_usage);
	}
	if (require && keyring == NULL) {
		cli_error(cli, "--require-signature needs --keyring");
		return BF_EXIT_ERROR;
	}
	if ((sde = cli_source_date_epoch(cli)) == -2)
		return BF_EXIT_ERROR;
	ao.mtime = sde;
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	if (r->signed_repo) {
		if ((rc = bf_repo_signer_open(r, &signer, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			goto out;
		}
		ao.signer = signer;
	} else
		repocli_warn_unsigned(cli, r);
	if (require) {
		if ((rc = bf_verifier_open(&ver, keyring, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			goto out;
		}
		ao.require = ver;
	}
	if (repocli_lock(cli, r) < 0)
		goto out;
	if ((rc = bf_workset_load(r, profile, &w, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	have_w = 1;
	for (i = optind; i < argc; i++)
		if ((rc = add_one(cli, r, profile, argv[i], &ao, &w, &bad)) < 0)
			goto save;
	if (list != NULL) {
		FILE *f = strcmp(list, "-") == 0 ? stdin : fopen(list, "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		if (f == NULL) {
			cli_error(cli, "cannot open '%s': %s", list, strerror(errno));
			goto save;
		}
		while ((n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] == '\n')
				line[--n] = '\0';
			if (n == 0)
				continue;
			if ((rc = add_one(cli, r, profile, line, &ao, &w, &bad)) < 0)
				break;
		}
		free(line);
		if (f != stdin)
			fclose(f);
	}
save:
	/* Pool files durable before the working set names them. */
	if (w.dirty) {
		if ((rc = bf_repo_sync(r, &e)) < 0 ||
		    (rc = bf_workset_save(r, profile, &w, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			goto out;
		}
	}
	ret = bad ? BF_EXIT_FAIL : BF_EXIT_OK;
out:
	fflush(stdout);
	if (have_w)
		bf_workset_release(&w);
	bf_signer_free(signer);
	bf_verifier_free(ver);
	bf_repo_free(r);
	return ret;
}
