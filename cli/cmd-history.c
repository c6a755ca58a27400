/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm history: every channel move, oldest first.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "store/promote.h"
#include "store/repo.h"
#include "json.h"
#include "promote.h"
#include "base/banned.h"

static const char history_usage[] =
    "[-R DIR] [--profile P] [--channel C] [--json]";

static const char history_help[] =
    "Prints every channel move (promote, rollback, recover), oldest first:\n"
    "time, action, profile, channel, from, to, and who.\n"
    "\n"
    "  -R DIR           the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P  only the moves of profile P\n"
    "  -c, --channel C  only the moves of channel C\n"
    "      --json       {\"moves\": [{\"time\", \"time_utc\", \"action\",\n"
    "                   \"profile\", \"channel\", \"from\", \"to\", \"by\"}...]}\n"
    "\n"
    "Exit status: 0 done, 2 usage or a system error.\n";

static json_t *
move_json(const struct bf_history_entry *h)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "action",
	    h->action, "profile", h->profile, "channel", h->channel, "from",
	    cli_json_str_or_null(h->from), "to", h->to, "by", h->by);

	if (o != NULL && cli_json_set_time(o, "time", h->time) < 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static void
move_print(const struct bf_history_entry *h)
{
	char when[64];
	time_t t = (time_t)h->time;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	printf("%s  %-8s  %s/%s  %s -> %s  by %s\n", when, h->action,
	    h->channel, h->profile, h->from[0] ? h->from : "(none)", h->to,
	    h->by);
}

int
cmd_history(struct bf_cli *cli, int argc, char **argv)
{
	struct bf_history_entry *v = NULL;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL, *profile = NULL, *channel = NULL;
	json_t *arr = NULL;
	size_t n = 0, i;
	int rc, json = 0, ret = BF_EXIT_ERROR;

	if ((rc = promote_view_opts_json(cli, argc, argv, history_usage,
	    history_help, &dir, &profile, &channel, &json)) >= 0)
		return rc;
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	if ((rc = bf_history_load(r, &v, &n, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	if (json && (arr = json_array()) == NULL) {
		cli_error(cli, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((profile != NULL && strcmp(profile, v[i].profile) != 0) ||
		    (channel != NULL && strcmp(channel, v[i].channel) != 0))
			continue;
		if (!json)
			move_print(&v[i]);
		else if (json_array_append_new(arr, move_json(&v[i])) < 0) {
			cli_error(cli, "out of memory");
			goto out;
		}
	}
	if (json) {
		ret = cli_json_print(cli, json_pack("{s:o}", "moves", arr));
		arr = NULL;
	} else
		ret = fflush(stdout) == 0 ? BF_EXIT_OK : BF_EXIT_ERROR;
out:
	json_decref(arr);
	free(v);
	bf_repo_free(r);
	return ret;
}
