/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "base/digest.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "base/zst.h"
#include "base/banned.h"

/*
 * Input is gathered into `in` before it reaches zstd: with worker
 * threads every ZSTD_compressStream2() call takes locks, so feeding it
 * small blocks costs more system time than the compression saves.
 *
 * Output goes through a ring of buffers.  The caller's thread only
 * compresses into a free buffer and hands it on; consumer threads take
 * every buffer in order: one writes it to the file, and when a digest is
 * wanted one per algorithm (BLAKE2B and SHA512 for the Manifest) hashes
 * it.  A buffer is reused once every consumer is done with it.  The
 * thread that feeds zstd's workers then never waits for a write() (which
 * can take long while the kernel throttles dirty pages) or a digest, and
 * the ring is deep (up to 64 MiB, allocated as it fills: a small package
 * takes one buffer) so that the consumers may fall behind for a while
 * without stopping the compression: on a busy 2-CPU machine they get
 * their CPU in bursts, and with a 16 MiB ring the feeding thread waited
 * for a free buffer 0.4-1.2 s per GiB packed (bench/RESULTS.md).  This is what `zstd` itself does with
 * its reader and writer threads.
 */
#define ZST_INBUF	(2u << 20)
#define ZST_NOUT	64
#define ZST_OUTBUF	(1u << 20)
#define ZST_NCONS	(1 + 2)		/* the writer, two digests */
#define ZST_WRITER	(-1)

struct bf_zst_writer;

struct zst_consumer {
	struct bf_zst_writer	*w;
	int			 alg;		/* enum bf_digest_alg or ZST_WRITER */
	uint64_t		 done;		/* buffers consumed */
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
	unsigned		 pending[ZST_NOUT];	/* consumers yet to take it */
	uint64_t		 queued;	/* buffers handed on */
	struct zst_consumer	 c[ZST_NCONS];
	unsigned		 ncons;		/* consumers running */
	int			 quit;
	int			 werrno;	/* the writer's failure */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
};

static void
consume(struct zst_consumer *c, const unsigned char *p, size_t n)
{
	struct bf_zst_writer *w = c->w;
	int rc;

	if (c->alg != ZST_WRITER) {
		(void)bf_digest_update_alg(w->dg, (enum bf_digest_alg)c->alg,
		    p, n, NULL);
		return;
	}
	/* After a failure the rest is dropped; the caller reports it. */
	if (w->werrno == 0 && (rc = bf_write_full(w->fd, p, n)) < 0) {
		pthread_mutex_lock(&w->mu);
		w->werrno = -rc;
		pthread_mutex_unlock(&w->mu);
	}
}

static void *
consumer_main(void *arg)
{
	struct zst_consumer *c = arg;
	struct bf_zst_writer *w = c->w;
	unsigned i;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (c->done == w->queued && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (c->done == w->queued)
			break;
		i = (unsigned)(c->done % ZST_NOUT);
		pthread_mutex_unlock(&w->mu);
		consume(c, w->out[i], w->outlen[i]);
		pthread_mutex_lock(&w->mu);
		c->done++;
		if (--w->pending[i] == 0)
			pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits until every queued buffer is consumed, then stops the threads. */
static void
consumers_stop(struct bf_zst_writer *w)
{
	unsigned k;

	if (w->ncons == 0)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (k = 0; k < w->ncons; k++)
		pthread_join(w->c[k].thr, NULL);
	w->ncons = 0;
}

static int
consumer_start(struct bf_zst_writer *w, int alg)
{
	struct zst_consumer *c = &w->c[w->ncons];

	if (w->ncons == ZST_NCONS)
		return -EINVAL;
	c->w = w;
	c->alg = alg;
	if ((errno = pthread_create(&c->thr, NULL, consumer_main, c)) != 0)
		return -errno;
	w->ncons++;
	return 0;
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
	int a, rc;

	*wp = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return bf_err_errno(e, "cannot allocate zstd stream");
	w->fd = fd;
	w->dg = dg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
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
	if ((rc = consumer_start(w, ZST_WRITER)) < 0) {
		bf_zst_writer_free(w);
		errno = -rc;
		return bf_err_errno(e, "cannot start writing thread");
	}
	for (a = 0; dg != NULL && a < BF_DIGEST_NALG; a++) {
		if (dg->ctx[a] == NULL)
			continue;
		if ((rc = consumer_start(w, a)) < 0) {
			bf_zst_writer_free(w);
			if (rc == -EINVAL)
				return bf_err_set(e, EINVAL,
				    "too many digests for a zstd stream");
			errno = -rc;
			return bf_err_errno(e, "cannot start hashing thread");
		}
	}
	*wp = w;
	return 0;
oom:
	bf_zst_writer_free(w);
	return bf_err_errno(e, "cannot allocate zstd stream");
}

static int
write_err(struct bf_zst_writer *w, struct bf_err *e)
{
	errno = w->werrno;
	return bf_err_errno(e, "cannot write compressed data");
}

static int
zst_drive(struct bf_zst_writer *w, const void *p, size_t n,
    ZSTD_EndDirective mode, struct bf_err *e)
{
	ZSTD_inBuffer in = { p, n, 0 };
	size_t left;
	unsigned i;
	int werr;

	for (;;) {
		i = (unsigned)(w->queued % ZST_NOUT);
		pthread_mutex_lock(&w->mu);
		while (w->pending[i] > 0)
			pthread_cond_wait(&w->cv, &w->mu);
		werr = w->werrno;
		pthread_mutex_unlock(&w->mu);
		if (werr != 0)
			return write_err(w, e);
		if (w->out[i] == NULL && (w->out[i] = malloc(ZST_OUTBUF)) == NULL)
			return bf_err_errno(e, "cannot allocate zstd output buffer");

		ZSTD_outBuffer out = { w->out[i], ZST_OUTBUF, 0 };

		left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(left))
			return zst_err(e, left, "compress");
		if (out.pos > 0) {
			w->out_bytes += out.pos;
			if (w->dg != NULL)
				w->dg->size += out.pos;
			pthread_mutex_lock(&w->mu);
			w->outlen[i] = out.pos;
			w->pending[i] = w->ncons;
			w->queued++;
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
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
	consumers_stop(w);	/* everything written and hashed */
	if (rc == 0 && w->werrno != 0)
		rc = write_err(w, e);
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

	consumers_stop(w);
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
