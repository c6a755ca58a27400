/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/meta.h"
#include "format/xpak.h"
#include "tap.h"

static void
be32(struct bf_buf *b, unsigned long v)
{
	unsigned char c[4] = {
		(unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v
	};

	bf_buf_add(b, c, 4);
}

/* xpak.py xpak_mem() + tbz2.recompose_mem(), after `pre` bytes of "tar". */
static void
make(struct bf_buf *f, const char *const *kv, size_t n, size_t pre)
{
	struct bf_buf idx = BF_BUF_INIT, data = BF_BUF_INIT, blob = BF_BUF_INIT;
	size_t i;

	for (i = 0; i + 1 < n; i += 2) {
		be32(&idx, strlen(kv[i]));
		bf_buf_adds(&idx, kv[i]);
		be32(&idx, data.len);
		be32(&idx, strlen(kv[i + 1]));
		bf_buf_adds(&data, kv[i + 1]);
	}
	bf_buf_adds(&blob, "XPAKPACK");
	be32(&blob, idx.len);
	be32(&blob, data.len);
	bf_buf_add(&blob, idx.buf, idx.len);
	bf_buf_add(&blob, data.buf, data.len);
	bf_buf_adds(&blob, "XPAKSTOP");
	bf_buf_reset(f);
	for (i = 0; i < pre; i++)
		bf_buf_addch(f, 'T');
	bf_buf_add(f, blob.buf, blob.len);
	be32(f, blob.len);
	bf_buf_adds(f, "STOP");
	bf_buf_release(&idx);
	bf_buf_release(&data);
	bf_buf_release(&blob);
}

static int
read_bytes(const struct bf_buf *f, struct bf_meta *m, struct bf_err *e)
{
	char path[] = "/tmp/u-xpak.XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, f->buf, f->len) != (ssize_t)f->len) {
		close(fd);
		return -1;
	}
	bf_err_clear(e);
	rc = bf_xpak_read(fd, m, e);
	close(fd);
	return rc;
}

static void
put32(struct bf_buf *f, size_t off, unsigned long v)
{
	f->buf[off] = (char)(v >> 24);
	f->buf[off + 1] = (char)(v >> 16);
	f->buf[off + 2] = (char)(v >> 8);
	f->buf[off + 3] = (char)v;
}

static void
expect_fail(const struct bf_buf *f, const char *what, const char *msg)
{
	struct bf_meta m = BF_META_INIT;
	struct bf_err e = BF_ERR_INIT;
	int rc = read_bytes(f, &m, &e);

	ok(rc == -BF_EFORMAT && strstr(e.msg, msg) != NULL, what);
	if (rc != -BF_EFORMAT || strstr(e.msg, msg) == NULL)
		printf("#   rc %d, message '%s', wanted '%s'\n", rc, e.msg, msg);
	bf_meta_release(&m);
}

int
main(void)
{
	static const char *const kv[] = {
		"CATEGORY", "app-misc\n", "PF", "hello-2.0\n", "SLOT", "0\n",
		"PF", "hello-2.1\n",
	};
	struct bf_buf f = BF_BUF_INIT, g = BF_BUF_INIT, v = BF_BUF_INIT;
	struct bf_meta m = BF_META_INIT;
	struct bf_err e = BF_ERR_INIT;
	size_t start, k;

	make(&f, kv, 8, 100);
	ok(read_bytes(&f, &m, &e) == 0, "a well-formed xpak");
	is_int(m.n, 3, "three keys");
	ok(bf_meta_get(&m, "PF", &v) && strcmp(v.buf, "hello-2.1") == 0,
	    "a later duplicate wins, as in a dict");
	bf_meta_release(&m);
	start = f.len - 8 - (f.len - 100 - 8);	/* = 100 */

	/* Truncations at every length: an error, never a crash. */
	for (k = 0; k < f.len; k += 7) {
		bf_buf_reset(&g);
		bf_buf_add(&g, f.buf, k);
		bf_meta_init(&m);
		if (read_bytes(&g, &m, &e) == 0 && k > 0) {
			ok(0, "truncated xpak accepted");
			printf("#   at %zu bytes\n", k);
		}
		bf_meta_release(&m);
	}
	ok(1, "every truncation refused without a crash");

	bf_buf_reset(&g);
	expect_fail(&g, "empty file", "too short");
	bf_buf_add(&g, f.buf, f.len);
	put32(&g, g.len - 8, 0xffffff00UL);
	expect_fail(&g, "blob length past the file", "does not fit");
	bf_buf_reset(&g);
	bf_buf_add(&g, f.buf, f.len);
	put32(&g, g.len - 8, 10);
	expect_fail(&g, "blob length too small", "does not fit");
	bf_buf_reset(&g);
	bf_buf_add(&g, f.buf, f.len);
	g.buf[start] = 'Y';
	expect_fail(&g, "no XPAKPACK", "no XPAKPACK");
	bf_buf_reset(&g);
	bf_buf_add(&g, f.buf, f.len);
	put32(&g, start + 8, 0x7fffffffUL);
	expect_fail(&g, "index length too large", "overflow");
	bf_buf_reset(&g);
	bf_buf_add(&g, f.buf, f.len);
	put32(&g, start + 16, 0xfffffff0UL);
	expect_fail(&g, "name length past the index", "runs past the end of the index");
	bf_buf_reset(&g);
	bf_buf_add(&g, f.buf, f.len);
	put32(&g, start + 16 + 4 + 8, 0xfffffffcUL);
	expect_fail(&g, "data offset outside the data", "points outside the data");
	bf_buf_reset(&g);
	bf_buf_add(&g, f.buf, f.len);
	put32(&g, start + 16 + 4 + 8 + 4, 1000);
	expect_fail(&g, "data length outside the data", "points outside the data");
	bf_buf_reset(&g);
	bf_buf_add(&g, f.buf, f.len);
	memcpy(g.buf + g.len - 4, "STOQ", 4);
	expect_fail(&g, "no STOP", "no XPAK trailer");

	bf_buf_release(&f);
	bf_buf_release(&g);
	bf_buf_release(&v);
	return tap_done();
}
