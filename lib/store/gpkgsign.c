/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/digest.h"
#include "base/err.h"
#include "format/gpkg.h"
#include "store/gpkgsign.h"
#include "base/lockfile.h"
#include "format/manifest.h"
#include "format/meta.h"
#include "store/sign.h"
#include "base/banned.h"

#define BLK		512
#define RECORD		10240
#define MAX_MEMBERS	64
#define MAX_SIG		(64 * 1024)
#define MAX_MANIFEST	(1024 * 1024)

static uint64_t
get_num(const unsigned char *f, size_t w)
{
	uint64_t v = 0;
	size_t i;

	if (f[0] & 0x80) {	/* base-256 */
		for (i = 1; i < w; i++)
			v = v << 8 | f[i];
		return v;
	}
	for (i = 0; i < w && (f[i] == ' ' || f[i] == '\0'); i++)
		;
	for (; i < w && f[i] >= '0' && f[i] <= '7'; i++)
		v = v << 3 | (uint64_t)(f[i] - '0');
	return v;
}

static size_t
fieldlen(const unsigned char *f, size_t w)
{
	size_t n = 0;

	while (n < w && f[n] != '\0')
		n++;
	return n;
}

/* Finds "path=" in a pax extended header. */
static int
pax_path(const char *p, size_t n, struct bf_buf *out)
{
	size_t i = 0;

	while (i < n) {
		size_t len = 0, j = i;
		const char *kv;

		while (j < n && p[j] >= '0' && p[j] <= '9')
			len = len * 10 + (size_t)(p[j++] - '0');
		if (j >= n || p[j] != ' ' || len == 0 || i + len > n)
			return -1;
		kv = p + j + 1;
		if ((size_t)(p + i + len - kv) > 5 && memcmp(kv, "path=", 5) == 0) {
			bf_buf_reset(out);
			bf_buf_add(out, kv + 5, (size_t)(p + i + len - kv - 6));
		}
		i += len;
	}
	return 0;
}

int
bf_gpkg_locate(int fd, struct bf_gpkg_loc **vp, size_t *np, char **basename,
    struct bf_err *e)
{
	unsigned char h[BLK];
	struct bf_buf name = BF_BUF_INIT, lname = BF_BUF_INIT, dir = BF_BUF_INIT;
	struct bf_gpkg_loc *v = NULL;
	size_t n = 0;
	off_t pos = 0;
	int rc = 0, have_long = 0;

	*vp = NULL;
	*np = 0;
	if ((v = calloc(MAX_MEMBERS, sizeof(*v))) == NULL)
		return bf_err_nomem(e);
	for (;;) {
		uint64_t size;
		const char *slash;
		char type;
		ssize_t r;

		r = bf_pread_full(fd, h, BLK, pos);
		if (r != BLK) {
			rc = bf_err_set(e, BF_EFORMAT, "truncated container");
			goto out;
		}
		if (h[0] == '\0')
			break;
		size = get_num(h + 124, 12);
		type = (char)h[156];
		if (size > (uint64_t)1 << 42) {
			rc = bf_err_set(e, BF_EFORMAT, "absurd member size");
			goto out;
		}
		if (type == 'L' || type == 'x') {
			char *p;

			if (size > 65536 || (p = malloc(size + 1)) == NULL ||
			    bf_pread_full(fd, p, size, pos + BLK) != (ssize_t)size) {
				if (size <= 65536)
					free(p);
				rc = bf_err_set(e, BF_EFORMAT, "bad extended header");
				goto out;
			}
			if (type == 'L') {
				bf_buf_reset(&lname);
				bf_buf_add(&lname, p, fieldlen((unsigned char *)p, size));
				have_long = 1;
			} else if (pax_path(p, size, &lname) == 0 && lname.len > 0)
				have_long = 1;
			free(p);
			pos += BLK + (off_t)((size + BLK - 1) / BLK * BLK);
			continue;
		}
		if (type == 'g') {
			pos += BLK + (off_t)((size + BLK - 1) / BLK * BLK);
			continue;
		}
		bf_buf_reset(&name);
		if (have_long) {
			bf_buf_add(&name, lname.buf, lname.len);
			have_long = 0;
		} else {
			size_t pl = fieldlen(h + 345, 155);

			if (pl > 0 && memcmp(h + 257, "ustar\0", 6) == 0) {
				bf_buf_add(&name, h + 345, pl);
				bf_buf_addch(&name, '/');
			}
			bf_buf_add(&name, h, fieldlen(h, 100));
		}
		if ((rc = bf_buf_error(&name)) < 0)
			goto out;
		if ((type != '0' && type != '\0') ||
		    (slash = strchr(name.buf, '/')) == NULL ||
		    strchr(slash + 1, '/') != NULL || slash == name.buf ||
		    strlen(slash + 1) >= sizeof(v[0].name)) {
			rc = bf_err_set(e, BF_EFORMAT, "unexpected member '%s'",
			    name.buf);
			goto out;
		}
		if (dir.len == 0)
			bf_buf_add(&dir, name.buf, (size_t)(slash - name.buf));
		if (n == MAX_MEMBERS) {
			rc = bf_err_set(e, BF_EFORMAT, "too many members");
			goto out;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", slash + 1);
		v[n].off = pos + BLK;
		v[n].size = size;
		n++;
		pos += BLK + (off_t)((size + BLK - 1) / BLK * BLK);
	}
	if (basename != NULL) {
		if ((*basename = bf_buf_detach(&dir, NULL)) == NULL) {
			rc = bf_err_nomem(e);
			goto out;
		}
	}
	*vp = v;
	*np = n;
	v = NULL;
out:
	free(v);
	bf_buf_release(&name);
	bf_buf_release(&lname);
	bf_buf_release(&dir);
	return rc;
}

static const struct bf_gpkg_loc *
find(const struct bf_gpkg_loc *v, size_t n, const char *prefix, int exact)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (exact ? strcmp(v[i].name, prefix) == 0 :
		    (strncmp(v[i].name, prefix, strlen(prefix)) == 0 &&
		    (strlen(v[i].name) < 4 ||
		    strcmp(v[i].name + strlen(v[i].name) - 4, ".sig") != 0)))
			return &v[i];
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Writing.                                                            */

struct out {
	int		 fd;
	off_t		 pos;
	const char	*base;
	long long	 mtime;
	struct bf_buf	 manifest;
};

static void
put_octal(unsigned char *f, size_t w, uint64_t v)
{
	size_t i;

	f[w - 1] = '\0';
	for (i = w - 1; i > 0; i--) {
		f[i - 1] = (unsigned char)('0' + (v & 7));
		v >>= 3;
	}
}

static int
out_write(struct out *o, const void *p, size_t n, struct bf_err *e)
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
out_pad(struct out *o, size_t unit, struct bf_err *e)
{
	static const unsigned char zero[RECORD];
	size_t rem = (size_t)(o->pos % (off_t)unit);

	return rem ? out_write(o, zero, unit - rem, e) : 0;
}

/* A ustar header as Python's tarfile writes the outer members. */
static int
out_header(struct out *o, const char *member, uint64_t size, struct bf_err *e)
{
	unsigned char h[BLK];
	size_t bl = strlen(o->base), ml = strlen(member), i;
	unsigned sum = 0;

	memset(h, 0, sizeof(h));
	if (bl + 1 + ml <= 100) {
		memcpy(h, o->base, bl);
		h[bl] = '/';
		memcpy(h + bl + 1, member, ml);
	} else if (bl < 154 && ml <= 100) {
		memcpy(h, member, ml);
		memcpy(h + 345, o->base, bl);
	} else
		return bf_err_set(e, BF_EUSAGE, "package name '%s' is too long",
		    o->base);
	if (size >= (uint64_t)1 << 33)
		return bf_err_set(e, BF_EUSAGE, "member '%s' is too large", member);
	put_octal(h + 100, 8, 0644);
	put_octal(h + 108, 8, 0);
	put_octal(h + 116, 8, 0);
	put_octal(h + 124, 12, size);
	put_octal(h + 136, 12, (uint64_t)o->mtime);
	h[156] = '0';
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < BLK; i++)
		sum += h[i];
	put_octal(h + 148, 7, sum);
	h[155] = ' ';
	return out_write(o, h, BLK, e);
}

/* Records the member just written (at `off`, `n` bytes) in the Manifest. */
static int
out_record(struct out *o, const char *member, off_t off, uint64_t n,
    struct bf_err *e)
{
	struct bf_digest d;
	int rc;

	if ((rc = bf_digest_fd(&d, BF_DIGEST_MANIFEST, o->fd, off, (int64_t)n,
	    e)) < 0)
		return rc;
	bf_manifest_add_line(&o->manifest, member, n, &d);
	return bf_buf_error(&o->manifest) < 0 ?
	    bf_err_nomem(e) : 0;
}

static int
out_add_mem(struct out *o, const char *member, const void *p, size_t n,
    int record, struct bf_err *e)
{
	off_t off;
	int rc;

	if ((rc = out_header(o, member, n, e)) < 0)
		return rc;
	off = o->pos;
	if ((rc = out_write(o, p, n, e)) < 0 || (rc = out_pad(o, BLK, e)) < 0)
		return rc;
	return record ? out_record(o, member, off, n, e) : 0;
}

static int
out_add_range(struct out *o, const char *member, int in_fd, off_t in_off,
    uint64_t n, struct bf_err *e)
{
	char *buf = NULL;
	uint64_t done = 0;
	off_t off;
	int rc;

	if ((rc = out_header(o, member, n, e)) < 0)
		return rc;
	off = o->pos;
	if ((buf = malloc(1 << 20)) == NULL)
		return bf_err_nomem(e);
	while (done < n) {
		size_t want = n - done > (1 << 20) ? (1 << 20) : (size_t)(n - done);
		ssize_t r = bf_pread_full(in_fd, buf, want, in_off + (off_t)done);

		if (r != (ssize_t)want) {
			rc = bf_err_set(e, BF_EFORMAT, "package is truncated");
			goto out;
		}
		if ((rc = out_write(o, buf, want, e)) < 0)
			goto out;
		done += want;
	}
	if ((rc = out_pad(o, BLK, e)) == 0)
		rc = out_record(o, member, off, n, e);
out:
	free(buf);
	return rc;
}

/* Signs the member at [off, off+n) of the output and adds "<member>.sig". */
static int
out_add_sig(struct out *o, struct bf_signer *s, const char *member, off_t off,
    uint64_t n, struct bf_err *e)
{
	struct bf_buf sig = BF_BUF_INIT, name = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&name, "%s.sig", member);
	if ((rc = bf_signer_detached(s, o->fd, off, n, &sig, e)) == 0)
		rc = out_add_mem(o, name.buf, sig.buf, sig.len, 1, e);
	bf_buf_release(&sig);
	bf_buf_release(&name);
	return rc;
}

int
bf_gpkg_rewrite(int in_fd, const char *path, struct bf_meta *meta,
    const struct bf_gpkg_rewrite_opts *opts, int out_fd, uint64_t *size,
    struct bf_err *e)
{
	struct out o = { out_fd, 0, NULL, 0, BF_BUF_INIT };
	struct bf_gpkg_loc *v = NULL;
	const struct bf_gpkg_loc *md, *img;
	struct bf_buf pf = BF_BUF_INIT, bid = BF_BUF_INIT, base = BF_BUF_INIT;
	struct bf_buf signedm = BF_BUF_INIT, num = BF_BUF_INIT;
	void *zmeta = NULL;
	size_t n = 0, zlen = 0;
	off_t off;
	int rc;

	if ((rc = bf_gpkg_locate(in_fd, &v, &n, NULL, e)) < 0)
		goto out;
	md = find(v, n, "metadata.tar", 0);
	img = find(v, n, "image.tar", 0);
	if (md == NULL || img == NULL) {
		rc = bf_err_set(e, BF_EFORMAT, "'%s' has no %s member", path,
		    md == NULL ? "metadata" : "image");
		goto out;
	}
	bf_meta_get(meta, "PF", &pf);
	bf_meta_get(meta, "BUILD_ID", &bid);
	bf_buf_add(&base, pf.buf, pf.len);
	if (opts->build_id > 0) {
		bf_buf_addf(&num, "%lld", opts->build_id);
		bf_buf_addf(&base, "-%lld", opts->build_id);
	} else if (bid.len > 0)
		bf_buf_addf(&base, "-%s", bid.buf);
	if ((rc = bf_buf_error(&base)) < 0 || (rc = bf_buf_error(&num)) < 0)
		goto oom;
	o.base = base.buf;
	o.mtime = opts->mtime;

	if ((rc = out_add_mem(&o, "gpkg-1", "", 0, 1, e)) < 0)
		goto out;
	off = o.pos + BLK;
	if (opts->build_id > 0 && strcmp(num.buf, bid.buf) != 0) {
		/* Only the metadata changes: BUILD_ID (as __dyn_package writes it). */
		bf_buf_addch(&num, '\n');
		if ((rc = bf_meta_set(meta, "BUILD_ID", num.buf, num.len)) < 0 ||
		    (rc = bf_gpkg_metadata_member(meta, opts->mtime, 0, &zmeta,
		    &zlen, e)) < 0 ||
		    (rc = out_add_mem(&o, "metadata.tar.zst", zmeta, zlen, 1, e)) < 0)
			goto out;
		if (opts->signer != NULL &&
		    (rc = out_add_sig(&o, opts->signer, "metadata.tar.zst", off,
		    zlen, e)) < 0)
			goto out;
	} else {
		if ((rc = out_add_range(&o, md->name, in_fd, md->off, md->size,
		    e)) < 0)
			goto out;
		if (opts->signer != NULL &&
		    (rc = out_add_sig(&o, opts->signer, md->name, off, md->size,
		    e)) < 0)
			goto out;
	}
	off = o.pos + BLK;
	if ((rc = out_add_range(&o, img->name, in_fd, img->off, img->size, e)) < 0)
		goto out;
	if (opts->signer != NULL &&
	    (rc = out_add_sig(&o, opts->signer, img->name, off, img->size, e)) < 0)
		goto out;
	if (opts->signer != NULL) {
		if ((rc = bf_signer_clearsign(opts->signer, o.manifest.buf,
		    o.manifest.len, &signedm, e)) < 0 ||
		    (rc = out_add_mem(&o, "Manifest", signedm.buf, signedm.len, 0,
		    e)) < 0)
			goto out;
	} else if ((rc = out_add_mem(&o, "Manifest", o.manifest.buf,
	    o.manifest.len, 0, e)) < 0)
		goto out;
	{
		static const unsigned char zero[2 * BLK];

		if ((rc = out_write(&o, zero, sizeof(zero), e)) < 0 ||
		    (rc = out_pad(&o, RECORD, e)) < 0)
			goto out;
	}
	*size = (uint64_t)o.pos;
	rc = 0;
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	free(v);
	free(zmeta);
	bf_buf_release(&o.manifest);
	bf_buf_release(&pf);
	bf_buf_release(&bid);
	bf_buf_release(&base);
	bf_buf_release(&signedm);
	bf_buf_release(&num);
	return rc;
}

/* ------------------------------------------------------------------ */

static int
read_member(int fd, const struct bf_gpkg_loc *m, size_t max, char **p,
    struct bf_err *e)
{
	if (m->size > max)
		return bf_err_set(e, BF_ESIGNATURE, "member '%s' is too large",
		    m->name);
	if ((*p = malloc((size_t)m->size + 1)) == NULL)
		return bf_err_nomem(e);
	if (bf_pread_full(fd, *p, (size_t)m->size, m->off) != (ssize_t)m->size) {
		free(*p);
		*p = NULL;
		return bf_err_set(e, BF_EFORMAT, "member '%s' is truncated",
		    m->name);
	}
	(*p)[m->size] = '\0';
	return 0;
}

int
bf_gpkg_check_signatures(int fd, const char *path, struct bf_verifier *ver,
    struct bf_err *e)
{
	static const char begin[] = "-----BEGIN PGP SIGNED MESSAGE-----\n";
	static const char end[] = "-----END PGP SIGNATURE-----\n";
	struct bf_gpkg_loc *v = NULL;
	const struct bf_gpkg_loc *man, *sig;
	struct bf_buf name = BF_BUF_INIT;
	char *text = NULL, *stext = NULL;
	size_t n = 0, i, len;
	int rc;

	if ((rc = bf_gpkg_locate(fd, &v, &n, NULL, e)) < 0)
		goto out;
	if ((man = find(v, n, "Manifest", 1)) == NULL) {
		rc = bf_err_set(e, BF_ESIGNATURE, "Manifest not found");
		goto out;
	}
	if ((rc = read_member(fd, man, MAX_MANIFEST, &text, e)) < 0)
		goto out;
	len = (size_t)man->size;
	if (len < sizeof(begin) - 1 || memcmp(text, begin, sizeof(begin) - 1) != 0) {
		rc = bf_err_set(e, BF_ESIGNATURE, "package is not signed "
		    "(the Manifest is not a signed message)");
		goto out;
	}
	if (len < sizeof(end) - 1 ||
	    memcmp(text + len - (sizeof(end) - 1), end, sizeof(end) - 1) != 0 ||
	    strstr(text + sizeof(begin) - 1, "-----BEGIN PGP SIGNED MESSAGE-----") != NULL) {
		rc = bf_err_set(e, BF_ESIGNATURE, "the Manifest has text outside "
		    "its signature");
		goto out;
	}
	if ((rc = bf_verifier_clearsigned(ver, text, len, e)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		size_t nl = strlen(v[i].name);

		if (strcmp(v[i].name, "gpkg-1") == 0 ||
		    strcmp(v[i].name, "Manifest") == 0 ||
		    (nl > 4 && strcmp(v[i].name + nl - 4, ".sig") == 0))
			continue;
		bf_buf_reset(&name);
		bf_buf_addf(&name, "%s.sig", v[i].name);
		if ((sig = find(v, n, name.buf, 1)) == NULL) {
			rc = bf_err_set(e, BF_ESIGNATURE, "%s signature not found",
			    v[i].name);
			goto out;
		}
		free(stext);
		stext = NULL;
		if ((rc = read_member(fd, sig, MAX_SIG, &stext, e)) < 0 ||
		    (rc = bf_verifier_detached(ver, stext, (size_t)sig->size, fd,
		    v[i].off, v[i].size, e)) < 0) {
			bf_err_prefix(e, "%s", v[i].name);
			goto out;
		}
	}
out:
	free(v);
	free(text);
	free(stext);
	bf_buf_release(&name);
	return rc;
}
