/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_PROMOTE_H
#define BF_PROMOTE_H

#include <stddef.h>

#include "store/channel.h"
#include "store/repo.h"

struct bf_err;

struct bf_move_opts {
	int		 allow_downgrade;
	int		 dry_run;
	const char	*by;
};

struct bf_move_result {
	char		 from[32];	/* "" if the channel was new */
	char		 to[32];
	int		 moved;		/* 0: already there, dry run, or refused */
	struct bf_diff	 diff;		/* from -> to */
};

void	bf_move_result_release(struct bf_move_result *res);

/*
 * Moves `channel` of `profile` to snapshot `id`.  Computes the diff
 * against the channel's current snapshot first; any downgrade makes it
 * fail with -BF_ECONFLICT unless opts->allow_downgrade.  The lock must
 * be held.
 */
int	bf_repo_promote(struct bf_repo *r, const char *profile,
	    const char *channel, const char *id, const struct bf_move_opts *opts,
	    struct bf_move_result *res, struct bf_err *e);
/*
 * Moves the channel back to the snapshot it pointed at before its
 * current one (the history log is replayed as a stack: promote pushes,
 * rollback pops).  Downgrades are expected and reported in res->diff.
 */
int	bf_repo_rollback(struct bf_repo *r, const char *profile,
	    const char *channel, const struct bf_move_opts *opts,
	    struct bf_move_result *res, struct bf_err *e);

/*
 * Waves (binfarm-repo.conf "waves.<channel> = <wave>..."): a channel is
 * released to the nodes of each wave in turn, each wave being the
 * channel "<channel>.<wave>" that its nodes point at, and then to every
 * node, the channel itself.
 */
#define BF_CHANNEL_MAX	130

/* The waves of `channel`, in order (empty when it has none). */
int	bf_repo_waves(const struct bf_repo *r, const char *channel,
	    struct bf_strv *waves);

enum bf_wave_mode {
	BF_WAVE_CHANNEL,	/* the channel itself: every wave must have id */
	BF_WAVE_ONE,		/* the named wave: the wave before must have id */
	BF_WAVE_NEXT,		/* the first wave (then the channel) without id */
};

/*
 * Which channel a promotion of snapshot `id` to `channel` of `profile`
 * moves (into `target`), keeping the order of its waves: a wave gets a
 * snapshot only after the wave before it has it, and the channel only
 * after every wave.  Returns 0, 1 for BF_WAVE_NEXT when the channel and
 * all its waves already have `id` (nothing to do), -BF_ECONFLICT naming
 * the wave that must go first, -BF_ENOTFOUND for an unknown wave or a
 * channel without waves (BF_WAVE_ONE, BF_WAVE_NEXT).
 */
int	bf_wave_target(struct bf_repo *r, const char *profile,
	    const char *channel, enum bf_wave_mode mode, const char *wave,
	    const char *id, char target[BF_CHANNEL_MAX], struct bf_err *e);

#endif
