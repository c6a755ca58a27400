/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_PKGDIR_H
#define BF_PKGDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "format/meta.h"

struct bf_err;
struct bf_pkgindex;
struct bf_pkgindex_entry;

/*
 * A PKGDIR: the binary packages under one directory, indexed as
 * Portage's binarytree._populate_local(reindex=True) followed by
 * `emaint binhost --fix` would index them (lib/portage/dbapi/bintree.py,
 * lib/portage/emaint/modules/binhost/binhost.py).
 *
 * Layouts (shared/formats.md section 3.4):
 *
 *	cat/pn/pf-BUILDID.gpkg.tar	cat/pn/pf-BUILDID.xpak	multi-instance
 *	cat/pf.gpkg.tar			cat/pf.tbz2
 *	All/pf.tbz2 (any format directly under All/)
 *
 * Any other name or place is reported and left out, as are files
 * Portage could not read.
 */

/*
 * The index entry of one package file, as bintree._pkgindex_entry()
 * makes it: the metadata keys Portage caches (BDEPEND BUILD_ID
 * BUILD_TIME CHOST DEFINED_PHASES DEPEND EAPI IDEPEND IUSE KEYWORDS
 * LICENSE PDEPEND PROPERTIES PROVIDES RDEPEND repository REQUIRES
 * RESTRICT SLOT USE), each read as " ".join(value.split()), plus CPV,
 * PATH, SIZE and _mtime_ (MTIME) from the file, and MD5 and SHA1 of its
 * bytes.  BUILD_ID comes from the metadata only, as int(); the file
 * name's build id must agree with PF but is not recorded.
 *
 * `relpath` is the file's path relative to the PKGDIR (which `dirfd`
 * is), as PATH records it.  The entry is added to `idx`.  A package
 * Portage would refuse fails with -BF_E* and a message in `e`.
 */
int	bf_pkgdir_read_entry(int dirfd, const char *relpath,
	    struct bf_pkgindex *idx, struct bf_err *e);

/*
 * The same from metadata already read, for a file of `size` bytes and
 * mtime `mtime` whose digests are `md5` and `sha1` (hex).
 */
int	bf_pkgdir_make_entry(const struct bf_meta *meta, const char *relpath,
	    long long size, long long mtime, const char *md5, const char *sha1,
	    struct bf_pkgindex *idx, struct bf_err *e);

/*
 * The directory cache, PKGDIR/.Packages.dircache (lib/format/dircache.h): with
 * CACHE_READ, a directory whose device, inode, size, mtime and ctime are
 * those recorded is not listed again; its recorded names are used.  The
 * package files among them are still lstat()ed, so the guarantee is
 * Portage's own (any file whose size or mtime changed is read again),
 * and an added, removed or renamed file or directory changes its
 * directory's stamp.  With CACHE_WRITE the cache is brought up to date
 * (a failure to write it is not an error: the next walk lists more).
 */
#define BF_PKGDIR_DIRCACHE	".Packages.dircache"

enum {
	BF_PKGDIR_CACHE_READ = 1 << 0,
	BF_PKGDIR_CACHE_WRITE = 1 << 1,
};

struct bf_pkgdir_opts {
	int		 threads;	/* 0: one per online CPU, at most 8 */
	unsigned	 flags;		/* BF_PKGDIR_CACHE_* */
	/*
	 * Called once per file left out, in path order, from the calling
	 * thread: `path` relative to the PKGDIR and a message saying why.
	 */
	void		(*report)(void *arg, const char *path, const char *msg);
	void		*report_arg;
	/*
	 * If set, called once, on a thread of its own while the directories
	 * are walked, to fill `idx` (with the previous index, say): the walk
	 * does not need `idx`, so the two overlap.  `idx` is not touched
	 * until it returns; a negative return fails the update with it.
	 */
	int		(*load)(void *arg, struct bf_pkgindex *idx,
			    struct bf_err *e);
	void		*load_arg;
};

struct bf_pkgdir_stats {
	size_t		 files;		/* package files found */
	size_t		 reused;	/* entries kept without opening the file */
	size_t		 read;		/* packages opened, read and hashed */
	size_t		 bad;		/* files and directories left out */
	size_t		 dropped;	/* entries whose file is gone or changed */
	size_t		 dirs_listed;	/* directories read (below the top) */
	size_t		 dirs_cached;	/* directories taken from the cache */
	int		 cache_written;	/* the directory cache was replaced */
};

/*
 * Brings the package entries of `idx` in line with the files under
 * `dirfd`.  `idx` holds the previous index (or nothing, or is filled by
 * opts->load); its header is left alone.  An entry whose file (by PATH) still has the recorded
 * SIZE and MTIME and which has CPV, MD5 and SHA1 is kept as it is,
 * without opening the file, as Portage does; other entries are dropped;
 * files without a kept entry are read (on opts->threads threads).
 * Entries end sorted by CPV, then BUILD_ID, then PATH, so the result
 * does not depend on the order of the previous index or of readdir().
 *
 * Bad files are reported through opts->report and counted; they never
 * make this fail.  Returns 0, or a negative error for a failure of the
 * PKGDIR itself (unreadable directory, out of memory).
 */
int	bf_pkgdir_update(int dirfd, struct bf_pkgindex *idx,
	    const struct bf_pkgdir_opts *opts, struct bf_pkgdir_stats *st,
	    struct bf_err *e);

/*
 * What bf_pkgdir_update() does for the named files only, without a walk,
 * as bintree.inject() does for a new package: each of `paths` (relative
 * to `dirfd`, as PATH records it) is read, and its entry replaces any
 * entry with that PATH; the other entries are kept without looking at
 * their files.  Then entries are sorted and duplicate instances dropped
 * as bf_pkgdir_update() does, so when `idx` was current the result is
 * what bf_pkgdir_update() gives.  A file the walk would not index
 * (below a symbolic link, at the top, not a regular file) or that
 * Portage could not read is reported through opts->report and counted
 * in st->bad, and left out; its old entry, if any, stays.  opts->threads,
 * flags and load are not used.  Returns 0, or -ENOMEM.
 */
int	bf_pkgdir_add(int dirfd, struct bf_pkgindex *idx,
	    const char *const *paths, size_t npaths,
	    const struct bf_pkgdir_opts *opts, struct bf_pkgdir_stats *st,
	    struct bf_err *e);

#endif
