/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Indexing a PKGDIR the way Portage's binarytree._populate_local() and
 * `emaint binhost --fix` do, fast: the walk and the package reads run
 * on a few threads, and unchanged files are never opened.
 */
#define _GNU_SOURCE	/* getdents64 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "portage/depstr.h"
#include "base/digest.h"
#include "format/dircache.h"
#include "base/err.h"
#include "base/map.h"
#include "format/gpkg.h"
#include "format/meta.h"
#include "format/pkgdir.h"
#include "format/pkgindex.h"
#include "format/pystr.h"
#include "format/xpak.h"
#include "base/banned.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char not_at_top[] =
    "package files belong in 'cat/', 'cat/pn/' or 'All/', not at the top";

/* ------------------------------------------------------------------ */
/* Names: versions.py _pkgsplit() and dbapi._category_re, via lib/atom. */

/* ^\w[-.+\w]*$ (re.ASCII) */
static int
category_ok(const char *s, size_t n)
{
	return bf_category_valid(s, n);
}

/* _pkgsplit(): is s a valid PF "pn-ver[-rN]"?  Sets *pnlen. */
static int
pf_split(const char *s, size_t n, size_t *pnlen)
{
	struct bf_cpv c = BF_CPV_INIT;
	char buf[512];

	if (n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (bf_pf_split(&c, buf, NULL) < 0)
		return 0;
	*pnlen = strlen(c.pn);
	bf_cpv_release(&c);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Entries */

enum fmt { FMT_NONE, FMT_XPAK, FMT_GPKG };

static enum fmt
name_format(const char *name, size_t *extlen)
{
	size_t n = strlen(name);

	if (n > 5 && (strcmp(name + n - 5, ".tbz2") == 0 ||
	    strcmp(name + n - 5, ".xpak") == 0)) {
		*extlen = 5;
		return FMT_XPAK;
	}
	if (n > 9 && strcmp(name + n - 9, ".gpkg.tar") == 0) {
		*extlen = 9;
		return FMT_GPKG;
	}
	return FMT_NONE;
}

/* bintree._parse_build_id() */
static long long
parse_build_id(const char *base, size_t stemlen)
{
	const char *dash = NULL;
	char num[32];
	size_t i, pnl;
	long long id;

	for (i = stemlen; i > 0; i--)
		if (base[i - 1] == '-') {
			dash = base + i - 1;
			break;
		}
	if (dash == NULL || !pf_split(base, (size_t)(dash - base), &pnl))
		return -1;
	i = stemlen - (size_t)(dash - base) - 1;
	if (i >= sizeof(num))
		return -1;
	memcpy(num, dash + 1, i);
	num[i] = '\0';
	if (bf_pyint(num, &id) < 0)
		return -1;
	return id;
}

/*
 * bintree._aux_cache_keys, read by _populate_local() through
 * _read_metadata() (MD5, SIZE and _mtime_ are handled apart).
 */
static const char *const meta_keys[] = {
	"BDEPEND", "BUILD_ID", "BUILD_TIME", "CHOST", "DEFINED_PHASES",
	"DEPEND", "EAPI", "IDEPEND", "IUSE", "KEYWORDS", "LICENSE", "PDEPEND",
	"PROPERTIES", "PROVIDES", "RDEPEND", "REQUIRES", "RESTRICT", "SLOT",
	"USE", "repository",
};

static int
meta_value(const struct bf_meta *meta, const char *key, struct bf_buf *out,
    struct bf_err *e)
{
	const struct bf_meta_item *it = bf_meta_find(meta, key);

	bf_buf_reset(out);
	if (it == NULL)
		return 0;
	bf_py_normalize(out, it->val, it->len);
	if (bf_buf_error(out) < 0)
		return bf_err_nomem(e);
	if (memchr(out->buf, '\0', out->len) != NULL)
		return bf_err_set(e, BF_EMETADATA,
		    "metadata %s holds a NUL byte", key);
	return 1;
}

/* What bf_pkgdir_make_entry() checks and assembles, step by step. */
struct mkent {
	const struct bf_meta *meta;
	const char	*relpath;
	const char	*base;		/* the file name */
	size_t		 dirlen;	/* of relpath's directory */
	size_t		 stemlen;	/* of base, less the extension */
	enum fmt	 fmt;
	int		 multi;		/* PF-BUILDID.ext */
	int		 has_bid;	/* BUILD_ID in the metadata: mid */
	long long	 mid;
	struct bf_buf	 cat, pf, slot, v;
	struct bf_buf	 red[8];	/* USE-reduced bf_depstr_keys[] */
	char		 has_red[8];
	struct bf_useset use;
};

/* The file name's format; CATEGORY, PF and SLOT, all required. */
static int
mkent_names(struct mkent *m, struct bf_err *e)
{
	struct bf_buf miss = BF_BUF_INIT;
	const char *slash = strrchr(m->relpath, '/');
	size_t extlen = 0;
	int rc;

	m->base = slash != NULL ? slash + 1 : m->relpath;
	m->dirlen = slash != NULL ? (size_t)(slash - m->relpath) : 0;
	if ((m->fmt = name_format(m->base, &extlen)) == FMT_NONE)
		return bf_err_set(e, BF_EFORMAT, "not a binary package name");
	m->stemlen = strlen(m->base) - extlen;

	if ((rc = meta_value(m->meta, "CATEGORY", &m->cat, e)) < 0 ||
	    (rc = meta_value(m->meta, "PF", &m->pf, e)) < 0 ||
	    (rc = meta_value(m->meta, "SLOT", &m->slot, e)) < 0)
		return rc;
	if (m->cat.len == 0)
		bf_buf_adds(&miss, ", CATEGORY");
	if (m->pf.len == 0)
		bf_buf_adds(&miss, ", PF");
	if (m->slot.len == 0)
		bf_buf_adds(&miss, ", SLOT");
	rc = 0;
	if (miss.len > 0)
		rc = bf_err_set(e, BF_EMETADATA, "missing metadata key(s): %s",
		    miss.buf + 2);
	bf_buf_release(&miss);
	return rc;
}

/* The name must be PF.ext, or PF-BUILDID.ext for multi-instance. */
static int
mkent_file_name(struct mkent *m, struct bf_err *e)
{
	const char *base = m->base, *ext = m->base + m->stemlen;
	const struct bf_buf *pf = &m->pf;
	long long build_id = -1;
	char num[32];

	if (m->fmt == FMT_GPKG || strcmp(ext, ".xpak") == 0) {
		build_id = parse_build_id(base, m->stemlen);
		if (m->fmt == FMT_XPAK || build_id > 0)
			m->multi = 1;
	}
	if (m->multi) {
		if (build_id < 1 || m->stemlen != pf->len + 1 +
		    (size_t)snprintf(num, sizeof(num), "%lld", build_id) ||
		    memcmp(base, pf->buf, pf->len) != 0 || base[pf->len] != '-' ||
		    memcmp(base + pf->len + 1, num, m->stemlen - pf->len - 1) != 0)
			return bf_err_set(e, BF_EFORMAT,
			    "binary package name is invalid: PF is '%s', so the "
			    "name must be '%s-<BUILD_ID>%s'", pf->buf, pf->buf,
			    ext);
	} else if (m->stemlen != pf->len || memcmp(base, pf->buf, pf->len) != 0)
		return bf_err_set(e, BF_EFORMAT,
		    "binary package name is invalid: PF is '%s', so the name "
		    "must be '%s%s'", pf->buf, pf->buf, ext);
	return 0;
}

/* BUILD_ID from the metadata, as int(). */
static int
mkent_build_id(struct mkent *m, struct bf_err *e)
{
	int rc;

	if ((rc = meta_value(m->meta, "BUILD_ID", &m->v, e)) < 0)
		return rc;
	m->has_bid = m->v.len > 0;
	if (m->has_bid && bf_pyint(m->v.buf, &m->mid) < 0)
		return bf_err_set(e, BF_EMETADATA, "invalid BUILD_ID '%s'",
		    m->v.buf);
	return 0;
}

/* The directory: CATEGORY/ or All/, or CATEGORY/PN/ for multi-instance. */
static int
mkent_location(struct mkent *m, struct bf_err *e)
{
	const struct bf_buf *cat = &m->cat, *pf = &m->pf;
	const char *rel = m->relpath;
	size_t pnl;

	if (!pf_split(pf->buf, pf->len, &pnl))
		return bf_err_set(e, BF_EMETADATA,
		    "PF '%s' is not a valid package name and version", pf->buf);
	if (m->multi) {
		/* catsplit(mydir) == catpkgsplit(cat/pf)[:2] */
		if (!category_ok(cat->buf, cat->len) ||
		    m->dirlen != cat->len + 1 + pnl ||
		    memcmp(rel, cat->buf, cat->len) != 0 ||
		    rel[cat->len] != '/' ||
		    memcmp(rel + cat->len + 1, pf->buf, pnl) != 0)
			return bf_err_set(e, BF_EFORMAT,
			    "multi-instance package must be in '%s/%.*s/'",
			    cat->buf, (int)pnl, pf->buf);
	} else if (!(m->dirlen == cat->len &&
	    memcmp(rel, cat->buf, cat->len) == 0) &&
	    !(m->dirlen == 3 && memcmp(rel, "All", 3) == 0))
		return bf_err_set(e, BF_EFORMAT,
		    "package must be in '%s/' (CATEGORY) or 'All/'", cat->buf);
	if (!category_ok(cat->buf, cat->len))
		return bf_err_set(e, BF_EMETADATA, "unrecognized category '%s'",
		    cat->buf);
	return 0;
}

/*
 * bintree._eval_use_flags(): the dependency, LICENSE, PROPERTIES
 * and RESTRICT values are USE-reduced, in Portage's key order; an
 * invalid one makes the package invalid.
 */
static int
mkent_reduce(struct mkent *m, struct bf_err *e)
{
	size_t i;
	int rc;

	if ((rc = meta_value(m->meta, "USE", &m->v, e)) < 0)
		return rc;
	if (bf_useset_init(&m->use, m->v.buf != NULL ? m->v.buf : "",
	    m->v.len) < 0)
		return bf_err_nomem(e);
	for (i = 0; i < NELEM(m->red); i++) {
		if ((rc = meta_value(m->meta, bf_depstr_keys[i], &m->v, e)) < 0)
			return rc;
		if (rc == 0 || m->v.len == 0)
			continue;
		rc = bf_depstr_reduce(m->v.buf, m->v.len, &m->use, (unsigned)
		    bf_depstr_key_flags(bf_depstr_keys[i]), &m->red[i], e);
		if (rc < 0) {
			if (rc != -ENOMEM)
				bf_err_prefix(e, "invalid %s", bf_depstr_keys[i]);
			return rc;
		}
		if (bf_buf_error(&m->red[i]) < 0)
			return bf_err_nomem(e);
		m->has_red[i] = 1;
	}
	return 0;
}

/* The metadata keys of the entry, reduced ones as reduced. */
static int
mkent_meta_keys(struct mkent *m, struct bf_pkgindex *idx,
    struct bf_pkgindex_entry *ent, struct bf_err *e)
{
	struct bf_buf *v = &m->v;
	size_t i, k;
	int rc;

	for (i = 0; i < NELEM(meta_keys); i++) {
		if (bf_depstr_key_flags(meta_keys[i]) >= 0) {
			for (k = 0; strcmp(bf_depstr_keys[k], meta_keys[i]) != 0; k++)
				;
			if (m->has_red[k] && m->red[k].len > 0 &&
			    bf_pkgindex_setn(idx, ent, meta_keys[i], m->red[k].buf,
			    m->red[k].len) < 0)
				return bf_err_nomem(e);
			continue;
		}
		if ((rc = meta_value(m->meta, meta_keys[i], v, e)) < 0)
			return rc;
		if (strcmp(meta_keys[i], "EAPI") == 0 && rc == 0)
			bf_buf_adds(v, "0");
		if (strcmp(meta_keys[i], "BUILD_ID") == 0 && m->has_bid) {
			bf_buf_reset(v);
			bf_buf_addf(v, "%lld", m->mid);
		}
		if (v->len > 0 && bf_pkgindex_setn(idx, ent, meta_keys[i], v->buf,
		    v->len) < 0)
			return bf_err_nomem(e);
	}
	return 0;
}

/* The entry: metadata keys, then CPV, SIZE, MD5, SHA1, PATH, _mtime_. */
static int
mkent_add(struct mkent *m, long long size, long long mtime, const char *md5,
    const char *sha1, struct bf_pkgindex *idx, struct bf_err *e)
{
	struct bf_pkgindex_entry *ent;
	struct bf_buf cpv = BF_BUF_INIT;
	int rc;

	if ((ent = bf_pkgindex_add(idx)) == NULL)
		return bf_err_nomem(e);
	if ((rc = mkent_meta_keys(m, idx, ent, e)) < 0)
		return rc;
	bf_buf_addf(&cpv, "%s/%s", m->cat.buf, m->pf.buf);
	bf_buf_reset(&m->v);
	bf_buf_addf(&m->v, "%lld", size);
	rc = 0;
	if (bf_buf_error(&cpv) < 0 || bf_buf_error(&m->v) < 0 ||
	    bf_pkgindex_set(idx, ent, "CPV", cpv.buf) < 0 ||
	    bf_pkgindex_set(idx, ent, "SIZE", m->v.buf) < 0 ||
	    bf_pkgindex_set(idx, ent, "MD5", md5) < 0 ||
	    bf_pkgindex_set(idx, ent, "SHA1", sha1) < 0 ||
	    bf_pkgindex_set(idx, ent, "PATH", m->relpath) < 0)
		rc = bf_err_nomem(e);
	bf_buf_release(&cpv);
	if (rc < 0)
		return rc;
	bf_buf_reset(&m->v);
	bf_buf_addf(&m->v, "%lld", mtime);
	if (bf_buf_error(&m->v) < 0 ||
	    bf_pkgindex_set(idx, ent, "_mtime_", m->v.buf) < 0)
		return bf_err_nomem(e);
	return 0;
}

int
bf_pkgdir_make_entry(const struct bf_meta *meta, const char *relpath,
    long long size, long long mtime, const char *md5, const char *sha1,
    struct bf_pkgindex *idx, struct bf_err *e)
{
	struct mkent m;
	size_t k;
	int rc;

	memset(&m, 0, sizeof(m));
	m.meta = meta;
	m.relpath = relpath;
	bf_buf_init(&m.cat);
	bf_buf_init(&m.pf);
	bf_buf_init(&m.slot);
	bf_buf_init(&m.v);
	for (k = 0; k < NELEM(m.red); k++)
		bf_buf_init(&m.red[k]);
	m.use = (struct bf_useset)BF_USESET_INIT;
	if ((rc = mkent_names(&m, e)) == 0 &&
	    (rc = mkent_file_name(&m, e)) == 0 &&
	    (rc = mkent_build_id(&m, e)) == 0 &&
	    (rc = mkent_location(&m, e)) == 0 &&
	    (rc = mkent_reduce(&m, e)) == 0)
		rc = mkent_add(&m, size, mtime, md5, sha1, idx, e);
	bf_buf_release(&m.cat);
	bf_buf_release(&m.pf);
	bf_buf_release(&m.slot);
	bf_buf_release(&m.v);
	for (k = 0; k < NELEM(m.red); k++)
		bf_buf_release(&m.red[k]);
	bf_useset_release(&m.use);
	return rc;
}

int
bf_pkgdir_read_entry(int dirfd, const char *relpath, struct bf_pkgindex *idx,
    struct bf_err *e)
{
	struct bf_gpkg_verify_result res;
	struct bf_meta meta = BF_META_INIT;
	struct bf_digest d;
	struct stat st;
	size_t extlen;
	enum fmt fmt;
	int fd, rc, have_res = 0;

	fmt = name_format(strrchr(relpath, '/') ? strrchr(relpath, '/') + 1 :
	    relpath, &extlen);
	if (fmt == FMT_NONE)
		return bf_err_set(e, BF_EFORMAT, "not a binary package name");
	if ((fd = openat(dirfd, relpath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0)
		return bf_err_errno(e, "cannot open");
	if (fstat(fd, &st) < 0) {
		rc = bf_err_errno(e, "cannot stat");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = bf_err_set(e, BF_EFORMAT, "not a regular file");
		goto out;
	}
	if (st.st_size == 0) {
		rc = bf_err_set(e, BF_EFORMAT, "empty file");
		goto out;
	}
	if (fmt == FMT_GPKG) {
		/*
		 * gpkg.get_metadata() runs _verify_binpkg(metadata_only=True):
		 * the container, the Manifest and the metadata member's
		 * digests must be right.
		 */
		rc = bf_gpkg_verify(fd, relpath, BF_GPKG_VERIFY_METADATA_ONLY,
		    &res, e);
		have_res = 1;
		if (rc < 0)
			goto out;
	} else if ((rc = bf_xpak_read(fd, &meta, e)) < 0)
		goto out;
	if ((rc = bf_digest_fd(&d, BF_DIGEST_INDEX, fd, 0, -1, e)) < 0)
		goto out;
	if (d.size != (uint64_t)st.st_size) {
		rc = bf_err_set(e, BF_EFORMAT, "file changed while reading");
		goto out;
	}
	rc = bf_pkgdir_make_entry(have_res ? &res.meta : &meta, relpath,
	    (long long)st.st_size, (long long)st.st_mtime, d.hex[BF_MD5],
	    d.hex[BF_SHA1], idx, e);
out:
	if (have_res)
		bf_gpkg_verify_result_release(&res);
	bf_meta_release(&meta);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The walk */

struct cand {
	char		*path;		/* relative to the PKGDIR */
	long long	 size;
	long long	 mtime;
	long		 old;		/* index of a reusable old entry, or -1 */
	char		*bad;		/* why it is left out, or NULL */
	int		 worker;	/* which scratch index holds the entry */
	long		 ent;		/* entry index there, or -1 */
};

struct candlist {
	struct cand	*v;
	size_t		 n;
	size_t		 alloc;
};

static int
cand_add(struct candlist *l, const char *path, long long size,
    long long mtime, const char *bad)
{
	struct cand *c;

	if (bf_grow(&l->v, &l->alloc, l->n + 1, sizeof(*l->v), 256) < 0)
		return -ENOMEM;
	c = &l->v[l->n];
	memset(c, 0, sizeof(*c));
	c->old = -1;
	c->ent = -1;
	if ((c->path = strdup(path)) == NULL ||
	    (bad != NULL && (c->bad = strdup(bad)) == NULL)) {
		free(c->path);
		return -ENOMEM;
	}
	c->size = size;
	c->mtime = mtime;
	l->n++;
	return 0;
}

static void
candlist_release(struct candlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].bad);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct walker {
	struct candlist	 found;
	struct bf_err	 err;
	int		 rc;
	int		 root;		/* the PKGDIR */
	const struct bf_dircache *dc;	/* listings to reuse, or NULL */
	int		 record;	/* write new records into `out` */
	struct timespec	 now;		/* the filesystem's clock at the start */
	struct bf_buf	 out;		/* records for the new cache */
	char		*dbuf;		/* getdents64 buffer */
	size_t		 listed;
	size_t		 cached;
	size_t		 recorded;	/* records listed anew */
};

#define WALK_DBUF	32768

/*
 * Why a file named like a package, lstat()ed as `st`, is left out
 * without being read; NULL if it is to be read.
 */
static const char *
file_problem(const struct stat *st, const char *path, size_t len)
{
	if (S_ISDIR(st->st_mode))
		return "is a directory, not a package file";
	if (S_ISLNK(st->st_mode))
		return "is a symbolic link; Portage indexes regular files only";
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (!bf_utf8_valid(path, len))
		return "file name is not UTF-8; Portage skips it";
	return NULL;
}

/*
 * One name that looks like a package, `name` relative to `dfd`, `path`
 * relative to the PKGDIR.  Portage uses os.lstat().
 */
static int
walk_file(struct walker *w, int dfd, const char *name, const struct bf_buf *path)
{
	const char *why;
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;	/* removed meanwhile */
		return cand_add(&w->found, path->buf, 0, 0, "cannot stat");
	}
	if ((why = file_problem(&st, path->buf, path->len)) != NULL)
		return cand_add(&w->found, path->buf, 0, 0, why);
	return cand_add(&w->found, path->buf, (long long)st.st_size,
	    (long long)st.st_mtime, NULL);
}

static void
path_push(struct bf_buf *path, size_t plen, const char *name, size_t len)
{
	bf_buf_setlen(path, plen);
	bf_buf_addch(path, '/');
	bf_buf_add(path, name, len);
}

/*
 * os.walk() of the directory `path` (relative to the PKGDIR, not
 * empty) without following symbolic links.  A directory whose stamp is
 * the one recorded in the cache is not read again: its recorded names
 * are used, and every package file among them is still lstat()ed, as
 * Portage does, so a file rewritten in place is seen too.
 */
static int
walk_dir(struct walker *w, struct bf_buf *path, int depth)
{
	const struct bf_dircache_dir *cd;
	struct bf_buf rec = BF_BUF_INIT, sub = BF_BUF_INIT;
	struct bf_dirstamp ds;
	struct dirent64 *de;
	struct stat st;
	const char *p, *nl;
	size_t plen = path->len, nlen, extlen;
	unsigned char type;
	ssize_t n, off;
	int fd = -1, rc = 0, keep;

	if (depth > 64)
		return cand_add(&w->found, path->buf, 0, 0,
		    "directory tree too deep; not indexed below here");
	if ((rc = bf_buf_error(path)) < 0)
		return rc;

	if (w->dc != NULL &&
	    (cd = bf_dircache_find(w->dc, path->buf, plen)) != NULL &&
	    fstatat(w->root, path->buf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		bf_dirstamp_from_stat(&ds, &st);
		if (bf_dirstamp_equal(&ds, &cd->stamp)) {
			w->cached++;
			if (w->record)
				bf_buf_add(&w->out, cd->rec,
				    (size_t)(cd->rend - cd->rec));
			for (p = cd->kids; p < cd->kend; p = nl + 1) {
				nl = memchr(p, '\n', (size_t)(cd->kend - p));
				path_push(path, plen, p + 2, (size_t)(nl - p - 2));
				if ((rc = bf_buf_error(path)) < 0)
					goto out;
				rc = p[0] == 'd' ? walk_dir(w, path, depth + 1) :
				    walk_file(w, w->root, path->buf, path);
				if (rc < 0)
					goto out;
			}
			goto out;
		}
	}

	fd = openat(w->root, path->buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0) {
		rc = cand_add(&w->found, path->buf, 0, 0, "cannot open directory");
		goto out;
	}
	w->listed++;
	/* The stamp before the listing: a later change must not match it. */
	keep = w->record && fstat(fd, &st) == 0 &&
	    memchr(path->buf, '\n', plen) == NULL;
	if (keep) {
		bf_dirstamp_from_stat(&ds, &st);
		keep = bf_dirstamp_settled(&ds, &w->now);
	}
	if (keep)
		bf_dircache_add_dir(&rec, path->buf, plen, &ds);
	while ((n = getdents64(fd, w->dbuf, WALK_DBUF)) > 0) {
		for (off = 0; off < n; off += de->d_reclen) {
			de = (struct dirent64 *)(void *)(w->dbuf + off);
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			nlen = strlen(de->d_name);
			if (memchr(de->d_name, '\n', nlen) != NULL)
				keep = 0;
			type = de->d_type;
			if (name_format(de->d_name, &extlen) != FMT_NONE) {
				if (keep)
					bf_dircache_add_entry(&rec, 'f',
					    de->d_name, nlen);
				path_push(path, plen, de->d_name, nlen);
				if ((rc = bf_buf_error(path)) < 0 ||
				    (rc = walk_file(w, fd, de->d_name, path)) < 0)
					goto out;
				continue;
			}
			if (type == DT_UNKNOWN) {
				if (fstatat(fd, de->d_name, &st,
				    AT_SYMLINK_NOFOLLOW) < 0)
					continue;
				type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
			}
			if (type != DT_DIR)
				continue;
			if (keep)
				bf_dircache_add_entry(&rec, 'd', de->d_name,
				    nlen);
			bf_buf_add(&sub, de->d_name, nlen + 1);
		}
	}
	if (n < 0) {
		bf_buf_setlen(path, plen);
		rc = bf_err_errno(&w->err, "cannot read directory '%s'",
		    path->buf);
		goto out;
	}
	close(fd);
	fd = -1;
	if ((rc = bf_buf_error(&sub)) < 0 || (rc = bf_buf_error(&rec)) < 0)
		goto out;
	if (keep) {
		bf_buf_add(&w->out, rec.buf, rec.len);
		w->recorded++;
	}
	for (p = sub.buf; p < sub.buf + sub.len; p += nlen + 1) {
		nlen = strlen(p);
		path_push(path, plen, p, nlen);
		if ((rc = walk_dir(w, path, depth + 1)) < 0)
			goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	bf_buf_setlen(path, plen);
	bf_buf_release(&rec);
	bf_buf_release(&sub);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Threads */

struct job {
	pthread_mutex_t	 lock;
	int		 dirfd;
	/* Walk phase: top-level directories. */
	char		**dirs;
	size_t		 ndirs;
	size_t		 next_dir;
	/* Read phase: candidates. */
	struct cand	*cands;
	size_t		 ncands;
	size_t		 next_cand;
};

struct worker {
	struct job	*job;
	int		 id;
	struct walker	 walk;
	struct bf_pkgindex scratch;
	size_t		 read;
};

static void *
walk_worker(void *arg)
{
	struct worker *wk = arg;
	struct job *j = wk->job;
	struct bf_buf path = BF_BUF_INIT;
	size_t i;

	if ((wk->walk.dbuf = malloc(WALK_DBUF)) == NULL) {
		wk->walk.rc = bf_err_nomem(&wk->walk.err);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&j->lock);
		i = j->next_dir++;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->ndirs || wk->walk.rc < 0)
			break;
		bf_buf_reset(&path);
		bf_buf_adds(&path, j->dirs[i]);
		wk->walk.rc = walk_dir(&wk->walk, &path, 1);
	}
	bf_buf_release(&path);
	return NULL;
}

static void *
read_worker(void *arg)
{
	struct worker *wk = arg;
	struct job *j = wk->job;
	struct bf_err e;
	struct cand *c;
	size_t i;
	int rc;

	for (;;) {
		pthread_mutex_lock(&j->lock);
		while (j->next_cand < j->ncands &&
		    (j->cands[j->next_cand].old >= 0 ||
		    j->cands[j->next_cand].bad != NULL))
			j->next_cand++;
		i = j->next_cand++;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->ncands)
			break;
		c = &j->cands[i];
		bf_err_clear(&e);
		rc = bf_pkgdir_read_entry(j->dirfd, c->path, &wk->scratch, &e);
		wk->read++;
		if (rc < 0) {
			c->bad = strdup(bf_err_msg(&e, rc));
			if (c->bad == NULL)
				c->bad = strdup("out of memory");
		} else {
			c->worker = wk->id;
			c->ent = (long)wk->scratch.npkgs - 1;
		}
	}
	return NULL;
}

static int
run_workers(struct worker *wk, int n, void *(*fn)(void *))
{
	pthread_t tid[8];
	int i, started = 0;

	for (i = 1; i < n; i++) {
		if (pthread_create(&tid[i], NULL, fn, &wk[i]) != 0)
			break;
		started = i;
	}
	fn(&wk[0]);
	for (i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Old entries by PATH */

static int
cmp_cand(const void *a, const void *b)
{
	return strcmp(((const struct cand *)a)->path,
	    ((const struct cand *)b)->path);
}

struct ent_sort {
	struct bf_pkgindex_entry ent;
	const char	*cpv;
	const char	*path;
	long long	 bid;
};

static int
cmp_ent(const void *a, const void *b)
{
	const struct ent_sort *x = a, *y = b;
	int c = strcmp(x->cpv, y->cpv);

	if (c != 0)
		return c;
	if (x->bid != y->bid)
		return x->bid < y->bid ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int
same_instance(const struct bf_pkgindex *idx, const struct bf_pkgindex_entry *a,
    const struct bf_pkgindex_entry *b)
{
	static const char *const keys[] = {
		"CPV", "BUILD_ID", "SIZE", "BUILD_TIME", "_mtime_"
	};
	const char *x, *y;
	size_t i;

	for (i = 0; i < NELEM(keys); i++) {
		x = bf_pkgindex_value(idx, a, keys[i]);
		y = bf_pkgindex_value(idx, b, keys[i]);
		if (strcmp(x ? x : "", y ? y : "") != 0)
			return 0;
	}
	return 1;
}

/*
 * Sorts the entries of `idx` by CPV, BUILD_ID, PATH, and drops (and
 * reports) every entry of an instance already seen: the order and the
 * choice do not depend on the order of the previous index or of
 * readdir().  Returns 0 or -ENOMEM.
 */
static int
sort_entries(struct bf_pkgindex *idx, const struct bf_pkgdir_opts *o,
    struct bf_pkgdir_stats *st)
{
	const char *k_path = bf_pkgindex_key("PATH");
	const char *k_cpv = bf_pkgindex_key("CPV");
	const char *k_bid = bf_pkgindex_key("BUILD_ID");
	struct bf_buf msg = BF_BUF_INIT;
	struct ent_sort *es;
	const char *p, *cpv;
	size_t i, k, last;

	if (idx->npkgs == 0)
		return 0;
	if ((es = malloc(idx->npkgs * sizeof(*es))) == NULL)
		return -ENOMEM;
	for (i = 0; i < idx->npkgs; i++) {
		es[i].ent = idx->pkgs[i];
		cpv = bf_pkgindex_get(&es[i].ent, k_cpv);
		es[i].cpv = cpv ? cpv : "";
		p = bf_pkgindex_get(&es[i].ent, k_path);
		es[i].path = p ? p : "";
		p = bf_pkgindex_get(&es[i].ent, k_bid);
		if (p == NULL || bf_pyint(p, &es[i].bid) < 0)
			es[i].bid = -1;
	}
	qsort(es, idx->npkgs, sizeof(*es), cmp_ent);
	/* Each is compared with the last one kept (es[last]), never a dropped one. */
	for (i = k = last = 0; i < idx->npkgs; i++) {
		if (k > 0 && strcmp(es[i].cpv, es[last].cpv) == 0 &&
		    (es[i].ent.partial || es[last].ent.partial)) {
			/* Partial entries lack what same_instance() compares. */
			if (bf_pkgindex_complete(idx, &es[i].ent) < 0 ||
			    bf_pkgindex_complete(idx, &es[last].ent) < 0) {
				for (; i < idx->npkgs; i++)
					idx->pkgs[k++] = es[i].ent;
				idx->npkgs = k;
				free(es);
				return -ENOMEM;
			}
			idx->pkgs[k - 1] = es[last].ent;
		}
		if (k > 0 && strcmp(es[i].cpv, es[last].cpv) == 0 &&
		    same_instance(idx, &es[i].ent, &es[last].ent)) {
			bf_buf_reset(&msg);
			bf_buf_addf(&msg, "same CPV, BUILD_ID, BUILD_TIME, "
			    "SIZE and MTIME as '%s'; Portage keeps only "
			    "one of them", es[last].path);
			if (o != NULL && o->report != NULL)
				o->report(o->report_arg, es[i].path,
				    bf_buf_error(&msg) ? "duplicate" :
				    msg.buf);
			st->bad++;
			st->files--;
			free(es[i].ent.f);
			continue;
		}
		idx->pkgs[k++] = es[i].ent;
		last = i;
	}
	idx->npkgs = k;
	free(es);
	bf_buf_release(&msg);
	return 0;
}

struct loader {
	int		(*fn)(void *, struct bf_pkgindex *, struct bf_err *);
	void		*arg;
	struct bf_pkgindex *idx;
	struct bf_err	 err;
	int		 rc;
};

static void *
load_thread(void *arg)
{
	struct loader *l = arg;

	l->rc = l->fn(l->arg, l->idx, &l->err);
	return NULL;
}

static int
online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* One bf_pkgdir_update(): its options, threads and intermediate lists. */
struct update {
	int		 dirfd;
	const struct bf_pkgdir_opts *o;
	struct bf_pkgdir_stats *st;
	struct bf_err	*e;
	unsigned	 flags;
	int		 nt;
	struct worker	 wk[8];
	struct job	 job;
	int		 lock_init;
	char		**dirs;		/* top-level directories */
	size_t		 ndirs;
	struct candlist	 top, all;	/* package files at the top; all */
	struct bf_map	 map;		/* PATH -> old entry (borrowed) */
	unsigned char	*keep;		/* old entries reused */
	struct bf_dircache dc;
	struct bf_dircache_writer dw;
	int		 writing;
	struct timespec	 now;
	struct loader	 ld;
	pthread_t	 ltid;
	int		 loading;
};

/*
 * The directory cache and the caller's loader.  The new cache's
 * temporary file is created first: its mtime is the filesystem's clock
 * before any listing.
 */
static int
update_start(struct update *u, struct bf_pkgindex *idx)
{
	struct bf_err ce = BF_ERR_INIT;
	int w;

	if ((u->flags & (BF_PKGDIR_CACHE_READ | BF_PKGDIR_CACHE_WRITE)) &&
	    bf_dircache_load(&u->dc, u->dirfd, BF_PKGDIR_DIRCACHE) < 0)
		return -ENOMEM;
	if ((u->flags & BF_PKGDIR_CACHE_WRITE) && bf_dircache_begin(&u->dw,
	    u->dirfd, BF_PKGDIR_DIRCACHE, &u->now, &ce) == 0)
		u->writing = 1;
	/* The caller's loader runs alongside the walk. */
	if (u->o != NULL && u->o->load != NULL) {
		u->ld.fn = u->o->load;
		u->ld.arg = u->o->load_arg;
		u->ld.idx = idx;
		if (pthread_create(&u->ltid, NULL, load_thread, &u->ld) == 0)
			u->loading = 1;
		else
			load_thread(&u->ld);
	}
	for (w = 0; w < u->nt; w++) {
		u->wk[w].job = &u->job;
		u->wk[w].id = w;
		bf_pkgindex_init(&u->wk[w].scratch);
		u->wk[w].walk.root = u->dirfd;
		u->wk[w].walk.dc = u->flags & BF_PKGDIR_CACHE_READ ? &u->dc :
		    NULL;
		u->wk[w].walk.record = u->writing;
		u->wk[w].walk.now = u->now;
		bf_buf_init(&u->wk[w].walk.out);
	}
	return 0;
}

static int
add_dir(struct update *u, const char *name, size_t *adirs)
{
	if (bf_grow(&u->dirs, &*adirs, u->ndirs + 1, sizeof(*u->dirs), 64) < 0)
		return -ENOMEM;
	if ((u->dirs[u->ndirs] = strdup(name)) == NULL)
		return -ENOMEM;
	u->ndirs++;
	return 0;
}

/*
 * The top level: directories go to the walkers; a package file here is
 * never valid (no layout puts one at the top).
 */
static int
list_top(struct update *u)
{
	char buf[32768];
	struct dirent64 *de;
	struct stat sb;
	unsigned char type;
	size_t extlen, adirs = 0;
	ssize_t n, off;
	int fd, rc = 0;

	if ((fd = openat(u->dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return bf_err_errno(u->e, "cannot open the package directory");
	while (rc == 0 && (n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; rc == 0 && off < n; off += de->d_reclen) {
			de = (struct dirent64 *)(void *)(buf + off);
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			type = de->d_type;
			if (type == DT_UNKNOWN && fstatat(fd, de->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0)
				type = S_ISDIR(sb.st_mode) ? DT_DIR : DT_REG;
			if (name_format(de->d_name, &extlen) != FMT_NONE)
				rc = cand_add(&u->top, de->d_name, 0, 0,
				    type == DT_DIR ?
				    "is a directory, not a package file" :
				    not_at_top);
			else if (type == DT_DIR)
				rc = add_dir(u, de->d_name, &adirs);
		}
	}
	if (rc == 0 && n < 0)
		rc = bf_err_errno(u->e, "cannot read the package directory");
	else if (rc < 0)
		rc = bf_err_nomem(u->e);
	close(fd);
	return rc;
}

/* Walks the top-level directories on nt threads; waits for the loader. */
static int
walk(struct update *u)
{
	int w, rc = 0, n = u->nt;

	pthread_mutex_init(&u->job.lock, NULL);
	u->lock_init = 1;
	u->job.dirfd = u->dirfd;
	u->job.dirs = u->dirs;
	u->job.ndirs = u->ndirs;
	if (n > (int)u->ndirs)
		n = u->ndirs ? (int)u->ndirs : 1;
	run_workers(u->wk, n, walk_worker);
	for (w = 0; w < u->nt && rc == 0; w++)
		if ((rc = u->wk[w].walk.rc) < 0) {
			if (u->wk[w].walk.err.code)
				bf_err_set(u->e, u->wk[w].walk.err.code, "%s",
				    u->wk[w].walk.err.msg);
			else
				bf_err_set(u->e, rc, "cannot walk the package "
				    "directory");
		}
	if (rc < 0)
		return rc;
	if (u->loading) {
		pthread_join(u->ltid, NULL);
		u->loading = 0;
	}
	if (u->ld.fn != NULL && u->ld.rc < 0)
		return bf_err_set(u->e, u->ld.err.code ? u->ld.err.code :
		    u->ld.rc, "%s", bf_err_msg(&u->ld.err, u->ld.rc));
	return 0;
}

/*
 * Replaces the cache if anything in it changed: a listing recorded
 * anew, or a record left unused (a directory gone).
 */
static int
commit_cache(struct update *u)
{
	struct bf_buf cache = BF_BUF_INIT;
	struct bf_err ce = BF_ERR_INIT;
	size_t recorded = 0, cached = 0;
	int w, rc = 0;

	for (w = 0; w < u->nt; w++) {
		u->st->dirs_listed += u->wk[w].walk.listed;
		u->st->dirs_cached += u->wk[w].walk.cached;
		recorded += u->wk[w].walk.recorded;
		cached += u->wk[w].walk.cached;
	}
	if (u->writing && (recorded > 0 || cached != u->dc.ndirs)) {
		for (w = 0; w < u->nt; w++)
			bf_buf_add(&cache, u->wk[w].walk.out.buf,
			    u->wk[w].walk.out.len);
		if (bf_buf_error(&cache) < 0)
			rc = -ENOMEM;
		else {
			u->writing = 0;
			if (bf_dircache_commit(&u->dw, &cache, &ce) == 0)
				u->st->cache_written = 1;
		}
	}
	bf_buf_release(&cache);
	return rc;
}

/* Merges the candidates and sorts them by path. */
static int
merge_cands(struct update *u)
{
	struct candlist *all = &u->all, *l;
	int w;

	for (w = -1; w < u->nt; w++) {
		l = w < 0 ? &u->top : &u->wk[w].walk.found;
		if (l->n > 0) {
			if (bf_grow(&all->v, &all->alloc, all->n + l->n,
			    sizeof(*all->v), 1024) < 0)
				return -ENOMEM;
			memcpy(all->v + all->n, l->v, l->n * sizeof(*l->v));
			all->n += l->n;
		}
		free(l->v);
		memset(l, 0, sizeof(*l));
	}
	if (all->n > 1)
		qsort(all->v, all->n, sizeof(*all->v), cmp_cand);
	return 0;
}

/* Old entries by PATH (CPV.tbz2 without one, as Portage does). */
static int
map_old(struct update *u, struct bf_pkgindex *idx)
{
	struct bf_buf path = BF_BUF_INIT;
	const char *k_path = bf_pkgindex_key("PATH");
	const char *k_cpv = bf_pkgindex_key("CPV");
	const char *p, *cpv;
	size_t i;
	int rc = -ENOMEM;

	if (idx->npkgs == 0)
		return 0;
	if (bf_map_reserve(&u->map, idx->npkgs) < 0 ||
	    (u->keep = calloc(idx->npkgs, 1)) == NULL)
		goto out;
	for (i = 0; i < idx->npkgs; i++) {
		p = bf_pkgindex_get(&idx->pkgs[i], k_path);
		if (p == NULL || *p == '\0') {
			cpv = bf_pkgindex_get(&idx->pkgs[i], k_cpv);
			bf_buf_reset(&path);
			bf_buf_addf(&path, "%s.tbz2", cpv ? cpv : "");
			if (bf_buf_error(&path) < 0 || bf_pkgindex_set(idx,
			    &idx->pkgs[i], k_path, path.buf) < 0)
				goto out;
			p = bf_pkgindex_get(&idx->pkgs[i], k_path);
		}
		/* The first one wins; the map borrows the index's value. */
		if (bf_map_add(&u->map, p, i) < 0)
			goto out;
	}
	rc = 0;
out:
	bf_buf_release(&path);
	return rc;
}

/* The old entry of `c` if it can be reused without opening the file. */
static long
reusable(const struct update *u, const struct bf_pkgindex *idx,
    const struct cand *c)
{
	const struct bf_pkgindex_entry *oe;
	const char *ms, *ss, *p;
	long long v;
	size_t oi;

	if (!bf_map_get(&u->map, c->path, &oi) || u->keep[oi])
		return -1;
	oe = &idx->pkgs[oi];
	ms = bf_pkgindex_get(oe, bf_pkgindex_key("_mtime_"));
	ss = bf_pkgindex_get(oe, bf_pkgindex_key("SIZE"));
	if (ms == NULL || bf_pyint(ms, &v) < 0 || v != c->mtime ||
	    ss == NULL || bf_pyint(ss, &v) < 0 || v != c->size)
		return -1;
	if ((p = bf_pkgindex_get(oe, bf_pkgindex_key("MD5"))) == NULL ||
	    *p == '\0' ||
	    (p = bf_pkgindex_get(oe, bf_pkgindex_key("SHA1"))) == NULL ||
	    *p == '\0' ||
	    (p = bf_pkgindex_get(oe, bf_pkgindex_key("CPV"))) == NULL ||
	    *p == '\0')
		return -1;
	return (long)oi;
}

/* Reuses unchanged entries; reads the others on nt threads. */
static void
read_changed(struct update *u, const struct bf_pkgindex *idx)
{
	size_t i;
	long oi;
	int w;

	for (i = 0; i < u->all.n; i++) {
		struct cand *c = &u->all.v[i];

		if (c->bad != NULL)
			continue;
		u->st->files++;
		if ((oi = reusable(u, idx, c)) < 0)
			continue;
		c->old = oi;
		u->keep[oi] = 1;
		u->st->reused++;
	}
	u->job.cands = u->all.v;
	u->job.ncands = u->all.n;
	u->job.next_cand = 0;
	run_workers(u->wk, u->nt, read_worker);
	for (w = 0; w < u->nt; w++)
		u->st->read += u->wk[w].read;
}

/* Reports what is left out, in path order. */
static void
report_bad(struct update *u)
{
	const struct cand *c;
	size_t i;

	for (i = 0; i < u->all.n; i++) {
		c = &u->all.v[i];
		if (c->bad == NULL)
			continue;
		u->st->bad++;
		if (c->ent == -1 && c->old == -1 &&
		    (c->size != 0 || c->mtime != 0))
			u->st->files--;	/* found as a file, but unreadable */
		if (u->o != NULL && u->o->report != NULL)
			u->o->report(u->o->report_arg, c->path, c->bad);
	}
}

/* Drops old entries that were not kept; then adds the new ones. */
static int
replace_entries(struct update *u, struct bf_pkgindex *idx)
{
	size_t i, nkeep = 0;

	for (i = 0; i < idx->npkgs; i++) {
		if (u->keep != NULL && u->keep[i])
			idx->pkgs[nkeep++] = idx->pkgs[i];
		else {
			free(idx->pkgs[i].f);
			u->st->dropped++;
		}
	}
	idx->npkgs = nkeep;
	for (i = 0; i < u->all.n; i++) {
		const struct cand *c = &u->all.v[i];

		if (c->ent >= 0 && bf_pkgindex_add_copy(idx,
		    &u->wk[c->worker].scratch.pkgs[c->ent]) == NULL)
			return -ENOMEM;
	}
	return 0;
}

static void
update_release(struct update *u)
{
	size_t i;
	int w;

	if (u->loading)
		pthread_join(u->ltid, NULL);
	if (u->writing)
		bf_dircache_abort(&u->dw);
	bf_dircache_release(&u->dc);
	for (w = 0; w < u->nt; w++) {
		candlist_release(&u->wk[w].walk.found);
		bf_pkgindex_release(&u->wk[w].scratch);
		bf_buf_release(&u->wk[w].walk.out);
		free(u->wk[w].walk.dbuf);
	}
	candlist_release(&u->top);
	candlist_release(&u->all);
	if (u->lock_init)
		pthread_mutex_destroy(&u->job.lock);
	for (i = 0; i < u->ndirs; i++)
		free(u->dirs[i]);
	free(u->dirs);
	bf_map_release(&u->map);
	free(u->keep);
}

int
bf_pkgdir_update(int dirfd, struct bf_pkgindex *idx,
    const struct bf_pkgdir_opts *o, struct bf_pkgdir_stats *st,
    struct bf_err *e)
{
	struct bf_pkgdir_stats dummy;
	struct update *u;
	int rc;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return bf_err_nomem(e);
	u->dirfd = dirfd;
	u->o = o;
	u->st = st != NULL ? st : &dummy;
	u->e = e;
	u->flags = o != NULL ? o->flags : 0;
	u->nt = o != NULL && o->threads > 0 ? o->threads : online_cpus();
	if (u->nt > 8)
		u->nt = 8;
	u->dc = (struct bf_dircache)BF_DIRCACHE_INIT;
	u->map = (struct bf_map)BF_MAP_INIT_BORROW;
	u->dw = (struct bf_dircache_writer)BF_DIRCACHE_WRITER_INIT;
	memset(u->st, 0, sizeof(*u->st));
	if ((rc = update_start(u, idx)) < 0 || (rc = list_top(u)) < 0 ||
	    (rc = walk(u)) < 0)
		goto out;
	if ((rc = commit_cache(u)) < 0 || (rc = merge_cands(u)) < 0 ||
	    (rc = map_old(u, idx)) < 0)
		goto out;
	read_changed(u, idx);
	report_bad(u);
	/* Sort by CPV, BUILD_ID, PATH; spot duplicate instances. */
	if ((rc = replace_entries(u, idx)) < 0 ||
	    (rc = sort_entries(idx, o, u->st)) < 0)
		goto out;
out:
	if (rc == -ENOMEM)
		rc = bf_err_nomem(e);
	update_release(u);
	free(u);
	return rc;
}

/*
 * Why the walk would not find `path` (relative to dirfd) as a package
 * file to read, or NULL: it must be below the top, through real
 * directories (os.walk() follows no symbolic link), and pass
 * file_problem().
 */
static const char *
named_problem(int dirfd, const char *path, struct bf_buf *why)
{
	const char *p, *slash, *base;
	size_t extlen, depth = 0;
	struct stat st;
	char dir[4096];

	bf_buf_reset(why);
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	if (name_format(base, &extlen) == FMT_NONE)
		return "not a binary package name (.gpkg.tar, .xpak or .tbz2)";
	if (base == path)
		return not_at_top;
	for (p = path; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		if (slash == p || (slash - p == 1 && p[0] == '.') ||
		    (slash - p == 2 && p[0] == '.' && p[1] == '.') || *p == '/')
			return "not a plain path below the package directory";
		if (++depth > 64)
			return "directory tree too deep";
		if ((size_t)(slash - path) >= sizeof(dir))
			return "path too long";
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (fstatat(dirfd, dir, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode)) {
			bf_buf_addf(why, "'%s' is not a directory (symbolic "
			    "links are not followed)", dir);
			return bf_buf_error(why) < 0 ? "not a directory" : NULL;
		}
	}
	bf_buf_reset(why);
	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		bf_buf_addf(why, "cannot stat: %s", strerror(errno));
		return bf_buf_error(why) < 0 ? "cannot stat" : NULL;
	}
	return file_problem(&st, path, strlen(path));
}

int
bf_pkgdir_add(int dirfd, struct bf_pkgindex *idx, const char *const *paths,
    size_t npaths, const struct bf_pkgdir_opts *o, struct bf_pkgdir_stats *st,
    struct bf_err *e)
{
	struct bf_pkgdir_stats dummy;
	struct bf_pkgindex scratch = BF_PKGINDEX_INIT;
	struct bf_buf why = BF_BUF_INIT, tbz = BF_BUF_INIT;
	const char *k_path = bf_pkgindex_key("PATH");
	const char *k_cpv = bf_pkgindex_key("CPV");
	const char *msg, *p;
	unsigned char *named = NULL;
	struct bf_err re;
	size_t i, j, k;
	int rc = 0;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (npaths > 0 && (named = calloc(npaths, 1)) == NULL)
		goto oom;
	for (i = 0; i < npaths; i++) {
		for (j = 0; j < i && strcmp(paths[j], paths[i]) != 0; j++)
			;
		if (j < i)
			continue;	/* named twice */
		named[i] = 1;
		st->files++;
		if ((msg = named_problem(dirfd, paths[i], &why)) == NULL &&
		    why.len > 0)
			msg = why.buf;
		if (msg == NULL) {
			bf_err_clear(&re);
			if ((rc = bf_pkgdir_read_entry(dirfd, paths[i], &scratch,
			    &re)) == -ENOMEM)
				goto oom;
			st->read++;
			if (rc < 0)
				msg = bf_err_msg(&re, rc);
		}
		if (msg != NULL) {
			st->bad++;
			st->files--;
			named[i] = 0;
			if (o != NULL && o->report != NULL)
				o->report(o->report_arg, paths[i], msg);
		}
	}
	rc = 0;

	/* The named files' old entries go (PATH, else CPV.tbz2). */
	for (i = k = 0; i < idx->npkgs; i++) {
		if ((p = bf_pkgindex_get(&idx->pkgs[i], k_path)) == NULL ||
		    *p == '\0') {
			bf_buf_reset(&tbz);
			p = bf_pkgindex_get(&idx->pkgs[i], k_cpv);
			bf_buf_addf(&tbz, "%s.tbz2", p != NULL ? p : "");
			if (bf_buf_error(&tbz) < 0)
				goto oom;
			p = tbz.buf;
		}
		for (j = 0; j < npaths && !(named[j] && strcmp(paths[j], p) == 0);
		    j++)
			;
		if (j < npaths) {
			free(idx->pkgs[i].f);
			st->dropped++;
			continue;
		}
		idx->pkgs[k++] = idx->pkgs[i];
	}
	idx->npkgs = k;
	for (i = 0; i < scratch.npkgs; i++)
		if (bf_pkgindex_add_copy(idx, &scratch.pkgs[i]) == NULL)
			goto oom;
	if (sort_entries(idx, o, st) < 0)
		goto oom;
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	free(named);
	bf_pkgindex_release(&scratch);
	bf_buf_release(&why);
	bf_buf_release(&tbz);
	return rc;
}
