/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm repo init: a new, empty repository.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store/repo.h"
#include "repocli.h"
#include "base/banned.h"

static const char repo_usage[] =
    "init [--unsigned] [--no-key] [--gnupg-home HOME] [--key-name UID] "
    "[--key-algo ALGO] DIR";

static const char repo_help[] =
    "Creates an empty binfarm repository in DIR (pool/, snapshots/,\n"
    "channels/, work/, keys/; see binfarm-repository(5)).  A signed\n"
    "repository (the default) gets its OpenPGP signing key at once, as\n"
    "'binfarm key init' makes it.\n"
    "\n"
    "      --unsigned        packages are published unsigned (every\n"
    "                        publishing command then warns)\n"
    "      --no-key          signed, but make the key later with binfarm key init\n"
    "      --gnupg-home HOME the GnuPG home of the key, outside DIR (default:\n"
    "                        $BINFARM_GNUPG_HOME, else /var/lib/binfarm/gnupg\n"
    "                        as root, else\n"
    "                        ${XDG_STATE_HOME:-~/.local/state}/binfarm/gnupg)\n"
    "      --key-name UID    user id of the key\n"
    "      --key-algo ALGO   key algorithm (default ed25519)\n";

int
cmd_repo(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "unsigned", no_argument, NULL, 'u' },
		{ "no-key", no_argument, NULL, 'k' },
		{ "key-name", required_argument, NULL, 'n' },
		{ "key-algo", required_argument, NULL, 'a' },
		{ "gnupg-home", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *name = NULL, *algo = NULL, *home = NULL, *dir;
	unsigned flags = 0;
	int c, rc, nokey = 0;

	if (argc < 2 || strcmp(argv[1], "init") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0))
			return cli_help(cli, repo_usage, repo_help);
		return cli_usage(cli, repo_usage);
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			flags |= BF_REPO_UNSIGNED;
			break;
		case 'k':
			nokey = 1;
			break;
		case 'n':
			name = optarg;
			break;
		case 'a':
			algo = optarg;
			break;
		case 'g':
			home = optarg;
			break;
		case 'h':
			return cli_help(cli, repo_usage, repo_help);
		default:
			return cli_usage(cli, repo_usage);
		}
	}
	if (optind + 1 != argc)
		return cli_usage(cli, repo_usage);
	dir = argv[optind];
	if ((rc = bf_repo_create(dir, flags, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		return BF_EXIT_ERROR;
	}
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	cli_info(cli, "initialised %s repository in '%s'",
	    r->signed_repo ? "signed" : "UNSIGNED", r->root);
	repocli_warn_unsigned(cli, r);
	rc = 0;
	if (r->signed_repo && !nokey)
		rc = repocli_lock(cli, r) < 0 ? -1 : repocli_key_init(cli, r, home,
		    name, algo);
	bf_repo_free(r);
	return rc < 0 ? BF_EXIT_ERROR : BF_EXIT_OK;
}
