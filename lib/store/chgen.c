/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The channel generation (chgen.h): a counter on a shared page that
 * every channel move increments, so that the binhost need not look at
 * the channel links on every request to know that none moved.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/chgen.h"
#include "base/banned.h"

#define CHGEN_SIZE	((off_t)sizeof(uint64_t))

/* The counter's file, opened for writing and at least 8 bytes: fd or -1. */
static int
chgen_open_rw(int root_fd)
{
	struct stat st;
	int fd;

	fd = openat(root_fd, BF_CHGEN_PATH, O_RDWR | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd >= 0)
		fchmod(fd, 0644);	/* the binhost may run as another user */
	else if (errno == EEXIST)
		fd = openat(root_fd, BF_CHGEN_PATH, O_RDWR | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* Grown, never shrunk: a shrunk file faults its readers. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_size < CHGEN_SIZE && ftruncate(fd, CHGEN_SIZE) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

int
bf_chgen_bump(int root_fd)
{
	uint64_t *p;
	int fd;

	if ((fd = chgen_open_rw(root_fd)) < 0)
		return -1;
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	__atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
	munmap(p, sizeof(*p));
	return 0;
}

int
bf_chgen_map(int root_fd, struct bf_chgen *g)
{
	struct stat st;
	void *p;
	int fd;

	memset(g, 0, sizeof(*g));
	if ((fd = openat(root_fd, BF_CHGEN_PATH, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < CHGEN_SIZE) {
		close(fd);
		return -1;
	}
	p = mmap(NULL, sizeof(uint64_t), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	g->p = p;
	g->dev = st.st_dev;
	g->ino = st.st_ino;
	return 0;
}

int
bf_chgen_current(int root_fd, const struct bf_chgen *g)
{
	struct stat st;

	return g->p != NULL &&
	    fstatat(root_fd, BF_CHGEN_PATH, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size >= CHGEN_SIZE &&
	    st.st_dev == g->dev && st.st_ino == g->ino;
}

void
bf_chgen_unmap(struct bf_chgen *g)
{
	if (g->p != NULL)
		munmap((void *)(uintptr_t)g->p, sizeof(uint64_t));
	memset(g, 0, sizeof(*g));
}
