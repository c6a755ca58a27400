/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Releases (man/binfarm-release.1, man/binfarm-repository.5): a
 * snapshot per hw-profile going to the nodes of one channel in waves
 * cut from the inventory (nodes.conf).
 *
 * releases/<channel> holds the channel's latest release, replaced
 * whole and atomically under the repository lock; releases.log gets a
 * line per action (start, pause, resume, advance, rollback, finish).
 * A release file is text, one item per line:
 *
 *	release <number>
 *	channel <channel>
 *	strategy all|by-member|by-farm
 *	state running|paused|done|rolled-back
 *	allow-downgrade yes|no
 *	started <unix time> <by>
 *	ended <unix time> <by>			(once done or rolled back)
 *	paused <open waves>			(while paused)
 *	target <profile> <from id or -> <to id>
 *	wave <n> <node>=<profile> ...
 *	advanced <n> <unix time> <by>		(a wave an operator ended)
 *
 * Nothing in the file says how far a release has gone: that follows
 * from what the nodes fetched (fleet.h).  A wave is done when every
 * node of it has fetched its profile's target (or an operator said so:
 * "advanced"); the first wave is open from the start and each next
 * one opens when the one before it is done, so a binhost restarted
 * mid-release, reading the same records, carries on where it was.
 * While paused, no more waves open than were open when it paused.
 * A node of an open wave gets its profile's target; every other node
 * gets what its channel points at (the "from" snapshot), until the
 * release is finished: then the channel itself is moved.
 */
#ifndef BF_RELEASE_H
#define BF_RELEASE_H

#include <stddef.h>

struct bf_buf;
struct bf_err;
struct bf_fetches;
struct bf_nodes;
struct bf_repo;
struct bf_diff;

#define BF_RELEASES_DIR		"releases"
#define BF_RELEASES_LOG		"releases.log"

enum bf_strategy {
	BF_STRATEGY_ALL,	/* every node at once */
	BF_STRATEGY_BY_FARM,	/* a whole farm, then the next */
	BF_STRATEGY_BY_MEMBER,	/* member 1 of every farm, then 2, ... */
};

enum bf_release_state {
	BF_RELEASE_RUNNING,
	BF_RELEASE_PAUSED,
	BF_RELEASE_DONE,
	BF_RELEASE_ROLLED_BACK,
};

struct bf_release_target {
	char		 profile[130];
	char		 from[32];	/* "" when the channel had none */
	char		 to[32];
};

struct bf_wave_node {
	char		*name;
	char		*profile;
};

struct bf_wave {
	struct bf_wave_node *v;
	size_t		 n, alloc;
	long long	 advanced;	/* when an operator ended it; 0 */
	char		 advanced_by[130];
};

struct bf_release {
	unsigned long long id;
	char		 channel[130];
	enum bf_strategy strategy;
	enum bf_release_state state;
	int		 allow_downgrade;
	size_t		 paused_open;	/* open waves when paused */
	long long	 started, ended;
	char		 started_by[130], ended_by[130];
	struct bf_release_target *targets;
	size_t		 ntargets, talloc;
	struct bf_wave	*waves;
	size_t		 nwaves, walloc;
};

void	bf_release_init(struct bf_release *rel);
void	bf_release_free(struct bf_release *rel);

const char *bf_strategy_name(enum bf_strategy s);
int	bf_strategy_parse(const char *s, enum bf_strategy *out);
const char *bf_release_state_name(enum bf_release_state s);
/* Running or paused. */
int	bf_release_active(const struct bf_release *rel);

/* Text of a release file (above); `file` names it in messages. */
int	bf_release_parse(struct bf_release *rel, const char *file,
	    const char *text, size_t len, struct bf_err *e);
void	bf_release_format(const struct bf_release *rel, struct bf_buf *out);
/*
 * Reads releases/<channel> beneath `dirfd` (a repository root):
 * 0, -BF_ENOTFOUND when the channel never had a release, or an error.
 */
int	bf_release_load(int dirfd, const char *channel, struct bf_release *rel,
	    struct bf_err *e);
/*
 * Writes releases/<channel> atomically and appends `action` to
 * releases.log.  The repository lock must be held.
 */
int	bf_release_save(struct bf_repo *r, const struct bf_release *rel,
	    const char *action, const char *by, struct bf_err *e);

/* The target of `profile`, or NULL when the release has none for it. */
const struct bf_release_target *bf_release_target(const struct bf_release *rel,
	    const char *profile);
int	bf_release_add_target(struct bf_release *rel, const char *profile,
	    const char *from, const char *to, struct bf_err *e);
/*
 * Cuts the waves of `rel` (its channel, strategy and targets set) from
 * the inventory: the nodes of the channel whose profile has a target.
 * by-member: wave k holds member k of every farm; by-farm: one wave per
 * farm, farms in (site, farm) order; all: one wave.  -BF_ENOTFOUND when
 * no node would get anything.
 */
int	bf_release_cut_waves(struct bf_release *rel, const struct bf_nodes *ns,
	    struct bf_err *e);

/* Has `node` of profile `profile` fetched its target? */
int	bf_release_node_done(const struct bf_release *rel, const char *node,
	    const char *profile, const struct bf_fetches *f);
/* Has wave `w` (0-based) ended: every node fetched its target, or advanced? */
int	bf_release_wave_done(const struct bf_release *rel, size_t w,
	    const struct bf_fetches *f);
/*
 * How many waves are open (0-based waves [0, n) get the target): 0 when
 * the release is not active; nwaves when all are.
 */
size_t	bf_release_open_waves(const struct bf_release *rel,
	    const struct bf_fetches *f);
/* Has every wave ended?  (Then the release can be finished.) */
int	bf_release_complete(const struct bf_release *rel,
	    const struct bf_fetches *f);
/* The wave (0-based) of `node`, or -1. */
long	bf_release_wave_of(const struct bf_release *rel, const char *node);

/*
 * The strategy a diff asks for: a package matching the profile's
 * disruptive list needs by-member, one on the application list by-farm
 * (by-member wins when both), anything else all.  Lists are words of
 * "cat/pn" or fnmatch(3) globs of it (binfarm-repo.conf release.disruptive and
 * release.application; bf_release_lists() gives them with the
 * defaults).  The first package that decided is named in `why`.
 */
enum bf_strategy bf_release_propose(const struct bf_diff *d,
	    const char *disruptive, const char *application,
	    struct bf_buf *why);
/*
 * The lists for `profile`: release.disruptive.<profile> or
 * release.disruptive or the default, and the same for application.
 */
void	bf_release_lists(const struct bf_repo *r, const char *profile,
	    const char **disruptive, const char **application);
#define BF_RELEASE_DISRUPTIVE_DEFAULT \
	"sys-kernel/* sys-libs/glibc sys-libs/musl dev-libs/openssl " \
	"sys-apps/systemd sys-apps/openrc www-servers/* dev-lang/php " \
	"dev-db/mysql dev-db/mariadb dev-db/postgresql"
#define BF_RELEASE_APPLICATION_DEFAULT ""

/* ------------------------------------------------------------------ */
/* Operations on a repository (the lock held where it says so).        */

/*
 * A target for every profile of the channel's nodes (in `ns`): the
 * snapshot channel `from_channel` points at for it (a profile it has
 * nothing for is left out), and, as `from`, what rel->channel points
 * at now.  -BF_ENOTFOUND when no profile gets anything.
 */
int	bf_release_targets_from(struct bf_repo *r, struct bf_release *rel,
	    const struct bf_nodes *ns, const char *from_channel,
	    struct bf_err *e);
/* The diff of a target, from -> to ("from" empty: everything added). */
int	bf_release_diff(struct bf_repo *r, const struct bf_release_target *t,
	    struct bf_diff *d, struct bf_err *e);
/* The next release number (one more than any in releases.log). */
int	bf_release_next_id(struct bf_repo *r, unsigned long long *id,
	    struct bf_err *e);
/*
 * Ends a running release whose waves are all done: every target's
 * channel link moved to it (history.log: promote), then state done.
 * Lock held.
 */
int	bf_release_finish(struct bf_repo *r, struct bf_release *rel,
	    const char *by, struct bf_err *e);
/*
 * Rolls a release back: an active one stops (every node gets its
 * channel's snapshot again, the one it had before); a done one moves
 * the channels back to each target's `from` (history.log: rollback).
 * Lock held.
 */
int	bf_release_rollback(struct bf_repo *r, struct bf_release *rel,
	    const char *by, struct bf_err *e);
/*
 * An operator's action on `rel` (loaded under the lock, `f` the records),
 * saved with `who` in releases.log: "pause" (no more waves open),
 * "resume", "advance" (the first wave not done ends by hand), "rollback"
 * (bf_release_rollback()), "finish" (once complete: bf_release_finish()).
 * -BF_ECONFLICT when the release's state does not allow it, -BF_EUSAGE
 * for another action.  Lock held.
 */
int	bf_release_act(struct bf_repo *r, struct bf_release *rel,
	    const struct bf_fetches *f, const char *action, const char *who,
	    struct bf_err *e);

#endif
