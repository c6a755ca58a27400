/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm rebuild: asks the builder to plan a hw-profile and queue its
 * builds.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "farm.h"
#include "base/banned.h"

int
cmd_rebuild(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		FARM_CONN_OPTS,
		{ "profile", required_argument, NULL, 'p' },
		{ "commit", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] = "--profile P [--commit [REPO=]C] "
	    "[--builder URL --token T | -s STATEDIR]";
	struct farm_opts o;
	const char *profile = NULL, *commit = NULL, *user = getenv("USER");
	struct farm f;
	json_t *body, *out = NULL, *t;
	size_t i;
	int c, st, ret;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		if (farm_opt(&o, c, optarg))
			continue;
		switch (c) {
		case 'p': profile = optarg; break;
		case 'c': commit = optarg; break;
		case 'h':
			ret = cli_help(cli, usage, "Plans the hw-profile at "
			    "the pinned commit (or --commit) and queues its "
			    "builds.\n\n  --profile P     the profile, as the "
			    "builder's config names it\n  --commit C      a "
			    "commit or ref of the first repository, or "
			    "REPO=C\n");
			fputs(farm_conn_help, stdout);
			return ret;
		default:
			return cli_usage(cli, usage);
		}
	}
	if (profile == NULL || optind != argc)
		return cli_usage(cli, usage);
	if (farm_open(cli, &f, &o) < 0)
		return BF_EXIT_ERROR;
	body = json_pack("{s:s, s:s}", "profile", profile, "by",
	    user ? user : "engineer");
	if (commit != NULL)
		json_object_set_new(body, "commit", json_string(commit));
	st = farm_call(cli, &f, "POST", "/v1/rebuild", body, &out, NULL);
	json_decref(body);
	if (st != 200) {
		ret = farm_fail(cli, st, out);
		goto out;
	}
	printf("rebuild %lld of %s: %lld packages, %lld to build, %lld already "
	    "built\n", ji(out, "rebuild"), profile, ji(out, "jobs"),
	    ji(out, "to_build"), ji(out, "reused"));
	json_array_foreach(json_object_get(out, "trees"), i, t)
		printf("  tree %s at %s (%s %s)\n", js(t, "name"), js(t, "commit"),
		    js(t, "uri"), js(t, "ref"));
	ret = BF_EXIT_OK;
out:
	json_decref(out);
	farm_close(&f);
	return ret;
}
