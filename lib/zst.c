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
 * into a free buffer and writes it out; when a digest is wanted, one
 * hasher thread per algorithm (BLAKE2B and SHA512 for the Manifest)
 * digests every buffer, and a buffer is reused once all of them have.
 * Hashing the compressed member then overlaps compression instead of
 * stalling the thread that feeds zstd's workers, the two digests run in
 * parallel with each other, and the ring is deep enough (16 MiB) to
 * absorb the bursts in which zstd's workers hand over finished jobs.
 */
#define ZST_INBUF	(2u << 20)
#define ZST_NOUT	16
#define ZST_OUTBUF	(1u << 20)
#define ZST_NHASH	2

struct bf_zst_writer;

struct zst_hasher {
	struct bf_zst_writer	*w;
	enum bf_digest_alg	 alg;
	uint64_t		 done;		/* buffers hashed */
	pthread_t		 thr;
};

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
	unsigned		 pending[ZST_NOUT];	/* hashers yet to read it */
	uint64_t		 queued;	/* buffers handed to the hashers */
	struct zst_hasher	 h[ZST_NHASH];
	unsigned		 nhash;		/* hashers running */
	int			 quit;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
};

static void *
hasher_main(void *arg)
{
	struct zst_hasher *h = arg;
	struct bf_zst_writer *w = h->w;
	unsigned i;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (h->done == w->queued && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (h->done == w->queued)
			break;
		i = (unsigned)(h->done % ZST_NOUT);
		pthread_mutex_unlock(&w->mu);
		(void)bf_digest_update_alg(w->dg, h->alg, w->out[i],
		    w->outlen[i], NULL);
		pthread_mutex_lock(&w->mu);
		h->done++;
		if (--w->pending[i] == 0)
			pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits until every queued buffer is hashed, then stops the hashers. */
static void
hasher_stop(struct bf_zst_writer *w)
{
	unsigned k;

	if (w->nhash == 0)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (k = 0; k < w->nhash; k++)
		pthread_join(w->h[k].thr, NULL);
	w->nhash = 0;
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
	int i, a;

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
	for (a = 0; dg != NULL && a < BF_DIGEST_NALG; a++) {
		struct zst_hasher *h = &w->h[w->nhash];

		if (dg->ctx[a] == NULL)
			continue;
		if (w->nhash == ZST_NHASH) {
			bf_zst_writer_free(w);
			return bf_err_set(e, EINVAL, "too many digests for a zstd stream");
		}
		h->w = w;
		h->alg = (enum bf_digest_alg)a;
		if ((errno = pthread_create(&h->thr, NULL, hasher_main, h)) != 0) {
			bf_zst_writer_free(w);
			return bf_err_errno(e, "cannot start hashing thread");
		}
		w->nhash++;
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
			i = (unsigned)(w->queued % ZST_NOUT);
			pthread_mutex_lock(&w->mu);
			while (w->pending[i] > 0)
				pthread_cond_wait(&w->cv, &w->mu);
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
				w->dg->size += out.pos;
				pthread_mutex_lock(&w->mu);
				w->outlen[i] = out.pos;
				w->pending[i] = w->nhash;
				w->queued++;
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
