/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bf-index-tool: the index library calls, for shell tests.
 *
 *	bf-index-tool rewrite [--keep-unknown] FILE	parse, write to stdout
 *	bf-index-tool gzip MTIME FILE			Python-style gzip to stdout
 *	bf-index-tool write DIR MTIME FILE [--portage-gzip]
 *							bf_pkgindex_write()
 *	bf-index-tool xpak FILE				XPAK metadata as KEY: value
 *	bf-index-tool entry PKGDIR RELPATH		one package's index stanza
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/meta.h"
#include "format/pkgdir.h"
#include "format/pkgindex.h"
#include "format/pystr.h"
#include "format/xpak.h"
#include "base/banned.h"

static int
slurp(const char *path, struct bf_buf *b)
{
	char tmp[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		bf_buf_add(b, tmp, (size_t)n);
	close(fd);
	return n < 0 || bf_buf_error(b) < 0 ? -1 : 0;
}

static int
out(const struct bf_buf *b)
{
	return fwrite(b->buf, 1, b->len, stdout) == b->len ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct bf_buf in = BF_BUF_INIT, o = BF_BUF_INIT;
	struct bf_pkgindex idx = BF_PKGINDEX_INIT;
	struct bf_err e = BF_ERR_INIT;
	int rc = 1;

	if (argc >= 3 && strcmp(argv[1], "rewrite") == 0) {
		unsigned flags = 0;
		const char *f = argv[2];

		if (argc == 4 && strcmp(argv[2], "--keep-unknown") == 0) {
			flags = BF_PKGINDEX_KEEP_UNKNOWN;
			f = argv[3];
		}
		if (slurp(f, &in) < 0 ||
		    bf_pkgindex_parse(&idx, in.buf, in.len, flags, &e) < 0 ||
		    bf_pkgindex_format(&idx, &o) < 0)
			goto fail;
		rc = out(&o);
	} else if (argc == 4 && strcmp(argv[1], "gzip") == 0) {
		if (slurp(argv[3], &in) < 0 ||
		    bf_pkgindex_gzip(in.buf, in.len, atoll(argv[2]), &o, &e) < 0)
			goto fail;
		rc = out(&o);
	} else if ((argc == 5 || argc == 6) && strcmp(argv[1], "write") == 0) {
		struct bf_pkgindex_write_opts wo;
		struct bf_pkgindex_write_stats ws;
		struct bf_buf old = BF_BUF_INIT;
		int dfd = open(argv[2], O_RDONLY | O_DIRECTORY);

		memset(&wo, 0, sizeof(wo));
		wo.timestamp = atoll(argv[3]);
		wo.threads = 2;
		if (argc == 6 && strcmp(argv[5], "--portage-gzip") == 0)
			wo.flags = BF_PKGINDEX_GZ_PORTAGE;
		if (dfd < 0 || slurp(argv[4], &in) < 0)
			goto fail;
		{
			char p[4096];

			snprintf(p, sizeof(p), "%s/Packages", argv[2]);
			if (access(p, F_OK) == 0 && slurp(p, &old) == 0) {
				wo.old_text = old.buf;
				wo.old_len = old.len;
			}
		}
		rc = bf_pkgindex_write(dfd, in.buf, in.len, &wo, &ws, &e);
		bf_buf_release(&old);
		close(dfd);
		if (rc < 0)
			goto fail;
		printf("segments %zu reused %zu\n", ws.segments, ws.reused);
		rc = 0;
	} else if (argc == 3 && strcmp(argv[1], "xpak") == 0) {
		struct bf_meta m = BF_META_INIT;
		int fd = open(argv[2], O_RDONLY);
		size_t i;

		if (fd < 0) {
			fprintf(stderr, "cannot open '%s'\n", argv[2]);
			goto done;
		}
		rc = bf_xpak_read(fd, &m, &e);
		close(fd);
		if (rc < 0) {
			bf_meta_release(&m);
			goto fail;
		}
		bf_meta_sort(&m);
		for (i = 0; i < m.n; i++) {
			bf_buf_reset(&o);
			bf_py_normalize(&o, m.v[i].val, m.v[i].len);
			printf("%s: %s\n", m.v[i].key, o.buf);
		}
		bf_meta_release(&m);
		rc = 0;
	} else if (argc == 4 && strcmp(argv[1], "entry") == 0) {
		int dfd = open(argv[2], O_RDONLY | O_DIRECTORY);

		if (dfd < 0 ||
		    bf_pkgdir_read_entry(dfd, argv[3], &idx, &e) < 0) {
			if (dfd >= 0)
				close(dfd);
			goto fail;
		}
		close(dfd);
		if (bf_pkgindex_set(&idx, &idx.header, "VERSION", "0") < 0 ||
		    bf_pkgindex_format(&idx, &o) < 0)
			goto fail;
		rc = out(&o);
	} else {
		fprintf(stderr, "usage: bf-index-tool rewrite|gzip|write|xpak|entry ...\n");
		rc = 2;
	}
	goto done;
fail:
	fprintf(stderr, "bf-index-tool: %s\n", bf_err_msg(&e, -EIO));
	rc = 1;
done:
	bf_pkgindex_release(&idx);
	bf_buf_release(&in);
	bf_buf_release(&o);
	return rc;
}
