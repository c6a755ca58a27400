/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "tap.h"

static void
test_grow(void)
{
	long *v = NULL;
	size_t alloc = 0, n, i;
	int bad = 0;

	ok(bf_grow(&v, &alloc, 1, sizeof(*v), 16) == 0 && v != NULL &&
	    alloc == 16, "grow: the first allocation holds `first`");
	ok(bf_grow(&v, &alloc, 16, sizeof(*v), 16) == 0 && alloc == 16,
	    "grow: nothing to do while it fits");
	for (n = 0; n < 1000; n++) {
		if (bf_grow(&v, &alloc, n + 1, sizeof(*v), 16) < 0) {
			bad++;
			break;
		}
		v[n] = (long)n;
	}
	for (i = 0; i < n; i++)
		if (v[i] != (long)i)
			bad++;
	is_int(bad, 0, "grow: 1000 elements, one at a time, kept");
	is_int(alloc, 1024, "grow: by doubling");
	ok(bf_grow(&v, &alloc, 5000, sizeof(*v), 16) == 0 && alloc == 8192,
	    "grow: doubles past a larger need at once");
	ok(bf_grow(&v, &alloc, SIZE_MAX / 2 + 2, sizeof(*v), 16) == -ENOMEM &&
	    alloc == 8192 && v[999] == 999,
	    "grow: an overflowing count fails, the array unchanged");
	ok(bf_grow(&v, &alloc, SIZE_MAX / 4, sizeof(*v), 16) == -ENOMEM &&
	    alloc == 8192, "grow: an overflowing size fails too");
	free(v);
	v = NULL;
	alloc = 0;
	ok(bf_grow(&v, &alloc, 3, sizeof(*v), 0) == 0 && alloc == 4,
	    "grow: `first` 0 starts at one and doubles");
	free(v);
}

int
main(void)
{
	struct bf_buf b = BF_BUF_INIT;
	char *s, esc[16];
	size_t len;
	int i;

	is_str(b.buf, "", "new buffer is the empty string");
	bf_buf_adds(&b, "abc");
	bf_buf_addch(&b, 'd');
	bf_buf_addf(&b, "-%d-%s", 42, "x");
	is_str(b.buf, "abcd-42-x", "adds, addch and addf append");
	is_int(b.len, 9, "length follows");
	for (i = 0; i < 1000; i++)
		bf_buf_addf(&b, "%04d", i);
	is_int(b.len, 9 + 4000, "grows past many reallocations");
	ok(memcmp(b.buf + b.len - 4, "0999", 4) == 0, "content kept while growing");
	bf_buf_reset(&b);
	bf_buf_adds(&b, "x  \n\t");
	bf_buf_rtrim(&b);
	is_str(b.buf, "x", "rtrim removes trailing white space");
	s = bf_buf_detach(&b, &len);
	is_str(s, "x", "detach hands over the string");
	is_int(len, 1, "detach reports the length");
	is_str(b.buf, "", "detached buffer is empty again");
	free(s);
	ok(bf_buf_error(&b) == 0, "no sticky error");
	bf_buf_release(&b);

	bf_escape_line(esc, sizeof(esc), "a\nb\033[2J");
	is_str(esc, "a\\x0Ab\\x1B[2J", "escape_line: newline and ESC as \\xHH");
	bf_escape_line(esc, sizeof(esc), "caf\xc3\xa9\x7f\t");
	is_str(esc, "caf\\xC3\\xA9\\x7F", "escape_line: high bytes, DEL; cut short whole");
	bf_escape_line(esc, 4, "abcdef");
	is_str(esc, "abc", "escape_line: fits the buffer");
	test_grow();
	return tap_done();
}
