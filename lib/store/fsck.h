/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_FSCK_H
#define BF_FSCK_H

#include <stddef.h>

#include "store/repo.h"

struct bf_err;

/* fsck.c: the repository checked. */
struct bf_fsck_opts {
	int		 no_digests;	/* sizes only */
	struct bf_verifier *verifier;	/* check signatures with it, or NULL */
	void		(*problem)(void *arg, const char *msg);
	void		(*info)(void *arg, const char *msg);
	void		*arg;
};

/* Returns the number of problems found (>= 0) or a negative error. */
int	bf_repo_fsck(struct bf_repo *r, const struct bf_fsck_opts *opts,
	    struct bf_err *e);

#endif
