/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "digest.h"
#include "err.h"
#include "lockfile.h"
#include "zst.h"
#include "banned.h"

/*
 * Input is gathered into `in` before it reaches zstd: with worker
 * threads every ZSTD_compressStream2() call takes locks, so feeding it
 * small blocks costs more system time than the compression saves.
 *
 * Output goes through a ring of buffers: the caller's thread compresses
 * into a free buffer and writes it out, and, when a digest is wanted, a
 * hasher thread digests it and frees it.  Hashing the compressed member
 * (BLAKE2B and SHA512 for the Manifest) then overlaps compression
 * instead of stalling the thread that feeds zstd's workers.
 */
#define ZST_INBUF	(2u << 20)
#define ZST_NOUT	4
#define ZST_OUTBUF	(1u << 20)

struct bf_zst_writer {
	ZSTD_CCtx		*cctx;
	int			 fd;
	struct bf_digest	*dg;
	unsigned char		*in;
	size_t			 inlen;
	uint64_t		 in_bytes;
	uint64_t		 out_bytes;

	unsigned char		*out[ZST_NOUT];
	size_t			 outlen[ZST_NOUT];
	int			 queued[ZST_NOUT];
	unsigned		 head;		/* next buffer to fill */
	unsigned		 tail;		/* next buffer to hash */
	pthread_t		 thr;
	int			 started;
	int			 quit;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
};

static void *
hasher_main(void *arg)
{
	struct bf_zst_writer *w = arg;
	unsigned i;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->queued[w->tail] && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->queued[w->tail])
			break;
		i = w->tail;
		pthread_mutex_unlock(&w->mu);
		(void)bf_digest_update(w->dg, w->out[i], w->outlen[i], NULL);
		pthread_mutex_lock(&w->mu);
		w->queued[i] = 0;
		w->tail = (i + 1) % ZST_NOUT;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits until every queued buffer is hashed, then stops the hasher. */
static void
hasher_stop(struct bf_zst_writer *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);
	w->started = 0;
}

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
	int i;

	*wp = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return bf_err_errno(e, "cannot allocate zstd stream");
	w->fd = fd;
	w->dg = dg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	for (i = 0; i < (dg != NULL ? ZST_NOUT : 1); i++)
		if ((w->out[i] = malloc(ZST_OUTBUF)) == NULL)
			goto oom;
	if ((w->in = malloc(ZST_INBUF)) == NULL ||
	    (w->cctx = ZSTD_createCCtx()) == NULL)
		goto oom;
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
	if (dg != NULL) {
		if ((errno = pthread_create(&w->thr, NULL, hasher_main, w)) != 0) {
			bf_zst_writer_free(w);
			return bf_err_errno(e, "cannot start hashing thread");
		}
		w->started = 1;
	}
	*wp = w;
	return 0;
oom:
	bf_zst_writer_free(w);
	return bf_err_errno(e, "cannot allocate zstd stream");
}

static int
zst_drive(struct bf_zst_writer *w, const void *p, size_t n,
    ZSTD_EndDirective mode, struct bf_err *e)
{
	ZSTD_inBuffer in = { p, n, 0 };
	size_t left;
	unsigned i;
	int rc;

	for (;;) {
		i = 0;
		if (w->dg != NULL) {
			pthread_mutex_lock(&w->mu);
			while (w->queued[w->head])
				pthread_cond_wait(&w->cv, &w->mu);
			i = w->head;
			pthread_mutex_unlock(&w->mu);
		}
		ZSTD_outBuffer out = { w->out[i], ZST_OUTBUF, 0 };

		left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(left))
			return zst_err(e, left, "compress");
		if (out.pos > 0) {
			if ((rc = bf_write_full(w->fd, out.dst, out.pos)) < 0) {
				errno = -rc;
				return bf_err_errno(e, "cannot write compressed data");
			}
			w->out_bytes += out.pos;
			if (w->dg != NULL) {
				pthread_mutex_lock(&w->mu);
				w->outlen[i] = out.pos;
				w->queued[i] = 1;
				w->head = (i + 1) % ZST_NOUT;
				pthread_cond_broadcast(&w->cv);
				pthread_mutex_unlock(&w->mu);
			}
		}
		if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0)
			return 0;
	}
}

int
bf_zst_writer_write(struct bf_zst_writer *w, const void *p, size_t n,
    struct bf_err *e)
{
	size_t take;
	int rc;

	w->in_bytes += n;
	while (n > 0) {
		if (w->inlen == 0 && n >= ZST_INBUF / 2)
			return zst_drive(w, p, n, ZSTD_e_continue, e);
		take = ZST_INBUF - w->inlen < n ? ZST_INBUF - w->inlen : n;
		memcpy(w->in + w->inlen, p, take);
		w->inlen += take;
		p = (const unsigned char *)p + take;
		n -= take;
		if (w->inlen == ZST_INBUF) {
			rc = zst_drive(w, w->in, w->inlen, ZSTD_e_continue, e);
			w->inlen = 0;
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int
bf_zst_writer_finish(struct bf_zst_writer *w, struct bf_err *e)
{
	size_t n = w->inlen;
	int rc;

	w->inlen = 0;
	rc = zst_drive(w, w->in, n, ZSTD_e_end, e);
	hasher_stop(w);
	return rc;
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
	int i;

	hasher_stop(w);
	ZSTD_freeCCtx(w->cctx);
	free(w->in);
	for (i = 0; i < ZST_NOUT; i++)
		free(w->out[i]);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
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
