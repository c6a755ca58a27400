/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "base/banned.h"

int
bf_write_full(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
bf_pread_full(int fd, void *p, size_t n, off_t off)
{
	char *c = p;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(fd, c + got, n - got, off + (off_t)got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static void
split_dir(const char *name, struct bf_buf *dir, const char **base)
{
	const char *slash = strrchr(name, '/');

	if (slash == NULL) {
		bf_buf_adds(dir, ".");
		*base = name;
	} else {
		bf_buf_add(dir, name, (size_t)(slash - name));
		if (dir->len == 0)
			bf_buf_adds(dir, "/");
		*base = slash + 1;
	}
}

int
bf_fsync_dir(int dirfd, const char *name, struct bf_err *e)
{
	struct bf_buf dir = BF_BUF_INIT;
	const char *base;
	int fd, rc = 0;

	split_dir(name, &dir, &base);
	fd = openat(dirfd, dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = bf_err_errno(e, "cannot sync directory '%s'", dir.buf);
	if (fd >= 0)
		close(fd);
	bf_buf_release(&dir);
	return rc;
}

int
bf_lockfile_is_temp(const char *name)
{
	const char *p;

	if (name[0] != '.')
		return 0;
	p = strstr(name, ".tmp-");
	return p != NULL && strlen(p) == 11;
}

int
bf_lockfile_open(struct bf_lockfile *lf, int dirfd, const char *name,
    mode_t mode, struct bf_err *e)
{
	static const char chars[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	struct bf_buf tmp = BF_BUF_INIT, dir = BF_BUF_INIT;
	struct timespec ts;
	unsigned long long r;
	const char *base;
	int tries, i;

	lf->dirfd = dirfd;
	lf->fd = -1;
	lf->err = 0;
	lf->tmp = NULL;
	if ((lf->name = strdup(name)) == NULL)
		return bf_err_errno(e, "cannot open '%s'", name);
	split_dir(name, &dir, &base);
	for (tries = 0; tries < 100; tries++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		r = (unsigned long long)ts.tv_nsec * 2654435761ULL ^
		    (unsigned long long)getpid() << 16 ^ (unsigned long long)tries;
		bf_buf_reset(&tmp);
		if (strchr(name, '/') != NULL)
			bf_buf_addf(&tmp, "%s/", dir.buf);
		bf_buf_addf(&tmp, ".%s.tmp-", base);
		for (i = 0; i < 6; i++, r /= 62)
			bf_buf_addch(&tmp, chars[r % 62]);
		if (bf_buf_error(&tmp) < 0)
			break;
		lf->fd = openat(dirfd, tmp.buf,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (lf->fd >= 0 || errno != EEXIST)
			break;
	}
	bf_buf_release(&dir);
	if (lf->fd < 0) {
		int rc = bf_err_errno(e, "cannot create temporary file for '%s'",
		    name);
		bf_buf_release(&tmp);
		free(lf->name);
		lf->name = NULL;
		return rc;
	}
	/* The umask may have narrowed the mode; readers need what we asked. */
	(void)fchmod(lf->fd, mode);
	lf->tmp = bf_buf_detach(&tmp, NULL);
	return 0;
}

int
bf_lockfile_write(struct bf_lockfile *lf, const void *p, size_t n)
{
	int rc;

	if (lf->err)
		return lf->err;
	if (lf->fd < 0)
		return lf->err = -EBADF;
	if ((rc = bf_write_full(lf->fd, p, n)) < 0)
		lf->err = rc;
	return rc;
}

int
bf_lockfile_commit(struct bf_lockfile *lf, long long mtime, struct bf_err *e)
{
	return bf_lockfile_commit_flags(lf, mtime, 0, e);
}

int
bf_lockfile_commit_flags(struct bf_lockfile *lf, long long mtime,
    unsigned flags, struct bf_err *e)
{
	struct timespec ts[2];
	int rc = 0;

	if (lf->err) {
		errno = -lf->err;
		rc = bf_err_errno(e, "cannot write '%s'", lf->name);
		goto fail;
	}
	if (mtime >= 0) {
		ts[0].tv_sec = ts[1].tv_sec = (time_t)mtime;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		if (futimens(lf->fd, ts) < 0) {
			rc = bf_err_errno(e, "cannot set time of '%s'", lf->name);
			goto fail;
		}
	}
	if (!(flags & BF_LOCKFILE_NO_SYNC) && fsync(lf->fd) < 0) {
		rc = bf_err_errno(e, "cannot sync '%s'", lf->name);
		goto fail;
	}
	if (close(lf->fd) < 0) {
		lf->fd = -1;
		rc = bf_err_errno(e, "cannot close '%s'", lf->name);
		goto fail;
	}
	lf->fd = -1;
	if (renameat(lf->dirfd, lf->tmp, lf->dirfd, lf->name) < 0) {
		rc = bf_err_errno(e, "cannot rename into '%s'", lf->name);
		goto fail;
	}
	free(lf->tmp);
	lf->tmp = NULL;
	if (!(flags & BF_LOCKFILE_NO_DIRSYNC))
		rc = bf_fsync_dir(lf->dirfd, lf->name, e);
	free(lf->name);
	lf->name = NULL;
	return rc;
fail:
	bf_lockfile_rollback(lf);
	return rc;
}

void
bf_lockfile_rollback(struct bf_lockfile *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
	if (lf->tmp != NULL)
		(void)unlinkat(lf->dirfd, lf->tmp, 0);
	free(lf->tmp);
	free(lf->name);
	lf->tmp = NULL;
	lf->name = NULL;
}
