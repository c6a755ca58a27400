/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The console's text pieces that need no builder: HTML escaping (every
 * value a page shows goes through html_esc()), percent-encoding for
 * links, and the fields of a urlencoded form.
 */
#include "config.h"

#include <string.h>

#include "base/buf.h"
#include "console.h"
#include "base/banned.h"

void
html_esc(struct bf_buf *out, const char *s)
{
	const char *run = s;

	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		const char *ent;

		switch (*s) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default: continue;
		}
		bf_buf_add(out, run, (size_t)(s - run));
		bf_buf_adds(out, ent);
		run = s + 1;
	}
	bf_buf_add(out, run, (size_t)(s - run));
}

void
url_esc(struct bf_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; p != NULL && *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			bf_buf_addch(out, *p);
			continue;
		}
		bf_buf_addch(out, '%');
		bf_buf_addch(out, hex[*p >> 4]);
		bf_buf_addch(out, hex[*p & 15]);
	}
}

/* Decodes `n` bytes of a urlencoded value into `out`: 0, or -1 on a NUL. */
static int
form_decode(const char *s, size_t n, struct bf_buf *out)
{
	size_t i;
	int c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < n && bf_hexval(s[i + 1]) >= 0 &&
		    bf_hexval(s[i + 2]) >= 0) {
			c = bf_hexval(s[i + 1]) * 16 + bf_hexval(s[i + 2]);
			i += 2;
		}
		if (c == 0)
			return -1;
		bf_buf_addch(out, c);
	}
	return 0;
}

int
form_get(const char *body, size_t len, const char *key, struct bf_buf *out)
{
	size_t klen = strlen(key), i = 0, end, eq;

	while (body != NULL && i < len) {
		for (end = i; end < len && body[end] != '&'; end++)
			;
		for (eq = i; eq < end && body[eq] != '='; eq++)
			;
		if (eq - i == klen && memcmp(body + i, key, klen) == 0) {
			bf_buf_reset(out);
			if (form_decode(body + eq + (eq < end), end - eq -
			    (eq < end), out) < 0) {
				bf_buf_reset(out);
				return 0;
			}
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

int
console_str_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return d == 0 && lb > 0;
}
