/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/pkgindex.h"
#include "format/pystr.h"
#include "tap.h"

/*
 * Input and the bytes Portage's own PackageIndex (bintree settings,
 * read with open(encoding="utf-8", errors="replace"), written with
 * modified=False) produced for it, recorded from Portage 3.0.82.
 */
static const char tricky[] =
	"VERSION: 0\015\n"
	"TIMESTAMP: 5\015CHOST: x86_64\n"
	"REPO: gentoo\n"
	"NOCOLON LINE\n"
	"EMPTY:\n"
	"X-KEY: kept in header\n"
	"\n"
	"CPV: b/b-1\n"
	"EAPI: 0\n"
	"SLOT: 0\n"
	"SLOT:  1\n"
	"CHOST: x86_64\n"
	"REPO: gentoo\n"
	"MTIME: 7\n"
	"DESC: d\n"
	"SHA256: zzz\n"
	"IUSE:\n"
	"USE:x\n"
	"KEYWORDS:\303\251amd64\n"
	"LICENSE: \377 bad\n"
	"RDEPEND: a:b:c\n"
	"\n"
	"BUILD_ID: 2\n"
	"CPV: a/a-1\n"
	"CHOST: other\n"
	"\n"
	"CPV: a/a-1\n"
	"BUILD_ID: 1\n"
	"REPO_REVISIONS: {}\n"
	"\n"
	"PATH: nocpv\n"
	"\n"
	"CPV: c/c-1\n"
	"EAPI: 8\n"
	"\n"
	"\n"
	"CPV: d/d-1\n"
	"\n";

static const char tricky_portage[] =
	"CHOST: x86_64\n"
	"TIMESTAMP: 5\n"
	"VERSION: 0\n"
	"X-KEY: kept in header\n"
	"REPO: gentoo\n"
	"\n"
	"BUILD_ID: 2\n"
	"CHOST: other\n"
	"CPV: a/a-1\n"
	"\n"
	"BUILD_ID: 1\n"
	"CPV: a/a-1\n"
	"\n"
	"CPV: b/b-1\n"
	"DESC: d\n"
	"KEYWORDS: amd64\n"
	"LICENSE: \357\277\275 bad\n"
	"RDEPEND: a:b:c\n"
	"SLOT:  1\n"
	"MTIME: 7\n"
	"\n"
	"CPV: c/c-1\n"
	"EAPI: 8\n"
	"\n";

static int
gunzip(const struct bf_buf *gz, struct bf_buf *out)
{
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)gz->buf;
	z.avail_in = (uInt)gz->len;
	do {
		bf_buf_grow(out, 65536);
		z.next_out = (unsigned char *)out->buf + out->len;
		z.avail_out = (uInt)(out->alloc - out->len - 1);
		rc = inflate(&z, Z_NO_FLUSH);
		bf_buf_setlen(out, (size_t)((char *)z.next_out - out->buf));
	} while (rc == Z_OK);
	inflateEnd(&z);
	return rc == Z_STREAM_END && z.avail_in == 0 ? 0 : -1;
}

static int
slurp(int dfd, const char *name, struct bf_buf *b)
{
	char tmp[65536];
	ssize_t n;
	int fd = openat(dfd, name, O_RDONLY);

	bf_buf_reset(b);
	if (fd < 0)
		return -1;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		bf_buf_add(b, tmp, (size_t)n);
	close(fd);
	return 0;
}

static void
test_parse(void)
{
	struct bf_pkgindex idx = BF_PKGINDEX_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_buf out = BF_BUF_INIT;
	const struct bf_pkgindex_entry *b;

	ok(bf_pkgindex_parse(&idx, tricky, sizeof(tricky) - 1, 0, &e) == 0,
	    "parse what Portage parses");
	is_int(idx.npkgs, 4, "four stanzas with CPV before the empty one");
	ok(bf_pkgindex_format(&idx, &out) == 0, "format");
	is_str(out.buf, tricky_portage, "same bytes as Portage's PackageIndex");

	b = &idx.pkgs[0];
	is_str(bf_pkgindex_get(b, "CPV"), "b/b-1", "first stanza");
	is_str(bf_pkgindex_get(b, "SLOT"), " 1", "later duplicate wins, one char dropped");
	is_str(bf_pkgindex_get(b, "DESCRIPTION"), "d", "DESC held as DESCRIPTION");
	is_str(bf_pkgindex_get(b, "_mtime_"), "7", "MTIME held as _mtime_");
	ok(bf_pkgindex_get(b, "SHA256") == NULL, "unknown keys dropped");
	is_str(bf_pkgindex_get(b, "USE"), "", "\"USE:x\" reads as empty");
	is_str(bf_pkgindex_value(&idx, &idx.pkgs[3], "SLOT"), "0", "SLOT defaults to 0");
	is_str(bf_pkgindex_value(&idx, &idx.pkgs[3], "repository"), "gentoo",
	    "REPO inherited from the header");
	is_str(bf_pkgindex_value(&idx, &idx.pkgs[1], "CHOST"), "other",
	    "own CHOST beats the header's");
	ok(bf_pkgindex_value(&idx, b, "NOPE") == NULL, "no value for unknown keys");
	is_str(bf_pkgindex_get(&idx.header, "EMPTY"), "", "empty header value kept");
	bf_pkgindex_release(&idx);

	bf_buf_reset(&out);
	ok(bf_pkgindex_parse(&idx, tricky, sizeof(tricky) - 1,
	    BF_PKGINDEX_KEEP_UNKNOWN, &e) == 0, "parse keeping unknown keys");
	is_str(bf_pkgindex_get(&idx.pkgs[0], "SHA256"), "zzz", "SHA256 kept");
	bf_pkgindex_format(&idx, &out);
	ok(strstr(out.buf, "REPO_REVISIONS: {}\nMTIME") == NULL &&
	    strstr(out.buf, "CPV: a/a-1\nREPO_REVISIONS: {}\n") != NULL,
	    "unknown keys sort by name among the others");
	bf_pkgindex_release(&idx);

	bf_buf_reset(&out);
	ok(bf_pkgindex_parse(&idx, "", 0, 0, &e) == 0, "empty input");
	bf_pkgindex_format(&idx, &out);
	is_str(out.buf, "\n", "empty index: one empty header stanza");
	bf_pkgindex_release(&idx);
	bf_buf_release(&out);
}

/* Formats `text` parsed with `flags`; returns the number of kept stanzas. */
static int
format_with(const char *text, size_t len, unsigned flags, const char *chost,
    struct bf_buf *out)
{
	struct bf_pkgindex idx = BF_PKGINDEX_INIT;
	struct bf_err e = BF_ERR_INIT;
	size_t i;
	int nraw = 0;

	bf_buf_reset(out);
	if (bf_pkgindex_parse(&idx, text, len, flags, &e) < 0)
		return -1;
	for (i = 0; i < idx.npkgs; i++)
		nraw += idx.pkgs[i].raw != NULL;
	if (chost != NULL)
		bf_pkgindex_set(&idx, &idx.header, "CHOST", *chost ? chost : NULL);
	bf_pkgindex_format(&idx, out);
	bf_pkgindex_release(&idx);
	return nraw;
}

static const char canon_text[] =
	"CHOST: x86_64\nTIMESTAMP: 5\nVERSION: 0\nREPO: gentoo\n\n"
	"CPV: a/a-1\nEAPI: 8\nPATH: a/a/a-1-1.gpkg.tar\nSIZE: 1\nMTIME: 2\n\n"
	"CHOST: other\nCPV: b/b-1\nDESC: d: e\nSLOT: 1\nREPO: x\n\n"
	"CPV: c/c-1\nKEYWORDS: \303\251\n\n";

static void
test_keep_stanzas(void)
{
	/* Each breaks one stanza (the second) of canon_text's form. */
	static const struct {
		const char *name;
		const char *pkg;
	} bad[] = {
		{ "internal name DESCRIPTION", "CPV: b/b-1\nDESCRIPTION: d\n\n" },
		{ "internal name _mtime_", "CPV: b/b-1\n_mtime_: 3\n\n" },
		{ "internal name repository", "CPV: b/b-1\nrepository: x\n\n" },
		{ "default EAPI", "CPV: b/b-1\nEAPI: 0\n\n" },
		{ "default SLOT", "CPV: b/b-1\nSLOT: 0\n\n" },
		{ "inherited CHOST", "CHOST: x86_64\nCPV: b/b-1\n\n" },
		{ "inherited REPO", "CPV: b/b-1\nREPO: gentoo\n\n" },
		{ "empty value", "CPV: b/b-1\nIUSE: \n\n" },
		{ "no value", "CPV: b/b-1\nIUSE:\n\n" },
		{ "no space", "CPV:b/b-1\n\n" },
		{ "tab", "CPV:\tb/b-1\n\n" },
		{ "keys out of order", "SLOT: 1\nCPV: b/b-1\n\n" },
		{ "MTIME before SIZE", "CPV: b/b-1\nMTIME: 1\nSIZE: 2\n\n" },
		{ "duplicate key", "CPV: b/b-1\nSLOT: 1\nSLOT: 2\n\n" },
		{ "unknown key", "CPV: b/b-1\nSHA256: x\n\n" },
		{ "line without colon", "CPV: b/b-1\nnonsense\n\n" },
		{ "multi-byte first character", "CPV:\303\251b/b-1\n\n" },
	};
	struct bf_buf t = BF_BUF_INIT, a = BF_BUF_INIT, b = BF_BUF_INIT;
	char what[128];
	size_t i;
	int n;

	n = format_with(canon_text, sizeof(canon_text) - 1,
	    BF_PKGINDEX_KEEP_STANZAS, NULL, &a);
	is_int(n, 3, "canonical text: every stanza kept");
	is_str(a.buf, canon_text, "and written back as it is");
	n = format_with(canon_text, sizeof(canon_text) - 1,
	    BF_PKGINDEX_KEEP_STANZAS, "other", &b);
	format_with(canon_text, sizeof(canon_text) - 1, 0, "other", &a);
	ok(n == 3 && strcmp(a.buf, b.buf) == 0 &&
	    strstr(b.buf, "CHOST: other\nCPV: b/b-1") == NULL,
	    "header CHOST changed: stanzas formatted again");
	format_with(canon_text, sizeof(canon_text) - 1, 0, "", &a);
	format_with(canon_text, sizeof(canon_text) - 1,
	    BF_PKGINDEX_KEEP_STANZAS, "", &b);
	is_str(b.buf, a.buf, "header CHOST removed: the same");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bf_buf_reset(&t);
		bf_buf_addf(&t, "CHOST: x86_64\nVERSION: 0\nREPO: gentoo\n\n"
		    "CPV: a/a-1\n\n%sCPV: c/c-1\n\n", bad[i].pkg);
		format_with(t.buf, t.len, 0, NULL, &a);
		n = format_with(t.buf, t.len, BF_PKGINDEX_KEEP_STANZAS, NULL, &b);
		snprintf(what, sizeof(what), "%s: not kept, same bytes",
		    bad[i].name);
		ok(n == 2 && strcmp(a.buf, b.buf) == 0, what);
	}

	/* Whole-text cases. */
	n = format_with(tricky, sizeof(tricky) - 1, BF_PKGINDEX_KEEP_STANZAS,
	    NULL, &b);
	ok(n == 0 && strcmp(b.buf, tricky_portage) == 0,
	    "text with CR: nothing kept, Portage's bytes");
	n = format_with(tricky_portage, sizeof(tricky_portage) - 1,
	    BF_PKGINDEX_KEEP_STANZAS, NULL, &b);
	ok(n == 4 && strcmp(b.buf, tricky_portage) == 0,
	    "Portage's own output (a value with a leading space too): all kept");
	bf_buf_reset(&t);
	bf_buf_add(&t, canon_text, sizeof(canon_text) - 1);
	bf_buf_setlen(&t, t.len - 2);
	format_with(t.buf, t.len, 0, NULL, &a);
	n = format_with(t.buf, t.len, BF_PKGINDEX_KEEP_STANZAS, NULL, &b);
	ok(n == 2 && strcmp(a.buf, b.buf) == 0,
	    "truncated text: the cut stanza is formatted");
	bf_buf_reset(&t);
	bf_buf_add(&t, canon_text, sizeof(canon_text) - 1);
	t.buf[t.len - 4] = '\0';
	format_with(t.buf, t.len, 0, NULL, &a);
	n = format_with(t.buf, t.len, BF_PKGINDEX_KEEP_STANZAS, NULL, &b);
	ok(n == 0 && strcmp(a.buf, b.buf) == 0, "NUL byte: nothing kept");
	bf_buf_reset(&t);
	bf_buf_adds(&t, "VERSION: 0\n\nCPV: a/a-1\nLICENSE: \377x\n\n");
	format_with(t.buf, t.len, 0, NULL, &a);
	n = format_with(t.buf, t.len, BF_PKGINDEX_KEEP_STANZAS, NULL, &b);
	ok(n == 1 && strcmp(a.buf, b.buf) == 0 &&
	    strstr(b.buf, "LICENSE: \357\277\275x\n") != NULL,
	    "invalid UTF-8: kept as repaired");

	{
		struct bf_pkgindex idx = BF_PKGINDEX_INIT, other = BF_PKGINDEX_INIT;
		struct bf_pkgindex_entry *c;
		struct bf_err e = BF_ERR_INIT;

		bf_pkgindex_parse(&idx, canon_text, sizeof(canon_text) - 1,
		    BF_PKGINDEX_KEEP_STANZAS, &e);
		bf_pkgindex_set(&idx, &idx.pkgs[0], "SIZE", "99");
		ok(idx.pkgs[0].raw == NULL && idx.pkgs[1].raw != NULL,
		    "setting a key drops the kept stanza");
		bf_pkgindex_format(&idx, &b);
		ok(strstr(b.buf, "SIZE: 99\n") != NULL, "and the new value is written");
		c = bf_pkgindex_add_copy(&other, &idx.pkgs[1]);
		ok(c != NULL && c->raw == NULL, "a copy into another index keeps none");
		bf_pkgindex_release(&idx);
		bf_pkgindex_release(&other);
	}
	{
		struct bf_pkgindex idx = BF_PKGINDEX_INIT;
		struct bf_err e = BF_ERR_INIT;

		bf_pkgindex_parse(&idx, canon_text, sizeof(canon_text) - 1,
		    BF_PKGINDEX_KEEP_STANZAS, &e);
		ok(bf_pkgindex_set_header(&idx, "CHOST", "x86_64") == 0 &&
		    idx.pkgs[0].raw != NULL && bf_pkgindex_get(&idx.pkgs[0],
		    "CHOST") == NULL, "same header CHOST: nothing changes");
		ok(bf_pkgindex_set_header(&idx, "TTL", "5") == 0 &&
		    idx.pkgs[0].raw != NULL, "a key not inherited: nothing changes");
		ok(bf_pkgindex_set_header(&idx, "CHOST", "new") == 0, "new CHOST");
		is_str(bf_pkgindex_get(&idx.pkgs[0], "CHOST"), "x86_64",
		    "an entry read without CHOST keeps the one it inherited");
		is_str(bf_pkgindex_get(&idx.pkgs[1], "CHOST"), "other",
		    "its own CHOST stays");
		ok(bf_pkgindex_set_header(&idx, "repository", NULL) == 0 &&
		    strcmp(bf_pkgindex_get(&idx.pkgs[2], "repository"),
		    "gentoo") == 0, "REPO removed: entries keep theirs");
		bf_buf_reset(&b);
		bf_pkgindex_format(&idx, &b);
		ok(strstr(b.buf, "CHOST: x86_64\nCPV: a/a-1\n") != NULL &&
		    strstr(b.buf, "CPV: c/c-1\nKEYWORDS: \303\251\nREPO: gentoo\n") != NULL &&
		    strncmp(b.buf, "CHOST: new\n", 11) == 0, "and they are written");
		bf_pkgindex_release(&idx);
	}
	{
		struct bf_pkgindex idx = BF_PKGINDEX_INIT;
		struct bf_err e = BF_ERR_INIT;
		int all;

		bf_pkgindex_parse(&idx, canon_text, sizeof(canon_text) - 1,
		    BF_PKGINDEX_PARTIAL, &e);
		for (i = 0, all = 1; i < idx.npkgs; i++)
			all &= idx.pkgs[i].partial && idx.pkgs[i].raw != NULL;
		ok(idx.npkgs == 3 && all && idx.pkgs[0].n == 2 &&
		    strcmp(bf_pkgindex_get(&idx.pkgs[0], "PATH"),
		    "a/a/a-1-1.gpkg.tar") == 0, "partial: CPV and PATH only");
		bf_buf_reset(&b);
		bf_pkgindex_format(&idx, &b);
		is_str(b.buf, canon_text, "partial: the same bytes back");
		ok(bf_pkgindex_text_canonical(&idx, b.buf, b.len),
		    "our output is canonical");
		ok(bf_pkgindex_complete(&idx, &idx.pkgs[1]) == 0 &&
		    !idx.pkgs[1].partial &&
		    strcmp(bf_pkgindex_get(&idx.pkgs[1], "DESCRIPTION"), "d: e") == 0,
		    "complete reads the rest");
		bf_pkgindex_set(&idx, &idx.pkgs[2], "SLOT", "2");
		ok(bf_pkgindex_format(&idx, &a) == -EINVAL,
		    "a partial entry that was changed cannot be written");
		bf_pkgindex_release(&idx);

		bf_buf_reset(&t);
		bf_buf_add(&t, canon_text, sizeof(canon_text) - 1);
		bf_buf_setlen(&t, t.len - 1);
		ok(bf_pkgindex_parse(&idx, t.buf, t.len, BF_PKGINDEX_PARTIAL,
		    &e) == -EINVAL, "partial: a torn text is refused");
		bf_pkgindex_release(&idx);

		bf_pkgindex_parse(&idx, canon_text, sizeof(canon_text) - 1, 0, &e);
		bf_buf_reset(&b);
		bf_pkgindex_format(&idx, &b);
		ok(bf_pkgindex_text_canonical(&idx, b.buf, b.len),
		    "formatted: canonical");
		bf_pkgindex_set(&idx, &idx.pkgs[0], "PATH", "a\nb");
		bf_buf_reset(&b);
		bf_pkgindex_format(&idx, &b);
		ok(!bf_pkgindex_text_canonical(&idx, b.buf, b.len),
		    "a value with a line break: not canonical");
		bf_pkgindex_set(&idx, &idx.pkgs[0], "PATH", "a\377");
		bf_buf_reset(&b);
		bf_pkgindex_format(&idx, &b);
		ok(!bf_pkgindex_text_canonical(&idx, b.buf, b.len),
		    "invalid UTF-8: not canonical");
		bf_pkgindex_release(&idx);
	}
	bf_buf_release(&t);
	bf_buf_release(&a);
	bf_buf_release(&b);
}

static void
test_edit(void)
{
	struct bf_pkgindex idx = BF_PKGINDEX_INIT, other = BF_PKGINDEX_INIT;
	struct bf_pkgindex_entry *a, *c;
	struct bf_buf out = BF_BUF_INIT;

	bf_pkgindex_set(&idx, &idx.header, "VERSION", "0");
	bf_pkgindex_set(&idx, &idx.header, "CHOST", "x");
	a = bf_pkgindex_add(&idx);
	bf_pkgindex_set(&idx, a, "repository", "r");
	bf_pkgindex_set(&idx, a, "CPV", "z/z-1");
	bf_pkgindex_set(&idx, a, "CHOST", "x");
	bf_pkgindex_set(&idx, a, "EAPI", "0");
	bf_pkgindex_set(&idx, a, "SLOT", "0/1");
	bf_pkgindex_set(&idx, a, "_mtime_", "9");
	bf_pkgindex_set(&idx, a, "IUSE", "");
	bf_pkgindex_set(&idx, a, "BUILD_ID", "3");
	bf_pkgindex_set(&idx, a, "BUILD_ID", NULL);
	bf_pkgindex_format(&idx, &out);
	is_str(out.buf, "CHOST: x\nVERSION: 0\n\nCPV: z/z-1\nSLOT: 0/1\n"
	    "MTIME: 9\nREPO: r\n\n", "defaults, inherited and empty values omitted");
	c = bf_pkgindex_add_copy(&other, &idx.pkgs[0]);
	ok(c != NULL && c->n == idx.pkgs[0].n, "copy into another index");
	bf_pkgindex_release(&idx);
	is_str(bf_pkgindex_get(&other.pkgs[0], "CPV"), "z/z-1",
	    "the copy owns its strings");
	bf_pkgindex_remove(&other, 0);
	is_int(other.npkgs, 0, "remove");
	bf_pkgindex_release(&other);
	is_str(bf_pkgindex_key_external("repository"), "REPO", "external name");
	is_str(bf_pkgindex_key_internal("DESC"), "DESCRIPTION", "internal name");
	ok(bf_pkgindex_key_allowed("PROVIDES") && !bf_pkgindex_key_allowed("REPO_REVISIONS"),
	    "allowed keys");
	bf_buf_release(&out);
}

static void
test_gzip(void)
{
	struct bf_buf gz = BF_BUF_INIT, back = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;
	static const unsigned char hdr[10] = {
		0x1f, 0x8b, 8, 0, 0x26, 0xa5, 0x06, 0x6b, 2, 0xff
	};

	ok(bf_pkgindex_gzip(tricky_portage, sizeof(tricky_portage) - 1,
	    1795597606LL, &gz, &e) == 0, "gzip");
	ok(gz.len > 18 && memcmp(gz.buf, hdr, 10) == 0,
	    "GzipFile(filename=\"\", mtime=1795597606) header");
	ok(gunzip(&gz, &back) == 0 && back.len == sizeof(tricky_portage) - 1 &&
	    memcmp(back.buf, tricky_portage, back.len) == 0, "round trip");
	bf_buf_release(&gz);
	bf_buf_release(&back);
}

static void
make_text(struct bf_buf *t, int n, long ts, int insert_at)
{
	int i;

	bf_buf_reset(t);
	bf_buf_addf(t, "TIMESTAMP: %ld\nVERSION: 0\n\n", ts);
	for (i = 0; i < n; i++) {
		bf_buf_addf(t, "CPV: cat/p%05d-1\nPATH: cat/p/p%05d-1.gpkg.tar\n"
		    "SHA1: %040d\nSIZE: %d\n\n", i, i, i, i * 3);
		if (i == insert_at)
			bf_buf_addf(t, "CPV: cat/new-1\nPATH: cat/new-1.gpkg.tar\n\n");
	}
}

static void
test_segments(void)
{
	struct bf_pkgindex_write_opts wo;
	struct bf_pkgindex_write_stats ws;
	struct bf_buf t1 = BF_BUF_INIT, t2 = BF_BUF_INIT, old = BF_BUF_INIT;
	struct bf_buf gz = BF_BUF_INIT, back = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;
	char dir[] = "/tmp/u-pkgindex.XXXXXX";
	struct stat st;
	int dfd, fd;

	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0) {
		ok(0, "temporary directory");
		return;
	}
	make_text(&t1, 5000, 100, -1);
	make_text(&t2, 5000, 101, 2500);
	memset(&wo, 0, sizeof(wo));
	wo.threads = 2;
	wo.timestamp = 100;
	ok(bf_pkgindex_write(dfd, t1.buf, t1.len, &wo, &ws, &e) == 0, "first write");
	ok(ws.segments > 50 && ws.reused == 0, "many segments, none reused");
	slurp(dfd, "Packages.gz", &gz);
	ok(gunzip(&gz, &back) == 0 && back.len == t1.len &&
	    memcmp(back.buf, t1.buf, t1.len) == 0, "segmented gz holds the text");
	ok(fstatat(dfd, "Packages.gz", &st, 0) == 0 && st.st_mtime == 100 &&
	    fstatat(dfd, "Packages", &st, 0) == 0 && st.st_mtime == 100,
	    "both mtimes are the timestamp");

	slurp(dfd, "Packages", &old);
	wo.timestamp = 101;
	wo.old_text = old.buf;
	wo.old_len = old.len;
	ok(bf_pkgindex_write(dfd, t2.buf, t2.len, &wo, &ws, &e) == 0, "second write");
	ok(ws.reused + 3 >= ws.segments, "all but the changed segments reused");
	bf_buf_reset(&back);
	slurp(dfd, "Packages.gz", &gz);
	ok(gunzip(&gz, &back) == 0 && back.len == t2.len &&
	    memcmp(back.buf, t2.buf, t2.len) == 0, "and it still holds the text");

	/* A previous text that is not the one the sidecar describes. */
	wo.timestamp = 102;
	wo.old_text = t1.buf;
	wo.old_len = t1.len;
	ok(bf_pkgindex_write(dfd, t1.buf, t1.len, &wo, &ws, &e) == 0 &&
	    ws.reused == 0, "sidecar for another text: nothing reused");
	bf_buf_reset(&back);
	slurp(dfd, "Packages.gz", &gz);
	ok(gunzip(&gz, &back) == 0 && back.len == t1.len, "still correct");

	wo.flags = BF_PKGINDEX_GZ_PORTAGE;
	ok(bf_pkgindex_write(dfd, t1.buf, t1.len, &wo, &ws, &e) == 0 &&
	    fstatat(dfd, BF_PKGINDEX_GZIDX, &st, 0) < 0,
	    "Portage mode drops the sidecar");
	wo.flags = BF_PKGINDEX_NO_GZ;
	ok(bf_pkgindex_write(dfd, t1.buf, t1.len, &wo, &ws, &e) == 0 &&
	    fstatat(dfd, "Packages.gz", &st, 0) < 0, "no-gzip removes Packages.gz");
	fd = openat(dfd, "Packages", O_RDONLY);
	ok(fd >= 0, "Packages still there");
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, "Packages", 0);
	close(dfd);
	rmdir(dir);
	bf_buf_release(&t1);
	bf_buf_release(&t2);
	bf_buf_release(&old);
	bf_buf_release(&gz);
	bf_buf_release(&back);
}

static void
test_pystr(void)
{
	struct bf_buf b = BF_BUF_INIT;
	long long v;
	static const struct {
		const char *in, *out;
	} rep[] = {
		/* CPython's bytes.decode("utf-8", "replace") */
		{ "a\377b", "a\357\277\275b" },
		{ "\342\202", "\357\277\275" },
		{ "\342\202a", "\357\277\275a" },
		{ "\360\237\230", "\357\277\275" },
		{ "\355\240\200", "\357\277\275\357\277\275\357\277\275" },
		{ "\300\257", "\357\277\275\357\277\275" },
		{ "\364\220\200\200",
		  "\357\277\275\357\277\275\357\277\275\357\277\275" },
		{ "ok\342\202\254", "ok\342\202\254" },
	};
	size_t i;

	for (i = 0; i < sizeof(rep) / sizeof(rep[0]); i++) {
		bf_buf_reset(&b);
		bf_utf8_replace(&b, rep[i].in, strlen(rep[i].in));
		is_str(b.buf, rep[i].out, "U+FFFD per maximal subpart");
	}
	ok(bf_utf8_valid("plain ascii text, long enough", 29), "valid ASCII");
	ok(!bf_utf8_valid("abcdefgh\377", 9), "invalid after the fast path");

	bf_buf_reset(&b);
	/* " ".join("a\u00a0b\u2003c\x1cd\x85e".split()) */
	{
		const char *s = "  a\302\240b\342\200\203c\034d\302\205e\n";

		bf_py_normalize(&b, s, strlen(s));
	}
	is_str(b.buf, "a b c d e", "Python splits on Unicode white space");
	bf_buf_reset(&b);
	bf_py_normalize(&b, "x\377 y", 4);
	is_str(b.buf, "x\357\277\275 y", "U+FFFD is not white space");

	ok(bf_pyint("1_000", &v) == 0 && v == 1000, "int('1_000')");
	ok(bf_pyint(" 12 ", &v) == 0 && v == 12, "int(' 12 ')");
	ok(bf_pyint("+5", &v) == 0 && v == 5, "int('+5')");
	ok(bf_pyint("-0", &v) == 0 && v == 0, "int('-0')");
	ok(bf_pyint("1__0", &v) < 0 && bf_pyint("_1", &v) < 0 &&
	    bf_pyint("1_", &v) < 0 && bf_pyint("12a", &v) < 0 &&
	    bf_pyint("", &v) < 0 && bf_pyint(" ", &v) < 0, "ValueError cases");
	ok(bf_pyint("9223372036854775807", &v) == 0 && v == 9223372036854775807LL,
	    "largest");
	ok(bf_pyint("9223372036854775808", &v) < 0, "overflow refused");
	bf_buf_release(&b);
}

int
main(void)
{
	test_parse();
	test_keep_stanzas();
	test_edit();
	test_gzip();
	test_segments();
	test_pystr();
	return tap_done();
}
