/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_DIRCACHE_H
#define BF_DIRCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "base/buf.h"
#include "base/lockfile.h"
#include "base/map.h"

struct bf_err;

/*
 * A cache of directory listings, so that a walk of a large tree need
 * not open and read every directory again (lib/format/pkgdir.c uses it for a
 * PKGDIR).  Each record holds a directory's path, its stamp (device,
 * inode, size, mtime and ctime to the nanosecond) and the names in it
 * the walk cares about: subdirectories ('d') and other names ('f').
 *
 * A record may be used instead of listing the directory only while the
 * directory's current stamp is equal to the recorded one.  Every change
 * to a directory's entries (create, unlink, rename in or out) sets its
 * mtime and ctime; ctime cannot be set back by a user, and a directory
 * replaced by another has a new inode or a new ctime.
 *
 * The one hole is a change within the same timestamp tick as the stamp
 * that was recorded: the listing would then be stale while the stamp is
 * unchanged.  So a listing is recorded only if the directory's mtime and
 * ctime are strictly older than `now`, the filesystem's own clock read
 * (as the mtime of a file it just created) *before* the directory was
 * listed: any later change gets a timestamp >= now, which differs from
 * the recorded one.  This is git's "racy clean" rule.
 *
 * The file ends with a CRC-32 of its contents; a file that is truncated,
 * corrupt or of another version is ignored as a whole.  It is written
 * without fsync: after a crash it is either the old file, the new one,
 * or detected as corrupt, and each is safe to use.
 */

struct bf_dirstamp {
	uint64_t	 dev;
	uint64_t	 ino;
	uint64_t	 size;
	int64_t		 mtime_sec;
	int64_t		 ctime_sec;
	long		 mtime_nsec;
	long		 ctime_nsec;
};

void	bf_dirstamp_from_stat(struct bf_dirstamp *ds, const struct stat *st);
int	bf_dirstamp_equal(const struct bf_dirstamp *a,
	    const struct bf_dirstamp *b);
/* May a listing taken with this stamp be recorded (mtime, ctime < now)? */
int	bf_dirstamp_settled(const struct bf_dirstamp *ds,
	    const struct timespec *now);

struct bf_dircache_dir {
	const char		*path;		/* not NUL-terminated */
	size_t			 plen;
	struct bf_dirstamp	 stamp;
	/* Entry lines "d NAME\n" and "f NAME\n", between kids and kend. */
	const char		*kids;
	const char		*kend;
	/* The whole record, for copying it into a new cache unchanged. */
	const char		*rec;
	const char		*rend;
};

struct bf_dircache {
	char			*data;
	size_t			 len;
	struct bf_dircache_dir	*dirs;
	size_t			 ndirs;
	struct bf_map		 map;	/* path -> dirs[] (borrowed) */
};

#define BF_DIRCACHE_INIT { NULL, 0, NULL, 0, BF_MAP_INIT_BORROW }

/*
 * Loads `name` (relative to dirfd).  Returns 1 if loaded, 0 if it is
 * missing or unusable (then `dc` is empty), -ENOMEM.
 */
int	bf_dircache_load(struct bf_dircache *dc, int dirfd, const char *name);
void	bf_dircache_release(struct bf_dircache *dc);
/* The record of `path` (relative, no trailing '/'), or NULL. */
const struct bf_dircache_dir *bf_dircache_find(const struct bf_dircache *dc,
	    const char *path, size_t len);

/*
 * Appends a record's first line to `out`; then append its entries with
 * bf_dircache_add_entry().  Names and paths must not contain '\n'.
 */
void	bf_dircache_add_dir(struct bf_buf *out, const char *path, size_t len,
	    const struct bf_dirstamp *ds);
void	bf_dircache_add_entry(struct bf_buf *out, int type, const char *name,
	    size_t len);

/*
 * Writing a new cache.  bf_dircache_begin() creates the temporary file
 * and returns in `now` the filesystem's time of its creation; commit
 * writes `body` (the concatenated records) with the header and the
 * checksum and renames it into place; abort removes it.
 */
struct bf_dircache_writer {
	struct bf_lockfile	 lf;
};

#define BF_DIRCACHE_WRITER_INIT { BF_LOCKFILE_INIT }

int	bf_dircache_begin(struct bf_dircache_writer *w, int dirfd,
	    const char *name, struct timespec *now, struct bf_err *e);
int	bf_dircache_commit(struct bf_dircache_writer *w, const struct bf_buf *body,
	    struct bf_err *e);
void	bf_dircache_abort(struct bf_dircache_writer *w);

#endif
