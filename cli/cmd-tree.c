/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm tree pin: fetch ebuild repositories into local bare mirrors and
 * pin each ref to a commit.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "portage/profile.h"
#include "portage/tree.h"
#include "base/banned.h"

static const char tree_usage[] =
    "pin [--mirrors DIR] [-o FILE] [--profile DIR] [NAME=URI[@REF]...]";

static const char tree_help[] =
    "Fetches each repository into a bare mirror and resolves its ref to a\n"
    "commit.  Repositories come from NAME=URI[@REF] arguments, or from\n"
    "the [repo NAME] sections of a hw-profile's profile.conf.\n\n"
    "  --mirrors DIR   where the mirrors live (default: $BINFARM_MIRRORS,\n"
    "                  else $XDG_CACHE_HOME/binfarm/mirrors)\n"
    "  -o, --output FILE  write the pin file there instead of stdout\n"
    "  --profile DIR   take the repositories from DIR/profile.conf\n";

static int
write_output(struct bf_cli *cli, const char *path, const struct bf_buf *b)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_err e = BF_ERR_INIT;
	int rc;

	if (path == NULL) {
		fwrite(b->buf, 1, b->len, stdout);
		return fflush(stdout) == 0 ? 0 : -1;
	}
	if ((rc = bf_lockfile_open(&lf, AT_FDCWD, path, 0644, &e)) < 0 ||
	    (bf_lockfile_write(&lf, b->buf, b->len), 0) ||
	    (rc = bf_lockfile_commit(&lf, -1, &e)) < 0) {
		bf_lockfile_rollback(&lf);
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		return -1;
	}
	return 0;
}

static int
tree_pin(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mirrors", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_buf mbuf = BF_BUF_INIT, out = BF_BUF_INIT;
	struct bf_pins pins = BF_PINS_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_profile prof;
	const char *mirrors = NULL, *output = NULL, *profile = NULL;
	int c, i, rc, ret = BF_EXIT_ERROR;
	size_t j;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			mirrors = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 'h':
			return cli_help(cli, tree_usage, tree_help);
		default:
			return cli_usage(cli, tree_usage);
		}
	}
	if (profile == NULL && optind == argc)
		return cli_usage(cli, tree_usage);
	if (mirrors == NULL)
		mirrors = cli_mirrors_dir(&mbuf);
	if (profile != NULL) {
		if ((rc = bf_profile_load(&prof, profile, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			goto out;
		}
		for (j = 0; j < prof.nrepos && rc == 0; j++)
			rc = bf_pins_add(&pins, prof.repos[j].name,
			    prof.repos[j].uri, prof.repos[j].ref, NULL, &e);
		if (rc == 0 && prof.nrepos == 0)
			rc = bf_err_set(&e, BF_ECONFIG, "%s/profile.conf names "
			    "no [repo NAME]", prof.dir);
		bf_profile_release(&prof);
		if (rc < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			goto out;
		}
	}
	for (i = optind; i < argc; i++)
		if ((rc = bf_pins_add_spec(&pins, argv[i], &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			goto out;
		}
	if ((rc = bf_pins_resolve(&pins, mirrors, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		ret = BF_EXIT_FAIL;
		goto out;
	}
	bf_buf_adds(&out, "# binfarm tree pin: NAME COMMIT URI REF\n");
	bf_pins_format(&pins, &out);
	if (bf_buf_error(&out) < 0 || write_output(cli, output, &out) < 0)
		goto out;
	for (j = 0; j < pins.n; j++)
		cli_info(cli, "pinned %s %s to %s", pins.v[j].name,
		    pins.v[j].ref, pins.v[j].commit);
	ret = BF_EXIT_OK;
out:
	bf_pins_release(&pins);
	bf_buf_release(&mbuf);
	bf_buf_release(&out);
	return ret;
}

int
cmd_tree(struct bf_cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "pin") == 0)
		return tree_pin(cli, argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0))
		return cli_help(cli, tree_usage, tree_help);
	return cli_usage(cli, tree_usage);
}
