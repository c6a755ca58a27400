/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_REINDEX_H
#define BF_REINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "format/pkgindex.h"

struct bf_buf;
struct bf_err;

/*
 * Re-indexing policy (reindex.c): when a PKGDIR's Packages is written
 * again, and with which TIMESTAMP.  Portage's clients cache the index by
 * its TIMESTAMP and Last-Modified, so:
 *
 *  - an index whose packages did not change is not rewritten (the same
 *    stanzas behind the old TIMESTAMP give the old text byte for byte),
 *    unless Packages.gz is missing or out of step with it;
 *  - a rewritten index's TIMESTAMP (and both files' mtime) only goes
 *    forward: `now`, or the old one plus one second;
 *  - PACKAGES counts the entries.
 */
struct bf_reindex {
	/* in */
	long long	 now;		/* TIMESTAMP for a new index */
	unsigned	 flags;		/* BF_PKGINDEX_GZ_PORTAGE, _NO_GZ */
	int		 threads;	/* compression threads; 0: CPUs, up to 8 */
	/* The previous Packages: its text, NULL if none or unreadable. */
	const char	*old_text;
	size_t		 old_len;
	long long	 old_ts;	/* its TIMESTAMP; -1: none */
	time_t		 old_mtime;	/* the file's mtime */
	int		 old_altered;	/* old_text had stanzas left out */
	int		 old_crc_known;	/* read in part: its CRC-32 is known */
	uint32_t	 old_crc;
	/* out */
	int		 unchanged;	/* nothing was written */
	long long	 ts;		/* the TIMESTAMP written (or kept) */
	struct bf_pkgindex_write_stats ws;
};

/* The TIMESTAMP key of `idx`'s header, or -1. */
long long bf_pkgindex_timestamp(const struct bf_pkgindex *idx);
/* Sets TIMESTAMP to `ts` and PACKAGES to the number of entries. */
int	bf_pkgindex_set_counts(struct bf_pkgindex *idx, long long ts);

/*
 * Formats `idx` into `text` behind the old TIMESTAMP (or `now`) and
 * tells whether it is the old text; then, unless it is and Packages.gz
 * is in step, writes Packages and Packages.gz atomically in `dirfd`
 * with a TIMESTAMP that only goes forward.  r->unchanged and r->ts say
 * what happened.  With `check_only`, formats and compares only.
 */
int	bf_reindex(int dirfd, struct bf_pkgindex *idx, struct bf_reindex *r,
	    int check_only, struct bf_buf *text, struct bf_err *e);

#endif
