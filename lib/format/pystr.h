/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_PYSTR_H
#define BF_PYSTR_H

#include <stddef.h>

struct bf_buf;

/*
 * The few Python string semantics Portage's file formats depend on, so
 * that what we write matches what Portage writes for the same input.
 */

/* Is `s` well-formed UTF-8 (no surrogates, no overlongs)? */
int	bf_utf8_valid(const char *s, size_t len);
/*
 * bytes.decode("utf-8", "replace") re-encoded: appends `s` to `out` with
 * every maximal ill-formed subsequence replaced by U+FFFD, as CPython
 * does.
 */
void	bf_utf8_replace(struct bf_buf *out, const char *s, size_t len);
/*
 * " ".join(s.decode("utf-8", "replace").split()): appends the words of
 * `s`, split on Python's white space (ASCII and Unicode), joined by
 * single spaces.  Returns the number of words.
 */
size_t	bf_py_normalize(struct bf_buf *out, const char *s, size_t len);
/*
 * int(s) for an ASCII string: surrounding white space, an optional sign
 * and digits with single '_' between them.  Returns 0 and sets *out, or
 * -1 if Python would raise ValueError or the value does not fit.
 */
int	bf_pyint(const char *s, long long *out);

#endif
