/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm snapshot: freeze, list, show and compare snapshots.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "store/promote.h"
#include "base/buf.h"
#include "portage/profile.h"
#include "portage/tree.h"
#include "store/keys.h"
#include "store/repo.h"
#include "json.h"
#include "store/sign.h"
#include "store/treesnap.h"
#include "repocli.h"
#include "base/banned.h"

static const char snapshot_usage[] =
    "[-R DIR] --profile P [--json] (create [--tree-commit [NAME=]OID]... "
    "[--tree-repo NAME] [--x86-64-level vN] [--message M] | list | "
    "show ID | diff A B | tree [--mirrors DIR] ID)";

static const char snapshot_help[] =
    "  create   freeze the working set into a new immutable snapshot\n"
    "  list     the profile's snapshots, oldest first, with the channels\n"
    "           pointing at them\n"
    "  show ID  a snapshot's metadata and packages\n"
    "  diff A B what changes from snapshot A to B (added, removed,\n"
    "           upgraded, downgraded, rebuilt); A or B may be a channel\n"
    "           name prefixed with '@' (e.g. @production)\n"
    "  tree ID  signed tarballs of the snapshot's pinned ebuild trees\n"
    "           (REPO_REVISIONS), from the mirrors, for the binhost and\n"
    "           binfarm-node; ID may be @CHANNEL\n"
    "\n"
    "  -R DIR              the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P     hw-profile\n"
    "      --tree-commit [NAME=]OID  commit of ebuild repository NAME (default\n"
    "                         gentoo) the packages were built from, for\n"
    "                         REPO_REVISIONS in the Packages header; repeat\n"
    "                         it for each repository (overlays)\n"
    "      --tree-repo NAME   the repository of an OID given without NAME\n"
    "  -m, --message M     a note kept with the snapshot\n"
    "      --x86-64-level vN  the x86-64 level (v1..v4) the packages need,\n"
    "                      for binfarm-node; recorded in SNAPSHOT\n"
    "      --mirrors DIR   where the tree mirrors are (default:\n"
    "                      $BINFARM_MIRRORS, else ~/.cache/binfarm/mirrors)\n"
    "      --json          JSON on standard output (binfarm-snapshot(1))\n"
    "\n"
    "Exit status: 0 done, 1 no such profile or snapshot, 2 usage or a\n"
    "system error.\n";

static void
fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

struct chans {
	const char	*profile;
	const char	*id;
	char		 out[512];
	json_t		*arr;		/* with --json: the channels' names */
};

static int
chan_match(void *arg, const char *channel, const char *profile, const char *id)
{
	struct chans *c = arg;
	size_t l = strlen(c->out);

	if (id != NULL && strcmp(profile, c->profile) == 0 &&
	    strcmp(id, c->id) == 0) {
		snprintf(c->out + l, sizeof(c->out) - l, "%s%s", l ? "," : "",
		    channel);
		if (c->arr != NULL &&
		    json_array_append_new(c->arr, json_string(channel)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int
resolve(struct bf_cli *cli, struct bf_repo *r, const char *profile,
    const char *arg, char id[32])
{
	struct bf_err e = BF_ERR_INIT;
	int rc;

	if (arg[0] == '@') {
		if ((rc = bf_channel_get(r, arg + 1, profile, id, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			return -1;
		}
		return 0;
	}
	if (!bf_snapshot_exists(r, profile, arg)) {
		cli_error(cli, "no snapshot '%s' in profile '%s'", arg, profile);
		return -1;
	}
	snprintf(id, 32, "%s", arg);
	return 0;
}

/* A snapshot's metadata as JSON, with the channels pointing at it. */
static json_t *
info_json(struct bf_repo *r, const char *profile,
    const struct bf_snapshot_info *info)
{
	struct chans c;
	json_t *o;

	memset(&c, 0, sizeof(c));
	c.profile = profile;
	c.id = info->id;
	if ((c.arr = json_array()) == NULL)
		return NULL;
	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:I, s:I}", "id",
	    info->id, "profile", profile, "by", info->by, "parent",
	    cli_json_str_or_null(info->parent), "tree_commit",
	    cli_json_str_or_null(info->tree_commit), "x86_64_level",
	    cli_json_str_or_null(info->x86_64_level), "message", info->message,
	    "packages", (json_int_t)info->packages, "timestamp",
	    (json_int_t)info->timestamp);
	if (o == NULL || cli_json_set_time(o, "created", info->created) < 0 ||
	    bf_channel_each(r, chan_match, &c, NULL) < 0 ||
	    json_object_set(o, "channels", c.arr) < 0) {
		json_decref(o);
		o = NULL;
	}
	json_decref(c.arr);
	return o;
}

static int
do_create(struct bf_cli *cli, struct bf_repo *r, const char *profile,
    struct bf_snapshot_opts *so, int json)
{
	struct bf_err e = BF_ERR_INIT;
	char id[32], who[128];
	size_t n = 0;
	int rc;

	so->by = repocli_who(who, sizeof(who));
	repocli_warn_unsigned(cli, r);
	if (repocli_lock(cli, r) < 0)
		return BF_EXIT_ERROR;
	if ((rc = bf_snapshot_create(r, profile, so, id, &n, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		return BF_EXIT_ERROR;
	}
	if (json)
		rc = cli_json_print(cli, json_pack("{s:s, s:s, s:I}", "id", id,
		    "profile", profile, "packages", (json_int_t)n));
	else {
		printf("%s\n", id);
		rc = BF_EXIT_OK;
	}
	cli_info(cli, "snapshot %s of '%s': %zu package(s)", id, profile, n);
	return rc;
}

/* One line of list, or (arr not NULL) one object of its JSON. */
static int
list_one(struct bf_repo *r, const char *profile, const char *id, json_t *arr)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_snapshot_info info;
	char when[64];
	struct chans c;
	json_t *o;

	if (bf_snapshot_info_load(r, profile, id, &info, &e) < 0) {
		if (arr == NULL)
			printf("%s  (unreadable: %s)\n", id, bf_err_msg(&e, -1));
		else if (json_array_append_new(arr, json_pack("{s:s, s:s}",
		    "id", id, "error", bf_err_msg(&e, -1))) < 0)
			return -1;
		bf_err_clear(&e);
		return 0;
	}
	if (arr != NULL) {
		o = info_json(r, profile, &info);
		bf_snapshot_info_release(&info);
		return o != NULL ? json_array_append_new(arr, o) : -1;
	}
	memset(&c, 0, sizeof(c));
	c.profile = profile;
	c.id = id;
	bf_channel_each(r, chan_match, &c, NULL);
	fmt_time(info.created, when, sizeof(when));
	printf("%s  %s  %-10s %6lld pkgs%s%s%s\n", id, when, info.by,
	    info.packages, c.out[0] ? "  [" : "", c.out, c.out[0] ? "]" : "");
	bf_snapshot_info_release(&info);
	return 0;
}

static int
do_list(struct bf_cli *cli, struct bf_repo *r, const char *profile, int json)
{
	struct bf_err e = BF_ERR_INIT;
	char **ids = NULL;
	json_t *arr = NULL;
	size_t n = 0, i;
	int rc, ret = BF_EXIT_ERROR;

	if ((rc = bf_snapshot_list(r, profile, &ids, &n, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		return BF_EXIT_ERROR;
	}
	if (json && (arr = json_array()) == NULL)
		goto oom;
	for (i = 0; i < n; i++)
		if (list_one(r, profile, ids[i], arr) < 0)
			goto oom;
	ret = json ? cli_json_print(cli, json_pack("{s:s, s:o}", "profile",
	    profile, "snapshots", arr)) : BF_EXIT_OK;
	arr = NULL;
	goto out;
oom:
	cli_error(cli, "out of memory");
out:
	json_decref(arr);
	bf_snapshot_list_free(ids, n);
	return ret;
}

static json_t *
entries_json(const struct bf_pkgindex *idx)
{
	json_t *a = json_array(), *o;
	long long build;
	size_t i;

	for (i = 0; a != NULL && i < idx->npkgs; i++) {
		const char *cpv = bf_pkgindex_get(&idx->pkgs[i], "CPV");
		const char *bid = bf_pkgindex_value(idx, &idx->pkgs[i],
		    "BUILD_ID");
		const char *path = bf_pkgindex_get(&idx->pkgs[i], "PATH");

		build = bid != NULL && *bid ? strtoll(bid, NULL, 10) : 0;
		o = json_pack("{s:o, s:o, s:o}", "cpv",
		    cli_json_str_or_null(cpv), "build_id", build > 0 ?
		    json_integer(build) : json_null(), "path",
		    cli_json_str_or_null(path));
		if (o == NULL || json_array_append_new(a, o) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static int
show_text(struct bf_repo *r, const char *profile, const char *id,
    const struct bf_snapshot_info *info, const struct bf_pkgindex *idx)
{
	struct chans c;
	char when[64];
	size_t i;

	memset(&c, 0, sizeof(c));
	c.profile = profile;
	c.id = id;
	bf_channel_each(r, chan_match, &c, NULL);
	fmt_time(info->created, when, sizeof(when));
	printf("snapshot:    %s\nprofile:     %s\ncreated:     %s\nby:          %s\n"
	    "parent:      %s\ntree-commit: %s\nx86-64-level: %s\n"
	    "message:     %s\npackages:    %lld\n"
	    "timestamp:   %lld\nchannels:    %s\n\n", id, profile, when, info->by,
	    info->parent[0] ? info->parent : "(none)",
	    info->tree_commit[0] ? info->tree_commit : "(none)",
	    info->x86_64_level[0] ? info->x86_64_level : "(none)", info->message,
	    info->packages, info->timestamp, c.out[0] ? c.out : "(none)");
	for (i = 0; i < idx->npkgs; i++) {
		const char *cpv = bf_pkgindex_get(&idx->pkgs[i], "CPV");
		const char *bid = bf_pkgindex_value(idx, &idx->pkgs[i], "BUILD_ID");
		const char *path = bf_pkgindex_get(&idx->pkgs[i], "PATH");

		printf("%s  build %s  %s\n", cpv != NULL ? cpv : "?",
		    bid != NULL && *bid ? bid : "-", path != NULL ? path : "");
	}
	return BF_EXIT_OK;
}

static int
do_show(struct bf_cli *cli, struct bf_repo *r, const char *profile,
    const char *arg, int json)
{
	struct bf_pkgindex idx = BF_PKGINDEX_INIT;
	struct bf_snapshot_info info;
	struct bf_err e = BF_ERR_INIT;
	json_t *o = NULL;
	char id[32];
	int rc;

	if (resolve(cli, r, profile, arg, id) < 0)
		return BF_EXIT_FAIL;
	if ((rc = bf_snapshot_info_load(r, profile, id, &info, &e)) < 0 ||
	    (rc = bf_snapshot_load_index(r, profile, id, &idx, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		bf_pkgindex_release(&idx);
		return BF_EXIT_ERROR;
	}
	if (!json)
		rc = show_text(r, profile, id, &info, &idx);
	else {
		if ((o = info_json(r, profile, &info)) != NULL &&
		    json_object_set_new(o, "entries", entries_json(&idx)) < 0) {
			json_decref(o);
			o = NULL;
		}
		rc = cli_json_print(cli, o);
	}
	bf_snapshot_info_release(&info);
	bf_pkgindex_release(&idx);
	return rc;
}

static int
do_diff(struct bf_cli *cli, struct bf_repo *r, const char *profile,
    const char *a, const char *b, int json)
{
	struct bf_pkgindex ia = BF_PKGINDEX_INIT, ib = BF_PKGINDEX_INIT;
	struct bf_diff d = BF_DIFF_INIT;
	struct bf_err e = BF_ERR_INIT;
	char ida[32], idb[32];
	json_t *o;
	int rc, ret = BF_EXIT_ERROR;

	if (resolve(cli, r, profile, a, ida) < 0 ||
	    resolve(cli, r, profile, b, idb) < 0)
		return BF_EXIT_FAIL;
	if ((rc = bf_snapshot_load_index(r, profile, ida, &ia, &e)) < 0 ||
	    (rc = bf_snapshot_load_index(r, profile, idb, &ib, &e)) < 0 ||
	    (rc = bf_diff_compute(&ia, &ib, &d, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	if (json) {
		if ((o = cli_json_diff(&d)) != NULL &&
		    (json_object_set_new(o, "profile", json_string(profile)) < 0 ||
		    json_object_set_new(o, "from", json_string(ida)) < 0 ||
		    json_object_set_new(o, "to", json_string(idb)) < 0)) {
			json_decref(o);
			o = NULL;
		}
		ret = cli_json_print(cli, o);
		goto out;
	}
	printf("%s -> %s\n", ida, idb);
	repocli_print_diff(&d, "");
	ret = BF_EXIT_OK;
out:
	bf_diff_release(&d);
	bf_pkgindex_release(&ia);
	bf_pkgindex_release(&ib);
	return ret;
}

/* snapshot tree ID: the signed tarballs of its pinned trees. */
static int
do_tree(struct bf_cli *cli, struct bf_repo *r, const char *profile,
    const char *arg, const char *mirrors)
{
	struct bf_buf mbuf = BF_BUF_INIT, names = BF_BUF_INIT;
	struct bf_signer *signer = NULL;
	struct bf_err e = BF_ERR_INIT;
	char id[32];
	int rc, ret = BF_EXIT_ERROR;

	if (resolve(cli, r, profile, arg, id) < 0)
		return BF_EXIT_FAIL;
	if (mirrors == NULL)
		mirrors = cli_mirrors_dir(&mbuf);
	repocli_warn_unsigned(cli, r);
	if (repocli_lock(cli, r) < 0)
		goto out;
	if (r->signed_repo &&
	    (rc = bf_repo_signer_open(r, &signer, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	if ((rc = bf_treesnap_create(r, profile, id, mirrors, signer, &names,
	    &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		ret = rc == -BF_ECONFLICT || rc == -BF_ENOTFOUND ?
		    BF_EXIT_FAIL : BF_EXIT_ERROR;
		goto out;
	}
	printf("%s\n", id);
	cli_info(cli, "snapshot %s of '%s': trees %s", id, profile, names.buf);
	ret = BF_EXIT_OK;
out:
	bf_signer_free(signer);
	bf_buf_release(&mbuf);
	bf_buf_release(&names);
	return ret;
}

struct tree_arg {
	char		 name[130];
	const char	*oid;
};

static int
tree_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tree_arg *)a)->name,
	    ((const struct tree_arg *)b)->name);
}

/*
 * --tree-commit [NAME=]OID...: REPO_REVISIONS as Portage writes it (JSON
 * with sorted keys); the first one given is also the snapshot's
 * tree-commit.  `v` is sorted in place.
 */
static int
tree_header(struct bf_cli *cli, const char **args, struct tree_arg *v, int n,
    char first[130], struct bf_snapshot_opts *so, struct bf_conf *hdr)
{
	struct bf_buf json = BF_BUF_INIT;
	const char *eq, **names = NULL, **oids = NULL;
	int i, rc = -1;

	for (i = 0; i < n; i++) {
		eq = strchr(args[i], '=');
		v[i].oid = eq != NULL ? eq + 1 : args[i];
		snprintf(v[i].name, sizeof(v[i].name), "%.*s",
		    eq != NULL ? (int)(eq - args[i]) : (int)sizeof(v[i].name),
		    eq != NULL ? args[i] : so->tree_repo != NULL ?
		    so->tree_repo : "gentoo");
		if (strlen(v[i].oid) < 7 || strlen(v[i].oid) > 64 ||
		    strspn(v[i].oid, "0123456789abcdef") != strlen(v[i].oid)) {
			cli_error(cli, "--tree-commit '%s' is not a hex commit "
			    "id", args[i]);
			return -1;
		}
		if (!bf_repo_name_valid(v[i].name)) {
			cli_error(cli, "--tree-commit '%s': invalid repository "
			    "name '%s'", args[i], v[i].name);
			return -1;
		}
	}
	so->tree_commit = v[0].oid;
	snprintf(first, 130, "%s", v[0].name);
	so->tree_repo = first;
	qsort(v, (size_t)n, sizeof(*v), tree_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1].name, v[i].name) == 0) {
			cli_error(cli, "--tree-commit: repository '%s' named "
			    "twice", v[i].name);
			return -1;
		}
	if ((names = calloc((size_t)n, sizeof(*names))) == NULL ||
	    (oids = calloc((size_t)n, sizeof(*oids))) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		names[i] = v[i].name;
		oids[i] = v[i].oid;
	}
	if (bf_repo_revisions(names, oids, (size_t)n, &json) < 0 ||
	    bf_conf_set(hdr, "REPO_REVISIONS", json.buf, "", 0) < 0)
		goto oom;
	so->header = hdr;
	rc = 0;
	goto out;
oom:
	cli_error(cli, "out of memory");
out:
	free(names);
	free(oids);
	bf_buf_release(&json);
	return rc;
}

int
cmd_snapshot(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "tree-commit", required_argument, NULL, 't' },
		{ "tree-repo", required_argument, NULL, 'T' },
		{ "message", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "mirrors", required_argument, NULL, 'M' },
		{ "x86-64-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_snapshot_opts so;
	struct bf_repo *r;
	const char *dir = NULL, *profile = NULL, *args[4], *trees[16];
	const char *mirrors = NULL;
	struct tree_arg tv[16];
	char first[130];
	struct bf_conf hdr = BF_CONF_INIT;
	int c, nargs = 0, ntrees = 0, json = 0, ret = BF_EXIT_ERROR;

	memset(&so, 0, sizeof(so));
	so.threads = 2;
	/* GNU getopt permutes: options may come before or after the subcommand. */
	while ((c = getopt_long(argc, argv, "R:p:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			dir = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 't':
			if (ntrees == (int)(sizeof(trees) / sizeof(trees[0])))
				return cli_usage(cli, snapshot_usage);
			trees[ntrees++] = optarg;
			break;
		case 'T':
			so.tree_repo = optarg;
			break;
		case 'm':
			so.message = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'M':
			mirrors = optarg;
			break;
		case 'L':
			so.x86_64_level = optarg;
			break;
		case 'h':
			return cli_help(cli, snapshot_usage, snapshot_help);
		default:
			return cli_usage(cli, snapshot_usage);
		}
	}
	while (optind < argc) {
		if (nargs == 4)
			return cli_usage(cli, snapshot_usage);
		args[nargs++] = argv[optind++];
	}
	if (nargs == 0 || profile == NULL)
		return cli_usage(cli, snapshot_usage);
	if (!bf_repo_name_valid(profile)) {
		cli_error(cli, "invalid profile name '%s'", profile);
		return BF_EXIT_ERROR;
	}
	if (so.x86_64_level != NULL && !bf_x86_64_level_valid(so.x86_64_level)) {
		cli_error(cli, "--x86-64-level must be v1, v2, v3 or v4, not "
		    "'%s'", so.x86_64_level);
		return BF_EXIT_ERROR;
	}
	if (so.tree_repo != NULL && !bf_repo_name_valid(so.tree_repo)) {
		cli_error(cli, "invalid --tree-repo '%s'", so.tree_repo);
		return BF_EXIT_ERROR;
	}
	if (ntrees > 0 &&
	    tree_header(cli, trees, tv, ntrees, first, &so, &hdr) < 0)
		goto out;
	if ((r = repocli_open(cli, dir)) == NULL)
		goto out;
	if (!bf_repo_profile_exists(r, profile)) {
		cli_error(cli, "no profile '%s' in this repository", profile);
		ret = BF_EXIT_FAIL;
	} else if (strcmp(args[0], "create") == 0 && nargs == 1)
		ret = do_create(cli, r, profile, &so, json);
	else if (strcmp(args[0], "list") == 0 && nargs == 1)
		ret = do_list(cli, r, profile, json);
	else if (strcmp(args[0], "show") == 0 && nargs == 2)
		ret = do_show(cli, r, profile, args[1], json);
	else if (strcmp(args[0], "tree") == 0 && nargs == 2)
		ret = do_tree(cli, r, profile, args[1], mirrors);
	else if (strcmp(args[0], "diff") == 0 && nargs == 3)
		ret = do_diff(cli, r, profile, args[1], args[2], json);
	else
		ret = cli_usage(cli, snapshot_usage);
	fflush(stdout);
	bf_repo_free(r);
out:
	bf_conf_release(&hdr);
	return ret;
}
