/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Re-indexing policy: when Packages is rewritten and with which
 * TIMESTAMP (reindex.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/pkgindex.h"
#include "format/pystr.h"
#include "format/reindex.h"
#include "base/banned.h"

long long
bf_pkgindex_timestamp(const struct bf_pkgindex *idx)
{
	const char *v = bf_pkgindex_get(&idx->header, "TIMESTAMP");
	long long t;

	if (v == NULL || bf_pyint(v, &t) < 0)
		return -1;
	return t;
}

int
bf_pkgindex_set_counts(struct bf_pkgindex *idx, long long ts)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", ts);
	if (bf_pkgindex_set(idx, &idx->header, "TIMESTAMP", num) < 0)
		return -ENOMEM;
	snprintf(num, sizeof(num), "%zu", idx->npkgs);
	return bf_pkgindex_set(idx, &idx->header, "PACKAGES", num);
}

/* Is Packages.gz as the unchanged Packages needs it? */
static int
gz_in_step(int dirfd, const struct bf_reindex *r)
{
	struct stat gst;

	if (r->flags & BF_PKGINDEX_NO_GZ)
		return faccessat(dirfd, "Packages.gz", F_OK, 0) < 0;
	return fstatat(dirfd, "Packages.gz", &gst, 0) == 0 &&
	    gst.st_mtime == r->old_mtime && r->old_mtime == r->old_ts;
}

/* The header for TIMESTAMP `ts` in place of the first `hlen` bytes. */
static int
swap_header(struct bf_pkgindex *idx, long long ts, struct bf_buf *text,
    size_t hlen)
{
	struct bf_buf hdr = BF_BUF_INIT;
	int rc = -ENOMEM;

	if (bf_pkgindex_set_counts(idx, ts) < 0 ||
	    bf_pkgindex_format_header(idx, &hdr) < 0 ||
	    bf_buf_grow(text, hdr.len) < 0)
		goto out;
	if (hdr.len != hlen) {
		memmove(text->buf + hdr.len, text->buf + hlen, text->len - hlen);
		bf_buf_setlen(text, text->len - hlen + hdr.len);
	}
	memcpy(text->buf, hdr.buf, hdr.len);
	rc = 0;
out:
	bf_buf_release(&hdr);
	return rc;
}

static int
write_index(int dirfd, struct bf_pkgindex *idx, struct bf_reindex *r,
    struct bf_buf *text, struct bf_err *e)
{
	struct bf_pkgindex_write_opts wo;

	memset(&wo, 0, sizeof(wo));
	wo.flags = r->flags;
	wo.threads = r->threads;
	if (wo.threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		wo.threads = n < 1 ? 1 : n > 8 ? 8 : (int)n;
	}
	if (bf_pkgindex_text_canonical(idx, text->buf, text->len))
		wo.flags |= BF_PKGINDEX_CANON;
	wo.timestamp = r->ts;
	/* A text with stanzas left out is not the file's. */
	wo.old_text = r->old_altered ? NULL : r->old_text;
	wo.old_len = r->old_len;
	wo.old_crc_known = r->old_crc_known;
	wo.old_crc = r->old_crc;
	return bf_pkgindex_write(dirfd, text->buf, text->len, &wo, &r->ws, e);
}

int
bf_reindex(int dirfd, struct bf_pkgindex *idx, struct bf_reindex *r,
    int check_only, struct bf_buf *text, struct bf_err *e)
{
	size_t hlen;
	int rc;

	/* The stanzas are formatted once, behind the old TIMESTAMP. */
	if (bf_buf_grow(text, r->old_len + 65536) < 0 ||
	    bf_pkgindex_set_counts(idx, r->old_ts >= 0 ? r->old_ts :
	    r->now) < 0 || bf_pkgindex_format_header(idx, text) < 0)
		return bf_err_nomem(e);
	hlen = text->len;
	if ((rc = bf_pkgindex_format_packages(idx, text)) < 0)
		return bf_err_set(e, -rc, "cannot format Packages");
	r->ts = r->old_ts;
	r->unchanged = r->old_text != NULL && !r->old_altered &&
	    text->len == r->old_len &&
	    memcmp(text->buf, r->old_text, text->len) == 0;
	if (check_only)
		return 0;
	if (r->unchanged && gz_in_step(dirfd, r))
		return 0;
	r->unchanged = 0;
	/* Last-Modified must never go backwards. */
	r->ts = r->now;
	if (r->old_ts >= 0 && r->ts <= r->old_ts)
		r->ts = r->old_ts + 1;
	if (swap_header(idx, r->ts, text, hlen) < 0)
		return bf_err_nomem(e);
	return write_index(dirfd, idx, r, text, e);
}
