/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm verify: every check of Portage's gpkg._verify_binpkg(), plus
 * the safety checks a repository needs before it serves a package.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "base/err.h"
#include "format/gpkg.h"
#include "store/gpkgsign.h"
#include "store/sign.h"
#include "base/banned.h"

static const char verify_usage[] =
    "[--metadata-only] [--keyring K] [--max-entries N] [-q] FILE...";

static const char verify_help[] =
    "Checks each .gpkg.tar as Portage does before it installs it (tar format,\n"
    "gpkg-1 marker, one directory, no duplicate members, Manifest sizes and\n"
    "BLAKE2B/SHA512 digests, no unlisted or missing member) and also that no\n"
    "image member is absolute, contains '..', lies outside image/, is a\n"
    "device, or is a hard link or symlink escaping the image; and that the\n"
    "metadata has CATEGORY, PF and SLOT.  OpenPGP signatures are detected\n"
    "but not checked.\n"
    "\n"
    "      --metadata-only    skip the image members (what Portage checks\n"
    "                         when it only reads metadata)\n"
    "      --keyring K        also check OpenPGP signatures as Portage does\n"
    "                         with verify-signature on: K is a GnuPG home\n"
    "                         (GOODSIG and full or ultimate trust needed,\n"
    "                         e.g. /etc/portage/gnupg) or a file of public\n"
    "                         keys, all trusted (binfarm key export)\n"
    "      --max-entries N    refuse an image of more than N entries\n"
    "                         (default 1000000)\n"
    "  -q, --quiet            print only failures\n"
    "\n"
    "Prints one line per file.  Exit status: 0 if every file passes, 1 if\n"
    "any fails, 2 on a usage error.\n";

int
cmd_verify(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "metadata-only", no_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "keyring", required_argument, NULL, 'k' },
		{ "max-entries", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_gpkg_verify_opts vo;
	long long max;
	int c, i, bad = 0;
	const char *keyring = NULL;
	struct bf_verifier *ver = NULL;

	memset(&vo, 0, sizeof(vo));
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			vo.flags |= BF_GPKG_VERIFY_METADATA_ONLY;
			break;
		case 'n':
			if (cli_parse_ll(cli, "--max-entries", optarg, 1,
			    LLONG_MAX, &max) < 0)
				return cli_usage(cli, verify_usage);
			vo.max_entries = (uint64_t)max;
			break;
		case 'q':
			cli->quiet = 1;
			break;
		case 'k':
			keyring = optarg;
			break;
		case 'h':
			return cli_help(cli, verify_usage, verify_help);
		default:
			return cli_usage(cli, verify_usage);
		}
	}
	if (optind == argc) {
		cli_error(cli, "no package given");
		return cli_usage(cli, verify_usage);
	}
	if (keyring != NULL) {
		struct bf_err ke = BF_ERR_INIT;
		int krc = bf_verifier_open(&ver, keyring, &ke);

		if (krc < 0) {
			cli_error(cli, "%s", bf_err_msg(&ke, krc));
			return BF_EXIT_ERROR;
		}
	}
	for (i = optind; i < argc; i++) {
		struct bf_gpkg_verify_result res;
		struct bf_err e = BF_ERR_INIT;
		int fd, rc;

		/* O_NONBLOCK: a FIFO must not block the open; verify refuses it. */
		fd = open(argv[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			rc = bf_err_errno(&e, "cannot open");
			memset(&res, 0, sizeof(res));
		} else {
			rc = bf_gpkg_verify_ext(fd, argv[i], &vo, &res, &e);
			if (rc == 0 && ver != NULL)
				rc = bf_gpkg_check_signatures(fd, argv[i], ver, &e);
			close(fd);
		}
		if (rc < 0) {
			bad++;
			printf("%s: FAILED: %s\n", argv[i], bf_err_msg(&e, rc));
		} else if (!cli->quiet) {
			printf("%s: OK%s\n", argv[i], ver != NULL ?
			    " (signatures good)" : res.signed_pkg ?
			    " (signed; signatures not checked)" : "");
		}
		bf_gpkg_verify_result_release(&res);
	}
	fflush(stdout);
	bf_verifier_free(ver);
	return bad ? BF_EXIT_FAIL : BF_EXIT_OK;
}
