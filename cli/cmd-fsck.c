/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm fsck: check snapshots against the pool, and channel links.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/fsck.h"
#include "store/repo.h"
#include "json.h"
#include "repocli.h"
#include "store/sign.h"
#include "base/banned.h"

static const char fsck_usage[] =
    "[-R DIR] [--no-digests] [--no-signatures] [-q] [--json]";

static const char fsck_help[] =
    "Takes the writer lock (which first cleans what killed writers left,\n"
    "saying so), then checks every snapshot: its Packages, Packages.gz and\n"
    "SNAPSHOT files; for every package, that the file exists, is a hard\n"
    "link of the pool file, has the indexed size, MD5 and SHA1, passes\n"
    "the container checks, and in a signed repository is signed and its\n"
    "signatures verify against the repository key; every channel link;\n"
    "leftover temporary files; and that no GnuPG home or secret key\n"
    "material lies inside the repository (binfarm key migrate moves it out);\n"
    "and the inventory of nodes, nodes.conf (its first error, FILE:LINE).\n"
    "\n"
    "  -R DIR            the repository (default: $BINFARM_REPO)\n"
    "      --no-digests  check sizes only (fast)\n"
    "      --no-signatures  do not run gpg\n"
    "  -q, --quiet       print only problems\n"
    "      --json        {\"clean\", \"signed\", \"problems\": [{\"message\"}...]}\n"
    "\n"
    "Exit status: 0 clean, 1 problems found, 2 error.\n";

/* Each problem: a line, or (arg: a JSON array) an object. */
static void
problem(void *arg, const char *msg)
{
	json_t *arr = arg;

	if (arr == NULL)
		printf("problem: %s\n", msg);
	else
		/* Out of memory shows as a shorter list; the count holds. */
		json_array_append_new(arr, json_pack("{s:s}", "message", msg));
}

static int
print_result(struct bf_cli *cli, const struct bf_repo *r, int n, json_t *arr)
{
	int ret = n > 0 ? BF_EXIT_FAIL : BF_EXIT_OK, jr;

	if (arr != NULL) {
		jr = cli_json_print(cli, json_pack("{s:b, s:b, s:i, s:O}",
		    "clean", n == 0, "signed", r->signed_repo, "count", n,
		    "problems", arr));
		return jr != BF_EXIT_OK ? jr : ret;
	}
	if (n > 0)
		printf("%d problem(s)\n", n);
	else if (!cli->quiet)
		printf("clean\n");
	return ret;
}

int
cmd_fsck(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-digests", no_argument, NULL, 'd' },
		{ "no-signatures", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_fsck_opts fo;
	struct bf_err e = BF_ERR_INIT;
	struct bf_verifier *ver = NULL;
	struct bf_repo *r;
	struct bf_buf why = BF_BUF_INIT;
	const char *dir = NULL;
	json_t *arr = NULL;
	int c, rc, kp, nkey = 0, nosig = 0, json = 0, ret = BF_EXIT_ERROR;

	memset(&fo, 0, sizeof(fo));
	while ((c = getopt_long(argc, argv, "R:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			dir = optarg;
			break;
		case 'd':
			fo.no_digests = 1;
			break;
		case 's':
			nosig = 1;
			break;
		case 'q':
			cli->quiet = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			return cli_help(cli, fsck_usage, fsck_help);
		default:
			return cli_usage(cli, fsck_usage);
		}
	}
	if (optind != argc)
		return cli_usage(cli, fsck_usage);
	if (json && (arr = json_array()) == NULL) {
		cli_error(cli, "out of memory");
		return BF_EXIT_ERROR;
	}
	if ((r = repocli_open(cli, dir)) == NULL) {
		json_decref(arr);
		return BF_EXIT_ERROR;
	}
	if (repocli_lock(cli, r) < 0)
		goto out;
	fo.problem = problem;
	fo.arg = arr;
	if (r->signed_repo && !nosig) {
		char *pub = bf_repo_path(r, BF_REPO_PUBKEY);

		if (access(pub, F_OK) < 0) {
			problem(arr, "signed repository without a key ("
			    BF_REPO_PUBKEY ")");
			nkey++;
		} else if ((rc = bf_verifier_open(&ver, pub, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			free(pub);
			goto out;
		}
		free(pub);
		fo.verifier = ver;
	}
	if ((rc = bf_repo_fsck(r, &fo, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	/* The secret key must never be where a server of the tree reaches. */
	if ((kp = bf_repo_key_problem(r, &why, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, kp));
		goto out;
	}
	if (kp > 0) {
		problem(arr, why.buf);
		rc++;
	}
	if (!r->signed_repo)
		cli_info(cli, "note: the repository is unsigned");
	ret = print_result(cli, r, rc + nkey, arr);
out:
	json_decref(arr);
	fflush(stdout);
	bf_buf_release(&why);
	bf_verifier_free(ver);
	bf_repo_free(r);
	return ret;
}
