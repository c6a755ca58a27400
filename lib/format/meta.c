/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "base/err.h"
#include "format/meta.h"
#include "base/banned.h"

void
bf_meta_init(struct bf_meta *m)
{
	m->v = NULL;
	m->n = 0;
	m->alloc = 0;
}

void
bf_meta_release(struct bf_meta *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].val);
	}
	free(m->v);
	bf_meta_init(m);
}

const struct bf_meta_item *
bf_meta_find(const struct bf_meta *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].key, key) == 0)
			return &m->v[i];
	return NULL;
}

int
bf_meta_set(struct bf_meta *m, const char *key, const void *val, size_t len)
{
	struct bf_meta_item *it = (struct bf_meta_item *)bf_meta_find(m, key);
	char *v;

	if ((v = malloc(len + 1)) == NULL)
		return -ENOMEM;
	if (len)
		memcpy(v, val, len);
	v[len] = '\0';
	if (it != NULL) {
		free(it->val);
		it->val = v;
		it->len = len;
		return 0;
	}
	if (bf_grow(&m->v, &m->alloc, m->n + 1, sizeof(*m->v), 32) < 0) {
		free(v);
		return -ENOMEM;
	}
	if ((m->v[m->n].key = strdup(key)) == NULL) {
		free(v);
		return -ENOMEM;
	}
	m->v[m->n].val = v;
	m->v[m->n].len = len;
	m->n++;
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

int
bf_meta_get(const struct bf_meta *m, const char *key, struct bf_buf *out)
{
	const struct bf_meta_item *it = bf_meta_find(m, key);
	size_t i, start = out->len;

	if (it == NULL)
		return 0;
	for (i = 0; i < it->len; i++) {
		if (is_space(it->val[i]))
			continue;
		if (out->len > start)
			bf_buf_addch(out, ' ');
		while (i < it->len && !is_space(it->val[i]))
			bf_buf_addch(out, it->val[i++]);
	}
	return 1;
}

static int
item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bf_meta_item *)a)->key,
	    ((const struct bf_meta_item *)b)->key);
}

void
bf_meta_sort(struct bf_meta *m)
{
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), item_cmp);
}

static int
read_all(int fd, struct bf_buf *b)
{
	char tmp[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return bf_buf_error(b);
		bf_buf_add(b, tmp, (size_t)n);
	}
}

int
bf_meta_load_dir(struct bf_meta *m, const char *dir, struct bf_err *e)
{
	struct bf_buf val = BF_BUF_INIT;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int dfd = -1, fd = -1, rc = 0;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = bf_err_errno(e, "cannot open build-info directory '%s'", dir);
		goto out;
	}
	if ((d = fdopendir(dfd)) == NULL) {
		rc = bf_err_errno(e, "cannot read '%s'", dir);
		goto out;
	}
	dfd = -1;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		fd = openat(dirfd(d), de->d_name,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			rc = bf_err_errno(e, "cannot open '%s/%s'", dir, de->d_name);
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			rc = bf_err_set(e, BF_EMETADATA,
			    "'%s/%s' is not a regular file", dir, de->d_name);
			goto out;
		}
		bf_buf_reset(&val);
		if ((rc = read_all(fd, &val)) < 0) {
			errno = -rc;
			rc = bf_err_errno(e, "cannot read '%s/%s'", dir, de->d_name);
			goto out;
		}
		close(fd);
		fd = -1;
		if ((rc = bf_meta_set(m, de->d_name, val.buf, val.len)) < 0) {
			rc = bf_err_nomem(e);
			goto out;
		}
	}
	if (errno != 0)
		rc = bf_err_errno(e, "cannot read '%s'", dir);
	bf_meta_sort(m);
out:
	if (fd >= 0)
		close(fd);
	if (d != NULL)
		closedir(d);
	if (dfd >= 0)
		close(dfd);
	bf_buf_release(&val);
	return rc;
}

/* SLOT[/SUBSLOT], PMS 3.1.3 and 7.2. */
static int
slot_value_valid(const char *s, size_t len)
{
	const char *sl = memchr(s, '/', len);

	if (sl == NULL)
		return bf_slot_valid(s, len);
	return bf_slot_valid(s, (size_t)(sl - s)) &&
	    bf_slot_valid(sl + 1, len - (size_t)(sl - s) - 1);
}

int
bf_meta_check_required(const struct bf_meta *m, struct bf_err *e)
{
	static const char *const req[] = { "CATEGORY", "PF", "SLOT" };
	struct bf_buf v[3] = { BF_BUF_INIT, BF_BUF_INIT, BF_BUF_INIT };
	struct bf_cpv cpv = BF_CPV_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		if (!bf_meta_get(m, req[i], &v[i]) || v[i].len == 0) {
			rc = bf_err_set(e, BF_EMETADATA,
			    "missing metadata key %s", req[i]);
			goto out;
		}
		if ((rc = bf_buf_error(&v[i])) < 0) {
			rc = bf_err_nomem(e);
			goto out;
		}
		/* The values name files and directories: NUL or
		 * control bytes, '/' or ".." must never get that far. */
		if (strlen(v[i].buf) != v[i].len) {
			rc = bf_err_set(e, BF_EMETADATA,
			    "invalid %s: contains a NUL byte", req[i]);
			goto out;
		}
	}
	if (!bf_category_valid(v[0].buf, v[0].len)) {
		rc = bf_err_set(e, BF_EMETADATA, "invalid CATEGORY '%s': not a "
		    "category name ([A-Za-z0-9+_.-], not starting with '-', '.' "
		    "or '+')", v[0].buf);
		goto out;
	}
	if (bf_pf_split(&cpv, v[1].buf, NULL) < 0) {
		rc = bf_err_set(e, BF_EMETADATA, "invalid PF '%s': not a package "
		    "name and version", v[1].buf);
		goto out;
	}
	if (!slot_value_valid(v[2].buf, v[2].len)) {
		rc = bf_err_set(e, BF_EMETADATA, "invalid SLOT '%s': not a slot "
		    "name ([A-Za-z0-9+_.-], not starting with '-', '.' or '+') "
		    "with an optional /subslot", v[2].buf);
		goto out;
	}
out:
	bf_cpv_release(&cpv);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		bf_buf_release(&v[i]);
	return rc;
}
