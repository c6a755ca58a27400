/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_LOCKFILE_H
#define BF_LOCKFILE_H

#include <stddef.h>
#include <sys/types.h>

struct bf_err;

/*
 * Atomic replacement of one file (git's lockfile, apk's fdo).  Data goes
 * to a temporary file created next to the target; bf_lockfile_commit()
 * fsyncs it, renames it over the target and fsyncs the directory, so a
 * reader sees the old file or the new one and a crash at any instant
 * leaves one of them.  Write errors are sticky: the first one is kept,
 * and commit then removes the temporary file instead of renaming it.
 *
 * Temporary names are ".<name>.tmp-XXXXXX" in the target's directory;
 * bf_lockfile_is_temp() recognises leftovers of a killed writer.
 */
struct bf_lockfile {
	int	 dirfd;		/* directory of the target, borrowed */
	int	 fd;		/* -1 when closed */
	int	 err;		/* first error, negative, or 0 */
	char	*name;		/* target name relative to dirfd */
	char	*tmp;		/* temporary name relative to dirfd */
};

#define BF_LOCKFILE_INIT { -1, -1, 0, NULL, NULL }

/* Opens a temporary file for `name` (relative to dirfd, or AT_FDCWD). */
int	bf_lockfile_open(struct bf_lockfile *lf, int dirfd, const char *name,
	    mode_t mode, struct bf_err *e);
/* Appends; on failure the error is remembered and later writes do nothing. */
int	bf_lockfile_write(struct bf_lockfile *lf, const void *p, size_t n);
/* Sets the file's mtime (seconds) before it is renamed; -1 leaves it. */
int	bf_lockfile_commit(struct bf_lockfile *lf, long long mtime,
	    struct bf_err *e);
/*
 * The same with flags: BF_LOCKFILE_NO_SYNC skips the fsync of the file
 * (for files whose readers detect a torn write, such as caches with a
 * checksum), BF_LOCKFILE_NO_DIRSYNC the fsync of the directory after
 * the rename (when the caller renames several files and then calls
 * bf_fsync_dir() once).
 */
enum {
	BF_LOCKFILE_NO_SYNC = 1 << 0,
	BF_LOCKFILE_NO_DIRSYNC = 1 << 1,
};
int	bf_lockfile_commit_flags(struct bf_lockfile *lf, long long mtime,
	    unsigned flags, struct bf_err *e);
/* Removes the temporary file, if any; safe to call after commit. */
void	bf_lockfile_rollback(struct bf_lockfile *lf);

/* Writes all of `n` bytes, retrying on EINTR and short writes. */
int	bf_write_full(int fd, const void *p, size_t n);
/* Reads up to `n` bytes at `off`; returns the count (short only at EOF). */
ssize_t	bf_pread_full(int fd, void *p, size_t n, off_t off);
/* fsync() of the directory that holds `name` (relative to dirfd). */
int	bf_fsync_dir(int dirfd, const char *name, struct bf_err *e);
int	bf_lockfile_is_temp(const char *name);

#endif
