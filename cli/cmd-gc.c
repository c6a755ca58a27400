/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm gc: delete what no retained snapshot references.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store/gc.h"
#include "store/promote.h"
#include "store/repo.h"
#include "json.h"
#include "repocli.h"
#include "base/banned.h"

static const char gc_usage[] =
    "[-R DIR] [-n] [--grace DURATION] [--keep N] [--json]";

static const char gc_help[] =
    "Deletes snapshots nothing retains, then pool files that no retained\n"
    "snapshot and no working set references.  Retained: every snapshot a\n"
    "channel points at, or pointed at within the grace period (from the\n"
    "history log), the newest N snapshots of each profile, the snapshots\n"
    "a running release goes from and to, and the snapshot each node of\n"
    "the inventory last fetched (fleet/nodes.state).\n"
    "\n"
    "  -R DIR              the repository (default: $BINFARM_REPO)\n"
    "  -n, --dry-run       print what would be deleted\n"
    "      --grace DURATION  e.g. 3600, 90m, 12h, 7d (default: the\n"
    "                      repository's grace, 7d)\n"
    "      --keep N        newest snapshots kept per profile (default 3)\n"
    "      --json          {\"dry_run\", \"deleted\": [{\"kind\", \"path\"}...],\n"
    "                      \"snapshots_deleted\", \"files_deleted\",\n"
    "                      \"bytes_deleted\", \"snapshots_kept\", \"files_kept\"}\n"
    "\n"
    "Exit status: 0 done, 2 usage or a system error.\n";

/* Each deletion: a line, or (arg: a JSON array) an object. */
static void
report(void *arg, const char *what, const char *path)
{
	json_t *arr = arg;

	if (arr == NULL) {
		printf("%s %s\n", what, path);
		return;
	}
	/* Out of memory shows when the array is printed: a shorter list. */
	json_array_append_new(arr, json_pack("{s:s, s:s}", "kind",
	    strcmp(what, "delete snapshot") == 0 ? "snapshot" : "file",
	    "path", path));
}

static int
print_stats(struct bf_cli *cli, const struct bf_gc_opts *go,
    const struct bf_gc_stats *st, json_t *arr)
{
	if (arr != NULL)
		return cli_json_print(cli, json_pack("{s:b, s:O, s:I, s:I, s:I, "
		    "s:I, s:I}", "dry_run", go->dry_run, "deleted", arr,
		    "snapshots_deleted", (json_int_t)st->snapshots_deleted,
		    "files_deleted", (json_int_t)st->files_deleted,
		    "bytes_deleted", (json_int_t)st->bytes_deleted,
		    "snapshots_kept", (json_int_t)st->snapshots_kept,
		    "files_kept", (json_int_t)st->files_kept));
	printf("%s%zu snapshot(s) and %zu file(s) (%llu bytes) %s; kept %zu "
	    "snapshot(s) and %zu file(s)\n", go->dry_run ? "dry run: " : "",
	    st->snapshots_deleted, st->files_deleted, st->bytes_deleted,
	    go->dry_run ? "would be deleted" : "deleted", st->snapshots_kept,
	    st->files_kept);
	return BF_EXIT_OK;
}

int
cmd_gc(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "grace", required_argument, NULL, 'g' },
		{ "keep", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_gc_opts go;
	struct bf_gc_stats st;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL;
	long long grace = -1, keep = -1;
	json_t *arr = NULL;
	int c, rc, json = 0, ret = BF_EXIT_ERROR;

	memset(&go, 0, sizeof(go));
	while ((c = getopt_long(argc, argv, "R:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			dir = optarg;
			break;
		case 'n':
			go.dry_run = 1;
			break;
		case 'g':
			if ((grace = repocli_duration(optarg)) < 0) {
				cli_error(cli, "--grace: '%s' is not a duration "
				    "(e.g. 3600, 90m, 12h, 7d)", optarg);
				return BF_EXIT_ERROR;
			}
			break;
		case 'k':
			if (cli_parse_ll(cli, "--keep", optarg, 0, 1000000, &keep) < 0)
				return BF_EXIT_ERROR;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			return cli_help(cli, gc_usage, gc_help);
		default:
			return cli_usage(cli, gc_usage);
		}
	}
	if (optind != argc)
		return cli_usage(cli, gc_usage);
	if (json && (arr = json_array()) == NULL) {
		cli_error(cli, "out of memory");
		return BF_EXIT_ERROR;
	}
	if ((r = repocli_open(cli, dir)) == NULL) {
		json_decref(arr);
		return BF_EXIT_ERROR;
	}
	go.grace = grace >= 0 ? grace : r->grace;
	go.keep = keep >= 0 ? keep : r->keep;
	go.now = -1;
	go.report = report;
	go.arg = arr;
	if (repocli_lock(cli, r) < 0)
		goto out;
	if ((rc = bf_repo_gc(r, &go, &st, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	ret = print_stats(cli, &go, &st, arr);
out:
	json_decref(arr);
	fflush(stdout);
	bf_repo_free(r);
	return ret;
}
