/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The repository's writer lock and crash recovery: taking the lock
 * first cleans what a killed writer left (scratch files, temporaries,
 * channel moves the history does not record).  It sits above both
 * repo.c and promote.c, so neither needs the other.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lockfile.h"
#include "store/promote.h"
#include "store/recover.h"
#include "store/repo.h"
#include "base/banned.h"

static void
say(void (*report)(void *, const char *), void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(void (*report)(void *, const char *), void *arg, const char *fmt, ...)
{
	struct bf_buf b = BF_BUF_INIT;
	va_list ap;

	if (report == NULL)
		return;
	va_start(ap, fmt);
	bf_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	report(arg, b.buf);
	bf_buf_release(&b);
}

/* Removes lockfile temporaries in every <top>/<name>/ directory. */
static int
clean_temps(struct bf_repo *r, const char *top,
    void (*report)(void *, const char *), void *arg, struct bf_err *e)
{
	struct dirent *de, *de2;
	DIR *d = NULL, *d2;
	int fd, fd2, rc = 0;

	if ((fd = openat(r->root_fd, top, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : bf_err_errno(e, "cannot open '%s'", top);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return bf_err_errno(e, "cannot read '%s'", top);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fd2 = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fd2 < 0)
			continue;
		if ((d2 = fdopendir(fd2)) == NULL) {
			close(fd2);
			continue;
		}
		while ((de2 = readdir(d2)) != NULL) {
			if (!bf_lockfile_is_temp(de2->d_name))
				continue;
			if (unlinkat(dirfd(d2), de2->d_name, 0) < 0 && errno != ENOENT) {
				rc = bf_err_errno(e, "cannot remove '%s/%s/%s'", top,
				    de->d_name, de2->d_name);
				break;
			}
			say(report, arg, "removed leftover temporary file '%s/%s/%s'",
			    top, de->d_name, de2->d_name);
		}
		closedir(d2);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

static int
recover(struct bf_repo *r, void (*report)(void *, const char *), void *arg,
    struct bf_err *e)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (mkdirat(r->root_fd, "tmp", 0755) < 0 && errno != EEXIST)
		return bf_err_errno(e, "cannot create 'tmp'");
	if ((fd = openat(r->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return bf_err_errno(e, "cannot open 'tmp'");
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return bf_err_errno(e, "cannot read 'tmp'");
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((rc = bf_rmtree(dirfd(d), de->d_name, e)) < 0)
			break;
		say(report, arg, "removed leftover 'tmp/%s'", de->d_name);
	}
	closedir(d);
	if (rc < 0)
		return rc;
	if ((rc = clean_temps(r, "work", report, arg, e)) < 0 ||
	    (rc = clean_temps(r, "channels", report, arg, e)) < 0)
		return rc;
	return bf_history_reconcile(r, report, arg, e);
}

int
bf_repo_lock(struct bf_repo *r, void (*report)(void *, const char *),
    void *arg, struct bf_err *e)
{
	int rc;

	if (r->lock_fd >= 0)
		return 0;
	r->lock_fd = openat(r->root_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (r->lock_fd < 0)
		return bf_err_errno(e, "cannot open '%s/.lock'", r->root);
	while (flock(r->lock_fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		rc = bf_err_errno(e, "cannot lock '%s'", r->root);
		bf_repo_unlock(r);
		return rc;
	}
	if ((rc = recover(r, report, arg, e)) < 0)
		bf_repo_unlock(r);
	return rc;
}
