/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "base/digest.h"
#include "base/err.h"
#include "base/zst.h"
#include "tap.h"

/*
 * The zstd stream: the same bytes however the input is handed over
 * (copied, or read in place into the writer's buffer), across the input
 * ring's wrap-around, with its digests equal to the file's; a package
 * smaller than one buffer still records its content size; a failing
 * write is reported, and a writer dropped half-way stops its threads.
 */

#define BIG	(37u << 20)	/* more than twice the 16 MiB input ring */

static uint32_t seed = 12345;

static uint32_t
rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 8;
}

/* Compressible, but not trivially: words from a small set, some noise. */
static void
fill(unsigned char *p, size_t n)
{
	static const char *words[] = { "usr", "lib", "share", "bin", "/",
	    "gentoo", "portage", "\n", "=", "0x7f", "ELF" };
	size_t i = 0, l;

	while (i < n) {
		if (rnd() % 8 == 0) {
			p[i++] = (unsigned char)rnd();
			continue;
		}
		const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];

		l = strlen(w);
		if (l > n - i)
			l = n - i;
		memcpy(p + i, w, l);
		i += l;
	}
}

static unsigned char *
slurp(int fd, size_t *n)
{
	off_t end = lseek(fd, 0, SEEK_END);
	unsigned char *p = malloc(end > 0 ? (size_t)end : 1);
	ssize_t r;
	size_t got = 0;

	while (p != NULL && got < (size_t)end &&
	    (r = pread(fd, p + got, (size_t)end - got, (off_t)got)) > 0)
		got += (size_t)r;
	*n = got;
	return p;
}

/* mode 0: bf_zst_writer_write() in odd sizes; 1: read in place. */
static int
compress(const unsigned char *src, size_t n, int mode, struct bf_digest *dg,
    unsigned char **out, size_t *outlen, struct bf_err *e)
{
	static const size_t sizes[] = { 1, 511, 512, 100000, 3u << 20, 7,
	    (2u << 20) - 1, 65536 };
	struct bf_zst_writer *w;
	FILE *f = tmpfile();
	size_t off = 0, take, k = 0;
	void *room;
	int rc;

	if (f == NULL)
		return -1;
	if ((rc = bf_zst_writer_new(&w, fileno(f), 3, 2, dg, e)) < 0) {
		fclose(f);
		return rc;
	}
	while (off < n) {
		if (mode == 0) {
			take = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
			if (take > n - off)
				take = n - off;
			rc = bf_zst_writer_write(w, src + off, take, e);
		} else {
			if ((rc = bf_zst_writer_space(w, &room, &take, e)) < 0)
				break;
			if (take > n - off)
				take = n - off;
			if (k++ % 3 == 0 && take > 1000)
				take -= rnd() % 1000;	/* short reads */
			memcpy(room, src + off, take);
			rc = bf_zst_writer_write(w, room, take, e);
		}
		if (rc < 0)
			break;
		off += take;
	}
	if (rc == 0)
		rc = bf_zst_writer_finish(w, e);
	bf_zst_writer_free(w);
	if (rc == 0)
		*out = slurp(fileno(f), outlen);
	fclose(f);
	return rc;
}

int
main(void)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_digest dg, check;
	struct bf_zst_writer *w;
	unsigned char *src, *a = NULL, *b = NULL, *back;
	size_t alen = 0, blen = 0, n, i;
	void *room;
	int fd, rc;

	if ((src = malloc(BIG)) == NULL || (back = malloc(BIG)) == NULL)
		return 1;
	fill(src, BIG);

	memset(&dg, 0, sizeof(dg));
	ok(bf_digest_init(&dg, BF_DIGEST_MANIFEST, &e) == 0, "digest init");
	ok(compress(src, BIG, 0, &dg, &a, &alen, &e) == 0,
	    "37 MiB written in odd sizes");
	ok(bf_digest_final(&dg, &e) == 0, "digest final");
	n = ZSTD_decompress(back, BIG, a, alen);
	ok(!ZSTD_isError(n) && n == BIG && memcmp(back, src, BIG) == 0,
	    "it decompresses to the input");
	ok(bf_digest_mem(&check, BF_DIGEST_MANIFEST, a, alen, &e) == 0,
	    "digest of the file");
	is_str(dg.hex[BF_BLAKE2B], check.hex[BF_BLAKE2B],
	    "BLAKE2B on the hashing thread = BLAKE2B of the file");
	is_str(dg.hex[BF_SHA512], check.hex[BF_SHA512],
	    "SHA512 on the hashing thread = SHA512 of the file");
	is_int(dg.size, alen, "digest size = file size");

	ok(compress(src, BIG, 1, NULL, &b, &blen, &e) == 0,
	    "37 MiB read in place, short reads");
	ok(alen == blen && memcmp(a, b, alen) == 0,
	    "the same bytes as written in odd sizes");
	free(a);
	free(b);

	/* Smaller than one buffer: one call that ends the frame. */
	ok(compress(src, 300000, 1, NULL, &a, &alen, &e) == 0, "300 kB");
	ok(ZSTD_getFrameContentSize(a, alen) == 300000,
	    "a small stream records its content size");
	n = ZSTD_decompress(back, BIG, a, alen);
	ok(!ZSTD_isError(n) && n == 300000 && memcmp(back, src, n) == 0,
	    "and decompresses to the input");
	free(a);

	/* A file that cannot be written: an error, not a hang. */
	fd = open("/dev/null", O_RDONLY);
	bf_err_clear(&e);
	ok(bf_zst_writer_new(&w, fd, 3, 2, NULL, &e) == 0, "writer on a read-only fd");
	rc = 0;
	for (i = 0; i < BIG && rc == 0; i += 1u << 20)
		rc = bf_zst_writer_write(w, src + i, 1u << 20, &e);
	if (rc == 0)
		rc = bf_zst_writer_finish(w, &e);
	ok(rc < 0, "the write failure is returned");
	ok(strstr(e.msg, "cannot write compressed data") != NULL,
	    "with a message saying so");
	if (rc >= 0 || strstr(e.msg, "cannot write") == NULL)
		printf("#   got '%s'\n", e.msg);
	bf_zst_writer_free(w);
	close(fd);

	/* Dropped half-way, with the compressing thread running. */
	fd = open("/dev/null", O_WRONLY);
	ok(bf_zst_writer_new(&w, fd, 3, 2, NULL, &e) == 0, "writer on /dev/null");
	rc = 0;
	for (i = 0; i < (20u << 20) && rc == 0; i += 4096) {
		if ((rc = bf_zst_writer_space(w, &room, &n, &e)) < 0)
			break;
		if (n > 4096)
			n = 4096;
		memcpy(room, src + i, n);
		rc = bf_zst_writer_write(w, room, n, &e);
	}
	ok(rc == 0, "20 MiB queued");
	bf_zst_writer_free(w);
	ok(1, "freed without finishing: the threads stopped");
	close(fd);

	free(src);
	free(back);
	return tap_done();
}
