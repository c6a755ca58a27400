/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_TREE_H
#define BF_TREE_H

#include <stddef.h>

struct bf_buf;
struct bf_err;

/*
 * Pinned ebuild repositories, read with libgit2 (the only user of
 * git2.h).  A repository is mirrored into a local bare git directory;
 * a ref resolves to a commit; metadata/md5-cache entries are read
 * straight from that commit's objects, with no checkout.
 */

#define BF_OID_HEXSZ	40

/* A git object id, raw (SHA-1: 20 bytes used). */
struct bf_oid {
	unsigned char	id[32];
};

/*
 * Fetches `uri` (a git URL or a local path to a repository) into the
 * bare mirror at `mirror` (created when missing): every branch and tag,
 * forced, as `git fetch --prune` into refs/heads/ and refs/tags/ would.
 * Errors: -BF_EGIT with "cannot fetch '<uri>': <reason>".
 */
int	bf_tree_fetch(const char *mirror, const char *uri, struct bf_err *e);

/*
 * Resolves `ref` (branch, tag, full or abbreviated commit id, or any
 * git revision expression) in the mirror to a commit; writes its hex id
 * (41 bytes with the NUL).  An unknown ref is -BF_ENOTFOUND.
 */
int	bf_tree_resolve(const char *mirror, const char *ref,
	    char hex[BF_OID_HEXSZ + 1], struct bf_err *e);

struct bf_tree;

/*
 * Opens commit `hex` of the mirror for reading.  `name` is used in
 * messages.  A commit without metadata/md5-cache is -BF_ENOTFOUND with a
 * message telling how to generate it (egencache).
 */
int	bf_tree_open(struct bf_tree **t, const char *mirror, const char *hex,
	    const char *name, struct bf_err *e);
void	bf_tree_close(struct bf_tree *t);
/* The repository name from profiles/repo_name, or the name given. */
const char *bf_tree_repo_name(const struct bf_tree *t);
const char *bf_tree_commit(const struct bf_tree *t);

/*
 * Calls `cb` for every metadata/md5-cache/<cat>/<pf> entry, in tree
 * order (sorted), without reading the blobs.  A nonzero return from
 * `cb` stops the walk and is returned.
 */
typedef int (*bf_tree_cache_cb)(void *ctx, const char *cat, const char *pf,
    const struct bf_oid *blob, struct bf_err *e);
int	bf_tree_walk_cache(struct bf_tree *t, bf_tree_cache_cb cb, void *ctx,
	    struct bf_err *e);
/* Appends the contents of blob `blob` to `out`. */
int	bf_tree_read_blob(struct bf_tree *t, const struct bf_oid *blob,
	    struct bf_buf *out, struct bf_err *e);
/* 1 if `path` is a directory of the pinned commit, else 0. */
int	bf_tree_is_dir(struct bf_tree *t, const char *path);
/* Appends the file at `path` of the pinned commit; -BF_ENOTFOUND if absent. */
int	bf_tree_read_path(struct bf_tree *t, const char *path,
	    struct bf_buf *out, struct bf_err *e);

/*
 * Writes the directory `path` of the pinned commit (e.g. "eclass" or
 * "dev-libs/foo"; "" for the whole tree) into `dest` (created if missing): files with their
 * executable bit, symlinks as symlinks, subdirectories recursively.
 * Used by binfarm-worker to lay out an ebuild, its files/ and the
 * eclasses without a full checkout.
 */
int	bf_tree_export(struct bf_tree *t, const char *path, const char *dest,
	    struct bf_err *e);

/*
 * Calls `cb` for every entry of the pinned commit, in tree order
 * (sorted, a directory before its contents), with its path relative to
 * the top ("eclass/foo.eclass"), a mode (040755 for a directory,
 * 0100644 or 0100755 for a file, 0120777 for a symlink) and, for a file
 * or symlink, its contents or target (borrowed for the call).
 * Submodules are left out; a name that is unsafe ("..", with a '/') is
 * -BF_EUNSAFE.  A nonzero return from `cb` stops the walk.
 */
typedef int (*bf_tree_file_cb)(void *ctx, const char *path, unsigned mode,
    const void *data, size_t len, struct bf_err *e);
int	bf_tree_walk_files(struct bf_tree *t, bf_tree_file_cb cb, void *ctx,
	    struct bf_err *e);
/* The committer time of the pinned commit (seconds since the epoch). */
long long bf_tree_commit_time(const struct bf_tree *t);

/*
 * Pins: a repository name, the commit it is pinned to, where it came
 * from and the ref that was resolved.  Pin files hold one per line,
 * "NAME COMMIT URI REF" separated by tabs, with # comments.
 */
struct bf_pin {
	char	*name;
	char	*uri;
	char	*ref;
	char	 commit[BF_OID_HEXSZ + 1];	/* "" until resolved */
};

struct bf_pins {
	struct bf_pin	*v;
	size_t		 n;
	size_t		 alloc;
};

#define BF_PINS_INIT { NULL, 0, 0 }

void	bf_pins_release(struct bf_pins *ps);
/*
 * Adds "NAME=URI[@REF]" (REF defaults to HEAD; an '@' followed by a '/'
 * or ':' belongs to the URI, as in git@host:repo).  Returns 0 or
 * -BF_EUSAGE.
 */
int	bf_pins_add_spec(struct bf_pins *ps, const char *spec,
	    struct bf_err *e);
int	bf_pins_add(struct bf_pins *ps, const char *name, const char *uri,
	    const char *ref, const char *commit, struct bf_err *e);
/* Parses a pin file's text; errors name file:line. */
int	bf_pins_parse(struct bf_pins *ps, const char *file, const char *text,
	    size_t len, struct bf_err *e);
/* Appends the pin file text. */
void	bf_pins_format(const struct bf_pins *ps, struct bf_buf *out);
/* The mirror of `name` under `mirrors`: "<mirrors>/<name>.git". */
void	bf_tree_mirror_path(const char *mirrors, const char *name,
	    struct bf_buf *out);
/* Fetches every pin's URI into its mirror and resolves its ref. */
int	bf_pins_resolve(struct bf_pins *ps, const char *mirrors,
	    struct bf_err *e);

/*
 * REPO_REVISIONS as Portage writes it (json.dumps with sorted keys): a
 * JSON object of repository name to commit, appended to `out`.  A name
 * given twice is -EEXIST.
 */
int	bf_repo_revisions(const char *const *names, const char *const *commits,
	    size_t n, struct bf_buf *out);
/*
 * Reads REPO_REVISIONS back (a package's build-info): its repositories
 * and their commits, in the order written, appended to `names` and
 * `commits` (struct bf_strv, base/conf.h); a commit that is not a
 * string reads as "".  -EINVAL when `text` is not a JSON object or
 * names a repository twice; -ENOMEM.
 */
struct bf_strv;
int	bf_repo_revisions_parse(const char *text, struct bf_strv *names,
	    struct bf_strv *commits);

#endif
