/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm promote, rollback and history: moving channels.
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
#include "repocli.h"
#include "base/banned.h"

static const char promote_usage[] =
    "[-R DIR] --profile P --channel C [--wave W | --next | --all-waves]\n"
    "       [--allow-downgrade] [-n] (SNAPSHOT | --from CHANNEL)";

static const char promote_help[] =
    "Moves channel C of profile P to SNAPSHOT (or to the snapshot channel\n"
    "--from points at) in one atomic step, after printing what changes.\n"
    "Any downgrade against C's current snapshot (a lower version, or an\n"
    "older build of the same version) is refused unless --allow-downgrade.\n"
    "The move is recorded in the history log.\n"
    "\n"
    "A channel with waves (waves.C in binfarm-repo.conf) goes to the nodes\n"
    "of each wave in turn (channel C.W, e.g. production.canary), then to\n"
    "all (C itself); a wave gets SNAPSHOT only after the wave before it.\n"
    "\n"
    "  -R DIR               the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P      hw-profile\n"
    "  -c, --channel C      the channel to move (e.g. production)\n"
    "      --from CHANNEL   promote what CHANNEL points at (e.g. testing)\n"
    "  -w, --wave W         move wave W of C only\n"
    "      --next           move the first wave (then C) without SNAPSHOT\n"
    "      --all-waves      move every wave in order, then C\n"
    "      --allow-downgrade  move even if that downgrades packages\n"
    "  -n, --dry-run        show the diff and the decision; change nothing\n"
    "\n"
    "Exit status: 0 moved (or already there), 1 refused, 2 error.\n";

static const char rollback_usage[] =
    "[-R DIR] --profile P --channel C [--wave W] [-n]";

static const char rollback_help[] =
    "Returns channel C of profile P to the snapshot it pointed at before\n"
    "the current one, printing exactly what that downgrades.  Repeated\n"
    "rollbacks walk further back through the channel's history.\n"
    "\n"
    "  -R DIR           the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P  hw-profile\n"
    "  -c, --channel C  the channel\n"
    "  -w, --wave W     roll back wave W of C (channel C.W)\n"
    "  -n, --dry-run    show what would happen\n";

static const char history_usage[] = "[-R DIR] [--profile P] [--channel C]";

static const char history_help[] =
    "Prints every channel move (promote, rollback, recover), oldest first:\n"
    "time, action, profile, channel, from, to, and who.\n";

/* Prints one move (its diff and outcome); the exit status it means. */
static int
report(struct bf_cli *cli, const char *action, const char *channel,
    const char *profile, const struct bf_move_opts *mo,
    const struct bf_move_result *res, int rc, struct bf_err *e)
{
	if (res->to[0] != '\0') {
		printf("%s %s/%s: %s -> %s\n", action, channel, profile,
		    res->from[0] ? res->from : "(none)", res->to);
		repocli_print_diff(&res->diff, "  ");
		if (strcmp(action, "rollback") == 0 &&
		    res->diff.count[BF_CHG_DOWNGRADED] > 0)
			printf("rollback downgrades %zu package(s)\n",
			    res->diff.count[BF_CHG_DOWNGRADED]);
	}
	if (rc < 0) {
		cli_error(cli, "%s", bf_err_msg(e, rc));
		return rc == -BF_ECONFLICT || rc == -BF_ENOTFOUND ?
		    BF_EXIT_FAIL : BF_EXIT_ERROR;
	}
	if (res->moved)
		printf("channel %s of %s now at %s\n", channel, profile,
		    res->to);
	else if (mo->dry_run)
		printf("dry run: nothing changed\n");
	else
		printf("channel %s of %s already at %s\n", channel, profile,
		    res->to);
	return BF_EXIT_OK;
}

static int
move_common(struct bf_cli *cli, int argc, char **argv, int rollback)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "channel", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "wave", required_argument, NULL, 'w' },
		{ "next", no_argument, NULL, 'N' },
		{ "all-waves", no_argument, NULL, 'A' },
		{ "allow-downgrade", no_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = rollback ? rollback_usage : promote_usage;
	struct bf_move_opts mo;
	struct bf_move_result res;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL, *profile = NULL, *channel = NULL, *from = NULL;
	const char *wave = NULL;
	char who[128], id[32], target[BF_CHANNEL_MAX];
	enum bf_wave_mode mode = BF_WAVE_CHANNEL;
	int c, rc, all = 0, moved_any = 0, ret = BF_EXIT_ERROR;

	memset(&mo, 0, sizeof(mo));
	memset(&res, 0, sizeof(res));
	while ((c = getopt_long(argc, argv, "R:p:c:w:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			dir = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 'c':
			channel = optarg;
			break;
		case 'f':
			if (rollback)
				return cli_usage(cli, usage);
			from = optarg;
			break;
		case 'w':
			if (mode != BF_WAVE_CHANNEL)
				return cli_usage(cli, usage);
			mode = BF_WAVE_ONE;
			wave = optarg;
			break;
		case 'N':
		case 'A':
			if (rollback || mode != BF_WAVE_CHANNEL)
				return cli_usage(cli, usage);
			mode = BF_WAVE_NEXT;
			all = c == 'A';
			break;
		case 'a':
			if (rollback)
				return cli_usage(cli, usage);
			mo.allow_downgrade = 1;
			break;
		case 'n':
			mo.dry_run = 1;
			break;
		case 'h':
			return cli_help(cli, usage, rollback ? rollback_help :
			    promote_help);
		default:
			return cli_usage(cli, usage);
		}
	}
	if (profile == NULL || channel == NULL)
		return cli_usage(cli, usage);
	if (rollback ? optind != argc :
	    (from != NULL ? optind != argc : optind + 1 != argc))
		return cli_usage(cli, usage);
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	mo.by = repocli_who(who, sizeof(who));
	repocli_warn_unsigned(cli, r);
	if (repocli_lock(cli, r) < 0)
		goto out;
	if (rollback) {
		snprintf(target, sizeof(target), "%s", channel);
		if (wave != NULL) {
			struct bf_strv w = BF_STRV_INIT;

			if (bf_repo_waves(r, channel, &w) < 0 ||
			    bf_strv_find(&w, wave) < 0) {
				cli_error(cli, "channel '%s' has no wave '%s'",
				    channel, wave);
				bf_strv_release(&w);
				ret = BF_EXIT_FAIL;
				goto out;
			}
			bf_strv_release(&w);
			snprintf(target, sizeof(target), "%s.%s", channel, wave);
		}
		rc = bf_repo_rollback(r, profile, target, &mo, &res, &e);
		ret = report(cli, "rollback", target, profile, &mo, &res, rc, &e);
		goto out;
	}
	if (from != NULL) {
		if (!bf_repo_name_valid(from)) {
			cli_error(cli, "invalid channel name '%s'", from);
			goto out;
		}
		if ((rc = bf_channel_get(r, from, profile, id, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			ret = BF_EXIT_FAIL;
			goto out;
		}
	} else
		snprintf(id, sizeof(id), "%s", argv[optind]);
	do {
		bf_move_result_release(&res);
		memset(&res, 0, sizeof(res));
		if (!bf_repo_name_valid(channel))
			rc = bf_err_set(&e, BF_EUSAGE, "invalid channel name "
			    "'%s'", channel);
		else
			rc = bf_wave_target(r, profile, channel, mode, wave, id,
			    target, &e);
		if (rc == 1) {	/* --next, --all-waves: everyone has it */
			if (!moved_any)
				printf("channel %s of %s and all its waves "
				    "already at %s\n", channel, profile, id);
			ret = BF_EXIT_OK;
			break;
		}
		if (rc == 0)
			rc = bf_repo_promote(r, profile, target, id, &mo, &res,
			    &e);
		ret = report(cli, "promote", target, profile, &mo, &res, rc,
		    &e);
		moved_any |= res.moved;
		/* a dry run moves nothing: --all-waves shows the first step */
	} while (all && ret == BF_EXIT_OK && res.moved);
out:
	fflush(stdout);
	bf_move_result_release(&res);
	bf_repo_free(r);
	return ret;
}

int
cmd_promote(struct bf_cli *cli, int argc, char **argv)
{
	return move_common(cli, argc, argv, 0);
}

int
cmd_rollback(struct bf_cli *cli, int argc, char **argv)
{
	return move_common(cli, argc, argv, 1);
}

/*
 * The options of history and waves: -R DIR, --profile P, --channel C.
 * Returns -1 to go on, or the exit status (usage, help).
 */
static int
view_opts(struct bf_cli *cli, int argc, char **argv, const char *usage,
    const char *help, const char **dir, const char **profile,
    const char **channel)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "channel", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "R:p:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			*dir = optarg;
			break;
		case 'p':
			*profile = optarg;
			break;
		case 'c':
			*channel = optarg;
			break;
		case 'h':
			return cli_help(cli, usage, help);
		default:
			return cli_usage(cli, usage);
		}
	}
	return optind != argc ? cli_usage(cli, usage) : -1;
}

int
cmd_history(struct bf_cli *cli, int argc, char **argv)
{
	struct bf_history_entry *v = NULL;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL, *profile = NULL, *channel = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = view_opts(cli, argc, argv, history_usage, history_help, &dir,
	    &profile, &channel)) >= 0)
		return rc;
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	if ((rc = bf_history_load(r, &v, &n, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		bf_repo_free(r);
		return BF_EXIT_ERROR;
	}
	for (i = 0; i < n; i++) {
		char when[64];
		time_t t = (time_t)v[i].time;
		struct tm tm;

		if ((profile != NULL && strcmp(profile, v[i].profile) != 0) ||
		    (channel != NULL && strcmp(channel, v[i].channel) != 0))
			continue;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		printf("%s  %-8s  %s/%s  %s -> %s  by %s\n", when, v[i].action,
		    v[i].channel, v[i].profile, v[i].from[0] ? v[i].from : "(none)",
		    v[i].to, v[i].by);
	}
	free(v);
	bf_repo_free(r);
	return fflush(stdout) == 0 ? BF_EXIT_OK : BF_EXIT_ERROR;
}

static const char waves_usage[] = "[-R DIR] [--profile P] [--channel C]";

static const char waves_help[] =
    "Shows where each channel with waves (waves.C in binfarm-repo.conf)\n"
    "stands: for every profile, the snapshot of each wave (channel C.W)\n"
    "in release order, then of C itself (every other node).\n";

struct wave_profiles {
	const char		*channel;
	struct bf_strv		*profiles;
};

/* Collects the profiles that have a link in the channel or one of its waves. */
static int
wave_profile_cb(void *arg, const char *channel, const char *profile,
    const char *id)
{
	struct wave_profiles *wp = arg;
	size_t n = strlen(wp->channel);

	(void)id;
	if (strncmp(channel, wp->channel, n) != 0 ||
	    (channel[n] != '\0' && channel[n] != '.'))
		return 0;
	if (bf_strv_find(wp->profiles, profile) >= 0)
		return 0;
	return bf_strv_push(wp->profiles, profile);
}

static int
show_waves(struct bf_repo *r, const char *channel, const char *profile,
    struct bf_err *e)
{
	struct bf_strv waves = BF_STRV_INIT, profiles = BF_STRV_INIT;
	struct wave_profiles wp = { channel, &profiles };
	char ch[BF_CHANNEL_MAX], id[32];
	size_t i, j;
	int rc;

	if ((rc = bf_repo_waves(r, channel, &waves)) < 0 ||
	    (rc = profile != NULL ? bf_strv_push(&profiles, profile) :
	    bf_channel_each(r, wave_profile_cb, &wp, e)) < 0)
		goto out;
	bf_strv_sort(&profiles);
	for (i = 0; i < profiles.n; i++) {
		printf("channel %s of %s (waves: %s)\n", channel,
		    profiles.v[i], bf_conf_get(&r->waves, channel));
		for (j = 0; j <= waves.n; j++) {
			if (j < waves.n)
				snprintf(ch, sizeof(ch), "%s.%s", channel,
				    waves.v[j]);
			else
				snprintf(ch, sizeof(ch), "%s", channel);
			rc = bf_channel_get(r, ch, profiles.v[i], id, e);
			if (rc < 0 && rc != -BF_ENOTFOUND)
				goto out;
			bf_err_clear(e);
			printf("  %-24s %s\n", ch, rc == 0 ? id : "(none)");
		}
	}
	rc = 0;
out:
	bf_strv_release(&waves);
	bf_strv_release(&profiles);
	return rc;
}

int
cmd_waves(struct bf_cli *cli, int argc, char **argv)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL, *profile = NULL, *channel = NULL;
	size_t i;
	int rc, ret = BF_EXIT_ERROR;

	if ((rc = view_opts(cli, argc, argv, waves_usage, waves_help, &dir,
	    &profile, &channel)) >= 0)
		return rc;
	rc = 0;
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	if (profile != NULL && (!bf_repo_name_valid(profile) ||
	    !bf_repo_profile_exists(r, profile))) {
		cli_error(cli, "no profile '%s' in this repository", profile);
		ret = BF_EXIT_FAIL;
		goto out;
	}
	if (channel != NULL) {
		if (bf_conf_get(&r->waves, channel) == NULL) {
			cli_error(cli, "channel '%s' has no waves (waves.%s in "
			    "%s)", channel, channel, BF_REPO_CONF);
			ret = BF_EXIT_FAIL;
			goto out;
		}
		rc = show_waves(r, channel, profile, &e);
	} else {
		if (r->waves.n == 0)
			printf("no channel has waves (waves.CHANNEL in %s)\n",
			    BF_REPO_CONF);
		for (i = 0; i < r->waves.n && rc == 0; i++)
			rc = show_waves(r, r->waves.v[i].key, profile, &e);
	}
	if (rc < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	ret = fflush(stdout) == 0 ? BF_EXIT_OK : BF_EXIT_ERROR;
out:
	bf_repo_free(r);
	return ret;
}
