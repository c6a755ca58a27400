/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_STRMAP_H
#define BF_STRMAP_H

#include <stddef.h>

/*
 * A string -> size_t map (open addressing), for the repository's
 * per-package lookups.  Keys are copied.
 */
struct bf_strmap {
	char	**key;
	size_t	 *val;
	size_t	  cap;
	size_t	  n;
};

#define BF_STRMAP_INIT { NULL, NULL, 0, 0 }

/* Sets key -> val (replacing).  0 or -ENOMEM. */
int	bf_strmap_put(struct bf_strmap *m, const char *key, size_t val);
/* 1 and *val when found, else 0. */
int	bf_strmap_get(const struct bf_strmap *m, const char *key, size_t *val);
void	bf_strmap_release(struct bf_strmap *m);

#endif
