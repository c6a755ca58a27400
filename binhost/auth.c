/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP Basic credentials.  The auth file has one "user:$sha256$SALT$HASH"
 * line per user (SALT and HASH in hex, HASH = SHA-256(salt || password)),
 * # comments and blank lines; `binfarm-binhost --hash-password USER`
 * prints such a line.  A salted fast hash, not crypt(3): every request
 * of a fleet carries the password, and yescrypt at that rate would be a
 * denial of service; the file is the secret's only copy on the server
 * and should be readable by root only (it is read before dropping root).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "binhost.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "base/banned.h"

static int
unhex(const char *s, size_t n, unsigned char *out, size_t outsz)
{
	size_t i;
	int hi, lo;

	if (n % 2 != 0 || n / 2 > outsz)
		return -1;
	for (i = 0; i < n; i += 2) {
#define HV(c) ((c) >= '0' && (c) <= '9' ? (c) - '0' : \
	    (c) >= 'a' && (c) <= 'f' ? (c) - 'a' + 10 : -1)
		hi = HV(s[i]);
		lo = HV(s[i + 1]);
#undef HV
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

static int
sha256(const unsigned char *salt, size_t saltlen, const char *pass,
    unsigned char out[32])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, salt, saltlen) == 1 &&
	    EVP_DigestUpdate(ctx, pass, strlen(pass)) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

struct auth_ctx {
	struct bh_auth	*a;
};

static int
auth_line(void *vctx, const char *file, unsigned line, char *text,
    struct bf_err *e)
{
	struct auth_ctx *ctx = vctx;
	struct bh_auth *a = ctx->a;
	struct bh_user *u;
	char *colon, *salt, *hash;
	int n;

	if ((colon = strchr(text, ':')) == NULL || colon == text)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: expected "
		    "'user:$sha256$salt$hash'", file, line);
	*colon = '\0';
	if (strncmp(colon + 1, "$sha256$", 8) != 0 ||
	    (salt = colon + 9, hash = strchr(salt, '$')) == NULL)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: user '%s': "
		    "unsupported password hash (expected '$sha256$salt$hash')",
		    file, line, text);
	*hash++ = '\0';
	if (bf_grow(&a->v, &a->alloc, a->n + 1, sizeof(*a->v), 8) < 0)
		return -ENOMEM;
	u = &a->v[a->n];
	memset(u, 0, sizeof(*u));
	if ((n = unhex(salt, strlen(salt), u->salt, sizeof(u->salt))) < 0)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: user '%s': bad salt",
		    file, line, text);
	u->saltlen = (size_t)n;
	if (unhex(hash, strlen(hash), u->hash, sizeof(u->hash)) != 32)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: user '%s': bad hash",
		    file, line, text);
	if ((u->name = strdup(text)) == NULL)
		return -ENOMEM;
	a->n++;
	return 0;
}

int
bh_auth_load(struct bh_auth *a, const char *path, const char *realm,
    struct bf_err *e)
{
	struct auth_ctx ctx = { a };
	int rc;

	memset(a, 0, sizeof(*a));
	if ((a->realm = strdup(realm)) == NULL)
		return -ENOMEM;
	if ((rc = bf_conf_load_lines(path, 0, auth_line, &ctx, e)) < 0)
		return rc;
	if (a->n == 0)
		return bf_err_set(e, BF_ECONFIG, "%s: no users", path);
	return 0;
}

void
bh_auth_release(struct bh_auth *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i].name);
	free(a->v);
	free(a->realm);
	memset(a, 0, sizeof(*a));
}

int
bh_auth_check(const struct bh_auth *a, const char *user, const char *pass)
{
	unsigned char h[32];
	size_t i;

	if (user == NULL || pass == NULL)
		return 0;
	for (i = 0; i < a->n; i++) {
		if (strcmp(a->v[i].name, user) != 0)
			continue;
		if (sha256(a->v[i].salt, a->v[i].saltlen, pass, h) < 0)
			return 0;
		return CRYPTO_memcmp(h, a->v[i].hash, sizeof(h)) == 0;
	}
	return 0;
}

int
bh_auth_hash(const char *user, const char *pass, struct bf_buf *out)
{
	unsigned char salt[16], h[32];
	size_t i;

	if (strchr(user, ':') != NULL || *user == '\0')
		return -EINVAL;
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    sha256(salt, sizeof(salt), pass, h) < 0)
		return -BF_ECRYPTO;
	bf_buf_addf(out, "%s:$sha256$", user);
	for (i = 0; i < sizeof(salt); i++)
		bf_buf_addf(out, "%02x", salt[i]);
	bf_buf_addch(out, '$');
	for (i = 0; i < sizeof(h); i++)
		bf_buf_addf(out, "%02x", h[i]);
	return bf_buf_error(out);
}
