/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "base/digest.h"
#include "base/err.h"
#include "base/banned.h"

static const char *const names[BF_DIGEST_NALG] = {
	"MD5", "SHA1", "BLAKE2B", "SHA512", "SHA256"
};

/*
 * BLAKE2B comes from libsodium (crypto_generichash: unkeyed BLAKE2b with
 * a 64-byte output is BLAKE2b-512), whose compression function has
 * SSSE3/AVX2 versions chosen at run time: about 1.2-1.35x the speed of
 * OpenSSL's portable C one, and BLAKE2B of the compressed image is half
 * of what a Manifest costs on top of compressing (bench/RESULTS.md).
 * Everything else comes from OpenSSL.
 */
#define B2_OUT	crypto_generichash_BYTES_MAX	/* 64 */

static const EVP_MD *
alg_md(enum bf_digest_alg a)
{
	switch (a) {
	case BF_MD5:
		return EVP_md5();
	case BF_SHA1:
		return EVP_sha1();
	case BF_BLAKE2B:
		return EVP_blake2b512();
	case BF_SHA512:
		return EVP_sha512();
	case BF_SHA256:
		return EVP_sha256();
	default:
		return NULL;
	}
}

const char *
bf_digest_name(enum bf_digest_alg alg)
{
	return (unsigned)alg < BF_DIGEST_NALG ? names[alg] : "?";
}

int
bf_digest_byname(const char *name)
{
	int i;

	/* Manifest and Packages names only: SHA256 is for uploads. */
	for (i = 0; i < BF_SHA256; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

size_t
bf_digest_hexlen(enum bf_digest_alg alg)
{
	static const size_t len[BF_DIGEST_NALG] = { 32, 40, 128, 128, 64 };

	return (unsigned)alg < BF_DIGEST_NALG ? len[alg] : 0;
}

static int
crypto_err(struct bf_err *e, const char *what)
{
	return bf_err_set(e, BF_ECRYPTO, "cannot %s digest", what);
}

int
bf_digest_init(struct bf_digest *d, unsigned algs, struct bf_err *e)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->algs = algs;
	for (i = 0; i < BF_DIGEST_NALG; i++) {
		if (!(algs & BF_DIGEST_BIT(i)))
			continue;
		if (i == BF_BLAKE2B) {
			/* Picks the fastest implementation; idempotent. */
			if (sodium_init() < 0 ||
			    posix_memalign(&d->ctx[i], 64,
			    crypto_generichash_statebytes()) != 0) {
				d->ctx[i] = NULL;
				bf_digest_release(d);
				return crypto_err(e, "initialize");
			}
			if (crypto_generichash_init(d->ctx[i], NULL, 0, B2_OUT) != 0) {
				bf_digest_release(d);
				return crypto_err(e, "initialize");
			}
			continue;
		}
		d->ctx[i] = EVP_MD_CTX_new();
		if (d->ctx[i] == NULL ||
		    EVP_DigestInit_ex(d->ctx[i], alg_md(i), NULL) != 1) {
			bf_digest_release(d);
			return crypto_err(e, "initialize");
		}
	}
	return 0;
}

int
bf_digest_update_alg(struct bf_digest *d, enum bf_digest_alg alg,
    const void *data, size_t n, struct bf_err *e)
{
	int r;

	if (d->ctx[alg] == NULL)
		return 0;
	if (alg == BF_BLAKE2B)
		r = crypto_generichash_update(d->ctx[alg], data, n) == 0;
	else
		r = EVP_DigestUpdate(d->ctx[alg], data, n) == 1;
	return r ? 0 : crypto_err(e, "update");
}

int
bf_digest_update(struct bf_digest *d, const void *data, size_t n,
    struct bf_err *e)
{
	int i, rc;

	for (i = 0; i < BF_DIGEST_NALG; i++)
		if ((rc = bf_digest_update_alg(d, i, data, n, e)) < 0)
			return rc;
	d->size += n;
	return 0;
}

int
bf_digest_final(struct bf_digest *d, struct bf_err *e)
{
	static const char hexdig[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len, j;
	int i, rc = 0;

	for (i = 0; i < BF_DIGEST_NALG; i++) {
		if (d->ctx[i] == NULL)
			continue;
		if (i == BF_BLAKE2B) {
			len = B2_OUT;
			if (crypto_generichash_final(d->ctx[i], md, B2_OUT) != 0) {
				rc = crypto_err(e, "finish");
				break;
			}
		} else if (EVP_DigestFinal_ex(d->ctx[i], md, &len) != 1) {
			rc = crypto_err(e, "finish");
			break;
		}
		for (j = 0; j < len; j++) {
			d->hex[i][2 * j] = hexdig[md[j] >> 4];
			d->hex[i][2 * j + 1] = hexdig[md[j] & 15];
		}
		d->hex[i][2 * len] = '\0';
	}
	bf_digest_release(d);
	return rc;
}

void
bf_digest_release(struct bf_digest *d)
{
	int i;

	for (i = 0; i < BF_DIGEST_NALG; i++) {
		if (i == BF_BLAKE2B)
			free(d->ctx[i]);
		else
			EVP_MD_CTX_free(d->ctx[i]);
		d->ctx[i] = NULL;
	}
}

int
bf_digest_fd(struct bf_digest *d, unsigned algs, int fd, int64_t off,
    int64_t len, struct bf_err *e)
{
	size_t bufsz = 256 * 1024;
	unsigned char *buf;
	ssize_t n;
	int rc;

	if ((rc = bf_digest_init(d, algs, e)) < 0)
		return rc;
	if ((buf = malloc(bufsz)) == NULL) {
		bf_digest_release(d);
		return bf_err_errno(e, "cannot allocate digest buffer");
	}
	while (len != 0) {
		size_t want = bufsz;

		if (len > 0 && (uint64_t)len < want)
			want = (size_t)len;
		n = pread(fd, buf, want, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = bf_err_errno(e, "cannot read");
			goto out;
		}
		if (n == 0) {
			if (len > 0) {
				rc = bf_err_set(e, BF_EFORMAT,
				    "unexpected end of file");
				goto out;
			}
			break;
		}
		if ((rc = bf_digest_update(d, buf, (size_t)n, e)) < 0)
			goto out;
		off += n;
		if (len > 0)
			len -= n;
	}
	rc = bf_digest_final(d, e);
out:
	bf_digest_release(d);
	free(buf);
	return rc;
}

int
bf_digest_mem(struct bf_digest *d, unsigned algs, const void *p, size_t n,
    struct bf_err *e)
{
	int rc;

	if ((rc = bf_digest_init(d, algs, e)) < 0)
		return rc;
	if ((rc = bf_digest_update(d, p, n, e)) < 0) {
		bf_digest_release(d);
		return rc;
	}
	return bf_digest_final(d, e);
}

int
bf_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[64];
	size_t got = 0, i;
	ssize_t k;

	if (nbytes > sizeof(r))
		return -EINVAL;
	while (got < nbytes) {
		k = getrandom(r + got, nbytes - got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		got += (size_t)k;
	}
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[2 * nbytes] = '\0';
	explicit_bzero(r, sizeof(r));
	return 0;
}
