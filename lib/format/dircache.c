/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cached directory listings with a racy-clean guard; see dircache.h.
 *
 * File format (text; names and paths never hold '\n'):
 *
 *	binfarm-dircache 1
 *	D <dev> <ino> <size> <mtime s> <mtime ns> <ctime s> <ctime ns> <path>
 *	d <subdirectory name>
 *	f <other name>
 *	...
 *	end <CRC-32 of everything above, decimal>
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "base/buf.h"
#include "format/dircache.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "base/banned.h"

#define DIRCACHE_MAGIC	"binfarm-dircache 1\n"

void
bf_dirstamp_from_stat(struct bf_dirstamp *ds, const struct stat *st)
{
	ds->dev = (uint64_t)st->st_dev;
	ds->ino = (uint64_t)st->st_ino;
	ds->size = (uint64_t)st->st_size;
	ds->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	ds->mtime_nsec = st->st_mtim.tv_nsec;
	ds->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	ds->ctime_nsec = st->st_ctim.tv_nsec;
}

int
bf_dirstamp_equal(const struct bf_dirstamp *a, const struct bf_dirstamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	    a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec;
}

static int
ts_before(int64_t sec, long nsec, const struct timespec *now)
{
	return sec < (int64_t)now->tv_sec ||
	    (sec == (int64_t)now->tv_sec && nsec < now->tv_nsec);
}

int
bf_dirstamp_settled(const struct bf_dirstamp *ds, const struct timespec *now)
{
	return ts_before(ds->mtime_sec, ds->mtime_nsec, now) &&
	    ts_before(ds->ctime_sec, ds->ctime_nsec, now);
}

static unsigned long
crc32_big(unsigned long crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uInt n;

	while (len > 0) {
		n = len > 0x40000000 ? 0x40000000 : (uInt)len;
		crc = crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

/* ------------------------------------------------------------------ */
/* Reading */

/* An unsigned decimal ended by ' '; advances *p past the space. */
static int
get_u64(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9') {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s++ - '0');
	}
	if (s >= end || *s != ' ')
		return -1;
	*p = s + 1;
	*v = n;
	return 0;
}

static int
get_i64(const char **p, const char *end, int64_t *v)
{
	uint64_t u;
	int neg = 0;

	if (*p < end && **p == '-') {
		neg = 1;
		(*p)++;
	}
	if (get_u64(p, end, &u) < 0 || u > (uint64_t)INT64_MAX)
		return -1;
	*v = neg ? -(int64_t)u : (int64_t)u;
	return 0;
}

static int
parse_dir_line(const char *s, const char *end, struct bf_dircache_dir *d)
{
	uint64_t mns, cns;

	if (end - s < 2 || s[0] != 'D' || s[1] != ' ')
		return -1;
	s += 2;
	if (get_u64(&s, end, &d->stamp.dev) < 0 ||
	    get_u64(&s, end, &d->stamp.ino) < 0 ||
	    get_u64(&s, end, &d->stamp.size) < 0 ||
	    get_i64(&s, end, &d->stamp.mtime_sec) < 0 ||
	    get_u64(&s, end, &mns) < 0 || mns >= 1000000000 ||
	    get_i64(&s, end, &d->stamp.ctime_sec) < 0 ||
	    get_u64(&s, end, &cns) < 0 || cns >= 1000000000 || s >= end)
		return -1;
	d->stamp.mtime_nsec = (long)mns;
	d->stamp.ctime_nsec = (long)cns;
	d->path = s;
	d->plen = (size_t)(end - s);
	return 0;
}

void
bf_dircache_release(struct bf_dircache *dc)
{
	free(dc->data);
	free(dc->dirs);
	bf_map_release(&dc->map);
	*dc = (struct bf_dircache)BF_DIRCACHE_INIT;
}

static int
read_all(int dirfd, const char *name, char **data, size_t *len)
{
	struct stat st;
	ssize_t r;
	char *p = NULL;
	int fd, rc = 0;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 1 ||
	    st.st_size > (off_t)1 << 31)
		goto out;
	if ((p = malloc((size_t)st.st_size)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	r = bf_pread_full(fd, p, (size_t)st.st_size, 0);
	if (r != (ssize_t)st.st_size) {
		free(p);
		p = NULL;
		goto out;
	}
	*data = p;
	*len = (size_t)st.st_size;
	rc = 1;
out:
	close(fd);
	return rc;
}

int
bf_dircache_load(struct bf_dircache *dc, int dirfd, const char *name)
{
	struct bf_dircache_dir *d;
	const char *p, *end, *nl, *tail;
	size_t alloc = 0, i;
	unsigned long crc;
	uint64_t want;
	int rc;

	*dc = (struct bf_dircache)BF_DIRCACHE_INIT;
	if ((rc = read_all(dirfd, name, &dc->data, &dc->len)) <= 0)
		return rc;
	p = dc->data;
	end = dc->data + dc->len;
	/* The header, and the trailer "end CRC\n" on the last line. */
	if (dc->len < sizeof(DIRCACHE_MAGIC) - 1 ||
	    memcmp(p, DIRCACHE_MAGIC, sizeof(DIRCACHE_MAGIC) - 1) != 0 ||
	    end[-1] != '\n')
		goto bad;
	for (tail = end - 1; tail > p && tail[-1] != '\n'; tail--)
		;
	if (end - tail < 6 || memcmp(tail, "end ", 4) != 0)
		goto bad;
	for (want = 0, nl = tail + 4; nl < end - 1; nl++) {
		if (*nl < '0' || *nl > '9' || want > 0xffffffffULL)
			goto bad;
		want = want * 10 + (uint64_t)(*nl - '0');
	}
	crc = crc32_big(0L, dc->data, (size_t)(tail - dc->data));
	if ((uint64_t)crc != want)
		goto bad;

	p += sizeof(DIRCACHE_MAGIC) - 1;
	d = NULL;
	while (p < tail) {
		nl = memchr(p, '\n', (size_t)(tail - p));
		if (nl == NULL)
			goto bad;
		if (*p == 'D') {
			if (d != NULL)
				d->kend = d->rend = p;
			if (bf_grow(&dc->dirs, &alloc, dc->ndirs + 1,
			    sizeof(*dc->dirs), 1024) < 0)
				goto oom;
			d = &dc->dirs[dc->ndirs++];
			if (parse_dir_line(p, nl, d) < 0)
				goto bad;
			d->rec = p;
			d->kids = nl + 1;
		} else if (d == NULL || nl - p < 3 || p[1] != ' ' ||
		    (p[0] != 'd' && p[0] != 'f'))
			goto bad;
		p = nl + 1;
	}
	if (d != NULL)
		d->kend = d->rend = tail;

	if (bf_map_reserve(&dc->map, dc->ndirs) < 0)
		goto oom;
	for (i = 0; i < dc->ndirs; i++) {
		d = &dc->dirs[i];
		if ((rc = bf_map_add_n(&dc->map, d->path, d->plen, i)) < 0)
			goto oom;
		if (rc == 0)
			goto bad;	/* a path twice */
	}
	return 1;
oom:
	bf_dircache_release(dc);
	return -ENOMEM;
bad:
	bf_dircache_release(dc);
	return 0;
}

const struct bf_dircache_dir *
bf_dircache_find(const struct bf_dircache *dc, const char *path, size_t len)
{
	size_t i;

	if (dc == NULL || !bf_map_get_n(&dc->map, path, len, &i))
		return NULL;
	return &dc->dirs[i];
}

/* ------------------------------------------------------------------ */
/* Writing */

void
bf_dircache_add_dir(struct bf_buf *out, const char *path, size_t len,
    const struct bf_dirstamp *ds)
{
	bf_buf_addf(out, "D %llu %llu %llu %lld %ld %lld %ld ",
	    (unsigned long long)ds->dev, (unsigned long long)ds->ino,
	    (unsigned long long)ds->size, (long long)ds->mtime_sec,
	    ds->mtime_nsec, (long long)ds->ctime_sec, ds->ctime_nsec);
	bf_buf_add(out, path, len);
	bf_buf_addch(out, '\n');
}

void
bf_dircache_add_entry(struct bf_buf *out, int type, const char *name,
    size_t len)
{
	if (bf_buf_grow(out, len + 3) < 0)
		return;
	out->buf[out->len] = (char)type;
	out->buf[out->len + 1] = ' ';
	memcpy(out->buf + out->len + 2, name, len);
	out->buf[out->len + 2 + len] = '\n';
	bf_buf_setlen(out, out->len + len + 3);
}

int
bf_dircache_begin(struct bf_dircache_writer *w, int dirfd, const char *name,
    struct timespec *now, struct bf_err *e)
{
	struct stat st;
	int rc;

	if ((rc = bf_lockfile_open(&w->lf, dirfd, name, 0644, e)) < 0)
		return rc;
	if (fstat(w->lf.fd, &st) < 0) {
		rc = bf_err_errno(e, "cannot stat '%s'", w->lf.tmp);
		bf_lockfile_rollback(&w->lf);
		return rc;
	}
	/* The file was created just now: this is the filesystem's clock. */
	*now = st.st_mtim;
	return 0;
}

int
bf_dircache_commit(struct bf_dircache_writer *w, const struct bf_buf *body,
    struct bf_err *e)
{
	struct bf_buf tail = BF_BUF_INIT;
	unsigned long crc;
	int rc;

	crc = crc32(0L, (const unsigned char *)DIRCACHE_MAGIC,
	    sizeof(DIRCACHE_MAGIC) - 1);
	crc = crc32_big(crc, body->buf, body->len);
	bf_buf_addf(&tail, "end %lu\n", crc);
	if ((rc = bf_buf_error(&tail)) < 0 || (rc = bf_buf_error(body)) < 0) {
		rc = bf_err_nomem(e);
		goto fail;
	}
	bf_lockfile_write(&w->lf, DIRCACHE_MAGIC, sizeof(DIRCACHE_MAGIC) - 1);
	bf_lockfile_write(&w->lf, body->buf, body->len);
	if ((rc = bf_lockfile_write(&w->lf, tail.buf, tail.len)) < 0) {
		rc = bf_err_set(e, rc, "cannot write '%s'", w->lf.tmp);
		goto fail;
	}
	/*
	 * No fsync: a cache lost or torn by a crash fails its checksum
	 * and is ignored, and an old one is still right for every stamp.
	 */
	rc = bf_lockfile_commit_flags(&w->lf, -1,
	    BF_LOCKFILE_NO_SYNC | BF_LOCKFILE_NO_DIRSYNC, e);
	bf_buf_release(&tail);
	return rc;
fail:
	bf_buf_release(&tail);
	bf_lockfile_rollback(&w->lf);
	return rc;
}

void
bf_dircache_abort(struct bf_dircache_writer *w)
{
	bf_lockfile_rollback(&w->lf);
}
