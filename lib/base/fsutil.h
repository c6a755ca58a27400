/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_FSUTIL_H
#define BF_FSUTIL_H

#include <sys/types.h>

struct bf_err;

/*
 * Small file-system helpers for the repository code.  Every path is
 * relative to a directory file descriptor (or AT_FDCWD).
 */

/* Removes `name` and, if it is a directory, everything under it. */
int	bf_rmtree(int dirfd, const char *name, struct bf_err *e);
/*
 * Creates directory `path` and its missing parents with `mode`.  Sets
 * *created (may be NULL) when at least one directory was made.
 */
int	bf_mkdirs(int dirfd, const char *path, mode_t mode, int *created,
	    struct bf_err *e);
/* fsync() of the directory `path` itself. */
int	bf_fsync_path(int dirfd, const char *path, struct bf_err *e);
/* Reads a whole (small or large) file into a malloc'd, NUL-terminated buffer. */
int	bf_read_file(int dirfd, const char *path, char **data, size_t *len,
	    struct bf_err *e);
/* Is `s` a safe single path component: [A-Za-z0-9._+-], not starting with '.' or '-'? */
int	bf_name_valid(const char *s);
/*
 * The names in directory `path` (not "." and ".."), in directory order,
 * malloc'd; none when it does not exist.  Symbolic links are not
 * followed to it.  0 or -errno.
 */
int	bf_list_dir(int dirfd, const char *path, char ***names, size_t *n);
/* Frees `n` strings of `v` and `v`. */
void	bf_names_free(char **v, size_t n);

#endif
