/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
 * Three stages, as `zstd` itself runs them with its reader and writer
 * threads:
 *
 * Input is gathered into 2 MiB buffers before it reaches zstd: with
 * worker threads every ZSTD_compressStream2() call takes locks, so
 * feeding it small blocks costs more system time than the compression
 * saves.  The caller may read() straight into the buffer being filled
 * (bf_zst_writer_space()), which saves a copy of every input byte.  Full
 * buffers go, in order, to a compressing thread of the writer's own,
 * which is the only one to call zstd: the caller (reading the package's
 * files) then keeps filling the next buffers while zstd waits for a
 * worker, and zstd's workers get their next job as soon as one is free
 * instead of when the caller is back from its read()s (zstd's worker pool
 * has no queue).  The compressing thread starts with the second buffer:
 * a package smaller than one buffer is compressed by the caller's thread
 * in one call, as before.
 *
 * Output goes through a ring of buffers.  The compressing thread only
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
 * for a free buffer 0.4-1.2 s per GiB packed (bench/RESULTS.md).
 *
 * zstd's output does not depend on how its input is cut into calls once
 * it runs workers (jobs are cut at fixed sizes); the one call that
 * matters is a first call that also ends the frame, which records the
 * content size, and that stays as it was: the same bytes either way.
 */
#define ZST_INBUF	(2u << 20)
#define ZST_NIN		8		/* input read ahead: 16 MiB */
#define ZST_NOUT	64
#define ZST_OUTBUF	(1u << 20)
#define ZST_NCONS	(1 + 2)		/* the writer, two digests */
#define ZST_WRITER	(-1)
#define ZST_FLUSH	(8u << 20)	/* writeback started every 8 MiB */

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
	off_t			 flush_off;	/* writer: writeback started below */
	uint64_t		 unflushed;	/* writer: written since */
	struct bf_digest	*dg;
	/* Input ring: the caller fills inb[inq % ZST_NIN] (inlen bytes). */
	unsigned char		*inb[ZST_NIN];
	size_t			 inblen[ZST_NIN];
	size_t			 inlen;
	uint64_t		 inq;		/* buffers handed to the compressor */
	uint64_t		 indone;	/* buffers it has compressed */
	int			 infin;		/* the last one is queued */
	int			 cquit;		/* stop without finishing */
	int			 cstarted;
	int			 crc;		/* the compressor's failure */
	struct bf_err		 cerr;
	pthread_t		 cthr;
	pthread_cond_t		 icv;
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
		return;
	}
#ifdef SYNC_FILE_RANGE_WRITE
	/*
	 * Start writing back what is written, 8 MiB at a time, without
	 * waiting for it: the caller's fsync() at the end then has little
	 * left to do, and the work of writeback (ext4 allocates blocks
	 * then) runs here, beside the compression, not after it.  Failure
	 * (a pipe, a filesystem without it) only stops the hints; fsync()
	 * reports real errors.
	 */
	if (w->flush_off >= 0 && (w->unflushed += n) >= ZST_FLUSH) {
		if (sync_file_range(w->fd, w->flush_off, (off_t)w->unflushed,
		    SYNC_FILE_RANGE_WRITE) < 0)
			w->flush_off = -1;
		else
			w->flush_off += (off_t)w->unflushed;
		w->unflushed = 0;
	}
#endif
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
	w->flush_off = lseek(fd, 0, SEEK_CUR);	/* -1: no writeback hints */
	w->dg = dg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->icv, NULL);
	bf_err_clear(&w->cerr);
	if ((w->inb[0] = malloc(ZST_INBUF)) == NULL ||
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

static void *
compressor_main(void *arg)
{
	struct bf_zst_writer *w = arg;
	unsigned i;
	int rc, last;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->indone == w->inq && !w->infin && !w->cquit)
			pthread_cond_wait(&w->icv, &w->mu);
		if (w->cquit || w->indone == w->inq)
			break;
		i = (unsigned)(w->indone % ZST_NIN);
		/* The last buffer is queued together with infin. */
		last = w->infin && w->indone + 1 == w->inq;
		pthread_mutex_unlock(&w->mu);
		rc = zst_drive(w, w->inb[i], w->inblen[i],
		    last ? ZSTD_e_end : ZSTD_e_continue, &w->cerr);
		pthread_mutex_lock(&w->mu);
		if (rc < 0)
			w->crc = rc;
		else
			w->indone++;
		pthread_cond_broadcast(&w->icv);
		if (rc < 0 || last)
			break;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int
compressor_err(struct bf_zst_writer *w, struct bf_err *e)
{
	return bf_err_set(e, w->cerr.code ? w->cerr.code : -w->crc, "%s",
	    w->cerr.code ? w->cerr.msg : "zstd: compression failed");
}

/* Stops the compressing thread, whatever it was doing. */
static void
compressor_stop(struct bf_zst_writer *w)
{
	if (!w->cstarted)
		return;
	pthread_mutex_lock(&w->mu);
	w->cquit = 1;
	pthread_cond_broadcast(&w->icv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->cthr, NULL);
	w->cstarted = 0;
}

/*
 * Hands the full buffer being filled to the compressing thread (started
 * here the first time) and makes the next one ready, waiting for it if
 * the compressor is ZST_NIN buffers behind.
 */
static int
in_queue(struct bf_zst_writer *w, struct bf_err *e)
{
	unsigned i = (unsigned)(w->inq % ZST_NIN);
	int rc;

	if (!w->cstarted) {
		if ((errno = pthread_create(&w->cthr, NULL, compressor_main,
		    w)) != 0)
			return bf_err_errno(e, "cannot start compressing thread");
		w->cstarted = 1;
	}
	pthread_mutex_lock(&w->mu);
	w->inblen[i] = w->inlen;
	w->inq++;
	pthread_cond_broadcast(&w->icv);
	while (w->inq - w->indone == ZST_NIN && w->crc == 0)
		pthread_cond_wait(&w->icv, &w->mu);
	rc = w->crc;
	pthread_mutex_unlock(&w->mu);
	w->inlen = 0;
	if (rc < 0)
		return compressor_err(w, e);
	i = (unsigned)(w->inq % ZST_NIN);
	if (w->inb[i] == NULL && (w->inb[i] = malloc(ZST_INBUF)) == NULL)
		return bf_err_errno(e, "cannot allocate zstd input buffer");
	return 0;
}

int
bf_zst_writer_space(struct bf_zst_writer *w, void **p, size_t *n,
    struct bf_err *e)
{
	int rc;

	*p = NULL;
	*n = 0;
	if (w->inlen == ZST_INBUF && (rc = in_queue(w, e)) < 0)
		return rc;
	*p = w->inb[w->inq % ZST_NIN] + w->inlen;
	*n = ZST_INBUF - w->inlen;
	return 0;
}

int
bf_zst_writer_write(struct bf_zst_writer *w, const void *p, size_t n,
    struct bf_err *e)
{
	unsigned char *cur;
	size_t take;
	int rc;

	w->in_bytes += n;
	while (n > 0) {
		cur = w->inb[w->inq % ZST_NIN];
		take = ZST_INBUF - w->inlen < n ? ZST_INBUF - w->inlen : n;
		/* Bytes read in place (bf_zst_writer_space()) stay there. */
		if (p != cur + w->inlen)
			memmove(cur + w->inlen, p, take);
		w->inlen += take;
		p = (const unsigned char *)p + take;
		n -= take;
		if (w->inlen == ZST_INBUF && (rc = in_queue(w, e)) < 0)
			return rc;
	}
	return 0;
}

int
bf_zst_writer_finish(struct bf_zst_writer *w, struct bf_err *e)
{
	unsigned i = (unsigned)(w->inq % ZST_NIN);
	int rc = 0;

	if (!w->cstarted) {
		/* All of it in one buffer: one call that ends the frame. */
		rc = zst_drive(w, w->inb[i], w->inlen, ZSTD_e_end, e);
	} else {
		pthread_mutex_lock(&w->mu);
		w->inblen[i] = w->inlen;
		w->inq++;
		w->infin = 1;
		pthread_cond_broadcast(&w->icv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->cthr, NULL);
		w->cstarted = 0;
		if (w->crc < 0)
			rc = compressor_err(w, e);
	}
	w->inlen = 0;
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

	compressor_stop(w);	/* before the consumers it feeds */
	consumers_stop(w);
	ZSTD_freeCCtx(w->cctx);
	for (i = 0; i < ZST_NIN; i++)
		free(w->inb[i]);
	for (i = 0; i < ZST_NOUT; i++)
		free(w->out[i]);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->icv);
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
