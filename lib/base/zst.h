/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_ZST_H
#define BF_ZST_H

#include <stddef.h>
#include <stdint.h>

struct bf_digest;
struct bf_err;

/*
 * A zstd compressing stream into a file descriptor (the only user of
 * zstd.h).  Past its first 2 MiB of input, zstd is driven from a thread
 * of the writer's own; compressed bytes are written, and optionally fed
 * to a digest, by threads of its own too, so a gpkg member is hashed
 * without being read back; `fd` must not be used until
 * bf_zst_writer_finish() or _free() returns.
 */
struct bf_zst_writer;

/* threads: 0 = one worker per online CPU, 1 = single-threaded. */
int	bf_zst_writer_new(struct bf_zst_writer **w, int fd, int level,
	    int threads, struct bf_digest *dg, struct bf_err *e);
int	bf_zst_writer_write(struct bf_zst_writer *w, const void *p, size_t n,
	    struct bf_err *e);
/*
 * Room at the end of the input buffer being filled: *p, *n bytes (at
 * least 1).  A caller may read() into it and pass that pointer and at
 * most *n bytes to bf_zst_writer_write(), which then copies nothing.
 * Valid until the next call on `w`.
 */
int	bf_zst_writer_space(struct bf_zst_writer *w, void **p, size_t *n,
	    struct bf_err *e);
/* Flushes the frame end; the writer stays allocated until _free(). */
int	bf_zst_writer_finish(struct bf_zst_writer *w, struct bf_err *e);
uint64_t bf_zst_writer_in_bytes(const struct bf_zst_writer *w);
uint64_t bf_zst_writer_out_bytes(const struct bf_zst_writer *w);
void	bf_zst_writer_free(struct bf_zst_writer *w);

/* One-shot compression of a small buffer into `out` (malloc'd). */
int	bf_zst_compress(const void *p, size_t n, int level, void **out,
	    size_t *outlen, struct bf_err *e);

#endif
