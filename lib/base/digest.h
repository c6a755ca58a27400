/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_DIGEST_H
#define BF_DIGEST_H

#include <stddef.h>
#include <stdint.h>

struct bf_err;

/*
 * Streaming hashes: BLAKE2B through libsodium, the others through
 * OpenSSL libcrypto.  Packages uses MD5 and SHA1; the gpkg Manifest uses
 * BLAKE2B (512 bits) and SHA512.  One struct bf_digest computes any set
 * of them in a single pass.
 */
enum bf_digest_alg {
	BF_MD5,
	BF_SHA1,
	BF_BLAKE2B,
	BF_SHA512,
	BF_SHA256,	/* upload checksums (binfarm-worker) */
	BF_DIGEST_NALG
};

#define BF_DIGEST_BIT(a)	(1u << (a))
#define BF_DIGEST_INDEX		(BF_DIGEST_BIT(BF_MD5) | BF_DIGEST_BIT(BF_SHA1))
#define BF_DIGEST_MANIFEST	(BF_DIGEST_BIT(BF_BLAKE2B) | BF_DIGEST_BIT(BF_SHA512))
#define BF_DIGEST_HEXMAX	129

struct bf_digest {
	unsigned	 algs;
	void		*ctx[BF_DIGEST_NALG];	/* EVP_MD_CTX *, BLAKE2B: libsodium's */
	uint64_t	 size;			/* bytes hashed */
	char		 hex[BF_DIGEST_NALG][BF_DIGEST_HEXMAX];
};

/* The Manifest/Packages name of an algorithm ("MD5", "BLAKE2B", ...). */
const char *bf_digest_name(enum bf_digest_alg alg);
/* The Manifest/Packages algorithm called `name` (not SHA256), or -1. */
int	bf_digest_byname(const char *name);
/*
 * `nbytes` bytes of getrandom(2) as 2 * nbytes lower-case hex digits and
 * a NUL in `out`; the bytes are wiped.  0, or -errno.
 */
int	bf_random_hex(char *out, size_t nbytes);
/* Length of the hex digest of `alg`. */
size_t	bf_digest_hexlen(enum bf_digest_alg alg);

int	bf_digest_init(struct bf_digest *d, unsigned algs, struct bf_err *e);
int	bf_digest_update(struct bf_digest *d, const void *data, size_t n,
	    struct bf_err *e);
/*
 * Feeds one algorithm only (a no-op if it was not requested) and leaves
 * d->size alone: threads may each feed a different algorithm of the same
 * struct bf_digest; the caller accounts d->size.
 */
int	bf_digest_update_alg(struct bf_digest *d, enum bf_digest_alg alg,
	    const void *data, size_t n, struct bf_err *e);
/* Fills d->hex[] for every requested algorithm and frees the contexts. */
int	bf_digest_final(struct bf_digest *d, struct bf_err *e);
/* Frees the contexts without a result; safe after bf_digest_final(). */
void	bf_digest_release(struct bf_digest *d);

/* Hashes `len` bytes of `fd` from `off` (len = -1: to the end of file). */
int	bf_digest_fd(struct bf_digest *d, unsigned algs, int fd, int64_t off,
	    int64_t len, struct bf_err *e);
int	bf_digest_mem(struct bf_digest *d, unsigned algs, const void *p,
	    size_t n, struct bf_err *e);

#endif
