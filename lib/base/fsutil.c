/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/banned.h"

static int
rmtree_at(int pfd, const char *name, int depth, struct bf_err *e)
{
	struct dirent *de;
	DIR *d = NULL;
	int fd, rc = 0;

	if (unlinkat(pfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return bf_err_errno(e, "cannot remove '%s'", name);
	if (depth > 64)
		return bf_err_set(e, BF_EUNSAFE, "'%s' is nested too deeply", name);
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bf_err_errno(e, "cannot open '%s'", name);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return bf_err_errno(e, "cannot read '%s'", name);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((rc = rmtree_at(dirfd(d), de->d_name, depth + 1, e)) < 0)
			break;
	}
	closedir(d);
	if (rc == 0 && unlinkat(pfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = bf_err_errno(e, "cannot remove '%s'", name);
	return rc;
}

int
bf_rmtree(int dirfd, const char *name, struct bf_err *e)
{
	return rmtree_at(dirfd, name, 0, e);
}

int
bf_mkdirs(int dirfd, const char *path, mode_t mode, int *created,
    struct bf_err *e)
{
	struct bf_buf b = BF_BUF_INIT;
	size_t i;
	int rc = 0;

	bf_buf_adds(&b, path);
	if ((rc = bf_buf_error(&b)) < 0)
		return bf_err_nomem(e);
	for (i = 1; i <= b.len; i++) {
		if (b.buf[i] != '/' && b.buf[i] != '\0')
			continue;
		b.buf[i] = '\0';
		if (mkdirat(dirfd, b.buf, mode) == 0) {
			if (created != NULL)
				*created = 1;
		} else if (errno != EEXIST) {
			rc = bf_err_errno(e, "cannot create directory '%s'", b.buf);
			break;
		}
		if (i < b.len)
			b.buf[i] = '/';
	}
	bf_buf_release(&b);
	return rc;
}

int
bf_fsync_path(int dirfd, const char *path, struct bf_err *e)
{
	int fd, rc = 0;

	fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return bf_err_errno(e, "cannot open '%s'", path);
	if (fsync(fd) < 0)
		rc = bf_err_errno(e, "cannot fsync '%s'", path);
	close(fd);
	return rc;
}

int
bf_read_file(int dirfd, const char *path, char **data, size_t *len,
    struct bf_err *e)
{
	struct stat st;
	char *p = NULL;
	ssize_t r;
	size_t got = 0, cap;
	int fd, rc = 0;

	*data = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO must not block the open before we refuse it. */
	if ((fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return bf_err_errno(e, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		rc = bf_err_errno(e, "cannot stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = bf_err_set(e, BF_EFORMAT, "'%s' is not a regular file", path);
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	if ((p = malloc(cap)) == NULL) {
		rc = bf_err_nomem(e);
		goto out;
	}
	for (;;) {
		if (bf_grow(&p, &cap, got + 2, 1, 0) < 0) {
			rc = bf_err_nomem(e);
			goto out;
		}
		r = read(fd, p + got, cap - got - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = bf_err_errno(e, "cannot read '%s'", path);
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	p[got] = '\0';
	*data = p;
	*len = got;
	p = NULL;
out:
	free(p);
	close(fd);
	return rc;
}

int
bf_name_valid(const char *s)
{
	const char *c;

	if (*s == '\0' || *s == '.' || *s == '-' || strlen(s) > 128)
		return 0;
	for (c = s; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
		    *c == '+' || *c == '-'))
			return 0;
	}
	return 1;
}

void
bf_names_free(char **v, size_t n)
{
	while (n-- > 0)
		free(v[n]);
	free(v);
}

int
bf_list_dir(int dirfd, const char *path, char ***namesp, size_t *np)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, alloc = 0;
	DIR *d;
	int fd;

	*namesp = NULL;
	*np = 0;
	if ((fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (bf_grow(&v, &alloc, n + 1, sizeof(*v), 32) < 0)
			goto oom;
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto oom;
		n++;
	}
	closedir(d);
	*namesp = v;
	*np = n;
	return 0;
oom:
	closedir(d);
	bf_names_free(v, n);
	return -ENOMEM;
}
