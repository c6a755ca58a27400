/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "digest.h"
#include "err.h"
#include "lockfile.h"
#include "zst.h"
#include "banned.h"

struct bf_zst_writer {
	ZSTD_CCtx		*cctx;
	int			 fd;
	struct bf_digest	*dg;
	unsigned char		*out;
	size_t			 outsz;
	uint64_t		 in_bytes;
	uint64_t		 out_bytes;
};

static int
zst_err(struct bf_err *e, size_t code, const char *what)
{
	return bf_err_set(e, BF_EZSTD, "zstd: cannot %s: %s", what,
	    ZSTD_getErrorName(code));
}

int
bf_zst_writer_new(struct bf_zst_writer **wp, int fd, int level, int threads,
    struct bf_digest *dg, struct bf_err *e)
{
	struct bf_zst_writer *w;
	size_t r;
	long n;

	*wp = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return bf_err_errno(e, "cannot allocate zstd stream");
	w->fd = fd;
	w->dg = dg;
	w->outsz = ZSTD_CStreamOutSize();
	if ((w->out = malloc(w->outsz)) == NULL ||
	    (w->cctx = ZSTD_createCCtx()) == NULL) {
		bf_zst_writer_free(w);
		return bf_err_errno(e, "cannot allocate zstd stream");
	}
	r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
	if (ZSTD_isError(r)) {
		bf_zst_writer_free(w);
		return zst_err(e, r, "set compression level");
	}
	if (threads == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (int)n : 1;
	}
	/*
	 * nbWorkers >= 1 gives the same bytes whatever the count, so the
	 * output stays reproducible across machines; a 1-CPU machine still
	 * uses one worker for that reason.
	 */
	r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, threads);
	if (ZSTD_isError(r)) {
		bf_zst_writer_free(w);
		return zst_err(e, r, "set worker count");
	}
	*wp = w;
	return 0;
}

static int
zst_drive(struct bf_zst_writer *w, const void *p, size_t n,
    ZSTD_EndDirective mode, struct bf_err *e)
{
	ZSTD_inBuffer in = { p, n, 0 };
	size_t left;
	int rc;

	for (;;) {
		ZSTD_outBuffer out = { w->out, w->outsz, 0 };

		left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(left))
			return zst_err(e, left, "compress");
		if (out.pos > 0) {
			if ((rc = bf_write_full(w->fd, w->out, out.pos)) < 0) {
				errno = -rc;
				return bf_err_errno(e, "cannot write compressed data");
			}
			if (w->dg != NULL &&
			    (rc = bf_digest_update(w->dg, w->out, out.pos, e)) < 0)
				return rc;
			w->out_bytes += out.pos;
		}
		if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0)
			return 0;
	}
}

int
bf_zst_writer_write(struct bf_zst_writer *w, const void *p, size_t n,
    struct bf_err *e)
{
	w->in_bytes += n;
	return zst_drive(w, p, n, ZSTD_e_continue, e);
}

int
bf_zst_writer_finish(struct bf_zst_writer *w, struct bf_err *e)
{
	return zst_drive(w, NULL, 0, ZSTD_e_end, e);
}

uint64_t
bf_zst_writer_in_bytes(const struct bf_zst_writer *w)
{
	return w->in_bytes;
}

uint64_t
bf_zst_writer_out_bytes(const struct bf_zst_writer *w)
{
	return w->out_bytes;
}

void
bf_zst_writer_free(struct bf_zst_writer *w)
{
	if (w == NULL)
		return;
	ZSTD_freeCCtx(w->cctx);
	free(w->out);
	free(w);
}

int
bf_zst_compress(const void *p, size_t n, int level, void **out,
    size_t *outlen, struct bf_err *e)
{
	size_t cap = ZSTD_compressBound(n), r;
	void *buf;

	*out = NULL;
	if ((buf = malloc(cap ? cap : 1)) == NULL)
		return bf_err_errno(e, "cannot allocate compression buffer");
	r = ZSTD_compress(buf, cap, p, n, level);
	if (ZSTD_isError(r)) {
		free(buf);
		return zst_err(e, r, "compress");
	}
	*out = buf;
	*outlen = r;
	return 0;
}
