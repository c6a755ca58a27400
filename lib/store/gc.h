/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_GC_H
#define BF_GC_H

#include <stddef.h>

#include "store/repo.h"

struct bf_err;

/* gc.c: what a repository no longer needs, deleted. */
struct bf_gc_opts {
	int		 dry_run;
	long long	 grace;		/* seconds */
	long long	 keep;		/* newest snapshots per profile */
	long long	 now;		/* < 0: time(NULL) */
	void		(*report)(void *arg, const char *what, const char *path);
	void		*arg;
};

struct bf_gc_stats {
	size_t		 snapshots_kept;
	size_t		 snapshots_deleted;
	size_t		 files_kept;
	size_t		 files_deleted;
	unsigned long long bytes_deleted;
};

int	bf_repo_gc(struct bf_repo *r, const struct bf_gc_opts *opts,
	    struct bf_gc_stats *st, struct bf_err *e);

#endif
