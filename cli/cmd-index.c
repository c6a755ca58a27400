/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm index: write (or check) a PKGDIR's Packages and Packages.gz
 * as Portage's `emaint binhost --fix` (`--check`) would.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "base/buf.h"
#include "cli.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "format/pkgdir.h"
#include "format/pkgindex.h"
#include "format/pystr.h"
#include "format/reindex.h"
#include "base/banned.h"

static const char usage_str[] =
    "[-qv] [--check] [-j N] [--header KEY=VALUE]... [--portage-gzip]\n"
    "       [--no-gzip] [--no-dir-cache] PKGDIR\n"
    "       binfarm index [-qv] [--header KEY=VALUE]... [--portage-gzip]\n"
    "       [--no-gzip] --add PKGDIR FILE...";

static const char help_str[] =
    "Writes PKGDIR/Packages and Packages.gz for the binary packages under\n"
    "PKGDIR, byte for byte as Portage does.  Entries of unchanged files\n"
    "are reused; bad files are reported and left out.\n"
    "\n"
    "  --add               update the entries of the package files FILE...\n"
    "                      (under PKGDIR) only, without walking PKGDIR;\n"
    "                      writes nothing if one of them is bad\n"
    "  --check             report differences between the index and the\n"
    "                      files; write nothing\n"
    "  -j, --jobs N        threads reading packages (default: CPUs)\n"
    "  --header KEY=VALUE  set a header key (CHOST, REPO, URI, TTL, ...);\n"
    "                      KEY= removes it; kept in later runs\n"
    "  --portage-gzip      Packages.gz as one deflate stream, identical\n"
    "                      to Portage's bytes (slower to update)\n"
    "  --no-gzip           do not write Packages.gz (and remove it)\n"
    "  --no-dir-cache      list every directory; neither use nor update\n"
    "                      .Packages.dircache\n"
    "  -q, --quiet         print only warnings and errors\n"
    "  -v, --verbose       print what was reused, read and compressed\n"
    "\n"
    "Exit status: 0 done, 1 a package was bad or --check found a\n"
    "difference, 2 usage or system error.\n";

static double
ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

struct index_ctx {
	struct bf_cli	*cli;
	const char	*pkgdir;
	int		 check;
	int		 nbad;
};

static void
report_bad(void *arg, const char *path, const char *msg)
{
	struct index_ctx *c = arg;

	c->nbad++;
	cli_warn(c->cli, "'%s/%s': %s", c->pkgdir, path, msg);
}

/* read_file() on a FIFO, device or directory: refused, never blocked on. */
#define ENOTREG		(BF_ELAST + 1)

static const char *
read_strerror(int rc)
{
	return rc == -ENOTREG ? "not a regular file" : strerror(-rc);
}

/*
 * Opens `name` relative to dirfd for reading, without blocking on a FIFO;
 * a descriptor of a regular file (its fstat in `st`), -ENOTREG or -errno.
 */
static int
open_regular(int dirfd, const char *name, struct stat *st)
{
	int fd, rc;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, st) < 0)
		rc = -errno;
	else if (!S_ISREG(st->st_mode))
		rc = -ENOTREG;
	else
		return fd;
	close(fd);
	return rc;
}

/*
 * Reads a whole file relative to dirfd; -ENOENT if it does not exist,
 * -ENOTREG if it is not a regular file (opened without blocking).
 */
static int
read_file(int dirfd, const char *name, struct bf_buf *out, struct stat *st)
{
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open_regular(dirfd, name, st)) < 0)
		return fd;
	/* Straight into the buffer; it may have grown since the fstat. */
	for (;;) {
		if (bf_buf_grow(out, out->len > (size_t)st->st_size ?
		    65536 : (size_t)st->st_size - out->len + 65536) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		n = read(fd, out->buf + out->len, out->alloc - out->len - 1);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		bf_buf_setlen(out, out->len + (size_t)n);
	}
	rc = bf_buf_error(out);
out:
	close(fd);
	return rc;
}

/*
 * Does the package stanza at s (len bytes, its lines ending in '\n')
 * name a file that exists under dirfd?  By PATH, else by CPV and the
 * names Portage gives a package without PATH (never outside dirfd: no
 * leading '/', no "..").  1: it does; 0: it does not; -1: no CPV, so not
 * an entry Portage would read at all.
 */
static int
stanza_live(int dirfd, const char *s, size_t len)
{
	static const char *const ext[] = { ".tbz2", ".xpak", ".gpkg.tar" };
	const char *p = s, *end = s + len, *nl, *cpv = NULL, *pth = NULL;
	size_t cpvlen = 0, pthlen = 0, i;
	char path[PATH_MAX];
	struct stat st;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) > 6 && memcmp(p, "PATH: ", 6) == 0) {
			pth = p + 6;
			pthlen = (size_t)(nl - pth);
		} else if ((size_t)(nl - p) > 5 && memcmp(p, "CPV: ", 5) == 0) {
			cpv = p + 5;
			cpvlen = (size_t)(nl - cpv);
		}
	}
	if (cpv == NULL)
		return -1;
	if (pth != NULL)
		return pthlen < sizeof(path) &&
		    snprintf(path, sizeof(path), "%.*s", (int)pthlen, pth) > 0 &&
		    path[0] != '/' && strstr(path, "..") == NULL &&
		    fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		if (snprintf(path, sizeof(path), "%.*s%s", (int)cpvlen, cpv,
		    ext[i]) < (int)sizeof(path) && path[0] != '/' &&
		    strstr(path, "..") == NULL &&
		    fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return 1;
	}
	return 0;
}

/*
 * Reads Packages as read_file() does, keeping only the header and the
 * stanzas whose file exists: the old index is a cache of what the files
 * say, so memory follows the package files present, not what an old
 * (or hostile) Packages claims.  The file is read in chunks; *dropped
 * counts the stanzas left out (then `out` is not the file's text).
 */
static int
read_packages_live(int dirfd, struct bf_buf *out, struct stat *st,
    size_t *dropped)
{
	struct bf_buf chunk = BF_BUF_INIT;
	size_t start = 0, at, keep;	/* at: where the search goes on */
	int fd, rc = 0, header = 1, eof = 0, live = 0;
	ssize_t n;
	char *nl;

	*dropped = 0;
	if ((fd = open_regular(dirfd, "Packages", st)) < 0)
		return fd;
	/*
	 * chunk holds the unfinished stanza at chunk.buf + start; a stanza
	 * ends at a line that is empty.
	 */
	at = 0;
	while (!eof) {
		if (start > 0) {
			memmove(chunk.buf, chunk.buf + start, chunk.len - start);
			bf_buf_setlen(&chunk, chunk.len - start);
			at -= start;
			start = 0;
		}
		if (bf_buf_grow(&chunk, 1 << 20) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		n = read(fd, chunk.buf + chunk.len, chunk.alloc - chunk.len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			eof = 1;
		bf_buf_setlen(&chunk, chunk.len + (size_t)n);
		for (;;) {
			/* the end of the stanza: "\n\n", or the end of the file */
			nl = NULL;
			while (at < chunk.len && (nl = memchr(chunk.buf + at, '\n',
			    chunk.len - at)) != NULL) {
				at = (size_t)(nl - chunk.buf) + 1;
				if (at < chunk.len && chunk.buf[at] == '\n')
					break;
				nl = NULL;
			}
			if (nl != NULL)
				keep = at + 1 - start;	/* with the empty line */
			else if (eof && start < chunk.len)
				keep = chunk.len - start;
			else {
				/* Read on; look again at the last byte only. */
				at = chunk.len > start ? chunk.len - 1 : start;
				break;
			}
			if (header || (live = stanza_live(dirfd,
			    chunk.buf + start, keep)) > 0)
				bf_buf_add(out, chunk.buf + start, keep);
			else if (live == 0)
				(*dropped)++;
			header = 0;
			start += keep;
			at = start;
		}
		if (bf_buf_error(out) < 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	bf_buf_release(&chunk);
	close(fd);
	return rc;
}

/*
 * Portage's lock on the index: fcntl.lockf() on
 * PKGDIR/.Packages.portage_lockfile (portage.locks.lockfile(...,
 * wantnewlockfile=1)), so we never interleave with emerge --buildpkg.
 */
static int
lock_index(const struct bf_cli *cli, int dirfd, const char *pkgdir)
{
	struct flock fl;
	struct stat a, b;
	int fd, tries;

	for (tries = 0; tries < 100; tries++) {
		fd = openat(dirfd, ".Packages.portage_lockfile",
		    O_RDWR | O_CREAT | O_CLOEXEC, 0660);
		if (fd < 0) {
			cli_error(cli, "cannot create '%s/.Packages.portage_lockfile': %s",
			    pkgdir, strerror(errno));
			return -1;
		}
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		while (fcntl(fd, F_SETLKW, &fl) < 0) {
			if (errno == EINTR)
				continue;
			cli_error(cli, "cannot lock '%s/.Packages.portage_lockfile': %s",
			    pkgdir, strerror(errno));
			close(fd);
			return -1;
		}
		/* The previous holder may have removed it: lock the live file. */
		if (fstat(fd, &a) == 0 && fstatat(dirfd,
		    ".Packages.portage_lockfile", &b, 0) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
	cli_error(cli, "cannot lock '%s/.Packages.portage_lockfile'", pkgdir);
	return -1;
}

/* bintree._pkgindex_version_supported() */
static int
version_supported(const struct bf_pkgindex *idx)
{
	const char *v = bf_pkgindex_get(&idx->header, "VERSION");
	long long n;

	return v != NULL && *v != '\0' && bf_pyint(v, &n) == 0 && n <= 0;
}

/* Does Packages.gz gunzip to `text`?  Returns 1, 0, or -1 if absent. */
static int
gz_matches(int dirfd, const char *text, size_t len, struct bf_buf *why)
{
	struct bf_buf gz = BF_BUF_INIT, out = BF_BUF_INIT;
	struct stat st;
	z_stream z;
	int rc, ok = 0;

	if ((rc = read_file(dirfd, "Packages.gz", &gz, &st)) < 0) {
		bf_buf_release(&gz);
		if (rc == -ENOENT)
			return -1;
		bf_buf_addf(why, "cannot read Packages.gz: %s", read_strerror(rc));
		return 0;
	}
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		bf_buf_adds(why, "cannot initialise zlib");
		goto out;
	}
	z.next_in = (unsigned char *)gz.buf;
	z.avail_in = (uInt)gz.len;
	do {
		if (bf_buf_grow(&out, 1 << 20) < 0)
			break;
		z.next_out = (unsigned char *)out.buf + out.len;
		z.avail_out = (uInt)(out.alloc - out.len - 1);
		rc = inflate(&z, Z_NO_FLUSH);
		bf_buf_setlen(&out, (size_t)((char *)z.next_out - out.buf));
	} while (rc == Z_OK);
	inflateEnd(&z);
	if (rc != Z_STREAM_END)
		bf_buf_adds(why, "Packages.gz is corrupt");
	else if (out.len != len || memcmp(out.buf, text, len) != 0)
		bf_buf_adds(why, "Packages.gz does not hold the same bytes as Packages");
	else
		ok = 1;
out:
	bf_buf_release(&gz);
	bf_buf_release(&out);
	return ok;
}

struct load_ctx {
	struct index_ctx *ctx;
	int		 dirfd;
	char		**headers;
	size_t		 nheaders;
	struct bf_buf	*oldtext;
	struct stat	*st;
	struct bf_pkgindex *old;	/* a second parse, for --check */
	int		 have_old;
	long long	 oldts;
	int		 unsupported;	/* the old index was dropped */
	int		 partial_ok;	/* may read it with BF_PKGINDEX_PARTIAL */
	int		 partial;	/* and did */
	uint32_t	 crc;		/* the old text's CRC-32, if partial */
	int		 failed;	/* and said why */
	int		 live_only;	/* read only stanzas of existing files */
	size_t		 dropped;	/* entries it left out */
	int		 altered;	/* oldtext is not the file's text */
};

/*
 * The previous index, read as Portage reads it, plus the --header
 * settings: bf_pkgdir_update() runs this on a thread of its own while
 * it walks the PKGDIR.
 */
static int
load_old(void *arg, struct bf_pkgindex *idx, struct bf_err *e)
{
	struct load_ctx *l = arg;
	struct index_ctx *ctx = l->ctx;
	size_t i;
	int rc;

	/*
	 * Indexing the whole PKGDIR, the stanzas of files that are gone
	 * are dropped anyway: left unread, they cost no memory.  --check
	 * must see them, --add keeps them.
	 */
	if (l->live_only) {
		rc = read_packages_live(l->dirfd, l->oldtext, l->st, &l->dropped);
		/* stanzas left out, counted or not (no CPV) */
		l->altered = rc == 0 &&
		    l->oldtext->len != (size_t)l->st->st_size;
	} else
		rc = read_file(l->dirfd, "Packages", l->oldtext, l->st);
	if (rc < 0 && rc != -ENOENT) {
		cli_error(ctx->cli, "cannot read '%s/Packages': %s", ctx->pkgdir,
		    read_strerror(rc));
		l->failed = 1;
		return rc;
	}
	l->have_old = rc == 0;
	/*
	 * --add reads only what it needs of each stanza of a text we wrote
	 * canonical; anything unexpected there, and it reads it all.
	 */
	if (l->have_old && l->partial_ok &&
	    bf_pkgindex_canonical(l->dirfd, l->oldtext->buf, l->oldtext->len,
	    &l->crc)) {
		rc = bf_pkgindex_parse(idx, l->oldtext->buf, l->oldtext->len,
		    BF_PKGINDEX_PARTIAL, e);
		if (rc == -ENOMEM)
			return rc;
		l->partial = rc == 0;
		if (rc < 0) {
			bf_pkgindex_release(idx);
			bf_err_clear(e);
		}
	}
	if (l->have_old) {
		/* Unchanged entries are then written as the bytes read. */
		if ((!l->partial && (rc = bf_pkgindex_parse(idx, l->oldtext->buf,
		    l->oldtext->len, BF_PKGINDEX_KEEP_STANZAS, e)) < 0) ||
		    (ctx->check && (rc = bf_pkgindex_parse(l->old,
		    l->oldtext->buf, l->oldtext->len, 0, e)) < 0))
			return rc;
		l->oldts = bf_pkgindex_timestamp(idx);
		if (!version_supported(idx)) {
			l->unsupported = 1;
			cli_warn(ctx->cli, "'%s/Packages' has no supported "
			    "VERSION; indexing from scratch", ctx->pkgdir);
			bf_pkgindex_release(idx);
			if (ctx->check)
				bf_pkgindex_release(l->old);
		}
	}
	for (i = 0; i < l->nheaders; i++) {
		const char *eq = strchr(l->headers[i], '=');
		char key[256];

		snprintf(key, sizeof(key), "%.*s", (int)(eq - l->headers[i]),
		    l->headers[i]);
		if (bf_pkgindex_set_header(idx, bf_pkgindex_key_internal(key),
		    eq[1] != '\0' ? eq + 1 : NULL) < 0)
			return bf_err_nomem(e);
	}
	/* _update_pkgindex_header() without a profile: setdefault VERSION. */
	if (bf_pkgindex_get(&idx->header, "VERSION") == NULL &&
	    bf_pkgindex_set(idx, &idx->header, "VERSION", "0") < 0)
		return bf_err_nomem(e);
	return 0;
}

struct bypath {
	const char	*path;
	size_t		 i;
};

static int
cmp_bypath(const void *a, const void *b)
{
	return strcmp(((const struct bypath *)a)->path,
	    ((const struct bypath *)b)->path);
}

static struct bypath *
sort_bypath(const struct bf_pkgindex *idx)
{
	struct bypath *v;
	size_t i;

	if ((v = calloc(idx->npkgs + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < idx->npkgs; i++) {
		v[i].path = bf_pkgindex_get(&idx->pkgs[i], "PATH");
		if (v[i].path == NULL)
			v[i].path = "";
		v[i].i = i;
	}
	qsort(v, idx->npkgs, sizeof(*v), cmp_bypath);
	return v;
}

static int
same_val(const struct bf_pkgindex *a, const struct bf_pkgindex_entry *x,
    const struct bf_pkgindex *b, const struct bf_pkgindex_entry *y,
    const char *key)
{
	const char *u = bf_pkgindex_value(a, x, key);
	const char *v = bf_pkgindex_value(b, y, key);

	return u != NULL && v != NULL && strcmp(u, v) == 0;
}

/*
 * --check: compare the index on disk (old) with what the files give
 * (idx), as `emaint binhost --check` does, and print each difference.
 * Returns the number of differences.
 */
static int
check_diff(int dirfd, const struct bf_pkgindex *old,
    const struct bf_pkgindex *idx, const struct bf_buf *oldtext,
    const struct bf_buf *newtext, int have_old)
{
	struct bf_buf why = BF_BUF_INIT;
	struct bypath *nv = NULL, *ov = NULL;
	const struct bf_pkgindex_entry *x, *y;
	struct stat a, b;
	size_t i = 0, j = 0;
	int ndiff = 0, g, c;

	if (!have_old) {
		printf("Packages is missing\n");
		return 1;
	}
	if ((nv = sort_bypath(idx)) == NULL || (ov = sort_bypath(old)) == NULL) {
		printf("out of memory\n");
		ndiff++;
		goto out;
	}
	while (i < idx->npkgs || j < old->npkgs) {
		if (i == idx->npkgs)
			c = 1;
		else if (j == old->npkgs)
			c = -1;
		else
			c = strcmp(nv[i].path, ov[j].path);
		if (c < 0) {
			printf("'%s' is not in Packages\n", nv[i].path);
			ndiff++;
			i++;
		} else if (c > 0) {
			printf("'%s' (%s) is in Packages but not in the "
			    "repository\n", ov[j].path,
			    bf_pkgindex_get(&old->pkgs[ov[j].i], "CPV"));
			ndiff++;
			j++;
		} else {
			x = &idx->pkgs[nv[i].i];
			y = &old->pkgs[ov[j].i];
			if (!same_val(idx, x, old, y, "SIZE") ||
			    !same_val(idx, x, old, y, "_mtime_") ||
			    !same_val(idx, x, old, y, "MD5") ||
			    !same_val(idx, x, old, y, "SHA1")) {
				printf("'%s' changed since Packages was "
				    "written\n", nv[i].path);
				ndiff++;
			}
			i++;
			j++;
		}
	}
	if (ndiff == 0 && (oldtext->len != newtext->len ||
	    memcmp(oldtext->buf, newtext->buf, newtext->len) != 0)) {
		printf("Packages is not as Portage would write it\n");
		ndiff++;
	}
	g = gz_matches(dirfd, oldtext->buf, oldtext->len, &why);
	if (g < 0) {
		printf("Packages.gz is missing\n");
		ndiff++;
	} else if (g == 0) {
		printf("%s\n", why.buf);
		ndiff++;
	} else if (fstatat(dirfd, "Packages", &a, 0) == 0 &&
	    fstatat(dirfd, "Packages.gz", &b, 0) == 0 &&
	    a.st_mtime != b.st_mtime) {
		printf("Uncompressed index timestamp '%lld' is not equal to "
		    "compressed index timestamp '%lld'\n", (long long)a.st_mtime,
		    (long long)b.st_mtime);
		ndiff++;
	}
out:
	free(nv);
	free(ov);
	bf_buf_release(&why);
	return ndiff;
}

/*
 * FILE as a path relative to the PKGDIR whose real path is `root`:
 * its directory is resolved (as the walk would reach it), its name is
 * kept.  NULL, with a message, if it is not under the PKGDIR.
 */
static char *
relative_to(const char *root, const char *file, struct bf_buf *why)
{
	struct bf_buf dir = BF_BUF_INIT, rel = BF_BUF_INIT;
	const char *slash = strrchr(file, '/'), *base;
	char real[PATH_MAX];
	size_t rl = strlen(root);

	bf_buf_reset(why);
	base = slash != NULL ? slash + 1 : file;
	if (slash == NULL)
		bf_buf_adds(&dir, ".");
	else if (slash == file)
		bf_buf_adds(&dir, "/");
	else
		bf_buf_add(&dir, file, (size_t)(slash - file));
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		bf_buf_adds(why, "not a file name");
	else if (bf_buf_error(&dir) < 0 || realpath(dir.buf, real) == NULL)
		bf_buf_addf(why, "cannot resolve '%s': %s", dir.buf,
		    strerror(errno));
	else if (strcmp(real, root) == 0)
		bf_buf_adds(&rel, base);
	else if (strncmp(real, root, rl) == 0 && (real[rl] == '/' ||
	    (rl == 1 && root[0] == '/')))
		bf_buf_addf(&rel, "%s/%s", real + (rl == 1 ? 1 : rl + 1), base);
	else
		bf_buf_adds(why, "not under the package directory");
	bf_buf_release(&dir);
	if (why->len > 0 || bf_buf_error(&rel) < 0) {
		bf_buf_release(&rel);
		return NULL;
	}
	return bf_buf_detach(&rel, NULL);
}

/*
 * --add: the previous index, which must be there, with the entries of
 * the named files updated.  Returns 0, a negative error not yet
 * reported, or 1 when it has said what is wrong.
 */
static int
add_files(struct index_ctx *ctx, int dirfd, char **files, size_t nfiles,
    struct load_ctx *ld, struct bf_pkgindex *idx,
    const struct bf_pkgdir_opts *po, struct bf_pkgdir_stats *ps,
    struct bf_err *e)
{
	struct bf_buf why = BF_BUF_INIT;
	char root[PATH_MAX], **rels = NULL;
	size_t i, n = 0;
	int rc;

	/* A new CHOST or REPO changes stanzas: then read them all. */
	ld->partial_ok = 1;
	for (i = 0; i < ld->nheaders; i++) {
		const char *eq = strchr(ld->headers[i], '=');
		size_t kl = (size_t)(eq - ld->headers[i]);

		if ((kl == 5 && memcmp(ld->headers[i], "CHOST", 5) == 0) ||
		    (kl == 4 && memcmp(ld->headers[i], "REPO", 4) == 0) ||
		    (kl == 10 && memcmp(ld->headers[i], "repository", 10) == 0))
			ld->partial_ok = 0;
	}
	if ((rc = load_old(ld, idx, e)) < 0)
		return ld->failed ? 1 : rc;
	if (!ld->have_old || ld->unsupported) {
		cli_error(ctx->cli, "'%s/Packages' %s; index the whole directory "
		    "first", ctx->pkgdir, ld->have_old ? "is not usable" :
		    "does not exist");
		return 1;
	}
	if (realpath(ctx->pkgdir, root) == NULL) {
		cli_error(ctx->cli, "cannot resolve '%s': %s", ctx->pkgdir,
		    strerror(errno));
		return 1;
	}
	if ((rels = calloc(nfiles, sizeof(*rels))) == NULL)
		return bf_err_nomem(e);
	for (i = 0; i < nfiles; i++) {
		if ((rels[n] = relative_to(root, files[i], &why)) != NULL) {
			n++;
			continue;
		}
		if (bf_buf_error(&why) < 0) {
			rc = bf_err_nomem(e);
			goto out;
		}
		ctx->nbad++;
		cli_warn(ctx->cli, "'%s': %s", files[i], why.buf);
	}
	rc = bf_pkgdir_add(dirfd, idx, (const char *const *)rels, n, po, ps, e);
out:
	for (i = 0; i < n; i++)
		free(rels[i]);
	free(rels);
	bf_buf_release(&why);
	return rc;
}

struct index_opts {
	int		 add, check, dircache;
	long long	 jobs;
	char		**headers;
	size_t		 nheaders, aheaders;
	unsigned	 wflags;
};

/* Fills `o`; -1 to go on, else the exit status. */
static int
parse_opts(struct bf_cli *cli, int argc, char **argv, struct index_opts *o)
{
	static const struct option longopts[] = {
		{ "add", no_argument, NULL, 'A' },
		{ "check", no_argument, NULL, 'c' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "header", required_argument, NULL, 'H' },
		{ "portage-gzip", no_argument, NULL, 'P' },
		{ "no-gzip", no_argument, NULL, 'N' },
		{ "no-dir-cache", no_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	o->dircache = 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "j:qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			o->add = 1;
			break;
		case 'c':
			o->check = 1;
			break;
		case 'j':
			if (cli_parse_ll(cli, "--jobs", optarg, 1, 8, &o->jobs) < 0)
				return BF_EXIT_ERROR;
			break;
		case 'H': {
			const char *eq = strchr(optarg, '=');

			if (eq == NULL || eq == optarg ||
			    strpbrk(optarg, "\n\r") != NULL ||
			    memchr(optarg, ':', (size_t)(eq - optarg)) != NULL) {
				cli_error(cli, "--header: '%s' is not KEY=VALUE "
				    "(one line, no ':' in KEY)", optarg);
				return cli_usage(cli, usage_str);
			}
			if (bf_grow(&o->headers, &o->aheaders, o->nheaders + 1,
			    sizeof(*o->headers), 4) < 0) {
				cli_error(cli, "out of memory");
				return BF_EXIT_ERROR;
			}
			o->headers[o->nheaders++] = optarg;
			break;
		}
		case 'P':
			o->wflags |= BF_PKGINDEX_GZ_PORTAGE;
			break;
		case 'N':
			o->wflags |= BF_PKGINDEX_NO_GZ;
			break;
		case 'D':
			o->dircache = 0;
			break;
		case 'q':
			cli->quiet = 1;
			break;
		case 'v':
			cli->verbose++;
			break;
		case 'h':
			return cli_help(cli, usage_str, help_str);
		default:
			return cli_usage(cli, usage_str);
		}
	}
	if (o->add ? argc - optind < 2 || o->check : argc - optind != 1) {
		if (o->add && o->check)
			cli_error(cli, "--add and --check do not go together");
		return cli_usage(cli, usage_str);
	}
	return -1;
}

/*
 * Opens PKGDIR; unless checking, takes Portage's lock and removes what
 * a killed run left.  Returns the directory's fd, or -1 (said why).
 */
static int
open_pkgdir(struct bf_cli *cli, const char *pkgdir, int check, int *lockfd)
{
	struct bf_err e = BF_ERR_INIT;
	int dirfd, nt;

	if ((dirfd = open(pkgdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		cli_error(cli, "cannot open '%s': %s", pkgdir, strerror(errno));
		return -1;
	}
	if (check)
		return dirfd;
	if ((*lockfd = lock_index(cli, dirfd, pkgdir)) < 0)
		goto fail;
	/* With the lock held, temporaries of ours are a killed run's. */
	if ((nt = bf_pkgindex_remove_temps(dirfd, &e)) < 0) {
		cli_error(cli, "'%s': %s", pkgdir, bf_err_msg(&e, nt));
		goto fail;
	}
	if (nt > 0 && cli->verbose)
		cli_info(cli, "removed %d temporary files of an interrupted run",
		    nt);
	return dirfd;
fail:
	close(dirfd);
	return -1;
}

int
cmd_index(struct bf_cli *cli, int argc, char **argv)
{
	struct index_ctx ctx;
	struct load_ctx ld;
	struct bf_pkgindex idx = BF_PKGINDEX_INIT, old = BF_PKGINDEX_INIT;
	struct bf_buf oldtext = BF_BUF_INIT, text = BF_BUF_INIT;
	struct bf_pkgdir_opts po;
	struct bf_pkgdir_stats ps;
	struct bf_reindex ri;
	struct bf_err e = BF_ERR_INIT;
	struct stat st;
	struct index_opts o;
	long long oldts = -1, now;
	int rc, ret = BF_EXIT_ERROR, dirfd = -1, lockfd = -1, have_old;
	double t0, t1;

	memset(&ctx, 0, sizeof(ctx));
	memset(&st, 0, sizeof(st));
	ctx.cli = cli;
	memset(&o, 0, sizeof(o));
	if ((ret = parse_opts(cli, argc, argv, &o)) >= 0)
		goto out;
	ret = BF_EXIT_ERROR;
	ctx.check = o.check;
	ctx.pkgdir = argv[optind];
	if ((now = cli_source_date_epoch(cli)) == -2)
		goto out;
	if (now < 0)
		now = (long long)time(NULL);

	if ((dirfd = open_pkgdir(cli, ctx.pkgdir, ctx.check, &lockfd)) < 0)
		goto out;

	memset(&po, 0, sizeof(po));
	po.threads = (int)o.jobs;
	if (o.dircache)
		po.flags = ctx.check ? BF_PKGDIR_CACHE_READ :
		    BF_PKGDIR_CACHE_READ | BF_PKGDIR_CACHE_WRITE;
	po.report = report_bad;
	po.report_arg = &ctx;
	t0 = ms_now();
	/* The previous index is read and parsed while the walk runs. */
	memset(&ld, 0, sizeof(ld));
	ld.ctx = &ctx;
	ld.dirfd = dirfd;
	ld.headers = o.headers;
	ld.nheaders = o.nheaders;
	ld.oldtext = &oldtext;
	ld.st = &st;
	ld.old = &old;
	ld.oldts = -1;
	if (o.add) {
		rc = add_files(&ctx, dirfd, argv + optind + 1,
		    (size_t)(argc - optind - 1), &ld, &idx, &po, &ps, &e);
		if (rc == 1)
			goto out;	/* said why */
	} else {
		po.load = load_old;
		po.load_arg = &ld;
		ld.live_only = !ctx.check;
		rc = bf_pkgdir_update(dirfd, &idx, &po, &ps, &e);
	}
	t1 = ms_now();
	have_old = ld.have_old;
	oldts = ld.oldts;
	if (rc < 0) {
		if (ld.failed == 0)
			cli_error(cli, "cannot index '%s': %s", ctx.pkgdir,
			    bf_err_msg(&e, -EIO));
		goto out;
	}
	if (cli->verbose)
		cli_info(cli, "%zu package files: %zu reused, %zu read, %zu bad; "
		    "%zu old entries dropped", ps.files, ps.reused, ps.read,
		    ps.bad, ps.dropped + ld.dropped);
	if (cli->verbose && !o.add)
		cli_info(cli, "%zu directories listed, %zu from the cache%s",
		    ps.dirs_listed, ps.dirs_cached,
		    ps.cache_written ? "; cache updated" : "");
	if (cli->verbose && o.add)
		cli_info(cli, "previous index read %s", ld.partial ?
		    "in part (it is the canonical text we wrote)" : "in full");
	if (o.add && ctx.nbad > 0) {
		cli_error(cli, "'%s/Packages' left as it was", ctx.pkgdir);
		ret = BF_EXIT_FAIL;
		goto out;
	}

	/* Same content as before, TIMESTAMP aside?  Write if not. */
	memset(&ri, 0, sizeof(ri));
	ri.now = now;
	ri.flags = o.wflags;
	ri.threads = (int)o.jobs;
	ri.old_text = have_old ? oldtext.buf : NULL;
	ri.old_len = oldtext.len;
	ri.old_ts = oldts;
	ri.old_mtime = st.st_mtime;
	ri.old_altered = ld.altered;
	ri.old_crc_known = ld.partial;
	ri.old_crc = ld.crc;
	if ((rc = bf_reindex(dirfd, &idx, &ri, ctx.check, &text, &e)) < 0) {
		cli_error(cli, "cannot write '%s/Packages': %s", ctx.pkgdir,
		    bf_err_msg(&e, -EIO));
		goto out;
	}
	if (ctx.check) {
		int nd = check_diff(dirfd, &old, &idx, &oldtext, &text,
		    have_old);

		if (nd == 0 && ctx.nbad == 0)
			cli_info(cli, "'%s/Packages' is up to date (%zu packages)",
			    ctx.pkgdir, idx.npkgs);
		ret = nd > 0 || ctx.nbad > 0 ? BF_EXIT_FAIL : BF_EXIT_OK;
		goto out;
	}
	if (ri.unchanged)
		cli_info(cli, "'%s/Packages' is up to date (%zu packages)",
		    ctx.pkgdir, idx.npkgs);
	else {
		if (cli->verbose)
			cli_info(cli, "Packages.gz: %zu segments, %zu reused, "
			    "%llu bytes", ri.ws.segments, ri.ws.reused,
			    (unsigned long long)ri.ws.gz_bytes);
		cli_info(cli, "wrote '%s/Packages' (%zu packages, TIMESTAMP %lld)",
		    ctx.pkgdir, idx.npkgs, ri.ts);
	}
	if (cli->verbose > 1)
		cli_info(cli, "times: %s %.1f ms, format and write %.1f ms",
		    o.add ? "load and read" : "walk and load", t1 - t0,
		    ms_now() - t1);
	ret = ctx.nbad > 0 ? BF_EXIT_FAIL : BF_EXIT_OK;
out:
	bf_pkgindex_release(&idx);
	bf_pkgindex_release(&old);
	bf_buf_release(&oldtext);
	bf_buf_release(&text);
	free(o.headers);
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	return ret;
}
