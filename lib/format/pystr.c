/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "format/pystr.h"
#include "base/banned.h"

/*
 * Length of the well-formed UTF-8 sequence at s (1..4), or 0 if the
 * bytes there are ill-formed; *bad then receives the length of the
 * maximal subpart to replace by one U+FFFD (Unicode 3.9, "best
 * practice", which CPython's decoder follows).
 */
static size_t
u8seq(const unsigned char *s, size_t len, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		*bad = 1;
		return 0;
	}
	for (i = 1; i <= need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

int
bf_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, bad;

	while (i < len) {
		/* Fast path over ASCII, eight bytes at a time. */
		while (i + 8 <= len) {
			uint64_t w;

			memcpy(&w, p + i, 8);
			if (w & 0x8080808080808080ULL)
				break;
			i += 8;
		}
		if (i >= len)
			break;
		if ((n = u8seq(p + i, len - i, &bad)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

void
bf_utf8_replace(struct bf_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, bad;

	while (i < len) {
		if ((n = u8seq(p + i, len - i, &bad)) == 0) {
			bf_buf_add(out, "\xef\xbf\xbd", 3);
			i += bad;
		} else {
			bf_buf_add(out, p + i, n);
			i += n;
		}
	}
}

/* Code point of the well-formed sequence at p of length n. */
static uint32_t
u8cp(const unsigned char *p, size_t n)
{
	switch (n) {
	case 1:
		return p[0];
	case 2:
		return (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	case 3:
		return (uint32_t)(p[0] & 0x0f) << 12 |
		    (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	default:
		return (uint32_t)(p[0] & 0x07) << 18 |
		    (uint32_t)(p[1] & 0x3f) << 12 |
		    (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	}
}

/* Py_UNICODE_ISSPACE */
static int
py_isspace(uint32_t c)
{
	switch (c) {
	case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d:
	case 0x1c: case 0x1d: case 0x1e: case 0x1f: case 0x20:
	case 0x85: case 0xa0: case 0x1680:
	case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
		return 1;
	default:
		return c >= 0x2000 && c <= 0x200a;
	}
}

size_t
bf_py_normalize(struct bf_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, bad, words = 0;
	int inword = 0;

	while (i < len) {
		if (p[i] < 0x80) {
			n = 1;
			if (py_isspace(p[i])) {
				inword = 0;
				i++;
				continue;
			}
		} else if ((n = u8seq(p + i, len - i, &bad)) == 0) {
			/* U+FFFD is not white space. */
			if (!inword && words++ > 0)
				bf_buf_addch(out, ' ');
			inword = 1;
			bf_buf_add(out, "\xef\xbf\xbd", 3);
			i += bad;
			continue;
		} else if (py_isspace(u8cp(p + i, n))) {
			inword = 0;
			i += n;
			continue;
		}
		if (!inword && words++ > 0)
			bf_buf_addch(out, ' ');
		inword = 1;
		bf_buf_add(out, p + i, n);
		i += n;
	}
	return words;
}

static int
ascii_space(int c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}

int
bf_pyint(const char *s, long long *out)
{
	unsigned long long v = 0, lim;
	int neg = 0, digits = 0;

	while (ascii_space((unsigned char)*s))
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (;;) {
		if (*s >= '0' && *s <= '9') {
			if (v > (lim - (unsigned long long)(*s - '0')) / 10)
				return -1;
			v = v * 10 + (unsigned long long)(*s - '0');
			digits++;
			s++;
		} else if (*s == '_' && digits > 0 && s[1] >= '0' && s[1] <= '9')
			s++;
		else
			break;
	}
	if (digits == 0)
		return -1;
	while (ascii_space((unsigned char)*s))
		s++;
	if (*s != '\0')
		return -1;
	*out = neg ? (long long)(0 - v) : (long long)v;
	return 0;
}
