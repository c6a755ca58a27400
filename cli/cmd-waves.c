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
#include "json.h"
#include "promote.h"
#include "base/banned.h"

static const char waves_usage[] =
    "[-R DIR] [--profile P] [--channel C] [--json]";

static const char waves_help[] =
    "Shows where each channel with waves (waves.C in binfarm-repo.conf)\n"
    "stands: for every profile, the snapshot of each wave (channel C.W)\n"
    "in release order, then of C itself (every other node).\n"
    "\n"
    "  -R DIR           the repository (default: $BINFARM_REPO)\n"
    "  -p, --profile P  only profile P\n"
    "  -c, --channel C  only channel C\n"
    "      --json       {\"channels\": [{\"channel\", \"waves\": [...],\n"
    "                   \"profiles\": [{\"profile\", \"stages\": [{\"wave\",\n"
    "                   \"channel\", \"snapshot\"}...]}...]}...]}\n"
    "\n"
    "Exit status: 0 done, 1 no such profile or a channel without waves,\n"
    "2 usage or a system error.\n";

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

/* One stage of a profile: a line, or (arr not NULL) an object. */
static int
show_stage(struct bf_repo *r, const char *ch, const char *wave,
    const char *profile, json_t *arr, struct bf_err *e)
{
	char id[32];
	int rc;

	rc = bf_channel_get(r, ch, profile, id, e);
	if (rc < 0 && rc != -BF_ENOTFOUND)
		return rc;
	bf_err_clear(e);
	if (arr == NULL) {
		printf("  %-24s %s\n", ch, rc == 0 ? id : "(none)");
		return 0;
	}
	if (json_array_append_new(arr, json_pack("{s:o, s:s, s:o}", "wave",
	    cli_json_str_or_null(wave), "channel", ch, "snapshot",
	    cli_json_str_or_null(rc == 0 ? id : NULL))) < 0)
		return bf_err_nomem(e);
	return 0;
}

/*
 * The waves of `channel`, for `profile` or every profile it has:
 * printed, or (out not NULL) appended to `out` as one object.
 */
static int
show_waves(struct bf_repo *r, const char *channel, const char *profile,
    json_t *out, struct bf_err *e)
{
	struct bf_strv waves = BF_STRV_INIT, profiles = BF_STRV_INIT;
	struct wave_profiles wp = { channel, &profiles };
	char ch[BF_CHANNEL_MAX];
	json_t *co = NULL, *pa = NULL, *stages = NULL, *wa = NULL;
	size_t i, j;
	int rc;

	if ((rc = bf_repo_waves(r, channel, &waves)) < 0 ||
	    (rc = profile != NULL ? bf_strv_push(&profiles, profile) :
	    bf_channel_each(r, wave_profile_cb, &wp, e)) < 0)
		goto out;
	bf_strv_sort(&profiles);
	if (out != NULL) {
		if ((wa = json_array()) == NULL || (pa = json_array()) == NULL)
			goto oom;
		for (j = 0; j < waves.n; j++)
			if (json_array_append_new(wa, json_string(waves.v[j])) < 0)
				goto oom;
	}
	for (i = 0; i < profiles.n; i++) {
		if (out == NULL)
			printf("channel %s of %s (waves: %s)\n", channel,
			    profiles.v[i], bf_conf_get(&r->waves, channel));
		else if ((stages = json_array()) == NULL ||
		    json_array_append_new(pa, json_pack("{s:s, s:O}", "profile",
		    profiles.v[i], "stages", stages)) < 0)
			goto oom;
		for (j = 0; j <= waves.n; j++) {
			if (j < waves.n)
				snprintf(ch, sizeof(ch), "%s.%s", channel,
				    waves.v[j]);
			else
				snprintf(ch, sizeof(ch), "%s", channel);
			if ((rc = show_stage(r, ch, j < waves.n ? waves.v[j] :
			    NULL, profiles.v[i], stages, e)) < 0)
				goto out;
		}
		json_decref(stages);
		stages = NULL;
	}
	if (out != NULL) {
		co = json_pack("{s:s, s:O, s:O}", "channel", channel, "waves",
		    wa, "profiles", pa);
		if (co == NULL || json_array_append_new(out, co) < 0)
			goto oom;
	}
	rc = 0;
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	json_decref(stages);
	json_decref(wa);
	json_decref(pa);
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
	json_t *out = NULL;
	size_t i;
	int rc, json = 0, ret = BF_EXIT_ERROR;

	if ((rc = promote_view_opts_json(cli, argc, argv, waves_usage,
	    waves_help, &dir, &profile, &channel, &json)) >= 0)
		return rc;
	if (json && (out = json_array()) == NULL) {
		cli_error(cli, "out of memory");
		return BF_EXIT_ERROR;
	}
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
		rc = show_waves(r, channel, profile, out, &e);
	} else {
		if (r->waves.n == 0 && !json)
			printf("no channel has waves (waves.CHANNEL in %s)\n",
			    BF_REPO_CONF);
		for (i = 0; i < r->waves.n && rc == 0; i++)
			rc = show_waves(r, r->waves.v[i].key, profile, out,
			    &e);
	}
	if (rc < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	if (json) {
		ret = cli_json_print(cli, json_pack("{s:O}", "channels", out));
		goto out;
	}
	ret = fflush(stdout) == 0 ? BF_EXIT_OK : BF_EXIT_ERROR;
out:
	json_decref(out);
	bf_repo_free(r);
	return ret;
}
