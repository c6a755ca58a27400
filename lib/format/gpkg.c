/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GLEP 78 binary packages, written and read the way Portage's
 * lib/portage/gpkg.py does.
 *
 * Writing: the outer container is a plain ustar tar that we write
 * ourselves, because, like Portage's tar_stream_writer, we stream the
 * compressed image straight into it and rewrite the member header once
 * its size is known; one pass, no temporary file.  The inner tars come
 * from libarchive and go through libzstd (zst.c) on the way out.
 *
 * Reading: libarchive walks the container; metadata.tar.* and
 * image.tar.* are read by a second libarchive reader whose input is the
 * outer member's data, hashed on the way through, so a full verification
 * reads the file once.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/buf.h"
#include "base/digest.h"
#include "base/err.h"
#include "format/gpkg.h"
#include "base/map.h"
#include "base/lockfile.h"
#include "format/manifest.h"
#include "format/meta.h"
#include "base/zst.h"
#include "base/banned.h"

#define TAR_BLOCK	512
#define TAR_RECORD	10240	/* Python tarfile's RECORDSIZE */
#define USTAR_MAXSIZE	077777777777ULL
#define META_MAX	(64u << 20)	/* metadata.tar uncompressed limit */
#define MANIFEST_MAX	(1u << 20)
/*
 * A gpkg has gpkg-1, metadata, image, Manifest and a few .sig members;
 * Portage's metadata has well under 100 keys.  Far above both, these
 * stop a hostile container from making us hold millions of names.
 */
#define MEMBERS_MAX	64
#define META_ENTRIES_MAX 4096
#define IO_CHUNK	(1u << 20)

static int
err_archive(struct bf_err *e, struct archive *a, const char *what)
{
	const char *s = archive_error_string(a);

	return bf_err_set(e, BF_EARCHIVE, "%s: %s", what,
	    s != NULL ? s : "unknown libarchive error");
}

/* ------------------------------------------------------------------ */
/* Outer container: ustar headers as Python's tarfile writes them.     */

struct outer {
	int		 fd;
	int		 gnu;		/* GNU format (long basename) */
	long long	 mtime;
	const char	*base;
	off_t		 start;		/* file offset of the container */
	off_t		 pos;		/* bytes written so far */
	struct bf_buf	 manifest;
};

static void
put_octal(unsigned char *f, size_t width, uint64_t v)
{
	char tmp[32];

	/* width-1 zero-padded digits and a NUL, as tarfile's itn(). */
	snprintf(tmp, sizeof(tmp), "%0*" PRIo64, (int)(width - 1), v);
	memcpy(f, tmp, width - 1);
	f[width - 1] = '\0';
}

static void
put_base256(unsigned char *f, size_t width, uint64_t v)
{
	size_t i;

	for (i = width; i-- > 1; v >>= 8)
		f[i] = (unsigned char)(v & 0xff);
	f[0] = 0x80;
}

static void
put_checksum(unsigned char *h)
{
	unsigned sum = 0;
	char tmp[16];
	int i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	snprintf(tmp, sizeof(tmp), "%06o", sum & 0777777);
	memcpy(h + 148, tmp, 6);
	h[154] = '\0';
	h[155] = ' ';
}

/*
 * Fills a header for a regular file `name`.  Returns 1 if the name needs
 * a GNU long-name record (GNU format only), 0 if it fits, -1 if ustar
 * cannot hold it.
 */
static int
fill_header(unsigned char *h, const char *name, uint64_t size,
    long long mtime, char type, int gnu)
{
	size_t len = strlen(name), split;
	int longname = 0;

	memset(h, 0, TAR_BLOCK);
	if (len <= 100) {
		memcpy(h, name, len);
	} else if (!gnu) {
		/* Split at a '/' so that prefix <= 155 and name <= 100. */
		for (split = len - 1; split > 0; split--)
			if (name[split] == '/' && split <= 155 && len - split - 1 <= 100)
				break;
		if (split == 0 || len - split - 1 == 0)
			return -1;
		memcpy(h, name + split + 1, len - split - 1);
		memcpy(h + 345, name, split);
	} else {
		memcpy(h, name, 100);
		longname = 1;
	}
	put_octal(h + 100, 8, type == 'L' ? 0 : 0644);
	put_octal(h + 108, 8, 0);
	put_octal(h + 116, 8, 0);
	if (size > USTAR_MAXSIZE)
		put_base256(h + 124, 12, size);
	else
		put_octal(h + 124, 12, size);
	put_octal(h + 136, 12, (uint64_t)mtime);
	h[156] = (unsigned char)type;
	if (gnu || size > USTAR_MAXSIZE)
		memcpy(h + 257, "ustar  ", 8);
	else
		memcpy(h + 257, "ustar\0" "00", 8);
	put_checksum(h);
	return longname;
}

static int
outer_write(struct outer *o, const void *p, size_t n, struct bf_err *e)
{
	int rc;

	if ((rc = bf_write_full(o->fd, p, n)) < 0) {
		errno = -rc;
		return bf_err_errno(e, "cannot write package");
	}
	o->pos += (off_t)n;
	return 0;
}

static int
outer_pad(struct outer *o, size_t unit, struct bf_err *e)
{
	static const unsigned char zero[TAR_RECORD];
	size_t rem = (size_t)(o->pos % (off_t)unit);

	return rem ? outer_write(o, zero, unit - rem, e) : 0;
}

/*
 * Writes the header(s) for member `name` and returns in *hdr_off the
 * offset of the header to patch when the size is known.
 */
static int
outer_header(struct outer *o, const char *member, uint64_t size,
    off_t *hdr_off, struct bf_err *e)
{
	unsigned char h[TAR_BLOCK];
	struct bf_buf name = BF_BUF_INIT;
	int rc, r;

	bf_buf_addf(&name, "%s/%s", o->base, member);
	if ((rc = bf_buf_error(&name)) < 0)
		goto out;
	r = fill_header(h, name.buf, size, o->mtime, '0', o->gnu);
	if (r < 0) {
		rc = bf_err_set(e, BF_EUSAGE, "package name '%s' is too long",
		    o->base);
		goto out;
	}
	if (r == 1) {
		unsigned char lh[TAR_BLOCK];

		fill_header(lh, "././@LongLink", name.len + 1, 0, 'L', 1);
		if ((rc = outer_write(o, lh, TAR_BLOCK, e)) < 0 ||
		    (rc = outer_write(o, name.buf, name.len + 1, e)) < 0 ||
		    (rc = outer_pad(o, TAR_BLOCK, e)) < 0)
			goto out;
	}
	*hdr_off = o->pos;
	rc = outer_write(o, h, TAR_BLOCK, e);
out:
	bf_buf_release(&name);
	return rc;
}

static int
outer_patch_size(struct outer *o, const char *member, off_t hdr_off,
    uint64_t size, struct bf_err *e)
{
	unsigned char h[TAR_BLOCK];
	struct bf_buf name = BF_BUF_INIT;
	int rc = 0;

	bf_buf_addf(&name, "%s/%s", o->base, member);
	fill_header(h, name.buf, size, o->mtime, '0', o->gnu);
	bf_buf_release(&name);
	if (pwrite(o->fd, h, TAR_BLOCK, o->start + hdr_off) != TAR_BLOCK)
		rc = bf_err_errno(e, "cannot write package header");
	return rc;
}

/* Adds a member from memory, records it in the Manifest. */
static int
outer_add_mem(struct outer *o, const char *member, const void *p, size_t n,
    struct bf_err *e)
{
	struct bf_digest d;
	off_t off;
	int rc;

	if ((rc = outer_header(o, member, n, &off, e)) < 0 ||
	    (rc = outer_write(o, p, n, e)) < 0 ||
	    (rc = outer_pad(o, TAR_BLOCK, e)) < 0)
		return rc;
	if ((rc = bf_digest_mem(&d, BF_DIGEST_MANIFEST, p, n, e)) < 0)
		return rc;
	bf_manifest_add_line(&o->manifest, member, n, &d);
	return 0;
}

/* The Manifest member itself is not listed in the Manifest. */
static int
outer_write_manifest(struct outer *o, struct bf_err *e)
{
	off_t off;
	int rc;

	if ((rc = outer_header(o, "Manifest", o->manifest.len, &off, e)) < 0 ||
	    (rc = outer_write(o, o->manifest.buf, o->manifest.len, e)) < 0)
		return rc;
	return outer_pad(o, TAR_BLOCK, e);
}

/* ------------------------------------------------------------------ */
/* The image: a sorted walk of ${D} into a libarchive pax writer.      */

struct idname {
	unsigned long	 id;
	char		*name;
};

struct idcache {
	struct idname	*v;
	size_t		 n, alloc;
};

struct linkent {
	dev_t		 dev;
	ino_t		 ino;
	char		*path;
};

struct packer {
	const struct bf_gpkg_pack_opts *opts;
	struct archive		*a;
	struct bf_zst_writer	*zw;
	struct bf_err		*e;
	struct bf_err		 werr;	/* error inside the write callback */
	struct bf_buf		 src;	/* filesystem path */
	struct bf_buf		 dst;	/* path in the tar */
	struct idcache		 users, groups;
	struct linkent		*links;
	size_t			 nlinks, alinks;
	uint64_t		 files;
	uint64_t		 in_bytes;
	uint64_t		 last_progress;
};

static la_ssize_t
image_write_cb(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct packer *p = arg;
	int rc;

	if ((rc = bf_zst_writer_write(p->zw, buf, n, &p->werr)) < 0) {
		archive_set_error(a, -rc, "%s", bf_err_msg(&p->werr, rc));
		return -1;
	}
	p->in_bytes += n;
	if (p->opts->progress != NULL && p->in_bytes - p->last_progress >= (64u << 20)) {
		p->last_progress = p->in_bytes;
		p->opts->progress(p->opts->progress_arg, p->in_bytes);
	}
	return (la_ssize_t)n;
}

static const char *
id_name(struct idcache *c, unsigned long id, int group)
{
	char buf[4096], *name = NULL;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].id == id)
			return c->v[i].name;
	if (group) {
		struct group gr, *res = NULL;

		if (getgrgid_r((gid_t)id, &gr, buf, sizeof(buf), &res) == 0 && res)
			name = strdup(res->gr_name);
	} else {
		struct passwd pw, *res = NULL;

		if (getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &res) == 0 && res)
			name = strdup(res->pw_name);
	}
	if (bf_grow(&c->v, &c->alloc, c->n + 1, sizeof(*c->v), 4) < 0) {
		free(name);
		return NULL;
	}
	c->v[c->n].id = id;
	c->v[c->n].name = name;
	c->n++;
	return name;
}

/*
 * Extended attributes kept in the image: security.* (file capabilities)
 * and user.pax.* (PaX markings), minus the ones Portage's default
 * PORTAGE_XATTR_EXCLUDE drops because they describe the build host.
 */
static int
keep_xattr(const char *name)
{
	if (strcmp(name, "security.selinux") == 0 ||
	    strcmp(name, "security.ima") == 0 ||
	    strcmp(name, "security.evm") == 0)
		return 0;
	return strncmp(name, "security.", 9) == 0 ||
	    strncmp(name, "user.pax.", 9) == 0;
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
add_xattrs(struct packer *p, struct archive_entry *ent)
{
	char *list = NULL, **names = NULL, *val = NULL;
	ssize_t len, vlen;
	size_t n = 0, i;
	char *s;
	int rc = 0;

	len = llistxattr(p->src.buf, NULL, 0);
	if (len <= 0) {
		if (len < 0 && errno != ENOTSUP && errno != ENOSYS)
			rc = bf_err_errno(p->e, "cannot list attributes of '%s'",
			    p->src.buf);
		return rc;
	}
	if ((list = malloc((size_t)len)) == NULL ||
	    (len = llistxattr(p->src.buf, list, (size_t)len)) < 0) {
		rc = bf_err_errno(p->e, "cannot list attributes of '%s'", p->src.buf);
		goto out;
	}
	if ((names = calloc((size_t)len, sizeof(*names))) == NULL) {
		rc = bf_err_nomem(p->e);
		goto out;
	}
	for (s = list; s < list + len; s += strlen(s) + 1)
		if (keep_xattr(s))
			names[n++] = s;
	qsort(names, n, sizeof(*names), strp_cmp);	/* reproducible order */
	for (i = 0; i < n; i++) {
		vlen = lgetxattr(p->src.buf, names[i], NULL, 0);
		if (vlen < 0 || (val = malloc((size_t)vlen + 1)) == NULL ||
		    (vlen = lgetxattr(p->src.buf, names[i], val, (size_t)vlen)) < 0) {
			rc = bf_err_errno(p->e, "cannot read attribute %s of '%s'",
			    names[i], p->src.buf);
			goto out;
		}
		archive_entry_xattr_add_entry(ent, names[i], val, (size_t)vlen);
		free(val);
		val = NULL;
	}
out:
	free(val);
	free(names);
	free(list);
	return rc;
}

static int
copy_file_data(struct packer *p, const struct stat *st)
{
	void *buf;
	size_t room;
	uint64_t total = 0;
	ssize_t n;
	int fd, rc = 0;

	fd = open(p->src.buf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bf_err_errno(p->e, "cannot open '%s'", p->src.buf);
#ifdef HAVE_POSIX_FADVISE
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	for (;;) {
		/*
		 * Read straight into zstd's input buffer: libarchive hands
		 * file data to image_write_cb() as it is (no blocking), and
		 * the writer sees the bytes are already in place.
		 */
		if ((rc = bf_zst_writer_space(p->zw, &buf, &room, p->e)) < 0)
			goto out;
		n = read(fd, buf, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = bf_err_errno(p->e, "cannot read '%s'", p->src.buf);
			goto out;
		}
		if (n == 0)
			break;
		if (total + (uint64_t)n > (uint64_t)st->st_size) {
			rc = bf_err_set(p->e, BF_EFORMAT,
			    "'%s' grew while it was packed", p->src.buf);
			goto out;
		}
		if (archive_write_data(p->a, buf, (size_t)n) != n) {
			rc = p->werr.code ? bf_err_set(p->e, p->werr.code, "%s",
			    p->werr.msg) : err_archive(p->e, p->a, "cannot write image");
			goto out;
		}
		total += (uint64_t)n;
	}
	if (total != (uint64_t)st->st_size)
		rc = bf_err_set(p->e, BF_EFORMAT, "'%s' shrank while it was packed",
		    p->src.buf);
out:
	close(fd);
	return rc;
}

static int
pack_one(struct packer *p, const struct stat *st)
{
	struct archive_entry *ent = NULL;
	long long mtime = (long long)st->st_mtime;
	const char *name;
	char target[PATH_MAX + 1];
	ssize_t tl;
	size_t i;
	int rc = 0, is_link = 0;

	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
		break;
	case S_IFCHR:
	case S_IFBLK:
		return bf_err_set(p->e, BF_EUNSAFE,
		    "'%s' is a device node; Portage refuses device files in packages",
		    p->src.buf);
	case S_IFIFO:
		return bf_err_set(p->e, BF_EUNSAFE,
		    "'%s' is a FIFO; Portage refuses FIFOs in packages", p->src.buf);
	default:
		return bf_err_set(p->e, BF_EUNSAFE,
		    "'%s' is a socket or unknown file type", p->src.buf);
	}
	if ((ent = archive_entry_new()) == NULL)
		return bf_err_nomem(p->e);
	archive_entry_set_pathname(ent, p->dst.buf);
	archive_entry_set_mode(ent, st->st_mode);
	archive_entry_set_uid(ent, st->st_uid);
	archive_entry_set_gid(ent, st->st_gid);
	if ((name = id_name(&p->users, st->st_uid, 0)) != NULL)
		archive_entry_set_uname(ent, name);
	if ((name = id_name(&p->groups, st->st_gid, 1)) != NULL)
		archive_entry_set_gname(ent, name);
	if (p->opts->mtime >= 0 && mtime > p->opts->mtime)
		mtime = p->opts->mtime;
	archive_entry_set_mtime(ent, (time_t)mtime, 0);

	if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
		for (i = 0; i < p->nlinks; i++) {
			if (p->links[i].dev == st->st_dev &&
			    p->links[i].ino == st->st_ino) {
				archive_entry_set_hardlink(ent, p->links[i].path);
				archive_entry_set_size(ent, 0);
				is_link = 1;
				break;
			}
		}
		if (!is_link) {
			struct linkent *nl;

			if (bf_grow(&p->links, &p->alinks, p->nlinks + 1,
			    sizeof(*p->links), 16) < 0) {
				rc = bf_err_nomem(p->e);
				goto out;
			}
			nl = p->links;
			nl[p->nlinks].dev = st->st_dev;
			nl[p->nlinks].ino = st->st_ino;
			if ((nl[p->nlinks].path = strdup(p->dst.buf)) == NULL) {
				rc = bf_err_nomem(p->e);
				goto out;
			}
			p->nlinks++;
		}
	}
	if (S_ISLNK(st->st_mode)) {
		tl = readlink(p->src.buf, target, sizeof(target) - 1);
		if (tl < 0) {
			rc = bf_err_errno(p->e, "cannot read link '%s'", p->src.buf);
			goto out;
		}
		target[tl] = '\0';
		archive_entry_set_symlink(ent, target);
		archive_entry_set_size(ent, 0);
	} else if (S_ISREG(st->st_mode) && !is_link) {
		archive_entry_set_size(ent, st->st_size);
	} else {
		archive_entry_set_size(ent, 0);
	}
	if ((rc = add_xattrs(p, ent)) < 0)
		goto out;
	if (archive_write_header(p->a, ent) != ARCHIVE_OK) {
		rc = p->werr.code ? bf_err_set(p->e, p->werr.code, "%s", p->werr.msg)
		    : err_archive(p->e, p->a, "cannot write image");
		goto out;
	}
	p->files++;
	if (S_ISREG(st->st_mode) && !is_link && st->st_size > 0)
		rc = copy_file_data(p, st);
out:
	archive_entry_free(ent);
	return rc;
}

static int
dirent_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
pack_tree(struct packer *p)
{
	struct dirent **list = NULL;
	struct stat st;
	size_t slen, dlen;
	int n = 0, i, rc;

	if (lstat(p->src.buf, &st) < 0)
		return bf_err_errno(p->e, "cannot stat '%s'", p->src.buf);
	if ((rc = pack_one(p, &st)) < 0 || !S_ISDIR(st.st_mode))
		return rc;
	/* Byte order, whatever the locale: the same tree, the same bytes. */
	n = scandir(p->src.buf, &list, NULL, dirent_cmp);
	if (n < 0)
		return bf_err_errno(p->e, "cannot read directory '%s'", p->src.buf);
	slen = p->src.len;
	dlen = p->dst.len;
	for (i = 0; i < n && rc == 0; i++) {
		if (strcmp(list[i]->d_name, ".") == 0 ||
		    strcmp(list[i]->d_name, "..") == 0)
			continue;
		bf_buf_addf(&p->src, "/%s", list[i]->d_name);
		bf_buf_addf(&p->dst, "/%s", list[i]->d_name);
		if ((rc = bf_buf_error(&p->src)) < 0 ||
		    (rc = bf_buf_error(&p->dst)) < 0)
			rc = bf_err_nomem(p->e);
		else
			rc = pack_tree(p);
		bf_buf_setlen(&p->src, slen);
		bf_buf_setlen(&p->dst, dlen);
	}
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return rc;
}

static la_ssize_t
mem_write_cb(struct archive *a, void *arg, const void *buf, size_t n)
{
	bf_buf_add(arg, buf, n);
	if (bf_buf_error(arg) < 0) {
		archive_set_error(a, ENOMEM, "out of memory");
		return -1;
	}
	return (la_ssize_t)n;
}

/* metadata.tar: ustar, "metadata/<KEY>", 0644, root, sorted keys. */
static int
build_metadata_tar(const struct bf_meta *meta, long long mtime,
    struct bf_buf *out, struct bf_err *e)
{
	struct archive *a = NULL;
	struct archive_entry *ent = NULL;
	struct bf_buf name = BF_BUF_INIT;
	size_t i;
	int rc = 0;

	if ((a = archive_write_new()) == NULL ||
	    (ent = archive_entry_new()) == NULL) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_open2(a, out, NULL, mem_write_cb, NULL, NULL) != ARCHIVE_OK) {
		rc = err_archive(e, a, "cannot create metadata.tar");
		goto out;
	}
	for (i = 0; i < meta->n; i++) {
		archive_entry_clear(ent);
		bf_buf_reset(&name);
		bf_buf_addf(&name, "metadata/%s", meta->v[i].key);
		archive_entry_set_pathname(ent, name.buf);
		archive_entry_set_filetype(ent, AE_IFREG);
		archive_entry_set_perm(ent, 0644);
		archive_entry_set_uid(ent, 0);
		archive_entry_set_gid(ent, 0);
		archive_entry_set_mtime(ent, (time_t)mtime, 0);
		archive_entry_set_size(ent, (la_int64_t)meta->v[i].len);
		if (archive_write_header(a, ent) != ARCHIVE_OK ||
		    (meta->v[i].len > 0 && archive_write_data(a, meta->v[i].val,
		    meta->v[i].len) != (la_ssize_t)meta->v[i].len)) {
			rc = err_archive(e, a, "cannot write metadata.tar");
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		rc = err_archive(e, a, "cannot write metadata.tar");
out:
	bf_buf_release(&name);
	archive_entry_free(ent);
	if (a != NULL)
		archive_write_free(a);
	return rc;
}

static int
bf_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
valid_member_name(const char *s)
{
	return *s != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 &&
	    strcmp(s, "..") != 0;
}

/*
 * The build-info of the package: the image must be a directory; the
 * metadata files, checked, with BUILD_ID (from opts) and BUILD_TIME
 * (when absent) set, in member order.
 */
static int
pack_load_meta(const char *image_dir, const char *build_info_dir,
    const struct bf_gpkg_pack_opts *opts, long long mtime,
    struct bf_meta *meta, struct bf_err *e)
{
	struct bf_buf tmp = BF_BUF_INIT;
	struct stat st;
	size_t i;
	int rc;

	if (stat(image_dir, &st) < 0)
		return bf_err_errno(e, "cannot use image directory '%s'",
		    image_dir);
	if (!S_ISDIR(st.st_mode))
		return bf_err_set(e, BF_EUSAGE, "image '%s' is not a directory",
		    image_dir);
	if ((rc = bf_meta_load_dir(meta, build_info_dir, e)) < 0)
		return rc;
	if ((rc = bf_meta_check_required(meta, e)) < 0) {
		bf_err_prefix(e, "build-info '%s'", build_info_dir);
		return rc;
	}
	for (i = 0; i < meta->n; i++)
		if (!valid_member_name(meta->v[i].key))
			return bf_err_set(e, BF_EMETADATA,
			    "invalid build-info file name '%s'", meta->v[i].key);
	rc = 0;
	if (opts->build_id >= 0) {
		bf_buf_addf(&tmp, "%lld\n", opts->build_id);
		rc = bf_meta_set(meta, "BUILD_ID", tmp.buf, tmp.len);
	}
	if (rc >= 0 && bf_meta_find(meta, "BUILD_TIME") == NULL) {
		/* Every Portage build records one; the index needs it. */
		bf_buf_reset(&tmp);
		bf_buf_addf(&tmp, "%lld\n", mtime);
		rc = bf_meta_set(meta, "BUILD_TIME", tmp.buf, tmp.len);
	}
	bf_buf_release(&tmp);
	if (rc < 0)
		return bf_err_nomem(e);
	bf_meta_sort(meta);
	return 0;
}

/* Basename: PF, or PF-BUILD_ID (bin/misc-functions.sh __dyn_package). */
static int
pack_basename(const struct bf_meta *meta, struct bf_buf *base, size_t max,
    struct bf_err *e)
{
	struct bf_buf pf = BF_BUF_INIT, id = BF_BUF_INIT;
	int rc = 0;

	bf_meta_get(meta, "PF", &pf);
	bf_buf_add(base, pf.buf, pf.len);
	if (bf_meta_get(meta, "BUILD_ID", &id) && id.len > 0)
		bf_buf_addf(base, "-%s", id.buf);
	if (bf_buf_error(base) < 0)
		rc = bf_err_nomem(e);
	else if (!valid_member_name(base->buf) || base->len >= max)
		rc = bf_err_set(e, BF_EMETADATA, "invalid package basename '%s'",
		    base->buf);
	bf_buf_release(&pf);
	bf_buf_release(&id);
	return rc;
}

/* metadata.tar.zst, made in memory. */
static int
pack_metadata(struct outer *o, const struct bf_meta *meta, long long mtime,
    int level, struct bf_err *e)
{
	struct bf_buf mtar = BF_BUF_INIT;
	void *zmeta = NULL;
	size_t zlen = 0;
	int rc;

	if ((rc = build_metadata_tar(meta, mtime, &mtar, e)) >= 0 &&
	    (rc = bf_zst_compress(mtar.buf, mtar.len, level, &zmeta, &zlen,
	    e)) >= 0)
		rc = outer_add_mem(o, "metadata.tar.zst", zmeta, zlen, e);
	free(zmeta);
	bf_buf_release(&mtar);
	return rc;
}

/*
 * The image's tar writer, its output going to p->zw: pax "restricted",
 * plain ustar headers unless an entry needs more (long names, big
 * files, xattrs), which Portage's tarfile reads.  No blocking: file
 * data reaches zstd as read (into zstd's own input buffer,
 * copy_file_data()), not copied into 10 KiB records first; the end is
 * still padded to a 10240-byte record as tarfile does.
 */
static int
pack_image_open(struct packer *p, struct bf_err *e)
{
	if ((p->a = archive_write_new()) == NULL)
		return bf_err_nomem(e);
	if (archive_write_set_format_pax_restricted(p->a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(p->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(p->a, 0) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(p->a, TAR_RECORD) !=
	    ARCHIVE_OK ||
	    archive_write_open2(p->a, p, NULL, image_write_cb, NULL, NULL) !=
	    ARCHIVE_OK)
		return err_archive(e, p->a, "cannot create image.tar");
	return 0;
}

/*
 * image.tar.zst, streamed from the walk of image_dir through zstd into
 * the container, hashed on the way; its header is patched afterwards.
 * *image_bytes is the size of the tar.
 */
static int
pack_image(struct outer *o, struct packer *p, const char *image_dir,
    int level, uint64_t *image_bytes, struct bf_err *e)
{
	struct bf_digest dg;
	off_t img_hdr;
	uint64_t img_size;
	int rc;

	memset(&dg, 0, sizeof(dg));
	if ((rc = outer_header(o, "image.tar.zst", 0, &img_hdr, e)) < 0 ||
	    (rc = bf_digest_init(&dg, BF_DIGEST_MANIFEST, e)) < 0 ||
	    (rc = bf_zst_writer_new(&p->zw, o->fd, level, p->opts->threads,
	    &dg, e)) < 0 ||
	    (rc = pack_image_open(p, e)) < 0)
		goto out;
	bf_buf_adds(&p->src, image_dir);
	while (p->src.len > 1 && p->src.buf[p->src.len - 1] == '/')
		bf_buf_setlen(&p->src, p->src.len - 1);
	bf_buf_adds(&p->dst, "image");
	if ((rc = pack_tree(p)) < 0)
		goto out;
	if (archive_write_close(p->a) != ARCHIVE_OK) {
		rc = p->werr.code ? bf_err_set(e, p->werr.code, "%s",
		    p->werr.msg) :
		    err_archive(e, p->a, "cannot finish image.tar");
		goto out;
	}
	if ((rc = bf_zst_writer_finish(p->zw, e)) < 0 ||
	    (rc = bf_digest_final(&dg, e)) < 0)
		goto out;
	img_size = bf_zst_writer_out_bytes(p->zw);
	*image_bytes = bf_zst_writer_in_bytes(p->zw);
	o->pos += (off_t)img_size;
	if ((rc = outer_pad(o, TAR_BLOCK, e)) < 0 ||
	    (rc = outer_patch_size(o, "image.tar.zst", img_hdr, img_size,
	    e)) < 0)
		goto out;
	bf_manifest_add_line(&o->manifest, "image.tar.zst", img_size, &dg);
out:
	if (p->a != NULL)
		archive_write_free(p->a);
	p->a = NULL;
	bf_zst_writer_free(p->zw);	/* stops the hasher before dg goes */
	p->zw = NULL;
	bf_digest_release(&dg);
	return rc;
}

/* The Manifest, then the end of archive padded to a full record. */
static int
pack_finish(struct outer *o, struct bf_err *e)
{
	static const unsigned char zero[2 * TAR_BLOCK];
	int rc;

	if (bf_buf_error(&o->manifest) < 0)
		return bf_err_nomem(e);
	if ((rc = outer_write_manifest(o, e)) < 0 ||
	    (rc = outer_write(o, zero, sizeof(zero), e)) < 0 ||
	    (rc = outer_pad(o, TAR_RECORD, e)) < 0)
		return rc;
	return 0;
}

static void
packer_release(struct packer *p)
{
	size_t i;

	for (i = 0; i < p->users.n; i++)
		free(p->users.v[i].name);
	for (i = 0; i < p->groups.n; i++)
		free(p->groups.v[i].name);
	for (i = 0; i < p->nlinks; i++)
		free(p->links[i].path);
	free(p->users.v);
	free(p->groups.v);
	free(p->links);
	bf_buf_release(&p->src);
	bf_buf_release(&p->dst);
}

int
bf_gpkg_pack(const char *image_dir, const char *build_info_dir, int out_fd,
    const struct bf_gpkg_pack_opts *opts, struct bf_gpkg_pack_result *res,
    struct bf_err *e)
{
	struct outer o = { out_fd, 0, 0, NULL, 0, 0, BF_BUF_INIT };
	struct packer p;
	struct bf_meta meta = BF_META_INIT;
	struct bf_buf base = BF_BUF_INIT;
	uint64_t image_bytes = 0;
	long long mtime = opts->mtime;
	int level = opts->level ? opts->level : 3, rc;

	memset(&p, 0, sizeof(p));
	bf_buf_init(&p.src);
	bf_buf_init(&p.dst);
	p.opts = opts;
	p.e = e;
	bf_err_clear(&p.werr);
	memset(res, 0, sizeof(*res));
	if (mtime < 0)
		mtime = (long long)time(NULL);
	o.mtime = mtime;
	if ((o.start = lseek(out_fd, 0, SEEK_CUR)) < 0) {
		rc = bf_err_errno(e, "output is not a seekable file");
		goto out;
	}
	if ((rc = pack_load_meta(image_dir, build_info_dir, opts, mtime, &meta,
	    e)) < 0 ||
	    (rc = pack_basename(&meta, &base, sizeof(res->basename), e)) < 0)
		goto out;
	o.base = base.buf;
	/* Portage switches the container to GNU format for long names. */
	o.gnu = base.len >= 154;
	if ((rc = outer_add_mem(&o, "gpkg-1", "", 0, e)) < 0 ||
	    (rc = pack_metadata(&o, &meta, mtime, level, e)) < 0 ||
	    (rc = pack_image(&o, &p, image_dir, level, &image_bytes, e)) < 0 ||
	    (rc = pack_finish(&o, e)) < 0)
		goto out;
	memcpy(res->basename, base.buf, base.len + 1);
	res->image_bytes = image_bytes;
	res->file_bytes = (uint64_t)o.pos;
	res->files = p.files;
	rc = 0;
out:
	packer_release(&p);
	bf_buf_release(&o.manifest);
	bf_buf_release(&base);
	bf_meta_release(&meta);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reading.                                                            */

struct member {
	char		*name;		/* as in the container */
	const char	*base;		/* after the directory */
	int64_t		 size;
	int		 regular;
	int		 hashed;
	char		 hex[2][BF_DIGEST_HEXMAX];	/* BLAKE2B, SHA512 */
};

enum {
	RD_VERIFY = 1 << 0,	/* hash members, check everything */
	RD_META = 1 << 1,	/* parse metadata.tar */
	RD_IMAGE = 1 << 2,	/* untar the image (scan or list) */
};

struct reader {
	int			 fd;
	const char		*path;
	unsigned		 mode;
	struct bf_err		*e;
	struct archive		*outer;
	struct member		*m;
	size_t			 nm, am;
	struct bf_buf		 manifest;
	int			 have_manifest;
	struct bf_meta		*meta;
	int			 meta_seen;
	struct bf_digest	*dg;
	unsigned char		*ibuf;	/* compressed input of an inner tar */
	unsigned char		*obuf;	/* what is read out of an inner tar */
	struct bf_err		 ierr;	/* first problem inside an inner tar */
	struct bf_map		 seen;
	struct bf_map		 symlinks;
	uint64_t		 entries;
	uint64_t		 max_entries;	/* image entries allowed */
	uint64_t		 name_bytes;	/* held in seen and symlinks */
	uint64_t		 max_name_bytes;
	uint64_t		 meta_entries;
	int			(*list_cb)(void *, const struct bf_gpkg_entry *);
	void			*list_arg;
	int			 list_rc;
};

static la_ssize_t
inner_read_cb(struct archive *a, void *arg, const void **buf)
{
	struct reader *r = arg;
	la_ssize_t n;

	n = archive_read_data(r->outer, r->ibuf, IO_CHUNK);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", archive_error_string(r->outer));
		return -1;
	}
	if (n > 0 && r->dg != NULL)
		(void)bf_digest_update(r->dg, r->ibuf, (size_t)n, NULL);
	*buf = r->ibuf;
	return n;
}

/* Reads (and hashes) what is left of the current outer member. */
static int
drain_member(struct reader *r)
{
	la_ssize_t n;

	while ((n = archive_read_data(r->outer, r->ibuf, IO_CHUNK)) > 0)
		if (r->dg != NULL)
			(void)bf_digest_update(r->dg, r->ibuf, (size_t)n, NULL);
	if (n < 0)
		return err_archive(r->e, r->outer, "cannot read container");
	return 0;
}

static int
suffix_filter(const char *suffix)
{
	static const struct {
		const char *s;
		int code;
	} map[] = {
		{ "", ARCHIVE_FILTER_NONE }, { ".zst", ARCHIVE_FILTER_ZSTD },
		{ ".gz", ARCHIVE_FILTER_GZIP }, { ".bz2", ARCHIVE_FILTER_BZIP2 },
		{ ".xz", ARCHIVE_FILTER_XZ }, { ".lz4", ARCHIVE_FILTER_LZ4 },
		{ ".lz", ARCHIVE_FILTER_LZIP }, { ".lzo", ARCHIVE_FILTER_LZOP },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].s, suffix) == 0)
			return map[i].code;
	return -1;
}

/* Problems inside an inner tar are kept aside: a digest mismatch found
 * afterwards explains them better, so it is reported first. */
static int
inner_fail(struct reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
inner_fail(struct reader *r, int code, const char *fmt, ...)
{
	char msg[sizeof(r->ierr.msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bf_err_set(&r->ierr, code, "%s", msg);
}

static int
meta_entry(struct reader *r, struct archive *in, struct archive_entry *ent,
    const char *member, uint64_t *total)
{
	const char *name = archive_entry_pathname(ent);
	struct bf_buf val = BF_BUF_INIT;
	la_ssize_t n;
	int rc = 0;

	if (++r->meta_entries > META_ENTRIES_MAX)
		return inner_fail(r, BF_EUNSAFE, "%s: more than %u members",
		    member, META_ENTRIES_MAX);
	if (name == NULL || strncmp(name, "metadata/", 9) != 0 ||
	    !valid_member_name(name + 9))
		return inner_fail(r, BF_EUNSAFE, "%s: unexpected member '%s'",
		    member, name ? name : "(null)");
	if (archive_entry_filetype(ent) != AE_IFREG)
		return inner_fail(r, BF_EUNSAFE, "%s: '%s' is not a regular file",
		    member, name);
	if (r->meta != NULL && bf_meta_find(r->meta, name + 9) != NULL)
		return inner_fail(r, BF_EUNSAFE, "%s: duplicate member '%s'",
		    member, name);
	/*
	 * Not into ibuf: libarchive's decompressor may still be reading
	 * compressed input from it (inner_read_cb hands it out).
	 */
	while ((n = archive_read_data(in, r->obuf, IO_CHUNK)) > 0) {
		*total += (uint64_t)n;
		if (*total > META_MAX) {
			rc = inner_fail(r, BF_EFORMAT, "%s: metadata larger than %u MiB",
			    member, META_MAX >> 20);
			goto out;
		}
		bf_buf_add(&val, r->obuf, (size_t)n);
	}
	if (n < 0) {
		const char *s = archive_error_string(in);

		rc = inner_fail(r, BF_EFORMAT, "%s: cannot decompress: %s", member,
		    s ? s : "read error");
		goto out;
	}
	if (bf_buf_error(&val) < 0 || (r->meta != NULL &&
	    bf_meta_set(r->meta, name + 9, val.buf, val.len) < 0))
		rc = bf_err_nomem(r->e);
out:
	bf_buf_release(&val);
	return rc;
}

/*
 * Lexically resolves a relative symlink target from the directory of
 * `path` (inside image/); returns 0 if it stays inside the image.
 */
static int
symlink_escapes(const char *path, const char *target)
{
	const char *p;
	long depth = -1;	/* "image" itself is depth 0 after the loop */
	size_t len;

	if (target[0] == '/')
		return 0;	/* resolved against the install root */
	for (p = path; *p; p++)
		if (*p == '/')
			depth++;
	/* depth: directories below image/ that contain the link */
	p = target;
	while (*p) {
		len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return 1;
		} else if (!(len == 1 && p[0] == '.') && len > 0) {
			depth++;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	return 0;
}

static int
image_entry(struct reader *r, struct archive_entry *ent, const char *member)
{
	const char *name = archive_entry_pathname(ent);
	const char *hl = archive_entry_hardlink(ent);
	const char *sl = archive_entry_symlink(ent);
	mode_t type = archive_entry_filetype(ent);
	struct bf_buf prefix = BF_BUF_INIT;
	const char *c;
	size_t len;
	int rc = 0;

	if (++r->entries > r->max_entries)
		return inner_fail(r, BF_EUNSAFE, "%s: more than %llu entries "
		    "(the limit)", member, (unsigned long long)r->max_entries);
	if (name == NULL || *name == '\0')
		return inner_fail(r, BF_EUNSAFE, "%s: member without a name", member);
	if (name[0] == '/')
		return inner_fail(r, BF_EUNSAFE, "%s: absolute path '%s'", member, name);
	for (c = name; *c; c += len + (c[len] == '/')) {
		len = strcspn(c, "/");
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return inner_fail(r, BF_EUNSAFE, "%s: path traversal '%s'",
			    member, name);
	}
	if (strcmp(name, "image") != 0 && strcmp(name, "image/") != 0 &&
	    strncmp(name, "image/", 6) != 0)
		return inner_fail(r, BF_EUNSAFE, "%s: '%s' is outside image/",
		    member, name);
	if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO)
		return inner_fail(r, BF_EUNSAFE, "%s: device file '%s'", member, name);
	if (hl == NULL && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return inner_fail(r, BF_EUNSAFE, "%s: unsupported file type of '%s'",
		    member, name);
	/* Nothing may be written through a symlink the archive created. */
	for (c = strchr(name, '/'); c != NULL; c = strchr(c + 1, '/')) {
		bf_buf_reset(&prefix);
		bf_buf_add(&prefix, name, (size_t)(c - name));
		if (bf_map_get(&r->symlinks, prefix.buf, NULL)) {
			rc = inner_fail(r, BF_EUNSAFE, "%s: '%s' lies below symlink '%s'",
			    member, name, prefix.buf);
			goto out;
		}
	}
	bf_buf_reset(&prefix);
	bf_buf_adds(&prefix, name);
	while (prefix.len > 1 && prefix.buf[prefix.len - 1] == '/')
		bf_buf_setlen(&prefix, prefix.len - 1);
	if (hl != NULL && !bf_map_get(&r->seen, hl, NULL)) {
		rc = inner_fail(r, BF_EUNSAFE,
		    "%s: hard link '%s' points to '%s', not an earlier member",
		    member, name, hl);
		goto out;
	}
	if (sl != NULL && symlink_escapes(prefix.buf, sl)) {
		rc = inner_fail(r, BF_EUNSAFE, "%s: symlink '%s' -> '%s' leaves the image",
		    member, name, sl);
		goto out;
	}
	r->name_bytes += prefix.len + 1 + (sl != NULL ? prefix.len + 1 : 0);
	if (r->name_bytes > r->max_name_bytes) {
		rc = inner_fail(r, BF_EUNSAFE, "%s: entry names take more than "
		    "%llu MiB", member,
		    (unsigned long long)(r->max_name_bytes >> 20));
		goto out;
	}
	switch (bf_map_add(&r->seen, prefix.buf, 0)) {
	case 0:
		rc = inner_fail(r, BF_EUNSAFE, "%s: duplicate member '%s'", member, name);
		goto out;
	case 1:
		break;
	default:
		rc = bf_err_nomem(r->e);
		goto out;
	}
	if (sl != NULL && hl == NULL &&
	    bf_map_add(&r->symlinks, prefix.buf, 0) < 0) {
		rc = bf_err_nomem(r->e);
		goto out;
	}
	if (r->list_cb != NULL) {
		struct bf_gpkg_entry le;

		le.path = name;
		le.linkname = hl == NULL ? sl : NULL;
		le.hardlink = hl;
		le.mode = archive_entry_mode(ent);
		le.uid = archive_entry_uid(ent);
		le.gid = archive_entry_gid(ent);
		le.uname = archive_entry_uname(ent);
		le.gname = archive_entry_gname(ent);
		le.size = archive_entry_size(ent);
		le.mtime = (long long)archive_entry_mtime(ent);
		if ((rc = r->list_cb(r->list_arg, &le)) != 0)
			r->list_rc = rc;
	}
out:
	bf_buf_release(&prefix);
	return rc;
}

/* Reads an inner tar (metadata or image) from the current outer member. */
static int
read_inner(struct reader *r, const char *member, const char *suffix, int image)
{
	struct archive *in = NULL;
	struct archive_entry *ent;
	uint64_t total = 0;
	int want = suffix_filter(suffix), rc = 0, ar, first = 1;

	if (want < 0)
		return inner_fail(r, BF_EFORMAT, "%s: unknown compression '%s'",
		    member, suffix);
	if ((in = archive_read_new()) == NULL)
		return bf_err_nomem(r->e);
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	if (archive_read_open(in, r, NULL, inner_read_cb, NULL) != ARCHIVE_OK) {
		rc = inner_fail(r, BF_EFORMAT, "%s: cannot read: %s", member,
		    archive_error_string(in));
		goto out;
	}
	for (;;) {
		ar = archive_read_next_header(in, &ent);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			const char *s = archive_error_string(in);

			rc = inner_fail(r, BF_EFORMAT, "%s: cannot read: %s", member,
			    s ? s : "damaged data");
			goto out;
		}
		if (first) {
			first = 0;
			if (archive_filter_code(in, 0) != want) {
				rc = inner_fail(r, BF_EFORMAT,
				    "%s: content is %s, not what the name says",
				    member, archive_filter_name(in, 0));
				goto out;
			}
		}
		rc = image ? image_entry(r, ent, member) :
		    meta_entry(r, in, ent, member, &total);
		if (rc < 0 || r->list_rc != 0)
			goto out;
	}
out:
	archive_read_free(in);
	return r->e->code ? -r->e->code : rc;
}

static int
walk_fail_format(struct reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
walk_fail_format(struct reader *r, const char *fmt, ...)
{
	char msg[sizeof(r->e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bf_err_set(r->e, BF_EFORMAT, "%s", msg);
}

/* Checks the tar magic Portage's _get_tar_format() accepts. */
static int
check_magic(struct reader *r)
{
	unsigned char h[TAR_BLOCK], tail[16];
	struct stat st;
	ssize_t n;

	if (fstat(r->fd, &st) < 0)
		return bf_err_errno(r->e, "cannot stat");
	if (S_ISDIR(st.st_mode))
		return bf_err_set(r->e, BF_EFORMAT, "is a directory, not a package");
	if (!S_ISREG(st.st_mode))
		return bf_err_set(r->e, BF_EFORMAT, "is not a regular file");
	if (st.st_size == 0)
		return bf_err_set(r->e, BF_EFORMAT, "empty file");
	n = bf_pread_full(r->fd, h, sizeof(h), 0);
	if (n < 0) {
		errno = (int)-n;
		return bf_err_errno(r->e, "cannot read");
	}
	if (n == TAR_BLOCK && (memcmp(h + 257, "ustar\0" "00", 8) == 0 ||
	    memcmp(h + 257, "ustar  \0", 8) == 0)) {
		unsigned long want, sum = 0;
		char field[9];
		int i;

		memcpy(field, h + 148, 8);
		field[8] = '\0';
		want = strtoul(field, NULL, 8);
		for (i = 0; i < TAR_BLOCK; i++)
			sum += (i >= 148 && i < 156) ? ' ' : h[i];
		if (sum != want)
			return bf_err_set(r->e, BF_EFORMAT,
			    "damaged tar header at offset 0 (bad checksum)");
		return 0;
	}
	if (st.st_size >= 16 && bf_pread_full(r->fd, tail, 16, st.st_size - 16) == 16 &&
	    memcmp(tail, "XPAKSTOP", 8) == 0 && memcmp(tail + 12, "STOP", 4) == 0)
		return bf_err_set(r->e, BF_EFORMAT,
		    "is a legacy xpak package, not a gpkg");
	if (n < TAR_BLOCK)
		return bf_err_set(r->e, BF_EFORMAT,
		    "truncated: shorter than one tar header");
	return bf_err_set(r->e, BF_EFORMAT,
	    "cannot identify tar format (not ustar or GNU; Portage rejects it)");
}

static void
reader_release(struct reader *r)
{
	size_t i;

	if (r->outer != NULL)
		archive_read_free(r->outer);
	for (i = 0; i < r->nm; i++)
		free(r->m[i].name);
	free(r->m);
	free(r->ibuf);
	free(r->obuf);
	bf_buf_release(&r->manifest);
	bf_map_release(&r->seen);
	bf_map_release(&r->symlinks);
}

/* Opens the container: its magic checked, the read buffers made. */
static int
walk_open(struct reader *r)
{
	int rc;

	if ((rc = check_magic(r)) < 0)
		return rc;
	if ((r->ibuf = malloc(IO_CHUNK)) == NULL ||
	    (r->obuf = malloc(IO_CHUNK)) == NULL ||
	    (r->outer = archive_read_new()) == NULL)
		return bf_err_nomem(r->e);
	archive_read_support_format_tar(r->outer);
	if (lseek(r->fd, 0, SEEK_SET) < 0)
		return bf_err_errno(r->e, "cannot seek");
	if (archive_read_open_fd(r->outer, r->fd, 64 * 1024) != ARCHIVE_OK)
		return err_archive(r->e, r->outer, "cannot read container");
	return 0;
}

/*
 * Checks the name of the next container member and records it in
 * r->m (*mmp): <dir>/<file>, all in one directory, each once, a
 * regular file.
 */
static int
walk_member(struct reader *r, struct archive_entry *ent,
    struct bf_map *names, struct member **mmp)
{
	const char *name = archive_entry_pathname(ent), *slash;
	struct member *mm;
	int rc;

	if (name == NULL)
		name = "";
	/* gpkg._verify_binpkg: exactly one '/', no leading '/'. */
	slash = strchr(name, '/');
	if (name[0] == '/' || slash == NULL || strchr(slash + 1, '/') != NULL ||
	    slash[1] == '\0')
		return walk_fail_format(r, "container member '%s' is not "
		    "<dir>/<file> (gpkg structure mismatch)", name);
	if (r->nm > 0 && (strncmp(r->m[0].name, name,
	    (size_t)(slash - name) + 1) != 0))
		return walk_fail_format(r, "container members '%s' and '%s' are "
		    "not in one directory", r->m[0].name, name);
	if (r->nm >= MEMBERS_MAX)
		return walk_fail_format(r, "more than %d container members",
		    MEMBERS_MAX);
	if ((rc = bf_map_add(names, name, 0)) <= 0)
		return rc < 0 ? bf_err_nomem(r->e) :
		    walk_fail_format(r, "duplicate container member '%s' "
		    "(potential attack)", name);
	if (bf_grow(&r->m, &r->am, r->nm + 1, sizeof(*r->m), 8) < 0)
		return bf_err_nomem(r->e);
	mm = &r->m[r->nm];
	memset(mm, 0, sizeof(*mm));
	if ((mm->name = strdup(name)) == NULL)
		return bf_err_nomem(r->e);
	r->nm++;
	mm->base = mm->name + (slash - name) + 1;
	mm->size = archive_entry_size(ent);
	mm->regular = archive_entry_filetype(ent) == AE_IFREG &&
	    archive_entry_hardlink(ent) == NULL;
	if (!mm->regular)
		return walk_fail_format(r, "container member '%s' is not a "
		    "regular file", name);
	*mmp = mm;
	return 0;
}

/* The Manifest member, kept in r->manifest. */
static int
walk_manifest(struct reader *r, const struct member *mm)
{
	la_ssize_t n;

	if (mm->size > (int64_t)MANIFEST_MAX)
		return walk_fail_format(r, "Manifest is larger than 1 MiB");
	while ((n = archive_read_data(r->outer, r->ibuf, IO_CHUNK)) > 0)
		bf_buf_add(&r->manifest, r->ibuf, (size_t)n);
	if (n < 0)
		return err_archive(r->e, r->outer, "cannot read container");
	r->have_manifest = 1;
	return 0;
}

/*
 * Reads, hashes or skips the data of member `mm`, as r->mode asks.
 * 0 to go on to the next member; 1 when the walk is over, with *wrc
 * its result (the list callback stopped it, or the metadata, all that
 * was wanted, is read); or an error.
 */
static int
walk_data(struct reader *r, struct member *mm, struct bf_digest *dg,
    int *wrc)
{
	int is_meta = strncmp(mm->base, "metadata.tar", 12) == 0 &&
	    !bf_has_suffix(mm->base, ".sig");
	int is_image = strncmp(mm->base, "image.tar", 9) == 0 &&
	    !bf_has_suffix(mm->base, ".sig");
	int want_hash = (r->mode & RD_VERIFY) != 0, rc;

	if (want_hash && (rc = bf_digest_init(dg, BF_DIGEST_MANIFEST,
	    r->e)) < 0)
		return rc;
	r->dg = want_hash ? dg : NULL;
	if (is_meta && (r->mode & (RD_META | RD_VERIFY))) {
		r->meta_seen++;
		if (r->meta_seen == 1 && (rc = read_inner(r, mm->base,
		    mm->base + 12, 0)) < 0 && r->e->code)
			return rc;
	} else if (is_image && (r->mode & RD_IMAGE)) {
		if ((rc = read_inner(r, mm->base, mm->base + 9, 1)) < 0 &&
		    r->e->code)
			return rc;
		if (r->list_rc != 0) {
			*wrc = rc;
			return 1;
		}
	} else if (!want_hash) {
		/* Not needed: skip without decompressing. */
		if (archive_read_data_skip(r->outer) != ARCHIVE_OK)
			return err_archive(r->e, r->outer,
			    "cannot read container");
		return 0;
	}
	if ((rc = drain_member(r)) < 0)
		return rc;
	if (want_hash) {
		if ((rc = bf_digest_final(dg, r->e)) < 0)
			return rc;
		memcpy(mm->hex[0], dg->hex[BF_BLAKE2B], sizeof(mm->hex[0]));
		memcpy(mm->hex[1], dg->hex[BF_SHA512], sizeof(mm->hex[1]));
		mm->hashed = 1;
	}
	r->dg = NULL;
	if (is_meta && !(r->mode & RD_VERIFY) && !(r->mode & RD_IMAGE)) {
		*wrc = 0;	/* metadata read: the rest is not needed */
		return 1;
	}
	return 0;
}

/*
 * Walks the container.  Collects member names and sizes, hashes members
 * (RD_VERIFY), parses metadata (RD_META), reads the image (RD_IMAGE).
 * Structural problems of the container itself fail at once.
 */
static int
walk(struct reader *r)
{
	struct archive_entry *ent;
	struct bf_digest dg;
	struct bf_map names = BF_MAP_INIT;
	struct member *mm = NULL;
	int ar, rc, wrc = 0;

	memset(&dg, 0, sizeof(dg));
	if ((rc = walk_open(r)) < 0)
		return rc;
	for (;;) {
		ar = archive_read_next_header(r->outer, &ent);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			rc = err_archive(r->e, r->outer, "cannot read container");
			goto out;
		}
		if ((rc = walk_member(r, ent, &names, &mm)) < 0)
			goto out;
		if (strcmp(mm->base, "Manifest") == 0) {
			if ((rc = walk_manifest(r, mm)) < 0)
				goto out;
			continue;
		}
		if ((rc = walk_data(r, mm, &dg, &wrc)) < 0)
			goto out;
		if (rc == 1) {
			rc = wrc;
			goto out;
		}
	}
	rc = 0;
out:
	r->dg = NULL;
	bf_digest_release(&dg);
	bf_map_release(&names);
	return rc;
}

static const struct member *
find_member(const struct reader *r, const char *base)
{
	size_t i;

	for (i = 0; i < r->nm; i++)
		if (strcmp(r->m[i].base, base) == 0)
			return &r->m[i];
	return NULL;
}

static int
count_prefix(const struct reader *r, const char *prefix, const struct member **first)
{
	size_t i;
	int n = 0;

	for (i = 0; i < r->nm; i++) {
		if (strncmp(r->m[i].base, prefix, strlen(prefix)) == 0 &&
		    !bf_has_suffix(r->m[i].base, ".sig")) {
			if (n++ == 0 && first != NULL)
				*first = &r->m[i];
		}
	}
	return n;
}

static char *
dup_dirname(const struct reader *r)
{
	if (r->nm == 0)
		return NULL;
	return strndup(r->m[0].name, (size_t)(r->m[0].base - r->m[0].name - 1));
}

/* The checks of gpkg._verify_binpkg() once every member has been read. */
static int
check_container(struct reader *r, unsigned flags, int *signed_pkg)
{
	struct bf_manifest man = BF_MANIFEST_INIT;
	const struct bf_manifest_entry *me;
	const struct member *mm;
	struct bf_buf sig = BF_BUF_INIT;
	size_t i;
	int rc = 0;

	if (find_member(r, "gpkg-1") == NULL) {
		rc = walk_fail_format(r, "no gpkg-1 member: not a gpkg package");
		goto out;
	}
	if (!r->have_manifest) {
		rc = bf_err_set(r->e, BF_ESIGNATURE, "Manifest not found");
		goto out;
	}
	if ((rc = bf_manifest_parse(&man, r->manifest.buf, r->manifest.len, r->e)) < 0)
		goto out;
	*signed_pkg = man.signed_msg;
	for (i = 0; i < r->nm; i++)
		if (bf_has_suffix(r->m[i].base, ".sig"))
			*signed_pkg = 1;
	for (i = 0; i < r->nm; i++) {
		mm = &r->m[i];
		if (strcmp(mm->base, "Manifest") == 0)
			continue;
		if ((me = bf_manifest_find(&man, mm->base)) == NULL) {
			rc = bf_err_set(r->e, BF_EDIGEST,
			    "'%s' is not listed in the Manifest (unknown file)", mm->base);
			goto out;
		}
		if ((int64_t)me->size != mm->size) {
			rc = bf_err_set(r->e, BF_EDIGEST,
			    "'%s' size mismatch: Manifest says %" PRIu64 ", member has %" PRId64,
			    mm->base, me->size, mm->size);
			goto out;
		}
		if ((flags & BF_GPKG_VERIFY_METADATA_ONLY) &&
		    strncmp(mm->base, "image", 5) == 0)
			continue;
		if (*signed_pkg && !bf_has_suffix(mm->base, ".sig") &&
		    strcmp(mm->base, "gpkg-1") != 0) {
			bf_buf_reset(&sig);
			bf_buf_addf(&sig, "%s.sig", mm->base);
			if (find_member(r, sig.buf) == NULL) {
				rc = bf_err_set(r->e, BF_ESIGNATURE,
				    "'%s' signature not found in a signed package", mm->base);
				goto out;
			}
		}
		if (me->hex[BF_BLAKE2B] == NULL && me->hex[BF_SHA512] == NULL) {
			rc = bf_err_set(r->e, BF_EDIGEST,
			    "'%s' has no BLAKE2B or SHA512 digest in the Manifest", mm->base);
			goto out;
		}
		if (!mm->hashed)
			continue;
		if ((me->hex[BF_BLAKE2B] != NULL &&
		    strcasecmp(me->hex[BF_BLAKE2B], mm->hex[0]) != 0) ||
		    (me->hex[BF_SHA512] != NULL &&
		    strcasecmp(me->hex[BF_SHA512], mm->hex[1]) != 0)) {
			rc = bf_err_set(r->e, BF_EDIGEST, "'%s' checksum mismatch (%s)",
			    mm->base, me->hex[BF_BLAKE2B] != NULL &&
			    strcasecmp(me->hex[BF_BLAKE2B], mm->hex[0]) != 0 ?
			    "BLAKE2B" : "SHA512");
			goto out;
		}
	}
	for (i = 0; i < man.n; i++) {
		if (find_member(r, man.v[i].name) == NULL) {
			rc = bf_err_set(r->e, BF_EDIGEST,
			    "'%s' is listed in the Manifest but missing", man.v[i].name);
			goto out;
		}
	}
out:
	bf_buf_release(&sig);
	bf_manifest_release(&man);
	return rc;
}

void
bf_gpkg_verify_result_release(struct bf_gpkg_verify_result *res)
{
	free(res->basename);
	res->basename = NULL;
	bf_meta_release(&res->meta);
}

static void
reader_limits(struct reader *r, const struct bf_gpkg_verify_opts *opts)
{
	r->max_entries = opts != NULL && opts->max_entries > 0 ?
	    opts->max_entries : BF_GPKG_MAX_ENTRIES;
	r->max_name_bytes = opts != NULL && opts->max_name_bytes > 0 ?
	    opts->max_name_bytes : BF_GPKG_MAX_NAME_BYTES;
}

int
bf_gpkg_verify(int fd, const char *path, unsigned flags,
    struct bf_gpkg_verify_result *res, struct bf_err *e)
{
	struct bf_gpkg_verify_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.flags = flags;
	return bf_gpkg_verify_ext(fd, path, &opts, res, e);
}

int
bf_gpkg_verify_ext(int fd, const char *path,
    const struct bf_gpkg_verify_opts *opts,
    struct bf_gpkg_verify_result *res, struct bf_err *e)
{
	struct reader r;
	const struct member *first = NULL;
	unsigned flags = opts->flags;
	int rc, n;

	memset(&r, 0, sizeof(r));
	reader_limits(&r, opts);
	memset(res, 0, sizeof(*res));
	bf_buf_init(&r.manifest);
	bf_meta_init(&res->meta);
	r.fd = fd;
	r.path = path;
	r.e = e;
	r.meta = &res->meta;
	r.mode = RD_VERIFY | RD_META;
	if (!(flags & (BF_GPKG_VERIFY_METADATA_ONLY | BF_GPKG_VERIFY_NO_IMAGE_SCAN)))
		r.mode |= RD_IMAGE;
	if ((rc = walk(&r)) < 0)
		goto out;
	res->basename = dup_dirname(&r);
	if ((rc = check_container(&r, flags, &res->signed_pkg)) < 0)
		goto out;
	if ((n = count_prefix(&r, "metadata.tar", &first)) != 1) {
		rc = walk_fail_format(&r, n ? "more than one metadata.tar member" :
		    "no metadata.tar member");
		goto out;
	}
	if ((n = count_prefix(&r, "image.tar", NULL)) != 1) {
		rc = walk_fail_format(&r, n ? "more than one image.tar member" :
		    "no image.tar member");
		goto out;
	}
	if (r.ierr.code) {
		rc = bf_err_set(e, r.ierr.code, "%s", r.ierr.msg);
		goto out;
	}
	if ((rc = bf_meta_check_required(&res->meta, e)) < 0)
		goto out;
	res->image_entries = r.entries;
out:
	reader_release(&r);
	return rc;
}

int
bf_gpkg_read_metadata(int fd, const char *path, struct bf_meta *meta,
    char **basename, struct bf_err *e)
{
	struct reader r;
	int rc;

	memset(&r, 0, sizeof(r));
	reader_limits(&r, NULL);
	bf_buf_init(&r.manifest);
	r.fd = fd;
	r.path = path;
	r.e = e;
	r.meta = meta;
	r.mode = RD_META;
	if (basename != NULL)
		*basename = NULL;
	if ((rc = walk(&r)) < 0)
		goto out;
	if (r.ierr.code) {
		rc = bf_err_set(e, r.ierr.code, "%s", r.ierr.msg);
		goto out;
	}
	if (r.meta_seen == 0) {
		rc = walk_fail_format(&r, "no metadata.tar member");
		goto out;
	}
	if (basename != NULL && (*basename = dup_dirname(&r)) == NULL)
		rc = bf_err_nomem(e);
out:
	reader_release(&r);
	return rc;
}

int
bf_gpkg_list(int fd, const char *path,
    int (*cb)(void *arg, const struct bf_gpkg_entry *ent), void *arg,
    struct bf_err *e)
{
	struct reader r;
	int rc;

	memset(&r, 0, sizeof(r));
	reader_limits(&r, NULL);
	bf_buf_init(&r.manifest);
	r.fd = fd;
	r.path = path;
	r.e = e;
	r.mode = RD_IMAGE;
	r.list_cb = cb;
	r.list_arg = arg;
	if ((rc = walk(&r)) < 0)
		goto out;
	if (r.list_rc != 0) {
		rc = r.list_rc;
		goto out;
	}
	if (r.ierr.code) {
		rc = bf_err_set(e, r.ierr.code, "%s", r.ierr.msg);
		goto out;
	}
	if (count_prefix(&r, "image.tar", NULL) == 0)
		rc = walk_fail_format(&r, "no image.tar member");
out:
	reader_release(&r);
	return rc;
}

int
bf_gpkg_probe(int fd)
{
	unsigned char h[TAR_BLOCK];

	if (bf_pread_full(fd, h, sizeof(h), 0) != TAR_BLOCK)
		return 0;
	return memcmp(h + 257, "ustar\0" "00", 8) == 0 ||
	    memcmp(h + 257, "ustar  \0", 8) == 0;
}

int
bf_gpkg_metadata_member(struct bf_meta *meta, long long mtime, int level,
    void **out, size_t *outlen, struct bf_err *e)
{
	struct bf_buf mtar = BF_BUF_INIT;
	int rc;

	*out = NULL;
	*outlen = 0;
	bf_meta_sort(meta);
	if ((rc = build_metadata_tar(meta, mtime, &mtar, e)) == 0)
		rc = bf_zst_compress(mtar.buf, mtar.len, level ? level : 3, out,
		    outlen, e);
	bf_buf_release(&mtar);
	return rc;
}

/* ------------------------------------------------------------------ */
/* A plain tar.xz: the pinned trees (lib/store/treesnap.h).            */

struct bf_tarxz {
	struct archive		*a;
	struct archive_entry	*ent;
	struct bf_lockfile	*lf;
	struct bf_buf		 link;
};

static la_ssize_t
tarxz_write(struct archive *a, void *arg, const void *p, size_t n)
{
	struct bf_lockfile *lf = arg;

	if (bf_lockfile_write(lf, p, n) < 0) {
		archive_set_error(a, -lf->err, "%s", strerror(-lf->err));
		return -1;
	}
	return (la_ssize_t)n;
}

int
bf_tarxz_open(struct bf_tarxz **tp, struct bf_lockfile *lf, struct bf_err *e)
{
	struct bf_tarxz *t;
	int rc;

	*tp = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return bf_err_nomem(e);
	bf_buf_init(&t->link);
	t->lf = lf;
	if ((t->a = archive_write_new()) == NULL ||
	    (t->ent = archive_entry_new()) == NULL) {
		rc = bf_err_nomem(e);
		goto fail;
	}
	if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    archive_write_add_filter_xz(t->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(t->a, lf, NULL, tarxz_write, NULL, NULL) !=
	    ARCHIVE_OK) {
		rc = err_archive(e, t->a, "cannot start a tar.xz");
		goto fail;
	}
	*tp = t;
	return 0;
fail:
	bf_tarxz_free(t);
	return rc;
}

int
bf_tarxz_add(struct bf_tarxz *t, const char *path, unsigned mode,
    long long mtime, const void *data, size_t len, struct bf_err *e)
{
	struct archive_entry *ent = t->ent;

	archive_entry_clear(ent);
	archive_entry_set_pathname(ent, path);
	archive_entry_set_mode(ent, (mode_t)mode);
	archive_entry_set_uid(ent, 0);
	archive_entry_set_gid(ent, 0);
	archive_entry_set_uname(ent, "root");
	archive_entry_set_gname(ent, "root");
	archive_entry_set_mtime(ent, (time_t)mtime, 0);
	if ((mode & S_IFMT) == S_IFLNK) {
		bf_buf_reset(&t->link);
		bf_buf_add(&t->link, data, len);
		if (bf_buf_error(&t->link) < 0)
			return bf_err_nomem(e);
		archive_entry_set_symlink(ent, t->link.buf);
		len = 0;
	} else if ((mode & S_IFMT) == S_IFREG)
		archive_entry_set_size(ent, (la_int64_t)len);
	else
		len = 0;
	if (archive_write_header(t->a, ent) != ARCHIVE_OK)
		return err_archive(e, t->a, path);
	if (len > 0 && archive_write_data(t->a, data, len) != (la_ssize_t)len)
		return err_archive(e, t->a, path);
	return 0;
}

int
bf_tarxz_close(struct bf_tarxz *t, struct bf_err *e)
{
	if (archive_write_close(t->a) != ARCHIVE_OK)
		return err_archive(e, t->a, "cannot finish a tar.xz");
	return 0;
}

void
bf_tarxz_free(struct bf_tarxz *t)
{
	if (t == NULL)
		return;
	if (t->a != NULL)
		archive_write_free(t->a);
	if (t->ent != NULL)
		archive_entry_free(t->ent);
	bf_buf_release(&t->link);
	free(t);
}
