/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The repository's writer lock and crash recovery (recover.c). */
#ifndef BF_RECOVER_H
#define BF_RECOVER_H

struct bf_err;
struct bf_repo;

/*
 * Takes the writer lock (waiting for it), then cleans what killed
 * writers left: everything in tmp/, temporary names in work/ and
 * channels/, and channel links the history log does not record (a
 * "recover" line is appended for each).  `report` (may be NULL) hears
 * about each repair.
 */
int	bf_repo_lock(struct bf_repo *r,
	    void (*report)(void *arg, const char *msg), void *arg,
	    struct bf_err *e);

#endif
