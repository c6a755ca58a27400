/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm pack: make a GLEP 78 .gpkg.tar from an image and a build-info
 * directory, as Portage's __dyn_package does.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "base/err.h"
#include "format/gpkg.h"
#include "base/lockfile.h"
#include "base/banned.h"

static const char pack_usage[] =
    "--image DIR --build-info DIR -o FILE [--build-id N] [-l LEVEL] [-T N] [-q]";

static const char pack_help[] =
    "Writes DIR (the package's ${D}) and the build-info directory (one file\n"
    "per metadata key: CATEGORY, PF, SLOT, USE, EAPI, ...) as a GLEP 78\n"
    "binary package that Portage installs.\n"
    "\n"
    "  -i, --image DIR        the installed image (${D})\n"
    "  -b, --build-info DIR   the build-info directory; CATEGORY, PF, SLOT required\n"
    "  -o, --output FILE      the .gpkg.tar to write (atomically)\n"
    "      --build-id N       set BUILD_ID; the container directory becomes PF-N\n"
    "  -l, --level N          zstd level, 1-19 (default 3, as Portage)\n"
    "  -T, --threads N        zstd worker threads (default: one per CPU)\n"
    "  -q, --quiet            print nothing on success\n"
    "\n"
    "With SOURCE_DATE_EPOCH set, the output is reproducible: the same inputs\n"
    "give the same bytes.\n";

struct progress {
	const struct bf_cli	*cli;
};

static void
show_progress(void *arg, uint64_t bytes)
{
	struct progress *p = arg;

	if (p->cli->tty && !p->cli->quiet)
		fprintf(stderr, "\rbinfarm pack: %" PRIu64 " MiB packed", bytes >> 20);
}

int
cmd_pack(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "build-info", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "build-id", required_argument, NULL, 'B' },
		{ "level", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_gpkg_pack_opts opts;
	struct bf_gpkg_pack_result res;
	struct bf_err e = BF_ERR_INIT;
	struct progress prog = { cli };
	const char *image = NULL, *info = NULL, *output = NULL;
	long long v;
	int c, rc;

	memset(&opts, 0, sizeof(opts));
	opts.build_id = -1;
	while ((c = getopt_long(argc, argv, "i:b:o:l:T:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			image = optarg;
			break;
		case 'b':
			info = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'B':
			if (cli_parse_ll(cli, "--build-id", optarg, 1, 999999999, &v) < 0)
				return BF_EXIT_ERROR;
			opts.build_id = v;
			break;
		case 'l':
			if (cli_parse_ll(cli, "--level", optarg, 1, 19, &v) < 0)
				return BF_EXIT_ERROR;
			opts.level = (int)v;
			break;
		case 'T':
			if (cli_parse_ll(cli, "--threads", optarg, 1, 256, &v) < 0)
				return BF_EXIT_ERROR;
			opts.threads = (int)v;
			break;
		case 'q':
			cli->quiet = 1;
			break;
		case 'h':
			return cli_help(cli, pack_usage, pack_help);
		default:
			return cli_usage(cli, pack_usage);
		}
	}
	if (optind != argc) {
		cli_error(cli, "unexpected argument '%s'", argv[optind]);
		return cli_usage(cli, pack_usage);
	}
	if (image == NULL || info == NULL || output == NULL) {
		cli_error(cli, "--image, --build-info and --output are required");
		return cli_usage(cli, pack_usage);
	}
	opts.mtime = cli_source_date_epoch(cli);
	if (opts.mtime == -2)
		return BF_EXIT_ERROR;
	opts.progress = show_progress;
	opts.progress_arg = &prog;

	if (bf_lockfile_open(&lf, AT_FDCWD, output, 0644, &e) < 0) {
		cli_error(cli, "%s", e.msg);
		return BF_EXIT_ERROR;
	}
	rc = bf_gpkg_pack(image, info, lf.fd, &opts, &res, &e);
	if (cli->tty && !cli->quiet && res.image_bytes >= (64u << 20))
		fputc('\n', stderr);
	if (rc < 0) {
		bf_lockfile_rollback(&lf);
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		return BF_EXIT_ERROR;
	}
	if (bf_lockfile_commit(&lf, -1, &e) < 0) {
		cli_error(cli, "%s", e.msg);
		return BF_EXIT_ERROR;
	}
	if (!cli->quiet)
		printf("%s: %s, %" PRIu64 " entries, image %" PRIu64 " bytes, "
		    "package %" PRIu64 " bytes\n", output, res.basename, res.files,
		    res.image_bytes, res.file_bytes);
	return BF_EXIT_OK;
}
