/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/banned.h"

/* Written only as the terminating NUL of empty strings; never changes. */
char bf_buf_empty[1];

void
bf_buf_init(struct bf_buf *b)
{
	b->buf = bf_buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->oom = 0;
}

void
bf_buf_release(struct bf_buf *b)
{
	if (b->alloc)
		free(b->buf);
	bf_buf_init(b);
}

void
bf_buf_reset(struct bf_buf *b)
{
	bf_buf_setlen(b, 0);
}

int
bf_buf_grow(struct bf_buf *b, size_t extra)
{
	size_t want, n;
	char *p;

	if (b->oom)
		return -ENOMEM;
	if (extra > SIZE_MAX - b->len - 1)
		goto oom;
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < want)
		n = n > SIZE_MAX / 2 ? want : n * 2;
	p = realloc(b->alloc ? b->buf : NULL, n);
	if (p == NULL)
		goto oom;
	if (!b->alloc)
		p[0] = '\0';
	b->buf = p;
	b->alloc = n;
	return 0;
oom:
	b->oom = 1;
	return -ENOMEM;
}

void
bf_buf_setlen(struct bf_buf *b, size_t len)
{
	if (!b->alloc)
		return;
	if (len >= b->alloc)
		len = b->alloc - 1;
	b->len = len;
	b->buf[len] = '\0';
}

void
bf_buf_add(struct bf_buf *b, const void *data, size_t n)
{
	if (n == 0 || bf_buf_grow(b, n) < 0)
		return;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void
bf_buf_adds(struct bf_buf *b, const char *s)
{
	bf_buf_add(b, s, strlen(s));
}

void
bf_buf_addch(struct bf_buf *b, int c)
{
	char ch = (char)c;

	bf_buf_add(b, &ch, 1);
}

void
bf_buf_vaddf(struct bf_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (bf_buf_grow(b, 64) < 0)
		return;
	va_copy(cp, ap);
	n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->alloc - b->len) {
		if (bf_buf_grow(b, (size_t)n) < 0)
			return;
		va_copy(cp, ap);
		n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
		va_end(cp);
		if (n < 0)
			return;
	}
	b->len += (size_t)n;
}

void
bf_buf_addf(struct bf_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bf_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
bf_buf_rtrim(struct bf_buf *b)
{
	size_t n = b->len;

	while (n > 0 && (b->buf[n - 1] == ' ' || b->buf[n - 1] == '\t' ||
	    b->buf[n - 1] == '\n' || b->buf[n - 1] == '\r'))
		n--;
	bf_buf_setlen(b, n);
}

char *
bf_buf_detach(struct bf_buf *b, size_t *len)
{
	char *p;

	if (b->oom) {
		bf_buf_release(b);
		return NULL;
	}
	if (len != NULL)
		*len = b->len;
	p = b->alloc ? b->buf : strdup("");
	bf_buf_init(b);
	return p;
}

int
bf_buf_error(const struct bf_buf *b)
{
	return b->oom ? -ENOMEM : 0;
}

void
bf_escape_line(char *dst, size_t len, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t n = 0;

	if (len == 0)
		return;
	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		if (*p >= 0x20 && *p < 0x7f) {
			if (n + 1 >= len)
				break;
			dst[n++] = (char)*p;
			continue;
		}
		if (n + 4 >= len)
			break;
		dst[n++] = '\\';
		dst[n++] = 'x';
		dst[n++] = hex[*p >> 4];
		dst[n++] = hex[*p & 0xf];
	}
	dst[n] = '\0';
}

int
bf_grow_slow(void *arrayp, size_t *alloc, size_t need, size_t size, size_t first)
{
	size_t na = *alloc ? *alloc : first ? first : 1;
	void *p;

	if (need <= *alloc)
		return 0;
	while (na < need) {
		if (na > SIZE_MAX / 2)
			return -ENOMEM;
		na *= 2;
	}
	if (size != 0 && na > SIZE_MAX / size)
		return -ENOMEM;
	memcpy(&p, arrayp, sizeof(p));
	if ((p = realloc(p, na * size)) == NULL)
		return -ENOMEM;
	memcpy(arrayp, &p, sizeof(p));
	*alloc = na;
	return 0;
}

int
bf_str_copy(char *dst, size_t n, const char *s)
{
	size_t k = strlen(s);

	if (k >= n)
		return -1;
	memcpy(dst, s, k + 1);
	return 0;
}

int
bf_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
