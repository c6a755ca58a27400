/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_PROMOTE_H
#define BF_PROMOTE_H

#include <stddef.h>

#include "store/repo.h"

struct bf_err;

/*
 * Channels and their history.  channels/<channel>/<profile> is a
 * symbolic link "../../snapshots/<profile>/<id>", replaced atomically
 * (a link under a temporary name, then rename()).  Every move appends
 * one line to history.log (O_APPEND, fsync'd), tab-separated:
 *
 *	<unix time> <UTC time> <action> <profile> <channel> <from|-> <to> <by>
 *
 * where action is promote, rollback or recover (a move found on disk
 * that the log lacked, after a writer was killed between the two).
 */
struct bf_history_entry {
	long long	 time;
	char		 action[16];
	char		 profile[130];
	char		 channel[130];
	char		 from[32];	/* "" when the channel was new */
	char		 to[32];
	char		 by[130];
};

/* The snapshot id channel `channel` of `profile` points at; -BF_ENOTFOUND if none. */
int	bf_channel_get(struct bf_repo *r, const char *channel,
	    const char *profile, char id[32], struct bf_err *e);
/* Atomically points the channel at `id` (no log line: see bf_repo_move). */
int	bf_channel_set(struct bf_repo *r, const char *channel,
	    const char *profile, const char *id, struct bf_err *e);
/* Calls `cb` for every channel link: (channel, profile, id or NULL if broken). */
int	bf_channel_each(struct bf_repo *r,
	    int (*cb)(void *arg, const char *channel, const char *profile,
	    const char *id), void *arg, struct bf_err *e);

int	bf_history_load(struct bf_repo *r, struct bf_history_entry **v,
	    size_t *n, struct bf_err *e);
int	bf_history_append(struct bf_repo *r, const struct bf_history_entry *h,
	    struct bf_err *e);
/* Appends a "recover" line for every link the log does not explain. */
int	bf_history_reconcile(struct bf_repo *r,
	    void (*report)(void *arg, const char *msg), void *arg,
	    struct bf_err *e);

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

/* gc and fsck. */
struct bf_gc_opts {
	int		 dry_run;
	long long	 grace;		/* seconds */
	long long	 keep;		/* newest snapshots per profile */
	long long	 now;		/* < 0: time(NULL) */
	void		(*report)(void *arg, const char *what, const char *path);
	void		*arg;
};

struct bf_gc_stats {
	size_t		 snapshots_kept;
	size_t		 snapshots_deleted;
	size_t		 files_kept;
	size_t		 files_deleted;
	unsigned long long bytes_deleted;
};

int	bf_repo_gc(struct bf_repo *r, const struct bf_gc_opts *opts,
	    struct bf_gc_stats *st, struct bf_err *e);

struct bf_fsck_opts {
	int		 no_digests;	/* sizes only */
	struct bf_verifier *verifier;	/* check signatures with it, or NULL */
	void		(*problem)(void *arg, const char *msg);
	void		(*info)(void *arg, const char *msg);
	void		*arg;
};

/* Returns the number of problems found (>= 0) or a negative error. */
int	bf_repo_fsck(struct bf_repo *r, const struct bf_fsck_opts *opts,
	    struct bf_err *e);

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
