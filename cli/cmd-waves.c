/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm waves: where each wave of a channel stands.
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
#include "promote.h"
#include "base/banned.h"

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

	if ((rc = promote_view_opts(cli, argc, argv, waves_usage, waves_help, &dir,
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
