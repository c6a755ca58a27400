/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Promotion and rollback: moving a channel (or one of its waves) to a
 * snapshot, with the downgrade guard, and back.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/pkgindex.h"
#include "store/channel.h"
#include "store/promote.h"
#include "store/repo.h"
#include "base/banned.h"

/* Replays the log for one channel: the stack of snapshots it went through. */
static int
channel_stack(const struct bf_history_entry *v, size_t n, const char *profile,
    const char *channel, char (**stack)[32], size_t *depth)
{
	char (*s)[32];
	size_t i, d = 0;

	if ((s = calloc(n + 1, sizeof(*s))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].profile, profile) != 0 ||
		    strcmp(v[i].channel, channel) != 0)
			continue;
		if (strcmp(v[i].action, "rollback") == 0) {
			if (d > 0)
				d--;
			if (d == 0 || strcmp(s[d - 1], v[i].to) != 0)
				snprintf(s[d++], 32, "%s", v[i].to);
		} else
			snprintf(s[d++], 32, "%s", v[i].to);
	}
	*stack = s;
	*depth = d;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Moves.                                                              */

void
bf_move_result_release(struct bf_move_result *res)
{
	bf_diff_release(&res->diff);
}

static int
do_move(struct bf_repo *r, const char *action, const char *profile,
    const char *channel, const char *id, int check_downgrade,
    const struct bf_move_opts *opts, struct bf_move_result *res,
    struct bf_err *e)
{
	struct bf_pkgindex a = BF_PKGINDEX_INIT, b = BF_PKGINDEX_INIT;
	struct bf_history_entry h;
	int rc;

	snprintf(res->to, sizeof(res->to), "%s", id);
	if ((rc = bf_snapshot_load_index(r, profile, id, &b, e)) < 0)
		goto out;
	if (res->from[0] != '\0' &&
	    (rc = bf_snapshot_load_index(r, profile, res->from, &a, e)) < 0) {
		bf_err_prefix(e, "current snapshot of channel '%s'", channel);
		goto out;
	}
	if ((rc = bf_diff_compute(&a, &b, &res->diff, e)) < 0)
		goto out;
	if (strcmp(res->from, id) == 0)
		goto out;	/* already there */
	if (check_downgrade && res->diff.count[BF_CHG_DOWNGRADED] > 0 &&
	    !opts->allow_downgrade) {
		rc = bf_err_set(e, BF_ECONFLICT, "refusing to move channel '%s' of "
		    "'%s' from %s to %s: it would downgrade %zu package(s) "
		    "(use --allow-downgrade)", channel, profile, res->from, id,
		    res->diff.count[BF_CHG_DOWNGRADED]);
		goto out;
	}
	if (opts->dry_run)
		goto out;
	if ((rc = bf_channel_set(r, channel, profile, id, e)) < 0)
		goto out;
	res->moved = 1;
	memset(&h, 0, sizeof(h));
	h.time = (long long)time(NULL);
	snprintf(h.action, sizeof(h.action), "%s", action);
	snprintf(h.profile, sizeof(h.profile), "%s", profile);
	snprintf(h.channel, sizeof(h.channel), "%s", channel);
	snprintf(h.from, sizeof(h.from), "%s", res->from);
	snprintf(h.to, sizeof(h.to), "%s", id);
	snprintf(h.by, sizeof(h.by), "%s", opts->by != NULL ? opts->by : "unknown");
	rc = bf_history_append(r, &h, e);
out:
	bf_pkgindex_release(&a);
	bf_pkgindex_release(&b);
	return rc;
}

int
bf_repo_waves(const struct bf_repo *r, const char *channel,
    struct bf_strv *waves)
{
	const char *v = bf_conf_get(&r->waves, channel);

	return v != NULL ? bf_strv_split(waves, v) : 0;
}

/* Whether channel `ch` of `profile` is at `id` (a missing link is not). */
static int
channel_at(struct bf_repo *r, const char *ch, const char *profile,
    const char *id, char cur[32], struct bf_err *e)
{
	int rc = bf_channel_get(r, ch, profile, cur, e);

	if (rc == -BF_ENOTFOUND) {
		bf_err_clear(e);
		cur[0] = '\0';
		return 0;
	}
	return rc < 0 ? rc : strcmp(cur, id) == 0;
}

int
bf_wave_target(struct bf_repo *r, const char *profile, const char *channel,
    enum bf_wave_mode mode, const char *wave, const char *id,
    char target[BF_CHANNEL_MAX], struct bf_err *e)
{
	struct bf_strv w = BF_STRV_INIT;
	char cur[32], ch[BF_CHANNEL_MAX];
	size_t i;
	long at = -1;
	int rc;

	snprintf(target, BF_CHANNEL_MAX, "%s", channel);
	if ((rc = bf_repo_waves(r, channel, &w)) < 0)
		return bf_err_nomem(e);
	if (w.n == 0) {
		rc = mode == BF_WAVE_CHANNEL ? 0 : bf_err_set(e, BF_ENOTFOUND,
		    "channel '%s' has no waves (waves.%s in %s)", channel,
		    channel, BF_REPO_CONF);
		goto out;
	}
	/* The channel itself already there: nothing to order. */
	if (mode == BF_WAVE_CHANNEL &&
	    (rc = channel_at(r, channel, profile, id, cur, e)) != 0)
		goto out;
	if (mode == BF_WAVE_ONE &&
	    (at = bf_strv_find(&w, wave)) < 0) {
		rc = bf_err_set(e, BF_ENOTFOUND, "channel '%s' has no wave "
		    "'%s' (its waves: %s)", channel, wave,
		    bf_conf_get(&r->waves, channel));
		goto out;
	}
	/* Every wave before the one to move (all of them for the channel). */
	for (i = 0; i < w.n && (mode != BF_WAVE_ONE || (long)i <= at); i++) {
		snprintf(ch, sizeof(ch), "%s.%s", channel, w.v[i]);
		if ((rc = channel_at(r, ch, profile, id, cur, e)) < 0)
			goto out;
		if (rc == 1 && !(mode == BF_WAVE_ONE && (long)i == at))
			continue;
		if (mode == BF_WAVE_NEXT || (mode == BF_WAVE_ONE &&
		    (long)i == at)) {
			snprintf(target, BF_CHANNEL_MAX, "%s", ch);
			rc = 0;
			goto out;
		}
		rc = bf_err_set(e, BF_ECONFLICT, "channel '%s' of '%s' goes out "
		    "in waves (%s): wave '%s' is at %s, not %s; promote it "
		    "first (--wave %s or --next)", channel, profile,
		    bf_conf_get(&r->waves, channel), w.v[i], cur[0] ? cur :
		    "(none)", id, w.v[i]);
		goto out;
	}
	rc = 0;
	if (mode == BF_WAVE_NEXT) {
		/* Every wave has it: the channel itself, or nothing to do. */
		if ((rc = channel_at(r, channel, profile, id, cur, e)) >= 0)
			rc = rc == 1;
	}
out:
	bf_strv_release(&w);
	return mode == BF_WAVE_CHANNEL && rc == 1 ? 0 : rc;
}

static int
check_names(struct bf_repo *r, const char *profile, const char *channel,
    struct bf_err *e)
{
	if (!bf_repo_name_valid(channel))
		return bf_err_set(e, BF_EUSAGE, "invalid channel name '%s'", channel);
	if (strcmp(channel, "node") == 0 || strcmp(channel, "snapshots") == 0 ||
	    strcmp(channel, "keys") == 0 || strcmp(channel, "channels") == 0 ||
	    strcmp(channel, "pool") == 0)
		return bf_err_set(e, BF_EUSAGE, "'%s' cannot be a channel: the "
		    "binhost serves /%s/ as something else", channel, channel);
	if (!bf_repo_name_valid(profile))
		return bf_err_set(e, BF_EUSAGE, "invalid profile name '%s'", profile);
	if (!bf_repo_profile_exists(r, profile))
		return bf_err_set(e, BF_ENOTFOUND, "no profile '%s' in this "
		    "repository", profile);
	return 0;
}

int
bf_repo_promote(struct bf_repo *r, const char *profile, const char *channel,
    const char *id, const struct bf_move_opts *opts, struct bf_move_result *res,
    struct bf_err *e)
{
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = check_names(r, profile, channel, e)) < 0)
		return rc;
	if (!bf_snapshot_exists(r, profile, id))
		return bf_err_set(e, BF_ENOTFOUND, "no snapshot '%s' in profile '%s'",
		    id, profile);
	rc = bf_channel_get(r, channel, profile, res->from, e);
	if (rc < 0 && rc != -BF_ENOTFOUND)
		return rc;
	bf_err_clear(e);
	return do_move(r, "promote", profile, channel, id, 1, opts, res, e);
}

int
bf_repo_rollback(struct bf_repo *r, const char *profile, const char *channel,
    const struct bf_move_opts *opts, struct bf_move_result *res,
    struct bf_err *e)
{
	struct bf_history_entry *v = NULL;
	char (*stack)[32] = NULL;
	size_t n = 0, depth = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = check_names(r, profile, channel, e)) < 0)
		return rc;
	if ((rc = bf_channel_get(r, channel, profile, res->from, e)) < 0)
		return rc;
	if ((rc = bf_history_load(r, &v, &n, e)) < 0)
		return rc;
	if (channel_stack(v, n, profile, channel, &stack, &depth) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if (depth < 2 || strcmp(stack[depth - 1], res->from) != 0) {
		rc = bf_err_set(e, BF_ENOTFOUND, "channel '%s' of '%s' has no "
		    "earlier snapshot to return to", channel, profile);
		goto out;
	}
	if (!bf_snapshot_exists(r, profile, stack[depth - 2])) {
		rc = bf_err_set(e, BF_ENOTFOUND, "the previous snapshot %s of "
		    "channel '%s' is gone (garbage-collected)", stack[depth - 2],
		    channel);
		goto out;
	}
	rc = do_move(r, "rollback", profile, channel, stack[depth - 2], 0, opts,
	    res, e);
out:
	free(v);
	free(stack);
	return rc;
}
