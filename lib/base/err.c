/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/banned.h"

static const char *const bf_errstr[] = {
	[BF_EFORMAT - BF_EFIRST] = "malformed file",
	[BF_EDIGEST - BF_EFIRST] = "checksum mismatch",
	[BF_EUNSAFE - BF_EFIRST] = "unsafe member",
	[BF_EMETADATA - BF_EFIRST] = "invalid metadata",
	[BF_EARCHIVE - BF_EFIRST] = "archive error",
	[BF_EZSTD - BF_EFIRST] = "zstd error",
	[BF_ECRYPTO - BF_EFIRST] = "crypto error",
	[BF_EUSAGE - BF_EFIRST] = "invalid argument",
	[BF_EGIT - BF_EFIRST] = "git error",
	[BF_ECONFIG - BF_EFIRST] = "invalid configuration",
	[BF_ESIGNATURE - BF_EFIRST] = "signature error",
	[BF_ECONFLICT - BF_EFIRST] = "refused",
	[BF_ENOTFOUND - BF_EFIRST] = "not found",
};

const char *
bf_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code >= BF_EFIRST && code < BF_ELAST)
		return bf_errstr[code - BF_EFIRST];
	return strerror(code);
}

void
bf_err_clear(struct bf_err *e)
{
	if (e != NULL) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

static int
err_vset(struct bf_err *e, int code, const char *suffix, const char *fmt,
    va_list ap)
{
	size_t n;

	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	if (e == NULL || e->code != 0)
		return -code;
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (suffix != NULL) {
		n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", suffix);
	}
	return -code;
}

int
bf_err_set(struct bf_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = err_vset(e, code, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int
bf_err_errno(struct bf_err *e, const char *fmt, ...)
{
	int saved = errno ? errno : EIO;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = err_vset(e, saved, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
	return rc;
}

void
bf_err_prefix(struct bf_err *e, const char *fmt, ...)
{
	char pre[512];
	size_t np, nm;
	va_list ap;

	if (e == NULL || e->code == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	np = strlen(pre) + 2;
	nm = strlen(e->msg);
	if (np + nm >= sizeof(e->msg))
		nm = sizeof(e->msg) - np - 1;
	memmove(e->msg + np, e->msg, nm);
	memcpy(e->msg, pre, np - 2);
	memcpy(e->msg + np - 2, ": ", 2);
	e->msg[np + nm] = '\0';
}

const char *
bf_err_msg(const struct bf_err *e, int rc)
{
	if (e != NULL && e->code != 0)
		return e->msg;
	return bf_strerror(rc);
}

int
bf_err_nomem(struct bf_err *e)
{
	return bf_err_set(e, ENOMEM, "out of memory");
}
