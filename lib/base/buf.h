/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_BUF_H
#define BF_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growable byte string, after git's strbuf.
 *
 * Invariants: `buf` is never NULL and always NUL-terminated at `len`;
 * `alloc` is 0 while `buf` points at a shared empty string.  Allocation
 * failures are sticky: the first one sets `oom`, later appends are
 * ignored, and bf_buf_error() returns -ENOMEM so callers check once.
 */
struct bf_buf {
	char	*buf;
	size_t	 len;
	size_t	 alloc;
	int	 oom;
};

extern char bf_buf_empty[];
#define BF_BUF_INIT { bf_buf_empty, 0, 0, 0 }

void	bf_buf_init(struct bf_buf *b);
/* Frees the storage and leaves `b` as after bf_buf_init(). */
void	bf_buf_release(struct bf_buf *b);
/* Empties the string, keeping its storage. */
void	bf_buf_reset(struct bf_buf *b);
/* Makes room for `extra` more bytes; returns 0 or -ENOMEM. */
int	bf_buf_grow(struct bf_buf *b, size_t extra);
/*
 * The one growth helper for arrays: makes the array *arrayp (any
 * pointer type, passed by address) hold at least `need` elements of
 * `size` bytes, *alloc being its allocated count; doubles, starting at
 * `first`.  0, or -ENOMEM with the array unchanged.
 *
 *	if (bf_grow(&l->v, &l->alloc, l->n + 1, sizeof(*l->v), 16) < 0)
 */
int	bf_grow_slow(void *arrayp, size_t *alloc, size_t need, size_t size,
	    size_t first);
static inline int
bf_grow(void *arrayp, size_t *alloc, size_t need, size_t size, size_t first)
{
	return need <= *alloc ? 0 :
	    bf_grow_slow(arrayp, alloc, need, size, first);
}
void	bf_buf_setlen(struct bf_buf *b, size_t len);
void	bf_buf_add(struct bf_buf *b, const void *data, size_t n);
void	bf_buf_adds(struct bf_buf *b, const char *s);
void	bf_buf_addch(struct bf_buf *b, int c);
void	bf_buf_addf(struct bf_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	bf_buf_vaddf(struct bf_buf *b, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* Removes trailing white space. */
void	bf_buf_rtrim(struct bf_buf *b);
/* Returns the string, now the caller's to free(); `b` is reset. NULL on OOM. */
char   *bf_buf_detach(struct bf_buf *b, size_t *len);
/* 0, or -ENOMEM if any earlier operation failed to allocate. */
int	bf_buf_error(const struct bf_buf *b);

/*
 * Copies `src` to `dst` (`len` bytes, NUL included, cut short to fit)
 * with every byte outside printable ASCII written as \xHH, so that
 * nothing a client sends (a newline, an escape sequence) can start a
 * line of its own or reach an operator's terminal.  Every message
 * of log.h goes through it.
 */
void	bf_escape_line(char *dst, size_t len, const char *src);
/* The value of hex digit `c`, or -1. */
int	bf_hexval(int c);
/* Copies `s` into dst[n] whole: 0, or -1 (dst untouched) if it is too long. */
int	bf_str_copy(char *dst, size_t n, const char *s);

#endif
