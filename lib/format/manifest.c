/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/manifest.h"
#include "base/banned.h"

void
bf_manifest_add_line(struct bf_buf *out, const char *name, uint64_t size,
    const struct bf_digest *d)
{
	bf_buf_addf(out, "DATA %s %" PRIu64 " BLAKE2B %s SHA512 %s\n", name,
	    size, d->hex[BF_BLAKE2B], d->hex[BF_SHA512]);
}

void
bf_manifest_release(struct bf_manifest *m)
{
	size_t i;
	int j;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].name);
		for (j = 0; j < BF_DIGEST_NALG; j++)
			free(m->v[i].hex[j]);
	}
	free(m->v);
	m->v = NULL;
	m->n = m->alloc = 0;
	m->signed_msg = 0;
}

const struct bf_manifest_entry *
bf_manifest_find(const struct bf_manifest *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].name, name) == 0)
			return &m->v[i];
	return NULL;
}

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return n > 0;
}

/* Splits `line` on blanks into at most `max` fields; returns the count. */
static size_t
split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == max)
			return max + 1;
		f[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	return n;
}

static int
parse_line(struct bf_manifest *m, char *line, size_t lineno, struct bf_err *e)
{
	struct bf_manifest_entry *ent;
	char *f[32], *end;
	size_t nf, i;
	int alg;

	nf = split_fields(line, f, 31);
	if (nf == 0)
		return 0;
	if (strcmp(f[0], "DATA") != 0)
		return bf_err_set(e, BF_EFORMAT,
		    "Manifest line %zu: expected DATA, found '%s'", lineno, f[0]);
	if (nf < 3 || nf > 31 || (nf - 3) % 2 != 0)
		return bf_err_set(e, BF_EFORMAT,
		    "Manifest line %zu: malformed DATA line", lineno);
	if (bf_manifest_find(m, f[1]) != NULL)
		return bf_err_set(e, BF_EFORMAT,
		    "Manifest lists '%s' twice", f[1]);
	if (bf_grow(&m->v, &m->alloc, m->n + 1, sizeof(*m->v), 8) < 0)
		return bf_err_nomem(e);
	ent = &m->v[m->n];
	memset(ent, 0, sizeof(*ent));
	if ((ent->name = strdup(f[1])) == NULL)
		return bf_err_errno(e, "cannot parse Manifest");
	m->n++;
	errno = 0;
	ent->size = strtoull(f[2], &end, 10);
	if (errno != 0 || end == f[2] || *end != '\0' || f[2][0] == '-')
		return bf_err_set(e, BF_EFORMAT,
		    "Manifest line %zu: size '%s' of '%s' is not an integer",
		    lineno, f[2], f[1]);
	for (i = 3; i + 1 < nf; i += 2) {
		alg = bf_digest_byname(f[i]);
		if (alg < 0) {
			ent->nunknown++;
			continue;
		}
		if (ent->hex[alg] != NULL)
			return bf_err_set(e, BF_EFORMAT,
			    "Manifest line %zu: %s given twice", lineno, f[i]);
		if (strlen(f[i + 1]) != bf_digest_hexlen(alg) ||
		    !is_hex(f[i + 1], strlen(f[i + 1])))
			return bf_err_set(e, BF_EFORMAT,
			    "Manifest line %zu: bad %s digest for '%s'",
			    lineno, f[i], f[1]);
		if ((ent->hex[alg] = strdup(f[i + 1])) == NULL)
			return bf_err_errno(e, "cannot parse Manifest");
	}
	return 0;
}

int
bf_manifest_parse(struct bf_manifest *m, const char *text, size_t len,
    struct bf_err *e)
{
	static const char begin[] = "-----BEGIN PGP SIGNED MESSAGE-----";
	static const char sig[] = "-----BEGIN PGP SIGNATURE-----";
	struct bf_buf line = BF_BUF_INIT;
	size_t pos = 0, lineno = 0, eol;
	int in_header = 0, saw_sig = 0, rc = 0;

	if (memchr(text, '\0', len) != NULL)
		return bf_err_set(e, BF_EFORMAT, "Manifest contains a NUL byte");
	if (len >= sizeof(begin) - 1 && memcmp(text, begin, sizeof(begin) - 1) == 0) {
		m->signed_msg = 1;
		in_header = 1;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		eol = nl ? (size_t)(nl - text) : len;
		lineno++;
		bf_buf_reset(&line);
		bf_buf_add(&line, text + pos, eol - pos);
		pos = eol + 1;
		if (line.len > 0 && line.buf[line.len - 1] == '\r')
			bf_buf_setlen(&line, line.len - 1);
		if (bf_buf_error(&line) < 0) {
			rc = bf_err_nomem(e);
			goto out;
		}
		if (m->signed_msg) {
			if (lineno == 1)
				continue;
			if (in_header) {
				/* Armor headers ("Hash: SHA512") end at a blank line. */
				if (line.len == 0)
					in_header = 0;
				continue;
			}
			if (strcmp(line.buf, sig) == 0) {
				saw_sig = 1;
				break;
			}
			if (line.len >= 2 && line.buf[0] == '-' && line.buf[1] == ' ') {
				memmove(line.buf, line.buf + 2, line.len - 1);
				line.len -= 2;
			}
		}
		if ((rc = parse_line(m, line.buf, lineno, e)) < 0)
			goto out;
	}
	if (m->signed_msg && !saw_sig)
		rc = bf_err_set(e, BF_EFORMAT,
		    "signed Manifest has no signature block");
out:
	bf_buf_release(&line);
	return rc;
}
