/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_CHANNEL_H
#define BF_CHANNEL_H

#include <stddef.h>

#include "store/repo.h"

struct bf_err;

/* channel.c */

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

#endif
