/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_REPO_H
#define BF_REPO_H

#include "base/conf.h"

#include <stddef.h>
#include <stdint.h>

#include "format/pkgindex.h"
#include "base/map.h"

struct bf_buf;
struct bf_err;
struct bf_signer;
struct bf_verifier;

/*
 * The repository on disk (man/binfarm-repository.5):
 *
 *	binfarm-repo.conf                       format, signing, gc defaults,
 *	                                        gnupg-home and signing-key
 *	.lock                                   flock()ed by every writer
 *	history.log                             one line per channel move
 *	keys/binfarm.asc                        the public key
 *	tmp/                                    writers' scratch space
 *	work/<profile>/Packages                 the working set (staged)
 *	pool/<profile>/<cat>/<pn>/<pf>-<n>.gpkg.tar    immutable
 *	snapshots/<profile>/<id>/               immutable complete PKGDIR
 *	channels/<channel>/<profile> -> ../../snapshots/<profile>/<id>
 *
 * Every write is atomic (temporary name, fsync, rename, fsync of the
 * directory); writers build in tmp/, which bf_repo_lock() empties, so
 * a writer killed at any instant leaves nothing a reader can see.
 *
 * The GnuPG home that holds the secret signing key is never in the
 * tree: binfarm-repo.conf names it (gnupg-home, an absolute path in a
 * state directory, possibly shared by several repositories) and the
 * key in it (signing-key, a fingerprint).  Repositories made before
 * kept it in keys/gnupg; bf_repo_key_problem() tells, and
 * bf_repo_key_migrate() (sign.h) moves it out.
 */
struct bf_repo {
	int		 root_fd;
	char		*root;
	int		 lock_fd;	/* -1 when not locked */
	int		 signed_repo;
	long long	 keep;		/* gc: newest snapshots kept per profile */
	long long	 grace;		/* gc: seconds */
	unsigned long	 tmpseq;
	char		*gnupg_home;	/* absolute, or NULL when not set */
	char		*signing_key;	/* fingerprint, or NULL */
	/* waves.<channel> = <wave>...: channel -> its waves, in order */
	struct bf_conf	 waves;
	/* release.<key> = <words> (release.h: disruptive and application lists) */
	struct bf_conf	 release;
};

#define BF_REPO_CONF		"binfarm-repo.conf"
#define BF_REPO_GNUPG		"keys/gnupg"	/* legacy: must not exist */
#define BF_REPO_PUBKEY		"keys/binfarm.asc"
#define BF_REPO_HISTORY		"history.log"
#define BF_SNAPSHOT_META	"SNAPSHOT"
#define BF_SNAPSHOT_IDLEN	21	/* 20261125T101500Z-0001 */

enum {
	BF_REPO_UNSIGNED = 1 << 0,
};

/* Creates an empty repository in `dir` (which may exist but be empty). */
int	bf_repo_create(const char *dir, unsigned flags, struct bf_err *e);
int	bf_repo_open(struct bf_repo **rp, const char *dir, struct bf_err *e);
void	bf_repo_free(struct bf_repo *r);
/* "<root>/<rel>", malloc'd. */
char   *bf_repo_path(const struct bf_repo *r, const char *rel);

/*
 * The GnuPG home used when none is given: $BINFARM_GNUPG_HOME if set,
 * else /var/lib/binfarm/gnupg for root, else
 * ${XDG_STATE_HOME:-$HOME/.local/state}/binfarm/gnupg.  Appended to
 * `out`; not created.
 */
int	bf_repo_gnupg_default(struct bf_buf *out, struct bf_err *e);
/*
 * Whether the secret key material of `r` lies inside its tree: a
 * keys/gnupg directory (the old layout), or a gnupg-home under the
 * root.  Returns 1 and appends to `why` a sentence naming the command
 * that fixes it (binfarm key migrate), 0 when not, or a negative error.
 */
int	bf_repo_key_problem(const struct bf_repo *r, struct bf_buf *why,
	    struct bf_err *e);
/* 1 if `path` (which must exist) is the root of `r` or beneath it. */
int	bf_repo_contains(const struct bf_repo *r, const char *path);
/*
 * Records gnupg-home and signing-key in binfarm-repo.conf (replacing
 * any previous values, keeping every other line), atomically, and in
 * `r`.  The lock must be held.
 */
int	bf_repo_set_key(struct bf_repo *r, const char *home, const char *fpr,
	    struct bf_err *e);

void	bf_repo_unlock(struct bf_repo *r);

/* Profile and channel names: [A-Za-z0-9._+-], not starting with '.' or '-'. */
int	bf_repo_name_valid(const char *s);
/* Whether snapshots/<profile> or pool/<profile> exists. */
int	bf_repo_profile_exists(const struct bf_repo *r, const char *profile);

/*
 * The working set of a profile: a Packages-format file whose PATHs are
 * relative to pool/<profile>.  One entry per package slot: adding a
 * package replaces the entry with the same category/name and SLOT.
 */
struct bf_workset {
	struct bf_pkgindex	 idx;
	struct bf_map	 map;	/* "cat/pn:slot" -> entry */
	int			 dirty;
};

int	bf_workset_load(struct bf_repo *r, const char *profile,
	    struct bf_workset *w, struct bf_err *e);
int	bf_workset_save(struct bf_repo *r, const char *profile,
	    struct bf_workset *w, struct bf_err *e);
void	bf_workset_release(struct bf_workset *w);
/*
 * Removes the entries matching `atom`: "cat/pn" (every entry of that
 * package), "cat/pn-ver" or "=cat/pn-ver".  Calls `cb` with each CPV
 * removed; returns how many were, or a negative error.
 */
int	bf_workset_remove(struct bf_workset *w, const char *atom,
	    void (*cb)(void *arg, const char *cpv, const char *build_id),
	    void *arg, struct bf_err *e);

/* "cat/pn:slot" of a package entry, appended to `out`. */
int	bf_pkg_slotkey(const struct bf_pkgindex *idx,
	    const struct bf_pkgindex_entry *ent, struct bf_buf *out);

struct bf_repo_add_opts {
	struct bf_signer	*signer;	/* NULL: unsigned repository */
	struct bf_verifier	*require;	/* incoming packages must be
						   signed by a key of this */
	long long		 mtime;		/* container mtime, < 0: now */
	uint64_t		 max_entries;	/* image entries allowed;
						   0: BF_GPKG_MAX_ENTRIES */
};

struct bf_repo_added {
	char		 path[512];	/* relative to pool/<profile> */
	char		 cpv[256];
	long long	 build_id;
	char		 replaced[256];	/* CPV-BUILD_ID replaced, or "" */
	int		 rewritten;	/* metadata rewritten for BUILD_ID */
};

/*
 * Verifies `file` fully (as binfarm verify), allocates the next
 * BUILD_ID of its CPV in pool/<profile> (max + 1; never overwrites),
 * writes it there with that BUILD_ID and container directory, signed
 * with opts->signer, and stages it in `w`.  The caller holds the lock,
 * and calls bf_repo_sync() then bf_workset_save() after a batch.
 */
int	bf_repo_add(struct bf_repo *r, const char *profile, const char *file,
	    const struct bf_repo_add_opts *opts, struct bf_workset *w,
	    struct bf_repo_added *res, struct bf_err *e);
/* syncfs() of the repository's file system. */
int	bf_repo_sync(struct bf_repo *r, struct bf_err *e);

/* Snapshots. */
struct bf_snapshot_info {
	char		 id[32];
	char		*profile;
	char		*by;
	char		*parent;	/* "" for none */
	char		*tree_commit;	/* "" for none */
	char		*x86_64_level;	/* "" for none */
	char		*message;
	long long	 created;
	long long	 timestamp;	/* TIMESTAMP of its Packages */
	long long	 packages;
};

int	bf_snapshot_id_valid(const char *id);
/* The ids of a profile's snapshots, oldest first; *ids is malloc'd. */
int	bf_snapshot_list(struct bf_repo *r, const char *profile, char ***ids,
	    size_t *n, struct bf_err *e);
void	bf_snapshot_list_free(char **ids, size_t n);
int	bf_snapshot_exists(struct bf_repo *r, const char *profile,
	    const char *id);
int	bf_snapshot_info_load(struct bf_repo *r, const char *profile,
	    const char *id, struct bf_snapshot_info *info, struct bf_err *e);
void	bf_snapshot_info_release(struct bf_snapshot_info *info);
int	bf_snapshot_load_index(struct bf_repo *r, const char *profile,
	    const char *id, struct bf_pkgindex *idx, struct bf_err *e);

struct bf_snapshot_opts {
	const char	*by;
	const char	*tree_commit;	/* NULL: none */
	const char	*tree_repo;	/* REPO_REVISIONS key; NULL: "gentoo" */
	const char	*message;
	const char	*x86_64_level;	/* the hw-profile's; NULL: none */
	/*
	 * More Packages header keys (the build configuration, as
	 * bf_plan_index_header makes them; REPO_REVISIONS here replaces
	 * the one made from tree_commit); NULL: none.
	 */
	const struct bf_conf *header;
	int		 threads;
};

/*
 * Freezes the working set into snapshots/<profile>/<id>: Packages and
 * Packages.gz (TIMESTAMP above the parent's), the SNAPSHOT metadata,
 * and every package as a hard link into pool/ at its PATH.  Built in
 * tmp/ and renamed into place.  The lock must be held.
 */
int	bf_snapshot_create(struct bf_repo *r, const char *profile,
	    const struct bf_snapshot_opts *opts, char id[32], size_t *npkgs,
	    struct bf_err *e);

/* Differences between two indexes, per package slot. */
enum bf_change {
	BF_CHG_ADDED,
	BF_CHG_REMOVED,
	BF_CHG_UPGRADED,
	BF_CHG_DOWNGRADED,	/* a lower version, or an older build */
	BF_CHG_REBUILT,		/* same version, newer build */
	BF_CHG_NKINDS
};

struct bf_diff_item {
	enum bf_change	 kind;
	char		*key;		/* "cat/pn:slot" */
	char		*old_cpv, *new_cpv;	/* NULL when absent */
	long long	 old_build, new_build;
};

struct bf_diff {
	struct bf_diff_item	*v;
	size_t			 n;
	size_t			 count[BF_CHG_NKINDS];
};

#define BF_DIFF_INIT { NULL, 0, { 0, 0, 0, 0, 0 } }

const char *bf_change_name(enum bf_change k);
int	bf_diff_compute(const struct bf_pkgindex *a, const struct bf_pkgindex *b,
	    struct bf_diff *d, struct bf_err *e);
void	bf_diff_release(struct bf_diff *d);

#endif
