/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_META_H
#define BF_META_H

#include <stddef.h>

struct bf_buf;
struct bf_err;

/*
 * Package metadata: the files of Portage's build-info directory, one
 * KEY -> raw value (bytes, usually ending in "\n") each, as stored in a
 * gpkg's metadata.tar or an xpak blob.
 */
struct bf_meta_item {
	char	*key;
	char	*val;		/* NUL-terminated; may also hold NUL bytes */
	size_t	 len;
};

struct bf_meta {
	struct bf_meta_item	*v;
	size_t			 n;
	size_t			 alloc;
};

#define BF_META_INIT { NULL, 0, 0 }

void	bf_meta_init(struct bf_meta *m);
void	bf_meta_release(struct bf_meta *m);
/* Adds or replaces `key`.  The value is copied. */
int	bf_meta_set(struct bf_meta *m, const char *key, const void *val,
	    size_t len);
/* The raw value of `key` (borrowed), or NULL. */
const struct bf_meta_item *bf_meta_find(const struct bf_meta *m,
	    const char *key);
/*
 * The value as Portage reads it: " ".join(value.split()), so white
 * space and newlines collapse.  Appends to `out`; returns 1 if the key
 * exists, 0 if not.
 */
int	bf_meta_get(const struct bf_meta *m, const char *key, struct bf_buf *out);
/* Sorts by key (strcmp), for reproducible output. */
void	bf_meta_sort(struct bf_meta *m);
/*
 * Loads every regular file of `dir` (a build-info directory).  Names
 * must be safe file names (no '/', not "." or ".."); subdirectories are
 * an error.
 */
int	bf_meta_load_dir(struct bf_meta *m, const char *dir, struct bf_err *e);
/*
 * Checks that CATEGORY, PF and SLOT are present and valid as PMS 3.1
 * defines them: a category name, a package name and version, and a slot
 * with an optional /subslot.  Nothing else may reach a path.
 */
int	bf_meta_check_required(const struct bf_meta *m, struct bf_err *e);

#endif
