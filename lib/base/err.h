/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_ERR_H
#define BF_ERR_H

#include <stddef.h>

/*
 * Errors.  Functions return 0 (or a count) on success and a negative
 * value on failure: -errno, or -BF_E* for our own conditions.  When the
 * caller wants a message it passes a struct bf_err it owns; the first
 * error set wins, so the deepest, most specific message survives.
 */
enum {
	BF_EFIRST = 1024,
	BF_EFORMAT = BF_EFIRST,	/* malformed input file */
	BF_EDIGEST,		/* checksum or size mismatch */
	BF_EUNSAFE,		/* hostile path, link or member */
	BF_EMETADATA,		/* missing or invalid package metadata */
	BF_EARCHIVE,		/* libarchive failure */
	BF_EZSTD,		/* zstd failure */
	BF_ECRYPTO,		/* OpenSSL failure */
	BF_EUSAGE,		/* bad argument from the caller */
	BF_EGIT,		/* libgit2 failure */
	BF_ECONFIG,		/* bad configuration */
	BF_ESIGNATURE,		/* missing or bad signature */
	BF_ECONFLICT,		/* refused: would lose or downgrade data */
	BF_ENOTFOUND,		/* no such package, snapshot or ref */
	BF_ELAST
};

struct bf_err {
	int	code;		/* 0 until set */
	char	msg[1024];
};

#define BF_ERR_INIT { 0, "" }

const char *bf_strerror(int code);

void	bf_err_clear(struct bf_err *e);
/*
 * Record an error if none is recorded yet, and return -code.  `e` may be
 * NULL.  The message follows git's wording: lower case, no full stop.
 */
int	bf_err_set(struct bf_err *e, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* bf_err_set(e, ENOMEM, "out of memory"): -ENOMEM. */
int	bf_err_nomem(struct bf_err *e);
/* Like bf_err_set() with code = errno, appending ": strerror(errno)". */
int	bf_err_errno(struct bf_err *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prefix the recorded message with "<prefix>: ". */
void	bf_err_prefix(struct bf_err *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The recorded message, or bf_strerror(rc) if none was recorded. */
const char *bf_err_msg(const struct bf_err *e, int rc);

#endif
