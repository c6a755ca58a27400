/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_CHGEN_H
#define BF_CHGEN_H

#include <stdint.h>
#include <sys/types.h>

/* chgen.c */

/*
 * The channel generation: channels/.generation, eight bytes holding a
 * counter that bf_channel_set() increments after every channel link it
 * replaces (after the rename and its fsync).  A reader that maps the
 * file (binfarm-binhost) learns from memory, without a system call,
 * that no channel moved since it last looked at the links.
 *
 * Not data: lost, torn or made again, it only costs a reader a look at
 * the links.  Updated in place, never replaced, so that every mapping
 * sees it; a reader must survive the file being truncated under its
 * mapping (SIGBUS), which no binfarm program does.
 */
#define BF_CHGEN_PATH	"channels/.generation"

struct bf_chgen {
	const volatile uint64_t *p;	/* the shared page, or NULL */
	dev_t		 dev;
	ino_t		 ino;
};

/* Increments the counter under root_fd, creating the file: 0 or -1. */
int	bf_chgen_bump(int root_fd);
/* Maps the counter read-only: 0, or -1 (no file, or not 8 bytes). */
int	bf_chgen_map(int root_fd, struct bf_chgen *g);
/* Is g a mapping of the file now at the path (not removed or replaced)? */
int	bf_chgen_current(int root_fd, const struct bf_chgen *g);
void	bf_chgen_unmap(struct bf_chgen *g);

/* The counter, 0 when unmapped. */
static inline uint64_t
bf_chgen_load(const struct bf_chgen *g)
{
	return g->p != NULL ? __atomic_load_n(g->p, __ATOMIC_ACQUIRE) : 0;
}

#endif
