/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm key: the repository's OpenPGP signing key.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lockfile.h"
#include "store/keys.h"
#include "store/repo.h"
#include "repocli.h"
#include "store/sign.h"
#include "base/banned.h"

static const char key_usage[] = "[-R DIR] (init [--gnupg-home HOME] [--name UID] "
    "[--algo ALGO] | export | migrate [--gnupg-home HOME])";

static const char key_help[] =
    "  init      make the repository's signing key (no passphrase) in the\n"
    "            GnuPG home HOME, outside the repository, record it in\n"
    "            DIR/binfarm-repo.conf and write the public key to\n"
    "            DIR/keys/binfarm.asc\n"
    "  export    print the public key (ASCII armor)\n"
    "  migrate   move a GnuPG home kept inside the repository (DIR/keys/gnupg,\n"
    "            the old layout) out to HOME, and delete it from the tree\n"
    "\n"
    "  -R DIR          the repository (default: $BINFARM_REPO)\n"
    "      --gnupg-home HOME  the GnuPG home (default: $BINFARM_GNUPG_HOME,\n"
    "                  else /var/lib/binfarm/gnupg as root, else\n"
    "                  ${XDG_STATE_HOME:-~/.local/state}/binfarm/gnupg)\n"
    "      --name UID  user id of the new key\n"
    "                  (default: \"binfarm repository <hostname>\")\n"
    "      --algo ALGO key algorithm as gpg --quick-gen-key takes it\n"
    "                  (default: ed25519; e.g. rsa4096)\n"
    "\n"
    "A node trusts the key with:\n"
    "  gpg --homedir /etc/portage/gnupg --import binfarm.asc\n"
    "  gpg --homedir /etc/portage/gnupg --lsign-key <fingerprint>\n"
    "(or set its ownertrust); see binfarm-key(1).\n";

int
repocli_key_init(const struct bf_cli *cli, struct bf_repo *r, const char *home,
    const char *name, const char *algo)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_buf fpr = BF_BUF_INIT;
	int rc;

	if ((rc = bf_repo_keygen(r, home, name, algo, &fpr, &e)) < 0)
		cli_error(cli, "%s", bf_err_msg(&e, rc));
	else {
		cli_info(cli, "made signing key %s in '%s'", fpr.buf,
		    r->gnupg_home);
		cli_info(cli, "public key: %s/%s", r->root, BF_REPO_PUBKEY);
	}
	bf_buf_release(&fpr);
	return rc;
}

int
cmd_key(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "algo", required_argument, NULL, 'a' },
		{ "gnupg-home", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *name = NULL, *algo = NULL, *home = NULL, *sub;
	struct bf_repo *r = NULL;
	int c, ret = BF_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "R:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			dir = optarg;
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
			return cli_help(cli, key_usage, key_help);
		default:
			return cli_usage(cli, key_usage);
		}
	}
	if (optind + 1 != argc)
		return cli_usage(cli, key_usage);
	sub = argv[optind];
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	if (strcmp(sub, "init") == 0) {
		if (repocli_lock(cli, r) == 0 &&
		    repocli_key_init(cli, r, home, name, algo) == 0)
			ret = BF_EXIT_OK;
	} else if (strcmp(sub, "migrate") == 0) {
		struct bf_err e = BF_ERR_INIT;
		struct bf_buf msg = BF_BUF_INIT;
		int rc;

		if (repocli_lock(cli, r) < 0)
			;
		else if ((rc = bf_repo_key_migrate(r, home, &msg, &e)) < 0)
			cli_error(cli, "%s", bf_err_msg(&e, rc));
		else {
			cli_info(cli, "%s", msg.buf);
			ret = BF_EXIT_OK;
		}
		bf_buf_release(&msg);
	} else if (strcmp(sub, "export") == 0) {
		struct bf_err e = BF_ERR_INIT;
		char *text = NULL;
		size_t len;
		int rc;

		if (faccessat(r->root_fd, BF_REPO_PUBKEY, F_OK, 0) < 0) {
			cli_error(cli, "the repository has no key (%s); run "
			    "'binfarm key init'", r->signed_repo ? "signed" :
			    "unsigned");
		} else if ((rc = bf_read_file(r->root_fd, BF_REPO_PUBKEY, &text,
		    &len, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
		} else {
			fwrite(text, 1, len, stdout);
			ret = fflush(stdout) == 0 ? BF_EXIT_OK : BF_EXIT_ERROR;
		}
		free(text);
	} else {
		cli_error(cli, "unknown subcommand '%s'", sub);
		ret = cli_usage(cli, key_usage);
	}
	bf_repo_free(r);
	return ret;
}
